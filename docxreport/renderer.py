"""``render``: report data + template → a finished .docx.

Jinja places values only: it runs sandboxed (no access to Python internals), with autoescaping and
undefined variables as errors, in every part docxtpl renders (body, headers, footers, footnotes and
document properties). Table structure comes from the template; narrative paragraphs are built as XML by
:mod:`docxreport.ooxml` and inserted through ``{{p … }}`` tags.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from . import blocks, ooxml, rules
from .data import data_file
from .errors import InvalidReportError, ReportFileError, TemplateError
from .files import write_atomic
from .format import Format, load_format
from .problems import has_errors
from .template import TEMPLATE_FILE
from .validation import validate

TemplateSource = str | os.PathLike[str] | IO[bytes]
Output = str | os.PathLike[str] | IO[bytes]

MAX_TEMPLATE_PARTS = 1000
MAX_TEMPLATE_BYTES = 200 * 1024 * 1024  # decompressed


class Text(str):
    """User text placed by a template tag: escaped for XML, and braces as character references so that
    no value can ever become a template tag."""

    def __html__(self) -> str:
        return str(escape(str(self))).replace("{", "&#123;").replace("}", "&#125;")


def format_fee(value: Any) -> str:
    """A fee as written, without trailing zeros: ``5949.088667``, ``12.5``, ``0``."""
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    text = format(exact.normalize(), "f")
    return text if text != "-0" else "0"


def _narrative(items: list[blocks.Para]) -> Markup:
    elements = [ooxml.paragraph(p.style, p.runs, keep_next=False if p.run_in else None) for p in items]
    return Markup(ooxml.to_xml(elements))


def _signature(organ: str, iso_date: str | None) -> Markup:
    if not iso_date:
        return Markup("")
    when = blocks.date_text(iso_date)
    name_right, date_right = blocks.signature_indents(organ, when)
    return Markup(ooxml.to_xml([
        ooxml.paragraph(None, []),  # one blank line below the text
        ooxml.paragraph("Signature", [blocks.Run(organ)], right_chars=name_right),
        ooxml.paragraph("Signature", [blocks.Run(when)], right_chars=date_right),
    ]))


def _values(node: Any) -> Any:
    """Table values for the template: counts as they are, decimals as printed text."""
    if isinstance(node, Mapping):
        return {k: _values(v) for k, v in node.items()}
    if isinstance(node, (Decimal, float)):
        return Text(format_fee(node))
    return node


def build_context(data: Mapping[str, Any], fmt: Format | None = None) -> dict[str, Any]:
    """The template context of valid report data: what every template, bundled or custom, can use.

    ``organ``, ``year``, ``date`` (ISO), ``date_text`` (``2025年1月20日``), ``title_lines``; the tables
    under their data-model keys with computed totals filled in (``requests.received.total``); the
    narrative sections and ``signature`` as ready paragraphs for ``{{p … }}`` tags.
    """
    fmt = fmt or load_format()
    full = rules.complete(data, fmt)
    organ, year = full["organ"], full["year"]
    title = full.get("title") or [line.format(organ=organ, year=year) for line in fmt.title_lines]
    context: dict[str, Any] = {
        "format": fmt.id,
        "organ": Text(organ),
        "year": year,
        "date": Text(full.get("date") or ""),
        "date_text": Text(blocks.date_text(full["date"]) if full.get("date") else ""),
        "title_lines": [Text(t) for t in ([title] if isinstance(title, str) else title)],
        "preamble": _narrative(list(blocks.paragraphs(full.get("preamble", []), fmt.heading_numbering))),
        "signature": _signature(organ, full.get("date")),
    }
    for section in fmt.sections:
        if section.is_table:
            context[section.key] = _values(full[section.key])
        else:
            context[section.key] = _narrative(list(blocks.paragraphs(full[section.key], fmt.heading_numbering)))
    return context


# --------------------------------------------------------------------------- templates


def _check_package(source: TemplateSource) -> bytes:
    """Read a template and refuse what is not a sane .docx (not a zip, a zip bomb, no document part)."""
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "<模板>")
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as handle:
                raw = handle.read()
        else:
            raw = source.read()
    except FileNotFoundError:
        raise ReportFileError(f"{name}: 模板文件不存在") from None
    except IsADirectoryError:
        raise ReportFileError(f"{name}: 这是一个目录，不是模板文件") from None
    except PermissionError:
        raise ReportFileError(f"{name}: 没有读取模板的权限") from None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_TEMPLATE_PARTS or sum(i.file_size for i in infos) > MAX_TEMPLATE_BYTES:
                raise TemplateError(f"{name}: 模板解压后过大（{len(infos)} 个部件），拒绝处理")
            if "word/document.xml" not in archive.namelist():
                raise TemplateError(f"{name}: 不是 Word 文档：缺少 word/document.xml")
    except zipfile.BadZipFile:
        raise TemplateError(f"{name}: 不是有效的 .docx 文件（不是 zip 格式）") from None
    return raw


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _part_paragraphs(xml: str) -> list[str]:
    """Text of each paragraph of a part, tags included, for locating a template tag."""
    out = []
    for para in re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.DOTALL):
        out.append("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", para)))
    return out


def _locate(template: Any, name: str) -> str:
    """Where a tag mentioning ``name`` is in the template: part and paragraph, with an excerpt."""
    pattern = re.compile(r"\{[{%][^{}]*\b" + re.escape(name) + r"\b[^{}]*[}%]\}")
    parts = [("word/document.xml", template.docx.part)]
    parts += [(str(p.partname).lstrip("/"), p) for p in template.docx.part.package.parts if "footer" in str(p.partname) or "header" in str(p.partname) or "footnotes" in str(p.partname)]
    for part_name, part in parts:
        xml = part.blob.decode("utf-8") if part is not template.docx.part else template.get_xml()
        for index, text in enumerate(_part_paragraphs(xml), start=1):
            found = pattern.search(text)
            if found:
                return f"{part_name} 第 {index} 段“{found.group(0)}”"
    props = template.docx.core_properties
    for prop in ("title", "subject", "author", "comments", "keywords", "identifier", "language"):
        value = getattr(props, prop, "") or ""
        found = pattern.search(value)
        if found:
            return f"文档属性 {prop}“{found.group(0)}”"
    return "模板中"


def _undefined_name(exc: jinja2.UndefinedError) -> str:
    match = re.search(r"has no attribute '([^']+)'|'([^']+)' is undefined|has no element '?([^']+)'?", str(exc))
    return next((g for g in match.groups() if g), "") if match else ""


def _render_template(raw: bytes, context: Mapping[str, Any], name: str) -> bytes:
    from docxtpl import DocxTemplate  # imported here: validation and the CLI start without it

    class SandboxedTemplate(DocxTemplate):  # type: ignore[misc]
        """Document properties rendered in the same sandbox, without XML escaping (they are not XML)."""

        def render_properties(self, ctx: dict[str, Any], jinja_env: Any = None) -> None:
            super().render_properties(ctx, _environment(autoescape=False))

    try:
        template = SandboxedTemplate(io.BytesIO(raw))
        template.init_docx()
    except Exception as exc:  # python-docx raises many kinds on a damaged package
        raise TemplateError(f"{name}: 无法打开模板（{type(exc).__name__}: {exc}）") from None
    env = _environment(autoescape=True)
    try:
        template.render(dict(context), jinja_env=env)
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"{name}: 模板标签试图访问受保护的内部属性，已被沙箱拒绝（{exc}）") from None
    except jinja2.UndefinedError as exc:
        missing = _undefined_name(exc)
        raise TemplateError(f"{name}: {_locate(template, missing)} 引用了不存在的变量“{missing}”") from None
    except jinja2.TemplateSyntaxError as exc:
        excerpt = " ".join(t.strip() for t in getattr(exc, "docx_context", []) if t.strip())[:120]
        raise TemplateError(f"{name}: 模板标签语法错误：{exc.message}（附近内容：{excerpt}）") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{name}: 模板渲染失败：{exc}") from None
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def _apply_fonts(document: bytes, fonts: str) -> bytes:
    if fonts == "official":
        return document
    from docx import Document

    try:
        target = ooxml.FONT_PROFILES[fonts]
    except KeyError:
        raise ValueError(f"unknown font profile {fonts!r}; known: {', '.join(ooxml.FONT_PROFILES)}") from None
    mapping = ooxml.FONT_PROFILES["official"].mapping_to(target)
    doc = Document(io.BytesIO(document))
    ooxml.map_fonts(doc.styles.element, mapping)
    ooxml.map_fonts(doc.element, mapping)
    for section in doc.sections:
        for footer in (section.footer, section.even_page_footer, section.first_page_footer):
            if not footer.is_linked_to_previous:
                ooxml.map_fonts(footer._element, mapping)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


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
    if fonts not in ooxml.FONT_PROFILES:
        raise ValueError(f"unknown font profile {fonts!r}; known: {', '.join(ooxml.FONT_PROFILES)}")
    problems = validate(data, previous)
    if has_errors(problems):
        raise InvalidReportError(problems)
    if template is None:
        raw = data_file("templates", TEMPLATE_FILE).read_bytes()
        name = TEMPLATE_FILE
    else:
        raw = _check_package(template)
        name = os.fspath(template) if isinstance(template, (str, os.PathLike)) else "<模板>"
    document = _apply_fonts(_render_template(raw, build_context(data), name), fonts)
    if output is None:
        return document
    if isinstance(output, (str, os.PathLike)):
        write_atomic(output, document)
    else:
        output.write(document)
    return None
