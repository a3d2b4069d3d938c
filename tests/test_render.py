"""The rendered document read back: table grids, narrative, page setup, fonts, footers, signature."""

from __future__ import annotations

import copy
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

import docxreport
from docxreport.report import rules
from docxreport.report.blocks import chinese_numeral
from docxreport.format import load_format
from docxreport.docx.ooxml import label_pieces, read_grid
from docxreport.tables import format_fee
from docxreport.docx.template import TEMPLATE_FILE, build_template
from docxreport.docx.templatecompare import same_structure

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "reference-format-2021.json").read_text(encoding="utf-8"))


def example(name: str) -> dict:
    return docxreport.load(EXAMPLES / f"{name}.json")


def open_docx(data: bytes):
    return Document(io.BytesIO(data))


@pytest.fixture(scope="module")
def county() -> tuple[dict, object]:
    data = example("county-bureau-2024")
    return data, open_docx(docxreport.render(data))


@pytest.fixture(scope="module")
def seed() -> tuple[dict, object]:
    data = example("zhuyangguan-2024")
    return data, open_docx(docxreport.render(data))


def body_texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def value_text(full: dict, key: str) -> str:
    value = rules.get_path(full, key)
    return format_fee(value) if isinstance(value, (Decimal, float)) else str(value)


# --------------------------------------------------------------------------- tables


@pytest.mark.parametrize("name", ["county-bureau-2024", "county-bureau-2024-minimal-totals", "zhuyangguan-2024"])
def test_every_table_grid_equals_the_reference_with_data_values(name: str) -> None:
    data = example(name)
    doc = open_docx(docxreport.render(data))
    full = rules.complete(data, load_format())
    assert len(doc.tables) == 3
    for table, ref in zip(doc.tables, REFERENCE["tables"]):
        got = read_grid(table._tbl)
        expected = []
        placed: dict[int, list[int]] = {}
        for r, row in enumerate(ref["rows"]):  # place reference cells on the grid (HTML rowspan semantics)
            c = 0
            for cell in row:
                while c in placed.get(r, []):
                    c += 1
                for rr in range(r, r + cell["rowspan"]):
                    placed.setdefault(rr, []).extend(range(c, c + cell["colspan"]))
                text = value_text(full, cell["key"]) if cell["kind"] == "data" else cell["text"]
                expected.append((r, c, cell["rowspan"], cell["colspan"], text))
                c += cell["colspan"]
        # a label longer than a page prints in pieces, each repeating its text (test_long_label_prints_in_pieces)
        pieces = {(cell.row, cell.col): p for cell, p in label_pieces(load_format().tables[ref["id"]]).items()}
        expected = sorted(piece for e in expected
                          for piece in ([(a, e[1], b - a, e[3], e[4]) for a, b in pieces[e[:2]]] if e[:2] in pieces else [e]))
        assert [(g.row, g.col, g.rowspan, g.colspan, g.text) for g in got] == expected, ref["id"]
        assert len(table._tbl.findall(qn("w:tblGrid") + "/" + qn("w:gridCol"))) == ref["grid_columns"]


def test_totals_absent_from_the_input_are_printed_computed() -> None:
    doc = open_docx(docxreport.render(example("county-bureau-2024-minimal-totals")))
    full = example("county-bureau-2024")
    cells = {(c.row, c.col): c.text for c in read_grid(doc.tables[1]._tbl)}
    assert cells[(3, 9)] == str(full["requests"]["received"]["total"]) == "50"
    assert cells[(26, 9)] == str(full["requests"]["outcomes"]["total"]["total"]) == "51"


def test_table_rows_repeat_headers_and_never_split(county) -> None:
    _, doc = county
    fmt = load_format()
    for table, spec in zip(doc.tables, fmt.tables.values()):
        rows = table._tbl.findall(qn("w:tr"))
        assert all(tr.find(qn("w:trPr") + "/" + qn("w:cantSplit")) is not None for tr in rows)
        headers = [tr.find(qn("w:trPr") + "/" + qn("w:tblHeader")) is not None for tr in rows]
        assert headers == [i < spec.header_rows for i in range(len(rows))]
        widths = [int(g.get(qn("w:w"))) for g in table._tbl.iter(qn("w:gridCol"))]
        assert abs(sum(widths) - 8844) <= 10  # the 156 mm text block


