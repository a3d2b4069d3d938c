"""A web page → the reader-neutral :class:`~docxreport.document.Document`: reports as CMSs publish them.

A saved page or a fragment, in any encoding it declares (a byte-order mark, ``<meta charset>``, or the
``charset`` an HTTP response gave; GBK and GB2312 are read as their superset GB18030). Parsed by lxml.html
with no network access and no entity expansion; scripts, styles and comments are dropped.

The article is found inside the page's navigation and footer: the element that holds the most of the
report's section headings and national tables, the deepest such one. Its paragraphs come out in order
(block elements and ``<br>`` end a paragraph; ``&nbsp;``, Word's ``<o:p>``, ``<font>`` and nested
``<span>``s are text like any other) and its tables as grids, spans from ``rowspan``/``colspan`` (bounded).
A table holding other tables is a layout table: its cells are read as parts of the page, not as a grid.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from lxml import etree, html

from ..document import Document, Paragraph
from ..errors import NotAReportError
from ..tables import Cell, FoundTable

MAX_BYTES = 20 * 1024 * 1024
MAX_SPAN = 64  # rowspan / colspan beyond this are read as this (a hostile page cannot blow up the grid)
MAX_CELLS = 20000  # grid positions of one table

_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "section", "article", "center",
           "blockquote", "pre", "header", "footer", "main", "dl", "dt", "dd", "address", "figure", "caption", "form",
           "hr", "tr", "tbody", "thead", "tfoot", "body", "html", "nav", "aside"}
_DROP = {"script", "style", "noscript", "template", "head", "iframe", "object", "embed", "select", "button", "svg"}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_SECTION = re.compile(r"^\s*[一二三四五六]\s*[、.．]")
_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
# at line starts only, horizontal space only, no optional piece between two \s*: linear under search
_TITLE = re.compile(r"(?m)^[^\S\n]*(\S.*?\d{4}\s*年\s*(?:度\s*)?政府信息公开工作年度报告)")
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef“”‘’"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[ \t\r\n]+(?=[{_CJK}])")


def _encoding(name: str) -> str:
    try:
        found = codecs.lookup(name).name
    except LookupError:
        return "utf-8"
    return "gb18030" if found in ("gbk", "gb2312", "hz", "gb18030", "euc_cn") or name.lower() in ("gb2312", "gbk", "x-gbk") else found


def decode(raw: bytes, declared: str | None = None) -> str:
    """The text of a page: its byte-order mark, else the encoding the server declared, else its
    ``<meta charset>``, else UTF-8 when it decodes, else GB18030 (the usual undeclared encoding of
    Chinese pages)."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            return raw[len(bom):].decode(name, "replace")
    candidates = []
    if declared:
        candidates.append(_encoding(declared))
    meta = _CHARSET.search(raw[:8192])
    if meta:
        candidates.append(_encoding(meta.group(1).decode("ascii", "replace")))
    candidates += ["utf-8", "gb18030"]
    for name in candidates:
        try:
            return raw.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("gb18030", "replace")  # pragma: no cover - gb18030 decodes any bytes but a few


def _source_wrap(match: re.Match[str]) -> str:
    found = match.group()
    return "" if "\n" in found or "\r" in found or "\t" in found else found


def _clean(text: str) -> str:
    text = text.replace("\xa0", " ").replace("\u3000", " ").replace("\ufeff", "")
    # a line break between two Chinese characters is the page source's wrapping (not shown as a space by
    # browsers that follow CSS Text); a space typed between them is the author's and is kept, as in a .docx
    text = _SPACE_BETWEEN_CJK.sub(_source_wrap, text)
    return _WHITESPACE.sub(" ", text).strip()


def _tag(element: Any) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _cell_text(cell: Any) -> str:
    """A cell's text: paragraphs and ``<br>`` inside it as line breaks."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        tag = _tag(node)
        if tag in _DROP:
            return
        if tag == "br" or tag in _BLOCKS:
            parts.append("\n")
        if node.text and tag not in _DROP:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if tag in _BLOCKS:
            parts.append("\n")

    if cell.text:
        parts.append(cell.text)
    for child in cell:
        walk(child)
        if child.tail:
            parts.append(child.tail)
    lines = [_clean(line) for line in "".join(parts).split("\n")]
    return "\n".join(line for line in lines if line)


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(str(value or "1").strip().rstrip(";") or 1), MAX_SPAN))
    except ValueError:
        return 1


def _rows(table: Any) -> list[Any]:
    """The table's own rows (not those of tables nested in it)."""
    out = []
    for child in table:
        tag = _tag(child)
        if tag == "tr":
            out.append(child)
        elif tag in ("thead", "tbody", "tfoot"):
            out.extend(c for c in child if _tag(c) == "tr")
    return out


