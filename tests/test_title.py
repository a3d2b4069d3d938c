"""Title lines too long for the page: broken at sensible points (blocks.break_title), the same in the .docx
(line breaks in the title paragraph) and on the web page (``<br>``), and read back whole by every reader.

Where the lines land in the PDF is measured in tests/test_pdf_layout.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import lxml.html
import pytest
from docx import Document as open_docx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docxreport
from docxreport.docx.ooxml import Layout
from docxreport.docx.reader import extract
from docxreport.document import normalise
from docxreport.report.blocks import advance_width, break_title, join_title, printed_title, title_chars

ROOT = Path(__file__).resolve().parent.parent
BASE = docxreport.load(ROOT / "examples" / "county-bureau-2024-minimal-totals.json")
#: 37 characters, as in issue 13: place, county, department, branch, its centre
LONG_ORGAN = "某某省某某自治州某某县市场监督管理局某某经济技术开发区分局食品安全监测中心"


def report(organ: str, title: list[str] | None = None) -> dict:
    data = {k: v for k, v in BASE.items() if k != "title"}
    data["organ"] = organ
    if title is not None:
        data["title"] = title
    return data


def test_the_title_line_length_comes_from_the_page_and_the_title_size() -> None:
    layout = Layout()
    assert layout.title_chars == title_chars() == (11906 - 1588 - 1474) / 440  # 442.2 pt of 22 pt: 20.1
    assert Layout(title_half_points=32).title_chars > 27  # a smaller title holds more


@pytest.mark.parametrize(("line", "printed"), [
    (LONG_ORGAN, ["某某省某某自治州某某县市场监督管理局", "某某经济技术开发区分局食品安全监测中心"]),
    # never inside 办公室 (办 ends a part of 县政府办) nor 街道办事处
    ("某某省某某市某某县人民政府办公室某某某某某某分局某某某某中心", ["某某省某某市某某县人民政府办公室", "某某某某某某分局某某某某中心"]),
    ("某某市某某区人民政府某某街道办事处关于印发2024年度政府信息公开工作年度报告的通知",
     ["某某市某某区人民政府", "某某街道办事处关于印发", "2024年度政府信息公开工作年度报告的通知"]),
    ("某某县自然资源局2024年政府信息公开工作年度报告", ["某某县自然资源局", "2024年政府信息公开工作年度报告"]),  # before the year
    ("某某县自然资源局", ["某某县自然资源局"]),  # fits: whole
    ("  某某县 \n 2024年报告 ", ["某某县", "2024年报告"]),  # a line break of the text is a printed line, edges trimmed
    ("甲" * 30, ["甲" * 30]),  # nowhere sensible to break: whole, the word processor wraps it
])
def test_break_title_breaks_between_parts_only(line: str, printed: list[str]) -> None:
    assert break_title(line) == printed
    if len(printed) > 1 and "\n" not in line:
        assert "".join(printed) == line
        assert all(advance_width(p, 0) <= title_chars() for p in printed)


def test_join_title_gives_the_lines_that_print_so() -> None:
    assert join_title(break_title(LONG_ORGAN)) == [LONG_ORGAN]
    # lines the layout would not have broken so stay apart
    assert join_title(["某某县自然资源局", "某某分局"]) == ["某某县自然资源局", "某某分局"]
    # organ and year line stay apart: a title written so (the usual one) reads back as written
    default = [LONG_ORGAN, "2024年政府信息公开工作年度报告"]
    assert join_title(printed_title(default)) == default
    assert join_title(["朱阳关镇人民政府", "2024年政府信息公开工作年度报告"]) == ["朱阳关镇人民政府", "2024年政府信息公开工作年度报告"]
    # one long line broken before its year reads back as two lines: printed, the two are the same
    assert join_title(break_title("某某县自然资源局2024年政府信息公开工作年度报告")) == ["某某县自然资源局", "2024年政府信息公开工作年度报告"]
    for lines in (default, ["某某市某某区人民政府某某街道办事处关于印发2024年度政府信息公开工作年度报告的通知"]):
        assert printed_title(join_title(printed_title(lines))) == printed_title(lines)


def _title_paragraphs(docx: bytes) -> list[str]:
    return [p.text for p in open_docx(io.BytesIO(docx)).paragraphs if p.style.name == "Title"]


def test_the_docx_breaks_a_long_title_line_inside_its_paragraph() -> None:
    docx = docxreport.render(report(LONG_ORGAN))
    assert _title_paragraphs(docx) == ["某某省某某自治州某某县市场监督管理局\n某某经济技术开发区分局食品安全监测中心",
                                       "2024年政府信息公开工作年度报告"]
    got, problems = extract(io.BytesIO(docx))
    assert problems == [] and got["organ"] == LONG_ORGAN and "title" not in got
    assert got == normalise(report(LONG_ORGAN))


def test_the_web_page_breaks_at_the_same_points() -> None:
    page = docxreport.render_html(report(LONG_ORGAN))
    h1 = lxml.html.fromstring(page).find(".//h1")
    spans = h1.findall("span")
    assert [[t.strip() for t in s.itertext()] for s in spans] == [break_title(LONG_ORGAN), ["2024年政府信息公开工作年度报告"]]
    assert len(spans[0].findall("br")) == 1
    # between the lines (blocks on the page) the <br> only serves fragments without the style sheet: hidden,
    # or Chromium showed an empty line between organ and year
    assert ".docxreport-report h1 > br { display: none; }" in page
    got, problems = docxreport.extract(page.encode("utf-8"))
    assert problems == [] and got["organ"] == LONG_ORGAN and "title" not in got


def test_a_title_regrouped_by_its_printed_lines_is_accepted_silently_and_reads_back_so() -> None:
    """Only the grouping into lines changes (the page shows the same): no warning; a line break written
    inside a title line prints a new line and is warned about."""
    data = report("某某县自然资源局", ["某某县自然资源局2024年政府信息公开工作年度报告"])
    assert docxreport.validate(data) == []
    got, _ = extract(io.BytesIO(docxreport.render(data)))
    assert "title" not in got and got == normalise(data)  # printed exactly as the default title
    data = report("某某县自然资源局", ["某某县\n自然资源局", "2024年政府信息公开工作年度报告"])
    assert [(p.json_path, p.rule) for p in docxreport.validate(data)] == [("title", "text.read_back")]
    got, _ = extract(io.BytesIO(docxreport.render(data)))
    assert got["title"] == ["某某县", "自然资源局", "2024年政府信息公开工作年度报告"] and got == normalise(data)


PARTS = ("某某省", "某某市", "某某自治州", "某某县", "人民政府", "办公室", "发展和改革委员会", "自然资源和规划局", "某某分局",
         "市场监督管理局", "某某街道办事处", "综合行政执法大队", "卫生健康委员会", "（某某局）", "某某中心")


@st.composite
def long_titles(draw: st.DrawFn) -> dict:
    """A long organ name; half of the time a title of its own, the organ's parts and the year line grouped
    into lines some other way (the reader finds the organ as the title's text before the year)."""
    parts = draw(st.lists(st.sampled_from(PARTS), min_size=1, max_size=7))
    tail = f"{BASE['year']}年政府信息公开工作年度报告"
    if not draw(st.booleans()):
        return report("".join(parts))
    cuts = sorted(draw(st.sets(st.integers(1, len(parts)), max_size=2)))
    bounds = [0, *cuts, len(parts)]
    lines = ["".join(parts[a:b]) for a, b in zip(bounds, bounds[1:]) if a < b]
    if draw(st.booleans()):
        lines[-1] += tail
    else:
        lines.append(tail)
    return report("".join(parts), lines[:3] if len(lines) <= 3 else [*lines[:1], "".join(lines[1:])])


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(long_titles())
def test_long_organs_and_titles_read_back_from_docx_and_web_page(data: dict) -> None:
    assert [p for p in docxreport.validate(data) if p.severity == "error"] == []
    want = normalise(data)
    docx = docxreport.render(data)
    printed = [line for p in _title_paragraphs(docx) for line in p.split("\n")]
    assert printed == printed_title(data.get("title") or [data["organ"], f"{data['year']}年政府信息公开工作年度报告"])
    got, _ = extract(io.BytesIO(docx))
    assert got == want
    from_page, _ = docxreport.extract(docxreport.render_html(data).encode("utf-8"))
    assert (from_page["organ"], from_page.get("title")) == (want["organ"], want.get("title"))
