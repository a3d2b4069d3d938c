"""What the workbook's writer and reader share: sheet names, the narrative sheet's columns, limits.

The tables themselves are not described here: their layout is the format's grid (:mod:`docxreport.format`).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..format import Format, Section

#: The sheet of the report's own details and the narrative sheet (found again by content, not by name).
INFO_SHEET = "基本信息"
TEXT_SHEET = "正文"

#: The narrative sheet's header row: one row per block.
TEXT_COLUMNS = ("章节", "层级", "标题", "正文")

#: Rows of the details sheet: label → data key (title lines are ``title.0`` …).
INFO_LABELS = {"机关名称": "organ", "报告年度": "year", "成文日期": "date"}
TITLE_LABEL = "标题第{n}行"

#: Where a table sheet's grid starts: the section heading above it in row 1, the grid from row 2.
GRID_TOP = 2

#: Excel's limit on the text of one cell.
CELL_TEXT_MAX = 32767

#: How much of a sheet is read (a table is at most a few dozen rows; the narrative a few thousand).
MAX_TABLE_ROWS, MAX_TABLE_COLUMNS = 300, 40
MAX_TEXT_ROWS = 20000


def narrative_sections(fmt: Format) -> Iterator[tuple[str, str]]:
    """(data key, name in the 章节 column) of each narrative part, in document order: the preamble, then
    the sections whose content is blocks."""
    yield "preamble", str(fmt.fields["preamble"]["title"])
    for section in fmt.sections:
        if not section.is_table:
            yield section.key, section.heading


def table_sections(fmt: Format) -> Iterator[Section]:
    for section in fmt.sections:
        if section.is_table:
            yield section


def quote_sheet(title: str) -> str:
    """A sheet name as a cell reference writes it (``'My sheet'`` when it needs quoting)."""
    if title.replace("_", "").isalnum():
        return title
    return "'" + title.replace("'", "''") + "'"
