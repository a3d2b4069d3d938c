"""``render``: report data → a finished document."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import DocxReportError, InvalidReportError, ReportFileError
from ..files import same_file, write_atomic
from ..problems import Problem, has_errors, problem_line, report_text
from .base import CONTEXT, EXIT_PROBLEMS, _display, _fail, _office, _replacing, _source, main


@main.command(context_settings=CONTEXT)
@click.argument("input_file", metavar="INPUT", type=click.Path(allow_dash=True))
@click.option("-o", "--output", type=click.Path(allow_dash=True), help="输出文件：.docx（Word，默认与输入同名、同目录）或 .html/.htm（网页）；- 表示标准输出（.docx）。")
@click.option("--template", type=click.Path(dir_okay=False), help="使用本单位的 .docx 模板（docxtpl 标签），默认为内置国家格式模板。")
@click.option("--fonts", type=click.Choice(["official", "windows"]), default="official", show_default=True, help="official：仿宋_GB2312 等公文字体；windows：仿宋/楷体/黑体/宋体（未安装 GB2312 字体的电脑）。")
@click.option("--previous", type=click.Path(), help="上年报告的 JSON，渲染前一并核对跨年度规则。")
@click.option("--pdf", is_flag=True, help="同时用 LibreOffice 转为 PDF，写在 .docx 旁边（同名，扩展名 .pdf）。")
@click.option("--pdf-a", "pdfa", is_flag=True, help="PDF 为 PDF/A-2b（长期存档格式，供档案部门）；隐含 --pdf。")
@click.option("--fragment", is_flag=True, help="与 -o 某.html 同用：只输出报告正文（<article>，样式写在元素上），便于粘贴到网站内容管理系统的编辑器。")
@click.option("--force", is_flag=True, help="覆盖已存在的、不是本工具生成（或生成后改过）的输出文件。")
@click.option("--allow-errors", is_flag=True, help="统计表勾稽关系有错误时仍按原样生成（如存档已发布的报告）：列出每处错误，退出码为 1。数据格式错误时仍不生成。")
def render(input_file: str, output: str | None, template: str | None, fonts: str, previous: str | None, pdf: bool,
           pdfa: bool, fragment: bool, force: bool, allow_errors: bool) -> None:
    """把报告 JSON 生成为 Word 文档（.docx）或网页（.html）。先校验，有错误时不生成任何文件。

    \b
    INPUT 为报告 JSON，- 表示从标准输入读取（此时默认写到标准输出）。
    输出先写入临时文件再改名：失败时不会留下半个文件，也不会破坏已有文件。
    覆盖规则（所有写文件的命令相同）：本工具生成、之后未经改动的文件直接替换（并提示“已替换”），
    反复修改、重新生成草稿无需任何选项；其他已存在的文件（您的数据、在 Word/WPS 中改过并保存的文档、
    别的程序的文件）保留不动，确需覆盖请加 --force；输入文件在任何情况下都不会被覆盖。

    \b
    勾稽关系不平的报告（有的已发布报告如此）默认不生成；存档时可加 --allow-errors 按原样生成，
    每处错误照常列出，退出码为 1（报告并未通过校验）。

    \b
    示例：
      docxreport render examples/zhuyangguan-2024.json -o zhuyangguan-2024.docx
      docxreport render report.json --template 本单位模板.docx
      cat report.json | docxreport render - -o - > report.docx
      docxreport render report.json -o report.docx --pdf
      docxreport render report.json -o report.html
      docxreport render report.json -o 正文.html --fragment
      docxreport render 已发布-2023.json --allow-errors
    """
    from ..docx.renderer import DEFAULT_RENDERER
    from ..outputs import seal
    from ..sources import check_data

    name = _display(input_file)
    try:
        data, problems = check_data(_source(input_file), name, previous, previous or "")
    except ReportFileError as exc:
        _fail(str(exc))
    allowed = _allowed_errors(problems) if allow_errors else []
    if has_errors(problems) and not (allow_errors and len(allowed) == sum(p.severity == "error" for p in problems)):
        click.echo(report_text(name, problems), err=True)
        if allow_errors:
            click.echo(f"{name}: 数据格式有错误，无法生成（--allow-errors 只放行统计表勾稽关系的错误）", err=True)
        elif _allowed_errors(problems) and len(_allowed_errors(problems)) == sum(p.severity == "error" for p in problems):
            click.echo(f"{name}: 未生成文档；如需按原样生成（如存档已发布的报告），可加 --allow-errors", err=True)
        sys.exit(EXIT_PROBLEMS)

    if output is None:
        output = "-" if input_file == "-" else str(Path(input_file).with_suffix(".docx"))
    web_page = output != "-" and Path(output).suffix.lower() in (".html", ".htm")
    if web_page and (pdf or pdfa or template):
        _fail("网页（.html）不使用 --pdf 和 --template：请分别生成 .docx 和 .html")
    if fragment and not web_page:
        _fail("--fragment 只用于网页输出：请用 -o 某.html")
    if output == "-" and sys.stdout.isatty():
        _fail("不会把 .docx 写到终端：请用 -o 指定输出文件")
    office = _office() if pdf or pdfa else None
    if office and output == "-":
        _fail("--pdf 需要用 -o 指定输出文件，不能写到标准输出")
    pdf_path = Path(output).with_suffix(".pdf") if office else None
    for other, what in ((input_file, "输入文件"), (template, "模板文件"), (previous, "上年报告")):
        for target in (output, pdf_path):
            if other and other != "-" and target and target != "-" and same_file(target, other):
                _fail(f"{target}: 输出路径与{what}相同，拒绝覆盖")
    if pdf_path is not None and same_file(pdf_path, output):
        _fail(f"{output}: .docx 与 PDF 的输出路径相同，请用 -o 指定以 .docx 结尾的文件名")
    replaced = _replacing(output, force) if output != "-" else False
    pdf_replaced = False
    if pdf_path is not None and pdf_path.exists():
        if not (force or replaced):  # the PDF follows its .docx: replaced with our own, else kept
            _fail(f"{pdf_path}: 文件已存在，且其 .docx 不是本工具生成后未经改动的文件，不会覆盖；确需覆盖请加 --force")
        pdf_replaced = True

    try:
        if web_page:
            from ..html.writer import write_html
            from ..outputs import seal_html

            write_atomic(output, seal_html(write_html(data, fragment=fragment)))  # validated above
        else:
            if has_errors(problems):  # --allow-errors, and every error a consistency rule: laid out as given
                document = DEFAULT_RENDERER.render_checked(data, template=template, fonts=fonts)  # schema-valid
            else:
                document = DEFAULT_RENDERER.render(data, template=template, fonts=fonts)
            document = seal(document)  # type: ignore[arg-type]
            if output == "-":
                sys.stdout.buffer.write(document)
                sys.stdout.buffer.flush()
            else:
                write_atomic(output, document)
    except InvalidReportError as exc:
        click.echo(report_text(name, exc.problems), err=True)
        sys.exit(EXIT_PROBLEMS)
    except ReportFileError as exc:
        _fail(str(exc))
    except DocxReportError as exc:
        _fail(str(exc), EXIT_PROBLEMS)
    for p in problems:
        click.echo(problem_line(name, p), err=True)
    if output != "-":
        click.echo(f"{'已替换' if replaced else '已生成'} {output}" + ("（上次生成的文件）" if replaced else ""), err=True)
    if office:
        from ..pdf.office import Office

        with Office(office) as converter:
            result = converter.convert([output], pdfa=pdfa)[Path(output)]
        if isinstance(result, str):
            _fail(f"{output}: {result}")
        click.echo(f"{'已替换' if pdf_replaced else '已生成'} {result}", err=True)
    if has_errors(problems):
        errors = sum(p.severity == "error" for p in problems)
        click.echo(f"{name}: 按 --allow-errors 生成，报告有 {errors} 处勾稽关系错误，未通过校验", err=True)
        sys.exit(EXIT_PROBLEMS)


def _allowed_errors(problems: list[Problem]) -> list[Problem]:
    """The errors --allow-errors lets through: consistency rules only."""
    from ..format import load_format
    from ..report.rules import consistency_rules

    rules = consistency_rules(load_format())
    return [p for p in problems if p.severity == "error" and p.rule in rules]


