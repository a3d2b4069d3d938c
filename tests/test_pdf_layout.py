"""What the printed report looks like: reports rendered to PDF through LibreOffice, measured with pdfplumber.

Every example and a few hundred generated reports (long paragraphs with every punctuation mark, long organ
names, counts up to the schema's 10,000,000) are converted in a few ``soffice`` calls; the tests then assert
that nothing is lost (every character of the narrative, every table value as one word), that the faces are
Chinese ones of distinct families, and where title lines, table rows and the signature land on the page.

Needs ``soffice`` and poppler; skipped when they are absent, except in CI (``CI=true``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docxreport
from docxreport.format import load_format
from docxreport.pdf.office import Office
from docxreport.report import rules
from docxreport.tables import format_fee

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
FMT = load_format()
pytestmark = pytest.mark.libreoffice
GENERATED = int(os.environ.get("DOCXREPORT_LAYOUT_REPORTS", "60"))  # generated reports, converted in batches of BATCH per soffice call
BATCH = 60
MAX_COUNT = 10_000_000


def _tools() -> None:
    missing = [t for t in ("soffice", "pdftotext", "pdffonts") if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must install {missing}")
        pytest.skip(f"not installed: {missing}")


# --------------------------------------------------------------------------- generated reports

COMMON = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
PUNCTUATION = "，。、；：？！“”‘’《》（）【】…—·〔〕％"
ALPHABET = st.one_of(st.sampled_from(COMMON), st.sampled_from(PUNCTUATION), st.sampled_from("0123456789abcXYZ"))
WORDS = st.text(ALPHABET, min_size=1, max_size=40)


@st.composite
def _long_paragraph(draw: st.DrawFn) -> str:
    """Sentences of 2–40 characters, each closed by a punctuation mark, so that over hundreds of reports
    every mark falls at the end of a full line."""
    parts = draw(st.lists(st.tuples(WORDS, st.sampled_from(PUNCTUATION)), min_size=1, max_size=14))
    return "".join(words + mark for words, mark in parts)


HEADING = st.text(st.sampled_from(COMMON), min_size=2, max_size=24)


def _blocks(level: int) -> st.SearchStrategy[list]:
    run_in = st.fixed_dictionaries({"heading": HEADING, "text": _long_paragraph()})
    if level > FMT.max_heading_depth:
        return st.lists(_long_paragraph(), min_size=1, max_size=3)
    nested = st.fixed_dictionaries({"heading": HEADING, "body": st.deferred(lambda: _blocks(level + 1))})
    return st.lists(st.one_of(_long_paragraph(), run_in, nested), min_size=1, max_size=3)


ORGAN_PARTS = ("某某省", "某某市", "某某自治州", "某某县", "人民政府", "办公厅", "发展和改革委员会", "自然资源和规划局", "某某分局",
               "生态环境局", "市场监督管理局", "某某街道办事处", "综合行政执法大队", "住房和城乡建设局", "卫生健康委员会")
ORGAN = st.lists(st.sampled_from(ORGAN_PARTS), min_size=1, max_size=5).map("".join)
MAGNITUDE = st.one_of(st.integers(0, 30), st.integers(1000, 9999), st.integers(10_000, 999_999), st.integers(1_000_000, 9_999_999))


@st.composite
def _requests(draw: st.DrawFn) -> dict:
    cols = FMT.lists["applicant_columns"]
    out: dict = {}

    def put(path: str, row: dict) -> None:
        node = out
        *parents, leaf = path.split(".")[1:]
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = row

    rows = {path: {c: draw(st.integers(0, 30)) for c in cols} for path in FMT.lists["outcome_rows"]}
    # one cell takes what is left of the schema's maximum, or part of it: 4- to 8-digit values
    big_path, big_col = draw(st.sampled_from(sorted(rows))), draw(st.sampled_from(cols))
    small_total = sum(sum(r.values()) for r in rows.values()) + 40 * len(cols)
    rows[big_path][big_col] += draw(st.one_of(st.just(MAX_COUNT - small_total), st.integers(0, MAX_COUNT - small_total)))
    totals = {c: sum(r[c] for r in rows.values()) for c in cols}
    for path, row in rows.items():
        put(path, row)
    forward = {c: draw(st.integers(0, 20)) for c in cols}
    over = {c: draw(st.integers(0, 20)) if totals[c] + forward[c] >= 20 else 0 for c in cols}
    put("requests.carried_forward", forward)
    put("requests.carried_over", over)
    put("requests.received", {c: totals[c] + forward[c] - over[c] for c in cols})
    return out


@st.composite
def reports(draw: st.DrawFn) -> dict:
    organ = draw(ORGAN)
    data: dict = {"organ": organ, "year": draw(st.integers(2008, 2100))}
    data["date"] = draw(st.dates(min_value=date(2008, 1, 1), max_value=date(2100, 12, 31))).isoformat()
    if draw(st.booleans()):
        data["preamble"] = draw(_blocks(2))
    data["overview"] = draw(_blocks(2))
    count = st.one_of(st.just(MAX_COUNT), MAGNITUDE)
    data["proactive"] = {
        "regulations": {k: draw(MAGNITUDE) for k in ("issued", "repealed", "in_force")},
        "normative_documents": {k: draw(MAGNITUDE) for k in ("issued", "repealed", "in_force")},
        "licensing": draw(count), "penalties": draw(count), "coercive_measures": draw(count),
        "fees": draw(st.decimals(min_value=0, max_value=99_999_999, places=draw(st.integers(0, 4)), allow_nan=False, allow_infinity=False)),
    }
    data["requests"] = draw(_requests())
    appeals = {}
    for group in FMT.lists["appeal_groups"]:
        share = MAX_COUNT // len(FMT.lists["appeal_results"])
        appeals[group] = {r: draw(st.one_of(st.integers(0, 30), st.integers(1000, share))) for r in FMT.lists["appeal_results"]}
    data["appeals"] = appeals
    data["problems"] = draw(_blocks(2))
    data["other"] = draw(_blocks(2))
    return data


def _generated(n: int) -> list[dict]:
    found: list[dict] = []

    @settings(max_examples=n, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(reports())
    def collect(data: dict) -> None:
        if len(found) < n:
            found.append(data)

    collect()
    return found


#: 37 characters (issue 13: such a name broke mid-word in the title, 某某分/局)
LONG_ORGAN = "某某省某某自治州某某县市场监督管理局某某经济技术开发区分局食品安全监测中心"


def _long_organ() -> dict:
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    data.pop("title")
    data["organ"] = LONG_ORGAN
    return data


# --------------------------------------------------------------------------- conversion

# Characters whose regional forms differ (Japanese 直 and 骨 are drawn differently from the Chinese ones).
PROBE_TEXT = "直骨写角过"
PROBES = {"official": ("黑体", "宋体"), "reference-sc": ("Noto Sans CJK SC", "Noto Serif CJK SC"),
          "reference-jp": ("Noto Sans CJK JP", "Noto Serif CJK JP")}


def _probe(path: Path, faces: tuple[str, ...]) -> None:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    for face in faces:
        run = doc.add_paragraph().add_run(PROBE_TEXT)
        run.font.size = Pt(40)
        run._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), face)
    doc.save(str(path))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict | None, Path]]:
    """name → (report data, its PDF); probes have no data."""
    _tools()
    folder = tmp_path_factory.mktemp("layout")
    items: dict[str, tuple[dict | None, Path]] = {}
    for path in EXAMPLES:
        items[path.stem] = (docxreport.load(path), folder / f"{path.stem}.docx")
    items["long-organ"] = (_long_organ(), folder / "long-organ.docx")
    for i, data in enumerate(_generated(GENERATED)):
        items[f"generated-{i:03d}"] = (data, folder / f"generated-{i:03d}.docx")
    for name, (data, docx) in items.items():
        docxreport.render(data, docx)
    for name, faces in PROBES.items():
        _probe(folder / f"probe-{name}.docx", faces)
        items[f"probe-{name}"] = (None, folder / f"probe-{name}.docx")
    docs = [docx for _, docx in items.values()]
    with Office(profile=folder / "profile") as office:
        results: dict[Path, Path | str] = {}
        for start in range(0, len(docs), BATCH):
            results.update(office.convert(docs[start:start + BATCH], timeout=600))
    failed = {str(d): r for d, r in results.items() if not isinstance(r, Path)}
    assert failed == {}
    return {name: (data, docx.with_suffix(".pdf")) for name, (data, docx) in items.items()}


def _reports(converted: dict[str, tuple[dict | None, Path]]) -> Iterator[tuple[str, dict, Path]]:
    for name, (data, pdf) in converted.items():
        if data is not None:
            yield name, data, pdf


# --------------------------------------------------------------------------- reading the PDF

TEXT_BOTTOM = 842 - 1984 / 20 + 4  # points: the text block ends 35 mm above the foot (page numbers below)


def _body_text(pdf: Path) -> str:
    """The PDF's text above the page-number area, all whitespace removed."""
    out = subprocess.run(["pdftotext", "-x", "0", "-y", "0", "-W", "595", "-H", str(int(TEXT_BOTTOM)), str(pdf), "-"],
                         check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", out)


def _page_texts(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-x", "0", "-y", "0", "-W", "595", "-H", str(int(TEXT_BOTTOM)), str(pdf), "-"],
                         check=True, capture_output=True, text=True).stdout
    return [re.sub(r"\s+", "", page) for page in out.split("\f")]


def _words(pdf: Path) -> set[str]:
    return set(subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True, text=True).stdout.split())


