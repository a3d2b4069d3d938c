"""The one module that writes WordprocessingML: styles, fonts, page setup, tables and paragraphs.

Everything that knows about ``w:gridSpan``, ``w:vMerge``, ``w:rFonts`` and friends lives here; the template
builder and the renderer call these functions with format objects and plain text. Text always enters the
tree as element text (lxml escapes it); it is never spliced into markup.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

from ..format import CellSpec, Table
from ..report import blocks
from ..report.blocks import Run
from ..tables import Cell

TWIPS_PER_MM = 1440 / 25.4


@dataclass(frozen=True)
class FontProfile:
    """East Asian font names by role. ``official`` follows GB/T 9704; ``windows`` uses the fonts every
    Windows PC has, for offices without the GB2312 fonts."""

    body: str
    title: str
    heading1: str
    heading2: str
    table: str
    page_number: str
    latin: str = "Times New Roman"

    def mapping_to(self, other: FontProfile) -> dict[str, str]:
        roles = ("body", "title", "heading1", "heading2", "table", "page_number")
        return {getattr(self, r): getattr(other, r) for r in roles if getattr(self, r) != getattr(other, r)}


FONT_PROFILES: dict[str, FontProfile] = {
    "official": FontProfile("仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312", "宋体", "宋体"),
    "windows": FontProfile("仿宋", "宋体", "黑体", "楷体", "宋体", "宋体"),
}


def font_profile(name: str) -> FontProfile:
    """The font profile called ``name``; ValueError naming the known ones otherwise."""
    try:
        return FONT_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown font profile {name!r}; known: {', '.join(FONT_PROFILES)}") from None


def el(tag: str, attrs: Mapping[str, str | int] | None = None, *children: etree._Element) -> etree._Element:
    """A ``w:`` element with ``w:`` attributes and children."""
    node = OxmlElement(tag)
    for key, value in (attrs or {}).items():
        node.set(qn(key), str(value))
    for child in children:
        node.append(child)
    return node


def fonts(east_asia: str, latin: str) -> etree._Element:
    """``w:rFonts``: Latin letters and digits in ``latin``, Chinese in ``east_asia``."""
    return el("w:rFonts", {"w:ascii": latin, "w:hAnsi": latin, "w:cs": latin, "w:eastAsia": east_asia})


def _rpr(east_asia: str, latin: str, half_points: int, bold: bool = False, spacing: int = 0) -> etree._Element:
    rpr = el("w:rPr", None, fonts(east_asia, latin))
    if bold:
        rpr.append(el("w:b"))
        rpr.append(el("w:bCs"))
    else:
        rpr.append(el("w:b", {"w:val": 0}))
        rpr.append(el("w:bCs", {"w:val": 0}))
    if spacing:
        rpr.append(el("w:spacing", {"w:val": spacing}))
    rpr.append(el("w:kern", {"w:val": 0}))
    rpr.append(el("w:sz", {"w:val": half_points}))
    rpr.append(el("w:szCs", {"w:val": half_points}))
    return rpr


# --------------------------------------------------------------------------- styles


@dataclass(frozen=True)
class Layout:
    """Page and type measures of GB/T 9704 (practice values are settings, not constants in code)."""

    line_twips: int = 579  # fixed 28.95 pt: 22 lines in the 225 mm text block
    body_half_points: int = 32  # 3号 16 pt
    title_half_points: int = blocks.TITLE_HALF_POINTS  # 2号 22 pt
    table_half_points: int = 21  # 五号 10.5 pt
    page_number_half_points: int = 28  # 4号 14 pt
    # GB/T 9704 asks for 28 characters of 16 pt per line in a 156 mm text block: 15.8 pt each. Word's usual
    # way, a character grid with a negative w:charSpace, LibreOffice renders by giving every character two
    # grid cells (measured: 13 characters per line). So the grid is a line grid only and the body styles
    # are condensed by whole twips (w:spacing -5: 15.75 pt a character), which Word, WPS and LibreOffice all
    # apply the same way: 28 characters per line everywhere. None: no condensing, 27 characters per line.
    chars_per_line: int | None = 28
    page_width: int = blocks.PAGE_WIDTH_TWIPS
    page_height: int = 16838
    margin_top: int = 2098  # 37 mm
    margin_bottom: int = 1984  # 35 mm
    margin_left: int = blocks.MARGIN_LEFT_TWIPS  # 28 mm
    margin_right: int = blocks.MARGIN_RIGHT_TWIPS  # 26 mm
    footer_distance: int = 1304  # page number 7 mm below the text block
    heading3_bold: bool = False

    @property
    def text_width(self) -> int:
        return self.page_width - self.margin_left - self.margin_right

    @property
    def title_chars(self) -> float:
        """Title characters (22 pt ideographs) a line of the text block holds: where title lines break."""
        return blocks.title_chars(self.text_width, self.title_half_points)

    @property
    def char_spacing(self) -> int:
        """``w:spacing/@w:val`` (twips, ≤ 0) of the body styles for ``chars_per_line`` body characters a line."""
        if self.chars_per_line is None:
            return 0
        pitch = self.text_width / self.chars_per_line
        return min(0, math.floor(pitch - self.body_half_points * 10))


def _para_style(style_id: str, name: str, ppr: etree._Element, rpr: etree._Element, *, based_on: str | None = "Normal",
                default: bool = False, next_style: str | None = None, outline: int | None = None) -> etree._Element:
    attrs = {"w:type": "paragraph", "w:styleId": style_id}
    if default:
        attrs["w:default"] = "1"
    style = el("w:style", attrs, el("w:name", {"w:val": name}))
    if based_on:
        style.append(el("w:basedOn", {"w:val": based_on}))
    if next_style:
        style.append(el("w:next", {"w:val": next_style}))
    style.append(el("w:qFormat"))
    if outline is not None:
        ppr.append(el("w:outlineLvl", {"w:val": outline}))
    style.append(ppr)
    style.append(rpr)
    return style


def _ppr(*children: etree._Element) -> etree._Element:
    return el("w:pPr", None, *children)


def build_styles(styles: etree._Element, profile: FontProfile, layout: Layout) -> None:
    """Replace every style in a styles part by the lean GB/T 9704 set (no theme fonts, no unused styles)."""
    for child in list(styles):
        styles.remove(child)
    latin, size = profile.latin, layout.body_half_points
    exact = {"w:before": 0, "w:after": 0, "w:line": layout.line_twips, "w:lineRule": "exact"}
    indent2 = {"w:firstLineChars": 200, "w:firstLine": size * 20}
    styles.append(el("w:docDefaults", None,
        el("w:rPrDefault", None, el("w:rPr", None, fonts(profile.body, latin), el("w:kern", {"w:val": 0}),
            el("w:sz", {"w:val": size}), el("w:szCs", {"w:val": size}),
            el("w:lang", {"w:val": "en-US", "w:eastAsia": "zh-CN", "w:bidi": "ar-SA"}))),
        # w:overflowPunct on is Word's own default (punctuation may hang into the margin), so Word and WPS
        # are unchanged; it must be explicit for LibreOffice, whose DOCX import reads an absent element as
        # "hanging punctuation on" and drops a mark that hangs at the end of a justified line from the PDF
        # (要求，截至 printed as 要求 / 截至). Explicit, it keeps the mark inside the line instead.
        el("w:pPrDefault", None, el("w:pPr", None, el("w:overflowPunct", {"w:val": 1}), el("w:spacing", exact)))))
    condensed = layout.char_spacing
    styles.append(_para_style("Normal", "Normal", _ppr(el("w:spacing", exact), el("w:ind", indent2), el("w:jc", {"w:val": "both"})),
                              _rpr(profile.body, latin, size, spacing=condensed), based_on=None, default=True))
    # the title is off the document grid: on it, LibreOffice gives each 22 pt line two grid lines (57.9 pt)
    styles.append(_para_style("Title", "Title", _ppr(el("w:keepNext"), el("w:snapToGrid", {"w:val": 0}), el("w:spacing", exact), el("w:ind", {"w:firstLineChars": 0, "w:firstLine": 0}),
                                                     el("w:jc", {"w:val": "center"})),
                              _rpr(profile.title, latin, layout.title_half_points), next_style="Normal"))
    heading_fonts = (profile.heading1, profile.heading2, profile.body, profile.body)
    for level, font in enumerate(heading_fonts, start=1):
        bold = level == 3 and layout.heading3_bold
        styles.append(_para_style(f"Heading{level}", f"heading {level}", _ppr(el("w:keepNext"), el("w:spacing", exact), el("w:ind", indent2)),
                                  _rpr(font, latin, size, bold, spacing=condensed), next_style="Normal", outline=level - 1))
    # the organ's line keeps with the date: a page break never separates them
    styles.append(_para_style("Signature", "Signature", _ppr(el("w:keepNext"), el("w:spacing", exact), el("w:ind", {"w:firstLineChars": 0, "w:firstLine": 0}), el("w:jc", {"w:val": "right"})),
                              _rpr(profile.body, latin, size, spacing=condensed)))
    styles.append(_para_style("TableText", "Table Text", _ppr(el("w:snapToGrid", {"w:val": 0}), el("w:spacing", {"w:before": 0, "w:after": 0, "w:line": 240, "w:lineRule": "auto"}),
                                                               el("w:ind", {"w:firstLineChars": 0, "w:firstLine": 0}), el("w:jc", {"w:val": "center"})),
                              _rpr(profile.table, latin, layout.table_half_points)))
    styles.append(_para_style("Footer", "footer", _ppr(el("w:snapToGrid", {"w:val": 0}), el("w:spacing", {"w:before": 0, "w:after": 0, "w:line": 240, "w:lineRule": "auto"}),
                                                        el("w:ind", {"w:firstLineChars": 0, "w:firstLine": 0})),
                              _rpr(profile.page_number, latin, layout.page_number_half_points)))
    body_char = el("w:style", {"w:type": "character", "w:styleId": "RunInBody"}, el("w:name", {"w:val": "Run-in Body"}),
                   el("w:uiPriority", {"w:val": 1}), el("w:qFormat"), _rpr(profile.body, latin, size, spacing=condensed))
    styles.append(body_char)
    styles.append(el("w:style", {"w:type": "character", "w:default": "1", "w:styleId": "DefaultParagraphFont"},
                     el("w:name", {"w:val": "Default Paragraph Font"}), el("w:uiPriority", {"w:val": 1}), el("w:semiHidden"), el("w:unhideWhenUsed")))
    styles.append(el("w:style", {"w:type": "table", "w:default": "1", "w:styleId": "TableNormal"},
                     el("w:name", {"w:val": "Normal Table"}), el("w:uiPriority", {"w:val": 99}), el("w:semiHidden"), el("w:unhideWhenUsed"),
                     el("w:tblPr", None, el("w:tblInd", {"w:w": 0, "w:type": "dxa"}),
                        el("w:tblCellMar", None, el("w:top", {"w:w": 0, "w:type": "dxa"}), el("w:left", {"w:w": 108, "w:type": "dxa"}),
                           el("w:bottom", {"w:w": 0, "w:type": "dxa"}), el("w:right", {"w:w": 108, "w:type": "dxa"})))))


#: Styles the renderer's narrative and signature paragraphs use: our style id → Word's style name.
NARRATIVE_STYLES = {
    "Heading1": "heading 1", "Heading2": "heading 2", "Heading3": "heading 3", "Heading4": "heading 4",
    "RunInBody": "Run-in Body", "Signature": "Signature",
}


STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


def adopt_document_styles(doc: Any) -> dict[str, str]:
    """:func:`adopt_styles` for a python-docx ``Document``; styles added to ``styles.xml`` are added to a
    Word 2010 ``stylesWithEffects`` part too, which must list the same styles."""
    effects_part = next((rel.target_part for rel in doc.part.rels.values() if rel.reltype == STYLES_WITH_EFFECTS), None)
    effects = etree.fromstring(effects_part.blob) if effects_part is not None else None
    mapping = adopt_styles(doc.styles.element, FONT_PROFILES["official"], mirror=effects)
    if effects_part is not None:
        effects_part._blob = etree.tostring(effects, xml_declaration=True, encoding="UTF-8", standalone=True)
    return mapping


def adopt_styles(styles: etree._Element, profile: FontProfile, layout: Layout | None = None,
                 mirror: etree._Element | None = None) -> dict[str, str]:
    """Make a template's styles part hold every style the narrative uses; returns our id → its id.

    A style the template already has under the same name (an office's own 标题 2, whose id may be ``2`` in
    Chinese Word) is used as it is, so the office's styling applies; a missing one is added from our
    definitions, based on the template's own default paragraph style.
    """
    scratch = el("w:styles")
    build_styles(scratch, profile, layout or Layout())
    existing = styles.findall(qn("w:style"))
    by_name = {(s.get(qn("w:type")), (s.find(qn("w:name")).get(qn("w:val")) or "").lower()): s.get(qn("w:styleId"))
               for s in existing if s.find(qn("w:name")) is not None}
    ids = {s.get(qn("w:styleId")) for s in existing}
    normal = next((s.get(qn("w:styleId")) for s in existing
                   if s.get(qn("w:type")) == "paragraph" and s.get(qn("w:default")) in ("1", "true")), "Normal")
    mapping: dict[str, str] = {}
    for ours in scratch.findall(qn("w:style")):
        our_id = ours.get(qn("w:styleId"))
        if our_id not in NARRATIVE_STYLES:
            continue
        theirs = by_name.get((ours.get(qn("w:type")), NARRATIVE_STYLES[our_id].lower()))
        if theirs is not None:
            mapping[our_id] = theirs
            continue
        new_id = our_id if our_id not in ids else f"docxreport{our_id}"
        ours.set(qn("w:styleId"), new_id)
        for ref in ("w:basedOn", "w:next"):
            node = ours.find(qn(ref))
            if node is not None and node.get(qn("w:val")) == "Normal":
                node.set(qn("w:val"), normal)
        if mirror is not None:
            mirror.append(copy.deepcopy(ours))
        styles.append(ours)
        ids.add(new_id)
        mapping[our_id] = new_id
    return mapping


def map_fonts(root: etree._Element, mapping: Mapping[str, str]) -> None:
    """Rename East Asian and Latin fonts under ``root`` (a styles, document or footer part)."""
    if not mapping:
        return
    for node in root.iter(qn("w:rFonts")):
        for attr in ("w:eastAsia", "w:ascii", "w:hAnsi"):
            name = node.get(qn(attr))
            if name in mapping:
                node.set(qn(attr), mapping[name])


def map_document_fonts(doc: Any, profile: str) -> None:
    """Give a python-docx ``Document`` built with the official fonts the fonts of ``profile``: its styles,
    its body and the footers each section defines (headers carry no fonts in the official template)."""
    mapping = FONT_PROFILES["official"].mapping_to(font_profile(profile))
    map_fonts(doc.styles.element, mapping)
    map_fonts(doc.element, mapping)
    for section in doc.sections:
        for footer in (section.footer, section.even_page_footer, section.first_page_footer):
            if not footer.is_linked_to_previous:
                map_fonts(footer._element, mapping)


def font_table(fonts_element: etree._Element, profile: FontProfile) -> None:
    """Declare the fonts used, with the GB2312 charset and a Windows fallback name for substitution."""
    for child in list(fonts_element):
        fonts_element.remove(child)
    windows = FONT_PROFILES["windows"]
    seen: list[tuple[str, str]] = []
    for role in ("body", "title", "heading1", "heading2", "table", "page_number"):
        name, alt = getattr(profile, role), getattr(windows, role)
        if name not in [s[0] for s in seen]:
            seen.append((name, alt))
    for name, alt in seen:
        font = el("w:font", {"w:name": name})
        if alt != name:
            font.append(el("w:altName", {"w:val": alt}))
        font.append(el("w:charset", {"w:val": "86"}))
        font.append(el("w:family", {"w:val": "modern" if "宋" not in name else "roman"}))
        font.append(el("w:pitch", {"w:val": "variable"}))
        fonts_element.append(font)
    fonts_element.append(el("w:font", {"w:name": profile.latin}, el("w:charset", {"w:val": "00"}),
                            el("w:family", {"w:val": "roman"}), el("w:pitch", {"w:val": "variable"})))


# --------------------------------------------------------------------------- page


def page_setup(sect_pr: etree._Element, layout: Layout) -> None:
    """A4, GB/T 9704 margins and a fixed line grid of 22 lines (28 characters come from the body styles'
    condensing, :attr:`Layout.char_spacing`; header/footer references are kept)."""
    for child in list(sect_pr):
        if child.tag not in (qn("w:headerReference"), qn("w:footerReference")):
            sect_pr.remove(child)
    sect_pr.append(el("w:pgSz", {"w:w": layout.page_width, "w:h": layout.page_height}))
    sect_pr.append(el("w:pgMar", {"w:top": layout.margin_top, "w:right": layout.margin_right, "w:bottom": layout.margin_bottom,
                                  "w:left": layout.margin_left, "w:header": 851, "w:footer": layout.footer_distance, "w:gutter": 0}))
    sect_pr.append(el("w:cols", {"w:space": 425}))
    grid_type = "lines" if layout.char_spacing else "linesAndChars"
    sect_pr.append(el("w:docGrid", {"w:type": grid_type, "w:linePitch": layout.line_twips}))


def page_number_paragraph(paragraph: etree._Element, odd: bool) -> None:
    """``— N —`` in the footer style: odd pages right with one character of indent, even pages left."""
    for child in list(paragraph):
        paragraph.remove(child)
    indent = {"w:rightChars": 100, "w:right": 280} if odd else {"w:leftChars": 100, "w:left": 280}
    paragraph.append(el("w:pPr", None, el("w:pStyle", {"w:val": "Footer"}), el("w:ind", {**indent, "w:firstLineChars": 0, "w:firstLine": 0}),
                        el("w:jc", {"w:val": "right" if odd else "left"})))
    paragraph.append(_text_run("— "))
    paragraph.append(el("w:r", None, el("w:fldChar", {"w:fldCharType": "begin"})))
    instr = el("w:instrText")
    instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    instr.text = " PAGE "
    paragraph.append(el("w:r", None, instr))
    paragraph.append(el("w:r", None, el("w:fldChar", {"w:fldCharType": "separate"})))
    paragraph.append(_text_run("1"))
    paragraph.append(el("w:r", None, el("w:fldChar", {"w:fldCharType": "end"})))
    paragraph.append(_text_run(" —"))


# --------------------------------------------------------------------------- paragraphs


def _text_run(text: str, style: str | None = None, parent: etree._Element | None = None) -> etree._Element:
    """A run; newlines become line breaks and tabs become tabs, everything else is literal text.

    The run's children are made as sub-elements of one tree (and the run inside ``parent`` when given):
    moving thousands of separately created elements between lxml documents costs time that grows faster
    than their number, so a paragraph of many lines is built in place, in time linear in its text."""
    run = el("w:r") if parent is None else etree.SubElement(parent, qn("w:r"))
    if style:
        run.append(el("w:rPr", None, el("w:rStyle", {"w:val": style})))
    br, tab, t_tag = qn("w:br"), qn("w:tab"), qn("w:t")
    space = "{http://www.w3.org/XML/1998/namespace}space"
    for i, line in enumerate(text.split("\n")):
        if i:
            etree.SubElement(run, br)
        for j, piece in enumerate(line.split("\t")):
            if j:
                etree.SubElement(run, tab)
            if piece:
                t = etree.SubElement(run, t_tag)
                t.set(space, "preserve")
                t.text = piece
    return run


def paragraph(style: str | None, runs: Iterable[Run], *, right_chars: float | None = None, keep_next: bool | None = None) -> etree._Element:
    """A paragraph of ``runs`` in paragraph style ``style`` (None: Normal); ``keep_next`` overrides the
    style's keep-with-next (a run-in heading is a whole paragraph and need not stick to the next one)."""
    p = el("w:p")
    ppr = el("w:pPr")
    if style:
        ppr.append(el("w:pStyle", {"w:val": style}))
    if keep_next is not None:
        ppr.append(el("w:keepNext", {"w:val": int(keep_next)}))
    if right_chars is not None:
        ppr.append(el("w:ind", {"w:rightChars": round(right_chars * 100), "w:right": round(right_chars * 320)}))
    if len(ppr):
        p.append(ppr)
    for run in runs:
        _text_run(run.text, run.style, p)
    return p


