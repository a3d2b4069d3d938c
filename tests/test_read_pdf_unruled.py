"""PDF tables printed without (complete) ruling lines: the grid rebuilt from the words' positions.

Inputs are made as offices make them: a report rendered (or made by another office's tool), its table borders
changed in the .docx (none at all; horizontal rules only; a 三线表 with top and bottom rules; an outer frame
with no inner lines) and printed by LibreOffice. One LibreOffice call prints every document of the module.
"""

from __future__ import annotations

import difflib
import io
import json
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from docx import Document as open_docx
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_extract_foreign import Variants, foreign_report, source
from test_read_pdf import EXAMPLES, NUMBERS, canonical, numbers, numbers_read_back_from_pdf, text_of

import docxreport
from docxreport.document import normalise
from docxreport.pdf import reader, unruled
from docxreport.pdf.office import Office
from docxreport.tables import FoundTable

pytestmark = pytest.mark.skipif(not __import__("shutil").which("soffice"), reason="LibreOffice is needed to print PDFs")

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
SIDES = ("top", "left", "bottom", "right", "insideH", "insideV")
STYLES = {  # the borders each style keeps
    "none": (),
    "horizontal": ("top", "bottom", "insideH"),
    "threeline": ("top", "bottom"),
    "frame": ("top", "bottom", "left", "right"),
}


def restyle(docx: bytes, style: str) -> bytes:
    """Every table's borders set to those ``style`` keeps (the others nil), as direct table formatting."""
    document = open_docx(io.BytesIO(docx))
    for table in document.tables:
        props = table._tbl.tblPr
        weight = 12 if style == "threeline" else 4
        xml = "".join(f'<w:{side} w:val="{"single" if side in STYLES[style] else "nil"}" w:sz="{weight}" w:space="0" w:color="000000"/>'
                      for side in SIDES)
        borders = parse_xml(f'<w:tblBorders xmlns:w="{W}">{xml}</w:tblBorders>')
        old = props.find(qn("w:tblBorders"))
        if old is None:
            props.append(borders)
        else:
            old.addprevious(borders)
            props.remove(old)
        for cell_borders in table._tbl.iter(qn("w:tcBorders")):
            cell_borders.getparent().remove(cell_borders)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def put(cell: Any, text: str) -> None:
    """A cell's text replaced, its run formatting kept."""
    runs = [r for p in cell.paragraphs for r in p.runs]
    for run in runs:
        run.text = ""
    runs[0].text = text


def with_texts(docx: bytes) -> bytes:
    """Table 二's fee cell ``见说明``, table 三's first 自然人 cell ``无`` and a blank cell (table 三, （一）予以公开, 科研机构)."""
    document = open_docx(io.BytesIO(docx))
    put(document.tables[0].rows[13].cells[1], "见说明")
    put(document.tables[1].rows[3].cells[3], "无")
    put(document.tables[1].rows[5].cells[5], "")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def without_label(docx: bytes, label: str) -> bytes:
    document = open_docx(io.BytesIO(docx))
    cell = next(c for row in document.tables[1].rows for c in row.cells if c.text == label)
    put(cell, "")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


FOREIGN = {
    "plain": Variants(),
    "variants": Variants(no_other_column=True, dun_numbering=True, label_typos=True, table4_note=True, stop="："),
    "split": Variants(table3_split=True, table2_split=True),
    "six": Variants(single_row_six=True, blank_columns=("business",), cell_note="含废止2件"),
}


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, bytes, bytes]]:
    """name → (report data or the source .docx, .docx printed, PDF)."""
    folder = tmp_path_factory.mktemp("unruled")
    made: dict[str, tuple[Any, bytes]] = {}
    rendered = {path.stem: (docxreport.load(path), docxreport.render(docxreport.load(path))) for path in EXAMPLES}
    for stem, (data, docx) in rendered.items():
        made[f"{stem}-none"] = (data, restyle(docx, "none"))
    for style in ("horizontal", "threeline", "frame"):
        data, docx = rendered["county-bureau-2024"]
        made[f"county-bureau-2024-{style}"] = (data, restyle(docx, style))
    for name, variants in FOREIGN.items():
        docx = foreign_report(source(), variants)
        made[f"foreign-{name}-none"] = (docx, restyle(docx, "none"))
    data, docx = rendered["county-bureau-2024"]
    made["texts-ruled"] = (data, with_texts(docx))
    made["texts-none"] = (data, restyle(with_texts(docx), "none"))
    made["no-label-none"] = (data, restyle(without_label(docx, "2.重复申请"), "none"))
    for name, (_, docx) in made.items():
        (folder / f"{name}.docx").write_bytes(docx)
    with Office() as office:
        results = office.convert([folder / f"{name}.docx" for name in made])
    assert all(isinstance(r, Path) for r in results.values()), results
    return {name: (data, docx, (folder / f"{name}.pdf").read_bytes()) for name, (data, docx) in made.items()}