def _narrative(data: dict) -> Iterator[str]:
    def walk(blocks: Any) -> Iterator[str]:
        for block in blocks:
            if isinstance(block, str):
                yield block
            else:
                yield block["heading"]
                if "text" in block:
                    yield block["text"]
                else:
                    yield from walk(block["body"])

    for key in ("preamble", "overview", "problems", "other"):
        yield from walk(data.get(key, []))


def _values(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _values(value)
    elif not isinstance(node, bool):
        yield str(node) if isinstance(node, int) else format_fee(node)


# --------------------------------------------------------------------------- nothing lost

def test_every_character_of_the_narrative_is_in_the_pdf(converted: dict) -> None:
    lost = {}
    for name, data, pdf in _reports(converted):
        text = _body_text(pdf)
        missing = [p for p in (re.sub(r"\s+", "", p) for p in _narrative(data)) if p not in text]
        if missing:
            lost[name] = missing[:2]
    assert lost == {}


def test_every_table_value_prints_as_one_word(converted: dict) -> None:
    broken = {}
    for name, data, pdf in _reports(converted):
        full = rules.complete(data, FMT)
        words = _words(pdf)
        missing = sorted({v for key in ("proactive", "requests", "appeals") for v in _values(full[key]) if v not in words})
        if missing:
            broken[name] = missing[:5]
    assert broken == {}


def test_the_examples_print_the_title_and_organ(converted: dict) -> None:
    for name, data, pdf in _reports(converted):
        text = _body_text(pdf)
        assert data["organ"] in text, name


# --------------------------------------------------------------------------- faces

# The Noto CJK collection shares one CFF table among its regional faces, so LibreOffice names every
# subset after its Japanese member (NotoSerifCJKjp-Bold-VKana) whichever face it used: the glyphs are
# checked by the probes below, not by these names.
SHARED_CFF = re.compile(r"^Noto(Sans|Serif)CJKjp-")


def _fonts(pdf: Path) -> list[str]:
    lines = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout.splitlines()[2:]
    return [line.split()[0].split("+", 1)[-1] for line in lines if line.strip()]


def _family(font: str) -> str:
    return re.sub(r"(-(Regular|Bold|Light|Book|VKana|Italic))+$", "", font)


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_the_pdf_uses_chinese_faces_of_distinct_families(converted: dict, example: str) -> None:
    fonts = _fonts(converted[example][1])
    japanese = [f for f in fonts if re.search("jp|japan", f, re.I) and not SHARED_CFF.match(f)]
    assert japanese == []
    assert "DejaVuSerif" not in fonts  # Times New Roman has its metric twin
    families = {_family(f) for f in fonts}
    assert len(families) >= 3, families  # title, body, headings (and tables)


def _image(pdf: Path) -> bytes:
    return subprocess.run(["pdftoppm", "-r", "30", "-gray", "-f", "1", "-l", "1", str(pdf)], check=True, capture_output=True).stdout


def test_official_faces_print_simplified_chinese_glyphs(converted: dict) -> None:
    """黑体 and 宋体 print exactly the Noto CJK SC glyphs, which differ from the JP ones."""
    official, sc, jp = (_image(converted[f"probe-{n}"][1]) for n in ("official", "reference-sc", "reference-jp"))
    assert sc != jp  # the probe characters do tell the regional forms apart
    assert official == sc


# --------------------------------------------------------------------------- page breaks

def _column_text(words: list[tuple[float, float, float, str]], left: float, right: float) -> str:
    """The text of the words whose middle lies between ``left`` and ``right``, read top to bottom."""
    return "".join(w for x, top, _, w in sorted((w for w in words if left < w[0] < right), key=lambda w: (round(w[1]), w[0])))


def _page_words(pdf: Path) -> list[list[tuple[float, float, float, str]]]:
    """Per page, (x-middle, top, x-min, word) of every word pdftotext finds."""
    from html import unescape

    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = []
    for body in re.split(r"<page ", html)[1:]:
        pages.append([((float(x0) + float(x1)) / 2, float(y0), float(x0), unescape(w)) for x0, y0, x1, w in
                      re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', body)])
    return pages


def _groups() -> list[tuple[str, tuple[float, float], list[tuple[str, tuple[float, float]]]]]:
    """Each label the layout keeps on one page, with its column span in points and the labels of its rows:
    table 二's sub-headers with the row below, table 三's groups of at most KEEP_GROUP_ROWS rows, and each piece
    of its outer label 三、本年度办理结果 (ooxml.label_pieces) with the rows of that piece."""
    from docxreport.docx.ooxml import KEEP_GROUP_ROWS, label_pieces

    found = []
    for table in FMT.tables.values():
        edges = [1588 / 20]  # the tables fill the text block, which starts at the left margin
        for width in table.column_widths:
            edges.append(edges[-1] + width / 20)
        span = lambda c: (edges[c.col], edges[c.right])  # noqa: E731
        pieces = label_pieces(table)
        for cell in table.cells:
            if cell.is_data or cell.row < table.header_rows:
                continue
            for start, end in pieces.get(cell, []):  # a long label (三、本年度办理结果): each piece with its rows
                labels = [(c.text, span(c)) for c in table.cells if not c.is_data and start <= c.row < end and c.col > cell.col]
                found.append((cell.text, span(cell), labels))
            if 1 < cell.rowspan <= KEEP_GROUP_ROWS:
                rows = range(cell.row, cell.row + cell.rowspan)
            elif cell.colspan == table.grid_columns and cell.row + 1 < len(table.grid):
                rows = range(cell.row + 1, cell.row + 2)  # a full-width sub-header and the row below it
            else:
                continue
            labels = [(c.text, span(c)) for c in table.cells if not c.is_data and c.row in rows and c.col >= cell.col and c is not cell]
            found.append((cell.text, span(cell), labels))
    return found


def test_no_label_is_cut_or_stranded_at_a_page_break(converted: dict) -> None:
    """Every group label prints whole on one page, read down its column, with its rows' labels there."""
    groups = _groups()
    assert any("第二十条" in label for label, _, _ in groups) and any("不予处理" in label for label, _, _ in groups)
    assert [label for label, _, _ in groups].count("三、本年度办理结果") == 2  # its two pieces
    bad = {}
    for name, _, pdf in _reports(converted):
        pages = _page_words(pdf)
        for label, (left, right), rows in groups:
            holding = [words for words in pages if label in _column_text(words, left, right)]
            if not any(all(text in _column_text(words, a, b) for text, (a, b) in rows) for words in holding):
                bad.setdefault(name, []).append(label)
    assert bad == {}


# --------------------------------------------------------------------------- title, headings, numbers

def _lines(page: pdfplumber.page.Page, size: float) -> list[tuple[float, str]]:
    """(top, text) of the text lines set in ``size`` points."""
    lines: dict[float, list[dict]] = {}
    for ch in page.chars:
        if abs(ch["size"] - size) < 0.6:
            lines.setdefault(round(ch["top"]), []).append(ch)
    return [(top, "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"]))) for top, chars in sorted(lines.items())]


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_title_lines_are_one_line_pitch_apart(converted: dict, example: str) -> None:
    with pdfplumber.open(converted[example][1]) as pdf:
        tops = [top for top, _ in _lines(pdf.pages[0], 22)]
    assert len(tops) >= 2
    gaps = [b - a for a, b in zip(tops, tops[1:])]
    assert all(abs(g - 28.95) < 1.5 for g in gaps), gaps


