"""The committed JSON Schema: current, valid Draft 2020-12, and the data model of data-model.md."""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from docxreport import validate
from docxreport.format import load_format
from docxreport.report.schema import build_schema, load_schema, schema_json

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schemas" / "gov-info-annual-report-2021.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
FMT = load_format()
CJK = re.compile("[\u4e00-\u9fff]")
BASE = json.loads((ROOT / "examples" / "county-bureau-2024.json").read_text(encoding="utf-8"))


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A subschema with a local ``$ref`` merged under it (what an editor shows for it)."""
    ref = node.get("$ref")
    if not ref:
        return node
    assert ref.startswith("#/$defs/"), ref
    return {**resolve(SCHEMA["$defs"][ref.rsplit("/", 1)[1]]), **node}


def subschemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in the document, with a JSON-pointer-like location."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from subschemas(sub, f"{where}/{key}/{name}")
            elif key in ("items",):
                yield from subschemas(value, f"{where}/{key}")
            elif key in ("anyOf", "oneOf", "allOf"):
                for i, sub in enumerate(value):
                    yield from subschemas(sub, f"{where}/{key}/{i}")


def properties() -> Iterator[tuple[str, dict[str, Any]]]:
    for where, node in subschemas(SCHEMA):
        for name, prop in node.get("properties", {}).items():
            yield f"{where}/properties/{name}", prop


def at(path: str) -> dict[str, Any]:
    node = SCHEMA
    for part in path.split("."):
        node = resolve(node)["properties"][part]
    return resolve(node)


# --------------------------------------------------------------------------- current and valid


def test_committed_schema_is_current():
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    built = schema_json(build_schema())
    diff = "".join(list(difflib.unified_diff(committed.splitlines(True), built.splitlines(True), "committed", "built"))[:40])
    assert committed == built, (
        f"{SCHEMA_PATH.relative_to(ROOT)} is stale: rebuild it with `python -m docxreport.build` and commit it.\n{diff}"
    )


def test_packaged_schema_is_the_committed_one():
    assert load_schema() == SCHEMA


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"]


def test_load_schema_works_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    load_schema.cache_clear()
    try:
        assert load_schema() == SCHEMA
    finally:
        load_schema.cache_clear()


# --------------------------------------------------------------------------- titles, closed objects, bounds


def test_there_are_many_properties_to_check():
    assert sum(1 for _ in properties()) > 250


def test_every_property_has_a_chinese_title_and_description():
    untitled = [
        where for where, prop in properties()
        if not CJK.search(resolve(prop).get("title", "")) or not CJK.search(resolve(prop).get("description", ""))
    ]
    assert untitled == []


def test_table_cells_are_titled_with_the_forms_labels():
    assert at("requests.outcomes.withheld.three_safeties")["title"] == "3.危及\u201c三安全一稳定\u201d"
    assert at("requests.received.natural")["title"] == "自然人"
    assert at("requests.received")["title"] == "一、本年新收政府信息公开申请数量"
    assert at("appeals.litigation_after_review")["title"] == "复议后起诉"
    assert at("proactive.licensing")["title"] == "行政许可"
    assert at("requests")["title"] == "三、收到和处理政府信息公开申请情况"
    assert at("organ")["title"] == "机关名称"


def test_every_object_is_closed():
    objects = [(where, node) for where, node in subschemas(SCHEMA) if node.get("type") == "object" or "properties" in node]
    assert len(objects) > 40
    for where, node in objects:
        assert node.get("additionalProperties") is False, where


def test_every_data_key_is_a_property_path():
    for key in FMT.data_keys:
        leaf = at(key)
        assert leaf["type"] in ("integer", "number"), key


def test_the_tables_hold_nothing_but_data_keys():
    leaves = []

    def walk(node: dict[str, Any], path: str) -> None:
        if "properties" not in node:
            leaves.append(path)
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{name}")

    for section in ("proactive", "requests", "appeals"):
        walk(SCHEMA["properties"][section], section)
    assert sorted(leaves) == sorted(FMT.data_keys)


def test_counts_are_integers_from_0_to_10_million():
    for key in FMT.data_keys:
        if key == "proactive.fees":
            continue
        leaf = at(key)
        assert (leaf["type"], leaf["minimum"], leaf["maximum"]) == ("integer", 0, 10_000_000), key
    integers = [where for where, node in subschemas(SCHEMA) if node.get("type") == "integer"]
    assert len(integers) == 199 + 1  # every count, and the year


def test_fees_are_a_non_negative_number():
    fees = at("proactive.fees")
    assert fees["type"] == "number" and fees["minimum"] == 0
    assert 5949.088667 in fees["examples"]


def test_top_level_fields_follow_the_data_model():
    top = SCHEMA["properties"]
    assert list(top) == ["$schema", "format", "organ", "year", "title", "date", "preamble",
                         "overview", "proactive", "requests", "appeals", "problems", "other"]
    assert SCHEMA["required"] == ["organ", "year", "overview", "proactive", "requests", "appeals", "problems", "other"]
    assert top["format"]["const"] == "2021"
    assert (top["year"]["type"], top["year"]["minimum"], top["year"]["maximum"]) == ("integer", 2008, 2100)
    assert (top["organ"]["minLength"], top["organ"]["maxLength"]) == (1, 100)
    assert top["title"]["anyOf"][1]["maxItems"] == 3
    assert top["date"]["format"] == "date"
    for section in ("overview", "problems", "other"):
        assert top[section]["minItems"] == 1


def test_totals_are_optional_and_applicant_columns_default_to_zero():
    for row in FMT.lists["request_rows"]:
        assert at(row)["required"] == [], row
    assert "total" not in at("requests.outcomes")["required"]
    assert at("requests")["required"] == ["received", "carried_over", "outcomes", "carried_forward"]
    for group in FMT.lists["appeal_groups"]:
        assert at(f"appeals.{group}")["required"] == ["upheld", "corrected", "other", "pending"]


def test_headings_nest_at_most_four_levels():
    defs = SCHEMA["$defs"]
    assert {"blocks2", "blocks3", "blocks4", "blocks5", "heading2", "heading3", "heading4"} <= set(defs)
    assert "heading5" not in defs
    assert defs["blocks5"]["items"] == {"$ref": "#/$defs/paragraph"}


# --------------------------------------------------------------------------- examples


def test_examples_are_given():
    with_examples = {where: p["examples"] for where, p in properties() if "examples" in p}
    assert {"#/properties/organ", "#/properties/year", "#/properties/date", "#/properties/title",
            "#/properties/proactive/properties/fees"} <= set(with_examples)
    assert all(isinstance(v, list) and v for v in with_examples.values())


@pytest.mark.parametrize("field", ["format", "organ", "year", "date", "title"])
def test_top_level_examples_are_valid_values(field):
    for example in SCHEMA["properties"][field]["examples"]:
        report = copy.deepcopy(BASE)
        report[field] = example
        assert validate(report) == [], (field, example)


def test_fee_examples_are_valid_values():
    for example in at("proactive.fees")["examples"]:
        report = copy.deepcopy(BASE)
        report["proactive"]["fees"] = example
        assert validate(report) == [], example


# --------------------------------------------------------------------------- the one-walk bounds check

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import dataclasses  # noqa: E402

from docxreport.report.jsonfile import too_deep  # noqa: E402
from docxreport.report.schema import _plainly_bounded, _size_problems, _xml_problems  # noqa: E402

_SMALL_LIMITS = dataclasses.replace(load_format(), limits={**load_format().limits, "text_max_line_breaks": 2,
                                                            "report_max_chars": 30, "report_max_paragraphs": 2,
                                                            "report_max_line_breaks": 5})


def _json_like() -> st.SearchStrategy[Any]:
    text = st.text(alphabet=st.sampled_from(["a", "字", "\n", "\t", "\ud800", "\uffff", " "]), max_size=8)
    leaves = st.one_of(st.integers(-5, 5), text, st.none())
    keys = st.sampled_from(["text", "heading", "body", "a", "b"])
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(keys, inner, max_size=4)),
                        max_leaves=40)


@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_like())
def test_one_walk_bounds_check_agrees_with_the_three_detailed_ones(data: Any) -> None:
    """schema_problems skips the path-building checks when the one walk says the data is plainly within
    bounds: the walk must never say so when any of them would report something."""
    fmt = _SMALL_LIMITS
    detailed = too_deep(data) is None and not list(_xml_problems(data)) and not list(_size_problems(data, fmt))
    assert _plainly_bounded(data, fmt) == detailed


def test_one_walk_bounds_check_sees_a_count_below_the_depth_limit() -> None:
    from docxreport.report.jsonfile import DEPTH_MAX

    data: Any = 7
    for _ in range(DEPTH_MAX + 1):
        data = [data]
    assert too_deep(data) is not None and not _plainly_bounded(data, load_format())
