"""``extract`` on reports docxreport did not make: documents built here with python-docx directly.

No docxtpl and no ``docxreport.render``: plain paragraphs without heading styles (title lines, ``一、总体情况``,
run-in ``（一）主动公开。……``, ``1.…``/``1、…``), tables made with ``doc.add_table`` and ``cell.merge`` with
other widths, autofit and header words broken over lines. :func:`foreign_report` builds a whole report from
a data dict (``examples/county-bureau-2024.json``), with one switch per variant met in published reports
(``shared/reference/format-2021.md``, "What real published reports look like"); each test asserts the numbers
read and the warnings given, with their rule, JSON path and where in the document.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.enum.text import WD_BREAK
from docx.shared import Twips

import docxreport
from docxreport.errors import NotAReportError
from docxreport.docx.reader import extract, normalise
from docxreport.problems import Problem

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "reference-format-2021.json").read_text(encoding="utf-8"))
LAYOUT = {t["id"]: t for t in REFERENCE["tables"]}
SOURCE = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
COLUMNS = LAYOUT["table3"]["data_column_keys"]  # natural … other_org, total
NUMERALS = "一二三四五六七八九十"
SIX_GROUP = "requests.outcomes.other_handling"
SIX_ROWS = ("no_correction", "fee_unpaid", "other")


# --------------------------------------------------------------------------- data helpers


def source() -> dict[str, Any]:
    return copy.deepcopy(SOURCE)


def get(data: Mapping[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


def put(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[leaf] = value


def number_text(value: Any) -> str:
    return str(value)  # Decimal("12.3456") → "12.3456", as a person types it


# --------------------------------------------------------------------------- tables as grids


class Cell:
    """One cell of a foreign table; merged cells are the same object in several grid places."""

    def __init__(self, text: str = "", key: str | None = None) -> None:
        self.text = text
        self.key = key


Grid = list[list[Cell]]


def grid_from_reference(table_id: str) -> Grid:
    """The reference layout (HTML-style rows of starting cells) as a full grid of cell objects."""
    spec = LAYOUT[table_id]
    rows, cols = spec["grid_rows"], spec["grid_columns"]
    grid: list[list[Cell | None]] = [[None] * cols for _ in range(rows)]
    for r, line in enumerate(spec["rows"]):
        c = 0
        for item in line:
            while grid[r][c] is not None:
                c += 1
            cell = Cell(item["text"], item.get("key"))
            for rr in range(r, r + item["rowspan"]):
                for cc in range(c, c + item["colspan"]):
                    grid[rr][cc] = cell
            c += item["colspan"]
    assert all(all(c is not None for c in row) for row in grid)
    return grid  # type: ignore[return-value]


def grid_from_rows(rows: Sequence[Sequence[tuple[str, int]]]) -> Grid:
    """A grid of single-row cells given as ``(text, colspan)`` per row."""
    grid: Grid = []
    for line in rows:
        row: list[Cell] = []
        for text, span in line:
            cell = Cell(text)
            row.extend([cell] * span)
        grid.append(row)
    return grid


def copy_rows(grid: Grid, rows: Iterable[int]) -> Grid:
    """Some rows of a grid as a new table: cells cut by the slice become cells of their own."""
    clones: dict[int, Cell] = {}
    out = []
    for r in rows:
        out.append([clones.setdefault(id(c), Cell(c.text, c.key)) for c in grid[r]])
    return out


def drop_column(grid: Grid, col: int) -> Grid:
    return [row[:col] + row[col + 1:] for row in grid]


def add_table(
    doc: Any, grid: Grid, values: Callable[[Cell], str], widths: Sequence[int] | None = None, autofit: bool = False
) -> Any:
    """``doc.add_table`` + ``cell.merge``: each distinct cell object merged over its rectangle."""
    rows, cols = len(grid), len(grid[0])
    table = doc.add_table(rows=rows, cols=cols)
    table.style = "Table Grid"
    table.autofit = autofit
    if widths:
        for row in table.rows:
            for c, cell in enumerate(row.cells):
                cell.width = Twips(widths[c])
    done: set[int] = set()
    for r in range(rows):
        for c in range(cols):
            cell = grid[r][c]
            if id(cell) in done:
                continue
            done.add(id(cell))
            r2 = max(i for i in range(rows) if grid[i][c] is cell)
            c2 = max(j for j in range(cols) if grid[r][j] is cell)
            rectangle = all(grid[i][j] is cell for i in range(r, r2 + 1) for j in range(c, c2 + 1))
            assert rectangle, "a merged cell must be a rectangle"
            target = table.cell(r, c)
            if (r2, c2) != (r, c):
                target = target.merge(table.cell(r2, c2))
            write(target, values(cell))
    return table


def write(cell: Any, text: str) -> None:
    """Cell text; lines after the first as paragraphs of their own (header words broken over lines)."""
    first, *more = text.split("\n")
    cell.paragraphs[0].text = first
    for line in more:
        cell.add_paragraph(line)


def break_words(text: str) -> str:
    """Header words broken over lines as web editors and narrow columns leave them: 商业\\n企业."""
    if len(text) in (4, 6) and not text.startswith(("第", "信息")):
        half = len(text) // 2
        return text[:half] + "\n" + text[half:]
    return text


# --------------------------------------------------------------------------- the foreign report


@dataclass
class Variants:
    """The switches of :func:`foreign_report`; the defaults make a correct report laid out differently."""

    no_other_column: bool = False  # table 三 without the 其他 applicant column (6 data columns)
    dropped_column: str = "other_org"  # which applicant column no_other_column drops
    single_row_six: bool = False  # （六）其他处理 as one 2019-style row, label colspan 2
    blank_columns: tuple[str, ...] = ()  # applicant columns of table 三 left empty (e.g. "business")
    dun_numbering: bool = False  # "1、" for "1." in table 三 （六）'s sub-items and in the narrative
    label_typos: bool = False  # 2.其他法律行政止公开, 规范性文件, 5.属于三类内部事物信息
    cell_note: str | None = None  # a note after normative_documents.in_force in table 二
    table4_note: bool = False  # a merged note row under table 四
    headings: Mapping[str, str] | None = None  # section number → heading text printed
    table2_2019: bool = False  # the whole 2019-format table 二
    table2_split: bool = False  # table 二 as four small tables
    table3_split: bool = False  # table 三 as two tables, header repeated
    stop: str = "。"  # after run-in headings: "。", "：" or ":"
    signature: bool = True
    table4: Mapping[str, int] | None = None  # table 四 cells printed instead of the data's


def foreign_report(data: Mapping[str, Any], v: Variants | None = None) -> bytes:
    """A complete report as another office's tool would make it, from report ``data``."""
    v = v or Variants()
    doc = Document()
    for line in (data["organ"], f"{data['year']}年政府信息公开工作年度报告"):
        p = doc.add_paragraph()
        p.alignment = 1
        p.add_run(line).bold = True
    for text in data.get("preamble", []):
        doc.add_paragraph(text)
    headings = {**dict(zip(NUMERALS, REFERENCE["section_headings_2021"])), **(v.headings or {})}
    headings = {n: (h if h.startswith(n) else f"{n}、{h}") for n, h in headings.items()}

    doc.add_paragraph(headings["一"])
    narrative(doc, data["overview"], 2, v)
    doc.add_paragraph(headings["二"])
    if v.table2_2019:
        table2_2019(doc, data)
    else:
        table2(doc, data, v)
    doc.add_paragraph(headings["三"])
    table3(doc, data, v)
    doc.add_paragraph(headings["四"])
    table4(doc, data, v)
    doc.add_paragraph(headings["五"])
    narrative(doc, data["problems"], 2, v)
    doc.add_paragraph(headings["六"])
    narrative(doc, data["other"], 2, v)
    if v.signature:
        doc.add_paragraph(data["organ"]).alignment = 2
        year, month, day = (int(x) for x in data["date"].split("-"))
        doc.add_paragraph(f"{year}年{month}月{day}日").alignment = 2
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def numbering(level: int, index: int, dun: bool) -> str:
    if level == 2:
        return f"（{NUMERALS[index]}）"
    if level == 3:
        return f"{index + 1}{'、' if dun else '.'}"
    return f"（{index + 1}）"