def test_the_outer_label_of_table_three_prints_on_every_page_its_rows_do(converted: dict) -> None:
    """三、本年度办理结果 spans 22 rows of a table taller than a page: every page holding any of those rows
    shows the label in the first column (issue 13: the rows on the second page had an empty first column)."""
    table = FMT.tables["table3"]
    label = next(c for c in table.cells if c.text == "三、本年度办理结果")
    edges = [1588 / 20]
    for width in table.column_widths:
        edges.append(edges[-1] + width / 20)
    rows = [c for c in table.cells if not c.is_data and label.row <= c.row < label.row + label.rowspan and c.col > label.col]
    pages_seen = 0
    for name, _, pdf in _reports(converted):
        for words in _page_words(pdf):
            if "申请人情况" not in _column_text(words, edges[3], edges[-1]):
                continue  # no part of table 三 on this page
            held = [c.text for c in rows if c.text in _column_text(words, edges[c.col], edges[c.right])]
            if held:
                pages_seen += 1
                assert label.text in _column_text(words, edges[0], edges[1]), (name, held[:2])
    assert pages_seen > 2 * len(EXAMPLES)  # table 三 crosses a page in every report


def test_long_title_lines_break_between_the_organs_parts_centred_and_read_back(converted: dict) -> None:
    """Every title prints as break_title gives it (a 37-character organ in two lines, each ending where a part
    of the name ends), each line centred on the text block, one line pitch apart; the PDF reads back to the
    same organ and title."""
    from docxreport.document import normalise
    from docxreport.report.blocks import printed_title

    centre = (1588 + 11906 - 1474) / 40
    broken = []
    for name, data, pdf_path in _reports(converted):
        title = data.get("title") or [line.format(organ=data["organ"], year=data["year"]) for line in FMT.title_lines]
        with pdfplumber.open(pdf_path, pages=[1]) as pdf:
            page = pdf.pages[0]
            rows = [[c for c in page.chars if round(c["top"]) == top and abs(c["size"] - 22) < 0.6] for top, _ in _lines(page, 22)]
        rows = [sorted(row, key=lambda c: c["x0"]) for row in rows]
        assert ["".join(c["text"] for c in row) for row in rows] == printed_title(title), name
        for row in rows:
            assert abs((row[0]["x0"] + row[-1]["x1"]) / 2 - centre) < 1.5, name
        tops = [row[0]["top"] for row in rows]
        assert all(abs(b - a - 28.95) < 1.5 for a, b in zip(tops, tops[1:])), (name, tops)
        if len(rows) > len(title):
            broken.append((name, data, pdf_path))
    long_lines = printed_title([LONG_ORGAN])
    assert long_lines == ["某某省某某自治州某某县市场监督管理局", "某某经济技术开发区分局食品安全监测中心"]
    assert "long-organ" in [name for name, _, _ in broken] and len(broken) > 5
    for name, data, pdf_path in broken[:8]:
        got, problems = docxreport.extract(pdf_path)
        want = normalise(data)
        assert (got["organ"], got.get("title")) == (want["organ"], want.get("title")), name


