"""A text PDF → the reader-neutral :class:`~docxreport.document.Document`: what offices publish.

pdfplumber gives the characters with their positions and finds ruled tables (its table finder returns each
cell's rectangle). From them:

* **Tables**: each cell rectangle is placed on the grid of the table's sorted x and y edges, which gives its
  row, column and spans (a merged cell covers several edges). A table that ends a page and a table that
  starts the next page at the same width are one table: the header rows the next page repeats are dropped,
  and cells the page break cut (an empty continuation of a merged label, the vertical label
  ``三、本年度办理结果`` written one character a line, a row allowed to break) are joined again.
* **Paragraphs**: the lines outside tables, joined back into paragraphs (a paragraph starts at a first-line
  indent, after a line that ends short of the right margin, after vertical space or at a centred line).
  Page numbers (``— 3 —``, ``-3-``, ``第3页``) and running headers and footers repeated on the pages are
  dropped.
* **Digits split by the layout** (``1 2`` printed for ``12`` by distributed alignment) are read joined, each
  with a warning naming the page and the cell.

A PDF without a text layer (a scan) is refused: there is nothing to read without OCR. The work is bounded
(pages, characters) so that a hostile PDF cannot exhaust memory.
"""

from __future__ import annotations

import io
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

from ..document import Document, Paragraph
from ..errors import NotAReportError
from ..problems import Problem
from ..tables import TABLE_NAMES, Cell, FoundTable, classify
from .printed import _LABEL_START, _SPACES, _cell_text, _Line, _lines, _Rect, _Table

MAX_PAGES = 200
MAX_CHARS = 1_000_000  # characters on all pages together (a 6-page report has about 3,000)

SCANNED_MESSAGE = "扫描件，没有文字层（只能读取含文字的 PDF；请使用原始的 Word 文档或网页版）"

_PAGE_NUMBER = re.compile(
    r"^\s*(?:[—\-－–─]+\s*\d+\s*[—\-－–─]+|第\s*\d+\s*页(?:\s*(?:[，,/]\s*)?共\s*\d+\s*页)?|\d+\s*/\s*\d+|\d{1,3}|"
    r"(?:[-—]\s*)?[一二三四五六七八九十]+(?:\s*[-—])?|page\s*\d+(?:\s*of\s*\d+)?)\s*$", re.IGNORECASE)  # no two \s* adjacent
_VALUE = re.compile(r"^\s*(?:[\d.,，]+\s*)?$")  # the same as \s*[\d.,，]*\s*, without two adjacent \s*
_SPACE = re.compile(r"\s")
_DIGIT_RUNS = re.compile(r"\d+")
_CHAR_KEYS = ("text", "x0", "x1", "top", "bottom", "size")


