"""The one exception hierarchy of docxreport.

Every error the library raises on purpose is a :class:`DocxReportError`; the CLI turns them into messages
and exit codes, so a user mistake never ends in a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .problems import Problem


class DocxReportError(Exception):
    """Base class of every error docxreport raises deliberately."""


class ReportFileError(DocxReportError):
    """A file could not be read or written at all (missing, a directory, no permission)."""


class InvalidReportError(DocxReportError):
    """The report content has problems; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[Problem], message: str | None = None) -> None:
        self.problems = list(problems)
        errors = sum(1 for p in self.problems if p.severity == "error")
        super().__init__(message or f"报告内容有 {errors} 处错误")


class TemplateError(DocxReportError):
    """A template is unusable: not a .docx, a bad tag, an unknown variable, a forbidden operation."""


class NotAReportError(DocxReportError):
    """A document that is not a 政府信息公开工作年度报告 at all."""
