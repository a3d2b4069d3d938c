"""Report data → an Excel workbook laid out as the national tables.

Sheets: 基本信息 (organ, year, date, title lines), one sheet per table (表二, 表三, 表四) laid out from the
format's grid (the same merged cells, labels and relative column widths as the Word tables), and 正文 (the
narrative, one row per block: section, level, heading, text; a heading's contents follow it one level
deeper). Labels are locked and the table sheets protected without a password; data cells are unlocked,
validated (whole numbers within the format's limit; fees as decimals of at most six places) and say which
row and column they are when selected; totals are ``=SUM(…)`` formulas, shaded.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.workbook.properties import CalcProperties
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ..format import CellSpec, Format, Table, load_format
from ..problems import Problem
from ..report import rules
from ..report.schema import schema_problems
from ..tables import TABLE_NAMES
from .layout import (
    CELL_TEXT_MAX,
    GRID_TOP,
    INFO_LABELS,
    INFO_SHEET,
    TEXT_COLUMNS,
    TEXT_SHEET,
    TITLE_LABEL,
    narrative_sections,
    table_sections,
)

__all__ = ["WorkbookTextError", "unwritable", "workbook_of", "write_workbook"]

_FONT = "宋体"
_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_LABEL = Font(name=_FONT, size=10.5)
_HEADING = Font(name=_FONT, size=12, bold=True)
_TOTAL_FONT = Font(name=_FONT, size=10.5, bold=True)
_DATA_FILL = PatternFill("solid", fgColor="FFFDE7")  # pale yellow: cells to fill in
_TOTAL_FILL = PatternFill("solid", fgColor="E0E0E0")  # grey: computed
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
_TOP_LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
_UNLOCKED = Protection(locked=False)
_CHARS_PER_UNIT = 10 / 600  # a 600-twip column of the Word table (a number column) is 10 characters wide
_POINTS_PER_LINE = 14.5


_EXACT_INT_MAX = 2**53  # the largest integer a double (an Excel number) holds with every integer below it


class WorkbookTextError(ValueError):
    """Text that an Excel cell cannot hold (longer than 32,767 characters)."""


def _put(ws: Worksheet, row: int, col: int, value: Any) -> Any:
    """Write ``value``; text is always text (a leading ``=`` is not a formula)."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        if len(value) > CELL_TEXT_MAX:
            raise WorkbookTextError(f"{ws.title}!{cell.coordinate}: 文字过长（{len(value)} 个字符），Excel 单元格最多 {CELL_TEXT_MAX} 个字符")
        cell.value = value
        cell.data_type = "s"
    elif isinstance(value, Decimal):
        cell.value = float(value)
    else:
        cell.value = value
    return cell


def _width(table: Table, col: int) -> float:
    return round(table.column_widths[col] * _CHARS_PER_UNIT, 1)


def _lines(text: str, chars: float) -> int:
    """How many lines ``text`` takes in a cell ``chars`` characters wide (CJK characters count double)."""
    total = 0
    for line in text.split("\n"):
        units = sum(2 if ord(ch) > 0x2E7F else 1 for ch in line)
        total += max(1, math.ceil(units / max(chars - 1, 1)))
    return total


def _row_label(table: Table, cell: CellSpec) -> str:
    line = table.grid[cell.row]
    labels = [c.text for c in dict.fromkeys(line[: cell.col]) if not c.is_data and c.role != "subheader" and c.text]
    return " › ".join(labels)


def _column_label(table: Table, cell: CellSpec) -> str:
    labels: list[str] = []
    for r in range(cell.row - 1, -1, -1):
        above = table.grid[r][cell.col]
        if above.is_data:
            if labels:
                break
            continue
        if above.text and above.text not in labels:
            labels.append(above.text)
        if above.role == "subheader":
            break
    return " › ".join(reversed(labels))