def test_long_label_prints_in_pieces_each_kept_on_one_page(county) -> None:
    """Table 三 is taller than a page; its outer label 三、本年度办理结果 (22 rows) prints as two merged cells,
    both with the label's text, split before （六）其他处理, each kept with its rows (keep-with-next on every
    row but a piece's last); the format's other merged labels stay whole."""
    _, doc = county
    fmt = load_format()
    pieces = {cell.text: p for spec in fmt.tables.values() for cell, p in label_pieces(spec).items()}
    assert pieces == {"三、本年度办理结果": [(5, 23), (23, 27)]}
    three = doc.tables[1]._tbl
    labels = [(c.row, c.col, c.rowspan) for c in read_grid(three) if c.text == "三、本年度办理结果"]
    assert labels == [(5, 0, 18), (23, 0, 4)]
    assert next(c for c in read_grid(three) if c.text == "（六）其他处理").row == 23
    rows = three.findall(qn("w:tr"))
    kept = [all(p.find(f"{qn('w:pPr')}/{qn('w:keepNext')}") is not None for p in tr.iter(qn("w:p"))) for tr in rows]
    assert [r for r, keep in enumerate(kept) if keep] == [0, 1, 2, *range(5, 22), 23, 24, 25]


def test_table_cells_are_centred_in_table_text_style(county) -> None:
    _, doc = county
    for table in doc.tables:
        for tc in table._tbl.iter(qn("w:tc")):
            assert tc.find(f"{qn('w:tcPr')}/{qn('w:vAlign')}").get(qn("w:val")) == "center"
            assert tc.find(f"{qn('w:p')}/{qn('w:pPr')}/{qn('w:pStyle')}").get(qn("w:val")) == "TableText"
    style = doc.styles["Table Text"]
    assert style.font.size.pt == 10.5
    assert style.paragraph_format.alignment == 1  # centre


def test_fees_print_without_trailing_zeros() -> None:
    data = example("county-bureau-2024")
    for value, shown in ((Decimal("5949.088667"), "5949.088667"), (Decimal("12.50"), "12.5"), (0, "0"), (7730.28, "7730.28")):
        data["proactive"]["fees"] = value
        doc = open_docx(docxreport.render(data))
        cells = read_grid(doc.tables[0]._tbl)
        assert cells[-1].text == shown


# --------------------------------------------------------------------------- narrative


def test_seed_narrative_appears_verbatim_and_in_order(seed) -> None:
    data, doc = seed
    texts = [t for t in body_texts(doc) if t]
    expected = ["朱阳关镇人民政府", "2024年政府信息公开工作年度报告", "一、总体情况"]
    expected += [f"（{chinese_numeral(i)}）{b['heading']}{b['text']}" for i, b in enumerate(data["overview"], 1)]
    expected += ["二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况"]
    for i, block in enumerate(data["problems"], 1):
        expected += [f"（{chinese_numeral(i)}）{block['heading']}", *block["body"]]
    expected += ["六、其他需要报告的事项", *data["other"]]
    assert texts == expected
    # a few sentences of the seed itself, character for character
    assert texts[3].startswith("（一）主动公开:我镇严格按照《中华人民共和国政府信息公开条例》规定的主动公开信息范围发布或更新信息")
    assert "通过不同渠道和方式主动公开政府信息 26 条" in texts[3]
    assert texts[-1] == "本报告中所列数据的统计时限为2024年1月1日起至2024年12月31日止。"


def test_run_in_heading_keeps_two_fonts_in_one_paragraph(seed) -> None:
    _, doc = seed
    para = next(p for p in doc.paragraphs if p.text.startswith("（二）依申请公开"))
    assert para.style.name == "Heading 2"
    heading, body = para.runs
    assert heading.text == "（二）依申请公开:" and heading.style.name == "Default Paragraph Font"
    assert body.style.name == "Run-in Body"
    assert body.text.startswith("严格实行信息依申请公开工作流程")
    east_asia = body.style.element.find(f"{qn('w:rPr')}/{qn('w:rFonts')}").get(qn("w:eastAsia"))
    assert east_asia == "仿宋_GB2312"


def _narrative_doc(blocks: list) -> list[tuple[str, str]]:
    data = example("zhuyangguan-2024")
    data["overview"] = blocks
    doc = open_docx(docxreport.render(data))
    start = next(i for i, p in enumerate(doc.paragraphs) if p.text == "一、总体情况")
    end = next(i for i, p in enumerate(doc.paragraphs) if p.text == "二、主动公开政府信息情况")
    return [(p.style.name, p.text) for p in doc.paragraphs[start + 1:end]]