def narrative(doc: Any, blocks: Sequence[Any], level: int, v: Variants) -> None:
    """Blocks as plain paragraphs: run-in headings in one paragraph, other headings on their own line."""
    index = 0
    for block in blocks:
        if isinstance(block, str):
            doc.add_paragraph(block)
            continue
        number = numbering(level, index, v.dun_numbering)
        index += 1
        if "text" in block:
            heading = block["heading"]
            stop = "" if heading.endswith(("：", ":")) else v.stop
            doc.add_paragraph(f"{number}{heading}{stop}{block['text']}")
        else:
            doc.add_paragraph(f"{number}{block['heading']}")
            narrative(doc, block["body"], level + 1, v)


def table2(doc: Any, data: Mapping[str, Any], v: Variants) -> None:
    grid = grid_from_reference("table2")
    for row in grid:
        for cell in row:
            if v.label_typos and cell.text == "行政规范性文件":
                cell.text = "规范性文件"
            if cell.text == "本年收费金额（单位：万元）":
                cell.text = "本年收费金额\n（单位：万元）"

    def value(cell: Cell) -> str:
        if not cell.key:
            return cell.text
        text = number_text(get(data, cell.key))
        if v.cell_note and cell.key == "proactive.normative_documents.in_force":
            text += v.cell_note
        return text

    widths = [2600, 2300, 2300, 2300]
    if v.table2_split:
        for part in ((0, 1, 2, 3), (4, 5, 6), (7, 8, 9, 10), (11, 12, 13)):
            add_table(doc, copy_rows(grid, part), value, widths)
            doc.add_paragraph("")
    else:
        add_table(doc, grid, value, widths)


