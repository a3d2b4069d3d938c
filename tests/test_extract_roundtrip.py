"""extract(render(x)) == x with totals filled in: for every example and for generated adversarial reports."""

from __future__ import annotations

import io
import subprocess
import sys
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docxreport
from docxreport.report import rules
from docxreport.docx.reader import extract, normalise
from docxreport.format import load_format

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
FMT = load_format()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_round_trip(path: Path) -> None:
    data = docxreport.load(path)
    got, problems = extract(io.BytesIO(docxreport.render(data)))
    assert problems == []
    assert got == normalise(data)


# --------------------------------------------------------------------------- generated reports

# CJK text and punctuation, quotes, XML specials, template syntax, emoji, CJK Extension B, full-width forms.
ALPHABET = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.sampled_from(list("，。、；：？！“”‘’《》〈〉（）【】…—·「」『』〔〕％＆＜＞")),
    st.sampled_from(list("&<>\"'{}%#_ abcXYZ0123456789")),
    st.sampled_from(["😀", "\U0001F1E8", "𠀀", "𪚥", "\u200b", "é", "ｱ", "\t"]),
)
TEXT = st.text(ALPHABET, min_size=1, max_size=60).filter(lambda t: t.strip() == t and t.strip())
LONG = st.text(ALPHABET, min_size=1, max_size=400).filter(lambda t: t.strip() != "")
PARAGRAPH = st.one_of(LONG, st.builds(lambda a, b: a + "\n" + b, TEXT, TEXT), st.sampled_from(["{{ organ }}", "{% if x %}", "A&B <tag>", "]]>", "&amp;", "{_{ x }_}"]))
# Headings carry no number of their own and no closing 。 (the renderer adds both; they read back without).
HEADING = TEXT.filter(lambda t: not t[0] in "（(0123456789" and not t.endswith("。") and "\n" not in t and "\t" not in t)


def _blocks(level: int) -> st.SearchStrategy[list]:
    run_in = st.fixed_dictionaries({"heading": HEADING, "text": PARAGRAPH})
    if level > FMT.max_heading_depth:
        return st.lists(PARAGRAPH, min_size=1, max_size=3)
    nested = st.fixed_dictionaries({"heading": HEADING, "body": st.deferred(lambda: _blocks(level + 1))})
    return st.lists(st.one_of(PARAGRAPH, run_in, nested), min_size=1, max_size=4)


COUNT = st.integers(min_value=0, max_value=500)


@st.composite
def _requests(draw: st.DrawFn) -> dict:
    cols = FMT.lists["applicant_columns"]
    outcome_rows = FMT.lists["outcome_rows"]
    out: dict = {}

    def put(path: str, row: dict) -> None:
        node = out
        *parents, leaf = path.split(".")[1:]
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = row

    totals = {c: 0 for c in cols}
    for path in outcome_rows:
        row = {c: draw(st.integers(0, 30)) for c in cols}
        for c in cols:
            totals[c] += row[c]
        put(path, row)
    forward = {c: draw(st.integers(0, 20)) for c in cols}
    over = {c: draw(st.integers(0, totals[c] + forward[c])) for c in cols}
    put("requests.carried_forward", forward)
    put("requests.carried_over", over)
    put("requests.received", {c: totals[c] + forward[c] - over[c] for c in cols})
    if draw(st.booleans()):  # written totals must be right; absent ones are computed
        return rules.complete({"requests": out}, FMT)["requests"]
    return out


@st.composite
def _appeals(draw: st.DrawFn) -> dict:
    out = {}
    for group in FMT.lists["appeal_groups"]:
        row = {r: draw(COUNT) for r in FMT.lists["appeal_results"]}
        if draw(st.booleans()):
            row["total"] = sum(row.values())
        out[group] = row
    return out


