"""Report data from whatever file a user gives where report data is expected (``validate``, ``render``,
``batch``, the service): told apart by content, not by name.

JSON is read strictly (:mod:`docxreport.report.jsonfile`); an Excel workbook in the national layout
(:mod:`docxreport.xlsx`) is report data too. A finished report (Word, PDF, web page) is not
report data: :class:`WrongKindError` says what the file is and which command reads it.
"""

from __future__ import annotations

import os
from typing import IO, Any

from .errors import ReportFileError
from .files import read_input
from .filetypes import describe, sniff
from .problems import Problem
from .report.jsonfile import parse_json
from .report.validation import check_read

Source = str | os.PathLike[str] | IO[bytes] | bytes

#: What to do with a finished report given where report data is expected.
_ADVICE = {
    "docx": "要读取其中的数据请用 docxreport extract",
    "doc": "要读取其中的数据请用 docxreport extract",
    "wps": "要读取其中的数据请用 docxreport extract",
    "odt": "要读取其中的数据请用 docxreport extract",
    "rtf": "要读取其中的数据请用 docxreport extract",
    "pdf": "要读取其中的数据请用 docxreport extract",
    "html": "要读取其中的数据请用 docxreport extract",
    "encrypted": "请在 Excel、Word 或 WPS 中打开它，取消打开密码后另存，再试",
}


class WrongKindError(ReportFileError):
    """A file that is not report data at all (a Word document, a PDF …), named by what it is."""

    def __init__(self, name: str, kind: str) -> None:
        self.kind = kind
        advice = _ADVICE.get(kind, "报告数据应为 JSON 文件（可用 docxreport init 生成骨架）")
        super().__init__(f"{name}: 这是{spaced(describe(kind))}，不是报告数据；{advice}")


def spaced(what: str) -> str:
    """A kind's name after Chinese text: a space before a Latin one (这是 Word 文档, 这是网页)."""
    return f" {what}" if what[:1].isascii() else what


def source_bytes(source: Source) -> bytes:
    """The bytes of a path, a binary file object or bytes (:class:`ReportFileError` when unreadable)."""
    if isinstance(source, bytes):
        return source
    if hasattr(source, "read"):
        return source.read()  # type: ignore[union-attr,no-any-return]
    return read_input(source)  # type: ignore[arg-type]


def read_data(source: Source, name: str = "<报告>") -> tuple[Any, list[Problem]]:
    """Report data from ``source`` (JSON or a workbook): ``(data, problems)`` as
    :func:`docxreport.report.jsonfile.read_json` gives them (``data`` None when unreadable); a workbook's
    problems name the sheet and cell. Raises :class:`WrongKindError` for a file that is
    recognisably something else (a Word document, a PDF, a web page)."""
    raw = source_bytes(source)
    kind = sniff(raw, name)
    if kind in ("json", "text", "empty", "unknown"):  # text and unknown bytes: the JSON reader says what is wrong
        return parse_json(raw)
    if kind == "xlsx":  # a workbook in the national layout: its problems name the sheet and cell
        from .errors import NotAReportError
        from .xlsx.reader import read_workbook

        try:
            return read_workbook(raw, name)
        except NotAReportError as exc:
            raise ReportFileError(str(exc)) from None
    raise WrongKindError(name, kind)


def read_previous(source: Source, name: str = "<上年报告>") -> tuple[Any, list[Problem]]:
    """Last year's report for the cross-year rules: report data (JSON, a workbook), or the finished report
    itself (.docx, PDF, web page, .doc …, read back). What reading a finished report met is a warning here:
    it is last year's, and this year's report is what is being checked."""
    raw = source_bytes(source)
    try:
        return read_data(raw, name)
    except WrongKindError:
        pass
    from dataclasses import replace

    from .errors import NotAReportError
    from .reading import read_any

    try:
        data, problems = read_any(raw, name)
    except NotAReportError as exc:
        raise ReportFileError(str(exc)) from None
    return data, [replace(p, severity="warning") for p in problems]


def check_data(source: Source, name: str = "<报告>", previous: Source | None = None,
               previous_name: str = "<上年报告>") -> tuple[Any, list[Problem]]:
    """Read report data (and last year's) with :func:`read_data` and validate it: ``(data, problems)`` as
    :func:`docxreport.report.validation.check_source` gives them. Raises :class:`WrongKindError` when
    either file is recognisably something else, :class:`ReportFileError` when it cannot be read."""
    read = read_data(source, name)
    last = read_previous(previous, previous_name) if previous is not None else None
    return check_read(read, last)
