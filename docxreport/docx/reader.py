"""``extract``: a finished report .docx → report data, whoever made the document.

Paragraphs and tables are read in body order into the reader-neutral :class:`~docxreport.document.Document`
(paragraph styles kept: a document docxreport rendered marks its headings, title and signature by style),
table cells through the grid model the renderer writes (:func:`docxreport.docx.ooxml.read_grid`); then
:func:`docxreport.document.read_report` reads it like any other input.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from docx import Document as open_docx
from docx.oxml.ns import qn
from lxml import etree

from ..archive import DocxSource, read_docx, source_name
from ..document import Document, Paragraph, normalise, read_report
from ..errors import NotAReportError
from ..problems import Problem
from ..tables import FoundTable
from .ooxml import read_grid

_W_P, _W_TBL, _W_T = qn("w:p"), qn("w:tbl"), qn("w:t")


def _paragraph(p: etree._Element) -> Paragraph:
    ppr_style = p.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
    runs: list[tuple[str, str]] = []
    for r in p.iter(qn("w:r")):
        rstyle = r.find(f"{qn('w:rPr')}/{qn('w:rStyle')}")
        text = ""
        for node in r:
            if node.tag == _W_T:
                text += node.text or ""
            elif node.tag == qn("w:tab"):
                text += "\t"
            elif node.tag in (qn("w:br"), qn("w:cr")) and node.get(qn("w:type")) in (None, "textWrapping"):
                text += "\n"
        if text:
            runs.append((text, (rstyle.get(qn("w:val")) or "") if rstyle is not None else ""))
    # a style element without its value (``<w:pStyle/>``) is no style
    return Paragraph("".join(t for t, _ in runs), (ppr_style.get(qn("w:val")) or "") if ppr_style is not None else "", runs)


def _body(document: Any) -> Iterator[Paragraph | FoundTable]:
    tables = 0
    for child in document.element.body.iterchildren():
        if child.tag == _W_P:
            yield _paragraph(child)
        elif child.tag == _W_TBL:
            tables += 1
            yield FoundTable(tables, read_grid(child))


def read_document(source: DocxSource) -> Document:
    """A .docx as the reader-neutral document model. Raises :class:`~docxreport.errors.NotAReportError`
    when it cannot be opened as a Word document."""
    name = source_name(source, "<报告>")
    raw = read_docx(source, "报告", NotAReportError)
    try:
        document = open_docx(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises many kinds on a damaged package
        raise NotAReportError(f"{name}: 无法打开文档（{type(exc).__name__}）") from None
    return Document(name, list(_body(document)), document.core_properties.title or "")


def extract(source: DocxSource) -> tuple[dict[str, Any], list[Problem]]:
    """Read a report .docx back into report data.

    Returns ``(data, problems)``: the data in the data model (counts as written; totals as printed, not
    recomputed) and what was met on the way: warnings for variants of the format, errors for what could
    not be read. Raises :class:`~docxreport.errors.NotAReportError` for a document that is not a report,
    :class:`~docxreport.errors.ReportFileError` when the file cannot be read.
    """
    return read_report(read_document(source))


__all__ = ["extract", "normalise", "read_document"]