def to_xml(elements: Iterable[etree._Element]) -> str:
    """Serialise body elements for insertion through a template tag.

    Braces are written as character references, so no user text can ever form a template tag
    (``{{``, ``{%``) in the rendered part; XML parsers read them back as the same characters.
    """
    text = "".join(etree.tostring(e, encoding="unicode") for e in elements)
    return text.replace("{", "&#123;").replace("}", "&#125;")


# --------------------------------------------------------------------------- tables


def table(spec: Table, text_of: Callable[[CellSpec], str], *, style: str = "TableText", row_height: int = 397) -> etree._Element:
    """A ``w:tbl`` laid out exactly as the format grid: merges from the spans, fixed column widths,
    single borders, centred cells, header rows repeated on each page and rows that never split."""
    widths = spec.column_widths
    border = {"w:val": "single", "w:sz": 4, "w:space": 0, "w:color": "000000"}
    tbl = el("w:tbl", None, el("w:tblPr", None,
        el("w:tblW", {"w:w": sum(widths), "w:type": "dxa"}),
        el("w:jc", {"w:val": "center"}),
        el("w:tblBorders", None, *(el(f"w:{side}", border) for side in ("top", "left", "bottom", "right", "insideH", "insideV"))),
        el("w:tblLayout", {"w:type": "fixed"}),
        # narrow margins: five-digit counts fit the 10.6 mm data columns at 10.5 pt without wrapping
        el("w:tblCellMar", None, el("w:left", {"w:w": 28, "w:type": "dxa"}), el("w:right", {"w:w": 28, "w:type": "dxa"})),
        el("w:tblLook", {"w:val": "0000", "w:firstRow": 0, "w:lastRow": 0, "w:firstColumn": 0, "w:lastColumn": 0, "w:noHBand": 1, "w:noVBand": 1}),
    ), el("w:tblGrid", None, *(el("w:gridCol", {"w:w": w}) for w in widths)))
    keep = kept_with_next(spec)
    restarts = {(start, cell.col) for cell, pieces in label_pieces(spec).items() for start, _ in pieces}
    for r, line in enumerate(spec.grid):
        trpr = el("w:trPr", None, el("w:cantSplit"), el("w:trHeight", {"w:val": row_height, "w:hRule": "atLeast"}))
        if r < spec.header_rows:
            trpr.append(el("w:tblHeader"))
        tr = el("w:tr", None, trpr)
        c = 0
        while c < spec.grid_columns:
            cell = line[c]
            tr.append(_cell(cell, r, widths, text_of, style, r in keep, r == cell.row or (r, cell.col) in restarts))
            c = cell.right
        tbl.append(tr)
    return tbl


