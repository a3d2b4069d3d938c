"""The report as a web page: one self-contained HTML5 file, or a fragment to paste into a CMS editor.

Most government sites publish the annual report as a web page. :func:`write_html` lays it out from the same
data as the Word document: the title lines, the six sections with their numbered headings (the numbering of
:mod:`docxreport.report.blocks`), the narrative paragraphs, the three tables from the format grid
(:mod:`docxreport.html.grid`: the same merged cells as the Word tables, ``<th scope>``, a caption each) and the
signature. The page has no external resource (no script, font or image is fetched), print CSS for A4, and
the official faces first in its font lists with the Windows and free faces after them.

Every piece of user text enters the tree as element text (lxml escapes it): user text is never markup.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Any

from lxml import etree

from .. import __version__
from ..errors import InvalidReportError
from ..files import write_atomic
from ..format import Format, load_format
from ..problems import has_errors
from ..report import blocks, rules
from ..report.validation import validate
from ..tables import cell_text
from .grid import table_element

#: Font stacks by role: the official face, then the Windows face, then free faces with Chinese glyphs.
FONT_STACKS = {
    "body": '"仿宋_GB2312", "FangSong_GB2312", "仿宋", "FangSong", "STFangsong", "Noto Serif CJK SC", serif',
    "title": '"方正小标宋简体", "FZXiaoBiaoSong-B05S", "华文中宋", "STZhongsong", "宋体", "SimSun", "Noto Serif CJK SC", serif',
    "heading1": '"黑体", "SimHei", "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif',
    "heading2": '"楷体_GB2312", "KaiTi_GB2312", "楷体", "KaiTi", "STKaiti", "AR PL UKai CN", serif',
    "table": '"宋体", "SimSun", "Noto Serif CJK SC", serif',
}

_PAGE_CSS = """\
:root { --body: BODY; --title: TITLE; --h1: HEADING1; --h2: HEADING2; --table: TABLE; }
html { background: #f4f4f4; }
body { margin: 0; }
.docxreport-report { box-sizing: border-box; max-width: 210mm; margin: 1.5em auto; padding: 37mm 26mm 35mm 28mm;
  background: #fff; color: #000; font-family: var(--body); font-size: 16pt; line-height: 28.95pt; }
.docxreport-report h1 { font-family: var(--title); font-size: 22pt; line-height: 28.95pt; font-weight: normal;
  text-align: center; margin: 0 0 28.95pt; }
.docxreport-report h1 .line { display: block; }
.docxreport-report h1 > br { display: none; }
.docxreport-report h2 { font-family: var(--h1); font-size: 16pt; font-weight: normal; margin: 0; text-indent: 2em; }
.docxreport-report h3 { font-family: var(--h2); font-size: 16pt; font-weight: normal; margin: 0; text-indent: 2em; }
.docxreport-report h4, .docxreport-report h5 { font-family: var(--body); font-size: 16pt; font-weight: normal; margin: 0;
  text-indent: 2em; }
.docxreport-report p { margin: 0; text-indent: 2em; text-align: justify; white-space: pre-wrap; }
.docxreport-report .run-in { font-family: var(--h2); font-weight: normal; }
.docxreport-report .run-in.level-3, .docxreport-report .run-in.level-4 { font-family: var(--body); }
.docxreport-report .signature { text-indent: 0; text-align: right; }
.docxreport-report .signature-block { margin-top: 28.95pt; }
.docxreport-report table { width: 100%; border-collapse: collapse; table-layout: fixed; margin: 0.5em 0 1em;
  font-family: var(--table); font-size: 10.5pt; line-height: 1.3; }
.docxreport-report caption { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
.docxreport-report th, .docxreport-report td { border: 0.5pt solid #000; padding: 2pt 1pt; text-align: center;
  vertical-align: middle; font-weight: normal; word-break: break-all; }
.docxreport-report td { white-space: nowrap; font-variant-numeric: tabular-nums; }
@media print {
  @page { size: A4; margin: 37mm 26mm 35mm 28mm; }
  html { background: none; }
  .docxreport-report { margin: 0; padding: 0; max-width: none; }
  .docxreport-report tr, .docxreport-report th { break-inside: avoid; }
  .docxreport-report thead { display: table-header-group; }
  .docxreport-report h2, .docxreport-report h3 { break-after: avoid; }
}
@media screen and (max-width: 800px) {
  .docxreport-report { padding: 1em; margin: 0; }
  .docxreport-report table { font-size: 9pt; }
}
"""

#: Inline styles of fragment mode: CMS editors drop ``<style>`` elements, so what must survive is inline.
_INLINE = {
    "h1": "text-align:center;font-size:22pt;font-weight:normal;font-family:{title}",
    "h2": "font-size:16pt;font-weight:normal;text-indent:2em;font-family:{heading1}",
    "h3": "font-size:16pt;font-weight:normal;text-indent:2em;font-family:{heading2}",
    "h4": "font-size:16pt;font-weight:normal;text-indent:2em",
    "h5": "font-size:16pt;font-weight:normal;text-indent:2em",
    "p": "text-indent:2em;text-align:justify;white-space:pre-wrap",
    "table": "width:100%;border-collapse:collapse;font-size:10.5pt;font-family:{table}",
    "cell": "border:1px solid #000;text-align:center;vertical-align:middle;font-weight:normal;padding:2pt 1pt",
    "signature": "text-align:right",
}


def _page_css() -> str:
    return _PAGE_CSS.replace(":root { --body: BODY; --title: TITLE; --h1: HEADING1; --h2: HEADING2; --table: TABLE; }",
                             ":root { " + " ".join(f"--{_VAR[role]}: {stack};" for role, stack in FONT_STACKS.items()) + " }")


_VAR = {"body": "body", "title": "title", "heading1": "h1", "heading2": "h2", "table": "table"}


def title_lines(data: Mapping[str, Any], fmt: Format) -> list[str]:
    """The title as printed, one entry per line: the report's own, or the format's default."""
    title = data.get("title") or [line.format(organ=data["organ"], year=data["year"]) for line in fmt.title_lines]
    return [title] if isinstance(title, str) else list(title)


def _text(parent: etree._Element, tag: str, text: str, css_class: str | None = None) -> etree._Element:
    """An element holding ``text``; newlines become ``<br>`` (tabs stay, shown by ``white-space: pre-wrap``)."""
    node = etree.SubElement(parent, tag, {"class": css_class} if css_class else {})
    _append_text(node, text)
    return node


def _append_text(node: etree._Element, text: str) -> None:
    lines = text.split("\n")
    last: etree._Element | None = node[-1] if len(node) else None
    for i, line in enumerate(lines):
        if i:
            last = etree.SubElement(node, "br")
        if not line:
            continue
        if last is None:
            node.text = (node.text or "") + line
        else:
            last.tail = (last.tail or "") + line


def _narrative(parent: etree._Element, items: list[blocks.Para]) -> None:
    for para in items:
        if para.style is None:
            _text(parent, "p", para.text)
            continue
        level = int(para.style.removeprefix("Heading"))
        if para.run_in:
            head, *rest = para.runs
            p = etree.SubElement(parent, "p")
            _text(p, "strong", head.text, f"run-in level-{level}")
            for run in rest:
                _append_text(p, run.text)
        else:
            _text(parent, f"h{level + 1}", para.text)


def _inline_styles(root: etree._Element) -> None:
    fonts = {k: v.replace('"', "'") for k, v in FONT_STACKS.items()}
    for node in root.iter():
        tag = node.tag
        if tag in ("th", "td"):
            style = _INLINE["cell"]
        elif tag == "p" and "signature" in (node.get("class") or ""):
            style = _INLINE["signature"]
        elif tag in _INLINE:
            style = _INLINE[tag]
        else:
            continue
        node.set("style", style.format(**fonts))
    for table in root.iter("table"):
        table.set("border", "1")
        table.set("cellspacing", "0")
        table.set("cellpadding", "2")


def report_element(data: Mapping[str, Any], fmt: Format | None = None) -> etree._Element:
    """The report as an ``<article>`` element (valid report data; totals are computed where absent)."""
    fmt = fmt or load_format()
    full = rules.complete(data, fmt)
    article = etree.Element("article", {"class": "docxreport-report", "lang": "zh-CN"})
    h1 = etree.SubElement(article, "h1")
    for i, line in enumerate(title_lines(full, fmt)):
        if i:
            etree.SubElement(h1, "br")
        # broken where the .docx breaks it: a line too long for the page at sensible points, never in a word
        _append_text(etree.SubElement(h1, "span", {"class": "line"}), "\n".join(blocks.break_title(line)))
    _narrative(article, list(blocks.paragraphs(full.get("preamble", []), fmt.heading_numbering)))
    for section in fmt.sections:
        etree.SubElement(article, "h2").text = section.heading
        if section.is_table:
            table = fmt.table_of(section)
            article.append(table_element(table, lambda c: cell_text(c, full), caption=section.title))
        else:
            _narrative(article, list(blocks.paragraphs(full[section.key], fmt.heading_numbering)))
    if full.get("date"):
        block = etree.SubElement(article, "div", {"class": "signature-block"})
        _text(block, "p", full["organ"], "signature")
        _text(block, "p", blocks.date_text(full["date"]), "signature")
    return article


def write_html(data: Mapping[str, Any], *, fragment: bool = False, fmt: Format | None = None) -> str:
    """The report as HTML text: a whole HTML5 page, or with ``fragment`` only the ``<article>`` with inline
    styles (for a CMS editor, which drops ``<style>`` and ``<head>``). ``data`` must be valid report data
    (:func:`docxreport.render_html` validates first)."""
    fmt = fmt or load_format()
    article = report_element(data, fmt)
    if fragment:
        _inline_styles(article)
        return etree.tostring(article, method="html", encoding="unicode") + "\n"
    page = etree.Element("html", {"lang": "zh-CN"})
    head = etree.SubElement(page, "head")
    etree.SubElement(head, "meta", {"charset": "utf-8"})
    etree.SubElement(head, "meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"})
    etree.SubElement(head, "meta", {"name": "generator", "content": f"docxreport {__version__}"})
    # as the .docx title property: organ and year can be read back whatever the printed title lines say
    etree.SubElement(head, "title").text = f"{data['organ']}{data['year']}年政府信息公开工作年度报告"
    etree.SubElement(head, "style").text = _page_css()
    body = etree.SubElement(page, "body")
    body.append(article)
    return "<!DOCTYPE html>\n" + etree.tostring(page, method="html", encoding="unicode") + "\n"


def render_html(
    data: Mapping[str, Any],
    output: str | os.PathLike[str] | IO[bytes] | None = None,
    *,
    fragment: bool = False,
    previous: Mapping[str, Any] | None = None,
) -> str | None:
    """Render report data as a web page (the twin of :func:`docxreport.render`).

    The data is validated first (``previous``: last year's report, for the cross-year rule); invalid data
    raises :class:`~docxreport.errors.InvalidReportError` with every problem and nothing is written.
    ``fragment`` gives only the ``<article>`` with inline styles, for pasting into a CMS editor. Returns the
    HTML text when ``output`` is None; otherwise writes it as UTF-8 to the path (atomically) or binary file
    object given and returns None.
    """
    problems = validate(data, previous)
    if has_errors(problems):
        raise InvalidReportError(problems)
    text = write_html(data, fragment=fragment)
    if output is None:
        return text
    if isinstance(output, (str, os.PathLike)):
        write_atomic(output, text.encode("utf-8"))
    else:
        output.write(text.encode("utf-8"))
    return None
