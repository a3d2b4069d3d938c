"""The compiled yes/no validator agrees with jsonschema on every report, valid or not."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import FormatChecker

import docxreport
from docxreport.report.jsonfile import read_json
from docxreport.report.quickcheck import TYPES, Unsupported, compile_schema
from docxreport.report.schema import _quick_valid, _StrictValidator, _validator, load_schema

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [docxreport.load(p) for p in sorted((ROOT / "examples").glob("*.json"))]
INVALID = sorted((ROOT / "examples" / "invalid").glob("*.json"))

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**13), st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, places=8), st.sampled_from([0, 1, 1.0, Decimal("1.00"), "", " ", "\n", "x\x01y", "2025-02-30", "2025-01-20"]),
    st.text(max_size=8), st.lists(st.text(max_size=3), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths(value, prefix + (i,))
    return out


@st.composite
def mutated_reports(draw: st.DrawFn) -> Any:
    data = _copy(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(paths(data)))
        if not where:
            continue
        parent: Any = data
        for part in where[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[where[-1]] = draw(VALUES)
        elif action == "delete":
            del parent[where[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=6))] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return data


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def jsonschema_valid(data: Any) -> bool:
    return next(iter(_validator().iter_errors(data)), None) is None


@settings(max_examples=1500, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_reports())
def test_agrees_with_jsonschema_on_generated_reports(data: Any) -> None:
    assert _quick_valid()(data) == jsonschema_valid(data)


def test_agrees_on_the_examples_and_the_invalid_examples() -> None:
    for data in EXAMPLES:
        assert _quick_valid()(data) and jsonschema_valid(data)
    for path in INVALID:
        data, _ = read_json(path)
        assert _quick_valid()(data) == jsonschema_valid(data), path.name


def test_the_report_schema_compiles() -> None:
    compile_schema(load_schema(), FormatChecker().conforms)  # no Unsupported: the fast path is in use


@pytest.mark.parametrize("schema", [{"oneOf": [{}]}, {"patternProperties": {"a": {}}, "additionalProperties": False},
                                    {"$ref": "other.json#/x"}, {"properties": {"a": {"$id": "urn:x", "type": "string"}}}])
def test_unknown_keywords_are_refused(schema: dict) -> None:
    with pytest.raises(Unsupported):
        compile_schema(schema, FormatChecker().conforms)


@pytest.mark.parametrize("value", [0, -1, 2**70, 1.0, 1.5, float("nan"), Decimal("2"), Decimal("2.5"), True, False, None, "1", "", [], {}, (), b"x"])
def test_type_predicates_match_the_validators_type_checker(value: Any) -> None:
    checker = _StrictValidator.TYPE_CHECKER
    for name, predicate in TYPES.items():
        assert predicate(value) == checker.is_type(value, name), (name, value)