#: A merged label spanning more rows than this is not held on one page as one cell (table 三's
#: 三、本年度办理结果 spans 22 rows; the table is taller than a page); smaller groups are.
KEEP_GROUP_ROWS = 10


def label_pieces(spec: Table) -> dict[CellSpec, list[tuple[int, int]]]:
    """The pieces (first row, row after the last) in which a merged label of more than :data:`KEEP_GROUP_ROWS`
    rows is printed, each piece a merged cell of its own repeating the label's text, kept on one page.

    Table 三 (28 rows) is taller than a page body (measured in LibreOffice: 655 pt against 638 pt), so it
    always breaks, and a break inside the one merged cell of 三、本年度办理结果 left the rows on the next page
    with an empty first column. The label is split before its last group of several rows (（六）其他处理): the
    first piece, with the header rows and the heading above it, fits one page (533 pt), and the two pieces
    never do together, so the break falls between them and the second starts its page under the repeated
    header rows (docs/pdf.md)."""
    out: dict[CellSpec, list[tuple[int, int]]] = {}
    for cell in spec.cells:
        if cell.is_data or cell.rowspan <= KEEP_GROUP_ROWS:
            continue
        end = cell.row + cell.rowspan
        groups = [c.row for c in spec.cells if c.col == cell.right and c.rowspan > 1 and cell.row < c.row < end]
        if groups:
            out[cell] = [(cell.row, max(groups)), (max(groups), end)]
    return out