def _formula(check: rules.Check, where: Mapping[str, str]) -> str:
    """``=SUM(…)`` of a total's terms, contiguous cells joined into ranges."""
    refs = [where[t] for t in check.terms]
    parts: list[str] = []
    start = prev = refs[0]

    def split(ref: str) -> tuple[str, int]:
        letters = ref.rstrip("0123456789")
        return letters, int(ref[len(letters):])

    def next_to(a: str, b: str) -> bool:
        (ca, ra), (cb, rb) = split(a), split(b)
        return (ra == rb and column_index_from_string(cb) == column_index_from_string(ca) + 1) or (ca == cb and rb == ra + 1)

    direction: str | None = None
    for ref in refs[1:]:
        same_row = split(ref)[1] == split(prev)[1]
        step = "row" if same_row else "col"
        if next_to(prev, ref) and direction in (None, step):
            direction = step
            prev = ref
            continue
        parts.append(start if start == prev else f"{start}:{prev}")
        start = prev = ref
        direction = None
    parts.append(start if start == prev else f"{start}:{prev}")
    return f"=SUM({','.join(parts)})"


def _prompt(title: str, text: str) -> tuple[str, str]:
    return title[:32], text[:255]


def _table_sheet(wb: Workbook, table: Table, heading: str, data: Mapping[str, Any], given: Mapping[str, Any], fmt: Format) -> None:
    ws = wb.create_sheet(TABLE_NAMES[table.id])
    ws.sheet_view.showGridLines = False
    columns = table.grid_columns
    last = get_column_letter(columns)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=columns)
    title = _put(ws, 1, 1, heading)
    title.font, title.alignment = _HEADING, _LEFT
    ws.row_dimensions[1].height = 24
    for c in range(columns):
        ws.column_dimensions[get_column_letter(c + 1)].width = _width(table, c)

    where: dict[str, str] = {}
    for cell in table.cells:
        where_ref = f"{get_column_letter(cell.col + 1)}{GRID_TOP + cell.row}"
        if cell.key:
            where[cell.key] = where_ref
    checks = {}
    for check in rules.expand_rules(fmt):
        if check.kind == "sum" and check.target in where and check.target not in checks:
            checks[check.target] = check
    count_max, fee_max, places = fmt.limits["count_max"], fmt.limits["fee_max"], fmt.limits["fee_decimals"]
    heights: dict[int, float] = {}
    for cell in table.cells:
        row, col = GRID_TOP + cell.row, cell.col + 1
        if cell.rowspan > 1 or cell.colspan > 1:
            ws.merge_cells(start_row=row, start_column=col, end_row=row + cell.rowspan - 1, end_column=col + cell.colspan - 1)
        for r in range(row, row + cell.rowspan):  # borders on every covered cell: merged ranges show them
            for c in range(col, col + cell.colspan):
                ws.cell(row=r, column=c).border = _BORDER
        width = sum(_width(table, c) for c in range(cell.col, cell.right))
        if not cell.is_data:
            target = _put(ws, row, col, cell.text)
            target.font = _LABEL
            header = cell.row < table.header_rows or cell.rowspan > 1 or table.header_rows == 0
            target.alignment = _CENTER if header and cell.role != "subheader" else _LEFT
            if cell.rowspan == 1:
                heights[row] = max(heights.get(row, 1), _lines(cell.text, width))
            continue
        key = str(cell.key)
        value = rules.get_path(data, key)
        check = checks.get(key)
        stated = rules.get_path(given, key)
        if check is not None and (stated is None or stated == sum_of(check, data)):
            target = _put(ws, row, col, _formula(check, where))  # a total: live in Excel, never trusted on reading
            target.data_type = "f"
            target.font, target.fill, target.alignment = _TOTAL_FONT, _TOTAL_FILL, _CENTER
            continue
        target = _put(ws, row, col, value)  # a data cell (or a stated total that does not add up: kept as typed)
        target.font, target.fill, target.alignment, target.protection = _LABEL, _DATA_FILL, _CENTER, _UNLOCKED
        fee = key.endswith("fees")
        if fee:
            target.number_format = "General"
            ref = target.coordinate
            validation = DataValidation(
                type="custom", formula1=f"AND(ISNUMBER({ref}),{ref}>=0,{ref}<={fee_max},ROUND({ref},{places})={ref})",
                allow_blank=True, errorTitle="金额无效", error=f"请填写 0 至 {fee_max} 的金额（单位：万元），最多 {places} 位小数")
        else:
            target.number_format = "0"
            validation = DataValidation(
                type="whole", operator="between", formula1="0", formula2=str(count_max), allow_blank=True,
                errorTitle="数量无效", error=f"请填写 0 至 {count_max} 的整数")
        row_label, column_label = _row_label(table, cell), _column_label(table, cell)
        what = "\n".join(x for x in (f"行：{row_label}" if row_label else "", f"列：{column_label}" if column_label else "") if x)
        validation.promptTitle, validation.prompt = _prompt(
            f"{TABLE_NAMES[table.id]}（{'金额，万元' if fee else '件数'}）", what or TABLE_NAMES[table.id])
        validation.showInputMessage = validation.showErrorMessage = True
        ws.add_data_validation(validation)
        validation.add(target)
    for row, lines in heights.items():
        ws.row_dimensions[row].height = max(18.0, lines * _POINTS_PER_LINE + 4)
    bottom = GRID_TOP + table.grid_rows - 1
    ws.print_area = f"A1:{last}{bottom}"
    _fit_width(ws, landscape=columns > 10)
    _protect(ws)


