"""Build the official template from the format description (``python -m docxreport.build``).

The template is an ordinary docxtpl template that an office can open and restyle in Word or WPS: real
paragraph styles (Title, heading 1–4, Table Text, Signature, footer), the three statistical tables laid out
from the format grid with their label texts, and Jinja tags that place values only:

- ``{{ requests.received.natural }}`` … in each data cell;
- ``{%p for line in title_lines %}{{ line }}{%p endfor %}`` for the title;
- ``{{p preamble }}``, ``{{p overview }}``, ``{{p problems }}``, ``{{p other }}`` and ``{{p signature }}``
  where the renderer inserts narrative paragraphs it builds from the data.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

from docx import Document
from docx.document import Document as DocumentObject
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from lxml import etree

from ..format import CellSpec, Format, load_format
from . import ooxml

TEMPLATE_FILE = "gov-info-annual-report-2021.docx"
_FIXED_TIME = datetime(2021, 9, 26, tzinfo=timezone.utc)  # the format's date: keeps builds reproducible
_DROP = {
    "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects",
    RT.WEB_SETTINGS, RT.CUSTOM_XML, RT.NUMBERING,
}


def data_tag(cell: CellSpec) -> str:
    """The Jinja tag of a data cell (its JSON path is the context path)."""
    return "{{ " + str(cell.key) + " }}"


def _lean(doc: DocumentObject) -> None:
    """Drop python-docx's default parts that the report never uses (790 KB of styles, theme, thumbnail)."""
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype in _DROP:
            doc.part.rels.pop(rid)
    package_rels = doc.part.package.rels
    for rid, rel in list(package_rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            package_rels.pop(rid)


def _settings(doc: DocumentObject) -> None:
    settings = doc.settings.element
    for tag in ("w:rsids", "w:attachedTemplate", "w:proofState"):
        for node in settings.findall(qn(tag)):
            settings.remove(node)
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
    doc.settings.odd_and_even_pages_header_footer = True


def _tag_paragraph(body: etree._Element, text: str, style: str | None = None) -> None:
    body.append(ooxml.paragraph(style, [ooxml.Run(text)]))


def build_template(fmt: Format | None = None, layout: ooxml.Layout | None = None) -> bytes:
    """The official template as .docx bytes, built from the format description and the layout."""
    fmt = fmt or load_format()
    layout = layout or ooxml.Layout()
    profile = ooxml.FONT_PROFILES["official"]
    doc = Document()
    _lean(doc)
    ooxml.build_styles(doc.styles.element, profile, layout)
    _settings(doc)
    font_part = doc.part.part_related_by(RT.FONT_TABLE)
    fonts = etree.fromstring(font_part.blob)
    ooxml.font_table(fonts, profile)
    font_part._blob = etree.tostring(fonts, xml_declaration=True, encoding="UTF-8", standalone=True)

    section = doc.sections[0]
    section.footer.is_linked_to_previous = False
    section.even_page_footer.is_linked_to_previous = False
    ooxml.page_number_paragraph(section.footer.paragraphs[0]._p, odd=True)
    ooxml.page_number_paragraph(section.even_page_footer.paragraphs[0]._p, odd=False)

    body = doc.element.body
    sect_pr = body.sectPr
    for child in list(body):
        if child is not sect_pr:
            body.remove(child)
    ooxml.page_setup(sect_pr, layout)

    def add(text: str, style: str | None = None) -> None:
        sect_pr.addprevious(ooxml.paragraph(style, [ooxml.Run(text)] if text else []))

    add("{%p for line in title_lines %}", "Title")
    add("{{ line }}", "Title")
    add("{%p endfor %}", "Title")
    add("")  # one blank line after the title
    add("{{p preamble }}")
    after_table = False
    for sec in fmt.sections:
        add(sec.heading, "Heading1")
        if after_table:  # half a line of air between a table's bottom border and the next heading
            heading = sect_pr.getprevious()
            heading.find(qn("w:pPr")).append(ooxml.el("w:spacing", {"w:before": layout.line_twips // 2}))
        after_table = sec.is_table
        if sec.is_table:
            sect_pr.addprevious(ooxml.table(fmt.table_of(sec), lambda c: data_tag(c) if c.is_data else c.text))
        else:
            add("{{p " + sec.key + " }}")
    add("{{p signature }}")

    props = doc.core_properties
    props.title = "{{ organ }}{{ year }}年政府信息公开工作年度报告"
    props.subject = f"{fmt.name}（{fmt.notice}）"
    props.author = "{{ organ }}"
    props.last_modified_by = "docxreport"
    props.comments = ""
    props.keywords = "政府信息公开"
    props.revision = 1
    props.created = props.modified = _FIXED_TIME
    props.language = "zh-CN"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