def _grid(table: Any) -> list[Cell]:
    """The cells of a ``<table>`` on its grid, placed as browsers place them (rowspan/colspan)."""
    taken: set[tuple[int, int]] = set()
    cells: list[Cell] = []
    rows = _rows(table)
    for r, tr in enumerate(rows):
        c = 0
        for td in tr:
            if _tag(td) not in ("td", "th"):
                continue
            while (r, c) in taken:
                c += 1
            rowspan = min(_span(td.get("rowspan")), len(rows) - r)
            colspan = _span(td.get("colspan"))
            if len(taken) + rowspan * colspan > MAX_CELLS:
                raise NotAReportError(f"表格超过 {MAX_CELLS} 个单元格，拒绝处理")
            for dr in range(rowspan):
                for dc in range(colspan):
                    taken.add((r + dr, c + dc))
            cells.append(Cell(r, c, rowspan, colspan, _cell_text(td)))
            c += colspan
    return cells


def _is_layout(table: Any) -> bool:
    return any(_tag(t) == "table" for t in table.iterdescendants())


class _Walker:
    """The paragraphs and data tables of an element, in reading order."""

    def __init__(self) -> None:
        self.items: list[Paragraph | FoundTable] = []
        self.buffer: list[str] = []

    def flush(self) -> None:
        text = _clean("".join(self.buffer))
        self.buffer = []
        if text:
            self.items.append(Paragraph(text, "", [(text, "")]))

    def walk(self, node: Any) -> None:
        tag = _tag(node)
        if tag in _DROP or not tag:
            return
        if tag == "table" and not _is_layout(node):
            self.flush()
            self.items.append(FoundTable(sum(isinstance(i, FoundTable) for i in self.items) + 1, _grid(node)))
            return
        block = tag in _BLOCKS or tag in ("table", "td", "th")
        if tag == "br":
            self.flush()
            return
        if block:
            self.flush()
        if node.text:
            self.buffer.append(node.text)
        for child in node:
            self.walk(child)
            if child.tail:
                self.buffer.append(child.tail)
        if block:
            self.flush()


def _score(element: Any) -> tuple[int, int]:
    """How much of a report an element holds: distinct section headings and data tables in it."""
    headings: set[str] = set()
    for node in element.iter():
        if not isinstance(node.tag, str) or _tag(node) in _DROP:
            continue
        text = _clean(node.text or "")
        if _SECTION.match(text) and len(text) < 40:
            headings.add(text[0])
    tables = sum(1 for t in element.iter("table") if not _is_layout(t))
    return len(headings), tables


def _article(root: Any) -> Any:
    """The deepest element holding as much of the report as the whole page."""
    best = root
    target = _score(root)
    if target == (0, 0):
        return root
    while True:
        for child in best:
            if isinstance(child.tag, str) and _score(child) == target:
                best = child
                break
        else:
            return best


def read_document(raw: bytes, name: str = "<报告>", encoding: str | None = None) -> Document:
    """A web page (or a fragment of one) as the reader-neutral document model. ``encoding`` is what the
    server declared, if anything. Raises :class:`~docxreport.errors.NotAReportError` when it cannot be
    parsed or is too large."""
    if len(raw) > MAX_BYTES:
        raise NotAReportError(f"{name}: 网页超过 {MAX_BYTES // (1024 * 1024)} MB，拒绝处理")
    text = decode(raw, encoding)
    text = _XML_DECLARATION.sub("", text)  # lxml refuses an XML declaration in a str
    parser = html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, recover=True, huge_tree=False)
    try:
        root = html.document_fromstring(text, parser=parser) if text.strip() else None
    except (etree.ParserError, ValueError) as exc:
        raise NotAReportError(f"{name}: 无法解析网页（{exc}）") from None
    if root is None:
        raise NotAReportError(f"{name}: 网页是空的")
    page_title = _clean(" ".join(root.xpath("//title//text()")))
    article = _article(root)
    walker = _Walker()
    try:
        walker.walk(article)
    except NotAReportError as exc:
        raise NotAReportError(f"{name}: {exc}") from None
    walker.flush()
    items = walker.items
    # the title is often a heading outside the article's container: take it from the page
    first = [i.text for i in items[:4] if isinstance(i, Paragraph)]
    if not any(_TITLE.search(t) for t in first) and article is not root:
        for node in root.iter("h1", "h2", "h3", "div", "p", "td", "span", "strong"):
            own = _clean(node.text_content())
            if len(own) < 80 and _TITLE.fullmatch(own) and not any(n is article for n in node.iterancestors()):
                items.insert(0, Paragraph(own, "", [(own, "")]))
                break
    match = _TITLE.search(page_title)
    title = match.group(1) if match else page_title
    for index, table in enumerate((i for i in items if isinstance(i, FoundTable)), 1):
        table.index = index
    return Document(name, items, title)


__all__ = ["MAX_BYTES", "decode", "read_document"]
