"""The report as a web page: every table cell where the format puts it, the narrative whole, nothing external,
user text as text. The page is parsed back with lxml into grids and read by the shared table reader."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import lxml.html
import pytest

import docxreport
from docxreport.format import load_format
from docxreport.html.writer import write_html
from docxreport.report import rules
from docxreport.report.blocks import paragraphs
from docxreport.tables import Cell, FoundTable, Reading, read_tables, value_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def grid_of(table: Any) -> list[Cell]:
    """The cells of an HTML table on its grid (rowspan/colspan resolved), as a reader sees them."""
    taken: set[tuple[int, int]] = set()
    cells = []
    for r, tr in enumerate(table.iter("tr")):
        c = 0
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            while (r, c) in taken:
                c += 1
            rowspan, colspan = int(cell.get("rowspan", 1)), int(cell.get("colspan", 1))
            for rr in range(r, r + rowspan):
                for cc in range(c, c + colspan):
                    taken.add((rr, cc))
            cells.append(Cell(r, c, rowspan, colspan, cell.text_content()))
            c += colspan
    return cells


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_tables_are_the_format_grid_cell_for_cell(example: Path) -> None:
    fmt = load_format()
    data = docxreport.load(example)
    page = lxml.html.fromstring(write_html(data))
    tables = page.findall(".//table")
    assert [t.get("id") for t in tables] == list(fmt.tables)
    full = rules.complete(data, fmt)
    for html_table, spec in zip(tables, fmt.tables.values()):
        found = {(c.row, c.col): c for c in grid_of(html_table)}
        assert len(found) == len(spec.cells)
        for cell in spec.cells:
            got = found[(cell.row, cell.col)]
            assert (got.rowspan, got.colspan) == (cell.rowspan, cell.colspan), cell
            if cell.is_data:
                assert got.text == value_text(rules.get_path(full, cell.key)), cell
            else:
                assert got.text == cell.text


def numbers(node: Any) -> Any:
    """Counts and fees as exact decimals, so ``0`` and ``Decimal('0')`` compare equal."""
    if isinstance(node, dict):
        return {k: numbers(v) for k, v in node.items()}
    if isinstance(node, (int, float, Decimal)) and not isinstance(node, bool):
        return Decimal(str(node)).normalize()
    return node


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_tables_read_back_through_the_shared_reader(example: Path) -> None:
    fmt = load_format()
    data = docxreport.load(example)
    page = lxml.html.fromstring(write_html(data))
    found = [FoundTable(i, grid_of(t)) for i, t in enumerate(page.findall(".//table"), start=1)]
    reading = Reading(fmt)
    read_tables(found, reading)
    assert not [p for p in reading.problems if p.severity == "error"]
    full, got = numbers(rules.complete(data, fmt)), numbers(reading.data)
    for section in ("proactive", "requests", "appeals"):
        assert got[section] == full[section]


def test_narrative_headings_and_signature_as_printed() -> None:
    fmt = load_format()
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    page = lxml.html.fromstring(write_html(data))
    article = page.find(".//article")
    assert [h.text_content() for h in article.findall("h2")] == [s.heading for s in fmt.sections]
    assert [span.text for span in article.find("h1").findall("span")] == ["某某县自然资源局", "2024年政府信息公开工作年度报告"]
    texts = [e.text_content() for e in article if e.tag in ("p", "h3", "h4", "h5")]
    for key in ("overview", "problems", "other"):
        for para in paragraphs(data[key], fmt.heading_numbering):
            assert para.text in texts
    signature = [p.text_content() for p in article.findall(".//p[@class='signature']")]
    assert signature == [data["organ"], "2025年1月20日"] if data.get("date") == "2025-01-20" else signature


def test_no_external_resource_and_print_css() -> None:
    html = write_html(docxreport.load(ROOT / "examples" / "zhuyangguan-2024.json"))
    page = lxml.html.fromstring(html)
    assert not page.xpath("//script | //link | //img | //iframe | //*[@src] | //*[@href]")
    assert "url(" not in html and "@import" not in html
    assert "@media print" in html and "size: A4" in html
    assert page.find(".//title").text == "朱阳关镇人民政府2024年政府信息公开工作年度报告"


def test_user_text_is_data_never_markup() -> None:
    data = docxreport.load(ROOT / "examples" / "zhuyangguan-2024.json")
    data = copy.deepcopy(data)
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>&amp;'
    data["organ"] = "某镇" + hostile
    data["overview"] = [hostile + "\n第二行\t制表", {"heading": hostile, "text": hostile}]
    assert not [p for p in docxreport.validate(data) if p.severity == "error"]
    for fragment in (False, True):
        html = write_html(data, fragment=fragment)
        page = lxml.html.fromstring(html)
        assert not page.xpath("//script | //img")
        assert hostile in page.text_content()
    lines = lxml.html.fromstring(write_html(data)).xpath("//article/p")
    assert any(p.findall("br") and "第二行\t制表" in p.text_content() for p in lines)


def test_fragment_carries_its_styles_inline() -> None:
    html = write_html(docxreport.load(ROOT / "examples" / "county-bureau-2024.json"), fragment=True)
    assert html.startswith("<article") and "<style" not in html and "<html" not in html
    element = lxml.html.fromstring(html)
    assert all("border" in cell.get("style", "") for cell in element.iter("td", "th"))
    assert all(table.get("border") == "1" for table in element.iter("table"))


def test_render_html_validates_first_and_writes_atomically(tmp_path: Path) -> None:
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    target = tmp_path / "report.html"
    assert docxreport.render_html(data, target) is None
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    broken = copy.deepcopy(data)
    broken["requests"]["received"]["total"] = 999
    with pytest.raises(docxreport.InvalidReportError) as caught:
        docxreport.render_html(broken, tmp_path / "broken.html")
    assert any(p.rule == "row_total" for p in caught.value.problems)
    assert not (tmp_path / "broken.html").exists()


def _cli(*args: str, cwd: Path) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "docxreport", "render", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_render_command_writes_a_page_by_extension_and_follows_the_overwrite_rule(tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "county-bureau-2024.json")
    done = _cli(example, "-o", "report.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = lxml.html.fromstring((tmp_path / "report.html").read_bytes())
    assert len(page.findall(".//table")) == 3 and page.find(".//title").text.startswith("某某县自然资源局")
    again = _cli(example, "-o", "report.html", cwd=tmp_path)
    assert again.returncode == 0 and "已替换" in again.stderr  # our own, unchanged page is replaced
    (tmp_path / "edited.html").write_text("<p>网站编辑改过的页面</p>", encoding="utf-8")
    kept = _cli(example, "-o", "edited.html", cwd=tmp_path)
    assert kept.returncode == 2 and "不会覆盖" in kept.stderr
    assert (tmp_path / "edited.html").read_text(encoding="utf-8") == "<p>网站编辑改过的页面</p>"
    fragment = _cli(example, "-o", "fragment.html", "--fragment", cwd=tmp_path)
    assert fragment.returncode == 0 and (tmp_path / "fragment.html").read_text(encoding="utf-8").startswith("<article")
    wrong = _cli(example, "-o", "report.docx", "--fragment", cwd=tmp_path)
    assert wrong.returncode == 2 and "--fragment" in wrong.stderr and not (tmp_path / "report.docx").exists()
