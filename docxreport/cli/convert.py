"""``convert``: report data between JSON and an Excel workbook, and finished reports read into either."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import ReportFileError
from ..files import same_file, write_atomic
from ..problems import has_errors, problem_line
from .base import CONTEXT, EXIT_PROBLEMS, _display, _fail, _source, main


@main.command(context_settings=CONTEXT)
@click.argument("source", metavar="INPUT", type=click.Path(dir_okay=True, allow_dash=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="输出文件：.json 或 .xlsx（按扩展名决定）；- 表示以 JSON 输出到标准输出。")
def convert(source: str, output: str) -> None:
    """在报告 JSON 和 Excel 工作簿之间转换；也可把已成文的报告读入其中任一种。

    \b
    INPUT 按内容识别：报告 JSON、按国家格式排版的 Excel 工作簿（.xlsx），
    或已成文的报告（docxreport extract 能读取的文件）。输出格式由 -o 的扩展名决定。
    工作簿中每张统计表单独一页，合并单元格和标签与国家格式一致；合计为公式，读取时按数据重新计算。
    不会覆盖输入文件；输出先完整写入再替换。
    退出码：0 成功，1 报告有问题（仍写出能写的内容），2 文件无法读取或参数有误。

    \b
    示例：
      docxreport convert report-2024.json -o report-2024.xlsx
      docxreport convert report-2024.xlsx -o report-2024.json
      docxreport convert 2023年报告.docx -o report-2023.xlsx
    """
    from ..convert import TARGETS
    from ..convert import convert as convert_data

    to_stdout = output == "-"
    target = "json" if to_stdout else TARGETS.get(Path(output).suffix.lower())
    if target is None:
        _fail(f"{output}: 输出文件的扩展名应为 {' 或 '.join(TARGETS)}")
    if not to_stdout and source != "-" and same_file(output, source):
        _fail(f"{output}: 输出路径与输入文件相同，拒绝覆盖")
    name = _display(source)
    try:
        result = convert_data(_source(source), target, name)
    except ReportFileError as exc:
        _fail(str(exc))
    for p in result.problems:
        click.echo(problem_line(name, p), err=True)
    if result.content is None:
        if result.source_kind == "unreadable":
            _fail(f"{name}: 无法读取为报告数据，未转换")
        _fail(f"{name}: 数据中有不符合格式的值（见上），未转换", EXIT_PROBLEMS)
    if to_stdout:
        sys.stdout.buffer.write(result.content)
        sys.stdout.flush()
    else:
        try:
            write_atomic(output, result.content)
        except ReportFileError as exc:
            _fail(str(exc))
        click.echo(f"已生成 {output}", err=True)
    sys.exit(EXIT_PROBLEMS if has_errors(result.problems) else 0)