def table2_2019(doc: Any, data: Mapping[str, Any]) -> None:
    """The 2019 trial format's table 二 (国办公开办函〔2019〕60号), filled with the data where it maps."""
    p = data["proactive"]
    rows = [
        [("第二十条第（一）项", 4)],
        [("信息内容", 1), ("本年新制作数量", 1), ("本年新公开数量", 1), ("对外公开总数量", 1)],
        [("规章", 1), ("0", 1), ("0", 1), ("0", 1)],
        [("规范性文件", 1), ("3", 1), ("3", 1), ("12", 1)],
        [("第二十条第（五）项", 4)],
        [("信息内容", 1), ("上一年项目数量", 1), ("本年增/减", 1), ("处理决定数量", 1)],
        [("行政许可", 1), ("35", 1), ("+2", 1), (str(p["licensing"]), 1)],
        [("其他对外管理服务事项", 1), ("6", 1), ("0", 1), ("41", 1)],
        [("第二十条第（六）项", 4)],
        [("信息内容", 1), ("上一年项目数量", 1), ("本年增/减", 1), ("处理决定数量", 1)],
        [("行政处罚", 1), ("12", 1), ("-1", 1), (str(p["penalties"]), 1)],
        [("行政强制", 1), ("3", 1), ("0", 1), (str(p["coercive_measures"]), 1)],
        [("第二十条第（八）项", 4)],
        [("信息内容", 1), ("上一年项目数量", 1), ("本年增/减", 2)],
        [("行政事业性收费", 1), ("2", 1), ("0", 2)],
        [("第二十条第（九）项", 4)],
        [("信息内容", 1), ("采购项目数量", 1), ("采购总金额", 2)],
        [("政府集中采购", 1), ("5", 1), ("86.5", 2)],
    ]
    add_table(doc, grid_from_rows(rows), lambda c: c.text, [3000, 1900, 1900, 1900])


SPLIT_AFTER = 14  # table 三 continues on the next page from （四）无法提供


def table3(doc: Any, data: Mapping[str, Any], v: Variants) -> None:
    grid = grid_from_reference("table3")
    for row in grid:
        for cell in row:
            if cell.key is None and len(cell.text) <= 6:
                cell.text = break_words(cell.text)
            if v.label_typos and cell.text == "2.其他法律行政法规禁止公开":
                cell.text = "2.其他法律行政止公开"
            if v.label_typos and cell.text == "5.属于三类内部事务信息":
                cell.text = "5.属于三类内部事物信息"
    if v.dun_numbering:
        for r in (23, 24, 25):
            grid[r][2].text = re.sub(r"^(\d+)\.", r"\1、", grid[r][2].text)
    if v.single_row_six:
        sums = {col: sum(get(data, f"{SIX_GROUP}.{row}.{col}") for row in SIX_ROWS) for col in COLUMNS}
        label = Cell("（六）其他处理")
        grid[23][1] = grid[23][2] = label
        for c, col in enumerate(COLUMNS):
            grid[23][3 + c] = Cell(str(sums[col]))
        del grid[24:26]
    blank = {f".{col}" for col in v.blank_columns}

    def value(cell: Cell) -> str:
        if not cell.key:
            return cell.text
        if any(cell.key.endswith(b) for b in blank):
            return ""
        return number_text(get(data, cell.key))

    widths = [900, 1100, 2700, 620, 620, 620, 620, 620, 620, 620]
    if v.no_other_column:
        other = 3 + COLUMNS.index(v.dropped_column)
        grid = drop_column(grid, other)
        widths = widths[:other] + widths[other + 1:]
    if v.table3_split:
        cut = SPLIT_AFTER + 1
        first = copy_rows(grid, range(cut))
        second = copy_rows(grid, [0, 1, 2, *range(cut, len(grid))])
        add_table(doc, first, value, widths, autofit=True)
        page_break = doc.add_paragraph()
        page_break.add_run().add_break(WD_BREAK.PAGE)
        add_table(doc, second, value, widths, autofit=True)
    else:
        add_table(doc, grid, value, widths, autofit=True)


def table4(doc: Any, data: Mapping[str, Any], v: Variants) -> None:
    grid = grid_from_reference("table4")
    for row in grid:
        for cell in row:
            if cell.key is None and cell.text.startswith(("结果", "其他", "尚未")):
                cell.text = break_words(cell.text)
    if v.table4_note:
        note = Cell("注：行政复议、行政诉讼数量含上年度结转数量。")
        grid.append([note] * len(grid[0]))

    def value(cell: Cell) -> str:
        if not cell.key:
            return cell.text
        if v.table4 and cell.key in v.table4:
            return str(v.table4[cell.key])
        return number_text(get(data, cell.key))

    add_table(doc, grid, value, [560] * 15)