@st.composite
def reports(draw: st.DrawFn) -> dict:
    organ = draw(TEXT.filter(lambda t: "\n" not in t and "\t" not in t))
    year = draw(st.integers(2008, 2100))
    data: dict = {"organ": organ, "year": year}
    if draw(st.booleans()):
        data["title"] = draw(st.lists(TEXT.filter(lambda t: "\n" not in t and "\t" not in t), min_size=1, max_size=3))
    if draw(st.booleans()):
        data["date"] = draw(st.dates(min_value=date(2008, 1, 1), max_value=date(2100, 12, 31))).isoformat()
    if draw(st.booleans()):
        data["preamble"] = draw(_blocks(2))
    data["overview"] = draw(_blocks(2))
    data["proactive"] = {
        "regulations": {"issued": draw(COUNT), "repealed": draw(COUNT), "in_force": draw(COUNT)},
        "normative_documents": {"issued": draw(COUNT), "repealed": draw(COUNT), "in_force": draw(COUNT)},
        "licensing": draw(st.integers(0, 10_000_000)),
        "penalties": draw(COUNT),
        "coercive_measures": draw(COUNT),
        "fees": draw(st.decimals(min_value=0, max_value=99_999, places=draw(st.integers(0, 6)), allow_nan=False, allow_infinity=False)),
    }
    data["requests"] = draw(_requests())
    data["appeals"] = draw(_appeals())
    data["problems"] = draw(_blocks(2))
    data["other"] = draw(_blocks(2))
    return data


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(reports())
def test_generated_reports_round_trip(data: dict) -> None:
    assert docxreport.validate(data) == []
    got, problems = extract(io.BytesIO(docxreport.render(data)))
    assert [p for p in problems if p.severity == "error"] == []
    assert got == normalise(data)


