"""``extract`` and ``check``: reading published reports back (.docx, PDF, web pages, old Word formats, URLs)."""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import NotAReportError, ReportFileError
from ..files import same_file, write_atomic
from ..problems import has_errors, problem_line, report_dict, report_text
from .base import CONTEXT, EXIT_PROBLEMS, EXIT_UNREADABLE, _data_json, _display, _fail, _replacing, _source, main


@main.command(context_settings=CONTEXT)
@click.argument("report")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="写入 JSON 文件（默认输出到标准输出）。")
@click.option("--force", is_flag=True, help="覆盖已存在的 JSON 文件（报告数据文件默认不覆盖）。")
def extract(report: str, output: str | None, force: bool) -> None:
    """把已发布的年度报告读回为报告 JSON：.docx、PDF（含文字层）、网页（.html/.htm）、
    .doc、.wps、.odt、.rtf，或 http/https 网址。

    \b
    表格按标签而不是位置识别；常见的格式变体（缺“其他”列、2019 年格式的（六）其他处理、
    “1、”式序号、标签错字、单元格内的说明、拆开的表格等）都能读取，并逐一给出警告。
    警告和错误输出到标准错误；退出码：0 读取完整，1 有内容无法读取，2 文件无法读取或不是年度报告。

    \b
    示例：
      docxreport extract 2023年报告.docx -o report-2023.json
      docxreport extract 下级单位报告.pdf
      docxreport extract https://www.example.gov.cn/art/2025/t2025.html
    """
    from ..reading import is_url, read_any

    if output and output != "-" and report != "-" and not is_url(report) and same_file(output, report):
        _fail(f"{output}: 输出路径与输入文件相同，拒绝覆盖")
    replaced = _replacing(output, force) if output and output != "-" else False
    try:
        data, problems = read_any(_source(report), _display(report))
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


def _expand(arguments: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Reports named by the arguments: files, folders (searched recursively for the supported
    extensions), glob patterns and URLs; and the arguments that named nothing."""
    from ..reading import EXTENSIONS, is_url

    found: list[str] = []
    missing: list[str] = []
    for argument in arguments:
        if is_url(argument) or argument == "-" or os.path.isfile(argument):
            found.append(argument)
        elif os.path.isdir(argument):
            hits = sorted(str(p) for p in Path(argument).rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS
                          and not p.name.startswith(("~$", ".")))
            found.extend(hits) if hits else missing.append(argument)
        elif glob.has_magic(argument):
            hits = sorted(p for p in glob.glob(argument, recursive=True) if os.path.isfile(p))
            found.extend(hits) if hits else missing.append(argument)
        else:
            missing.append(argument)
    return list(dict.fromkeys(found)), missing


def _first_problems(problems: list[Any], count: int = 3) -> str:
    ordered = [p for p in problems if p.severity == "error"] + [p for p in problems if p.severity != "error"]
    return "；".join(f"{p.location}: {p.message}" for p in ordered[:count])


class _Progress:
    """A tqdm bar on a terminal when many reports are checked; nothing otherwise."""

    def __init__(self, total: int) -> None:
        self.bar: Any = None
        if total >= 5 and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="份", file=sys.stderr, dynamic_ncols=True, desc="审核", leave=False)

    def update(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line)
        else:
            click.echo(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@main.command(context_settings=CONTEXT)
@click.argument("reports", nargs=-1, required=True)
@click.option("--previous", help="上年报告（.docx、PDF、网页或 .json），核对“上年结转”与上年“结转下年度继续办理”。")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True,
              help="text 供人阅读；json 供 OA 系统解析；csv 每份报告一行（文件、机关、年度、错误数、警告数、主要问题），可用 Excel 打开。")
def check(reports: tuple[str, ...], previous: str | None, output_format: str) -> None:
    """审核已发布的年度报告：读取后核对勾稽关系，并列出与国家格式不符之处。

    \b
    可审核 .docx、PDF、网页（.html/.htm）、.doc、.wps、.odt、.rtf 和 http/https 网址；
    参数可以是文件、文件夹（递归查找上述文件）、通配符或网址。
    一个文件时列出全部问题；多个文件时每份报告输出一行汇总（适合审核下级单位的报告）。
    退出码：0 全部通过（可有警告），1 发现问题，2 有文件无法读取或不是年度报告（逐一列出）。

    \b
    示例：
      docxreport check 某某镇2024年报告.pdf
      docxreport check 2024年报告.docx --previous 2023年报告.docx
      docxreport check 下级单位/ --format csv > 审核结果.csv
      docxreport check "下级单位/*.pdf"
      docxreport check https://www.example.gov.cn/art/2025/t2025.html
    """
    from ..audit import check_document

    files, missing = _expand(reports)
    for argument in missing:
        click.echo(f"docxreport: {argument}: 没有找到可审核的报告（文件不存在，或文件夹中没有 .docx/.pdf/.html 等文件）", err=True)
    if not files:
        sys.exit(EXIT_UNREADABLE)
    single = len(files) == 1 and not missing
    results: list[dict[str, Any]] = []
    code = EXIT_UNREADABLE if missing else 0
    unreadable: list[str] = []
    progress = _Progress(len(files))
    try:
        for report in files:
            shown = _display(report)
            try:
                data, problems = check_document(_source(report), previous)
            except (ReportFileError, NotAReportError) as exc:
                message = str(exc)
                results.append({"file": shown, "organ": "", "year": "", "valid": False, "readable": False, "errors": 0,
                                 "warnings": 0, "error": message, "problems": []})
                code = EXIT_UNREADABLE
                unreadable.append(shown)
                if output_format == "text":
                    if single:
                        click.echo(f"{shown}: 无法审核：{message}", err=True)
                    else:
                        progress.write(f"{shown}: 无法审核：{message}")
                progress.update()
                continue
            if has_errors(problems) and code != EXIT_UNREADABLE:
                code = EXIT_PROBLEMS
            entry = report_dict(shown, problems)
            entry = {"file": shown, "organ": data.get("organ", ""), "year": data.get("year", ""), "readable": True,
                     **{k: v for k, v in entry.items() if k != "file"}, "first_problems": _first_problems(problems)}
            results.append(entry)
            if output_format == "text":
                if single:
                    click.echo(report_text(shown, problems))
                else:
                    progress.write(report_text(shown, problems).splitlines()[-1])
            progress.update()
    finally:
        progress.close()
    if output_format == "json":
        click.echo(json.dumps(results[0] if single else results, ensure_ascii=False, indent=2))
    elif output_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["文件", "机关", "年度", "状态", "错误数", "警告数", "主要问题"])
        for r in results:
            state = "无法读取" if not r["readable"] else ("通过" if r["valid"] else "有错误")
            writer.writerow([r["file"], r["organ"], r["year"], state, r["errors"], r["warnings"],
                             r.get("error") or r.get("first_problems", "")])
        click.echo(out.getvalue(), nl=False)
    elif not single:
        failed = sum(1 for r in results if r["readable"] and not r["valid"])
        click.echo(f"共审核 {len(files)} 份报告：{len(files) - failed - len(unreadable)} 份通过，{failed} 份有错误，"
                   f"{len(unreadable)} 份无法读取" + (f"（{'、'.join(unreadable)}）" if unreadable else ""))
    sys.exit(code)
