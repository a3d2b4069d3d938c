"""A docxtpl template prepared once and rendered for many reports.

docxtpl, used as usual, opens the package, patches the XML of every templated part with about twenty regular
expressions and compiles it with Jinja on every render, then re-serialises and re-compresses every part of
the package. All of that depends on the template only. :class:`PreparedTemplate` does it once:

- the body, headers, footers and footnotes are patched by docxtpl's own ``patch_xml`` and compiled in the
  sandboxed, autoescaping, ``StrictUndefined`` environment; the document properties docxtpl renders are
  compiled in the same sandbox without escaping (they are not XML);
- every other part is taken from the package as python-docx saves it and kept deflated.

Rendering a report then runs the compiled templates, applies the steps docxtpl applies after Jinja (``{_{``
unescaping, tabs and line breaks in text, table-grid repair, drawing ids), checks that each rendered part is
well-formed XML (by parsing it, or, for a part proven once to render well-formed whatever the values, by that
proof: :mod:`docxreport.wellformed`), deflates the few changed parts and writes the zip. The result holds the same parts with the
same XML, after canonicalisation, as a fresh docxtpl render (``tests/test_prepared.py`` checks this), with two
deliberate differences: a rendered part that is not well-formed XML is refused with a :class:`TemplateError`
(docxtpl lets lxml "recover" it, which silently drops content), and footnotes are rendered once (docxtpl
renders the footnotes part once per section, re-rendering its own output).

A prepared template is immutable after construction: one instance can serve many threads at once.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from lxml import etree

from ..errors import TemplateError
from . import ooxml, wellformed
from .sandbox import LimitExceeded, environment, render_bounded
from .zipparts import Member, deflate, write_zip

#: The core properties docxtpl renders through Jinja, in its order.
PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")
FOOTNOTES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
#: Deflate level of the parts rendered per report: level 1 is several times faster than 6 on WordprocessingML
#: and costs a few KB per report.
RENDER_LEVEL = 1
STATIC_LEVEL = 6

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DOC_PR = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"
_TAG = re.compile(r"\{[{%#]")
_P_START = re.compile(r"<w:p([ >])")
_DECLARATION = b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
_SLOT_NS = "urn:docxreport:slot"


# --------------------------------------------------------------------------- errors that say where


_PARAGRAPH_START = re.compile(r"<w:p[ >]")
_TEXT = re.compile(r"<w:t(?: [^>]*)?>([^<]*)</w:t>")
_TAG_TEXT = re.compile(r"\{[{%][^{}]*[}%]\}")  # a whole tag: no brace inside, so each start scans its own text


def _part_paragraphs(xml: str) -> list[str]:
    """Text of each paragraph of a part, tags included, for locating a template tag. Each paragraph runs to
    the first ``</w:p>`` after its start (found with :meth:`str.find`: linear even when one is missing)."""
    out = []
    position = 0
    while (start := _PARAGRAPH_START.search(xml, position)) is not None:
        end = xml.find("</w:p>", start.end())
        if end < 0:
            break
        out.append("".join(_TEXT.findall(xml, start.start(), end)))
        position = end + len("</w:p>")
    return out


def locate(name: str, parts: list[tuple[str, str]], properties: Mapping[str, str]) -> str:
    """Where a tag mentioning ``name`` is: part and paragraph with an excerpt, or the document property.

    ``parts`` are (part name, XML as in the template) in rendering order; ``properties`` the template's
    document properties.
    """
    word = re.compile(r"\b" + re.escape(name) + r"\b")

    def tag_with_name(text: str) -> str | None:
        for tag in _TAG_TEXT.finditer(text):
            if word.search(tag.group()):
                return tag.group()
        return None

    for part_name, xml in parts:
        for index, text in enumerate(_part_paragraphs(xml), start=1):
            found = tag_with_name(text)
            if found:
                return f"{part_name} 第 {index} 段“{found[:120]}”"
    for prop, value in properties.items():
        found = tag_with_name(value or "")
        if found:
            return f"文档属性 {prop}“{found[:120]}”"
    return "模板中"


_UNDEFINED = re.compile(r"has no attribute '([^']+)'|'([^']+)' is undefined|has no element '?([^']+)'?")
_MARKUP = re.compile(r"<[^<>]*>")


def _undefined_name(exc: jinja2.UndefinedError) -> str:
    match = _UNDEFINED.search(str(exc)[:2000])
    return next((g for g in match.groups() if g), "") if match else ""


def render_error(exc: Exception, template_name: str, where: Any, part: str = "") -> TemplateError:
    """Our error for an error raised while rendering; ``where(variable)`` locates a variable's tag.
    Template code is the user's: any exception it raises (``1/0``, a recursive macro) is a TemplateError."""
    at = f"{part} 中" if part else ""
    if isinstance(exc, LimitExceeded):
        return TemplateError(f"{template_name}: {at}模板超出限制，已停止：{exc}")
    if isinstance(exc, RecursionError):
        return TemplateError(f"{template_name}: {at}模板递归过深（宏或循环调用自身），已停止")
    if isinstance(exc, MemoryError):
        return TemplateError(f"{template_name}: {at}模板渲染所需内存过多，已停止")
    if not isinstance(exc, jinja2.TemplateError):
        return TemplateError(f"{template_name}: {at}模板渲染失败（{type(exc).__name__}: {str(exc)[:200]}）")
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return TemplateError(f"{template_name}: 模板标签试图访问受保护的内部属性，已被沙箱拒绝（{exc}）")
    if isinstance(exc, jinja2.UndefinedError):
        missing = _undefined_name(exc)
        return TemplateError(f"{template_name}: {where(missing)} 引用了不存在的变量“{missing}”")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        excerpt = " ".join(t.strip() for t in getattr(exc, "docx_context", []) if t.strip())[:120]
        return TemplateError(f"{template_name}: 模板标签语法错误：{exc.message}（附近内容：{excerpt}）")
    return TemplateError(f"{template_name}: 模板渲染失败：{exc}")


