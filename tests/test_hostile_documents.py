"""Hostile templates and report documents: bombs, entity tricks and template code are refused or inert."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from docx import Document

import docxreport
from docxreport import TemplateError
from docxreport.errors import NotAReportError
from docxreport.docx.reader import extract

ROOT = Path(__file__).resolve().parent.parent
DATA = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")


def rezip(document: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> bytes:
    """A copy of a .docx with some parts replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(document)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, replace.get(info.filename, src.read(info.filename)))
        for name, blob in (add or {}).items():
            dst.writestr(name, blob)
    return out.getvalue()


def simple_template(text: str = "机关：{{ organ }}") -> bytes:
    doc = Document()
    doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def document_xml(document: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(document)) as archive:
        return archive.read("word/document.xml")


# --------------------------------------------------------------------------- packages


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/bomb.bin", b"\0" * (256 * 1024 * 1024))  # 256 MB that packs to 250 KB
    return out.getvalue()


def many_parts() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        for i in range(1500):
            archive.writestr(f"word/p{i}.xml", b"<x/>")
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return zip_bomb()


def test_zip_bomb_template_is_refused_before_decompression(bomb: bytes) -> None:
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="解压后过大"):
        docxreport.render(DATA, template=io.BytesIO(bomb))
    assert time.perf_counter() - started < 5  # refused from the directory, nothing inflated


def test_zip_bomb_report_is_refused(bomb: bytes) -> None:
    with pytest.raises(NotAReportError, match="解压后过大"):
        extract(io.BytesIO(bomb))


@pytest.mark.parametrize("reader", ["template", "report"])
def test_too_many_parts_is_refused(reader: str) -> None:
    package = io.BytesIO(many_parts())
    if reader == "template":
        with pytest.raises(TemplateError, match="1501 个部件"):
            docxreport.render(DATA, template=package)
    else:
        with pytest.raises(NotAReportError, match="1501 个部件"):
            extract(package)


# --------------------------------------------------------------------------- XML entities

XXE = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE w:document [<!ENTITY secret SYSTEM "file:///etc/hostname"><!ENTITY remote SYSTEM "http://127.0.0.1:9/x">]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>A&secret;B&remote;C {{ organ }}</w:t></w:r></w:p><w:sectPr/></w:body></w:document>"""

LAUGHS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE w:document [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>&i;</w:t></w:r></w:p><w:sectPr/></w:body></w:document>"""


@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["external-entities", "billion-laughs"])
def test_entities_in_a_template_are_never_expanded(xml: bytes) -> None:
    hostile = rezip(simple_template(), {"word/document.xml": xml})
    started = time.perf_counter()
    try:
        out = docxreport.render(DATA, template=io.BytesIO(hostile))
    except TemplateError:
        return  # refusing is fine; expanding is not
    assert time.perf_counter() - started < 10
    text = document_xml(out)
    hostname = Path("/etc/hostname").read_bytes().strip() if Path("/etc/hostname").exists() else b"\0"
    assert hostname not in text or hostname in document_xml(hostile)
    assert b"hahaha" not in text and len(out) < 200_000


@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["external-entities", "billion-laughs"])
def test_entities_in_a_report_are_never_expanded(xml: bytes) -> None:
    report = rezip(docxreport.render(DATA), {"word/document.xml": xml})
    started = time.perf_counter()
    try:
        data, _ = extract(io.BytesIO(report))
    except NotAReportError:
        return
    assert time.perf_counter() - started < 10
    assert "hahaha" not in str(data)
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "\0"
    assert hostname not in str(data)


# --------------------------------------------------------------------------- template code in every part

FOOTNOTES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:footnote w:id="1"><w:p><w:r><w:t>{tag}</w:t></w:r></w:p></w:footnote></w:footnotes>"""


def with_footnotes(tag: str) -> bytes:
    base = simple_template()
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        types = archive.read("[Content_Types].xml").decode()
        rels = archive.read("word/_rels/document.xml.rels").decode()
    types = types.replace("</Types>", '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>')
    rels = rels.replace("</Relationships>", '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/></Relationships>')
    return rezip(base, {"[Content_Types].xml": types.encode(), "word/_rels/document.xml.rels": rels.encode()},
                 {"word/footnotes.xml": FOOTNOTES.format(tag=tag).encode()})


def test_footnotes_are_rendered_in_the_same_sandbox() -> None:
    out = docxreport.render(DATA, template=io.BytesIO(with_footnotes("脚注：{{ organ }}")))
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        assert "脚注：某某县自然资源局" in archive.read("word/footnotes.xml").decode()
    for tag in ("{{ ''.__class__.__mro__ }}", "{{ organ.__class__.__base__.__subclasses__() }}", "{{ cycler.__init__.__globals__ }}"):
        with pytest.raises(TemplateError):
            docxreport.render(DATA, template=io.BytesIO(with_footnotes(tag)))


def test_user_text_in_footnotes_is_literal() -> None:
    data = {**DATA, "organ": "A&B <c> {{ year }}"}
    out = docxreport.render(data, template=io.BytesIO(with_footnotes("{{ organ }}")))
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        xml = archive.read("word/footnotes.xml").decode()
    assert "A&amp;B &lt;c&gt; {{ year }}" in xml.replace("&#123;", "{").replace("&#125;", "}")


@pytest.mark.parametrize("tag", ["{{ self.__init__.__globals__ }}", "{{ lipsum.__globals__ }}", "{{ range.__class__ }}",
                                 "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}"])
def test_body_tags_reaching_internals_are_refused(tag: str) -> None:
    with pytest.raises(TemplateError):
        docxreport.render(DATA, template=io.BytesIO(simple_template(tag)))
