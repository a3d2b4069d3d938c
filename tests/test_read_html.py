"""Web pages read back: the HTML writer's pages and fragments, and pages as CMSs write them (by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from test_extract_roundtrip import reports

import docxreport
from docxreport.document import normalise
from docxreport.errors import NotAReportError
from docxreport.format import load_format
from docxreport.html import reader
from docxreport.html.grid import table_element
from docxreport.report import rules
from docxreport.report.jsonfile import dumps
from docxreport.tables import FoundTable, cell_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
FMT = load_format()


def canonical(value: Any) -> Any:
    return json.loads(dumps({"v": value}))["v"]


@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_rendered_pages_read_back_exactly(path: Path, fragment: bool) -> None:
    data = docxreport.load(path)
    page = docxreport.render_html(data, fragment=fragment)
    got, problems = docxreport.extract(page.encode("utf-8"))
    assert problems == []
    assert canonical(got) == canonical(normalise(data))


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=reports())
def test_generated_reports_read_back_from_their_page(data: dict[str, Any]) -> None:
    # a custom title without the year: the page (unlike the .docx's title property) carries no organ and
    # year elsewhere, so it cannot be read back (docs/reading.md)
    data.pop("title", None)
    got, problems = docxreport.extract(docxreport.render_html(data).encode("utf-8"))
    want = normalise(data)
    assert [p for p in problems if p.severity == "error"] == []
    for key in ("organ", "year", "proactive", "requests", "appeals"):
        assert canonical(got[key]) == canonical(want[key]), key


def test_a_space_typed_between_chinese_characters_is_kept_a_source_line_break_is_not() -> None:
    data = docxreport.load(EXAMPLES[0])
    data.pop("title", None)
    data["organ"] = "一 一"  # found by hypothesis: the reader dropped every space between Chinese characters
    got, _ = docxreport.extract(docxreport.render_html(data).encode("utf-8"))
    assert got["organ"] == "一 一"
    wrapped = docxreport.render_html(data).replace("一 一", "一\n   一").encode("utf-8")
    assert docxreport.extract(wrapped)[0]["organ"] == "一一"


# --------------------------------------------------------------------------- a page as a CMS writes it


def cms_table(table_id: str, data: dict[str, Any]) -> str:
    """A national table as a TRS-style CMS stores a Word paste: width= on every cell, <font>, nested spans,
    <o:p>, &nbsp; padding, <br> inside header cells, no <thead>, no <th>."""
    complete = rules.complete(data, FMT)
    element = table_element(FMT.tables[table_id], lambda c: cell_text(c, complete))
    rows = []
    for tr in element.iter("tr"):
        cells = []
        for cell in tr:
            text = cell.text or ""
            if len(text) in (4, 6) and not text.isdigit():
                text = f"{text[:len(text) // 2]}<br/>{text[len(text) // 2:]}"
            spans = "".join(f' {k}="{v}"' for k, v in cell.attrib.items() if k in ("rowspan", "colspan"))
            cells.append(f'<td width="57" valign="center"{spans} style="border:solid windowtext 1.0pt">'
                         f'<p class="MsoNormal" align="center"><span style="font-size:10.5pt"><font face="宋体">'
                         f'<span lang="EN-US">&nbsp;{text}&nbsp;</span></font></span><o:p></o:p></p></td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<table border="1" cellspacing="0" cellpadding="0" width="600" class="MsoNormalTable">' + "".join(rows) + "</table>"


def cms_page(data: dict[str, Any], charset: str = "utf-8") -> str:
    def para(text: str) -> str:
        return f'<p class="MsoNormal" style="text-indent:32pt"><span style="font-family:仿宋_GB2312"><font size="4">{text}</font></span><o:p></o:p></p>'

    def narrative(blocks: list[Any], level: int = 2) -> str:
        out = []
        for i, block in enumerate(blocks):
            number = f"（{'一二三四五六七八九十'[i]}）" if level == 2 else f"{i + 1}."
            if isinstance(block, str):
                out.append(para(block))
            elif "text" in block:
                out.append(para(f"<strong>{number}{block['heading']}。</strong>{block['text']}"))
            else:
                out.append(para(f"<b>{number}{block['heading']}</b>") + narrative(block["body"], level + 1))
        return "".join(out)

    heads = [s.heading for s in FMT.sections]
    body = (
        para(data["preamble"][0]) + f"<p><b>{heads[0]}</b></p>" + narrative(data["overview"])
        + f"<p>{heads[1]}</p>" + cms_table("table2", data)
        + f"<p>&nbsp;</p><div><span>{heads[2]}</span></div>" + cms_table("table3", data)
        + f"<h3>{heads[3]}</h3>" + cms_table("table4", data)
        + f"<p>{heads[4]}</p>" + narrative(data["problems"]) + f"<p>{heads[5]}</p>" + narrative(data["other"])
        + f'<p align="right">{data["organ"]}</p><p align="right">2025年1月20日</p>'
    )
    nav = "".join(f'<li><a href="/c{i}.html">栏目{i}</a></li>' for i in range(12))
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">
<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{data['organ']}{data['year']}年政府信息公开工作年度报告_政府信息公开_某某县人民政府</title>
<script>var trs = "一、总体情况 二、主动公开政府信息情况";</script><style>td {{ font-size: 12pt }}</style></head>
<body><div class="top"><ul class="nav">{nav}</ul><div class="crumb">首页 &gt; 政府信息公开 &gt; 年度报告</div></div>
<table width="1000" align="center" class="layout"><tr><td width="200"><div class="side">一、相关链接<ul>{nav}</ul></div></td>
<td width="800"><div class="article"><h1 class="title">{data['organ']}{data['year']}年政府信息公开工作年度报告</h1>
<div class="info">发布时间：2025-01-20 来源：本站 【字体：大 中 小】</div>
<div class="TRS_Editor"><div class="Custom_UnionStyle">{body}</div></div>
<div class="share">分享到：微信 微博</div></div></td></tr></table>
<div class="footer">主办：某某县人民政府办公室　网站标识码：0000000000 <br/>二、联系我们</div></body></html>"""