def sum_of(check: rules.Check, data: Mapping[str, Any]) -> Any:
    values = [rules.get_path(data, t) for t in check.terms]
    if any(not isinstance(v, int) or isinstance(v, bool) for v in values):
        return None
    return sum(values)


def _fit_width(ws: Worksheet, landscape: bool = False) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True


def _protect(ws: Worksheet) -> None:
    """Protected without a password: labels and formulas cannot be changed by accident; formatting rows and
    columns stays allowed (in OOXML a true flag forbids the action)."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.selectLockedCells = False
    ws.protection.selectUnlockedCells = False


def _info_sheet(ws: Worksheet, data: Mapping[str, Any], fmt: Format) -> None:
    ws.title = INFO_SHEET
    ws.sheet_view.showGridLines = False
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 48
    ws.column_dimensions["C"].width = 52
    for col, text in enumerate(("项目", "内容", "说明"), 1):
        cell = _put(ws, 1, col, text)
        cell.font, cell.alignment, cell.border, cell.fill = _HEADING, _CENTER, _BORDER, _TOTAL_FILL
    title = data.get("title")
    lines = [title] if isinstance(title, str) else list(title or [])
    default = " / ".join(line.format(organ="机关名称", year="某") for line in fmt.title_lines)
    rows: list[tuple[str, Any, str]] = [
        ("机关名称", data.get("organ"), str(fmt.fields["organ"]["description"])),
        ("报告年度", data.get("year"), f"{fmt.limits['year_min']} 至 {fmt.limits['year_max']} 的年份"),
        ("成文日期", _date(data.get("date")), "可留空；填写时在文末署机关名称和成文日期"),
    ]
    for n in range(fmt.limits["title_max_lines"]):
        note = f"标题按行填写；全部留空时标题为：{default}" if n == 0 else ""
        rows.append((TITLE_LABEL.format(n=n + 1), lines[n] if n < len(lines) else None, note))
    assert [r[0] for r in rows[:3]] == list(INFO_LABELS)
    for r, (label, value, note) in enumerate(rows, 2):
        head = _put(ws, r, 1, label)
        head.font, head.alignment, head.border = _LABEL, _CENTER, _BORDER
        cell = _put(ws, r, 2, value)
        cell.font, cell.alignment, cell.border, cell.fill, cell.protection = _LABEL, _LEFT, _BORDER, _DATA_FILL, _UNLOCKED
        if label == "报告年度":
            cell.number_format = "0"
            validation = DataValidation(type="whole", operator="between", formula1=str(fmt.limits["year_min"]),
                                        formula2=str(fmt.limits["year_max"]), allow_blank=False,
                                        errorTitle="年度无效", error=f"请填写 {fmt.limits['year_min']} 至 {fmt.limits['year_max']} 的年份")
            ws.add_data_validation(validation)
            validation.add(cell)
        elif label == "成文日期":
            cell.number_format = 'yyyy"年"m"月"d"日"'
        else:
            cell.number_format = "@"
        info = _put(ws, r, 3, note)
        info.font, info.alignment, info.border = _LABEL, _LEFT, _BORDER
        ws.row_dimensions[r].height = 20
    ws.print_area = f"A1:C{len(rows) + 1}"
    _fit_width(ws)
    _protect(ws)


def _date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value  # kept as written: the reader reports it as the validator would
    return value


def _text_sheet(wb: Workbook, data: Mapping[str, Any], fmt: Format) -> None:
    """The narrative, one row per block: a paragraph (text only), a run-in heading (heading and text) or a
    heading on its own line (heading only), whose contents follow one level deeper."""
    ws = wb.create_sheet(TEXT_SHEET)
    widths = (24, 6, 30, 90)
    for col, (text, width) in enumerate(zip(TEXT_COLUMNS, widths), 1):
        cell = _put(ws, 1, col, text)
        cell.font, cell.alignment, cell.border, cell.fill = _HEADING, _CENTER, _BORDER, _TOTAL_FILL
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"
    rows: list[tuple[str, int, str | None, str | None]] = []

    def walk(section: str, items: Any, level: int) -> None:
        for item in items:
            if isinstance(item, str):
                rows.append((section, level, None, item))
            elif isinstance(item, dict) and "body" in item:
                rows.append((section, level, item.get("heading"), None))
                walk(section, item["body"], level + 1)
            elif isinstance(item, dict):
                rows.append((section, level, item.get("heading"), item.get("text")))

    for key, name in narrative_sections(fmt):
        walk(name, data.get(key) or [], 1)
    for r, (section, level, heading, text) in enumerate(rows, 2):
        values = (section, level, heading, text)
        for col, value in enumerate(values, 1):
            cell = _put(ws, r, col, value)
            cell.font, cell.border = _LABEL, _BORDER
            cell.alignment = _TOP_LEFT if col != 2 else Alignment(horizontal="center", vertical="top")
            if col != 2:
                cell.number_format = "@"
        ws.row_dimensions[r].height = max(18.0, min(400.0, _lines(text or heading or "", widths[3]) * _POINTS_PER_LINE + 4))
    depth = fmt.max_heading_depth
    levels = DataValidation(type="whole", operator="between", formula1="1", formula2=str(depth), allow_blank=True,
                            errorTitle="层级无效", error=f"层级为 1 至 {depth} 的整数", promptTitle="层级",
                            prompt="1：（一）级标题或段落；2：1. 级；3：（1）级；标题之下的内容比标题深一级")
    levels.showInputMessage = levels.showErrorMessage = True
    ws.add_data_validation(levels)
    levels.add(f"B2:B{max(len(rows) + 1, 2) + 500}")
    names = ",".join(name for _, name in narrative_sections(fmt))
    sections = DataValidation(type="list", formula1=f'"{names}"', allow_blank=True, errorTitle="章节无效",
                              error="请从列表中选择章节", promptTitle="章节", prompt="本行属于哪一部分")
    sections.showInputMessage = sections.showErrorMessage = True
    ws.add_data_validation(sections)
    sections.add(f"A2:A{max(len(rows) + 1, 2) + 500}")
    ws.print_area = f"A1:D{max(len(rows) + 1, 2)}"
    ws.print_title_rows = "1:1"
    _fit_width(ws)


#: Schema problems that mean the workbook has no place for a value: a wrong kind of container or item, a key
#: the national format does not have. A value of the wrong kind in a cell of its own (text where a number
#: belongs, an empty 机关名称) is written as it is and reported at its cell on reading, like a clerk's typing.
_SHAPE_RULES = frozenset({"schema.type", "schema.unknown_key", "json.too_deep", "schema.depth"})
#: Characters no worksheet holds (control characters, lone surrogates, U+FFFE), wherever they are.
_CHARACTER_RULES = frozenset({"schema.control_character", "schema.invalid_character"})


def _cell_paths(fmt: Format) -> frozenset[tuple[str, ...]]:
    """The paths the workbook writes into a cell of their own, whatever the value is."""
    keys = {tuple(str(c.key).split(".")) for table in fmt.tables.values() for c in table.data_cells}
    return frozenset(keys | {("organ",), ("year",), ("date",)})


def _fits_cell(value: Any) -> bool:
    """Whether one cell holds ``value`` as it is: a number, or text of characters a worksheet can hold."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):  # a worksheet number is a double: beyond 2**53 it would change (or not be written)
        return abs(value) <= _EXACT_INT_MAX
    if isinstance(value, (float, Decimal)):  # NaN and infinities are written as an empty cell
        return math.isfinite(value) and math.isfinite(float(value))
    if not isinstance(value, str) or ILLEGAL_CHARACTERS_RE.search(value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def unwritable(data: Any, fmt: Format | None = None) -> list[Problem]:
    """What in ``data`` a workbook has no place for: data that is not the data model's shape (a section that
    is not a list …), keys the format does not have, characters no worksheet holds. Empty when
    :func:`write_workbook` keeps everything but the editor hint ``$schema``. Values a cell holds as typed
    (text where a number belongs, an empty 机关名称) are not listed: the workbook keeps them and reading it
    back reports them at their cells."""
    fmt = fmt or load_format()
    if not isinstance(data, Mapping):
        return [Problem((), "xlsx.unwritable", "报告数据的顶层应为对象，无法写入工作簿")]
    cells = _cell_paths(fmt)
    found = []
    for problem in schema_problems(data, fmt):
        path = tuple(map(str, problem.path))
        if path[:1] == ("$schema",):
            continue  # not written: an editor's hint, not report data
        if problem.rule in _SHAPE_RULES and path in cells and _fits_cell(rules.get_path(data, ".".join(path))):
            continue
        if problem.rule in _SHAPE_RULES or problem.rule in _CHARACTER_RULES:
            found.append(Problem(problem.path, "xlsx.unwritable", f"工作簿无法保存此项：{problem.message}"))
    listed = {tuple(map(str, p.path)) for p in found}
    for path in sorted(cells - listed):  # e.g. a date of control characters: its schema problem is its format
        value = rules.get_path(data, ".".join(path))
        if not _fits_cell(value):
            number = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
            found.append(Problem(path, "xlsx.unwritable", f"工作簿无法保存此项：数字 {str(value)[:30]} 超出 Excel 单元格能准确保存的范围" if number
                                 else "工作簿无法保存此项：单元格只能保存数字或不含控制字符的文字"))
    return found


def workbook_of(data: Any, fmt: Format | None = None) -> tuple[bytes | None, list[Problem]]:
    """``(workbook, [])`` for report ``data`` as :func:`write_workbook` writes it, or ``(None, problems)``
    when the workbook cannot hold it (:func:`unwritable`, or a text longer than an Excel cell)."""
    fmt = fmt or load_format()
    problems = unwritable(data, fmt)
    if problems:
        return None, problems
    try:
        return write_workbook(data, fmt), []
    except WorkbookTextError as exc:
        return None, [Problem((), "xlsx.unwritable", str(exc))]


def write_workbook(data: Mapping[str, Any], fmt: Format | None = None) -> bytes:
    """The workbook (.xlsx bytes) of report ``data`` (valid against the schema; consistency problems are
    kept as they are).

    Absent totals become formulas; a stated total that does not add up is written as the number it is, so
    that reading the workbook back reports it just as validating the data does. Raises
    :class:`WorkbookTextError` for a text longer than an Excel cell holds.
    """
    fmt = fmt or load_format()
    full = rules.complete(data, fmt)
    wb = Workbook()
    _info_sheet(wb.active, full, fmt)
    for section in table_sections(fmt):
        _table_sheet(wb, fmt.table_of(section), section.heading, full, data, fmt)
    _text_sheet(wb, full, fmt)
    wb.calculation = CalcProperties(fullCalcOnLoad=True)  # no cached results are written: compute on opening
    wb.properties.title = f"{full.get('organ', '')}{full.get('year', '')}年政府信息公开工作年度报告"
    wb.properties.creator = "docxreport"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