# --------------------------------------------------------------------------- assertion helpers


def read(data: Mapping[str, Any] | None = None, **switches: Any) -> tuple[dict[str, Any], list[Problem]]:
    return extract(foreign_report(data or SOURCE, Variants(**switches)))


def with_rule(problems: Iterable[Problem], rule: str) -> list[Problem]:
    return [p for p in problems if p.rule == rule]


def only_warnings(problems: Iterable[Problem]) -> None:
    errors = [str(p) for p in problems if p.severity == "error"]
    assert not errors, errors


def numbers(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: data.get(k) for k in ("proactive", "requests", "appeals")}


def where_re(table: str, row: int, col: int) -> str:
    return rf"{table}（文档第 \d+ 个表格）第 {row} 行第 {col} 列"


# --------------------------------------------------------------------------- a correct foreign report


def test_plain_foreign_report_reads_back_whole_with_no_problems() -> None:
    data, problems = read()
    assert problems == []
    assert data == normalise(SOURCE)


def test_foreign_tables_really_are_foreign() -> None:
    """Guard: the builder makes python-docx tables with its own widths and merges (no template parts)."""
    doc = Document(io.BytesIO(foreign_report(SOURCE)))
    assert len(doc.tables) == 3
    t3 = doc.tables[1]
    assert t3.autofit is True
    assert t3.cell(3, 3).width == Twips(620)  # not docxreport's 685-twip data columns
    assert t3.cell(3, 0).width == Twips(900 + 1100 + 2700)  # python-docx merge: the widths added
    assert "商业\n企业" in [c.text for c in t3.rows[2].cells]
    assert not any(p.style.name.startswith("Heading") for p in doc.paragraphs)
    styles = {p.style.name for p in doc.paragraphs}
    assert styles == {"Normal"}


# --------------------------------------------------------------------------- table 三 variants


def test_no_other_column_reads_other_as_zero_with_one_warning() -> None:
    data, problems = read(no_other_column=True)
    only_warnings(problems)
    assert numbers(data) == numbers(with_other_org_zero(SOURCE))
    [warning] = with_rule(problems, "extract.missing_column")
    assert warning.severity == "warning"
    assert warning.path == ("requests",)
    assert "表三" in warning.message and "其他" in warning.message and "6 个数据列" in warning.message
    assert [p.rule for p in problems] == ["extract.missing_column"]


def with_other_org_zero(data: Mapping[str, Any]) -> dict[str, Any]:
    """The data as a 6-column table 三 shows it: 其他 read as 0 (总计 as printed)."""
    out = copy.deepcopy(dict(data))

    def zero(node: Any) -> None:
        if isinstance(node, dict):
            if "other_org" in node:
                node["other_org"] = 0
            for child in node.values():
                zero(child)

    zero(out["requests"])
    return out


def test_no_other_column_on_data_without_other_applicants_is_exact() -> None:
    """The seed's case: no 其他 column because there are no such applicants; every number read exactly."""
    data_in = source()
    for key in other_org_keys(data_in["requests"], "requests"):
        value = get(data_in, key)
        if value:
            total = key.rsplit(".", 1)[0] + ".total"
            business = key.rsplit(".", 1)[0] + ".business"
            put(data_in, business, get(data_in, business) + value)
            put(data_in, key, 0)
            assert get(data_in, total) == sum(get(data_in, key.rsplit(".", 1)[0] + f".{c}") for c in COLUMNS[:-1])
    assert docxreport.validate(data_in) == []
    data, problems = read(data_in, no_other_column=True)
    assert data["requests"] == data_in["requests"]
    assert [p.rule for p in problems] == ["extract.missing_column"]


def other_org_keys(node: Any, path: str) -> list[str]:
    if not isinstance(node, dict):
        return []
    keys = [f"{path}.other_org"] if "other_org" in node else []
    for k, child in node.items():
        keys += other_org_keys(child, f"{path}.{k}")
    return keys


def test_single_row_other_handling_2019_style() -> None:
    data, problems = read(single_row_six=True)
    only_warnings(problems)
    expected = source()
    sums = {col: sum(get(SOURCE, f"{SIX_GROUP}.{row}.{col}") for row in SIX_ROWS) for col in COLUMNS}
    assert sums["total"] == 2  # the source has numbers in two of the three sub-rows: a real merge
    put(expected, f"{SIX_GROUP}.other", sums)
    for row in SIX_ROWS[:2]:
        put(expected, f"{SIX_GROUP}.{row}", dict.fromkeys(COLUMNS, 0))
    assert data["requests"] == expected["requests"]
    assert data["proactive"] == SOURCE["proactive"] and data["appeals"] == SOURCE["appeals"]
    [warning] = with_rule(problems, "extract.single_row_2019")
    assert warning.path == ("requests", "outcomes", "other_handling")
    assert re.search(where_re("表三", 24, 2), warning.message), warning.message
    assert "（六）其他处理" in warning.message
    assert [p.rule for p in problems] == ["extract.single_row_2019"]


