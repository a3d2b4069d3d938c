"""``render``: report data → a finished document."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import DocxReportError, InvalidReportError, ReportFileError
from ..files import same_file, write_atomic
from ..problems import has_errors, problem_line, report_text
from .base import CONTEXT, EXIT_PROBLEMS, _display, _fail, _office, _source, main


@main.command(context_settings=CONTEXT)
@click.argument("input_file", metavar="INPUT", type=click.Path(allow_dash=True))
@click.option("-o", "--output", type=click.Path(allow_dash=True), help="输出的 .docx（默认与输入同名、同目录；- 表示标准输出）。")
@click.option("--template", type=click.Path(dir_okay=False), help="使用本单位的 .docx 模板（docxtpl 标签），默认为内置国家格式模板。")
@click.option("--fonts", type=click.Choice(["official", "windows"]), default="official", show_default=True, help="official：仿宋_GB2312 等公文字体；windows：仿宋/楷体/黑体/宋体（未安装 GB2312 字体的电脑）。")
@click.option("--previous", type=click.Path(), help="上年报告的 JSON，渲染前一并核对跨年度规则。")
@click.option("--pdf", is_flag=True, help="同时用 LibreOffice 转为 PDF，写在 .docx 旁边（同名，扩展名 .pdf）。")
@click.option("--pdf-a", "pdfa", is_flag=True, help="PDF 为 PDF/A-2b（长期存档格式，供档案部门）；隐含 --pdf。")
def render(input_file: str, output: str | None, template: str | None, fonts: str, previous: str | None, pdf: bool,
           pdfa: bool) -> None:
    """把报告 JSON 生成为 Word 文档（.docx）。先校验，有错误时不生成任何文件。

    \b
    INPUT 为报告 JSON，- 表示从标准输入读取（此时默认写到标准输出）。
    输出先写入临时文件再改名：失败时不会留下半个文件，也不会破坏已有文件；
    永远不会覆盖输入文件。

    \b
    示例：
      docxreport render examples/zhuyangguan-2024.json -o zhuyangguan-2024.docx
      docxreport render report.json --template 本单位模板.docx
      cat report.json | docxreport render - -o - > report.docx
      docxreport render report.json -o report.docx --pdf
    """
    from ..docx.renderer import render as render_docx
    from ..report.validation import check_source

    if output is None:
        output = "-" if input_file == "-" else str(Path(input_file).with_suffix(".docx"))
    if output == "-" and sys.stdout.isatty():
        _fail("不会把 .docx 写到终端：请用 -o 指定输出文件")
    office = _office() if pdf or pdfa else None
    if office and output == "-":
        _fail("--pdf 需要用 -o 指定输出文件，不能写到标准输出")
    pdf_path = str(Path(output).with_suffix(".pdf")) if office else None
    for other, what in ((input_file, "输入文件"), (template, "模板文件"), (previous, "上年报告")):
        for target in (output, pdf_path):
            if other and other != "-" and target and target != "-" and same_file(target, other):
                _fail(f"{target}: 输出路径与{what}相同，拒绝覆盖")
    if pdf_path and same_file(pdf_path, output):
        _fail(f"{output}: .docx 与 PDF 的输出路径相同，请用 -o 指定以 .docx 结尾的文件名")
    try:
        data, problems = check_source(_source(input_file), previous)
        if has_errors(problems):
            click.echo(report_text(_display(input_file), problems), err=True)
            sys.exit(EXIT_PROBLEMS)
        document = render_docx(data, template=template, fonts=fonts)
        if output == "-":
            sys.stdout.buffer.write(document)
            sys.stdout.buffer.flush()
        else:
            write_atomic(output, document)
    except InvalidReportError as exc:
        click.echo(report_text(_display(input_file), exc.problems), err=True)
        sys.exit(EXIT_PROBLEMS)
    except ReportFileError as exc:
        _fail(str(exc))
    except DocxReportError as exc:
        _fail(str(exc), EXIT_PROBLEMS)
    for p in problems:  # warnings only: errors stopped above
        click.echo(problem_line(_display(input_file), p), err=True)
    if output != "-":
        click.echo(f"已生成 {output}", err=True)
    if office:
        from ..pdf.office import Office

        with Office(office) as converter:
            result = converter.convert([output], pdfa=pdfa)[Path(output)]
        if isinstance(result, str):
            _fail(f"{output}: {result}")
        click.echo(f"已生成 {result}", err=True)
