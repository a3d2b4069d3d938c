"""The prepared-template renderer: the same documents as a fresh docxtpl render, a bounded cache that notices
edited templates, thread safety, and refusals that name the template part."""

from __future__ import annotations

import copy
import io
import os
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Pt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import docxreport
from docxreport import TemplateError
from docxreport.docx import wellformed
from docxreport.docx.prepared import PreparedTemplate, environment
from docxreport.docx.reference import render_reference
from docxreport.docx.renderer import Renderer, build_context
from docxreport.docx.templatecompare import parts
from docxreport.docx.zipparts import deflate, write_zip

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.json"))
HOSTILE = "研究院&中心 <tag> A&B \"引号\" '单引号' {{ organ }} {% if x %} {_{ }_} {#c#} ]]> &amp;"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def load(path: Path) -> dict:
    return docxreport.load(path)


def hostile_report() -> dict:
    data = load(ROOT / "examples" / "county-bureau-2024.json")
    data["organ"] = "研究院&中心<测试>{{ year }}"
    data["title"] = ["A&B <b>", "{%p if x %}", "换行\n第二行\t制表"]
    data["overview"][0]["text"] = HOSTILE
    data["problems"].append(HOSTILE + "\n第二行\t制表")
    return data


def assert_same_document(fast: bytes, slow: bytes) -> None:
    """Same parts, same XML after canonicalisation: what a reader of the package sees is identical."""
    a, b = parts(fast), parts(slow)
    assert sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []


def png_1x1() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def add_footnotes(docx: bytes, text: str) -> bytes:
    """A footnotes part holding ``text`` (python-docx cannot make one), wired as Word wires it."""
    footnotes = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:footnotes xmlns:w="{W_NS}">'
                 '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
                 f'<w:footnote w:id="1"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:footnote></w:footnotes>')
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            blob = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                blob = blob.replace(b"</Types>", b'<Override PartName="/word/footnotes.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>')
            elif item.filename == "word/_rels/document.xml.rels":
                blob = blob.replace(b"</Relationships>", b'<Relationship Id="rIdFn1" Type="http://schemas.openxmlformats.org/'
                                    b'officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/></Relationships>')
            dst.writestr(item, blob)
        dst.writestr("word/footnotes.xml", footnotes)
    return out.getvalue()


def office_template(tmp_path: Path, *, body: list[str] | None = None, footnote: str | None = "脚注：{{ organ }}",
                    header: str = "{{ organ }} 报告", footer: str = "第 {{ year }} 年", title: str = "{{ organ }}{{ year }}",
                    name: str = "office.docx", tables: bool = True) -> Path:
    """A custom template as an office would make it: tags in body, tables (with a row loop and a column
    loop, which makes docxtpl repair the table grid), header, footer, footnotes, properties and a picture."""
    doc = Document()
    for text in body if body is not None else ["机关：{{ organ }}", "{%p if year > 2000 %}", "年度 {{ year }}", "{%p endif %}", "{{p overview }}", "{{p signature }}"]:
        doc.add_paragraph(text)
    if tables:
        rows = doc.add_table(rows=3, cols=2)
        for r, (left, right) in enumerate((("{%tr for line in title_lines %}", ""), ("{{ line }}", "{{ requests.received.total }}"), ("{%tr endfor %}", ""))):
            rows.cell(r, 0).text, rows.cell(r, 1).text = left, right
        columns = doc.add_table(rows=1, cols=4)
        for c, text in enumerate(("首列", "{%tc for line in title_lines %}", "{{ line }}", "{%tc endfor %}")):
            columns.cell(0, c).text = text
    doc.add_paragraph().add_run().add_picture(io.BytesIO(png_1x1()), width=Pt(10))
    doc.add_paragraph().add_run().add_picture(io.BytesIO(png_1x1()), width=Pt(12))
    section = doc.sections[0]
    section.header.paragraphs[0].text = header
    section.footer.paragraphs[0].text = footer
    doc.core_properties.title = title
    doc.core_properties.subject = "年报"
    buf = io.BytesIO()
    doc.save(buf)
    raw = buf.getvalue() if footnote is None else add_footnotes(buf.getvalue(), footnote)
    path = tmp_path / name
    path.write_bytes(raw)
    return path


