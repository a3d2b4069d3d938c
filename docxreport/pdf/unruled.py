"""Tables printed without (complete) ruling lines: the grid rebuilt from where the words stand.

Published PDFs often draw a table with only some of its borders (horizontal rules only, a ``三线表``, an outer
frame) or none; pdfplumber's ruled finder then finds no table, or one cell holding everything. This module is
the fallback of :mod:`docxreport.pdf.reader`, run only when a national table was not found ruled and complete
(it costs nothing otherwise). It knows where to look and what to expect from the format:

* **Where**: the lines between the table's section heading (``三、收到和处理政府信息公开申请情况``) and the
  next section heading, over page breaks (page numbers and running headers were already dropped).
* **Data columns**: the numbers' horizontal extents, clustered (a column is where its numbers overlap:
  centred, left- or right-aligned alike). A text met in a data column of a row of numbers (``无``, ``-``, a
  note) is that cell's value, so that the reader names the cell.
* **Rows**: each line of numbers is a data row. Label pieces on consecutive printed lines, centred on each
  other, are one cell (wrapped labels, the vertical label ``三、本年度办理结果`` one or two characters a line)
  unless the lower one starts a new numbered label or the upper one is already a whole label of the format.
  A label cell spans the data rows it stands beside; the innermost label of a row (the rightmost) names it.
* **Blank or merged**: how many values a row holds comes from the format by the row's label
  (:func:`docxreport.tables.row_widths`): a row of table 二 with one value in its middle column is one merged
  cell, a row of table 三 with a column empty has a blank cell there (read as 0 with a warning).

What it cannot place (numbers beside no label) is a warning naming the page and table, never a number read
into the wrong row.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from ..document import section_heading
from ..format import Format
from ..problems import Problem
from ..tables import TABLE_NAMES, Cell, normal_label, row_labels, row_widths, section_key
from .printed import _LABEL_START, _cell_text, _Line, _Table

_NUMBER = re.compile(r"^\d[\d,，]*(?:\.\d+)?$")  # anchored, no nested quantifier: linear


@dataclass
class _Piece:
    """Text printed together on one line of a table (a cell's line): split from its neighbours by a gap."""

    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    page: int
    text: str
    printed: str = ""  # the text as printed when its digits were split apart

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass
class _Block:
    """One cell being rebuilt: pieces on consecutive lines."""

    pieces: list[_Piece] = field(default_factory=list)

    @property
    def text(self) -> str:
        out = ""
        for piece in self.pieces:
            if out and out[-1].isascii() and out[-1].isalnum() and piece.text[:1].isascii() and piece.text[:1].isalnum():
                out += " "
            out += piece.text
        return out

    @property
    def x0(self) -> float:
        return min(p.x0 for p in self.pieces)

    @property
    def x1(self) -> float:
        return max(p.x1 for p in self.pieces)

    @property
    def top(self) -> float:
        return self.pieces[0].top

    @property
    def bottom(self) -> float:
        return self.pieces[-1].bottom

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2


class _Middles:
    """Spans (top, bottom) looked up by where their middle stands: the spans whose middle is within a height
    range, in O(log n + found) rather than by going through all of them (a page of garbage has thousands)."""

    def __init__(self, spans: list[tuple[float, float]]) -> None:
        self._order = sorted(((top + bottom) / 2, i) for i, (top, bottom) in enumerate(spans))
        self._keys = [m for m, _ in self._order]

    def within(self, low: float, high: float) -> list[int]:
        """Indexes of the spans whose middle is in [low, high], ascending."""
        return sorted(i for _, i in self._order[bisect_left(self._keys, low):bisect_right(self._keys, high)])


def _pieces(line: _Line) -> list[_Piece]:
    """A printed line cut where two characters stand apart: a gap wider than half a character, or on different
    baselines (two cells' lines a little apart in height)."""
    chars = sorted(line.chars, key=lambda c: c["x0"])
    groups: list[list[dict[str, Any]]] = []
    for ch in chars:
        if ch["text"].isspace():
            continue
        size = max(float(ch.get("size") or 10), 1.0)
        if groups and ch["x0"] - groups[-1][-1]["x1"] <= 0.5 * size and abs(ch["top"] - groups[-1][-1]["top"]) <= 0.25 * size:
            groups[-1].append(ch)
        else:
            groups.append([ch])
    out = []
    shift = line.top - min(c["top"] for c in line.chars)  # page → document coordinates
    for group in groups:
        text, printed = _cell_text(group)
        if text:
            out.append(_Piece(min(c["x0"] for c in group), max(c["x1"] for c in group), min(c["top"] for c in group) + shift,
                              max(c["bottom"] for c in group) + shift, line.size, line.page, text, printed))
    return out


def _regions(lines: list[_Line], wanted: list[str], fmt: Format) -> dict[str, tuple[int, int]]:
    """For each wanted table id: the index range of the lines between its section heading and the next."""
    starts: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        if len(line.text) <= 60:
            section = section_heading(line.text, fmt)
            if section is not None and all(s != section.key for _, s in starts):
                starts.append((i, section.key))
    out: dict[str, tuple[int, int]] = {}
    for n, (i, key) in enumerate(starts):
        content = next(s.content for s in fmt.sections if s.key == key)
        if content in wanted:
            end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
            out[content] = (i + 1, end)
    return out


def _columns(numbers: list[_Piece]) -> list[tuple[float, float]]:
    """Data columns: the horizontal extents of numbers that overlap, left to right."""
    spans: list[list[float]] = []
    for p in sorted(numbers, key=lambda p: p.x0):
        if spans and p.x0 < spans[-1][1] - 0.2:
            spans[-1][1] = max(spans[-1][1], p.x1)
        else:
            spans.append([p.x0, p.x1])
    return [(a, b) for a, b in spans]


def _column_of(piece: _Piece, columns: list[tuple[float, float]]) -> int:
    return min(range(len(columns)), key=lambda i: 0.0 if columns[i][0] <= piece.cx <= columns[i][1]
               else min(abs(piece.cx - columns[i][0]), abs(piece.cx - columns[i][1])))


def _overlapped(piece: _Piece, columns: list[tuple[float, float]]) -> frozenset[int]:
    return frozenset(i for i, (a, b) in enumerate(columns) if piece.x0 < b and a < piece.x1)


def _blocks(pieces: list[_Piece], whole: set[str], columns: list[tuple[float, float]], numbers: list[_Piece]) -> list[_Block]:
    """Label and header pieces joined into cells: a piece continues the block just above it when it stands
    centred on it (or at its left edge), a line apart, over the same data columns, and neither starts nor
    ends a label of its own. A row the page break cut (allowed in many offices' tables) continues at the top
    of the next page, above its first row of numbers: the block that reached the last row of numbers of
    the page before goes on there, unless the piece repeats a header of the table's first page."""
    first_numbers: dict[int, float] = {}
    last_numbers: dict[int, float] = {}
    for n in numbers:
        first_numbers[n.page] = min(first_numbers.get(n.page, n.top), n.top)
        last_numbers[n.page] = max(last_numbers.get(n.page, n.top), n.top)
    first_page = min((p.page for p in pieces), default=0)
    headers = {normal_label(p.text) for p in pieces if p.page == first_page and p.bottom <= first_numbers.get(first_page, 0)}
    blocks: list[_Block] = []
    # the blocks a later piece may still continue (pieces come top to bottom, none larger than ``largest``):
    # without this, a region of thousands of lines would try every block for every piece
    largest = max((p.size for p in pieces), default=0.0)
    open_blocks: list[_Block] = []
    for piece in sorted(pieces, key=lambda p: (p.top, p.x0)):
        def may_continue(block: _Block) -> bool:
            last = block.pieces[-1]
            if last.page == piece.page:
                return last.bottom >= piece.top - 0.6 * largest
            return (last.page == piece.page - 1 and last.bottom >= last_numbers.get(last.page, float("inf")) - 0.3 * largest
                    and piece.top <= first_numbers.get(piece.page, float("-inf")) + 0.3 * largest)

        open_blocks = [b for b in open_blocks if may_continue(b)]
        home = None
        for block in reversed(open_blocks):
            last = block.pieces[-1]
            if last.page == piece.page - 1:
                cut = (last.bottom >= last_numbers.get(last.page, float("inf")) - 0.3 * piece.size
                       and piece.bottom <= first_numbers.get(piece.page, float("-inf")) + 0.3 * piece.size
                       and normal_label(piece.text) not in headers)
                if not cut:
                    continue
            elif last.page != piece.page or piece.top - last.bottom > 0.6 * piece.size:
                continue
            elif piece.top - last.bottom < -0.3 * piece.size:
                continue
            aligned = abs(last.cx - piece.cx) <= 1.0 * piece.size or abs(last.x0 - piece.x0) <= 0.5 * piece.size
            aligned = aligned and _overlapped(last, columns) == _overlapped(piece, columns)
            if (aligned and not _LABEL_START.match(piece.text) and normal_label(block.text) not in whole
                    and normal_label(piece.text) not in whole):
                home = block
                break
        if home is None:
            blocks.append(_Block([piece]))
            open_blocks.append(blocks[-1])
        else:
            home.pieces.append(piece)
    return blocks


def rebuild(lines: list[_Line], wanted: list[str], fmt: Format) -> tuple[dict[str, _Table], set[int], list[Problem]]:
    """Tables rebuilt from the text positions of ``lines`` (in reading order) for the wanted national tables.

    Returns the tables by table id (each with its cells set), the ids of the lines they took and warnings.
    """
    tables: dict[str, _Table] = {}
    used: set[int] = set()
    problems: list[Problem] = []
    for table_id, (start, end) in sorted(_regions(lines, wanted, fmt).items(), key=lambda kv: kv[1]):
        region = lines[start:end]
        built = _build(table_id, region, fmt, problems)
        if built is not None:
            built.national = table_id
            tables[table_id] = built
            used.update(id(line) for line in region)
    return tables, used, problems


def _build(table_id: str, region: list[_Line], fmt: Format, problems: list[Problem]) -> _Table | None:
    pieces = [p for line in region for p in _pieces(line)]
    numbers = [p for p in pieces if _NUMBER.match(p.text)]
    if not numbers:
        return None
    name = TABLE_NAMES[table_id]
    columns = _columns(numbers)
    data_left = columns[0][0] - 0.5 * numbers[0].size

    # rows of numbers, top to bottom
    rows: list[list[_Piece]] = []
    for p in sorted(numbers, key=lambda p: p.cy):
        if rows and abs(rows[-1][0].cy - p.cy) <= 0.5 * p.size:
            rows[-1].append(p)
        else:
            rows.append([p])
    row_spans = [(min(p.top for p in r), max(p.bottom for p in r)) for r in rows]

    def data_row(piece: _Piece) -> int | None:
        for i, (top, bottom) in enumerate(row_spans):
            if top - 0.3 * piece.size <= piece.cy <= bottom + 0.3 * piece.size:
                return i
        return None

    # texts in a data column of a row of numbers are that row's values (无, -, a note)
    values = [list(r) for r in rows]
    others = []
    for p in pieces:
        if _NUMBER.match(p.text):
            continue
        row = data_row(p) if p.x0 >= data_left else None
        if row is not None:
            values[row].append(p)
        else:
            others.append(p)

    widths = row_widths(fmt, table_id) if table_id != "table4" else {}
    under = row_labels(fmt, table_id) if table_id != "table4" else {}
    whole = set(widths)
    singles = {normal_label(k) for k in fmt.variants["single_row_groups_2019"]}
    parents = {label for labels in under.values() for label in labels[:-1]} - whole - singles
    blocks = _blocks(others, whole, columns, numbers)

    middles = _Middles(row_spans)

    def covering(block: _Block) -> list[int]:
        size = block.pieces[0].size
        return middles.within(block.top - 0.3 * size, block.bottom + 0.3 * size)

    # a row of the format with no number at all (its cells ``无``, ``-``, a note, or blank): the texts in the
    # data columns beside its label are its values, so that the reader names each cell
    in_columns = [b for b in blocks if b.cx >= data_left]
    in_columns_at = _Middles([(b.top, b.bottom) for b in in_columns])
    taken: set[int] = set()
    for block in [b for b in blocks if b.cx < data_left and normal_label(b.text) in whole and not covering(b)]:
        size = block.pieces[0].size
        beside = [in_columns[j] for j in in_columns_at.within(block.top - 0.3 * size, block.bottom + 0.3 * size)
                  if id(in_columns[j]) not in taken]
        taken.update(id(b) for b in beside)
        row_spans.append((block.top, block.bottom))
        values.append([p for b in beside for p in b.pieces])
    blocks = [b for b in blocks if id(b) not in taken]
    order = sorted(range(len(row_spans)), key=lambda i: row_spans[i][0])
    row_spans = [row_spans[i] for i in order]
    values = [values[i] for i in order]
    middles = _Middles(row_spans)
    # repeated header rows on the following pages: a header block whose text the first page already has
    first_page = region[0].page if region else 0
    seen_headers: set[str] = set()
    kept: list[_Block] = []
    for block in blocks:
        if not covering(block):
            key = normal_label(block.text)
            if block.pieces[0].page != first_page and key in seen_headers:
                continue
            seen_headers.add(key)
        kept.append(block)
    blocks = kept

    # grid rows: the data rows and the bands of header blocks between them, top to bottom
    bands: list[tuple[float, float, int | None, _Block | None]] = [(top, bottom, i, None) for i, (top, bottom) in enumerate(row_spans)]
    block_rows: dict[int, list[int]] = {}
    headers: list[_Block] = []
    for block in blocks:
        covers = covering(block)
        if covers:
            block_rows[id(block)] = covers
        else:
            headers.append(block)
    for block in sorted(headers, key=lambda b: b.top):
        bands.append((block.top, block.bottom, None, block))
    bands.sort(key=lambda b: (b[0], b[2] is None))
    # header blocks side by side (overlapping vertically) share a grid row
    grid_row: dict[int, int] = {}  # data row → grid row
    header_row: dict[int, int] = {}  # id(header block) → grid row
    row_no = -1
    band_bottom = -1e9
    band_is_data = False
    for top, bottom, data, block in bands:
        if data is not None:
            row_no += 1
            grid_row[data] = row_no
            band_bottom, band_is_data = bottom, True
        else:
            if band_is_data or top > band_bottom:
                row_no += 1
                band_is_data = False
            band_bottom = max(band_bottom, bottom)
            if block is not None:
                header_row[id(block)] = row_no
    # label columns: the distinct centres of the label blocks, left to right
    label_blocks = [b for b in blocks if id(b) in block_rows or b.x1 < data_left]
    centres: list[float] = []
    for c in sorted(b.cx for b in label_blocks):
        if not centres or c - centres[-1] > 1.0 * label_blocks[0].pieces[0].size:
            centres.append(c)

    def label_col(block: _Block) -> int:
        return min(range(len(centres)), key=lambda i: abs(centres[i] - block.cx)) if centres else 0

    # a merged label (a group such as （三）不予公开, the vertical 三、本年度办理结果) is printed beside some of
    # its rows only: it spans the run of rows around them whose own labels the format puts under it
    innermost: dict[int, _Block] = {}
    for block in blocks:
        for i in block_rows.get(id(block), []):
            if block.cx < data_left and (i not in innermost or block.cx > innermost[i].cx):
                innermost[i] = block
    # the runs of rows each group label may span, found once per group (not once per block: a page of garbage
    # prints a group's label beside each of thousands of rows)
    groups_of = {i: under.get(normal_label(block.text), ())[:-1] for i, block in innermost.items()}
    group_labels = {label for labels in under.values() for label in labels[:-1]}
    runs: dict[str, dict[int, tuple[int, int]]] = {}

    def runs_of(key: str) -> dict[int, tuple[int, int]]:
        """Row → the run of consecutive rows around it whose own labels the format puts under ``key``."""
        if key not in runs:
            found: dict[int, tuple[int, int]] = {}
            run: list[int] = []
            for i in range(len(row_spans) + 1):
                if i < len(row_spans) and key in groups_of.get(i, ()):
                    run.append(i)
                elif run:
                    found.update((r, (run[0], run[-1])) for r in run)
                    run = []
            runs[key] = found
        return runs[key]

    spanned: set[tuple[str, int, int]] = set()
    again: set[int] = set()  # the same group label printed again beside rows its first print already spans
    for block in blocks:
        covers = block_rows.get(id(block))
        key = normal_label(block.text)
        if not covers or key not in group_labels or any(innermost.get(i) is block for i in covers):
            continue
        around = runs_of(key)
        if not all(i in around for i in covers):
            continue
        low, high = around[covers[0]][0], around[covers[-1]][1]
        if (key, low, high) in spanned:
            again.add(id(block))
            continue
        spanned.add((key, low, high))
        block_rows[id(block)] = list(range(low, high + 1))
    if again:
        blocks = [b for b in blocks if id(b) not in again]

    first_data_col = len(centres)
    cells: list[Cell] = []
    names: dict[tuple[int, int], str] = {}  # (row, col) → how a message names the cell
    for block in blocks:
        if id(block) in block_rows:
            covers = block_rows[id(block)]
            if block.cx >= data_left:  # a text among the numbers but beside no row label: a header
                continue
            cell = Cell(grid_row[covers[0]], label_col(block), covers[-1] - covers[0] + 1, 1, block.text)
            cells.append(cell)
            names[(cell.row, cell.col)] = f"{name}（第 {block.pieces[0].page} 页，无表格线）"  # the reader quotes the label
        else:
            col = label_col(block) if block.cx < data_left else first_data_col + _column_of(block.pieces[0], columns)
            cells.append(Cell(header_row[id(block)], col, 1, 1, block.text))

    # values: by row, each in its data column; blank or merged as the format says by the row's label
    beside_row: dict[int, list[_Block]] = {}  # data row → the label blocks beside it, in the blocks' order
    for block in blocks:
        if id(block) in block_rows and block.cx < data_left:
            for i in block_rows[id(block)]:
                beside_row.setdefault(i, []).append(block)
    # the header above each data column, nearest first: (bottom, header) by column, sorted by bottom
    column_heads: list[list[tuple[float, _Block]]] = []
    for a, b in columns:
        centre = (a + b) / 2
        over = [(h.bottom, -n, h) for n, h in enumerate(headers) if h.x0 - 1 <= centre <= h.x1 + 1]
        column_heads.append([(bottom, h) for bottom, _, h in sorted(over, key=lambda o: o[:2])])  # the first of equals last
    for i, row in enumerate(values):
        labels = beside_row.get(i, [])
        innermost = max(labels, key=lambda b: b.cx, default=None)
        own = [b.text for b in labels if normal_label(b.text) in whole]
        if len(own) > 1:  # two rows' labels beside one line of numbers: which row it is cannot be told
            texts = " ".join(p.text for p in sorted(row, key=lambda p: p.x0))
            problems.append(Problem((section_key(fmt, table_id),), "extract.unplaced_row",
                                    f"第 {row[0].page if row else 0} 页{name}（无表格线）一行数字“{texts}”同时挨着“{own[0]}”和“{own[1]}”，"
                                    "无法确定属于哪一行，未读取（请核实）", "warning", details={"found": texts, "labels": own}))
            continue
        group = ""
        if innermost is not None and normal_label(innermost.text) in parents:
            group, innermost = innermost.text, None  # beside a group's label only: the row's own label is missing
        expected = len(columns) if table_id == "table4" else widths.get(normal_label(innermost.text)) if innermost else None
        if innermost is None and table_id != "table4":
            texts = " ".join(p.text for p in sorted(row, key=lambda p: p.x0))
            inside = f"“{group}”中" if group else ""
            problems.append(Problem((section_key(fmt, table_id),), "extract.unplaced_row",
                                    f"第 {row[0].page} 页{name}（无表格线）{inside}有一行数字“{texts}”旁边没有项目名称，未读取（请核实）",
                                    "warning", details={"page": row[0].page, "found": texts}))
            continue
        by_col: dict[int, list[_Piece]] = {}
        for p in row:
            by_col.setdefault(_column_of(p, columns), []).append(p)
        placed: list[tuple[int, list[_Piece]]] = sorted(by_col.items())
        if expected == 1 and len(placed) <= 1:
            cols = placed or [(len(columns) // 2, [])]  # one merged cell (blank when nothing is printed)
        elif expected is not None and expected == len(columns):
            cols = [(c, by_col.get(c, [])) for c in range(len(columns))]
        elif expected is not None and table_id == "table3" and expected - 1 == len(columns):
            cols = [(c, by_col.get(c, [])) for c in range(len(columns))]  # a table 三 without one column
        else:
            cols = placed
        page = row[0].page if row else innermost.pieces[0].page if innermost else 0
        top = row_spans[i][0]
        for c, parts in cols:
            parts.sort(key=lambda p: p.x0)
            text = "".join(p.text for p in parts)
            cell = Cell(grid_row[i], first_data_col + c, 1, 1, text)
            cells.append(cell)
            above = column_heads[c]
            n = bisect_right(above, top, key=lambda hb: hb[0])
            head = above[n - 1][1] if n else None
            where = f"{name}（第 {page} 页，无表格线）"
            if innermost is not None:
                where += f"“{innermost.text}”一行"
            names[(cell.row, cell.col)] = where + (f"“{head.text}”列" if head else f"第 {c + 1} 个数据")
            for p in parts:
                if p.printed:
                    problems.append(Problem((), "extract.digits_split",
                                            f"第 {p.page} 页{name}“{innermost.text if innermost else ''}”一行中的“{p.printed}”"
                                            f"数字被版面拆开，按 {p.text} 读取（请核实）", "warning",
                                            details={"page": p.page, "found": p.printed}))
    if not cells:
        return None
    cells.sort(key=lambda c: (c.row, c.col))
    first, last = region[0], region[-1]
    table = _Table(first.page, min(l.x0 for l in region), max(l.x1 for l in region), first.top, last.bottom)
    table.cells = cells
    table.address = lambda cell: names.get((cell.row, cell.col), f"{name}（第 {first.page} 页，无表格线）第 {cell.row + 1} 行第 {cell.col + 1} 列")
    return table


__all__ = ["rebuild"]