def test_headings_are_numbered_by_depth_and_never_twice() -> None:
    got = _narrative_doc([
        "开头段落。",
        {"heading": "主动公开", "text": "正文。"},
        {"heading": "（二）依申请公开：", "text": "已有序号的不再编号。"},
        {"heading": "存在问题", "body": [
            "段落",
            {"heading": "第一类", "body": [{"heading": "细项", "text": "四级"}, {"heading": "（2）已编号", "body": ["深段落"]}]},
            {"heading": "2.已编号", "text": "三级"},
        ]},
    ])
    assert got == [
        ("Normal", "开头段落。"),
        ("Heading 2", "（一）主动公开。正文。"),
        ("Heading 2", "（二）依申请公开：已有序号的不再编号。"),
        ("Heading 2", "（三）存在问题"),
        ("Normal", "段落"),
        ("Heading 3", "1.第一类"),
        ("Heading 4", "（1）细项。四级"),
        ("Heading 4", "（2）已编号"),
        ("Normal", "深段落"),
        ("Heading 3", "2.已编号。三级"),
    ]


def test_preamble_precedes_section_one_and_title_lines_are_kept(county) -> None:
    data, doc = county
    texts = [t for t in body_texts(doc) if t]
    assert texts[: len(data["title"])] == data["title"]
    assert texts[len(data["title"]): len(data["title"]) + len(data["preamble"])] == data["preamble"]
    assert texts[len(data["title"]) + len(data["preamble"])] == "一、总体情况"
    assert [p.style.name for p in doc.paragraphs[: len(data["title"])]] == ["Title"] * len(data["title"])


def test_title_defaults_to_organ_and_year(seed) -> None:
    _, doc = seed
    assert [p.text for p in doc.paragraphs[:2]] == ["朱阳关镇人民政府", "2024年政府信息公开工作年度报告"]


def test_signature_block_when_date_is_given(county, seed) -> None:
    _, doc = county
    texts = [p for p in doc.paragraphs if p.text]
    organ, date = texts[-2], texts[-1]
    assert (organ.text, date.text) == ("某某县自然资源局", "2025年1月20日")
    assert organ.style.name == date.style.name == "Signature"
    def right(p) -> float:
        return int(p._p.find(f"{qn('w:pPr')}/{qn('w:ind')}").get(qn("w:rightChars"))) / 100

    # GB/T 9704 7.3.5.1: the date starts two characters right of the name's first character; here the date
    # (3 CJK + 7 half-width digits) reaches past the name (8), so the date is 右空二字 and the name moves.
    # Printed widths: a 16 pt ideograph condensed to 15.75 pt, a digit 7.75 pt, 3.5 pt at each of the five
    # changes between digits and ideographs, in 16 pt characters.
    name_w, date_w, two = 8 * 15.75 / 16, (3 * 15.75 + 7 * 7.75 + 5 * 3.5) / 16, 2 * 15.75 / 16
    assert right(date) == 2
    assert right(organ) + name_w == pytest.approx(right(date) + date_w + two, abs=0.006)
    _, seed_doc = seed
    assert not any(p.style.name == "Signature" for p in seed_doc.paragraphs)


# --------------------------------------------------------------------------- page, fonts, footers


def test_page_setup_follows_gbt9704(county) -> None:
    _, doc = county
    sect = doc.sections[0]
    assert (sect.page_width.twips, sect.page_height.twips) == (11906, 16838)
    assert (sect.top_margin.twips, sect.bottom_margin.twips, sect.left_margin.twips, sect.right_margin.twips) == (2098, 1984, 1588, 1474)
    grid = sect._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines" and grid.get(qn("w:linePitch")) == "579"
    # 28 characters of 16 pt in the 156 mm text block: the body styles are condensed to 15.75 pt a character
    normal = doc.styles["Normal"].element.find(f"{qn('w:rPr')}/{qn('w:spacing')}")
    assert int(normal.get(qn("w:val"))) * -1 == 5 and 28 * (320 - 5) <= 11906 - 1588 - 1474 < 29 * (320 - 5)