def test_single_row_other_handling_without_other_column_together() -> None:
    data, problems = read(single_row_six=True, no_other_column=True)
    only_warnings(problems)
    assert get(data, f"{SIX_GROUP}.other.total") == 2
    assert get(data, f"{SIX_GROUP}.other.other_org") == 0
    assert get(data, f"{SIX_GROUP}.no_correction") == dict.fromkeys(COLUMNS, 0)
    assert sorted(p.rule for p in problems) == ["extract.missing_column", "extract.single_row_2019"]


def test_blank_column_is_reported_cell_by_cell_never_silently() -> None:
    data, problems = read(blank_columns=("business",))
    only_warnings(problems)
    expected = source()
    for key in [k.replace(".other_org", ".business") for k in other_org_keys(expected["requests"], "requests")]:
        put(expected, key, 0)
    assert data["requests"] == expected["requests"]
    blanks = with_rule(problems, "extract.blank_cell")
    assert len(blanks) == 25  # every data row of table 三: 2 + 21 + （七）总计 + 结转
    assert [p.rule for p in problems] == ["extract.blank_cell"] * 25
    assert all(p.severity == "warning" and p.path[-1] == "business" and p.path[0] == "requests" for p in blanks)
    assert len({p.path for p in blanks}) == 25
    cells = {p.details["cell"] for p in blanks}
    assert len(cells) == 25
    first = next(p for p in blanks if p.path == ("requests", "received", "business"))
    assert re.search(where_re("表三", 4, 5), first.message), first.message
    assert "空白" in first.message and "0" in first.message
    six = next(p for p in blanks if p.path == ("requests", "outcomes", "other_handling", "other", "business"))
    assert re.search(where_re("表三", 26, 5), six.message), six.message


def test_blank_cells_of_a_zero_column_read_the_source_exactly() -> None:
    data, problems = read(blank_columns=("nonprofit",))
    assert data["requests"] == SOURCE["requests"]  # nonprofit is 0 everywhere in the source
    assert len(with_rule(problems, "extract.blank_cell")) == 25
    assert {p.severity for p in problems} == {"warning"}


def test_dun_numbering_in_table3_labels_is_read_with_a_warning() -> None:
    data, problems = read(dun_numbering=True)
    only_warnings(problems)
    assert numbers(data) == numbers(SOURCE)
    table = [p for p in with_rule(problems, "extract.numbering") if p.path[0] == "requests"]
    assert len(table) == 3
    paths = {p.path for p in table}
    assert paths == {("requests", "outcomes", "other_handling", row) for row in SIX_ROWS}
    first = next(p for p in table if p.path[-1] == "no_correction")
    assert re.search(where_re("表三", 24, 3), first.message), first.message
    assert "1、" in first.message


def test_label_typos_are_matched_to_the_nearest_label() -> None:
    data, problems = read(label_typos=True)
    only_warnings(problems)
    assert numbers(data) == numbers(SOURCE)
    variants = {p.path: p for p in with_rule(problems, "extract.label_variant")}
    assert set(variants) == {
        ("requests", "outcomes", "withheld", "prohibited_by_law"),
        ("requests", "outcomes", "withheld", "internal_affairs"),
        ("proactive", "normative_documents"),
    }
    law = variants[("requests", "outcomes", "withheld", "prohibited_by_law")]
    assert "2.其他法律行政止公开" in law.message and "2.其他法律行政法规禁止公开" in law.message
    assert re.search(where_re("表三", 9, 3), law.message), law.message
    assert law.details["found"] == "2.其他法律行政止公开"
    normative = variants[("proactive", "normative_documents")]
    assert "规范性文件" in normative.message and "行政规范性文件" in normative.message
    assert re.search(where_re("表二", 4, 1), normative.message), normative.message
    internal = variants[("requests", "outcomes", "withheld", "internal_affairs")]
    assert "5.属于三类内部事物信息" in internal.message
    assert [p.rule for p in problems] == ["extract.label_variant"] * 3


def test_table3_split_across_a_page_is_read_whole() -> None:
    data, problems = read(table3_split=True)
    assert problems == []
    assert numbers(data) == numbers(SOURCE)
    assert len(Document(io.BytesIO(foreign_report(SOURCE, Variants(table3_split=True)))).tables) == 4


