"""The reference rendering path: a fresh docxtpl template for every report, as docxtpl is usually used.

It is slow (the template is opened, patched and compiled again for each report, and the whole package is
re-serialised), and :mod:`docxreport.prepared` replaces it in :func:`docxreport.render`. It stays as the
definition of what a render must produce: the tests compare the prepared path with it part by part, and
``benchmarks/bench_render.py`` times the two. It runs in the same sandbox with the same escaping.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import jinja2

from ..data import data_file
from ..errors import TemplateError
from . import ooxml
from .prepared import environment, locate, render_error
from .template import TEMPLATE_FILE

_FOOTNOTES = "footnotes"


def render_context(raw: bytes, context: Mapping[str, Any] | Callable[[Mapping[str, str]], Mapping[str, Any]], name: str,
                   fonts: str = "official") -> bytes:
    """Render ``context`` into the template ``raw`` with a new docxtpl template, then map the fonts.
    ``context`` may be a function of the template's style ids (see :func:`docxreport.ooxml.adopt_styles`)."""
    from docxtpl import DocxTemplate  # imported here: validation and the CLI start without it

    class SandboxedTemplate(DocxTemplate):  # type: ignore[misc]
        """Document properties rendered in the same sandbox, without XML escaping (they are not XML)."""

        def render_properties(self, ctx: dict[str, Any], jinja_env: Any = None) -> None:
            super().render_properties(ctx, environment(autoescape=False))

    try:
        template = SandboxedTemplate(io.BytesIO(raw))
        template.init_docx()
    except Exception as exc:  # python-docx raises many kinds on a damaged package
        raise TemplateError(f"{name}: 无法打开模板（{type(exc).__name__}: {exc}）") from None
    styles = ooxml.adopt_document_styles(template.docx)
    if callable(context):
        context = context(styles)

    def where(variable: str) -> str:
        parts = [("word/document.xml", template.get_xml())]
        parts += [(str(p.partname).lstrip("/"), p.blob.decode("utf-8")) for p in template.docx.part.package.parts
                  if any(k in str(p.partname) for k in ("header", "footer", _FOOTNOTES))]
        props = template.docx.core_properties
        return locate(variable, parts, {p: getattr(props, p, "") for p in ("title", "subject", "author", "comments", "keywords", "identifier", "language")})

    try:
        template.render(dict(context), jinja_env=environment(autoescape=True))
    except jinja2.TemplateError as exc:
        raise render_error(exc, name, where) from None
    out = io.BytesIO()
    template.save(out)
    document = out.getvalue()
    if fonts == "official":
        return document
    from docx import Document

    doc = Document(io.BytesIO(document))
    ooxml.map_document_fonts(doc, fonts)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render_reference(data: Mapping[str, Any], *, template: bytes | None = None, name: str = TEMPLATE_FILE,
                     fonts: str = "official") -> bytes:
    """Valid report data rendered the reference way (no validation here: give valid data)."""
    from .renderer import build_context

    raw = template if template is not None else data_file("templates", TEMPLATE_FILE).read_bytes()
    return render_context(raw, lambda styles: build_context(data, styles=styles), name, fonts)
