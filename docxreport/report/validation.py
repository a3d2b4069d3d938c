"""``validate``: the JSON Schema and the consistency rules, all problems at once."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidReportError
from ..format import load_format
from ..problems import Problem, Severity
from . import narrative, readback, rules
from .jsonfile import Source, read_json
from .schema import schema_problems


def validate(data: Any, previous: Any = None) -> list[Problem]:
    """Check report data against the schema and the consistency rules (勾稽关系).

    ``data`` is the parsed JSON (a dict); ``previous`` optionally last year's report, for the cross-year
    rule. Returns every problem found, errors and warnings, each with its JSON path; an empty list means
    the report is valid. Absent totals are computed, never reported.

    The narrative rules (:mod:`~docxreport.report.narrative`: counts in the text against the tables,
    placeholders left in, copied text and table 二 continuity against last year) add warnings only.
    """
    fmt = load_format()
    problems = schema_problems(data, fmt)
    problems.extend(rules.check(data, fmt, previous))
    problems.extend(readback.read_back(data, fmt)[1])  # what the printed report will not keep
    wrong = {p.json_path for p in problems if p.severity == "error"}
    problems.extend(narrative.check(data, fmt, previous, doubtful=wrong))
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
    """Read and validate a report JSON file (and last year's): ``(data, problems)``.

    ``data`` is None when the text could not be read as JSON; those problems carry a line and column.
    (:func:`docxreport.sources.check_data` reads workbooks and last year's published report too.)

    Problems found while reading come first; a schema problem at a path the reader already reported
    (a NaN, a duplicate key) is not repeated.
    """
    data, problems = read_json(source)
    return check_read((data, problems), read_json(previous) if previous is not None else None)


def check_read(read: tuple[Any, list[Problem]], previous: tuple[Any, list[Problem]] | None = None) -> tuple[Any, list[Problem]]:
    """:func:`check_source` for report data already read: ``read`` (and ``previous``) as
    :func:`~docxreport.report.jsonfile.read_json` returns them (a reader of other files returns the same)."""
    data, problems = read[0], list(read[1])
    unreadable = bool(problems) and data is None  # the JSON value null is readable, and validated below
    seen = {p.path for p in problems}  # this file's only: last year's problems must not hide this year's
    last = None
    if previous is not None:
        last, last_problems = previous
        problems.extend(previous_problems(last_problems))
    if unreadable:
        return None, problems
    problems.extend(p for p in validate(data, last) if p.path not in seen)
    return data, problems
