"""The format description agrees with the reference layout of the national format, cell for cell.

``fixtures/reference-format-2021.json`` is a copy of the project's reference (the project never reads the shared
folder itself). Its tables list, row by row, the cells that start in each row (HTML style).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from docxreport.format import CellSpec, build_grid, load_format
from docxreport.report.rules import expand_rules

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "reference-format-2021.json").read_text(encoding="utf-8"))
FMT = load_format()
TABLE_IDS = ["table2", "table3", "table4"]
TEXT_BLOCK_TWIPS = 8844  # 156 mm, the GB/T 9704 type area


def reference_table(table_id: str) -> dict:
    return next(t for t in REFERENCE["tables"] if t["id"] == table_id)


def as_tuple(cell: CellSpec) -> tuple:
    return (cell.text, cell.rowspan, cell.colspan, "data" if cell.is_data else "label", cell.key)


# --------------------------------------------------------------------------- agreement with the reference


def test_format_has_exactly_the_reference_tables():
    assert sorted(FMT.tables) == sorted(t["id"] for t in REFERENCE["tables"]) == TABLE_IDS


@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_table_size_agrees_with_reference(table_id):
    ref, ours = reference_table(table_id), FMT.tables[table_id]
    assert ours.grid_columns == ref["grid_columns"]
    assert ours.grid_rows == ref["grid_rows"]
    assert all(len(line) == ref["grid_columns"] for line in ours.grid)


@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_table_agrees_with_reference_cell_for_cell(table_id):
    ref, ours = reference_table(table_id), FMT.tables[table_id]
    for r in range(ours.grid_rows):
        want = [
            (c["text"], c["rowspan"], c["colspan"], c["kind"], c.get("key"))
            for c in (ref["rows"][r] if r < len(ref["rows"]) else [])
        ]
        got = [as_tuple(c) for c in ours.row_cells(r)]
        assert got == want, f"{table_id}, grid row {r}"


@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_table_roles_agree_with_reference(table_id):
    ref, ours = reference_table(table_id), FMT.tables[table_id]
    want = [(r, c.get("role")) for r, row in enumerate(ref["rows"]) for c in row]
    got = [(c.row, c.role) for c in ours.cells]
    assert got == want


@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_reference_kind_is_data_iff_key(table_id):
    for row in reference_table(table_id)["rows"]:
        for c in row:
            assert (c["kind"] == "data") == ("key" in c), c
    for c in FMT.tables[table_id].cells:
        assert c.is_data == (c.key is not None)
        if c.is_data:
            assert c.text == ""


@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_cell_positions_agree_with_the_reference_placed_on_a_grid(table_id):
    ref, ours = reference_table(table_id), FMT.tables[table_id]
    ref_cells, _ = build_grid(table_id, ref["rows"], ref["grid_columns"])
    assert [(c.row, c.col, c.bottom, c.right) for c in ours.cells] == [(c.row, c.col, c.bottom, c.right) for c in ref_cells]


def test_data_keys_are_the_reference_keys_in_order():
    ref_keys = [c["key"] for t in REFERENCE["tables"] for row in t["rows"] for c in row if "key" in c]
    assert list(FMT.data_keys) == ref_keys
    assert len(set(ref_keys)) == len(ref_keys)


def test_section_headings_are_the_reference_headings():
    assert [s.heading for s in FMT.sections] == REFERENCE["section_headings_2021"]
    assert [s.number for s in FMT.sections] == list("一二三四五六")


def test_table_sections_point_at_their_tables():
    tables = {s.heading: s.content for s in FMT.sections if s.is_table}
    assert tables == {t["section"]: t["id"] for t in REFERENCE["tables"]}
    assert [s.key for s in FMT.sections] == ["overview", "proactive", "requests", "appeals", "problems", "other"]


def test_exact_label_strings():
    labels = set(FMT.tables["table3"].labels)
    assert "2.其他法律行政法规禁止公开" in labels
    assert "3.危及\u201c三安全一稳定\u201d" in labels  # curly quotes U+201C / U+201D
    assert "（一）予以公开" in labels
    assert not any(label.startswith(("1. ", "1、")) for label in labels)


# --------------------------------------------------------------------------- the grid model


@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_every_slot_is_covered_exactly_once(table_id):
    table = FMT.tables[table_id]
    coverage = Counter((r, c) for cell in table.cells for r in range(cell.row, cell.bottom) for c in range(cell.col, cell.right))
    every_slot = {(r, c) for r in range(table.grid_rows) for c in range(table.grid_columns)}
    assert set(coverage) == every_slot
    assert set(coverage.values()) == {1}
    for cell in table.cells:
        for r in range(cell.row, cell.bottom):
            for c in range(cell.col, cell.right):
                assert table.grid[r][c] is cell


def test_table3_is_28_by_10():
    t = FMT.tables["table3"]
    assert (t.grid_rows, t.grid_columns) == (28, 10)


def test_table_sizes():
    assert [(FMT.tables[t].grid_rows, FMT.tables[t].grid_columns) for t in TABLE_IDS] == [(14, 4), (28, 10), (4, 15)]


def test_data_cell_counts():
    assert [len(FMT.tables[t].data_cells) for t in TABLE_IDS] == [10, 175, 15]
    assert len(FMT.data_keys) == 200


def test_corner_cell_is_3_by_3():
    t = FMT.tables["table3"]
    corner = t.grid[0][0]
    assert (corner.row, corner.col, corner.rowspan, corner.colspan) == (0, 0, 3, 3)
    assert corner.text == "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    assert corner.role == "corner_note"
    assert t.grid[2][2] is corner
    assert t.grid[3][0] is not corner and t.grid[0][3] is not corner


def test_outcome_label_spans():
    t = FMT.tables["table3"]
    spans = {c.text: (c.rowspan, c.colspan) for c in t.cells if not c.is_data}
    assert spans["三、本年度办理结果"] == (22, 1)
    assert spans["（三）不予公开"] == (8, 1)
    assert spans["（四）无法提供"] == (3, 1)
    assert spans["（五）不予处理"] == (5, 1)
    assert spans["（六）其他处理"] == (3, 1)
    assert spans["申请人情况"] == (1, 7)
    assert spans["法人或其他组织"] == (1, 5)
    assert spans["自然人"] == (2, 1)
    outcomes = next(c for c in t.cells if c.text == "三、本年度办理结果")
    assert (outcomes.row, outcomes.bottom) == (5, 27)  # from （一）予以公开 to （七）总计


def test_table2_value_column_spans_three_grid_columns_from_item_5_on():
    t = FMT.tables["table2"]
    spans = {c.key: c.colspan for c in t.data_cells}
    assert spans == {
        **{f"proactive.{r}.{c}": 1 for r in ("regulations", "normative_documents") for c in ("issued", "repealed", "in_force")},
        "proactive.licensing": 3, "proactive.penalties": 3, "proactive.coercive_measures": 3, "proactive.fees": 3,
    }
    subheaders = [c for c in t.cells if c.role == "subheader"]
    assert [c.text for c in subheaders] == ["第二十条第（一）项", "第二十条第（五）项", "第二十条第（六）项", "第二十条第（八）项"]
    assert all(c.colspan == 4 for c in subheaders)


@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_column_widths_fill_the_text_block(table_id):
    t = FMT.tables[table_id]
    assert len(t.column_widths) == t.grid_columns
    assert all(w > 0 for w in t.column_widths)
    assert abs(sum(t.column_widths) - TEXT_BLOCK_TWIPS) <= 10, sum(t.column_widths)


@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_header_rows_hold_no_data(table_id):
    t = FMT.tables[table_id]
    assert all(not c.is_data for c in t.cells if c.row < t.header_rows)


# --------------------------------------------------------------------------- the rule lists


def _table3_rows() -> list[str]:
    rows: list[str] = []
    for key in (c.key for c in FMT.tables["table3"].data_cells):
        row = key.rsplit(".", 1)[0]
        if row not in rows:
            rows.append(row)
    return rows


def test_request_rows_are_the_rows_of_table3():
    assert len(FMT.lists["request_rows"]) == 25
    assert list(FMT.lists["request_rows"]) == _table3_rows()


def test_every_table3_row_has_the_seven_columns():
    columns = list(FMT.lists["columns"])
    assert columns == [*FMT.lists["applicant_columns"], "total"]
    assert columns == reference_table("table3")["data_column_keys"]
    for row in FMT.lists["request_rows"]:
        cells = [c.key.rsplit(".", 1)[1] for c in FMT.tables["table3"].data_cells if c.key.rsplit(".", 1)[0] == row]
        assert cells == columns, row


def test_outcome_rows_are_the_21_rows_between_carried_over_and_the_total():
    outcomes = list(FMT.lists["outcome_rows"])
    assert len(outcomes) == 21
    rows = _table3_rows()
    assert outcomes == rows[rows.index("requests.carried_over") + 1 : rows.index("requests.outcomes.total")]
    assert all(r.startswith("requests.outcomes.") for r in outcomes)


def test_appeal_lists_agree_with_table4():
    keys = [c.key for c in FMT.tables["table4"].data_cells]
    assert keys == [
        f"appeals.{g}.{r}" for g in FMT.lists["appeal_groups"] for r in (*FMT.lists["appeal_results"], "total")
    ]
    assert list(FMT.lists["appeal_groups"]) == ["review", "litigation", "litigation_after_review"]


def test_expanded_rules_only_name_data_cells():
    checks = expand_rules(FMT)
    keys = set(FMT.data_keys)
    assert Counter(c.rule for c in checks) == {"row_total": 25, "outcomes_total": 7, "group_total": 3, "balance": 7, "cross_year": 7}
    for c in checks:
        for path in (c.target, *c.terms, *c.right):
            assert path in keys, (c.rule, path)
    sums = {c.target: c.terms for c in checks if c.rule == "outcomes_total"}
    assert sums["requests.outcomes.total.natural"] == tuple(f"{r}.natural" for r in FMT.lists["outcome_rows"])


# --------------------------------------------------------------------------- build_grid refuses bad layouts


def cell(text: str, **spans: int) -> dict:
    return {"text": text, **spans}


def test_build_grid_places_spans():
    cells, grid = build_grid("t", [[cell("a", rowspan=2), cell("b")], [cell("c")]], 2)
    a, b, c = cells
    assert (c.row, c.col) == (1, 1)
    assert grid == ((a, b), (a, c))


def test_build_grid_refuses_overlap():
    with pytest.raises(ValueError, match="overlaps"):
        build_grid("t", [[cell("a"), cell("b", rowspan=2)], [cell("c", colspan=2)]], 2)


def test_build_grid_refuses_gap_in_a_row():
    with pytest.raises(ValueError, match="row 0 is not fully covered"):
        build_grid("t", [[cell("a")], [cell("b"), cell("c")]], 2)


def test_build_grid_refuses_gap_below_a_rowspan():
    with pytest.raises(ValueError, match="row 1 is not fully covered"):
        build_grid("t", [[cell("a", rowspan=2), cell("b")]], 2)


def test_build_grid_refuses_a_cell_past_the_last_column():
    with pytest.raises(ValueError, match="runs past column 2"):
        build_grid("t", [[cell("a"), cell("b", colspan=2)]], 2)
