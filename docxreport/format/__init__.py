"""The national report format as data.

The format (sections, the cell-by-cell layout of tables 二, 三, 四, the consistency rules and the labels used
as titles) lives in ``gov-info-annual-report-2021.json`` beside this module. This module loads it into
immutable objects and builds each table's grid: a rows × columns matrix whose every slot points at the
:class:`CellSpec` covering it, the one model shared by the template builder, the renderer and the extractor.
It knows nothing of .docx.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["CellSpec", "Format", "Section", "Table", "load_format"]

_FILES = {"2021": "gov-info-annual-report-2021.json"}
CN_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class CellSpec:
    """One cell of a table: its text, where it starts in the grid and how far it spans.

    ``right`` and ``bottom`` are exclusive, like a slice. A data cell has the JSON path ``key`` of the value
    it shows; a label cell may say which data-model node it ``names`` (its text is that node's title).
    """

    text: str
    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1
    key: str | None = None
    role: str | None = None
    names: str | None = None

    @property
    def is_data(self) -> bool:
        return self.key is not None

    @property
    def right(self) -> int:
        return self.col + self.colspan

    @property
    def bottom(self) -> int:
        return self.row + self.rowspan


@dataclass(frozen=True)
class Table:
    """A statistical table: its cells and the grid they tile."""

    id: str
    grid_columns: int
    column_widths: tuple[int, ...]
    header_rows: int
    cells: tuple[CellSpec, ...]
    grid: tuple[tuple[CellSpec, ...], ...]

    @property
    def grid_rows(self) -> int:
        return len(self.grid)

    @property
    def data_cells(self) -> tuple[CellSpec, ...]:
        return tuple(c for c in self.cells if c.is_data)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.text for c in self.cells if not c.is_data)

    def row_cells(self, row: int) -> tuple[CellSpec, ...]:
        """The cells that start in ``row``, left to right."""
        return tuple(c for c in self.cells if c.row == row)


@dataclass(frozen=True)
class Section:
    number: str
    title: str
    key: str
    content: str  # "blocks" or a table id

    @property
    def heading(self) -> str:
        return f"{self.number}、{self.title}"

    @property
    def is_table(self) -> bool:
        return self.content != "blocks"


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per loaded format
class Format:
    """One national format, loaded from its description. Use :func:`load_format`."""

    id: str
    name: str
    notice: str
    title_lines: tuple[str, ...]
    sections: tuple[Section, ...]
    tables: dict[str, Table]
    overview_subheadings: tuple[str, ...]
    heading_numbering: tuple[str, ...]
    max_heading_depth: int
    zero_when_absent: str  # the list (in ``lists``) of rows whose absent cells mean 0
    fields: dict[str, dict[str, Any]]
    blocks: dict[str, dict[str, Any]]
    limits: dict[str, int]
    lists: dict[str, tuple[str, ...]]
    rules: tuple[dict[str, Any], ...]
    variants: dict[str, Any]  # what published reports hold instead of the exact format (for extraction)
    narrative_rules: dict[str, Any] = field(default_factory=dict)  # warnings on the text (report/narrative.py)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def table_of(self, section: Section) -> Table:
        return self.tables[section.content]

    @property
    def data_keys(self) -> tuple[str, ...]:
        """JSON paths of every value shown in a table, in table then reading order."""
        return tuple(c.key for t in self.tables.values() for c in t.cells if c.key)

    def names(self) -> dict[str, str]:
        """Data-model node (``requests.outcomes.withheld``, ``requests.*.natural``) → the form's label."""
        return {c.names: c.text for t in self.tables.values() for c in t.cells if c.names}


def build_grid(table_id: str, rows: list[list[dict[str, Any]]], columns: int) -> tuple[tuple[CellSpec, ...], tuple[tuple[CellSpec, ...], ...]]:
    """Place HTML-style rows (each lists the cells that start in it) on a grid; refuse gaps and overlaps."""
    slots: list[list[CellSpec | None]] = []
    cells: list[CellSpec] = []
    for r, row in enumerate(rows):
        while len(slots) <= r:
            slots.append([None] * columns)
        c = 0
        for raw in row:
            while c < columns and slots[r][c] is not None:
                c += 1
            cell = CellSpec(
                text=raw["text"], row=r, col=c,
                rowspan=raw.get("rowspan", 1), colspan=raw.get("colspan", 1),
                key=raw.get("key"), role=raw.get("role"), names=raw.get("names"),
            )
            if cell.right > columns:
                raise ValueError(f"{table_id}: cell {cell.text!r} at row {r} runs past column {columns}")
            while len(slots) < cell.bottom:
                slots.append([None] * columns)
            for rr in range(cell.row, cell.bottom):
                for cc in range(cell.col, cell.right):
                    if slots[rr][cc] is not None:
                        raise ValueError(f"{table_id}: cell {cell.text!r} overlaps at ({rr}, {cc})")
                    slots[rr][cc] = cell
            cells.append(cell)
            c = cell.right
    for r, line in enumerate(slots):
        if any(s is None for s in line):
            raise ValueError(f"{table_id}: row {r} is not fully covered")
    return tuple(cells), tuple(tuple(s for s in line if s is not None) for line in slots)


@cache
def load_format(format_id: str = "2021") -> Format:
    """Load a national format description (read once; the result is immutable)."""
    try:
        name = _FILES[format_id]
    except KeyError:
        raise ValueError(f"unknown format {format_id!r}; known: {', '.join(_FILES)}") from None
    raw = json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
    tables = {}
    for t in raw["tables"]:
        cells, grid = build_grid(t["id"], t["rows"], t["grid_columns"])
        if len(t["column_widths"]) != t["grid_columns"]:
            raise ValueError(f"{t['id']}: {len(t['column_widths'])} widths for {t['grid_columns']} columns")
        tables[t["id"]] = Table(t["id"], t["grid_columns"], tuple(t["column_widths"]), t["header_rows"], cells, grid)
    return Format(
        id=raw["id"],
        name=raw["name"],
        notice=raw["notice"],
        title_lines=tuple(raw["title_lines"]),
        sections=tuple(Section(**s) for s in raw["sections"]),
        tables=tables,
        overview_subheadings=tuple(raw["overview_subheadings"]),
        heading_numbering=tuple(raw["heading_numbering"]),
        max_heading_depth=raw["max_heading_depth"],
        zero_when_absent=raw["zero_when_absent"],
        fields=raw["fields"],
        blocks=raw["blocks"],
        limits=raw["limits"],
        lists={k: tuple(v) for k, v in raw["lists"].items()},
        rules=tuple(raw["rules"]),
        variants=raw["variants"],
        narrative_rules=raw.get("narrative_rules", {}),
    )