def test_headings_after_a_table_stand_clear_of_its_border(converted: dict) -> None:
    headings = [s.heading for s in FMT.sections]
    after_table = [h for prev, h in zip(FMT.sections, FMT.sections[1:]) for h in [h.heading] if prev.is_table]
    assert after_table and headings
    gaps = []
    for name, _, pdf_path in _reports(converted):
        wanted = [i for i, text in enumerate(_page_texts(pdf_path)) if any(h in text for h in after_table)]
        with pdfplumber.open(pdf_path, pages=[i + 1 for i in wanted]) as pdf:
            for page in pdf.pages:
                rules_y = [e["top"] for e in page.horizontal_edges]
                for top, text in _lines(page, 16):
                    if any(text.startswith(h) for h in after_table):
                        above = [y for y in rules_y if y < top]
                        if above and top - max(above) < 40:
                            gaps.append((name, text, round(top - max(above), 1)))
    assert gaps and all(gap >= 10 for _, _, gap in gaps), [g for g in gaps if g[2] < 10]


def test_numbers_keep_clear_of_the_cell_borders(converted: dict) -> None:
    """Every number in a table cell is at least 1 pt from the vertical borders on either side."""
    close = []
    for name, _, pdf_path in list(_reports(converted))[:30]:
        wanted = [i for i, text in enumerate(_page_texts(pdf_path)) if re.search(r"\d{4,}", text)]
        with pdfplumber.open(pdf_path, pages=[i + 1 for i in wanted]) as pdf:
            for page in pdf.pages:
                verticals = page.vertical_edges
                if not verticals:
                    continue
                for word in page.extract_words():
                    if not re.fullmatch(r"[0-9][0-9.]*", word["text"]):
                        continue
                    middle = (word["top"] + word["bottom"]) / 2
                    xs = [e["x0"] for e in verticals if e["top"] - 1 <= middle <= e["bottom"] + 1]
                    left = [x for x in xs if x <= word["x0"] + 0.5]
                    right = [x for x in xs if x >= word["x1"] - 0.5]
                    if left and right and min(word["x0"] - max(left), min(right) - word["x1"]) < 1.0:
                        close.append((name, word["text"]))
    assert close == []