@pytest.mark.parametrize(
    ("style", "east_asia", "size"),
    [("Normal", "仿宋_GB2312", 16), ("Title", "方正小标宋简体", 22), ("Heading 1", "黑体", 16), ("Heading 2", "楷体_GB2312", 16),
     ("Heading 3", "仿宋_GB2312", 16), ("Heading 4", "仿宋_GB2312", 16), ("Signature", "仿宋_GB2312", 16), ("footer", "宋体", 14)],
)
def test_style_fonts_sizes_and_line_spacing(county, style: str, east_asia: str, size: float) -> None:
    _, doc = county
    st = doc.styles[style]
    fonts = st.element.find(f"{qn('w:rPr')}/{qn('w:rFonts')}")
    assert fonts.get(qn("w:eastAsia")) == east_asia
    assert fonts.get(qn("w:ascii")) == fonts.get(qn("w:hAnsi")) == "Times New Roman"
    assert st.font.size.pt == size
    if style not in ("footer",):
        assert st.paragraph_format.line_spacing.pt == pytest.approx(28.95)
        assert st.paragraph_format.line_spacing_rule == 4  # EXACTLY


def test_headings_are_word_heading_styles_with_outline_levels(county) -> None:
    _, doc = county
    for level in range(1, 5):
        ppr = doc.styles[f"Heading {level}"].element.find(qn("w:pPr"))
        assert ppr.find(qn("w:outlineLvl")).get(qn("w:val")) == str(level - 1)
    assert doc.paragraphs[[p.text for p in doc.paragraphs].index("一、总体情况")].style.name == "Heading 1"
    indent = doc.styles["Normal"].element.find(f"{qn('w:pPr')}/{qn('w:ind')}")
    assert indent.get(qn("w:firstLineChars")) == "200"


def test_page_numbers_on_odd_and_even_footers(county) -> None:
    _, doc = county
    assert doc.settings.odd_and_even_pages_header_footer
    sect = doc.sections[0]
    for footer, align in ((sect.footer, "right"), (sect.even_page_footer, "left")):
        para = footer.paragraphs[0]
        assert para.text == "— 1 —"
        assert para._p.find(f"{qn('w:pPr')}/{qn('w:jc')}").get(qn("w:val")) == align
        instr = "".join(t.text for t in para._p.iter(qn("w:instrText")))
        assert instr.strip() == "PAGE"


def test_windows_font_profile() -> None:
    doc = open_docx(docxreport.render(example("county-bureau-2024"), fonts="windows"))
    east = {name: doc.styles[name].element.find(f"{qn('w:rPr')}/{qn('w:rFonts')}").get(qn("w:eastAsia"))
            for name in ("Normal", "Title", "Heading 1", "Heading 2")}
    assert east == {"Normal": "仿宋", "Title": "宋体", "Heading 1": "黑体", "Heading 2": "楷体"}
    with pytest.raises(ValueError):
        docxreport.render(example("county-bureau-2024"), fonts="comic")


# --------------------------------------------------------------------------- escaping


HOSTILE = "研究院&中心 <tag> A&B \"引号\" '单引号' {{ organ }} {% if x %} {_{ }_} {#c#} ]]> &amp;"


def test_user_text_comes_out_literally_everywhere() -> None:
    data = example("county-bureau-2024")
    data["organ"] = "研究院&中心<测试>{{ year }}"
    data["title"] = ["A&B <b>", "{%p if x %}"]
    data["overview"][0]["text"] = HOSTILE
    data["problems"].append(HOSTILE + "\n第二行\t制表")
    doc = open_docx(docxreport.render(data))
    texts = [p.text for p in doc.paragraphs]
    assert texts[:2] == ["A&B <b>", "{%p if x %}"]
    assert any(t.endswith(HOSTILE) and t.startswith("（一）") for t in texts)
    assert HOSTILE + "\n第二行\t制表" in texts
    assert "研究院&中心<测试>{{ year }}" in texts  # the signature
    assert len(doc.tables) == 3
    assert doc.core_properties.title == "研究院&中心<测试>{{ year }}2024年政府信息公开工作年度报告"
    assert doc.core_properties.author == "研究院&中心<测试>{{ year }}"


def test_invalid_data_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    data = example("county-bureau-2024")
    data["requests"]["received"]["total"] = 99
    out = tmp_path / "out.docx"
    with pytest.raises(docxreport.InvalidReportError) as info:
        docxreport.render(data, out)
    assert [p.json_path for p in info.value.problems][0] == "requests.received.total"
    assert not out.exists()


