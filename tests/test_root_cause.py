"""One wrong total, one root cause: the problems it causes elsewhere follow it, marked as caused by it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from docxreport.report.validation import validate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples" / "county-bureau-2024.json").read_text(encoding="utf-8"))


def with_added(path: str, amount: int = 1) -> dict:
    data = copy.deepcopy(EXAMPLE)
    node = data
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[part]
    node[leaf] += amount
    return data


@pytest.mark.parametrize("cell", ["requests.received.total", "requests.carried_forward.total", "requests.outcomes.total.total"])
def test_a_wrong_total_is_reported_first_and_the_unbalanced_table_as_its_consequence(cell):
    problems = validate(with_added(cell))
    assert problems and all(p.severity == "error" for p in problems)
    roots = [p for p in problems if "caused_by" not in p.details]
    consequences = [p for p in problems if "caused_by" in p.details]
    assert problems == roots + consequences  # root causes first
    assert {p.json_path for p in roots} == {cell}
    assert {p.rule for p in roots} <= {"row_total", "outcomes_total"}
    assert [p.rule for p in consequences] == ["balance"]
    assert consequences[0].details["caused_by"] == [cell]
    assert consequences[0].message.endswith(f"（由 {cell} 的错误引起）")


def test_a_problem_that_a_corrected_total_would_not_fix_stays_a_root_cause():
    data = with_added("requests.received.natural")  # the total is consistent with the table, not the row
    problems = validate(data)
    assert {(p.rule, p.json_path) for p in problems} == {("row_total", "requests.received.total"), ("balance", "requests.received.natural")}
    assert all("caused_by" not in p.details and "引起" not in p.message for p in problems)


def test_two_independent_mistakes_are_two_root_causes():
    data = with_added("requests.received.total")
    node = data["requests"]["carried_over"]
    node["natural"] += 5
    node["total"] += 5  # carried over: row consistent, table unbalanced in two columns
    problems = validate(data)
    balance_natural = [p for p in problems if p.json_path == "requests.received.natural"]
    assert balance_natural and "caused_by" not in balance_natural[0].details


def test_the_cli_prints_the_root_cause_first():
    r = subprocess.run([sys.executable, "-m", "docxreport", "validate", str(ROOT / "examples" / "invalid" / "row-total.json")],
                       capture_output=True, check=False, text=True, encoding="utf-8", timeout=120)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].endswith("[row_total]") and "引起" not in lines[0]
    assert lines[1].endswith("（由 requests.received.total 的错误引起） [balance]")


def test_the_json_report_carries_each_rules_figures_and_its_root_cause():
    r = subprocess.run([sys.executable, "-m", "docxreport", "validate", "--format", "json",
                        str(ROOT / "examples" / "invalid" / "row-total.json")],
                       capture_output=True, check=False, text=True, encoding="utf-8", timeout=120)
    assert r.returncode == 1
    problems = json.loads(r.stdout)["problems"]
    root, consequence = problems[0], problems[1]
    assert root["rule"] == "row_total" and root["details"]["actual"] == root["details"]["expected"] + 1
    assert sum(root["details"]["terms"].values()) == root["details"]["expected"]
    assert consequence["details"]["caused_by"] == ["requests.received.total"]