# --------------------------------------------------------------------------- same output as docxtpl


@pytest.mark.parametrize("fonts", ["official", "windows"])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_bundled_template_renders_what_docxtpl_renders(example: Path, fonts: str) -> None:
    data = load(example)
    assert_same_document(docxreport.render(data, fonts=fonts), render_reference(data, fonts=fonts))


def test_hostile_text_renders_what_docxtpl_renders() -> None:
    data = hostile_report()
    fast = docxreport.render(data)
    assert_same_document(fast, render_reference(data))
    texts = [p.text for p in Document(io.BytesIO(fast)).paragraphs]
    assert texts[:2] == ["A&B <b>", "{%p if x %}"] and any(t.endswith(HOSTILE) for t in texts)


@pytest.mark.parametrize("fonts", ["official", "windows"])
def test_custom_template_renders_what_docxtpl_renders(tmp_path: Path, fonts: str) -> None:
    template = office_template(tmp_path)
    data = hostile_report()
    fast = docxreport.render(data, template=template, fonts=fonts)
    assert_same_document(fast, render_reference(data, template=template.read_bytes(), name=str(template), fonts=fonts))
    doc = Document(io.BytesIO(fast))
    assert doc.paragraphs[0].text == "机关：研究院&中心<测试>{{ year }}"
    assert doc.sections[0].header.paragraphs[0].text == "研究院&中心<测试>{{ year }} 报告"
    assert doc.core_properties.title == "研究院&中心<测试>{{ year }}2024"
    footnotes = zipfile.ZipFile(io.BytesIO(fast)).read("word/footnotes.xml").decode()
    assert "脚注：研究院&amp;中心&lt;测试&gt;&#123;&#123; year &#125;&#125;" in footnotes
    looped, columns = doc.tables
    assert [row.cells[0].text for row in looped.rows] == data["title"]
    assert len(columns._tbl.tblGrid.findall(f"{{{W_NS}}}gridCol")) == 1 + len(data["title"])  # the grid repaired
    ids = [d.get("id") for d in doc.element.body.iter("{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr")]
    assert ids == ["1001", "1002"]  # drawings renumbered, as docxtpl does


def test_template_without_tags_renders_as_docxtpl_does(tmp_path: Path) -> None:
    template = office_template(tmp_path, body=["没有标签的正文"], footnote=None, header="页眉", footer="页脚",
                               title="固定标题", tables=False)
    data = load(ROOT / "examples" / "zhuyangguan-2024.json")
    prepared = PreparedTemplate(template.read_bytes(), "t.docx")
    assert prepared._parts == ()  # every part is rendered once, when preparing
    assert_same_document(prepared.render(build_context(data)),
                         render_reference(data, template=template.read_bytes(), name="t.docx"))


# --------------------------------------------------------------------------- the package


def test_renders_are_deterministic_valid_zips() -> None:
    data = load(ROOT / "examples" / "county-bureau-2024.json")
    first, second = docxreport.render(data), docxreport.render(data)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.testzip() is None
        assert archive.namelist()[0] == "[Content_Types].xml"


def test_zip_writer_round_trips_names_and_contents() -> None:
    members = [deflate("a.xml", b"<a/>"), deflate("目录/b.bin", bytes(range(256)) * 50), deflate("empty", b"")]
    with zipfile.ZipFile(io.BytesIO(write_zip(members))) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["a.xml", "目录/b.bin", "empty"]
        assert archive.read("目录/b.bin") == bytes(range(256)) * 50 and archive.read("empty") == b""


