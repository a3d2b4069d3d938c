"""``extract`` and ``check``: reading finished reports back."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import NotAReportError, ReportFileError
from ..files import same_file, write_atomic
from ..problems import REPORTERS, has_errors, problem_line, report_dict, report_text
from .base import CONTEXT, EXIT_PROBLEMS, EXIT_UNREADABLE, _data_json, _display, _fail, _replacing, _source, main


@main.command(context_settings=CONTEXT)
@click.argument("report", type=click.Path(dir_okay=True, allow_dash=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="写入 JSON 文件（默认输出到标准输出）。")
@click.option("--force", is_flag=True, help="覆盖已存在的 JSON 文件（报告数据文件默认不覆盖）。")
def extract(report: str, output: str | None, force: bool) -> None:
    """把已成文的年度报告（.docx，不论由谁制作）读回为报告 JSON。

    \b
    表格按标签而不是位置识别；常见的格式变体（缺“其他”列、2019 年格式的（六）其他处理、
    “1、”式序号、标签错字、单元格内的说明、拆开的表格等）都能读取，并逐一给出警告。
    警告和错误输出到标准错误；退出码：0 读取完整，1 有内容无法读取，2 文件无法读取或不是年度报告。

    \b
    示例：
      docxreport extract 2023年报告.docx -o report-2023.json
      docxreport extract 下级单位报告.docx
    """
    from ..docx.reader import extract as extract_docx

    if output and output != "-" and report != "-" and same_file(output, report):
        _fail(f"{output}: 输出路径与输入文件相同，拒绝覆盖")
    replaced = _replacing(output, force) if output and output != "-" else False
    try:
        data, problems = extract_docx(_source(report))
        text = _data_json(data)
        if output and output != "-":
            write_atomic(output, text.encode("utf-8"))
        else:
            click.echo(text, nl=False)
    except (ReportFileError, NotAReportError) as exc:
        _fail(str(exc))
    for p in problems:
        click.echo(problem_line(_display(report), p), err=True)
    if output and output != "-":
        click.echo(f"{'已替换' if replaced else '已生成'} {output}", err=True)
    sys.exit(EXIT_PROBLEMS if has_errors(problems) else 0)


@main.command(context_settings=CONTEXT)
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--previous", type=click.Path(), help="上年报告（.docx 或 .json），核对“上年结转”与上年“结转下年度继续办理”。")
@click.option("--format", "output_format", type=click.Choice(sorted(REPORTERS)), default="text", show_default=True, help="text 供人阅读；json 供 OA 系统解析。")
def check(reports: tuple[str, ...], previous: str | None, output_format: str) -> None:
    """审核已发布的年度报告（.docx）：读取后核对勾稽关系，并列出与国家格式不符之处。

    \b
    一个文件时列出全部问题；多个文件时每个文件输出一行汇总（适合县级部门审核下级单位的报告）。
    退出码：0 全部通过（可有警告），1 发现问题，2 有文件无法读取或不是年度报告。

    \b
    示例：
      docxreport check 某某镇2024年报告.docx
      docxreport check 2024年报告.docx --previous 2023年报告.docx
      docxreport check 下级单位/*.docx
      docxreport check 报告.docx --format json
    """
    from ..audit import check_document

    results: list[dict[str, Any]] = []
    code = 0
    for report in reports:
        try:
            _, problems = check_document(report, previous)
        except (ReportFileError, NotAReportError) as exc:
            results.append({"file": report, "valid": False, "error": str(exc), "problems": []})
            code = EXIT_UNREADABLE
            if output_format == "text":
                click.echo(f"{report}: 无法审核：{exc}", err=len(reports) == 1)
            continue
        if has_errors(problems):
            code = max(code, EXIT_PROBLEMS)
        results.append(report_dict(report, problems))
        if output_format == "text":
            click.echo(report_text(report, problems).splitlines()[-1] if len(reports) > 1 else report_text(report, problems))
    if output_format == "json":
        click.echo(json.dumps(results[0] if len(reports) == 1 else results, ensure_ascii=False, indent=2))
    elif len(reports) > 1:
        failed = sum(1 for r in results if not r["valid"])
        click.echo(f"共审核 {len(reports)} 份报告：{len(reports) - failed} 份通过，{failed} 份有问题或无法读取")
    sys.exit(code)
