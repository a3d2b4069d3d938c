"""``validate``: the JSON Schema and the consistency rules, all problems at once."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidReportError
from ..format import load_format
from ..problems import Problem, Severity
from . import readback, rules
from .jsonfile import Source, read_json
from .schema import schema_problems


def validate(data: Any, previous: Any = None) -> list[Problem]:
    """Check report data against the schema and the consistency rules (勾稽关系).

    ``data`` is the parsed JSON (a dict); ``previous`` optionally last year's report, for the cross-year
    rule. Returns every problem found, errors and warnings, each with its JSON path; an empty list means
    the report is valid. Absent totals are computed, never reported.
    """
    fmt = load_format()
    problems = schema_problems(data, fmt)
    problems.extend(rules.check(data, fmt, previous))
    problems.extend(readback.read_back(data, fmt)[1])  # what the printed report will not keep
    return problems


def load(source: Source) -> dict[str, Any]:
    """Read report JSON strictly (UTF-8, no duplicate keys, no NaN, exact decimals).

    Raises :class:`~docxreport.errors.ReportFileError` when the file cannot be read at all and
    :class:`~docxreport.errors.InvalidReportError` when its text is not acceptable JSON. The data is
    not validated: call :func:`validate` for that.
    """
    data, problems = read_json(source)
    if problems:
        raise InvalidReportError(problems, "无法读取报告 JSON")
    return data  # type: ignore[no-any-return]


def previous_problems(problems: list[Problem], severity: Severity | None = None) -> list[Problem]:
    """Problems of last year's report, labelled as such (optionally with another severity)."""
    return [Problem(p.path, p.rule, f"上年报告：{p.message}", severity or p.severity, p.line, p.column) for p in problems]


def check_source(source: Source, previous: Source | None = None) -> tuple[Any, list[Problem]]:
    """Read and validate a report file (and last year's): ``(data, problems)``.

    ``data`` is None when the text could not be read as JSON; those problems carry a line and column.

    Problems found while reading come first; a schema problem at a path the reader already reported
    (a NaN, a duplicate key) is not repeated.
    """
    data, problems = read_json(source)
    unreadable = bool(problems) and data is None  # the JSON value null is readable, and validated below
    seen = {p.path for p in problems}  # this file's only: last year's problems must not hide this year's
    last = None
    if previous is not None:
        last, last_problems = read_json(previous)
        problems.extend(previous_problems(last_problems))
    if unreadable:
        return None, problems
    problems.extend(p for p in validate(data, last) if p.path not in seen)
    return data, problems