# --------------------------------------------------------------------------- the cache


def test_cache_reuses_a_prepared_template_until_the_file_changes(tmp_path: Path) -> None:
    renderer = Renderer(cache_size=2)
    template = office_template(tmp_path)
    first = renderer.prepare(template)
    assert renderer.prepare(str(template)) is first
    assert renderer.prepare(template, fonts="windows") is not first  # a font profile is another preparation
    office_template(tmp_path, header="新页眉 {{ organ }}")
    stat = template.stat()
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    edited = renderer.prepare(template)
    assert edited is not first
    data = load(ROOT / "examples" / "county-bureau-2024.json")
    assert Document(io.BytesIO(edited.render(build_context(data)))).sections[0].header.paragraphs[0].text == "新页眉 某某县自然资源局"
    assert len(renderer) == 2  # bounded: the oldest entry went


def test_templates_given_as_file_objects_are_not_cached(tmp_path: Path) -> None:
    renderer = Renderer()
    raw = office_template(tmp_path).read_bytes()
    assert renderer.prepare(io.BytesIO(raw)) is not renderer.prepare(io.BytesIO(raw))
    assert len(renderer) == 0


def test_deleted_template_is_reported_even_when_cached(tmp_path: Path) -> None:
    renderer = Renderer()
    template = office_template(tmp_path)
    renderer.prepare(template)
    template.unlink()
    with pytest.raises(docxreport.ReportFileError, match="模板文件不存在"):
        renderer.prepare(template)


def test_one_prepared_template_serves_many_threads(tmp_path: Path) -> None:
    template = office_template(tmp_path)
    reports = []
    for i in range(12):
        data = load(ROOT / "examples" / "county-bureau-2024.json")
        data["organ"] = f"第{i}局"
        reports.append(data)
    expected = [docxreport.render(d, template=template) for d in reports]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda d: docxreport.render(d, template=template), reports * 4))
    assert got == expected * 4


def test_rendering_leaves_the_context_untouched() -> None:
    data = load(ROOT / "examples" / "county-bureau-2024.json")
    context = build_context(data)
    before = copy.deepcopy(context)
    docxreport.docx.renderer.DEFAULT_RENDERER.prepare().render(context)
    assert context == before


# --------------------------------------------------------------------------- refusals that say where


@pytest.mark.parametrize("tag", ["{{ ''.__class__.__mro__ }}", "{{ organ.__class__.__init__.__globals__ }}"])
def test_sandbox_covers_footnotes(tmp_path: Path, tag: str) -> None:
    template = office_template(tmp_path, footnote=tag)
    with pytest.raises(TemplateError, match="沙箱"):
        docxreport.render(load(ROOT / "examples" / "county-bureau-2024.json"), template=template)


def test_unknown_variable_in_footnotes_is_located(tmp_path: Path) -> None:
    template = office_template(tmp_path, footnote="{{ footnote_text }}")
    with pytest.raises(TemplateError) as info:
        docxreport.render(load(ROOT / "examples" / "county-bureau-2024.json"), template=template)
    assert "footnote_text" in str(info.value) and "word/footnotes.xml" in str(info.value)


def test_syntax_error_names_the_part(tmp_path: Path) -> None:
    template = office_template(tmp_path, footer="第 {{ year 年")
    with pytest.raises(TemplateError, match="语法错误") as info:
        docxreport.render(load(ROOT / "examples" / "county-bureau-2024.json"), template=template)
    assert "footer" in str(info.value) and "office.docx" in str(info.value)


def test_tags_that_break_the_xml_are_refused_instead_of_repaired(tmp_path: Path) -> None:
    """docxtpl lets lxml "recover" such output, which drops the table silently; we refuse it."""
    doc = Document()
    doc.add_paragraph("开头{% if year < 2000 %}")
    doc.add_table(rows=1, cols=1).cell(0, 0).text = "{% endif %}结尾"
    template = tmp_path / "broken.docx"
    doc.save(template)
    out = tmp_path / "out.docx"
    with pytest.raises(TemplateError, match="不是有效的 XML") as info:
        docxreport.render(load(ROOT / "examples" / "county-bureau-2024.json"), out, template=template)
    assert "word/document.xml" in str(info.value)
    assert not out.exists()