def kept_with_next(spec: Table) -> set[int]:
    """Rows whose cell paragraphs keep with the next row, so that no page break falls after them: a row
    without data (a sub-header such as 第二十条第（五）项 or its column labels), every row but the last of
    a merged label of at most :data:`KEEP_GROUP_ROWS` rows (（五）不予处理 with its five rows) and of each
    piece of a longer one (:func:`label_pieces`)."""
    keep: set[int] = set()
    last = len(spec.grid) - 1
    for r, line in enumerate(spec.grid[:-1]):
        if not any(cell.is_data for cell in line):
            keep.add(r)
    for cell in spec.cells:
        if 1 < cell.rowspan <= KEEP_GROUP_ROWS:
            keep.update(range(cell.row, min(cell.row + cell.rowspan - 1, last)))
    for pieces in label_pieces(spec).values():
        for start, end in pieces:
            keep.update(range(start, min(end - 1, last)))
    return keep


def _cell(cell: CellSpec, row: int, widths: Sequence[int], text_of: Callable[[CellSpec], str], style: str,
          keep_next: bool = False, first: bool = True) -> etree._Element:
    """A table cell; ``first``: the first row of a merged cell (or of a piece of one), which holds its text."""
    tcpr = el("w:tcPr", None, el("w:tcW", {"w:w": sum(widths[cell.col:cell.right]), "w:type": "dxa"}))
    if cell.colspan > 1:
        tcpr.append(el("w:gridSpan", {"w:val": cell.colspan}))
    if cell.rowspan > 1:
        tcpr.append(el("w:vMerge", {"w:val": "restart"}) if first else el("w:vMerge"))
    tcpr.append(el("w:vAlign", {"w:val": "center"}))
    text = text_of(cell) if first else ""
    return el("w:tc", None, tcpr, paragraph(style, [Run(text)] if text else [], keep_next=True if keep_next else None))


