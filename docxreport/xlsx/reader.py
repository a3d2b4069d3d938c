"""An Excel workbook → report data.

Each sheet holding a national table becomes a :class:`~docxreport.tables.FoundTable` (merged ranges as
spans, cells named ``表三!E12`` in messages) read by the shared grid reader, by labels: rows a clerk
inserts, a renamed sheet, or an office's own workbook in the national layout read as well. Formula cells are
not trusted: a formula total counts as absent and is computed from the data cells (whatever result Excel,
WPS or LibreOffice cached); a number typed over a total is compared like any stated total; a formula where a
number belongs is an error. A blank cell reads as 0 with a warning, as in every reader. The 基本信息 and 正文
sheets are found by their content and read back exactly.
"""

from __future__ import annotations

import io
import math
import re
import warnings
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries

from ..archive import DocxSource, read_package, source_name
from ..errors import NotAReportError
from ..format import Format, load_format
from ..problems import Problem
from ..report import rules
from ..tables import Cell, FoundTable, Reading, classify, normal_label, read_tables
from .layout import (
    INFO_LABELS,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    MAX_TEXT_ROWS,
    TEXT_COLUMNS,
    narrative_sections,
    quote_sheet,
)

__all__ = ["read_workbook"]

#: An XML part (a worksheet, the shared strings) larger than this is not a report's (ours are tens of kilobytes).
MAX_SHEET_BYTES = 16 * 1024 * 1024

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DATE_TEXT = re.compile(r"^\s*(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*(?:-|/|\.|月)\s*(\d{1,2})\s*日?\s*$")
_TITLE = re.compile(r"^标题第\s*([一二三1-3])\s*行$")
_YEAR_TEXT = re.compile(r"\d{4}")
_LEVEL_TEXT = re.compile(r"^\s*\d+\s*$")  # anchored: linear under search too


class _Sheet:
    """A worksheet's values within the bounds read, its formula cells and merged ranges."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.values: dict[tuple[int, int], Any] = {}
        self.formulas: set[tuple[int, int]] = set()
        self.merges: list[tuple[int, int, int, int]] = []  # min_row, min_col, max_row, max_col
        self.max_row = 0
        self.truncated = False

    def value(self, row: int, col: int) -> Any:
        return self.values.get((row, col))

    def is_formula(self, row: int, col: int) -> bool:
        return (row, col) in self.formulas


def _merges(archive: zipfile.ZipFile, part: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a worksheet part, streamed (the sheet's cells are not kept)."""
    found = []
    with archive.open(part) as stream:
        for _, element in etree.iterparse(stream, tag=f"{{{_MAIN}}}mergeCell", resolve_entities=False, no_network=True):
            try:
                min_col, min_row, max_col, max_row = range_boundaries(element.get("ref", ""))
            except (ValueError, TypeError):
                continue
            if None not in (min_col, min_row, max_col, max_row):
                found.append((min_row, min_col, max_row, max_col))
            element.clear()
    return found


def _open(source: DocxSource, name: str) -> list[_Sheet]:
    """The workbook's sheets, each read within bounds, in a streaming (read-only) pass."""
    if isinstance(source, bytes):  # so that the package check names the file too
        named = io.BytesIO(source)
        named.name = name  # type: ignore[attr-defined]
        source = named
    raw = read_package(source, "工作簿", NotAReportError, ("xl/workbook.xml",), "Excel 工作簿", ".xlsx")
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for info in archive.infolist():
            if info.filename.endswith((".xml", ".rels")) and info.file_size > MAX_SHEET_BYTES:  # sheets, shared strings …
                raise NotAReportError(f"{name}: 工作簿部件 {info.filename} 解压后过大（{info.file_size} 字节），拒绝处理")
        try:
            with warnings.catch_warnings():  # openpyxl warns about extensions it drops (conditional formats …)
                warnings.simplefilter("ignore")
                wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
                try:
                    return [_read_sheet(ws, archive) for ws in wb.worksheets if hasattr(ws, "iter_rows")]
                finally:
                    wb.close()
        except Exception as exc:  # noqa: BLE001 - openpyxl and lxml raise many kinds on a damaged package
            raise NotAReportError(f"{name}: 无法打开工作簿（{type(exc).__name__}）") from None


