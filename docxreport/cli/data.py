"""``init``, ``validate`` and ``schema``: report data and its contract."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import NotAReportError, ReportFileError
from ..files import write_atomic
from ..problems import REPORTERS, has_errors, report_text
from .base import CONTEXT, EXIT_PROBLEMS, _display, _fail, _replacing, _source, main


@main.command(context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=True, allow_dash=True))
@click.option("--previous", "previous", type=click.Path(allow_dash=False), help="上年报告（JSON 或 .docx），用于跨年度核对：上年结转、现行有效件数的延续、与上年雷同的文字。")
@click.option("--format", "output_format", type=click.Choice(sorted(REPORTERS)), default="text", show_default=True, help="text 供人阅读；json 供 OA 系统解析。")
def validate(file: str, previous: str | None, output_format: str) -> None:
    """校验报告 JSON：数据格式和统计表的勾稽关系，一次列出全部问题。

    \b
    FILE 为报告 JSON 文件，- 表示从标准输入读取。
    退出码：0 通过（可有警告），1 发现问题，2 文件无法读取。

    \b
    以下核对只给出警告，不影响通过（文字写法各异，宁可不报也不误报）：
      narrative.count          正文所述件数与统计表不符，例如
        overview[1].text: 警告：正文“本年度新收政府信息公开申请38件。”所述本年新收
        政府信息公开申请 38 件与统计表不符：表中本年新收为 40 件（requests.received.total），
        本年新收加上年结转为 41 件（requests.received.total + requests.carried_over.total）
        （所述总数含上年结转的也算相符；网络问政、热线、信访、下属单位的件数不比对）
      narrative.placeholder    仍有“（请在此填写…）”占位文字，例如
        overview[0].text: 警告：仍是待填写的占位文字“（请在此填写本年度主动公开工作情况。）”
      narrative.empty_section  第五、六部分只写“无”，例如
        problems: 警告：“五、存在的主要问题及改进情况”只写了“无”：请如实说明
      cross_year.in_force      （需 --previous）上年现行有效＋本年制发－本年废止≠本年现行有效，例如
        proactive.normative_documents.in_force: 警告：行政规范性文件：上年现行有效 10 件
        + 本年制发 3 件 − 本年废止 1 件 = 12 件，而本年现行有效为 13 件（多 1 件）
      cross_year.copied_text   （需 --previous）某部分九成以上文字与上年相同，例如
        overview: 警告：“一、总体情况”有 96% 的文字与上年报告相同（数字除外）

    \b
    示例：
      docxreport validate examples/zhuyangguan-2024.json
      docxreport validate report-2024.json --previous report-2023.json
      docxreport validate report-2024.json --previous 2023年年度报告.docx
      docxreport validate report.json --format json
    """
    from ..sources import check_data

    try:
        _, problems = check_data(_source(file), _display(file), previous, previous or "")
    except (ReportFileError, NotAReportError) as exc:
        if output_format == "json":  # OA systems parse stdout: give them an answer there too
            click.echo(json.dumps({"file": _display(file), "valid": False, "error": str(exc), "problems": []}, ensure_ascii=False, indent=2))
        _fail(str(exc))
    click.echo(REPORTERS[output_format](_display(file), problems))
    sys.exit(EXIT_PROBLEMS if has_errors(problems) else 0)


@main.command(context_settings=CONTEXT)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="写入文件（默认输出到标准输出）。")
@click.option("--force", is_flag=True, help="覆盖已存在的、不是本工具生成的同名文件。")
def schema(output: str | None, force: bool) -> None:
    """输出报告内容的 JSON Schema（Draft 2020-12，含每个字段的中文标题和说明）。

    \b
    编辑器（如 VS Code）可用它在输入时提示和校验：在报告 JSON 中加入
    "$schema": "gov-info-annual-report-2021.schema.json"（相对于报告 JSON 所在目录；
    docxreport init 生成的骨架已带此项，并把本文件写在旁边）。

    \b
    示例：
      docxreport schema -o gov-info-annual-report-2021.schema.json
    """
    from ..report.schema import load_schema, schema_json

    text = schema_json(load_schema())
    if output:
        replaced = _replacing(output, force)
        try:
            write_atomic(output, text.encode("utf-8"))
        except ReportFileError as exc:
            _fail(str(exc))
        click.echo(f"{'已替换' if replaced else '已生成'} {output}", err=True)
    else:
        click.echo(text, nl=False)


@main.command(context_settings=CONTEXT)
@click.option("--organ", required=True, help="机关名称，如 某某县自然资源局。")
@click.option("--year", required=True, type=click.IntRange(2008, 2100), help="报告年度，如 2024。")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="写入文件（默认输出到标准输出）。")
@click.option("--force", is_flag=True, help="覆盖已存在的输出文件（报告数据文件默认不覆盖）。")
def init(organ: str, year: int, output: str | None, force: bool) -> None:
    """生成一份完整的报告 JSON 骨架（-o 以 .xlsx 结尾时为 Excel 工作簿）：统计表全部为 0，各部分带待填写的占位段落。

    骨架可以通过校验（占位段落会作为警告列出）；按实际情况替换占位文字、填写数字后即可生成报告。
    成文日期 date 预填为次年 1 月 31 日（已过则为今天），请按实际修改。

    \b
    写入文件时，同目录下同时写出 JSON Schema（gov-info-annual-report-2021.schema.json），
    骨架中的 "$schema" 指向它：VS Code 等编辑器据此在输入时提示和校验，无需联网。
    已存在的报告 JSON 不会被覆盖（它可能已填好内容），确需覆盖请加 --force。

    \b
    示例：
      docxreport init --organ 某某县自然资源局 --year 2024 -o report-2024.json
      docxreport init --organ 某某县自然资源局 --year 2024 -o report-2024.xlsx
    """
    from ..report.schema import SCHEMA_FILE, schema_problems
    from ..report.skeleton import skeleton

    data = skeleton(organ, year)
    problems = schema_problems(data)
    if problems:  # the organ name given on the command line is checked like any other text
        click.echo(report_text("--organ", problems), err=True)
        sys.exit(EXIT_PROBLEMS)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    content = text.encode("utf-8")
    if output and Path(output).suffix.lower() == ".xlsx":  # the same skeleton as an Excel workbook
        from ..xlsx.writer import write_workbook

        content = write_workbook(data)
    if not output:
        click.echo(text, nl=False)
        click.echo(f"提示：编辑器按 \"$schema\" 校验需要同目录下的 {SCHEMA_FILE}（docxreport schema -o {SCHEMA_FILE}）", err=True)
        return
    replaced = _replacing(output, force)
    try:
        write_atomic(output, content)
    except ReportFileError as exc:
        _fail(str(exc))
    click.echo(f"{'已替换' if replaced else '已生成'} {output}", err=True)
    _write_schema(Path(output).parent / SCHEMA_FILE)


def _write_schema(path: Path) -> None:
    """The JSON Schema beside a skeleton, for editors: written when absent or an older one of ours; another
    file of that name is kept."""
    from ..outputs import existing
    from ..report.schema import load_schema, schema_json

    text = schema_json(load_schema()).encode("utf-8")
    state = existing(path)
    if state == "other":
        click.echo(f"{path}: 已存在且不是本工具生成的 JSON Schema，未覆盖；编辑器校验可能不可用", err=True)
        return
    if state == "own" and path.read_bytes() == text:
        return
    try:
        write_atomic(path, text)
    except ReportFileError as exc:  # the report is written: the schema only helps editors
        click.echo(f"{exc}（编辑器校验不可用，报告不受影响）", err=True)
        return
    click.echo(f"已生成 {path}（供编辑器校验）", err=True)