# --------------------------------------------------------------------------- fitting numbers


#: Font sizes (half-points) a table number may shrink to, largest first: 10.5, 9, 8, 7 and 6 pt.
NUMBER_SIZES = (21, 18, 16, 14, 12)
#: Clear space a number keeps from each cell border, in twips (1 pt).
NUMBER_CLEARANCE = 20
_NUMBER_ADVANCE = {".": 0.25, ",": 0.25, "-": 0.333, "%": 0.833}  # em; digits are 0.5 em in Times New Roman
# elements that come after w:sz/w:szCs in w:rPr (ECMA-376 CT_RPr order)
_AFTER_SIZE = {qn(f"w:{t}") for t in ("highlight", "u", "effect", "bdr", "shd", "fitText", "vertAlign", "rtl", "cs",
                                      "em", "lang", "eastAsianLayout", "specVanish", "oMath")}


def number_width(text: str, half_points: int) -> float:
    """Width of a number in twips in a Times-metric face (digits half an em)."""
    return sum(_NUMBER_ADVANCE.get(ch, 0.5 if ch.isdigit() else 1.0) for ch in text) * half_points * 10


def _cell_margin(tc: etree._Element, tbl_margins: dict[str, int], side: str) -> int:
    node = tc.find(f"{qn('w:tcPr')}/{qn('w:tcMar')}/{qn('w:' + side)}")
    if node is not None and (node.get(qn("w:type")) or "dxa") == "dxa":
        return int(node.get(qn("w:w"), "0"))
    return tbl_margins[side]