def _inside(ch: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x = (ch["x0"] + ch["x1"]) / 2
    y = (ch["top"] + ch["bottom"]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


class _CharsByHeight:
    """Characters looked up by the rectangle their middle is in, in their order: found by bisecting on the
    middles' height, so that a page of thousands of cells is not a scan of every character for every cell."""

    def __init__(self, chars: list[dict[str, Any]]) -> None:
        self._chars = chars
        self._order = sorted(range(len(chars)), key=lambda i: (chars[i]["top"] + chars[i]["bottom"]) / 2)
        self._keys = [(chars[i]["top"] + chars[i]["bottom"]) / 2 for i in self._order]

    def inside(self, box: tuple[float, float, float, float]) -> list[dict[str, Any]]:
        """The characters whose middle is in ``box`` (x0, top, x1, bottom; edges included), in their order."""
        band = self._order[bisect_left(self._keys, box[1]):bisect_right(self._keys, box[3])]
        return [self._chars[i] for i in sorted(band) if _inside(self._chars[i], box)]


# --------------------------------------------------------------------------- tables → grids


def _edges(values: Iterable[float], tolerance: float = 2.0) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tolerance:
            out.append(v)
    return out


def _index(edges: list[float], value: float) -> int:
    """The index of the edge nearest ``value`` (the first of two as near) in the sorted ``edges``."""
    i = bisect_left(edges, value)
    if i == len(edges) or (i > 0 and abs(edges[i - 1] - value) <= abs(edges[i] - value)):
        return i - 1
    return i


def _grid(rects: list[_Rect]) -> list[tuple[Cell, _Rect]]:
    """Cells on the grid of the rectangles' sorted x and y edges: a merged cell spans several."""
    xs = _edges([r.x0 for r in rects] + [r.x1 for r in rects])
    ys = _edges([r.top for r in rects] + [r.bottom for r in rects])
    cells = []
    for r in rects:
        row, col = _index(ys, r.top), _index(xs, r.x0)
        bottom, right = _index(ys, r.bottom), _index(xs, r.x1)
        cells.append((Cell(row, col, max(bottom - row, 1), max(right - col, 1), r.text), r))
    cells.sort(key=lambda c: (c[0].row, c[0].col))
    return cells


def _rows(rects: list[_Rect]) -> list[list[_Rect]]:
    """Rectangles grouped by their top edge, top to bottom."""
    rows: list[list[_Rect]] = []
    for r in sorted(rects, key=lambda r: (r.top, r.x0)):
        if rows and abs(rows[-1][0].top - r.top) <= 2:
            rows[-1].append(r)
        else:
            rows.append([r])
    return rows


def _same_x(a: _Rect, b: _Rect) -> bool:
    return abs(a.x0 - b.x0) <= 2 and abs(a.x1 - b.x1) <= 2


def _same_row(a: list[_Rect], b: list[_Rect]) -> bool:
    """Two rows of rectangles with the same cells and texts (a repeated header row)."""
    if len(a) != len(b):
        return False
    return all(_same_x(x, y) and _SPACES.sub("", x.text) == _SPACES.sub("", y.text)
               for x, y in zip(sorted(a, key=lambda r: r.x0), sorted(b, key=lambda r: r.x0)))


def _join(first: _Table, second: _Table) -> None:
    """Append ``second`` (the same table continued on the next page) to ``first``."""
    offset = first.bottom - second.top
    rects = [_Rect(r.x0, r.top + offset, r.x1, r.bottom + offset, r.text, r.page, r.split_digits) for r in second.rects]
    # header rows the next page repeats: the leading rows whose rectangles and texts equal the first page's
    head_first = _rows(first.rects)
    head_second = _rows(rects)
    repeated = 0
    while (repeated < len(head_second) - 1 and repeated < len(head_first)
           and _same_row(head_second[repeated], head_first[repeated])):
        repeated += 1
    if repeated:
        # a header cell may span several rows: drop every rectangle starting in the repeated rows
        cut = head_second[repeated][0].top
        rects = [r for r in rects if r.top >= cut - 1]
        shift = cut - first.bottom
        rects = [_Rect(r.x0, r.top - shift, r.x1, r.bottom - shift, r.text, r.page, r.split_digits) for r in rects]
    top_row = [r for r in rects if abs(r.top - first.bottom) <= 2]
    bottom = [r for r in first.rects if abs(r.bottom - first.bottom) <= 2]
    pairs = [(a, b) for b in top_row for a in bottom if _same_x(a, b)]

    def is_label(r: _Rect) -> bool:
        return not _VALUE.match(r.text)

    merged: set[int] = set()
    # the innermost label of the row decides whether the row itself was cut by the page break
    labels = [b for a, b in pairs if is_label(b) or is_label(a)]
    innermost = max(labels, key=lambda r: r.x0, default=None)
    innermost_pair = next(((a, b) for a, b in pairs if b is innermost), None)
    row_cut = bool(innermost_pair and innermost_pair[1].text and is_label(innermost_pair[0])
                   and not _LABEL_START.match(innermost_pair[1].text))
    for a, b in pairs:
        continues = (
            not b.text.strip()  # the empty rest of a merged cell
            or (is_label(a) and is_label(b) and not _LABEL_START.match(b.text) and (row_cut or a.bottom - a.top > 1.5 * (b.bottom - b.top) or len(_SPACE.sub("", a.text)) <= 2 * len(_rows([a]))))
            or (row_cut and not is_label(b) and not a.text.strip())
        )
        if row_cut or continues:
            if not continues and a.text.strip() and b.text.strip():
                continue
            a.text = a.text + b.text if not (a.text[-1:].isascii() and b.text[:1].isascii() and a.text[-1:].isalnum()) else f"{a.text} {b.text}"
            a.bottom = b.bottom
            a.split_digits = a.split_digits or b.split_digits
            merged.add(id(b))
    first.rects.extend(r for r in rects if id(r) not in merged)
    first.bottom = max(r.bottom for r in first.rects)


def _national(table: _Table) -> str | None:
    """Which national table a ruled table is, by its labels (cached on the table)."""
    if table.national is None:
        from ..format import load_format

        table.national = classify(FoundTable(0, [Cell(0, 0, 1, 1, r.text) for r in table.rects]), load_format()) or ""
    return table.national or None


def _missing_tables(tables: list[_Table]) -> list[str]:
    """The national tables not found ruled and complete: absent, or found with less than half the format's
    data cells (a frame with no inner lines is one cell holding the whole table)."""
    from ..format import load_format

    fmt = load_format()
    values: dict[str, int] = {}
    for t in tables:
        national = _national(t)
        if national:
            values[national] = values.get(national, 0) + sum(1 for r in t.rects if _VALUE.match(r.text))
    return [tid for tid in TABLE_NAMES if values.get(tid, 0) < len(fmt.tables[tid].data_cells) / 2]


def _from(line: _Line, broken: list[_Table], rebuilt: dict[str, _Table]) -> bool:
    """Whether a line taken out of an incomplete ruled table belongs to a table that was rebuilt (its text is
    in the rebuilt table) rather than to one left as it was."""
    return any(t.page == line.page and t.x0 - 1 <= line.x0 and line.x1 <= t.x1 + 1 and _national(t) in rebuilt for t in broken)


# --------------------------------------------------------------------------- paragraphs


def _paragraphs(lines: list[_Line], left: float, right: float, page_width: float) -> list[Paragraph]:
    paragraphs: list[Paragraph] = []
    current: list[_Line] = []

    def flush() -> None:
        if current:
            text = ""
            for line in current:
                if text and text[-1].isascii() and text[-1].isalpha() and line.text[0].isascii() and line.text[0].isalpha():
                    text += " "
                text += line.text
            text = text.strip()
            paragraphs.append(Paragraph(text, "", [(text, "")]))
            current.clear()

    for line in lines:
        size = line.size
        if current:
            previous = current[-1]
            indented = line.x0 > left + 0.8 * size
            centred = line.x0 > left + 1.5 * size and abs((line.x0 + line.x1) / 2 - (left + right) / 2) < 1.5 * size
            short = previous.x1 < right - 1.5 * size
            gap = line.top - previous.bottom if line.page == previous.page else 0.0
            spaced = gap > 1.2 * size
            if indented or centred or short or spaced:
                flush()
        current.append(line)
    flush()
    return paragraphs


def _margins(lines: list[_Line]) -> tuple[float, float]:
    if not lines:
        return 0.0, 0.0
    counts: dict[int, int] = {}
    for line in lines:
        counts[round(line.x0)] = counts.get(round(line.x0), 0) + 1
    # the text's left edge: the leftmost start many lines share (not the mode: short paragraphs are mostly
    # their indented first line)
    left = float(min((x for x, n in counts.items() if n >= max(2, len(lines) // 20)), default=min(counts)))
    rights = sorted(line.x1 for line in lines)
    right = rights[int(len(rights) * 0.9)] if len(rights) > 3 else rights[-1]
    return left, right


def _running(lines_by_page: list[list[_Line]], heights: list[float]) -> set[str]:
    """Texts of running headers and footers: lines near the top or bottom edge repeated on most pages."""
    if len(lines_by_page) < 3:
        return set()
    seen: dict[str, int] = {}
    for lines, height in zip(lines_by_page, heights):
        marks = {_DIGIT_RUNS.sub("#", line.text) for line in lines if line.top < height * 0.1 or line.bottom > height * 0.9}
        for mark in marks:
            seen[mark] = seen.get(mark, 0) + 1
    return {mark for mark, count in seen.items() if count >= max(2, len(lines_by_page) // 2)}


# --------------------------------------------------------------------------- the document


def _open(raw: bytes, name: str) -> Any:
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        pdf = pdfplumber.open(io.BytesIO(raw))
        pages = pdf.pages
    except (PDFSyntaxError, Exception) as exc:  # pdfminer raises many kinds on a damaged file
        raise NotAReportError(f"{name}: 无法打开 PDF（{type(exc).__name__}）") from None
    if len(pages) > MAX_PAGES:
        pdf.close()
        raise NotAReportError(f"{name}: PDF 有 {len(pages)} 页，超过 {MAX_PAGES} 页的上限，拒绝处理")
    return pdf


def read_document(raw: bytes, name: str = "<报告>") -> Document:
    """A text PDF as the reader-neutral document model.

    Raises :class:`~docxreport.errors.NotAReportError` when it cannot be opened, has no text layer (a scan),
    or passes the page or character limits.
    """
    pdf = _open(raw, name)
    problems: list[Problem] = []
    try:
        title = str((pdf.metadata or {}).get("Title") or "")
        page_lines: list[list[_Line]] = []
        page_tables: list[list[_Table]] = []
        heights: list[float] = []
        widths: list[float] = []
        offset = 0.0
        total = 0
        for number, page in enumerate(pdf.pages, 1):
            try:
                # the few keys the readers use: the characters of every page are kept until the end (lines,
                # tables without ruling lines), and pdfplumber's own dicts are ten times larger
                chars = [{key: c[key] for key in _CHAR_KEYS if key in c} for c in page.chars]
                total += len(chars)
                if total > MAX_CHARS:
                    raise NotAReportError(f"{name}: PDF 文字超过 {MAX_CHARS} 个字符的上限，拒绝处理")
                found = page.find_tables() if chars else []
            except NotAReportError:
                raise
            except Exception as exc:  # a damaged page
                raise NotAReportError(f"{name}: 第 {number} 页无法读取（{type(exc).__name__}）") from None
            tables: list[_Table] = []
            in_tables: set[int] = set()
            page_chars = _CharsByHeight(chars) if found else None
            for t in found:
                box = t.bbox
                inside = page_chars.inside(box)
                in_tables.update(id(c) for c in inside)
                table = _Table(number, box[0], box[2], box[1] + offset, box[3] + offset, chars=inside)
                cell_chars = _CharsByHeight(inside)
                for cell in t.cells:
                    text, printed = _cell_text(cell_chars.inside(cell))
                    table.rects.append(_Rect(cell[0], cell[1] + offset, cell[2], cell[3] + offset, text, number, printed))
                if table.rects:
                    tables.append(table)
            lines = _lines([c for c in chars if id(c) not in in_tables and (c["text"] == " " or not c["text"].isspace())], number)
            for line in lines:
                line.top += offset
                line.bottom += offset
            page_lines.append(lines)
            page_tables.append(tables)
            heights.append(float(page.height))
            widths.append(float(page.width))
            offset += float(page.height)
            page.flush_cache()
        visible = sum(len(_SPACE.sub("", line.text)) for lines in page_lines for line in lines)
        visible += sum(len(_SPACE.sub("", r.text)) for tables in page_tables for t in tables for r in t.rects)
        if visible < 10:
            raise NotAReportError(f"{name}: {SCANNED_MESSAGE}")
    finally:
        pdf.close()

    # running headers, footers and page numbers
    page_offsets = []
    acc = 0.0
    for h in heights:
        page_offsets.append(acc)
        acc += h
    local = [[_Line(l.page, l.x0, l.x1, l.top - page_offsets[i], l.bottom - page_offsets[i], l.size, l.text) for l in lines]
             for i, lines in enumerate(page_lines)]
    running = _running(local, heights)
    kept_lines: list[_Line] = []
    for i, lines in enumerate(page_lines):
        height = heights[i]
        for line, here in zip(lines, local[i]):
            edge = here.top < height * 0.12 or here.bottom > height * 0.88
            if edge and (_PAGE_NUMBER.match(line.text) or _DIGIT_RUNS.sub("#", line.text) in running):
                continue
            kept_lines.append(line)

    # tables continued over a page break
    tables: list[_Table] = []
    for i, page in enumerate(page_tables):
        for t in page:
            if tables and t is page[0] and tables[-1].page == t.page - 1 and abs(tables[-1].x0 - t.x0) <= 3 and abs(tables[-1].x1 - t.x1) <= 3:
                previous = tables[-1]
                between = [l for l in kept_lines if previous.bottom < l.top < t.top]
                if not between:
                    _join(previous, t)
                    previous.page = t.page
                    continue
            tables.append(t)

    # national tables printed without (complete) ruling lines: rebuilt from the text positions
    missing = _missing_tables(tables)
    if missing:
        from ..format import load_format
        from .unruled import rebuild

        fmt = load_format()
        broken = [t for t in tables if _national(t) in missing]
        loose = [line for t in broken for line in _lines(t.chars, t.page)]
        for line in loose:
            line.top += page_offsets[line.page - 1]
            line.bottom += page_offsets[line.page - 1]
        candidates = sorted(kept_lines + loose, key=lambda l: (l.top, l.x0))
        rebuilt, used, found_problems = rebuild(candidates, missing, fmt)
        if rebuilt:
            tables = [t for t in tables if _national(t) not in rebuilt] + list(rebuilt.values())
            own = {id(l) for l in kept_lines}
            kept_lines = [l for l in candidates if id(l) not in used and (id(l) in own or not _from(l, broken, rebuilt))]
            problems.extend(found_problems)

    # reading order: lines and tables by their position; paragraphs between tables
    left, right = _margins(kept_lines)
    items: list[Paragraph | FoundTable] = []
    events: list[tuple[float, int, Any]] = [(line.top, 0, line) for line in kept_lines] + [(t.top, 1, t) for t in tables]
    events.sort(key=lambda e: (e[0], e[1]))
    pending: list[_Line] = []
    for index_table, (_, kind, item) in enumerate(events):
        if kind == 0:
            pending.append(item)
            continue
        items.extend(_paragraphs(pending, left, right, max(widths or [0])))
        pending = []
        table_no = sum(1 for i in items if isinstance(i, FoundTable)) + 1
        if item.cells is not None:  # rebuilt from text positions
            items.append(FoundTable(table_no, item.cells, item.address))
            continue
        cells = _grid(item.rects)
        found = FoundTable(table_no, [c for c, _ in cells])
        for cell, rect in cells:
            if rect.split_digits:
                problems.append(Problem((), "extract.digits_split",
                                        f"第 {rect.page} 页第 {table_no} 个表格第 {cell.row + 1} 行第 {cell.col + 1} 列“{rect.split_digits}”"
                                        f"中的数字被版面拆开，按 {cell.text} 读取（请核实）", "warning",
                                        details={"page": rect.page, "found": rect.split_digits}))
        items.append(found)
    items.extend(_paragraphs(pending, left, right, max(widths or [0])))
    return Document(name, items, title, problems)


__all__ = ["MAX_CHARS", "MAX_PAGES", "SCANNED_MESSAGE", "read_document"]