def test_render_writes_paths_and_file_objects(tmp_path: Path) -> None:
    data = example("zhuyangguan-2024")
    out = tmp_path / "r.docx"
    assert docxreport.render(data, out) is None
    buf = io.BytesIO()
    assert docxreport.render(data, buf) is None
    assert same_structure(out.read_bytes(), buf.getvalue())
    assert len(open_docx(out.read_bytes()).tables) == 3


def test_committed_template_matches_what_the_code_builds() -> None:
    committed = (ROOT / "templates" / TEMPLATE_FILE).read_bytes()
    assert same_structure(committed, build_template()), "templates/ is stale: run `python -m docxreport.build`"


def test_template_is_lean() -> None:
    committed = (ROOT / "templates" / TEMPLATE_FILE).read_bytes()
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(committed)).namelist()
    assert "word/stylesWithEffects.xml" not in names and "customXml/item1.xml" not in names
    assert "word/theme/theme1.xml" in names  # openxml-audit requires the theme relationship
    assert len(committed) < 40_000


def test_render_does_not_modify_its_input() -> None:
    data = example("county-bureau-2024-minimal-totals")
    before = copy.deepcopy(data)
    docxreport.render(data)
    assert data == before


@pytest.mark.parametrize(("organ", "name_right", "date_right"), [
    # printed widths: an ideograph 15.75 pt, a digit 7.75 pt (16 pt and 8 pt condensed by 0.25 pt), 3.5 pt
    # between digits and ideographs, in 16 pt characters
    ("某某县人民政府办公室", 2, 2.44),  # name longer than date + 2: name 右空二字, date under it shifted by 2
    ("某局", 9.44, 2),  # date longer: date 右空二字, the name moves left
    ("中华人民共和国某某省某某市某某区人民政府办公室（区政务服务和数据管理局）", 2, 2),  # two lines: both 右空二字
])
def test_signature_indents_follow_gbt9704(organ: str, name_right: float, date_right: float) -> None:
    data = {**example("county-bureau-2024"), "organ": organ}
    doc = open_docx(docxreport.render(data))
    name, date = [p for p in doc.paragraphs if p.style.name == "Signature"]
    assert (name.text.replace("\n", ""), date.text) == (organ, "2025年1月20日")
    got = [int(p._p.find(f"{qn('w:pPr')}/{qn('w:ind')}").get(qn("w:rightChars"))) / 100 for p in (name, date)]
    assert got == [name_right, date_right]
    if len(organ) > 26:  # too long for one line: broken between the organ's parts, never inside a word
        assert name.text.split("\n") == ["中华人民共和国某某省某某市某某区", "人民政府办公室（区政务服务和数据管理局）"]


def test_numbers_too_wide_for_their_cell_are_set_smaller_in_steps() -> None:
    """An 8-digit count in table 三 (a 30 pt column) prints at 6 pt, 7 digits at 7 pt, 5 at 9 pt; four digits and the
    wide cells of table 二 keep the table size (no w:sz of their own)."""
    data = example("county-bureau-2024-minimal-totals")
    data["requests"]["outcomes"]["disclosed"]["natural"] += 9_999_000
    data["requests"]["received"]["natural"] += 9_999_000
    data["requests"]["outcomes"]["disclosed"]["business"] += 99_990
    data["requests"]["received"]["business"] += 99_990
    data["proactive"]["licensing"] = 10_000_000
    # valid; the narrative's own counts now differ from the tables, which is only a warning
    assert not [p for p in docxreport.validate(data) if p.severity == "error"]
    doc = open_docx(docxreport.render(data))
    sizes = {}
    for tc in doc.element.body.iter(qn("w:tc")):
        text = "".join(t.text or "" for t in tc.iter(qn("w:t")))
        sz = tc.find(f".//{qn('w:rPr')}/{qn('w:sz')}")
        sizes.setdefault(text, set()).add(None if sz is None else int(sz.get(qn("w:val"))))
    full = rules.complete(data, load_format())
    seven, eight = str(full["requests"]["received"]["natural"]), str(full["requests"]["received"]["total"])
    assert (len(seven), len(eight)) == (7, 8)
    assert sizes[seven] == {14} and sizes[eight] == {12}  # 7 and 6 pt
    assert sizes[str(full["requests"]["received"]["business"])] == {18}  # 5 digits: 9 pt
    assert sizes["10000000"] == {None}  # table 二's wide cell
    assert all(s == {None} for text, s in sizes.items() if len(text) <= 4)  # labels and short counts untouched
