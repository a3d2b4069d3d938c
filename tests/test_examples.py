"""The shipped examples: the valid ones validate, each invalid one gives at least one error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docxreport.report import rules
from docxreport.format import load_format
from docxreport.problems import has_errors
from docxreport.report.validation import check_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
VALID = sorted(EXAMPLES.glob("*.json"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.json"))
FMT = load_format()


def test_there_are_examples():
    assert {p.name for p in VALID} >= {"zhuyangguan-2024.json", "county-bureau-2024.json"}
    assert len(INVALID) >= 9


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_example_has_no_errors(path):
    _, problems = check_source(path)
    assert not has_errors(problems), [str(p) for p in problems]
    assert problems == []


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_example_has_an_error(path):
    data, problems = check_source(path)
    assert data is not None  # each is readable JSON with one thing broken
    assert has_errors(problems)


@pytest.mark.parametrize("path", VALID + INVALID, ids=[p.name for p in VALID + INVALID])
def test_schema_reference_resolves(path):
    ref = json.loads(path.read_text(encoding="utf-8"))["$schema"]
    assert (path.parent / ref).resolve() == (ROOT / "schemas" / "gov-info-annual-report-2021.schema.json")


def test_zhuyangguan_has_no_other_column():
    data, _ = check_source(EXAMPLES / "zhuyangguan-2024.json")
    for row in FMT.lists["request_rows"]:
        assert rules.get_path(data, row).get("other_org", 0) == 0, row


def test_county_example_has_non_zero_balanced_numbers():
    data, problems = check_source(EXAMPLES / "county-bureau-2024.json")
    assert problems == []
    assert data["requests"]["received"]["total"] > 0
    assert data["requests"]["outcomes"]["total"]["total"] > 0
    assert data["requests"]["carried_forward"]["total"] > 0
    assert sum(data["appeals"][g]["total"] for g in FMT.lists["appeal_groups"]) > 0


def test_county_examples_follow_on_from_each_other():
    _, problems = check_source(EXAMPLES / "county-bureau-2024.json", EXAMPLES / "county-bureau-2023.json")
    assert problems == []