def test_table3_split_with_other_variants_points_at_the_second_piece() -> None:
    data, problems = read(table3_split=True, blank_columns=("nonprofit",), no_other_column=True)
    assert numbers(data) == numbers(with_other_org_zero(SOURCE))
    blanks = with_rule(problems, "extract.blank_cell")
    assert len(blanks) == 25
    carried = next(p for p in blanks if p.path == ("requests", "carried_forward", "nonprofit"))
    # the second piece repeats 3 header rows; 结转 is its last row: 3 + (27 - 14) = 16
    assert re.search(r"表三（文档第 3 个表格）第 16 行第 7 列", carried.message), carried.message
    assert len(with_rule(problems, "extract.missing_column")) == 1


# --------------------------------------------------------------------------- table 二 variants


def test_note_inside_a_number_cell_is_kept_in_the_warning() -> None:
    data, problems = read(cell_note="（其中修订 16 件）")
    only_warnings(problems)
    assert numbers(data) == numbers(SOURCE)
    [note] = with_rule(problems, "extract.cell_note")
    assert note.path == ("proactive", "normative_documents", "in_force")
    assert note.details["note"] == "其中修订 16 件"
    assert "其中修订 16 件" in note.message and "12" in note.message
    assert re.search(where_re("表二", 4, 4), note.message), note.message
    assert [p.rule for p in problems] == ["extract.cell_note"]


def test_note_with_unit_inside_a_number_cell() -> None:
    data_in = source()
    put(data_in, "proactive.normative_documents.in_force", 22)
    data, problems = read(data_in, cell_note="件(含自然失效 9 件)")
    assert get(data, "proactive.normative_documents.in_force") == 22
    [note] = with_rule(problems, "extract.cell_note")
    assert note.details["note"] == "含自然失效 9 件"


def test_table2_split_into_four_small_tables() -> None:
    report = foreign_report(SOURCE, Variants(table2_split=True))
    assert len(Document(io.BytesIO(report)).tables) == 6
    data, problems = extract(report)
    assert problems == []
    assert data["proactive"] == SOURCE["proactive"]
    assert numbers(data) == numbers(SOURCE)


def test_table2_in_the_2019_format() -> None:
    data, problems = read(table2_2019=True)
    assert data["proactive"] == {
        "licensing": SOURCE["proactive"]["licensing"],
        "penalties": SOURCE["proactive"]["penalties"],
        "coercive_measures": SOURCE["proactive"]["coercive_measures"],
    }
    assert data["requests"] == SOURCE["requests"] and data["appeals"] == SOURCE["appeals"]
    [whole] = with_rule(problems, "extract.format_2019")
    assert whole.path == ("proactive",) and "2019" in whole.message and "表二" in whole.message
    unmapped = with_rule(problems, "extract.format_2019_unmapped")
    labels = {label: p for p in unmapped for label in ("规章", "规范性文件", "其他对外管理服务事项", "行政事业性收费", "政府集中采购")
              if f"“{label}”" in p.message}
    assert set(labels) == {"规章", "规范性文件", "其他对外管理服务事项", "行政事业性收费", "政府集中采购"}
    assert len(unmapped) == 5
    assert all(p.path == ("proactive",) and p.severity == "warning" and "未读取" in p.message for p in unmapped)
    assert "本年制发件数" in labels["规章"].message  # says plainly what the 2019 columns do not map to
    assert "本年收费金额" in labels["行政事业性收费"].message
    assert "2021 年格式没有此项" in labels["政府集中采购"].message
    assert re.search(where_re("表二", 3, 1), labels["规章"].message), labels["规章"].message
    assert {p.rule for p in problems} == {"extract.format_2019", "extract.format_2019_unmapped"}


# --------------------------------------------------------------------------- table 四


def test_note_row_under_table4() -> None:
    data, problems = read(table4_note=True)
    only_warnings(problems)
    assert data["appeals"] == SOURCE["appeals"]
    [note] = with_rule(problems, "extract.note_row")
    assert note.path == ("appeals",)
    assert "注：行政复议、行政诉讼数量含上年度结转数量。" in note.message
    assert [p.rule for p in problems] == ["extract.note_row"]


def unbalanced_table4() -> dict[str, int]:
    return {"appeals.review.upheld": 10, "appeals.review.corrected": 1, "appeals.review.other": 0,
            "appeals.review.pending": 0, "appeals.review.total": 0}


def test_unbalanced_table4_is_read_as_printed() -> None:
    data, problems = read(table4=unbalanced_table4())
    assert problems == []
    assert data["appeals"]["review"] == {"upheld": 10, "corrected": 1, "other": 0, "pending": 0, "total": 0}