def _read_sheet(ws: Any, archive: zipfile.ZipFile) -> _Sheet:
    sheet = _Sheet(ws.title)
    limit = max(MAX_TABLE_ROWS, MAX_TEXT_ROWS + 1)
    for r, row in enumerate(ws.iter_rows(min_row=1, max_row=limit + 1, max_col=MAX_TABLE_COLUMNS), 1):
        if r > limit:
            sheet.truncated = any(c.value is not None for c in row)
            break
        for c, cell in enumerate(row, 1):
            if cell.value is None:
                continue
            sheet.values[(r, c)] = cell.value
            sheet.max_row = r
            if cell.data_type == "f":
                sheet.formulas.add((r, c))
    part = getattr(ws, "_worksheet_path", None)
    if part:
        sheet.merges = _merges(archive, part)
    return sheet


def _address(ws: _Sheet, row: int, col: int) -> str:
    return f"{quote_sheet(ws.title)}!{get_column_letter(col)}{row}"


def _number_text(value: float) -> str:
    """A number as the grid reader reads text: integral floats as integers, fractions as their shortest
    decimal (a float that is a decimal of at most 6 places plus binary noise is that decimal)."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    exact = Decimal(repr(value))
    rounded = exact.quantize(Decimal("0.000001"))
    if abs(exact - rounded) < Decimal("1e-9") * max(1, abs(exact)):
        exact = rounded
    text = format(exact.normalize(), "f")
    return text


def cell_value_text(value: Any) -> str:
    """The text of a cell value as the grid reader reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _grid(ws: _Sheet, rows: int, columns: int) -> tuple[list[Cell], set[tuple[int, int]], int]:
    """The sheet's cells within ``rows`` × ``columns`` as grid cells (merged ranges as spans), the positions
    holding formulas, and the sheet's last row with content."""
    spans: dict[tuple[int, int], tuple[int, int]] = {}
    covered: set[tuple[int, int]] = set()
    for min_row, min_col, max_row, max_col in ws.merges:
        if min_row > rows or min_col > columns:
            continue
        spans[(min_row, min_col)] = (max_row - min_row + 1, max_col - min_col + 1)
        for r in range(min_row, min(max_row, rows) + 1):
            for c in range(min_col, min(max_col, columns) + 1):
                if (r, c) != (min_row, min_col):
                    covered.add((r, c))
    texts: dict[tuple[int, int], str] = {}
    formulas: set[tuple[int, int]] = set()
    for (r, c), value in ws.values.items():
        if r > rows or c > columns or (r, c) in covered:
            continue
        if ws.is_formula(r, c):
            formulas.add((r, c))
            texts[(r, c)] = ""
        else:
            texts[(r, c)] = cell_value_text(value)
    used = [p for p, t in texts.items() if t.strip()] + list(formulas)
    if not used:
        return [], formulas, 0
    bottom = max(r for r, _ in used)
    right = max(c for _, c in used)
    for (r, c), (rs, cs) in spans.items():
        if r <= bottom and c <= right:
            bottom, right = max(bottom, r + rs - 1), max(right, c + cs - 1)
    top, left = min(r for r, _ in used), min(c for _, c in used)
    for (r, c), (rs, cs) in spans.items():  # a merged range whose text is elsewhere than its first cell
        if top <= r <= bottom and c < left <= c + cs - 1:
            left = c
    cells = []
    for r in range(top, min(bottom, rows) + 1):
        for c in range(left, min(right, columns) + 1):
            if (r, c) in covered:
                continue
            rs, cs = spans.get((r, c), (1, 1))
            cells.append(Cell(r - 1, c - 1, rs, cs, texts.get((r, c), "")))
    return cells, formulas, bottom


class _Sheets:
    """The workbook's sheets sorted by what they hold."""

    def __init__(self, worksheets: list[_Sheet], fmt: Format) -> None:
        self.info: _Sheet | None = None
        self.text: _Sheet | None = None
        self.tables: list[tuple[_Sheet, FoundTable, set[tuple[int, int]]]] = []
        self.other: list[_Sheet] = []
        for ws in worksheets:
            if self.info is None and _is_info(ws):
                self.info = ws
            elif self.text is None and _is_text(ws):
                self.text = ws
            else:
                cells, formulas, _ = _grid(ws, MAX_TABLE_ROWS, MAX_TABLE_COLUMNS)
                found = FoundTable(len(self.tables) + 1, cells, _addresser(ws))
                if cells and classify(found, fmt):
                    self.tables.append((ws, found, formulas))
                elif cells:
                    self.other.append(ws)


