"""``render``: report data + template → a finished .docx.

Jinja places values only: it runs sandboxed (no access to Python internals), with autoescaping and
undefined variables as errors, in every part docxtpl renders (body, headers, footers, footnotes and
document properties). Table structure comes from the template; narrative paragraphs are built as XML by
:mod:`docxreport.ooxml` and inserted through ``{{p … }}`` tags.

Templates are prepared once (:mod:`docxreport.prepared`) and kept by a :class:`Renderer`; :func:`render`
uses one per process, :data:`DEFAULT_RENDERER`.
"""

from __future__ import annotations

import functools
import io
import os
import zipfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from lxml import etree
from markupsafe import Markup, escape

from ..archive import read_docx
from ..data import data_file
from ..errors import InvalidReportError, ReportFileError, TemplateError
from ..files import write_atomic
from ..format import Format, load_format
from ..problems import has_errors
from ..report import blocks, rules
from ..report.validation import validate
from ..tables import format_fee
from . import ooxml
from .template import TEMPLATE_FILE
from .zipparts import deflate, write_zip

if TYPE_CHECKING:
    from .prepared import PreparedTemplate

TemplateSource = str | os.PathLike[str] | IO[bytes]
Output = str | os.PathLike[str] | IO[bytes]



class Text(str):
    """User text placed by a template tag: escaped for XML, and braces as character references so that
    no value can ever become a template tag."""

    def __html__(self) -> str:
        return str(escape(str(self))).replace("{", "&#123;").replace("}", "&#125;")


def _narrative(items: list[blocks.Para], styles: Mapping[str, str]) -> Markup:
    elements = []
    for p in items:
        runs = [blocks.Run(r.text, styles.get(r.style, r.style) if r.style else None) for r in p.runs]
        style = styles.get(p.style, p.style) if p.style else None
        elements.append(ooxml.paragraph(style, runs, keep_next=False if p.run_in else None))
    return Markup(ooxml.to_xml(elements))


def _signature(organ: str, iso_date: str | None, styles: Mapping[str, str]) -> Markup:
    if not iso_date:
        return Markup("")
    when = blocks.date_text(iso_date)
    layout = ooxml.Layout()
    # a name too long for one line breaks between its parts, never inside a word
    name = "\n".join(blocks.break_name(organ, (layout.chars_per_line or 27) - 2))
    name_right, date_right = blocks.signature_indents(name, when, layout.chars_per_line or 27)
    style = styles.get("Signature", "Signature")
    return Markup(ooxml.to_xml([
        ooxml.paragraph(None, []),  # one blank line below the text
        ooxml.paragraph(style, [blocks.Run(name)], right_chars=name_right),
        ooxml.paragraph(style, [blocks.Run(when)], right_chars=date_right),
    ]))


def _values(node: Any) -> Any:
    """Table values for the template: counts as they are, decimals as printed text."""
    if isinstance(node, Mapping):
        return {k: _values(v) for k, v in node.items()}
    if isinstance(node, (Decimal, float)):
        return Text(format_fee(node))
    return node