# --------------------------------------------------------------------------- well-formed without parsing


@pytest.mark.parametrize(("text", "ok"), [
    ("", True), ("文字 &amp; 更多", True), ("<w:p><w:r><w:t>a</w:t></w:r></w:p><w:p/>", True),
    ("<w:p>", False), ("</w:p>", False), ("<w:p></w:r>", False), ('<w:p w:rsidR="1"', False),
    ("a &am", False), ("<!-- x -->", False), ("a < b", False),
])
def test_balanced_xml_content(text: str, ok: bool) -> None:
    assert wellformed.balanced(text) is ok


P = '<w:p><w:r><w:t xml:space="preserve">'
END = "</w:t></w:r></w:p>"


@pytest.mark.parametrize(("source", "ok"), [
    (f"<w:body>{P}{{{{ organ }}}}{END}{{% if year %}}{P}{{{{ a.b['c'] }}}}{END}{{% else %}}{{% endif %}}</w:body>", True),
    (f"<w:body>{{% for line in title_lines %}}{P}{{{{ line }}}}{END}{{% endfor %}}{{{{ overview }}}}</w:body>", True),
    (f"<w:body>{P}开头{{% if x %}}{END}{P}{{% endif %}}结尾{END}</w:body>", True),  # closes and reopens the same elements
    (f"<w:body>{P}开头{{% if x %}}{END}<w:tbl><w:tr><w:tc>{P}{{% endif %}}结尾{END}</w:tc></w:tr></w:tbl></w:body>", False),
    ('<w:body><w:p w:rsidR="{{ organ }}"/></w:body>', False),  # a value inside markup
    (f"<w:body>{P}{{{{ organ|safe }}}}{END}</w:body>", False),  # markup made by the template
    (f"<w:body>{P}{{{{ organ.upper() }}}}{END}</w:body>", False),
    (f"<w:body>{{% set x = organ %}}{P}{{{{ x }}}}{END}</w:body>", False),
    (f"<w:body>{P}a &amp{{{{ organ }}}};{END}</w:body>", False),  # an entity cut by a tag
])
def test_which_templates_render_well_formed_without_parsing(source: str, ok: bool) -> None:
    assert wellformed.renders_well_formed(source, environment(autoescape=True)) is ok


def test_the_bundled_template_needs_no_parse_per_report(tmp_path: Path) -> None:
    bundled = docxreport.docx.renderer.DEFAULT_RENDERER.prepare()
    assert [(p.name, p.proven) for p in bundled._parts] == [("word/document.xml", True)]
    custom = PreparedTemplate(office_template(tmp_path).read_bytes(), "office.docx")
    proven = {p.name: p.proven for p in custom._parts}
    assert proven["word/document.xml"] is False  # table loops (docxtpl repairs the grid) and drawings: parsed
    assert proven["word/header1.xml"] is True


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t<>&\"'{}%#"), min_size=1, max_size=40))
def test_trusted_renders_are_well_formed_for_any_valid_text(text: str) -> None:
    data = load(ROOT / "examples" / "county-bureau-2024.json")
    data["organ"], data["title"] = text[:50], [text]
    data["overview"][0]["text"] = text
    data["problems"] = [text, {"heading": text[:30], "body": [text]}]
    if docxreport.validate(data):
        return  # the schema refuses it (blank text, a character Word cannot hold): never rendered
    document = docxreport.render(data)
    with zipfile.ZipFile(io.BytesIO(document)) as archive:
        for name in archive.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(archive.read(name), etree.XMLParser(resolve_entities=False))
