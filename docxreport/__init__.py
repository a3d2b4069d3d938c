"""docxreport: structured JSON → finished, official-style Word reports (政府信息公开工作年度报告).

The public API::

    import docxreport
    data = docxreport.load("report.json")      # strict JSON reading
    problems = docxreport.validate(data)        # schema + consistency rules, all at once
    docxreport.render(data, "report.docx")      # validates first, then writes the .docx
    docxreport.render_html(data, "report.html") # the same report as a self-contained web page
    data, problems = docxreport.extract("published.pdf")  # a published report (.docx, PDF, web page, URL …) → data

Rendering imports python-docx and docxtpl lazily, so validation and the CLI start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import DocxReportError, InvalidReportError, ReportFileError, TemplateError
from .problems import Problem
from .report.schema import load_schema
from .report.validation import load, validate

if TYPE_CHECKING:
    from .docx.renderer import render
    from .html.writer import render_html
    from .reading import extract

__version__ = "0.1.0"

__all__ = [
    "DocxReportError",
    "InvalidReportError",
    "Problem",
    "ReportFileError",
    "TemplateError",
    "extract",
    "load",
    "load_schema",
    "render",
    "render_html",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name == "render":
        from .docx.renderer import render

        return render
    if name == "render_html":
        from .html.writer import render_html

        return render_html
    if name == "extract":
        from .reading import extract

        return extract
    raise AttributeError(f"module 'docxreport' has no attribute {name!r}")