def ruled_national_tables(pdf: bytes) -> list[str]:
    """The first cells of the tables pdfplumber's ruled finder finds that hold a national table's label."""
    found = []
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            for table in page.find_tables():
                text = json.dumps(table.extract(), ensure_ascii=False)
                if any(m in text for m in ("本年制发件数", "申请人情况", "未经复议直接起诉")) and len(table.cells) > 10:
                    found.append(text[:40])
    return found


def assert_reads_back(got: dict[str, Any], data: dict[str, Any]) -> None:
    want = normalise(data)
    for key in ("organ", "year", "date", "title", *NUMBERS):
        assert canonical(got.get(key)) == canonical(want.get(key)), key
    ratio = difflib.SequenceMatcher(None, text_of(got), text_of(want), autojunk=False).ratio()
    assert ratio > 0.99, ratio


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_borderless_examples_read_back_exactly(printed: dict[str, Any], name: str) -> None:
    data, _, pdf = printed[f"{name}-none"]
    assert ruled_national_tables(pdf) == []  # the ruled finder sees no table: the fallback reads them
    got, problems = docxreport.extract(pdf)
    assert problems == []
    assert_reads_back(got, data)


@pytest.mark.parametrize("style", ["horizontal", "threeline", "frame"])
def test_partly_ruled_tables_read_back_exactly(printed: dict[str, Any], style: str) -> None:
    data, _, pdf = printed[f"county-bureau-2024-{style}"]
    assert ruled_national_tables(pdf) == []
    got, problems = docxreport.extract(pdf)
    assert problems == []
    assert_reads_back(got, data)


def test_the_rebuilt_table_three_has_its_merged_and_wrapped_labels(printed: dict[str, Any]) -> None:
    doc = reader.read_document(printed["county-bureau-2024-none"][2], "x.pdf")
    tables = [i for i in doc.items if isinstance(i, FoundTable)]
    assert len(tables) == 3
    three = tables[1]
    by_text = {c.text: c for c in three.cells}
    assert [c.text for c in three.cells].count("申请人情况") == 1  # the header LibreOffice repeats on the next page
    assert by_text["三、本年度办理结果"].rowspan == 22  # printed one or two characters a line, over two pages
    spans = {label: by_text[label].rowspan for label in ("（三）不予公开", "（四）无法提供", "（五）不予处理", "（六）其他处理")}
    assert spans == {"（三）不予公开": 8, "（四）无法提供": 3, "（五）不予处理": 5, "（六）其他处理": 3}
    for label in ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "5.要求行政机关确认或重新出具已获取信息",
                  "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"):
        assert label in by_text  # wrapped over two or three printed lines, read whole
    # each data row: its innermost label, then seven values in the order of the format
    row = sorted((c for c in three.cells if c.row == by_text["（七）总计"].row), key=lambda c: c.col)
    assert [c.text for c in row] == ["（七）总计", "39", "7", "1", "0", "2", "2", "51"]
    two = tables[0]
    licence = sorted((c for c in two.cells if c.row == next(c.row for c in two.cells if c.text == "行政许可")), key=lambda c: c.col)
    assert [c.text for c in licence] == ["行政许可", "1268"]  # one merged cell, not three with two blank