@pytest.mark.parametrize("charset", ["utf-8", "gbk", "gb2312"])
def test_a_cms_page_with_layout_tables_navigation_and_word_markup(charset: str) -> None:
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    page = cms_page(data, charset).encode("gb18030" if charset != "utf-8" else "utf-8")
    got, problems = docxreport.extract(page, "t2025.html")
    want = normalise(data)
    assert [p for p in problems if p.severity == "error"] == [], problems
    for key in ("organ", "year", "date", "proactive", "requests", "appeals"):
        assert canonical(got.get(key)) == canonical(want.get(key)), key
    assert got["overview"][0]["heading"] == want["overview"][0]["heading"]
    assert got["other"] == want["other"]


def test_article_is_chosen_and_layout_tables_are_not_grids() -> None:
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    doc = reader.read_document(cms_page(data).encode(), "x.html")
    tables = [i for i in doc.items if isinstance(i, FoundTable)]
    assert len(tables) == 3
    texts = [i.text for i in doc.items if not isinstance(i, FoundTable)]
    assert texts[0] == "某某县自然资源局2024年政府信息公开工作年度报告"
    assert not any("栏目" in t or "分享到" in t or "网站标识码" in t for t in texts)
    three = tables[1]
    assert any(c.text == "商业\n企业" for c in three.cells)  # <br> in a cell is a line break


def test_encodings_bom_and_undeclared_gbk() -> None:
    text = "<p>一、总体情况</p>"
    assert reader.decode(b"\xef\xbb\xbf" + text.encode()) == text
    assert reader.decode(text.encode("gbk")) == text  # no declaration: not UTF-8, so GB18030
    assert reader.decode(text.encode("gbk"), "GB2312") == text
    assert reader.decode('<meta charset="gbk"><p>𠀀</p>'.encode("gb18030")).endswith("𠀀</p>")


def test_huge_spans_are_bounded() -> None:
    page = b'<table><tr><td rowspan="99999999" colspan="99999">a</td><td>1</td></tr><tr><td>2</td></tr></table>'
    doc = reader.read_document(page, "x.html")
    cell = doc.items[0].cells[0]  # type: ignore[union-attr]
    assert cell.rowspan == 2 and cell.colspan == reader.MAX_SPAN


def test_no_entities_and_no_network() -> None:
    page = b'<!DOCTYPE html [<!ENTITY x SYSTEM "file:///etc/passwd">]><p>&x;</p><p>A&amp;B</p>'
    doc = reader.read_document(page, "x.html")
    texts = [p.text for p in doc.items]  # type: ignore[union-attr]
    assert "&x;" in texts and "A&B" in texts  # the entity stays text: never the file's content
    assert not any("root:" in t for t in texts)


def test_a_page_that_is_no_report() -> None:
    with pytest.raises(NotAReportError, match="不是政府信息公开工作年度报告"):
        docxreport.extract(b"<html><body><p>\xe9\x80\x9a\xe7\x9f\xa5</p></body></html>")
