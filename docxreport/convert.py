"""Report data between its files: JSON, an Excel workbook, and finished reports read back.

``convert`` reads report data from any file a user has (told by content: JSON, a workbook in the national
layout, or a finished report that :func:`docxreport.extract` reads) and gives it as JSON text or as a
workbook. The interfaces write the result (atomically, never over the input).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Literal

from .errors import NotAReportError, ReportFileError
from .filetypes import describe, sniff
from .problems import Problem
from .report.jsonfile import dumps, parse_json
from .report.schema import schema_problems
from .report.validation import validate
from .sources import Source, source_bytes

Target = Literal["json", "xlsx"]
TARGETS: dict[str, Target] = {".json": "json", ".xlsx": "xlsx"}

#: Kinds that are finished reports, read back by :func:`docxreport.extract`.
_REPORTS = {"docx", "doc", "wps", "odt", "rtf", "pdf", "html"}


@dataclass
class Converted:
    """The converted file, what kind the input was (``"unreadable"`` when it could not be read as report
    data at all, e.g. a JSON syntax error), and the problems met: reading a workbook or a finished
    report (with the sheet and cell or place), or validating JSON. ``content`` is None when the input could
    not be converted (its data did not fit the format's types: see ``problems``)."""

    content: bytes | None
    source_kind: str
    problems: list[Problem]


def read_any(source: Source, name: str = "<报告>") -> tuple[Any, list[Problem], str]:
    """Report data from any file: ``(data, problems, kind)``; ``data`` None when the file is not readable
    as report data (the problems say why). Raises :class:`~docxreport.errors.ReportFileError` for a file
    that holds no report data at all."""
    raw = source_bytes(source)
    kind = sniff(raw, name)
    if kind in ("json", "text", "empty", "unknown"):
        data, problems = parse_json(raw)
        if data is None and problems:
            return None, problems, kind
        return data, problems + validate(data), "json"
    if kind == "xlsx":
        from .xlsx.reader import read_workbook

        try:
            data, problems = read_workbook(raw, name)
        except NotAReportError as exc:
            raise ReportFileError(str(exc)) from None
        return data, problems, kind
    if kind in _REPORTS:
        from . import extract

        named = io.BytesIO(raw)
        named.name = name  # type: ignore[attr-defined]
        try:
            data, problems = extract(named)
        except NotAReportError as exc:
            raise ReportFileError(str(exc)) from None
        return data, problems, kind
    raise ReportFileError(f"{name}: 这是{describe(kind)}，无法从中读取报告数据")


def convert(source: Source, target: Target, name: str = "<报告>") -> Converted:
    """Report data in ``source`` (JSON, a workbook, a finished report) as ``target`` (``"json"`` text or an
    ``"xlsx"`` workbook).

    Data whose values do not fit the format's types (text where a number belongs …) is not converted to
    a workbook: ``content`` is None and the problems say where. Consistency problems (勾稽关系) do not
    stop conversion: a total that does not add up is written as it is, for the clerk to correct.
    """
    data, problems, kind = read_any(source, name)
    if data is None:
        return Converted(None, "unreadable", problems)
    if target == "json":
        return Converted(dumps(data).encode("utf-8"), kind, problems)
    if schema_problems(data):
        return Converted(None, kind, problems if kind == "json" else problems + schema_problems(data))
    from .xlsx.writer import WorkbookTextError, write_workbook

    try:
        return Converted(write_workbook(data), kind, problems)
    except WorkbookTextError as exc:
        raise ReportFileError(str(exc)) from None


__all__ = ["TARGETS", "Converted", "Target", "convert", "read_any"]