def fit_numbers(root: etree._Element, half_points: int = 21) -> int:
    """Shrink, in :data:`NUMBER_SIZES` steps, the text of every table cell that holds one number too wide
    for its cell (``w:tcW`` less the cell margins and :data:`NUMBER_CLEARANCE` each side) at ``half_points``
    (the table text size), so that it prints on one line. Returns how many cells changed."""
    number = re.compile(r"^-?[0-9][0-9.,%]*$")
    changed = 0
    for tbl in root.iter(qn("w:tbl")):
        margins = {"left": 108, "right": 108}
        for side in margins:
            node = tbl.find(f"{qn('w:tblPr')}/{qn('w:tblCellMar')}/{qn('w:' + side)}")
            if node is not None:
                margins[side] = int(node.get(qn("w:w"), "0"))
        for tc in tbl.iter(qn("w:tc")):
            if tc.find(f".//{qn('w:tbl')}") is not None:
                continue
            width_node = tc.find(f"{qn('w:tcPr')}/{qn('w:tcW')}")
            if width_node is None or (width_node.get(qn("w:type")) or "dxa") != "dxa":
                continue
            text = "".join(t.text or "" for t in tc.iter(qn("w:t"))).strip()
            if not number.match(text):
                continue
            room = int(width_node.get(qn("w:w"), "0")) - _cell_margin(tc, margins, "left") - _cell_margin(tc, margins, "right") - 2 * NUMBER_CLEARANCE
            if number_width(text, half_points) <= room:
                continue
            size = next((s for s in NUMBER_SIZES if s < half_points and number_width(text, s) <= room), NUMBER_SIZES[-1])
            for run in tc.iter(qn("w:r")):
                _set_size(run, size)
            changed += 1
    return changed


