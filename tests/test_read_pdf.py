"""PDF reading: reports printed by LibreOffice (rendered ones, foreign-made ones, generated ones) read back.

One LibreOffice call prints every document of the module (start-up is most of its cost). What print cannot
carry is compared loosely and documented in docs/reading.md: a space at a line end and a full-width comma
LibreOffice leaves out of the text layer when it would hang past the right margin.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_extract_foreign import Variants, foreign_report, source
from test_extract_roundtrip import _appeals, _requests

import docxreport
from docxreport.document import normalise
from docxreport.errors import NotAReportError
from docxreport.pdf import reader
from docxreport.pdf.office import Office
from docxreport.report.jsonfile import dumps
from docxreport.tables import FoundTable

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
NUMBERS = ("proactive", "requests", "appeals")

pytestmark = pytest.mark.skipif(not any(Path(p).exists() for p in ["/usr/bin/soffice"]) and not __import__("shutil").which("soffice"),
                                reason="LibreOffice is needed to print PDFs")

FOREIGN = {
    "foreign-plain": Variants(),
    "foreign-variants": Variants(no_other_column=True, dun_numbering=True, label_typos=True, table4_note=True, stop="："),
    "foreign-split": Variants(table3_split=True, table2_split=True),
}


def canonical(value: Any) -> Any:
    """Values as JSON writes them (a fee read as Decimal equals the float it was rendered from)."""
    return json.loads(dumps({"v": value}))["v"]


def text_of(data: dict[str, Any]) -> str:
    keys = ["preamble", "overview", "problems", "other"]
    return re.sub(r"\s", "", json.dumps([data.get(k) for k in keys], ensure_ascii=False))


def with_header_and_footer(docx: bytes) -> bytes:
    """A running header on every page and a ``第 N 页`` footer (a PAGE field), as office templates have them."""
    from docx import Document as open_docx
    from docx.oxml import parse_xml

    document = open_docx(io.BytesIO(docx))
    section = document.sections[0]
    section.header.paragraphs[0].text = "某某县人民政府办公室"
    footer = section.footer.paragraphs[0]
    footer.add_run("第 ")
    footer._p.append(parse_xml('<w:fldSimple xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
                               'w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>'))
    footer.add_run(" 页")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], bytes, bytes]]:
    """name → (report data, .docx, PDF) for the examples and the foreign-made reports, printed in one call."""
    folder = tmp_path_factory.mktemp("pdf")
    made: dict[str, tuple[dict[str, Any], bytes]] = {}
    for path in EXAMPLES:
        data = docxreport.load(path)
        made[path.stem] = (data, docxreport.render(data))
    for name, variants in FOREIGN.items():
        made[name] = (source(), foreign_report(source(), variants))
    made["foreign-headers"] = (source(), with_header_and_footer(foreign_report(source(), Variants(table3_split=True))))
    for name, (_, docx) in made.items():
        (folder / f"{name}.docx").write_bytes(docx)
    with Office() as office:
        results = office.convert([folder / f"{name}.docx" for name in made])
    assert all(isinstance(r, Path) for r in results.values()), results
    return {name: (data, docx, (folder / f"{name}.pdf").read_bytes()) for name, (data, docx) in made.items()}


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_rendered_examples_read_back_from_pdf(printed: dict[str, Any], name: str) -> None:
    data, _, pdf = printed[name]
    got, problems = docxreport.extract(pdf)
    want = normalise(data)
    assert problems == []
    for key in ("organ", "year", "date", "title", *NUMBERS):
        assert canonical(got.get(key)) == canonical(want.get(key)), key
    # narrative: LibreOffice's text layer loses a space at a line end and a comma hanging past the margin
    ratio = difflib.SequenceMatcher(None, text_of(got), text_of(want), autojunk=False).ratio()
    assert ratio > 0.99, ratio
    assert [b.get("heading") for b in got["overview"] if isinstance(b, dict)] == [b.get("heading") for b in want["overview"] if isinstance(b, dict)]


def test_table_three_breaks_across_a_page_and_reads_as_one(printed: dict[str, Any]) -> None:
    _, _, pdf = printed["county-bureau-2024"]
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        pages = [i for i, page in enumerate(document.pages) for t in page.find_tables() if "本列数据" in (t.extract()[0][0] or "")]
    assert len(pages) == 2 and pages[1] == pages[0] + 1  # the header repeated on the next page
    doc = reader.read_document(pdf, "x.pdf")
    tables = [i for i in doc.items if isinstance(i, FoundTable)]
    assert len(tables) == 3
    three = tables[1]
    texts = [c.text for c in three.cells]
    assert texts.count("申请人情况") == 1  # the repeated header rows are dropped
    other = next(c for c in three.cells if c.text == "（六）其他处理")
    assert other.rowspan == 3
    # the vertical label, a few characters a line, read whole: printed again on the second page (its merge is
    # split in two pieces, docxreport.docx.ooxml.label_pieces), so that no row there has an empty first column
    labels = [(c.row, c.col, c.rowspan) for c in three.cells if c.text == "三、本年度办理结果"]
    assert labels == [(5, 0, 18), (23, 0, 4)]


def test_page_numbers_and_title_lines_are_not_text(printed: dict[str, Any]) -> None:
    doc = reader.read_document(printed["county-bureau-2024"][2], "x.pdf")
    paragraphs = [i.text for i in doc.items if not isinstance(i, FoundTable)]
    assert not any(re.fullmatch(r"[—\-]\s*\d+\s*[—\-]", t) for t in paragraphs)
    assert paragraphs[:2] == ["某某县自然资源局", "2024年政府信息公开工作年度报告"]
    assert paragraphs[-2:] == ["某某县自然资源局", "2025年1月20日"]


def test_running_headers_and_page_footers_are_dropped(printed: dict[str, Any]) -> None:
    pdf = printed["foreign-headers"][2]
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        text = "".join(page.extract_text() for page in document.pages)
        assert len(document.pages) >= 3
    assert text.count("某某县人民政府办公室") >= 3 and "第 2 页" in text  # printed on every page
    doc = reader.read_document(pdf, "x.pdf")
    paragraphs = [i.text for i in doc.items if not isinstance(i, FoundTable)]
    assert not any("某某县人民政府办公室" in t or re.search(r"第\s*\d+\s*页", t) for t in paragraphs)


@pytest.mark.parametrize("name", [*FOREIGN, "foreign-headers"])
def test_foreign_reports_read_the_same_from_pdf_as_from_docx(printed: dict[str, Any], name: str) -> None:
    _, docx, pdf = printed[name]
    from_docx, docx_problems = docxreport.extract(docx)
    from_pdf, pdf_problems = docxreport.extract(pdf)
    for key in ("organ", "year", "date", *NUMBERS):
        assert canonical(from_pdf.get(key)) == canonical(from_docx.get(key)), key
    assert sorted(p.rule for p in pdf_problems) == sorted(p.rule for p in docx_problems)


@st.composite
def numbers(draw: st.DrawFn) -> dict[str, Any]:
    data = docxreport.load(EXAMPLES[0])
    data["requests"] = draw(_requests())
    data["appeals"] = draw(_appeals())
    data["proactive"]["fees"] = draw(st.decimals(0, 99999, places=4).map(lambda d: float(d)))
    return data


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=numbers())
def test_generated_tables_read_back_from_pdf(tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]) -> None:
    numbers_read_back_from_pdf(tmp_path_factory.mktemp("gen"), docxreport.render(data), data)  # type: ignore[arg-type]


def numbers_read_back_from_pdf(folder: Path, docx: bytes, data: dict[str, Any]) -> None:
    """``docx`` (rendered from ``data``) printed by LibreOffice reads back with every table value, no error."""
    (folder / "r.docx").write_bytes(docx)
    with Office() as office:
        office.convert([folder / "r.docx"])
    got, problems = docxreport.extract(folder / "r.pdf")
    want = normalise(data)
    assert [p for p in problems if p.severity == "error"] == []
    for key in NUMBERS:
        assert canonical(got[key]) == canonical(want[key])


# --------------------------------------------------------------------------- pieces of the reader


def chars(*spec: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"text": t, "x0": x, "x1": x + 5, "top": 100.0, "bottom": 110.0, "size": 10.0} for t, x in spec]


def test_digits_spread_by_the_layout_are_joined_and_warned() -> None:
    assert reader._cell_text(chars(("1", 0), ("2", 20))) == ("12", "1 2")
    assert reader._cell_text(chars(("1", 0), ("2", 5))) == ("12", "")  # printed together
    assert reader._cell_text(chars(("1", 0), (" ", 5), ("2", 10))) == ("12", "1 2")
    assert reader._cell_text(chars(("合", 0), ("计", 30))) == ("合计", "")


def test_page_number_forms() -> None:
    for text in ("— 3 —", "-3-", "第3页", "第 3 页 共 6 页", "3", "3/6", "－ 12 －"):
        assert reader._PAGE_NUMBER.match(text), text
    for text in ("一、总体情况", "2024年", "（一）主动公开"):
        assert not reader._PAGE_NUMBER.match(text), text


# --------------------------------------------------------------------------- refused


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docxreport", *args], capture_output=True, text=True, timeout=120)


def test_a_scanned_pdf_is_refused_with_exit_2(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), "white")
    ImageDraw.Draw(image).rectangle((50, 50, 550, 300), outline="black")
    image.save(tmp_path / "scan.pdf")
    result = run("extract", str(tmp_path / "scan.pdf"))
    assert result.returncode == 2
    assert "扫描件，没有文字层" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(NotAReportError, match="扫描件"):
        docxreport.extract(tmp_path / "scan.pdf")


def test_a_damaged_pdf_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage")
    result = run("check", str(tmp_path / "bad.pdf"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_too_many_pages_or_characters_are_refused(printed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = printed["county-bureau-2024"][2]
    monkeypatch.setattr(reader, "MAX_PAGES", 3)
    with pytest.raises(NotAReportError, match="超过 3 页"):
        reader.read_document(pdf, "x.pdf")
    monkeypatch.setattr(reader, "MAX_PAGES", 200)
    monkeypatch.setattr(reader, "MAX_CHARS", 500)
    with pytest.raises(NotAReportError, match="500 个字符"):
        reader.read_document(pdf, "x.pdf")


def test_extract_command_reads_a_pdf(printed: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "r.pdf").write_bytes(printed["county-bureau-2023"][2])
    result = run("extract", str(tmp_path / "r.pdf"), "-o", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    got = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert got["appeals"] == canonical(normalise(printed["county-bureau-2023"][0])["appeals"])
