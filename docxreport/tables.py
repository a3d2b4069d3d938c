"""Tables as grids of cells → report data, by their labels: the one table reader of every input format.

Each reader (.docx, PDF, web page, workbook) turns its tables into :class:`FoundTable` grids of :class:`Cell`
(position, spans and text); :func:`read_tables` finds which national table each is by its labels, reads each
row by its label rather than its position, and fills the report data. Variants met in published reports (a
missing 其他 column, the 2019 single-row （六）其他处理, ``1、`` for ``1.``, label typos, notes inside number cells,
note rows, split tables, a 2019 table 二) are read as far as they map to the 2021 data model, each reported as a
warning saying where it was met. Blank cells read as 0 with a warning, never silently.

The inverse, for writers: :func:`cell_text` gives the printed text of a format cell for report data.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .format import CellSpec, Format, Table
from .problems import Problem
from .report import rules

_DECIMAL = re.compile(r"^\d+(?:\.\d+)?")  # anchored: linear
_SPACES = re.compile(r"\s+")
_UNITS = ("件", "万元")
#: the longest number a cell may hold (digits and point): far beyond any count or fee the schema allows, and
#: below Python's int-string conversion limit
NUMBER_MAX_CHARS = 40
TABLE_NAMES = {"table2": "表二", "table3": "表三", "table4": "表四"}


@dataclass(frozen=True)
class Cell:
    """A cell read back from a table: grid position, spans and text (paragraphs joined by newlines)."""

    row: int
    col: int
    rowspan: int
    colspan: int
    text: str


@dataclass
class FoundTable:
    """A table as a reader found it: its cells on a grid and how messages name where it is.

    ``index`` counts the tables of the input from 1; ``address`` names a cell for messages (default: the
    table's index, row and column, e.g. ``（文档第 3 个表格）第 5 行第 2 列``; a workbook names ``表三!E12``).
    """

    index: int
    cells: list[Cell]
    address: Callable[[Cell], str] | None = None

    def where(self, name: str, cell: Cell) -> str:
        if self.address is not None:
            return self.address(cell)
        return f"{name}（文档第 {self.index} 个表格）第 {cell.row + 1} 行第 {cell.col + 1} 列"


@dataclass
class Reading:
    """Report data being read from a document, and what was met on the way."""

    fmt: Format
    data: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def warn(self, path: Sequence[str | int], rule: str, message: str, **details: Any) -> None:
        self.problems.append(Problem(tuple(path), f"extract.{rule}", message, "warning", details=details))

    def error(self, path: Sequence[str | int], rule: str, message: str, **details: Any) -> None:
        self.problems.append(Problem(tuple(path), f"extract.{rule}", message, "error", details=details))


def squash(text: str) -> str:
    return _SPACES.sub("", text)


def split_number(text: str) -> tuple[str, str | None] | None:
    """``(number, note)`` of a cell such as ``12``, `` 3.5 万元 ``, ``7（含转办2件）``; None when the cell is
    not a number. Read without backtracking (no regular expression over the whole cell): linear in the text."""
    text = text.strip()
    match = _DECIMAL.match(text)
    if not match:
        return None
    number, rest = match.group(), text[match.end():].lstrip()
    for unit in _UNITS:
        if rest.startswith(unit):
            rest = rest[len(unit):].lstrip()
            break
    if not rest:
        return number, None
    if rest[0] in "（(" and rest[-1] in "）)":
        return number, rest[1:-1]
    return None


_DUN = re.compile(r"^(\d+)、")  # ``1、`` numbering, written for ``1.`` in many published reports


def _dun_numbered(text: str) -> bool:
    """True when a label or heading is numbered ``1、`` rather than ``1.``."""
    return bool(_DUN.match(squash(text)))


def normal_label(label: str) -> str:
    """A label as compared: no spaces, full-width parentheses, ``1.`` for ``1、``, straight quotes curled."""
    text = squash(label).replace("(", "（").replace(")", "）").replace("．", ".")
    text = _DUN.sub(r"\1.", text)
    return text.replace('"三安全一稳定"', "“三安全一稳定”")



@functools.cache
def _markers(fmt: Format) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each table's markers, normalised once per format (a document may hold thousands of tables)."""
    found = [(str(t), tuple(normal_label(m) for m in ms)) for t, ms in fmt.variants["table_markers"].items()]
    return (*found, ("table2", tuple(normal_label(m) for m in fmt.variants["table2_2019"]["markers"])))


def classify(table: FoundTable, fmt: Format) -> str | None:
    joined = "|".join({normal_label(c.text) for c in table.cells})
    for table_id, markers in _markers(fmt):
        if any(m in joined for m in markers):
            return table_id
    return None


def _slots(cells: list[Cell]) -> list[list[Cell]]:
    """Each grid row as its distinct cells, left to right (vertically merged cells included)."""
    rows: dict[int, list[Cell]] = {}
    for cell in cells:
        for r in range(cell.row, cell.row + cell.rowspan):
            rows.setdefault(r, []).append(cell)
    return [sorted(rows[r], key=lambda c: c.col) for r in sorted(rows)]


def _is_value(text: str) -> bool:
    return not text.strip() or split_number(text.replace(",", "").replace("，", "")) is not None


@dataclass(frozen=True)
class _RowSpec:
    label: str  # the innermost label, normalised
    parent: str  # the label around it (a group such as （六）其他处理), normalised
    keys: tuple[str, ...]
    fee: bool


def _row_specs(table: Table) -> list[_RowSpec]:
    specs = []
    for r, line in enumerate(table.grid):
        data = [c for c in dict.fromkeys(line) if c.is_data and c.row == r]
        if not data or data[0].col == 0:
            continue
        label = line[data[0].col - 1]
        parent = line[label.col - 1] if label.col > 0 else label
        keys = tuple(c.key for c in data if c.key)
        specs.append(_RowSpec(normal_label(label.text), normal_label(parent.text), keys, any(k.endswith("fees") for k in keys)))
    return specs


def row_widths(fmt: Format, table_id: str) -> dict[str, int]:
    """How many data cells each row of a national table holds, by its innermost label (normalised, label
    variants included): for readers that rebuild a grid from text positions and must tell a blank cell from
    a merged one."""
    widths = {s.label: len(s.keys) for s in _row_specs(fmt.tables[table_id])}
    for variant, label in fmt.variants["labels"].items():
        if normal_label(label) in widths:
            widths[normal_label(variant)] = widths[normal_label(label)]
    return widths


def row_labels(fmt: Format, table_id: str) -> dict[str, tuple[str, ...]]:
    """Every label a row of a national table stands under, outermost first, by its innermost label
    (normalised): ``1.属于国家秘密`` → ``三、本年度办理结果``, ``（三）不予公开``, ``1.属于国家秘密``. For readers
    that rebuild merged label cells from text positions."""
    out: dict[str, tuple[str, ...]] = {}
    table = fmt.tables[table_id]
    for r, line in enumerate(table.grid):
        data = [c for c in dict.fromkeys(line) if c.is_data and c.row == r]
        if data and data[0].col > 0:
            labels = tuple(normal_label(c.text) for c in dict.fromkeys(line[: data[0].col]))
            out[labels[-1]] = labels
    return out


#: Cells that print "nothing here" with a mark (each read as 0 with a warning of its own): hyphens, dashes,
#: a slash, in their half- and full-width forms, alone or doubled.
_DASHES = frozenset({"-", "--", "－", "－－", "–", "—", "——", "―", "/", "／"})
#: Cells that say "none" in words.
_NONE_WORDS = frozenset({"无", "没有", "暂无"})


def _parse_value(text: str, path: tuple[str, ...], where: str, fee: bool, result: Reading) -> int | Decimal | None:
    clean = text.replace(",", "").replace("，", "").strip()
    if not clean:
        result.warn(path, "blank_cell", f"{where}为空白，按 0 读取（请核实）", cell=where)
        return 0
    if clean in _DASHES:  # 没有此项 as printed: kept apart from a blank cell and from 无 by its rule and wording
        result.warn(path, "dash_cell", f"{where}为“{clean}”，按 0 读取（请核实）", cell=where, found=clean)
        return 0
    if clean in _NONE_WORDS:
        result.warn(path, "none_cell", f"{where}写作“{clean}”，按 0 读取（请核实）", cell=where, found=clean)
        return 0
    match = split_number(clean)
    if not match:
        result.error(path, "not_a_number", f"{where}“{_excerpt(text)}”不是数字", cell=where, found=_excerpt(text))
        return None
    number, note = match
    if len(number) > NUMBER_MAX_CHARS:
        result.error(path, "number_too_long", f"{where}的数值过长（{len(number)} 位），不是有效的件数或费用", cell=where, found=_excerpt(text))
        return None
    if note:
        result.warn(path, "cell_note", f"{where}含有说明“{note}”：数值按 {number} 读取，说明保留在此", cell=where, note=note, found=text)
    try:
        value = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None
    if fee:
        return value
    if value != value.to_integral_value():
        result.error(path, "not_a_count", f"{where}“{text}”不是整数件数", cell=where, found=text)
        return None
    return int(value)


def _excerpt(text: str, limit: int = 60) -> str:
    """A cell's text as quoted in a message: at most ``limit`` characters."""
    return text if len(text) <= limit else text[:limit] + "…"


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _read_label_rows(table_id: str, pieces: list[FoundTable], fmt: Format, result: Reading) -> None:
    """Tables 二 and 三: each row found by its label; values in order after the label."""
    spec_table = fmt.tables[table_id]
    specs = _row_specs(spec_table)
    by_label = {s.label: s for s in specs}
    aliases = {normal_label(k): normal_label(v) for k, v in fmt.variants["labels"].items()}
    groups = {normal_label(k): v for k, v in fmt.variants["single_row_groups_2019"].items()}
    name = TABLE_NAMES[table_id]
    t2019 = fmt.variants["table2_2019"]
    is_2019 = table_id == "table2" and any(
        normal_label(m) in {normal_label(c.text) for p in pieces for c in p.cells} for m in t2019["markers"][:2] + t2019["markers"][3:5]
    )
    if is_2019:
        result.warn((section_key(fmt, table_id),), "format_2019", f"{name}为 2019 年格式，只读取能对应 2021 年格式的项目")
    width = max((len(s.keys) for s in specs), default=0)
    rows: list[tuple[FoundTable, Cell, list[Cell]]] = []
    label_set = set(by_label) | set(aliases) | set(groups)
    for piece in pieces:
        for line in _slots(piece.cells):
            first_value = next((i for i, c in enumerate(line) if _is_value(c.text) and i > 0), None)
            # a row of the format whose first values are not numbers (``无``, ``0.5万元（暂估）``, a note): its
            # values start after its label all the same, so that each such cell is named
            known = [i for i, c in enumerate(line[:-1]) if normal_label(c.text) in label_set]
            if known and (first_value is None or known[-1] + 1 < first_value):
                first_value = known[-1] + 1
            if first_value is None:
                if len(line) == 1 and squash(line[0].text).startswith(("注", "说明")):
                    result.warn((section_key(fmt, table_id),), "note_row", f"{name}下方有注释行：“{line[0].text.strip()}”", note=line[0].text)
                continue
            values = line[first_value:]
            if all(not c.text.strip() for c in values) and not normal_label(line[first_value - 1].text) in by_label | aliases | groups:
                continue  # a header row with empty cells (simplified web layouts)
            rows.append((piece, line[first_value - 1], values))
    seven = table_id == "table3" and any(len(v) == width for _, _, v in rows)
    missing: str | None = None  # the applicant column a 6-column table 三 lacks
    if table_id == "table3" and not seven and any(len(v) == width - 1 for _, _, v in rows):
        missing = _missing_column(pieces, fmt)
        label = fmt.names()[f"requests.*.{missing}"]
        result.warn(("requests",), "missing_column", f"{name}没有“{label}”申请人列（只有 {width - 1} 个数据列），该列按 0 读取", column=missing)
    seen: set[str] = set()
    for piece, label_cell, values in rows:
        label = normal_label(label_cell.text)
        where_label = piece.where(name, label_cell)
        if is_2019:
            mapping = t2019["rows"].get(label)
            if mapping:
                cell = values[mapping["value"]] if len(values) > mapping["value"] else None
                if cell is not None:
                    value = _parse_value(cell.text, tuple(mapping["key"].split(".")), piece.where(name, cell), False, result)
                    if value is not None:
                        _set(result.data, mapping["key"], value)
                        seen.add(mapping["key"])
            elif label in t2019["unmapped"]:
                result.warn((section_key(fmt, table_id),), "format_2019_unmapped", f"{where_label}“{label_cell.text.strip()}”：{t2019['unmapped'][label]}，未读取")
            continue
        spec = by_label.get(label) or by_label.get(aliases.get(label, ""))
        if spec is None and label in groups:
            _read_group_row(groups[label], label_cell, values, piece, name, specs, result, missing, seen)
            continue
        if spec is None:
            close = difflib.get_close_matches(label, [s for s in by_label if not set(by_label[s].keys) & seen], n=1, cutoff=0.75)
            if not close:
                if any(c.text.strip() for c in values):
                    result.warn((section_key(fmt, table_id),), "unknown_row", f"{where_label}“{label_cell.text.strip()}”不是国家格式中的项目，未读取")
                continue
            spec = by_label[close[0]]
        if label != spec.label:
            result.warn(tuple(spec.keys[0].rsplit(".", 1)[0].split(".")), "label_variant", f"{where_label}“{label_cell.text.strip()}”与国家格式“{spec.label}”不同，按后者读取", found=label_cell.text)
        elif _dun_numbered(label_cell.text):  # equal once normalised: only the numbering differs
            result.warn(tuple(spec.keys[0].rsplit(".", 1)[0].split(".")), "numbering", f"{where_label}“{label_cell.text.strip()}”使用“1、”式序号，按“{spec.label}”读取", found=label_cell.text)
        _read_values(spec, values, piece, name, result, missing, seen)


def section_key(fmt: Format, table_id: str) -> str:
    return next(s.key for s in fmt.sections if s.content == table_id)


def _missing_column(pieces: list[FoundTable], fmt: Format) -> str:
    """Which applicant column a table 三 with one data column too few lacks, judged by its headers
    (其他 when the headers do not say: the variant met in published reports)."""
    texts = {normal_label(c.text) for piece in pieces for c in piece.cells}
    names = fmt.names()
    absent = [c for c in fmt.lists["applicant_columns"] if normal_label(names[f"requests.*.{c}"]) not in texts]
    return absent[0] if len(absent) == 1 else "other_org"


def _read_values(spec: _RowSpec, values: list[Cell], piece: FoundTable, name: str, result: Reading, missing: str | None, seen: set[str]) -> None:
    keys = list(spec.keys)
    if missing and len(values) == len(keys) - 1:
        other = next(k for k in keys if k.endswith(f".{missing}"))
        _set(result.data, other, 0)
        seen.add(other)
        keys.remove(other)
    if len(values) != len(keys):
        result.error(tuple(keys[0].rsplit(".", 1)[0].split(".")), "column_count", f"{name}“{spec.label}”一行有 {len(values)} 个数据，国家格式为 {len(keys)} 个", found=len(values))
        return
    for key, cell in zip(keys, values):
        value = _parse_value(cell.text, tuple(key.split(".")), piece.where(name, cell), spec.fee, result)
        if value is not None:
            _set(result.data, key, value)
            seen.add(key)


def _read_group_row(target: str, label_cell: Cell, values: list[Cell], piece: FoundTable, name: str, specs: list[_RowSpec],
                    result: Reading, missing: str | None, seen: set[str]) -> None:
    """A 2019-style single row (（六）其他处理) in a 2021 table: its numbers go to ``target``, the group's
    other rows are 0."""
    group = [s for s in specs if s.keys[0].startswith(target.rsplit(".", 1)[0] + ".")]
    result.warn(tuple(target.rsplit(".", 1)[0].split(".")), "single_row_2019",
                f"{piece.where(name, label_cell)}“{label_cell.text.strip()}”是 2019 年格式的单行，数值计入“3.其他”，其余两项按 0 读取")
    for spec in group:
        if spec.keys[0].rsplit(".", 1)[0] == target:
            _read_values(spec, values, piece, name, result, missing, seen)
        else:
            for key in spec.keys:
                _set(result.data, key, 0)
                seen.add(key)


def _read_table4(pieces: list[FoundTable], fmt: Format, result: Reading) -> None:
    """Table 四: no row labels; the row of fifteen numbers under the header, read in order."""
    keys = [c.key for c in fmt.tables["table4"].data_cells if c.key]
    found = False
    for piece in pieces:
        for line in _slots(piece.cells):
            if len(line) == 1 and squash(line[0].text).startswith(("注", "说明")):
                result.warn(("appeals",), "note_row", f"{piece.where('表四', line[0])}是注释行：“{line[0].text.strip()}”", note=line[0].text)
                continue
            if len(line) >= len(keys) and all(_is_value(c.text) for c in line) and any(c.text.strip() for c in line):
                texts = " ".join(c.text.strip() for c in line if c.text.strip())
                if found:  # a second row of numbers: which one is the table's cannot be told
                    result.warn(("appeals",), "extra_row", f"{piece.where('表四', line[0])}还有一行数字“{texts}”，"
                                "只读取了表四的第一行数字，这一行未读取（请核实）", found=texts)
                    continue
                found = True  # the first such row; rows after it are still looked at for notes and numbers
                extra = [c for c in line[len(keys):] if c.text.strip()]
                if extra:  # more numbers than columns: read in order, they would land one column off
                    result.error(("appeals",), "column_count", f"{piece.where('表四', line[0])}一行有 {len(keys) + len(extra)} 个数据，"
                                 f"国家格式为 {len(keys)} 个：“{texts}”，无法确定各数字所属的列，未读取", found=len(keys) + len(extra))
                    continue
                for key, cell in zip(keys, line[: len(keys)]):
                    value = _parse_value(cell.text, tuple(key.split(".")), piece.where("表四", cell), False, result)
                    if value is not None:
                        _set(result.data, key, value)
    if not found:
        result.error(("appeals",), "missing_row", "表四中没有找到 15 个数据的一行")


def read_tables(tables: Sequence[FoundTable], reading: Reading) -> None:
    """Find the national tables among ``tables`` by their labels and read them into ``reading.data``.

    Pieces of one table (a table split in two, a table continued on the next page that a reader could not
    join) are read together; a table that is none of the format's is reported and skipped, and a national
    table that is missing is an error.
    """
    fmt = reading.fmt
    by_table: dict[str, list[FoundTable]] = {}
    for t in tables:
        table_id = classify(t, fmt)
        if table_id:
            by_table.setdefault(table_id, []).append(t)
        else:
            reading.warn((), "unknown_table", f"文档第 {t.index} 个表格不是国家格式中的统计表，未读取")
    for table_id in ("table2", "table3"):
        if table_id in by_table:
            _read_label_rows(table_id, by_table[table_id], fmt, reading)
    if "table4" in by_table:
        _read_table4(by_table["table4"], fmt, reading)
    for table_id, name in TABLE_NAMES.items():
        if table_id not in by_table:
            reading.error((section_key(fmt, table_id),), "missing_table", f"没有找到{name}")


# --------------------------------------------------------------------------- writing: the inverse


def format_fee(value: Any) -> str:
    """A fee as written, without trailing zeros: ``5949.088667``, ``12.5``, ``0``."""
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    text = format(exact.normalize(), "f")
    return text if text != "-0" else "0"


def value_text(value: Any) -> str:
    """A table value as printed: counts as they are, fees without trailing zeros, absent as empty."""
    if value is None:
        return ""
    if isinstance(value, (Decimal, float)):
        return format_fee(value)
    return str(value)


def cell_text(cell: CellSpec, data: Mapping[str, Any]) -> str:
    """The printed text of a format cell: a label's own text, or a data cell's value in ``data`` (complete
    report data: see :func:`docxreport.report.rules.complete`)."""
    if not cell.is_data:
        return cell.text
    return value_text(rules.get_path(data, str(cell.key)))


def table_texts(table: Table, data: Mapping[str, Any]) -> dict[CellSpec, str]:
    """Every cell of ``table`` with its printed text, for writers that lay the grid out themselves."""
    return {cell: cell_text(cell, data) for cell in table.cells}