def _set_size(run: etree._Element, half_points: int) -> None:
    rpr = run.find(qn("w:rPr"))
    if rpr is None:
        rpr = el("w:rPr")
        run.insert(0, rpr)
    for tag in ("w:sz", "w:szCs"):
        for node in rpr.findall(qn(tag)):
            rpr.remove(node)
    sizes = [el("w:sz", {"w:val": half_points}), el("w:szCs", {"w:val": half_points})]
    later = next((child for child in rpr if child.tag in _AFTER_SIZE), None)
    for node in sizes:
        if later is None:
            rpr.append(node)
        else:
            later.addprevious(node)


# --------------------------------------------------------------------------- reading


_W_P, _W_T, _W_TR, _W_TC = qn("w:p"), qn("w:t"), qn("w:tr"), qn("w:tc")
_W_TRPR, _W_TCPR, _W_GRID_BEFORE, _W_GRID_SPAN = qn("w:trPr"), qn("w:tcPr"), qn("w:gridBefore"), qn("w:gridSpan")
_W_VMERGE, _W_VAL = qn("w:vMerge"), qn("w:val")
#: the widest span read: a national table has 16 grid columns; a larger or malformed span counts as 1
SPAN_MAX = 64


def cell_text(tc: etree._Element) -> str:
    """Text of a table cell; its paragraphs joined by newlines."""
    return "\n".join("".join(node.text or "" for node in p.iter(_W_T)) for p in tc.iter(_W_P))


