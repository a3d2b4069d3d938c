"""Data-driven cases: ``cases/<case>/input.json`` (and optionally ``previous.json``) with ``expected.json``.

``expected.json`` lists every problem the case must give, each ``{"path", "rule", "severity"}`` and optionally
``message`` (compared exactly), ``line`` and ``column``. The list is compared as a whole, order aside: a case
fails on a missing problem and on an unexpected one. ``[]`` means the input is valid.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docxreport.report.validation import check_source

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.is_dir())


def test_there_are_enough_cases():
    assert len(CASES) >= 12
    assert any(json.loads((c / "expected.json").read_text(encoding="utf-8")) == [] for c in CASES)
    for case in CASES:
        assert (case / "input.json").is_file() and (case / "expected.json").is_file(), case.name
        assert {p.name for p in case.iterdir()} <= {"input.json", "expected.json", "previous.json"}, case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Path):
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    previous = case / "previous.json"
    _, problems = check_source(case / "input.json", previous if previous.exists() else None)

    got = sorted((p.json_path, p.rule, p.severity) for p in problems)
    want = sorted((e["path"], e["rule"], e["severity"]) for e in expected)
    assert got == want, "\n".join(str(p) for p in problems)

    for e in expected:
        matches = [p for p in problems if (p.json_path, p.rule, p.severity) == (e["path"], e["rule"], e["severity"])]
        for field in ("message", "line", "column"):
            if field in e:
                assert e[field] in [getattr(p, field) for p in matches], f"{e['path']} {e['rule']}: {field}"
