"""A national table as an HTML ``<table>``, laid out from the format grid: the HTML table writer.

The same grid that lays out the Word tables (:class:`docxreport.format.Table`) gives the ``rowspan`` and
``colspan`` of every cell, so the web page, the workbench and the .docx cannot disagree. Labels are ``<th>``
with a ``scope`` (``col``/``colgroup`` in header rows, ``row``/``rowgroup`` beside the numbers), data cells
``<td>``. Elements are built with lxml: text is always element text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from ..format import CellSpec, Table

#: ``data-key`` on a data cell: its JSON path (``requests.received.natural``).
KEY_ATTRIBUTE = "data-key"


def _has_data(table: Table, row: int) -> bool:
    return any(c.is_data for c in table.grid[row])


def scope(table: Table, cell: CellSpec) -> str:
    """The ``scope`` of a label cell: what the label heads."""
    beside_data = any(_has_data(table, r) for r in range(cell.row, cell.bottom)) and any(
        c.is_data and c.col >= cell.right for r in range(cell.row, cell.bottom) for c in table.grid[r])
    if beside_data and cell.row >= table.header_rows:
        return "rowgroup" if cell.rowspan > 1 else "row"
    return "colgroup" if cell.colspan > 1 else "col"


def table_element(
    table: Table,
    text_of: Callable[[CellSpec], str],
    *,
    caption: str | None = None,
    fill: Callable[[CellSpec, etree._Element], None] | None = None,
    css_class: str = "report-table",
) -> etree._Element:
    """The ``<table>`` of ``table``: every cell of the grid once, with its spans.

    ``text_of(cell)`` gives a cell's text (labels: their own text; data cells: the value). ``fill(cell,
    td)``, when given, is called for every data cell after its text is set, to put something else in it (the
    workbench puts an input there). ``caption`` becomes the ``<caption>``.
    """
    element = etree.Element("table", {"class": css_class, "id": table.id})
    if caption:
        etree.SubElement(element, "caption").text = caption
    group = etree.SubElement(element, "colgroup")
    total = sum(table.column_widths)
    for width in table.column_widths:
        etree.SubElement(group, "col", {"style": f"width:{width * 100 / total:.2f}%"})
    head = etree.SubElement(element, "thead") if table.header_rows else None
    body = etree.SubElement(element, "tbody")
    for r, line in enumerate(table.grid):
        tr = etree.SubElement(head if head is not None and r < table.header_rows else body, "tr")
        for cell in dict.fromkeys(line):  # each cell once, left to right
            if cell.row != r:
                continue  # covered by a cell from a row above
            attributes: dict[str, str] = {}
            if cell.rowspan > 1:
                attributes["rowspan"] = str(cell.rowspan)
            if cell.colspan > 1:
                attributes["colspan"] = str(cell.colspan)
            if cell.is_data:
                attributes[KEY_ATTRIBUTE] = str(cell.key)
                td = etree.SubElement(tr, "td", attributes)
                td.text = text_of(cell)
                if fill is not None:
                    fill(cell, td)
            else:
                attributes["scope"] = scope(table, cell)
                if cell.role:
                    attributes["class"] = cell.role
                th = etree.SubElement(tr, "th", attributes)
                th.text = text_of(cell)
    return element


def table_html(table: Table, text_of: Callable[[CellSpec], str], **options: object) -> str:
    """:func:`table_element` serialised as HTML text."""
    return etree.tostring(table_element(table, text_of, **options), method="html", encoding="unicode")  # type: ignore[arg-type]