def _grid_number(element: etree._Element | None, default: int) -> int:
    """``w:val`` of ``w:gridSpan``/``w:gridBefore`` as a column count: a value that is missing, not a
    number or out of range (``x``, ``-3``, ``99999``) reads as ``default`` rather than failing."""
    if element is None:
        return default
    value = element.get(_W_VAL) or ""
    if not (value.isascii() and value.isdigit() and len(value) <= 3):
        return default
    return min(int(value), SPAN_MAX)


def read_grid(tbl: etree._Element) -> list[Cell]:
    """The cells of a table as the grid model sees them: ``gridBefore`` and spans resolved, a vertically
    merged run of cells read as one cell with its rowspan."""
    open_cells: dict[int, list[int]] = {}  # column → [row, col, rowspan, colspan] of a cell being merged down
    found: list[list[int | str]] = []
    for r, tr in enumerate(tbl.iterchildren(_W_TR)):
        trpr = tr.find(_W_TRPR)
        c = _grid_number(trpr.find(_W_GRID_BEFORE) if trpr is not None else None, 0)
        for tc in tr.iterchildren(_W_TC):
            tcpr = tc.find(_W_TCPR)
            span = max(_grid_number(tcpr.find(_W_GRID_SPAN) if tcpr is not None else None, 1), 1)
            vmerge = tcpr.find(_W_VMERGE) if tcpr is not None else None
            if vmerge is not None and vmerge.get(_W_VAL, "continue") == "continue" and c in open_cells:
                open_cells[c][2] += 1  # type: ignore[operator]
            else:
                cell: list[int | str] = [r, c, 1, span, cell_text(tc)]
                found.append(cell)
                if vmerge is not None:
                    open_cells[c] = cell  # type: ignore[assignment]
                else:
                    open_cells.pop(c, None)
            c += span
    return [Cell(int(a), int(b), int(rs), int(cs), str(t)) for a, b, rs, cs, t in found]