def _addresser(ws: _Sheet) -> Any:
    def address(cell: Cell) -> str:
        return _address(ws, cell.row + 1, cell.col + 1)

    return address


def _header(ws: _Sheet, columns: int) -> list[str]:
    return [normal_label(cell_value_text(ws.value(1, c))) for c in range(1, columns + 1)]


def _is_info(ws: _Sheet) -> bool:
    labels = {normal_label(cell_value_text(ws.value(r, 1))) for r in range(1, 12)}
    return {"机关名称", "报告年度"} <= labels


def _is_text(ws: _Sheet) -> bool:
    return _header(ws, len(TEXT_COLUMNS)) == list(TEXT_COLUMNS)


def _read_info(ws: _Sheet, fmt: Format, result: Reading) -> None:
    lines: dict[int, str] = {}
    for r in range(1, 20):
        label = normal_label(cell_value_text(ws.value(r, 1)))
        where = _address(ws, r, 2)
        value = ws.value(r, 2)
        if ws.is_formula(r, 2):
            result.error((INFO_LABELS.get(label, "title"),), "formula", f"{where}: 含有公式，请直接填写内容", cell=where)
            continue
        if label == "机关名称":
            if value is not None and str(value).strip():
                result.data["organ"] = cell_value_text(value)
            else:
                result.error(("organ",), "blank_cell", f"{where}: 机关名称为空白", cell=where)
        elif label == "报告年度":
            text = cell_value_text(value).strip()
            if _YEAR_TEXT.fullmatch(text):
                result.data["year"] = int(text)
            elif text:
                result.error(("year",), "not_a_year", f"{where}: 应为年份（如 2024），实际为“{text}”", cell=where, found=text)
            else:
                result.error(("year",), "blank_cell", f"{where}: 报告年度为空白", cell=where)
        elif label == "成文日期":
            _read_date(value, where, result)
        else:
            match = _TITLE.match(label)
            if match and value is not None and cell_value_text(value).strip():
                lines["一二三".find(match.group(1)) + 1 if match.group(1) in "一二三" else int(match.group(1))] = cell_value_text(value)
    if lines:
        result.data["title"] = [lines[n] for n in sorted(lines)]


def _read_date(value: Any, where: str, result: Reading) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    if isinstance(value, datetime):
        result.data["date"] = value.date().isoformat()
        return
    if isinstance(value, date):
        result.data["date"] = value.isoformat()
        return
    text = cell_value_text(value)
    match = _DATE_TEXT.match(text)
    if match:
        try:
            result.data["date"] = date(*(int(g) for g in match.groups())).isoformat()
            return
        except ValueError:
            pass
    result.error(("date",), "not_a_date", f"{where}: 应为日期（如 2025-01-20），实际为“{text}”", cell=where, found=text)