def test_body_lines_hold_28_characters(converted: dict) -> None:
    """GB/T 9704: 28 characters of 16 pt a line; full lines of Chinese text hold exactly 28."""
    widths = []
    for example in (p.stem for p in EXAMPLES):
        with pdfplumber.open(converted[example][1]) as pdf:
            for page in pdf.pages:
                for _, text in _lines(page, 16):
                    if all(ord(ch) >= 0x2E80 for ch in text):
                        widths.append(len(text))
    assert max(widths) == 28 and widths.count(28) > 20


def test_signature_lines_are_whole_and_the_date_sits_per_gbt9704(converted: dict) -> None:
    """The organ's lines print as break_name gives them, ending two characters (32 pt) from the right edge of
    the text block; the date starts two printed characters right of the name's first character, or, when
    it is the longer line, ends two characters from the right edge."""
    from docxreport.report.blocks import advance_width, break_name, date_text

    right_edge = (11906 - 1474) / 20
    checked = 0
    for name, data, pdf_path in _reports(converted):
        if not data.get("date"):
            continue
        when = date_text(data["date"])
        lines = break_name(data["organ"], 26)
        with pdfplumber.open(pdf_path) as pdf:
            page = pdf.pages[-1]
            rows = [(top, [c for c in page.chars if round(c["top"]) == top]) for top, _ in _lines(page, 16)]
        texts = ["".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"])) for _, chars in rows]
        assert texts[-1] == when, (name, texts[-3:])
        assert texts[-1 - len(lines):-1] == lines, name
        date_chars = sorted(rows[-1][1], key=lambda c: c["x0"])
        name_chars = sorted(rows[-2][1], key=lambda c: c["x0"])
        name_right_gap = right_edge - name_chars[-1]["x1"]
        if len(lines) > 1 or advance_width(lines[0]) + 4 > 28:
            assert abs(name_right_gap - 32) < 1.5 and abs(right_edge - date_chars[-1]["x1"] - 32) < 1.5, name
        elif advance_width(when) + advance_width("二字") > advance_width(lines[0]):
            assert abs(right_edge - date_chars[-1]["x1"] - 32) < 1.5, name
            assert abs(date_chars[0]["x0"] - name_chars[0]["x0"] - 2 * 15.75) < 1.5, name
        else:
            assert abs(name_right_gap - 32) < 1.5, name
            assert abs(date_chars[0]["x0"] - name_chars[0]["x0"] - 2 * 15.75) < 1.5, name
        checked += 1
    assert checked > 10
