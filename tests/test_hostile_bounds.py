"""Hostile inputs, second round (issue 12): every attack is refused or done within its bound.

Each attack runs through the real command (``python -m docxreport``) in a subprocess. Its time is bounded by
the subprocess timeout (generous: the attack took minutes or hours before), its memory by ``ru_maxrss`` of
the child, measured by a small wrapper (``_measured``); it must end with the documented exit code, a message
that says which bound stopped it, no traceback and no output file. The costly ones are marked
``hostile_slow`` (they run by default, CI included). docs/reliability.md lists the same cases.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document

import docxreport
from docxreport.errors import InvalidReportError, NotAReportError, TemplateError
from docxreport.docx.reader import extract
from docxreport.format import load_format
from docxreport.report import blocks

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "county-bureau-2024.json"
BASE = json.loads(EXAMPLE.read_text(encoding="utf-8"))
LIMITS = load_format().limits
GB = 1024 * 1024 * 1024

# runs argv[1:] as `python -m docxreport`, then prints the child's peak RSS (bytes) on the last stderr line
_MEASURED = """
import resource, runpy, sys
sys.argv = ["docxreport", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("docxreport", run_name="__main__")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
sys.stderr.write(f"\\nMAXRSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}\\n")
sys.exit(code)
"""


def _measured(*args: str, timeout: float = 60, stdin: bytes | None = None) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr without the RSS line, peak RSS in bytes) of ``docxreport *args``."""
    done = subprocess.run([sys.executable, "-c", _MEASURED, *args], capture_output=True, timeout=timeout, input=stdin)
    err = done.stderr.decode("utf-8", errors="replace")
    body, _, rss = err.rpartition("MAXRSS ")
    return done.returncode, done.stdout.decode("utf-8", errors="replace"), body, int(rss.strip())


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr[-2000:]


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _report(**changes: object) -> dict:
    data = json.loads(json.dumps(BASE))
    data.update(changes)
    return data


def _template(text: str) -> bytes:
    doc = Document()
    doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _rezip(document: bytes, change: dict[str, object]) -> bytes:
    """A copy of a package with parts replaced (bytes) or edited (a function of the old bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(document)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            edit = change.get(info.filename)
            dst.writestr(info.filename, edit(data) if callable(edit) else (edit if edit is not None else data))
    return out.getvalue()


def _body_with(document: bytes, xml: bytes) -> bytes:
    """The document with ``xml`` inserted at the start of its body."""
    def edit(data: bytes) -> bytes:
        start = data.index(b"<w:body")
        start = data.index(b">", start) + 1
        return data[:start] + xml + data[start:]
    return _rezip(document, {"word/document.xml": edit})


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return docxreport.render(docxreport.load(EXAMPLE))


def _cell_text(document: bytes, old: str, new: str) -> bytes:
    """The document with the first cell text ``old`` replaced by ``new``."""
    def edit(data: bytes) -> bytes:
        marker = f">{old}</w:t>".encode()
        assert marker in data
        return data.replace(marker, f">{new}</w:t>".encode(), 1)
    return _rezip(document, {"word/document.xml": edit})


# --------------------------------------------------------------------------- 1. regular expressions


@pytest.mark.hostile_slow
def test_cubic_number_cell_and_quadratic_title_are_read_in_linear_time(tmp_path: Path, rendered: bytes) -> None:
    received = str(BASE["requests"]["received"]["natural"])
    # was 49 s at 4,000 spaces (cubic) and hours at 20,000; the title 3.5 s at 64,000 spaces (quadratic)
    cell = _cell_text(rendered, received, "1" + " " * 200_000 + "x")
    doc = _body_with(cell, ("<w:p><w:r><w:t xml:space=\"preserve\">2024年" + " " * 200_000 + "x</w:t></w:r></w:p>").encode())
    path = tmp_path / "spaces.docx"
    path.write_bytes(doc)
    code, out, err, _ = _measured("extract", str(path), "-o", str(tmp_path / "out.json"), timeout=60)
    _no_traceback(err)
    assert code in (0, 1) and json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["year"] == BASE["year"]


# --------------------------------------------------------------------------- 2. package size


@pytest.mark.hostile_slow
def test_fifty_megabytes_of_empty_paragraphs_are_refused_within_bounds(tmp_path: Path, rendered: bytes) -> None:
    path = tmp_path / "bomb.docx"
    path.write_bytes(_body_with(rendered, b"<w:p/>" * 7_500_000))  # 50 MB of XML
    assert path.stat().st_size < 200_000
    code, out, err, rss = _measured("extract", str(path), timeout=15)
    _no_traceback(err)
    assert code == 2 and "word/document.xml 解压后过大" in err
    assert rss < GB


@pytest.mark.hostile_slow
def test_the_most_tags_a_package_may_hold_are_read_within_bounds(tmp_path: Path, rendered: bytes) -> None:
    """Just below the tag bound: read (not a report without its tables? it has them) within 1 GB."""
    path = tmp_path / "many.docx"
    path.write_bytes(_body_with(rendered, b"<w:p/>" * 280_000))
    code, out, err, rss = _measured("extract", str(path), "-o", str(tmp_path / "out.json"), timeout=30)
    _no_traceback(err)
    assert code == 0 and json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["organ"] == BASE["organ"]
    assert rss < GB


def test_too_many_tags_are_refused_before_parsing(rendered: bytes) -> None:
    with pytest.raises(NotAReportError, match="XML 元素过多"):
        extract(_body_with(rendered, b"<w:p/>" * 310_000))


def test_too_many_tables_are_not_a_report(rendered: bytes) -> None:
    table = b"<w:tbl><w:tr><w:tc><w:p/></w:tc></w:tr></w:tbl>"
    with pytest.raises(NotAReportError, match="表格过多（201 个"):
        extract(_body_with(rendered, table * 198))


# --------------------------------------------------------------------------- 4. rendering is linear, size bounded


def test_line_breaks_per_paragraph_are_bounded(tmp_path: Path) -> None:
    most = LIMITS["text_max_line_breaks"]
    tabs = _report(other=["a\t" * (most + 1)])
    assert [p.rule for p in docxreport.validate(tabs)] == ["schema.line_breaks"]
    assert docxreport.validate(_report(other=["a\n" * most + "b"])) == []
    data = _report(other=["a\n" * (most + 1)])
    [problem] = docxreport.validate(data)
    assert problem.json_path == "other[0]" and problem.rule == "schema.line_breaks" and f"最多 {most} 个" in problem.message
    code, _, err, _ = _measured("render", str(_write(tmp_path / "in.json", data)), "-o", str(tmp_path / "out.docx"))
    assert code == 1 and "换行和制表符过多" in err and not (tmp_path / "out.docx").exists()


@pytest.mark.hostile_slow
def test_the_fifteen_megabyte_report_is_refused_and_the_largest_valid_one_renders(tmp_path: Path) -> None:
    # issue 12: ten paragraphs of "a\n" × 500,000 took 378 s and 3.8 GB
    code, _, err, rss = _measured("render", str(_write(tmp_path / "big.json", _report(other=["a\n" * 500_000] * 10))),
                                  "-o", str(tmp_path / "big.docx"), timeout=60)
    _no_traceback(err)
    assert code == 1 and "换行和制表符过多" in err and "报告文字过多" in err and not (tmp_path / "big.docx").exists()
    assert rss < GB
    # the largest report the limits allow: every paragraph, character and line break used
    paragraphs = (LIMITS["report_max_paragraphs"] - 100) // 3 * 3  # the example's own paragraphs and headings
    per = LIMITS["report_max_chars"] // LIMITS["report_max_paragraphs"] - 2
    breaks = LIMITS["report_max_line_breaks"] // paragraphs
    paragraph = ("测" * (per - breaks)) + "\n" * breaks
    third = [paragraph] * (paragraphs // 3)  # three lists: each within blocks_max
    data = _report(preamble=third, problems=third, other=third)
    assert docxreport.validate(data) == []
    code, _, err, rss = _measured("render", str(_write(tmp_path / "max.json", data)), "-o", str(tmp_path / "max.docx"), timeout=60)
    _no_traceback(err)
    assert code == 0 and rss < GB
    with zipfile.ZipFile(tmp_path / "max.docx") as package:
        assert package.read("word/document.xml").count(b"<w:br/>") == paragraphs * breaks


def test_report_size_is_bounded() -> None:
    chars = LIMITS["report_max_chars"]
    per = LIMITS["text_max_length"]
    data = _report(other=["测" * per] * (chars // per + 1))
    assert [(p.json_path, p.rule) for p in docxreport.validate(data)] == [("$", "schema.report_size")]
    breaks = _report(other=["a\n" * 1000] * (LIMITS["report_max_line_breaks"] // 1000 + 1))
    assert [(p.json_path, p.rule) for p in docxreport.validate(breaks)] == [("$", "schema.report_size")]
    paragraphs = _report(other=["段"] * 10_000, problems=["段"] * 10_000, overview=["段"] * 10_000)
    assert ("$", "schema.report_size") in [(p.json_path, p.rule) for p in docxreport.validate(paragraphs)]


# --------------------------------------------------------------------------- 5. valid ⇔ renders


def test_more_than_ninety_nine_headings_render_and_read_back() -> None:
    data = _report(overview=[{"heading": f"第{i}项", "text": "内容。"} for i in range(1, 121)])
    assert docxreport.validate(data) == []
    got, problems = extract(io.BytesIO(docxreport.render(data)))
    assert [p for p in problems if p.severity == "error"] == []
    assert got["overview"] == data["overview"]
    with zipfile.ZipFile(io.BytesIO(docxreport.render(data))) as package:
        xml = package.read("word/document.xml").decode("utf-8")
    assert "（一百零一）第101项。" in xml and "（一百二十）第120项。" in xml


def test_every_list_length_the_schema_allows_has_a_numeral() -> None:
    assert LIMITS["blocks_max"] <= blocks.NUMERAL_MAX
    assert [blocks.chinese_numeral(n) for n in (10, 11, 20, 100, 101, 110, 1010, 10000, 10010, 99999)] == [
        "十", "十一", "二十", "一百", "一百零一", "一百一十", "一千零一十", "一万", "一万零一十", "九万九千九百九十九"]
    blocks_max = LIMITS["blocks_max"]
    too_many = _report(other=["段"] * (blocks_max + 1))
    assert ("other", "schema.maxItems") in [(p.json_path, p.rule) for p in docxreport.validate(too_many)]


@pytest.mark.parametrize("text, says", [
    ("1e999999999", "超出范围"), ("0e-99999999999999999999", "超出范围"), ("1e-999999999", "超出范围"),
    ("1" + "0" * 200 + ".5", "超出范围"), ("12.3456789", "最多保留 6 位小数"),
])
def test_fee_exponents_are_refused_while_reading(tmp_path: Path, text: str, says: str) -> None:
    raw = EXAMPLE.read_text(encoding="utf-8")
    fees = json.dumps(str(BASE["proactive"]["fees"]))[1:-1]
    assert f'"fees": {fees}' in raw
    path = tmp_path / "fee.json"
    path.write_text(raw.replace(f'"fees": {fees}', f'"fees": {text}', 1), encoding="utf-8")
    for command in ("validate", "render"):
        code, out, err, _ = _measured(command, str(path), *(["-o", str(tmp_path / "out.docx")] if command == "render" else []))
        _no_traceback(err)
        assert code == 1 and says in out + err and "proactive.fees" in out + err
    assert not (tmp_path / "out.docx").exists()


def test_fees_from_python_with_absurd_exponents_are_problems_not_crashes() -> None:
    for fee in (Decimal("1e999999999"), Decimal("0e-999999999999"), Decimal("1e-999999999")):
        problems = docxreport.validate(_report(proactive={**BASE["proactive"], "fees": fee}))
        assert {p.json_path for p in problems if p.severity == "error"} == {"proactive.fees"}, fee
        with pytest.raises(InvalidReportError):
            docxreport.render(_report(proactive={**BASE["proactive"], "fees": fee}))


# --------------------------------------------------------------------------- 6. no tracebacks


@pytest.mark.parametrize("depth", [100, 494, 990, 5000])
def test_deeply_nested_arrays_are_one_problem(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(BASE, ensure_ascii=False)[:-1] + ', "other": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")
    code, out, err, _ = _measured("validate", str(path))
    _no_traceback(err + out)
    assert code == 1 and "嵌套层数过多" in out + err


def test_deeply_nested_data_from_python_is_validated_without_recursion() -> None:
    value: list = []
    for _ in range(100_000):
        value = [value]
    problems = docxreport.validate(_report(other=value))
    assert problems and all(p.severity in ("error", "warning") for p in problems)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_lone_surrogate_in_an_unknown_key_is_printed_escaped(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(BASE, ensure_ascii=True)[:-1] + ', "\\ud800x": 1}', encoding="utf-8")
    code, out, err, _ = _measured("validate", str(path), "--format", fmt)
    _no_traceback(err)
    assert code == 1 and "\\ud800x" in out


@pytest.mark.parametrize("xml", [
    b'<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="x"/></w:tcPr><w:p/></w:tc></w:tr></w:tbl>',
    b'<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="99999999999"/></w:tcPr><w:p/></w:tc></w:tr></w:tbl>',
    b"<w:tbl><w:tr><w:trPr><w:gridBefore/></w:trPr><w:tc><w:p/></w:tc></w:tr></w:tbl>",
    b'<w:tbl><w:tr><w:trPr><w:gridBefore w:val="-3"/></w:trPr><w:tc><w:p/></w:tc></w:tr></w:tbl>',
    b"<w:p><w:pPr><w:pStyle/></w:pPr><w:r><w:rPr><w:rStyle/></w:rPr><w:t>x</w:t></w:r></w:p>",
], ids=["gridSpan-x", "gridSpan-huge", "gridBefore-no-value", "gridBefore-negative", "styles-without-value"])
def test_malformed_table_and_style_values_are_read(rendered: bytes, xml: bytes) -> None:
    data, problems = extract(_body_with(rendered, xml))
    assert data["organ"] == BASE["organ"]


def test_a_five_thousand_digit_number_in_a_cell_is_an_error(tmp_path: Path, rendered: bytes) -> None:
    received = str(BASE["requests"]["received"]["natural"])
    path = tmp_path / "digits.docx"
    path.write_bytes(_cell_text(rendered, received, "9" * 5000))
    code, out, err, _ = _measured("extract", str(path), "-o", str(tmp_path / "out.json"))
    _no_traceback(err)
    assert code == 1 and "数值过长（5000 位）" in err


# --------------------------------------------------------------------------- 7. custom templates


TEMPLATE_ATTACKS = [
    ("{{ range(10**9)|list|length }}", "调用 range的参数 1000000000 过大"),
    ("{{ 'a'*10**10 }}", "运算“*”的结果过长"),
    ("{{ organ * 100000000 }}", "运算“*”的结果过长"),
    ("{{ organ * 10000000 }}", "运算“*”的结果过长"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", "超过"),
    ("{% set r = range(10000)|list %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}", "模板渲染超过 10 秒"),
    ("{{ lipsum(10000000) }}", "lipsum"),
    ("{{ '%0999999999d'|format(1) }}", "过滤器 format中的数字 0999999999 过大"),
    ("{{ '%0999999999d' % 1 }}", "数字 0999999999 过大"),
    ("{{ '{:0999999999}'.format(1) }}", "调用 format中的数字 0999999999 过大"),
    ("{{ organ.center(10**9) }}", "参数 1000000000 过大"),
    ("{{ organ|indent(10**9) }}", "参数 1000000000 过大"),
    ("{% set a = organ*100000 %}{{ (a~a~a~a~a~a~a~a~a~a~a~a~a~a~a~a~a~a~a~a)|length }}", "运算“~”的结果过长"),
    ("{% set a = [organ]*100000 %}{{ ([a]*1000)|join }}", "运算“*”的结果过长"),
    ("{{ 1/0 }}", "ZeroDivisionError"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "递归过深"),
]


_ATTACKS_SCRIPT = r"""
import io, json, resource, sys, time
from docx import Document
import docxreport
from docxreport.errors import TemplateError
data = docxreport.load(sys.argv[1])
results = []
for tag in json.loads(sys.argv[2]):
    doc = Document()
    doc.add_paragraph(tag)
    raw = io.BytesIO()
    doc.save(raw)
    out = sys.argv[3]
    started = time.monotonic()
    try:
        docxreport.render(data, out, template=io.BytesIO(raw.getvalue()))
        message = "rendered"
    except TemplateError as exc:
        message = str(exc)
    results.append([message, time.monotonic() - started])
print(json.dumps({"results": results, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


@pytest.mark.hostile_slow
def test_custom_template_attacks_stop_at_a_named_limit(tmp_path: Path) -> None:
    """All attacks in one process (its peak RSS bounds them all), each a TemplateError saying which limit
    stopped it, within the 10 s render deadline (plus preparing), nothing written."""
    out = tmp_path / "out.docx"
    tags = [tag for tag, _ in TEMPLATE_ATTACKS]
    done = subprocess.run([sys.executable, "-c", _ATTACKS_SCRIPT, str(EXAMPLE), json.dumps(tags), str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    for (tag, says), (message, seconds) in zip(TEMPLATE_ATTACKS, report["results"]):
        assert says in message, (tag, message)
        assert "跨越" not in message  # never the misleading "tags cross paragraph boundaries"
        assert seconds < 15, (tag, seconds)
    assert not out.exists() and report["rss"] < GB


@pytest.mark.hostile_slow
def test_a_template_attack_through_the_command_line_exits_1_with_nothing_written(tmp_path: Path) -> None:
    template = tmp_path / "t.docx"
    template.write_bytes(_template("{{ range(10**9)|list|length }}"))  # was an OverflowError traceback
    out = tmp_path / "out.docx"
    code, _, err, rss = _measured("render", str(EXAMPLE), "--template", str(template), "-o", str(out), timeout=40)
    _no_traceback(err)
    assert code == 1 and "模板超出限制，已停止：调用 range的参数 1000000000 过大" in err
    assert not out.exists() and rss < GB


def test_reasonable_template_code_still_works() -> None:
    tag = "{{ '{:>6}'.format(year) }}|{{ '%05d' % 42 }}|{{ range(3)|list|join(',') }}|{{ organ|center(30)|trim }}|{{ (organ ~ '!')|length }}"
    document = docxreport.render(BASE, template=io.BytesIO(_template(tag)))
    with zipfile.ZipFile(io.BytesIO(document)) as package:
        xml = package.read("word/document.xml").decode("utf-8")
    assert f"  {BASE['year']}|00042|0,1,2|{BASE['organ']}|{len(BASE['organ']) + 1}" in xml


# --------------------------------------------------------------------------- 9. external content in templates

_RELS = "word/_rels/document.xml.rels"


def _with_relationship(template: bytes, relationship: str, part: str = _RELS) -> bytes:
    return _rezip(template, {part: lambda data: data.replace(b"</Relationships>", relationship.encode() + b"</Relationships>")})


def test_a_template_with_a_linked_image_is_refused(tmp_path: Path) -> None:
    linked = _with_relationship(_template("{{ organ }}"), '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                                'officeDocument/2006/relationships/image" Target="http://127.0.0.1:9/x.png" TargetMode="External"/>')
    template = tmp_path / "linked.docx"
    template.write_bytes(linked)
    out = tmp_path / "out.docx"
    code, _, err, _ = _measured("render", str(EXAMPLE), "--template", str(template), "-o", str(out))
    _no_traceback(err)
    assert code == 1 and "外部链接" in err and "http://127.0.0.1:9/x.png" in err and not out.exists()


def test_hyperlinks_stay_and_the_attached_template_link_is_dropped() -> None:
    template = _with_relationship(_template("{{ organ }}"), '<Relationship Id="rId98" Type="http://schemas.openxmlformats.org/'
                                  'officeDocument/2006/relationships/hyperlink" Target="https://www.gov.cn/" TargetMode="External"/>')
    settings_rels = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="file:///C:/Templates/x.dotx" TargetMode="External"/></Relationships>'
    with zipfile.ZipFile(io.BytesIO(template)) as package:
        settings = package.read("word/settings.xml")
    settings = settings.replace(b"<w:defaultTabStop", b'<w:attachedTemplate r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/><w:defaultTabStop', 1)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, settings if info.filename == "word/settings.xml" else src.read(info.filename))
        dst.writestr("word/_rels/settings.xml.rels", settings_rels)
    document = docxreport.render(BASE, template=io.BytesIO(out.getvalue()))
    with zipfile.ZipFile(io.BytesIO(document)) as package:
        names = package.namelist()
        rels = b"".join(package.read(n) for n in names if n.endswith(".rels"))
        assert b"https://www.gov.cn/" in rels
        assert b"x.dotx" not in rels and b"attachedTemplate" not in package.read("word/settings.xml")


def test_template_errors_from_the_api_are_template_errors() -> None:
    with pytest.raises(TemplateError, match="运算“\\*”的结果过长"):
        docxreport.render(BASE, template=io.BytesIO(_template("{{ 'ab' * 10**8 }}")))


# --------------------------------------------------------------------------- 5. property: valid ⇔ renders

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_COUNT_MAX, _FEE_MAX, _PLACES = LIMITS["count_max"], LIMITS["fee_max"], LIMITS["fee_decimals"]
_EDGE_COUNTS = st.sampled_from([0, 1, _COUNT_MAX, _COUNT_MAX + 1, -1, 10**30])
_EDGE_FEES = st.sampled_from([
    0, _FEE_MAX, Decimal(_FEE_MAX) + Decimal(10) ** -_PLACES, Decimal(10) ** -_PLACES, Decimal(10) ** -(_PLACES + 1),
    Decimal("1E+8"), Decimal("1E+9"), Decimal("1e-999999999"), Decimal("1e999999999"), Decimal("0e-200"),
    Decimal("-0"), 1e308, 0.1, Decimal("99999999.999999"), Decimal("12.3000000000"),
])


@st.composite
def _edge_reports(draw: st.DrawFn) -> dict:
    data = _report()
    data["proactive"] = {**data["proactive"], "licensing": draw(_EDGE_COUNTS), "fees": draw(_EDGE_FEES)}
    data["year"] = draw(st.sampled_from([LIMITS["year_min"], LIMITS["year_max"], LIMITS["year_max"] + 1]))
    data["organ"] = "机" * draw(st.sampled_from([1, LIMITS["organ_max_length"], LIMITS["organ_max_length"] + 1]))
    headings = draw(st.sampled_from([1, 99, 100, 101, 150]))
    level = draw(st.sampled_from([2, 3, 4]))
    items: list = [{"heading": f"项{i}", "text": "正文"} for i in range(headings)]
    for _ in range(level - 2):
        items = [{"heading": "外层", "body": items}]
    data["overview"] = items
    breaks = draw(st.sampled_from([0, LIMITS["text_max_line_breaks"], LIMITS["text_max_line_breaks"] + 1]))
    data["other"] = ["行\n" * breaks + "末"]
    if draw(st.booleans()):
        data["title"] = ["标题"] * draw(st.sampled_from([1, LIMITS["title_max_lines"], LIMITS["title_max_lines"] + 1]))
    return data


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_edge_reports())
def test_whatever_validate_accepts_renders_and_whatever_it_refuses_does_not(data: dict) -> None:
    """Values at and just past each of the schema's limits: valid data always renders (and reads back its
    heading count), invalid data is always refused by validation, never by a crash in rendering."""
    errors = [p for p in docxreport.validate(data) if p.severity == "error"]
    if errors:
        with pytest.raises(InvalidReportError):
            docxreport.render(data)
        return
    document = docxreport.render(data)
    got, problems = extract(io.BytesIO(document))
    assert [p for p in problems if p.severity == "error"] == []
    def innermost(blocks_list: list) -> list:
        while blocks_list[0].get("heading") == "外层":
            blocks_list = blocks_list[0]["body"]
        return blocks_list

    assert [b["heading"] for b in innermost(got["overview"])] == [b["heading"] for b in innermost(data["overview"])]