@pytest.mark.parametrize("name", list(FOREIGN))
def test_borderless_foreign_reports_read_as_their_docx(printed: dict[str, Any], name: str) -> None:
    source_docx, _, pdf = printed[f"foreign-{name}-none"]
    from_docx, docx_problems = docxreport.extract(source_docx)
    from_pdf, pdf_problems = docxreport.extract(pdf)
    for key in ("organ", "year", "date", *NUMBERS):
        assert canonical(from_pdf.get(key)) == canonical(from_docx.get(key)), key
    assert sorted(p.rule for p in pdf_problems) == sorted(p.rule for p in docx_problems)


@pytest.mark.parametrize("kind", ["docx", "texts-ruled", "texts-none"])
def test_text_in_a_value_cell_is_named_by_table_and_cell(printed: dict[str, Any], kind: str) -> None:
    _, docx, pdf = printed["texts-none" if kind == "docx" else kind]
    got, problems = docxreport.extract(docx if kind == "docx" else pdf)
    found = {p.path: p for p in problems}
    fee = found[("proactive", "fees")]
    assert fee.severity == "error" and fee.rule == "extract.not_a_number" and "“见说明”不是数字" in fee.message
    assert fee.message.startswith("表二")
    natural = found[("requests", "received", "natural")]
    assert natural.severity == "warning" and natural.rule == "extract.none_cell" and natural.message.startswith("表三")
    blank = found[("requests", "outcomes", "disclosed", "research")]
    assert blank.severity == "warning" and blank.rule == "extract.blank_cell"
    assert "fees" not in got["proactive"] and got["requests"]["received"]["natural"] == 0
    assert got["requests"]["outcomes"]["disclosed"]["research"] == 0
    assert got["requests"]["received"]["business"] == 6  # the rest of the row still read, each in its column
    if kind == "texts-none":  # no grid position to give: the row and column labels name the cell
        assert fee.message == "表二（第 3 页，无表格线）“行政事业性收费”一行“本年收费金额（单位：万元）”列“见说明”不是数字"
        assert natural.message.startswith("表三（第 4 页，无表格线）“一、本年新收政府信息公开申请数量”一行“自然人”列")
        assert "“（一）予以公开”一行“科研机构”列为空白" in blank.message
    else:
        assert "第 14 行第 2 列" in fee.message


def test_numbers_beside_no_label_are_a_warning_not_a_guess(printed: dict[str, Any]) -> None:
    data, _, pdf = printed["no-label-none"]
    got, problems = docxreport.extract(pdf)
    rules = {p.rule for p in problems}
    assert "extract.unplaced_row" in rules
    unplaced = next(p for p in problems if p.rule == "extract.unplaced_row")
    assert unplaced.path == ("requests",)
    # the page, the table and the numbers are named; the group the row stands in is named too when its label is
    # printed beside the row (here the group label is centred beside a neighbouring row)
    assert unplaced.message.startswith("第 4 页表三（无表格线）")
    assert unplaced.message.endswith("有一行数字“1 0 0 0 0 0 1”旁边没有项目名称，未读取（请核实）")
    assert "duplicate" not in got["requests"]["outcomes"]["not_processed"]  # 2.重复申请's numbers went nowhere else
    want = normalise(data)["requests"]["outcomes"]["not_processed"]
    assert {k: v for k, v in got["requests"]["outcomes"]["not_processed"].items()} == {k: v for k, v in want.items() if k != "duplicate"}


def test_ruled_tables_never_run_the_fallback(monkeypatch: pytest.MonkeyPatch, printed: dict[str, Any]) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("the fallback ran on a ruled PDF")

    monkeypatch.setattr(unruled, "rebuild", refuse)
    got, problems = docxreport.extract(printed["texts-ruled"][2])
    assert got["requests"]["received"]["business"] == 6


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=numbers())
def test_generated_borderless_tables_read_back(tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]) -> None:
    numbers_read_back_from_pdf(tmp_path_factory.mktemp("gen"), restyle(docxreport.render(data), "none"), data)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the fallback on lines made by hand


def printed_line(page: int, top: float, *pieces: tuple[str, float]) -> reader._Line:
    """A printed line of 10 pt characters 10 pt wide: ``(text, x0)`` pieces."""
    chars = [{"text": ch, "x0": x + 10 * i, "x1": x + 10 * (i + 1), "top": top, "bottom": top + 10, "size": 10.0}
             for text, x in pieces for i, ch in enumerate(text)]
    text = " ".join(t for t, _ in pieces)
    return reader._Line(page, min(c["x0"] for c in chars), max(c["x1"] for c in chars), top, top + 10, 10.0, text, chars)