def test_validate_on_an_extracted_unbalanced_table4_names_the_group_and_numbers() -> None:
    data, _ = read(table4=unbalanced_table4())
    problems = docxreport.validate(data)
    [group] = [p for p in problems if p.json_path == "appeals.review.total"]
    assert group.rule == "group_total"
    assert group.severity == "error"
    assert "10+1+0+0=11" in group.message and "0" in group.message.rsplit("11", 1)[1]
    assert [p.json_path for p in problems if p.severity == "error"] == ["appeals.review.total"]


# --------------------------------------------------------------------------- section headings


@pytest.mark.parametrize("heading5", ["五、存在的主要问题及整改措施", "五、政府信息公开工作存在的主要问题及改进情况"])
def test_variant_section_headings(heading5: str) -> None:
    heading4 = "四、政府信息公开行政法复议、行政诉讼情况"
    data, problems = read(headings={"四": heading4, "五": heading5})
    only_warnings(problems)
    assert data == normalise(SOURCE)
    found = {p.path: p for p in with_rule(problems, "extract.section_heading")}
    assert set(found) == {("appeals",), ("problems",)}
    assert heading4 in found[("appeals",)].message and "四、政府信息公开行政复议、行政诉讼情况" in found[("appeals",)].message
    assert heading5 in found[("problems",)].message and "五、存在的主要问题及改进情况" in found[("problems",)].message
    assert found[("problems",)].details["found"] == heading5
    assert len(problems) == 2


# --------------------------------------------------------------------------- narrative


NARRATIVE_OVERVIEW = [
    {"heading": "主动公开", "text": "全年主动公开政府信息326条。"},
    {"heading": "依申请公开", "body": [
        {"heading": "申请受理情况", "text": "新收申请50件。"},
        {"heading": "申请办理情况", "body": ["办结51件。", "结转3件。"]},
    ]},
    {"heading": "政府信息管理", "body": ["落实保密审查制度。", "清理行政规范性文件。"]},
]


def narrative_report(
    stop: str = "。", dun: bool = False, signature: bool = True
) -> tuple[dict[str, Any], list[Problem]]:
    data_in = source()
    data_in["overview"] = copy.deepcopy(NARRATIVE_OVERVIEW)
    return extract(foreign_report(data_in, Variants(stop=stop, dun_numbering=dun, signature=signature)))


def test_run_in_headings_with_full_stop_lose_it() -> None:
    data, problems = narrative_report("。")
    assert problems == []
    assert data["overview"] == NARRATIVE_OVERVIEW


@pytest.mark.parametrize("stop", ["：", ":"])
def test_run_in_headings_with_colon_keep_it(stop: str) -> None:
    data, problems = narrative_report(stop)
    assert problems == []
    expected = copy.deepcopy(NARRATIVE_OVERVIEW)
    expected[0]["heading"] += stop
    expected[1]["body"][0]["heading"] += stop
    assert data["overview"] == expected


def test_headings_on_their_own_line_open_bodies_and_nest_numbered_items() -> None:
    data, _ = narrative_report()
    apply = data["overview"][1]
    assert apply["heading"] == "依申请公开"
    assert apply["body"][0] == {"heading": "申请受理情况", "text": "新收申请50件。"}
    assert apply["body"][1] == {"heading": "申请办理情况", "body": ["办结51件。", "结转3件。"]}
    assert data["overview"][2] == {"heading": "政府信息管理", "body": ["落实保密审查制度。", "清理行政规范性文件。"]}
    assert data["problems"] == SOURCE["problems"]


def test_dun_numbering_in_the_narrative_is_read_with_a_warning() -> None:
    data, problems = narrative_report(dun=True)
    assert data["overview"] == NARRATIVE_OVERVIEW
    narrative_warnings = [p for p in with_rule(problems, "extract.numbering") if p.path == ("overview",)]
    assert len(narrative_warnings) == 2  # 1、申请受理情况 and 2、申请办理情况
    assert all(p.severity == "warning" and "1、" in p.message for p in narrative_warnings)
    assert any("1、申请受理情况" in p.message for p in narrative_warnings)
    assert any("2、申请办理情况" in p.details["found"] for p in narrative_warnings)


def test_signature_block_becomes_the_date_and_leaves_section_six() -> None:
    data, problems = narrative_report()
    assert problems == []
    assert data["date"] == "2025-01-20"
    assert data["other"] == SOURCE["other"]
    assert SOURCE["organ"] not in json.dumps(data["other"], ensure_ascii=False)
    assert data["organ"] == SOURCE["organ"] and data["year"] == 2024 and "title" not in data
    assert data["preamble"] == SOURCE["preamble"]


def test_report_without_signature_has_no_date_and_keeps_section_six() -> None:
    data, problems = narrative_report(signature=False)
    assert problems == []
    assert "date" not in data
    assert data["other"] == SOURCE["other"]


# --------------------------------------------------------------------------- everything at once


