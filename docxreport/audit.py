"""``check``: the audit of a published report — extract it, then validate what it says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .problems import Problem
from .reading import Source, read_any
from .report.validation import previous_problems, validate
from .sources import read_previous


def check_document(source: Source, previous: str | Path | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Extract a published report (any format :mod:`docxreport.reading` reads) and validate it (and
    against last year's report when given).

    Returns ``(data, problems)``: what reading the document met (format deviations, unreadable cells)
    and its consistency problems. A rule problem at a place the extraction already reported as an
    error (a table that was not found, a cell that is not a number) is not repeated.
    """
    data, problems = read_any(source)
    last = None
    if previous is not None:
        last, last_problems = read_previous(previous, str(previous))  # JSON, a workbook or a published report
        problems.extend(previous_problems(last_problems, "warning"))
    unreadable = [p.path for p in problems if p.severity == "error"]
    for problem in validate(data, last):
        if not any(problem.path[: len(u)] == u for u in unreadable):
            problems.append(problem)
    return data, problems