def test_a_line_of_numbers_between_two_row_labels_is_warned_not_guessed() -> None:
    from docxreport.format import load_format

    numbers = [(str(n), 300 + 30 * i) for i, n in enumerate([77, 1, 0, 0, 0, 0, 78])]
    lines = [
        printed_line(1, 50, ("三、收到和处理政府信息公开申请情况", 40)),
        printed_line(1, 80, ("一、本年新收政府信息公开申请数量", 60), *[(str(n), 300 + 30 * i) for i, n in enumerate([38, 6, 1, 0, 3, 2, 50])]),
        printed_line(1, 100, ("二、上年结转政府信息公开申请数量", 60)),
        printed_line(1, 106, *numbers),  # as near the label above as the one below
        printed_line(1, 112, ("四、结转下年度继续办理", 60), *[(str(n), 300 + 30 * i) for i, n in enumerate([2, 0, 0, 0, 1, 0, 3])]),
        printed_line(1, 150, ("四、政府信息公开行政复议、行政诉讼情况", 40)),
    ]
    tables, used, problems = unruled.rebuild(lines, ["table3"], load_format())
    assert set(tables) == {"table3"} and len(used) == 4  # the heading lines stay text
    assert [p.rule for p in problems] == ["extract.unplaced_row"]
    assert "同时挨着“二、上年结转政府信息公开申请数量”和“四、结转下年度继续办理”" in problems[0].message
    cells = tables["table3"].cells
    first = sorted((c for c in cells if c.row == next(c.row for c in cells if c.text.startswith("一、"))), key=lambda c: c.col)
    assert [c.text for c in first] == ["一、本年新收政府信息公开申请数量", "38", "6", "1", "0", "3", "2", "50"]
    assert not any(c.text in {"77", "78"} for c in cells)  # the ambiguous numbers went nowhere