def test_every_variant_at_once() -> None:
    v = Variants(no_other_column=True, single_row_six=True, blank_columns=("nonprofit",), dun_numbering=True,
                 label_typos=True, cell_note="（其中修订 16 件）", table4_note=True, table2_split=True, table3_split=True,
                 headings={"五": "五、存在的主要问题及整改措施"}, stop="：")
    data, problems = extract(foreign_report(SOURCE, v))
    only_warnings(problems)
    assert data["proactive"] == SOURCE["proactive"]
    assert data["appeals"] == SOURCE["appeals"]
    assert get(data, f"{SIX_GROUP}.other.total") == 2
    rules_met = {p.rule for p in problems}
    assert rules_met == {
        "extract.missing_column", "extract.single_row_2019", "extract.blank_cell", "extract.label_variant",
        "extract.cell_note", "extract.note_row", "extract.section_heading", "extract.numbering",
    }
    assert all(p.severity == "warning" for p in problems)


# --------------------------------------------------------------------------- not a report


def letter() -> bytes:
    doc = Document()
    doc.add_paragraph("关于召开2025年度工作会议的通知")
    doc.add_paragraph("各科室：定于2025年1月20日上午9时在三楼会议室召开年度工作会议，请准时参加。")
    doc.add_paragraph("特此通知。")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def zip_without_document() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/styles.xml", "<styles/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (letter, "不是政府信息公开工作年度报告"),
        (lambda: b"%PDF-1.4 not a zip at all", "不是有效的 .docx 文件"),
        (zip_without_document, "缺少 word/document.xml"),
    ],
    ids=["letter", "not-a-zip", "zip-without-document"],
)
def test_not_a_report_raises_one_clear_error(make: Callable[[], bytes], says: str) -> None:
    with pytest.raises(NotAReportError) as caught:
        extract(make())
    message = str(caught.value)
    assert says in message
    assert "\n" not in message and "Traceback" not in message
    assert isinstance(caught.value, docxreport.DocxReportError)


def test_not_a_report_from_a_path_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "通知.docx"
    path.write_bytes(letter())
    with pytest.raises(NotAReportError, match=re.escape(str(path))):
        extract(path)


def test_a_missing_applicant_column_is_identified_by_its_header() -> None:
    data = source()
    got, problems = read(data, no_other_column=True, dropped_column="legal")
    (warning,) = with_rule(problems, "extract.missing_column")
    assert "法律服务机构" in warning.message and warning.details["column"] == "legal"
    assert got["requests"]["received"]["legal"] == 0
    assert got["requests"]["received"]["other_org"] == data["requests"]["received"]["other_org"] == 2


def test_signature_takes_only_a_line_that_names_the_organ() -> None:
    data = source()
    data["other"] = ["本年度政务公开工作情况良好。", "本年度无其他需要报告的事项"]
    doc = Document(io.BytesIO(foreign_report(data, Variants(signature=False))))
    doc.add_paragraph("2025年1月20日")
    out = io.BytesIO()
    doc.save(out)
    got, _ = extract(io.BytesIO(out.getvalue()))
    assert got["date"] == "2025-01-20"
    assert got["other"] == data["other"]  # the short last line is text, not a signature
    got, _ = read(data)  # with the organ line: taken off, the text kept
    assert got["other"] == data["other"] and got["date"] == data["date"]


def test_blank_dash_slash_none_and_zero_cells_are_kept_apart() -> None:
    """Each reads as 0; each mark but 0 is a warning of its own naming the cell (issue 15)."""
    document = Document(io.BytesIO(docxreport.render(SOURCE)))  # type: ignore[arg-type]
    row = document.tables[1].rows[3]  # 一、本年新收政府信息公开申请数量: three label cells, then the values
    marks = {"natural": "-", "business": "—", "research": "／", "nonprofit": "无", "legal": "0", "other_org": ""}
    for cell, text in zip(row.cells[3:9], marks.values()):
        runs = [r for p in cell.paragraphs for r in p.runs]
        for run in runs:
            run.text = ""
        runs[0].text = text
    out = io.BytesIO()
    document.save(out)
    data, problems = extract(io.BytesIO(out.getvalue()))
    assert {k: data["requests"]["received"][k] for k in marks} == dict.fromkeys(marks, 0)
    by_column = {p.path[-1]: p for p in problems if p.path[:2] == ("requests", "received") and p.path[-1] in marks}
    assert {k: p.rule for k, p in by_column.items()} == {
        "natural": "extract.dash_cell", "business": "extract.dash_cell", "research": "extract.dash_cell",
        "nonprofit": "extract.none_cell", "other_org": "extract.blank_cell"}
    assert all(p.severity == "warning" and "表三" in p.message and "按 0 读取" in p.message for p in by_column.values())
    assert "“—”" in by_column["business"].message and "“无”" in by_column["nonprofit"].message