def _syntax_error(exc: jinja2.TemplateSyntaxError, template_name: str, part: str, source: str) -> TemplateError:
    """A tag that does not compile, with the text around it (docxtpl's context: 7 lines from lineno-4)."""
    start = max((exc.lineno or 1) - 4, 0)
    nearby = (_MARKUP.sub("", line[:4000]).strip() for line in source.splitlines()[start:start + 7])
    excerpt = " ".join(t for t in nearby if t)[:120]
    return TemplateError(f"{template_name}: {part} 中模板标签语法错误：{exc.message}（附近内容：{excerpt}）")


# --------------------------------------------------------------------------- parts


@dataclass(frozen=True)
class _Part:
    """An XML part rendered per report."""

    name: str  # zip member name
    kind: str  # "document", "xml" (header, footer) or "footnotes"
    source: str  # the part's XML in the template, for locating a tag in error messages
    template: jinja2.Template
    proven: bool  # renders of trusted contexts are well-formed without parsing (see wellformed.py)


def _has_tags(text: str) -> bool:
    return _TAG.search(text) is not None


def _strict_parser() -> etree.XMLParser:
    # one per call: lxml serialises the use of a shared parser across threads
    return etree.XMLParser(resolve_entities=False, no_network=True, collect_ids=False)


def _tables_need_fixing(body: etree._Element) -> bool:
    """True when docxtpl's ``fix_tables`` could change a table: a row (its own or a nested table's, as
    docxtpl counts them) with more cells than grid columns, or grid columns that no row fills. Anything
    unusual (no grid, a span that is not a number, two spans in one cell) answers True, leaving the
    decision to docxtpl."""
    try:
        for tbl in body.iter(_W + "tbl"):
            grid = tbl.find(_W + "tblGrid")
            if grid is None:
                return True
            columns = sum(1 for _ in grid.iterchildren(_W + "gridCol"))
            extra: dict[etree._Element, int] = {}  # row → columns its spanning cells add
            spanned: set[etree._Element] = set()
            for span in tbl.iter(_W + "gridSpan"):
                props = span.getparent()
                cell = props.getparent() if props is not None and props.tag == _W + "tcPr" else None
                if cell is None or cell.tag != _W + "tc":
                    continue
                if props in spanned:
                    return True
                spanned.add(props)
                row = cell.getparent()
                extra[row] = extra.get(row, 0) + int(span.get(_W + "val")) - 1  # type: ignore[arg-type]
            widest = 0
            for tr in tbl.iter(_W + "tr"):
                cells = sum(1 for _ in tr.iterchildren(_W + "tc"))
                if cells > columns:
                    return True
                widest = max(widest, cells + extra.get(tr, 0))
            if widest < columns:
                return True
    except (TypeError, ValueError):
        return True
    return False


_HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
_ATTACHED_TEMPLATE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"


def _external_links(docx: Any, name: str) -> None:
    """Refuse a template whose content is fetched from elsewhere (``TargetMode="External"``: a linked
    image, frame, sub-document or OLE object), which LibreOffice or Word would request from the network or
    the file system when opening every report. A clickable hyperlink is kept (opening a document never
    follows it); the attached-template link Word records in the settings is dropped (it only names the
    .dotx the document was made from)."""
    package = docx.part.package
    for source in (package, *package.iter_parts()):
        for rid, rel in list(source.rels.items()):
            if not rel.is_external or rel.reltype == _HYPERLINK:
                continue
            where = getattr(source, "partname", "/")
            if rel.reltype == _ATTACHED_TEMPLATE and str(where).endswith("/settings.xml"):
                for node in source.element.findall(_W + "attachedTemplate"):
                    source.element.remove(node)
                source.rels.pop(rid)
                continue
            kind = rel.reltype.rsplit("/", 1)[-1]
            raise TemplateError(
                f"{name}: 模板含有外部链接的内容（{where} 的 {rid}：{kind} → {rel.target_ref[:80]}），打开或转换报告时"
                "会访问该地址；请在 Word 中把它嵌入文档（图片：插入 › 图片 › 插入，而不是“链接到文件”）或删除后重试"
            )