def test_the_fallback_does_work_in_proportion_to_the_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """A region of garbage (the same label and numbers on thousands of lines, as a hostile or broken PDF prints)
    costs work in proportion to its lines: every row used to look at every label block, and every label piece
    at every block before it, so 100 pages took minutes. Counted, not timed: the property reads of blocks."""
    from docxreport.format import load_format

    reads = {"n": 0}
    for name in ("top", "bottom", "cx", "x0", "x1"):
        prop = getattr(unruled._Block, name)

        def counted(self: Any, _get: Any = prop.fget) -> Any:
            reads["n"] += 1
            return _get(self)

        monkeypatch.setattr(unruled._Block, name, property(counted))

    def work(n: int) -> tuple[int, dict[str, Any], list[Any]]:
        lines = [printed_line(1, 20, ("三、收到和处理政府信息公开申请情况", 40))]
        lines += [printed_line(1 + i // 50, 40 + 16 * i, ("（一）予以公开", 60), (str(i), 300), ("7", 340)) for i in range(n)]
        lines.append(printed_line(1 + n // 50, 40 + 16 * n, ("四、政府信息公开行政复议、行政诉讼情况", 40)))
        reads["n"] = 0
        tables, _, problems = unruled.rebuild(lines, ["table3"], load_format())
        return reads["n"], tables, problems

    small, tables, _ = work(300)
    large, tables, problems = work(1200)
    assert large < 6 * small, (small, large)  # 4 times the lines: about 4 times the work (16 when quadratic)
    rows = {c.row for c in tables["table3"].cells}
    assert len(rows) == 1200 and not problems  # each line a row of its own, for the reader to refuse by label


@given(spans=st.lists(
    st.tuples(st.integers(0, 50),
                                               st.integers(0, 10)), max_size=30),
       low=st.integers(-5, 60), high=st.integers(-5, 60))
def test_spans_by_middle_are_those_a_full_scan_finds(spans: list[tuple[int, int]], low: int, high: int) -> None:
    boxes = [(float(top), float(top + height)) for top, height in spans]
    assert unruled._Middles(boxes).within(low, high) == [i for i, (t, b) in enumerate(boxes) if low <= (t + b) / 2 <= high]


def test_a_cell_looks_only_at_the_characters_of_its_own_height(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ruled cell's text used to be a scan of every character of its table: a page of a few thousand cells
    (a hostile PDF's grid of tiny cells) was millions of tests. The characters are now found by their height,
    exactly the ones the scan found, in their order."""
    calls = {"n": 0}
    inside = reader._inside

    def counted(ch: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
        calls["n"] += 1
        return inside(ch, box)

    monkeypatch.setattr(reader, "_inside", counted)
    chars = [{"text": str(k % 10), "x0": 10.0 * k + 2, "x1": 10.0 * k + 8, "top": 10.0 * r + 1, "bottom": 10.0 * r + 9}
             for r in range(60) for k in range(60)]
    found = reader._CharsByHeight(list(reversed(chars)))
    cells = [(10.0 * k, 10.0 * r, 10.0 * (k + 1), 10.0 * (r + 1)) for r in range(60) for k in range(60)]
    texts = ["".join(c["text"] for c in found.inside(cell)) for cell in cells]
    assert texts == [str(k % 10) for r in range(60) for k in range(60)]
    assert calls["n"] <= 60 * len(cells)  # a row's characters for each cell, not all 3,600 (13 million in all)


@given(chars=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 4)), max_size=25),
       box=st.tuples(st.integers(-2, 22), st.integers(-2, 22), st.integers(-2, 22), st.integers(-2, 22)))
def test_characters_by_height_are_those_a_full_scan_finds(chars: list[tuple[int, int, int]], box: tuple[int, int, int, int]) -> None:
    given_chars = [{"text": "x", "x0": float(x), "x1": float(x + 1), "top": float(y), "bottom": float(y + h)} for x, y, h in chars]
    rect = tuple(float(v) for v in box)
    assert reader._CharsByHeight(given_chars).inside(rect) == [c for c in given_chars if reader._inside(c, rect)]


@given(edges=st.lists(st.integers(0, 30), min_size=1, max_size=8, unique=True), value=st.floats(-5, 35))
def test_the_nearest_edge_is_the_one_a_full_scan_finds(edges: list[int], value: float) -> None:
    ordered = sorted(float(e) for e in edges)
    assert reader._index(ordered, value) == min(range(len(ordered)), key=lambda i: abs(ordered[i] - value))


def test_a_group_label_beside_every_row_is_one_merged_cell_in_proportion(monkeypatch: pytest.MonkeyPatch) -> None:
    """（三）不予公开 printed beside each of its rows (garbage, or an office's habit) made every print span the
    whole run of rows: labels compared rows × prints times (2,000 rows: 70 s) and overlapping cells. Now one
    merged cell spans the run, the same label printed again beside it is dropped, and the work is in
    proportion to the rows."""
    from docxreport.format import load_format
    from docxreport.tables import normal_label as real

    fmt = load_format()
    calls = {"n": 0}

    def counted(text: str) -> str:
        calls["n"] += 1
        return real(text)

    monkeypatch.setattr(unruled, "normal_label", counted)
    kids = ["1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”"]

    def work(n: int) -> tuple[int, list[Any]]:
        lines = [printed_line(1, 20, ("三、收到和处理政府信息公开申请情况", 40))]
        lines += [printed_line(1 + i // 50, 40 + 16 * i, ("（三）不予公开", 20), (kids[i % 3], 120),
                               *[(str(k), 300 + 30 * k) for k in range(7)]) for i in range(n)]
        lines.append(printed_line(1 + n // 50, 40 + 16 * n, ("四、政府信息公开行政复议、行政诉讼情况", 40)))
        calls["n"] = 0
        tables, _, _ = unruled.rebuild(lines, ["table3"], fmt)
        return calls["n"], tables["table3"].cells

    small, _ = work(150)
    large, cells = work(600)
    assert large < 6 * small, (small, large)
    groups = [c for c in cells if c.text == "（三）不予公开"]
    assert len(groups) == 1 and groups[0].rowspan == 600  # one merged cell over the run, not 600 overlapping