def _read_text(ws: _Sheet, fmt: Format, result: Reading) -> None:
    """正文: one row per block; a heading's contents follow it one level deeper."""
    names: dict[str, str] = {}
    for key, name in narrative_sections(fmt):
        names[normal_label(name)] = key
        names[normal_label(key)] = key
        if key != "preamble":
            names[normal_label(fmt.section(key).title)] = key
    found: dict[str, list[Any]] = {}
    section: str | None = None
    stack: list[list[Any]] = []
    last = min(ws.max_row, MAX_TEXT_ROWS + 1)
    if ws.truncated:
        result.warn((), "too_many_rows", f"{quote_sheet(ws.title)}: 超过 {MAX_TEXT_ROWS} 行，其后的行未读取")
    for r in range(2, last + 1):
        for c in range(1, len(TEXT_COLUMNS) + 1):
            if ws.is_formula(r, c):
                where = _address(ws, r, c)
                result.error((), "formula", f"{where}: 含有公式，请直接填写内容", cell=where)
        values = [None if ws.is_formula(r, c) else ws.value(r, c) for c in range(1, len(TEXT_COLUMNS) + 1)]
        name, level, heading, text = (cell_value_text(v) if v is not None else "" for v in values)
        if not any(x.strip() for x in (name, level, heading, text)):
            continue
        if name.strip():
            key = names.get(normal_label(name))
            if key is None:
                where = _address(ws, r, 1)
                result.error((), "unknown_section", f"{where}: “{name}”不是报告的章节（应为{'、'.join(n for _, n in narrative_sections(fmt))}之一）", cell=where, found=name)
                section = None
                continue
            if key != section:
                section = key
                stack = [found.setdefault(key, [])]
        if section is None:
            where = _address(ws, r, 1)
            result.error((), "no_section", f"{where}: 没有填写章节", cell=where)
            continue
        path = (section,)
        where = _address(ws, r, 2)
        if not _LEVEL_TEXT.fullmatch(level):
            result.error(path, "level", f"{where}: 层级应为 1 至 {fmt.max_heading_depth} 的整数，实际为“{level}”", cell=where, found=level)
            continue
        depth = int(level)
        if not 1 <= depth <= len(stack):
            open_depth = len(stack)
            result.error(path, "level", f"{where}: 层级 {depth} 不连续：此处最深为 {open_depth}（标题之下的内容比标题深一级）", cell=where, found=depth)
            continue
        del stack[depth:]
        target = stack[-1]
        if heading and text:
            target.append({"heading": heading, "text": text})
        elif heading:
            body: list[Any] = []
            target.append({"heading": heading, "body": body})
            stack.append(body)
        else:
            target.append(text)
    for key, _ in narrative_sections(fmt):
        if key in found:
            result.data[key] = found[key]
        elif key != "preamble":
            result.data[key] = []


def _untrusted_totals(result: Reading, formulas: set[str], fmt: Format) -> None:
    """A formula total counts as absent (computed from the data cells); a formula in a data cell is an error."""
    targets = rules.sum_targets(fmt)
    kept = []
    for problem in result.problems:
        cell = problem.details.get("cell") if problem.details else None
        if problem.rule == "extract.blank_cell" and cell in formulas:
            key = ".".join(map(str, problem.path))
            if key in targets:
                _drop(result.data, key)
                continue
            kept.append(Problem(problem.path, "extract.formula", f"{cell}: 含有公式，请直接填写数值（公式结果不被采用）", "error",
                                details={"cell": cell}))
            _drop(result.data, key)
            continue
        kept.append(problem)
    result.problems[:] = kept


def _drop(data: dict[str, Any], key: str) -> None:
    node: Any = data
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)


def _ordered(data: dict[str, Any], fmt: Format) -> dict[str, Any]:
    """Keys in the data model's order, as every reader gives them."""
    order = ["format", "organ", "year", "title", "date", "preamble"] + [s.key for s in fmt.sections]
    return {k: data[k] for k in order if k in data}


def read_workbook(source: DocxSource, name: str | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Read a workbook (ours, or any in the national layout) into report data.

    ``name`` names the file in messages (default: the path). Returns ``(data, problems)`` like :func:`docxreport.extract`: totals computed where the workbook has a
    formula, as written where it has a number; problems name the sheet and cell (``表三!E12``). Raises
    :class:`~docxreport.errors.NotAReportError` for a file that is no workbook or holds no report.
    """
    fmt = load_format()
    name = name or source_name(source, "<工作簿>")
    sheets = _Sheets(_open(source, name), fmt)
    if sheets.info is None and sheets.text is None and not sheets.tables:
        raise NotAReportError(f"{name}: 不是年度报告工作簿：没有找到“基本信息”“正文”工作表，也没有找到统计表")
    result = Reading(fmt)
    result.data["format"] = fmt.id
    if sheets.info is not None:
        _read_info(sheets.info, fmt, result)
    else:
        result.error(("organ",), "missing_sheet", "没有找到“基本信息”工作表（机关名称、报告年度）")
    if sheets.text is not None:
        _read_text(sheets.text, fmt, result)
    else:
        result.error(("overview",), "missing_sheet", "没有找到“正文”工作表")
    for ws in sheets.other:
        result.warn((), "unknown_sheet", f"工作表“{ws.title}”不是国家格式中的统计表，未读取")
    read_tables([found for _, found, _ in sheets.tables], result)
    formulas = {_address(ws, r, c) for ws, _, cells in sheets.tables for r, c in cells}
    _untrusted_totals(result, formulas, fmt)
    data = rules.complete(_ordered(result.data, fmt), fmt)
    return _ordered(data, fmt), result.problems