class PreparedTemplate:
    """A template patched and compiled once; :meth:`render` makes one report's .docx from a context.

    ``raw`` is the .docx (already checked to be a sane package), ``name`` how messages call it, ``fonts``
    a font profile of :data:`docxreport.ooxml.FONT_PROFILES` applied to the template's styles, body and
    footers (the same result as mapping the fonts of each rendered document). Every part renders in the
    bounded sandbox (:mod:`docxreport.docx.sandbox`); ``bundled`` (the template docxreport ships) renders
    without the line-by-line deadline, which costs time.
    """

    def __init__(self, raw: bytes, name: str, fonts: str = "official", *, bundled: bool = False) -> None:
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
        from docx.oxml import parse_xml
        from docxtpl import DocxTemplate  # imported here: validation and the CLI start without it

        self.name = name
        self.fonts = fonts
        self._watched = not bundled  # the bundled template is ours: no per-line deadline
        self._tools = DocxTemplate(None)  # docxtpl's text transformations; they use no template state
        self._parse_core = parse_xml
        self._env = environment(autoescape=True)
        self._props_env = environment(autoescape=False)
        template = DocxTemplate(io.BytesIO(raw))
        try:
            template.init_docx()
        except Exception as exc:  # python-docx raises many kinds on a damaged package
            raise TemplateError(f"{name}: 无法打开模板（{type(exc).__name__}: {exc}）") from None
        docx = template.docx
        _external_links(docx, name)
        #: our narrative style ids → this template's (missing styles are added to it once, here)
        self.style_ids = ooxml.adopt_document_styles(docx)
        if fonts != "official":
            ooxml.map_document_fonts(docx, fonts)

        self._parts: tuple[_Part, ...] = ()
        parts: list[_Part] = []
        static: dict[str, bytes] = {}
        seen: set[str] = set()

        def add(part_name: str, kind: str, source: str, patched: str) -> None:
            if part_name in seen:
                return
            seen.add(part_name)
            text = _P_START.sub(r"\n<w:p\1", patched)
            compiled = self._compile(text, part_name)
            proven = wellformed.renders_well_formed(text, self._env)
            if kind == "document":  # and docxtpl's table repair and drawing ids would change nothing
                proven = proven and tables_fixed and "docPr" not in text and wellformed.tables_without_statements(text)
            part = _Part(part_name, kind, source, compiled, proven)
            if _has_tags(patched):
                parts.append(part)
            else:  # renders the same for every report: render it now
                static[part_name] = self._render_part(part, {})

        # body: the document element around it is kept as text, the body is rendered into the slot
        self._document_name = docx.part.partname.lstrip("/")
        body_source = template.get_xml()
        document = docx.element
        tables_fixed = not _tables_need_fixing(document.body)
        slot = etree.Element(f"{{{_SLOT_NS}}}body", nsmap={"slot": _SLOT_NS})
        document.replace(document.body, slot)
        text = etree.tostring(document, encoding="UTF-8", standalone=True).decode("utf-8")
        marker = f'<slot:body xmlns:slot="{_SLOT_NS}"/>'
        if text.count(marker) != 1:  # pragma: no cover - a marker of our own namespace appears once
            raise TemplateError(f"{name}: 无法定位文档正文")
        self._prefix, self._suffix = text.split(marker)
        add(self._document_name, "document", body_source, template.patch_xml(body_source))

        for uri in (template.HEADER_URI, template.FOOTER_URI):
            for _, part in template.get_headers_footers(uri):
                xml = template.get_part_xml(part)
                add(part.partname.lstrip("/"), "xml", xml, template.patch_xml(xml))
        for part in docx.part.package.parts:
            if part.content_type == FOOTNOTES_TYPE:
                xml = part.blob.decode("utf-8")
                add(part.partname.lstrip("/"), "footnotes", xml, template.patch_xml(xml))

        # document properties: created by python-docx if the package has none, as a docxtpl render does
        core = docx.core_properties
        self._properties = {prop: getattr(core, prop) for prop in PROPERTIES}
        core_part = docx.part.package.part_related_by(RT.CORE_PROPERTIES)
        self._core_name = core_part.partname.lstrip("/")
        self._property_templates: dict[str, jinja2.Template | str] = {}
        for prop, initial in self._properties.items():
            compiled = self._compile_property(prop, initial)
            self._property_templates[prop] = compiled if _has_tags(initial) else compiled.render()
        self._core_source = core_part.blob
        if all(isinstance(v, str) for v in self._property_templates.values()):
            static[self._core_name] = self._render_properties({})
            self._core_dynamic = False
        else:
            self._core_dynamic = True

        self._parts = tuple(parts)
        dynamic = {p.name for p in parts} | ({self._core_name} if self._core_dynamic else set())
        saved = io.BytesIO()
        docx.save(saved)
        layout: list[Member | str] = []
        with zipfile.ZipFile(saved) as package:
            for info in package.infolist():
                member = info.filename
                if member in dynamic:
                    layout.append(member)
                else:
                    layout.append(deflate(member, static.get(member, package.read(member)), STATIC_LEVEL))
        self._layout = tuple(layout)

    # ----------------------------------------------------------------------- preparation

    def _compile(self, source: str, part_name: str) -> jinja2.Template:
        try:
            return self._env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise _syntax_error(exc, self.name, part_name, source) from None
        except Exception as exc:  # noqa: BLE001 - a compile error, or nesting too deep for the compiler
            raise render_error(exc, self.name, self._where, part_name) from None

    def _compile_property(self, prop: str, initial: str) -> jinja2.Template:
        try:
            return self._props_env.from_string(initial)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{self.name}: 文档属性 {prop} 中模板标签语法错误：{exc.message}（“{initial[:60]}”）") from None
        except Exception as exc:  # noqa: BLE001
            raise render_error(exc, self.name, self._where, f"文档属性 {prop}") from None

    def _where(self, variable: str) -> str:
        sources = [(p.name, p.source) for p in self._parts]
        return locate(variable, sources, self._properties)

    # ----------------------------------------------------------------------- rendering

    def render(self, context: Mapping[str, Any], *, trusted: bool = False) -> bytes:
        """The .docx of one report. ``context`` is :func:`docxreport.renderer.build_context`'s (or any
        mapping a custom template expects); it is never modified.

        Each rendered part is parsed to make sure it is well-formed XML, except, with ``trusted``, the parts
        proven well-formed for any values (:mod:`docxreport.wellformed`). ``trusted`` promises that the
        context's text holds only characters XML allows and its ``Markup`` is well-formed: true of
        ``build_context`` on validated data, which is how :class:`~docxreport.renderer.Renderer` calls it.
        """
        rendered = {part.name: self._render_part(part, context, trusted) for part in self._parts}
        if self._core_dynamic:
            rendered[self._core_name] = self._render_properties(context)
        members = [m if isinstance(m, Member) else deflate(m, rendered[m], RENDER_LEVEL) for m in self._layout]
        return write_zip(members)

    def _render_part(self, part: _Part, context: Mapping[str, Any], trusted: bool = False) -> bytes:
        try:
            xml = render_bounded(part.template, context, watched=self._watched)
        except Exception as exc:  # noqa: BLE001 - whatever template code raises is the template's error
            raise render_error(exc, self.name, self._where, part.name) from None
        # what docxtpl's render_xml_part does after Jinja
        xml = xml.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")  # the newlines added before compiling
        if "{_" in xml or "_}" in xml:
            xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        proven = trusted and part.proven
        if "\t" in xml or "\a" in xml or "\n" in xml or "\f" in xml:
            xml = self._tools.resolve_listing(xml)
            proven = False  # its regular expressions split runs and paragraphs: check the result
        if part.kind == "document":
            return self._document(xml, proven)
        data = xml.encode("utf-8")
        if not proven:
            self._parse(data, part.name)
        return data if part.kind == "footnotes" else _DECLARATION + data

    def _parse(self, data: bytes, part_name: str) -> etree._Element:
        try:
            return etree.fromstring(data, _strict_parser())
        except etree.XMLSyntaxError as exc:
            raise TemplateError(
                f"{self.name}: 渲染后的 {part_name} 不是有效的 XML（{exc.msg}），"
                "请检查模板标签是否跨越了段落、表格行或单元格的边界"
            ) from None

    def _document(self, body_xml: str, proven: bool = False) -> bytes:
        """The document part: the rendered body in the template's document element, with the table-grid
        repair and drawing renumbering of a docxtpl render (for a proven part, known to change nothing)."""
        data = (self._prefix + body_xml + self._suffix).encode("utf-8")
        if proven:
            return data
        root = self._parse(data, self._document_name)
        body = root.find(_W + "body")
        changed = False
        if body is not None and _tables_need_fixing(body):
            try:
                fixed = self._tools.fix_tables(body_xml)
            except Exception as exc:  # docxtpl's repair assumes a table grid and numeric spans
                raise TemplateError(f"{self.name}: 表格结构无效，无法修复（{type(exc).__name__}: {exc}）") from None
            root.replace(body, fixed)
            body = fixed
            changed = True
        if body is not None and "docPr" in body_xml:
            for number, node in enumerate(body.iter(_DOC_PR), start=1001):
                node.set("id", str(number))
                changed = True
        return etree.tostring(root, encoding="UTF-8", standalone=True) if changed else data

    def _render_properties(self, context: Mapping[str, Any]) -> bytes:
        from docx.opc.coreprops import CoreProperties
        from docx.opc.oxml import serialize_part_xml

        element = self._parse_core(self._core_source)
        props = CoreProperties(element)
        for prop, template in self._property_templates.items():
            try:
                value = template if isinstance(template, str) else render_bounded(template, context, watched=self._watched)
            except Exception as exc:  # noqa: BLE001
                raise render_error(exc, self.name, self._where, f"文档属性 {prop}") from None
            try:
                setattr(props, prop, value)
            except ValueError:
                raise TemplateError(f"{self.name}: 文档属性 {prop} 渲染后超过 255 个字符") from None
        return serialize_part_xml(element)