# --------------------------------------------------------------------------- CLI


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docxreport", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_extract_cli_writes_the_json_that_rendered_the_report(tmp_path: Path) -> None:
    docx = tmp_path / "r.docx"
    docxreport.render(docxreport.load(ROOT / "examples" / "county-bureau-2024.json"), docx)
    result = run("extract", str(docx), "-o", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    back = docxreport.load(tmp_path / "r.json")
    assert back == normalise(docxreport.load(ROOT / "examples" / "county-bureau-2024.json"))
    assert docxreport.validate(back) == []


def test_check_names_the_unbalanced_group_and_numbers(tmp_path: Path) -> None:
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    docx = tmp_path / "r.docx"
    docxreport.render(data, docx)
    # publish a report whose table 四 does not balance: edit the rendered document as an office would
    from docx import Document
    from docxreport.docx.ooxml import read_grid

    doc = Document(docx)
    table4 = doc.tables[2]
    cells = [c for c in read_grid(table4._tbl) if c.row == 3]
    assert [c.text for c in cells[:5]] == ["2", "1", "1", "1", "5"]
    table4.rows[3].cells[0].paragraphs[0].runs[0].text = "10"
    table4.rows[3].cells[4].paragraphs[0].runs[0].text = "0"
    doc.save(docx)
    result = run("check", str(docx))
    assert result.returncode == 1
    assert "appeals.review.total" in result.stdout and "10+1+1+1=13，实际填写为 0" in result.stdout and "[group_total]" in result.stdout


def test_check_several_files_prints_one_summary_line_each(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.docx", tmp_path / "letter.docx"
    docxreport.render(docxreport.load(ROOT / "examples" / "zhuyangguan-2024.json"), good)
    from docx import Document

    letter = Document()
    letter.add_paragraph("关于召开会议的通知")
    letter.add_paragraph("请各单位准时参加。")
    letter.save(bad)
    result = run("check", str(good), str(bad))
    assert result.returncode == 2
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"{good}: 校验通过"
    assert lines[1].startswith(f"{bad}: 无法审核") and "不是政府信息公开工作年度报告" in lines[1]
    assert lines[2] == f"共审核 2 份报告：1 份通过，0 份有错误，1 份无法读取（{bad}）"
    as_json = json.loads(run("check", str(good), str(bad), "--format", "json").stdout)
    assert [r["valid"] for r in as_json] == [True, False]


def test_check_with_previous_docx_applies_the_cross_year_rule(tmp_path: Path) -> None:
    this, last = tmp_path / "2024.docx", tmp_path / "2023.docx"
    docxreport.render(docxreport.load(ROOT / "examples" / "county-bureau-2024.json"), this)
    previous = docxreport.load(ROOT / "examples" / "county-bureau-2023.json")
    previous["requests"]["carried_forward"]["natural"] += 1
    previous["requests"]["carried_forward"]["total"] += 1
    previous["requests"]["outcomes"]["disclosed"]["natural"] -= 1
    previous["requests"]["outcomes"]["disclosed"]["total"] -= 1
    previous["requests"]["outcomes"]["total"]["natural"] -= 1
    previous["requests"]["outcomes"]["total"]["total"] -= 1
    docxreport.render(previous, last)
    result = run("check", str(this), "--previous", str(last))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "requests.carried_over.natural" in result.stdout and "[cross_year]" in result.stdout


# --------------------------------------------------------------------------- what print cannot keep (issue 12)

EDGE_SPACE = st.text(st.sampled_from([" ", "\u00a0", "\u3000", "\u2028", "\x85", "\t"]), min_size=0, max_size=2)


@st.composite
def _edgy_heading(draw: st.DrawFn, heading: str) -> str:
    """A heading as clerks type it: spaces around it, its own closing 。, its own number."""
    kind = draw(st.sampled_from(["space", "stop", "number", "all", "none"]))
    if kind in ("stop", "all"):
        heading += "。"
    if kind in ("number", "all"):
        heading = draw(st.sampled_from(["1.", "1．", "（1）", "（一）", "(1)", "2.", "1、"])) + heading
    if kind in ("space", "all"):
        heading = draw(EDGE_SPACE) + heading + draw(EDGE_SPACE)
    return heading


@st.composite
def _edgy(draw: st.DrawFn, items: list) -> list:
    out = []
    for item in items:
        if isinstance(item, dict):
            item = {**item, "heading": draw(_edgy_heading(item["heading"]))}
            if "body" in item:
                item["body"] = draw(_edgy(item["body"]))
        out.append(item)
    return out


@st.composite
def edgy_reports(draw: st.DrawFn) -> dict:
    data = draw(reports())
    data["organ"] = draw(EDGE_SPACE) + data["organ"] + draw(EDGE_SPACE)
    if "title" in data:
        data["title"] = [draw(EDGE_SPACE) + line + draw(EDGE_SPACE) for line in data["title"]]
    for key in ("preamble", "overview", "problems", "other"):
        if key in data:
            data[key] = draw(_edgy(data[key]))
    return data


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(edgy_reports())
def test_what_print_cannot_keep_is_warned_about_and_reads_back_as_normalised(data: dict) -> None:
    """Edges of the organ, title lines and headings (space, NBSP, U+3000, U+2028, U+0085, tab), a heading's
    own closing 。 and its own number: validate accepts them with a ``text.read_back`` warning for each
    value that will read back differently, and the report reads back exactly as ``normalise`` says."""
    problems = docxreport.validate(data)
    assert [p for p in problems if p.severity == "error"] == []
    assert {p.rule for p in problems} <= {"text.read_back"}
    got, read_problems = extract(io.BytesIO(docxreport.render(data)))
    assert [p for p in read_problems if p.severity == "error"] == []
    assert got == normalise(data)
    warned = {p.json_path for p in problems}
    assert ("organ" in warned) == (data["organ"].strip() != data["organ"])
    assert (got["organ"] == data["organ"]) == ("organ" not in warned)


def test_table_four_never_drops_a_second_row_or_extra_numbers_in_silence() -> None:
    """Table 四 has one row of 15 numbers. A second row of numbers under it was skipped without a word, and a
    row of 17 numbers was read as its first 15 (one column off when the extra one leads): both silent. Now
    the second row is a warning quoting it, and a row of too many numbers an error, read into nothing."""
    from docxreport.docx.reader import read_document
    from docxreport.tables import Cell, FoundTable, Reading, classify, read_tables

    fmt = load_format()
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    document = read_document(io.BytesIO(docxreport.render(data)))
    tables = [item for item in document.items if isinstance(item, FoundTable)]
    four = next(t for t in tables if classify(t, fmt) == "table4")
    last = max(c.row for c in four.cells)
    row = sorted((c for c in four.cells if c.row == last), key=lambda c: c.col)

    def read(cells: list[Cell]) -> Reading:
        result = Reading(fmt)
        read_tables([t if t is not four else FoundTable(four.index, cells, four.address) for t in tables], result)
        return result

    second = [Cell(last + 1, c.col, 1, 1, str(90 + n)) for n, c in enumerate(row)]
    result = read(four.cells + second)
    extra = [p for p in result.problems if p.rule == "extract.extra_row"]
    assert len(extra) == 1 and extra[0].severity == "warning" and "90 91 92" in extra[0].message
    assert result.data["appeals"]["review"]["upheld"] == int(row[0].text)  # the first row, as before

    wide = [c for c in four.cells if c.row != last] + [Cell(last, n, 1, 1, str(n + 1)) for n in range(17)]
    result = read(wide)
    errors = [p for p in result.problems if p.rule == "extract.column_count"]
    assert len(errors) == 1 and errors[0].severity == "error" and "17 个数据" in errors[0].message
    assert "review" not in result.data.get("appeals", {})  # nothing read one column off