def build_context(data: Mapping[str, Any], fmt: Format | None = None, styles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The template context of valid report data: what every template, bundled or custom, can use.

    ``organ``, ``year``, ``date`` (ISO), ``date_text`` (``2025年1月20日``), ``title_lines`` (a line too long for the page
    holds newlines where it breaks: :func:`docxreport.report.blocks.break_title`); the tables
    under their data-model keys with computed totals filled in (``requests.received.total``); the
    narrative sections and ``signature`` as ready paragraphs for ``{{p … }}`` tags, in the template's
    styles (``styles``: our style id → the template's, from :func:`docxreport.ooxml.adopt_styles`).
    """
    fmt = fmt or load_format()
    styles = styles or {}
    full = rules.complete(data, fmt)
    organ, year = full["organ"], full["year"]
    title = full.get("title") or [line.format(organ=organ, year=year) for line in fmt.title_lines]
    # a title line too long for the line breaks at sensible points (w:br, from the newlines); never inside a word
    title_chars = ooxml.Layout().title_chars
    context: dict[str, Any] = {
        "format": fmt.id,
        "organ": Text(organ),
        "year": year,
        "date": Text(full.get("date") or ""),
        "date_text": Text(blocks.date_text(full["date"]) if full.get("date") else ""),
        "title_lines": [Text("\n".join(blocks.break_title(t, title_chars))) for t in ([title] if isinstance(title, str) else title)],
        "preamble": _narrative(list(blocks.paragraphs(full.get("preamble", []), fmt.heading_numbering)), styles),
        "signature": _signature(organ, full.get("date"), styles),
    }
    for section in fmt.sections:
        if section.is_table:
            context[section.key] = _values(full[section.key])
        else:
            context[section.key] = _narrative(list(blocks.paragraphs(full[section.key], fmt.heading_numbering)), styles)
    return context


#: Counts this long may not fit the narrowest data cell at the table size (four digits always fit); fees
#: sit in wide cells and need fitting only from this length.
_WIDE_COUNT, _WIDE_FEE = 5, 12


def _has_wide_values(context: Mapping[str, Any]) -> bool:
    """Whether a table value may be too wide for its cell: only then is the rendered document re-read.
    (Iterative and by magnitude, not ``len(str(n))``: this runs for every report.)"""
    low, high = -(10 ** (_WIDE_COUNT - 2)), 10 ** (_WIDE_COUNT - 1)  # -999 has 4 characters, -1000 has 5
    stack = [value for value in context.values() if isinstance(value, Mapping)]
    while stack:
        for value in stack.pop().values():
            kind = type(value)
            if kind is int:
                if not low < value < high:
                    return True
            elif kind is str:
                if len(value) >= _WIDE_FEE:
                    return True
            elif isinstance(value, Mapping):
                stack.append(value)
            elif isinstance(value, str) and len(value) >= _WIDE_FEE:  # a str subclass (escaped text)
                return True
            elif isinstance(value, int) and not isinstance(value, bool) and len(str(value)) >= _WIDE_COUNT:
                return True
    return False


def fit_table_numbers(document: bytes) -> bytes:
    """The .docx with every table number too wide for its cell set smaller, so it prints on one line
    (:func:`docxreport.docx.ooxml.fit_numbers`). Only the document part changes; the others keep their bytes."""
    with zipfile.ZipFile(io.BytesIO(document)) as package:
        infos = package.infolist()
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            root = etree.fromstring(package.read("word/document.xml"), parser)
        except (KeyError, etree.XMLSyntaxError):  # a custom template's part that only Word reads: leave it
            return document
        if not ooxml.fit_numbers(root):
            return document
        members = []
        for info in infos:
            data = package.read(info)
            if info.filename == "word/document.xml":
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            members.append(deflate(info.filename, data, 1 if info.filename == "word/document.xml" else 6))
    return write_zip(members)


# --------------------------------------------------------------------------- templates


def _check_package(source: TemplateSource) -> bytes:
    """Read a template and refuse what is not a sane .docx (not a zip, a zip bomb, no document part)."""
    return read_docx(source, "模板", TemplateError)


@functools.cache
def _bundled_template() -> str | None:
    """The path of the bundled template, or None when the package is not on a file system (a zip import)."""
    source = data_file("templates", TEMPLATE_FILE)
    return os.fspath(source) if isinstance(source, os.PathLike) else None


def _template_key(template: TemplateSource | None, fonts: str) -> tuple[Any, ...] | None:
    """The cache key of a template file: its path, identity (device, inode), modification time and size, and
    the font profile. None for a file object, which is not cached."""
    if template is None:
        path = _bundled_template()
        if path is None:  # inside a zip: cannot change while the process runs
            return ("<bundled>", fonts)
    elif isinstance(template, (str, os.PathLike)):
        path = os.fspath(template)
    else:
        return None
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise ReportFileError(f"{path}: 模板文件不存在") from None
    except OSError:
        return None  # reading the template will report it
    return (os.path.abspath(path), stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size, fonts)


class Renderer:
    """Renders reports, keeping the last ``cache_size`` prepared templates.

    A template is patched and compiled once (:class:`~docxreport.prepared.PreparedTemplate`) and kept under
    its path, inode, modification time and size, so an edited template is prepared again; templates given as
    file objects are prepared for each call. One renderer may be shared by threads: the cache is locked and
    prepared templates are immutable. Each process has its own.
    """

    def __init__(self, cache_size: int = 4) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], PreparedTemplate] = OrderedDict()
        self._lock = threading.Lock()

    def prepare(self, template: TemplateSource | None = None, fonts: str = "official") -> PreparedTemplate:
        """The prepared template (from the cache when the file has not changed)."""
        ooxml.font_profile(fonts)  # an unknown profile is refused before any work
        key = _template_key(template, fonts)
        if key is not None:
            with self._lock:
                prepared = self._cache.get(key)
                if prepared is not None:
                    self._cache.move_to_end(key)
                    return prepared
        if template is None:
            raw, name = data_file("templates", TEMPLATE_FILE).read_bytes(), TEMPLATE_FILE
        else:
            raw = _check_package(template)
            name = os.fspath(template) if isinstance(template, (str, os.PathLike)) else "<模板>"
        from .prepared import PreparedTemplate  # imported here: docxtpl loads only when rendering

        prepared = PreparedTemplate(raw, name, fonts, bundled=template is None)  # outside the lock: other templates need not wait
        if key is not None:
            with self._lock:
                self._cache[key] = prepared
                self._cache.move_to_end(key)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return prepared

    def __len__(self) -> int:
        """How many prepared templates the cache holds."""
        return len(self._cache)

    def clear(self) -> None:
        """Forget every prepared template."""
        with self._lock:
            self._cache.clear()

    def render(
        self,
        data: Mapping[str, Any],
        output: Output | None = None,
        *,
        template: TemplateSource | None = None,
        fonts: str = "official",
        previous: Mapping[str, Any] | None = None,
    ) -> bytes | None:
        """As :func:`render`, with this renderer's cache."""
        ooxml.font_profile(fonts)  # an unknown profile is refused before any work
        problems = validate(data, previous)
        if has_errors(problems):
            raise InvalidReportError(problems)
        document = self.render_checked(data, template=template, fonts=fonts)
        if output is None:
            return document
        if isinstance(output, (str, os.PathLike)):
            write_atomic(output, document)
        else:
            output.write(document)
        return None


    def render_checked(self, data: Mapping[str, Any], *, template: TemplateSource | None = None,
                       fonts: str = "official") -> bytes:
        """The .docx of data the caller has already checked against the schema (consistency errors may remain:
        ``render --allow-errors`` lays a published report out as given). Rendering relies on the schema having
        held (the template parts proven well-formed are not parsed again)."""
        prepared = self.prepare(template, fonts)
        context = build_context(data, styles=prepared.style_ids)
        document = prepared.render(context, trusted=True)
        if _has_wide_values(context):
            document = fit_table_numbers(document)
        return document


#: The renderer behind :func:`render`: a bounded cache (``Renderer.cache_size`` templates) per process.
DEFAULT_RENDERER = Renderer()


def render(
    data: Mapping[str, Any],
    output: Output | None = None,
    *,
    template: TemplateSource | None = None,
    fonts: str = "official",
    previous: Mapping[str, Any] | None = None,
) -> bytes | None:
    """Render report data into a .docx.

    The data is validated first (with ``previous``, last year's report, for the cross-year rule); invalid
    data raises :class:`~docxreport.errors.InvalidReportError` carrying every problem, and nothing is
    written. ``template`` is a custom .docx with docxtpl tags (default: the bundled national-format
    template); ``fonts`` is ``"official"`` (GB/T 9704 fonts) or ``"windows"`` (仿宋/楷体/黑体/宋体).

    Returns the document as bytes when ``output`` is None; otherwise writes it to the path (atomically)
    or file object given and returns None.
    """
    return DEFAULT_RENDERER.render(data, output, template=template, fonts=fonts, previous=previous)
