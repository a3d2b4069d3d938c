"""What the service's worker processes run (:mod:`docxreport.web.workers`): validate, render, extract, PDF.

Plain functions of picklable arguments; each worker process builds its renderer (and, on the first PDF, its
warm :class:`~docxreport.pdf.office.Office`) once in :func:`start_worker`. Errors for the client are raised
as :class:`~docxreport.web.service.ApiError`; anything else is an internal error the server logs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DocxReportError, NotAReportError
from ..problems import Problem, has_errors, report_json
from ..report.jsonfile import dumps
from .service import ApiError, content_disposition, report_file_name
from .workers import state

BODY_NAME = "<请求正文>"  # the "file" of validate --format json, for a request body


def start_worker(renderer: Callable[[], Any] | None, pdf_memory: int | None) -> None:
    """A worker's initializer: its renderer, with the bundled template prepared (the first render is fast)."""
    from ..docx.renderer import Renderer

    made = renderer() if renderer is not None else Renderer()
    jobs = state()
    jobs["renderer"] = made
    jobs["pdf_memory"] = pdf_memory
    jobs["close"] = close_worker
    try:
        made.prepare()
    except Exception:  # a broken installation shows in the first request's error
        pass


def close_worker() -> None:
    office = state().pop("office", None)
    if office is not None:
        office.close()


def start_office() -> bool:
    """Start this worker's warm office now; False when it cannot (conversions then start LibreOffice each time)."""
    return _office().start()


def _office() -> Any:
    from ..pdf.office import Office
    from ..pdf.warm import DEFAULT_MEMORY

    jobs = state()
    office = jobs.get("office")
    if office is None:
        office = jobs["office"] = Office(memory=jobs.get("pdf_memory") or DEFAULT_MEMORY)  # OfficeNotFoundError
    return office


def _unreadable(problems: list[Problem]) -> ApiError:
    first = problems[0] if problems else None
    where = f"（{first.location}：{first.message}）" if first else ""
    return ApiError(400, "invalid-json", "请求正文不是有效的 JSON", f"无法读取报告 JSON{where}", problems)


def _invalid(problems: list[Problem]) -> ApiError:
    errors = sum(p.severity == "error" for p in problems)
    return ApiError(422, "invalid-report", "报告内容有误", f"报告内容有 {errors} 处错误，未生成文档", problems)


def check(body: bytes) -> tuple[Any, list[Problem]]:
    """Read and validate a request body like a report file (JSON or a workbook, told by content):
    (data, problems); 400 when it is not JSON, 415 when it is a finished report rather than report data."""
    from ..filetypes import describe
    from ..sources import WrongKindError, check_data, spaced

    try:
        data, problems = check_data(body, "请求正文")
    except WrongKindError as exc:  # a Word file, a PDF … posted as report data
        advice = "；要读取其中的数据请用 POST /v1/extract" if exc.kind in _EXTRACT_KINDS else "；报告数据应为 JSON"
        raise ApiError(415, "unsupported-media-type", "不支持的内容类型",
                       f"请求正文是{spaced(describe(exc.kind))}，不是报告数据{advice}") from None
    if data is None and any(p.line is not None for p in problems):  # not JSON at all (null is JSON)
        raise _unreadable(problems)
    return data, problems


#: The media type of ``{"report": …, "previous": …}`` for ``/v1/validate``: a report with last year's report.
WITH_PREVIOUS = "application/vnd.docxreport.with-previous+json"


def _check_with_previous(body: bytes) -> tuple[Any, list[Problem]]:
    """:func:`check` of ``{"report": …, "previous": …}``: the report checked with last year's report for the
    cross-year rules, its problems at the report's own paths (last year's problems say 上年报告)."""
    from ..report.jsonfile import parse_json
    from ..report.validation import check_source

    data, problems = parse_json(body)
    if data is None and any(p.line is not None for p in problems):
        raise _unreadable(problems)
    if not (isinstance(data, dict) and "report" in data and set(data) <= {"report", "previous"}) or problems:
        raise ApiError(400, "bad-request-body", "请求正文无效",
                       f'{WITH_PREVIOUS} 的正文应为 {{"report": 报告, "previous": 上年报告}}', problems)
    previous = data.get("previous")
    return check_source(dumps(data["report"]).encode("utf-8"),
                        None if previous is None else dumps(previous).encode("utf-8"))


def validate_job(body: bytes, with_previous: bool = False) -> str:
    """The body of a validate response (``with_previous``: the body is ``{"report", "previous"}``)."""
    _, problems = _check_with_previous(body) if with_previous else check(body)
    return report_json(BODY_NAME, problems)


def render_job(body: bytes, fonts: str, pdf: bool, pdfa: bool, pdf_time_limit: float) -> tuple[bytes, str, int]:
    """(document, Content-Disposition, number of warnings) for a render request."""
    data, problems = check(body)
    if has_errors(problems):
        raise _invalid(problems)
    document = state()["renderer"].render(data, fonts=fonts)
    assert document is not None
    name = report_file_name(data, ".pdf" if pdf else ".docx")
    if pdf:
        document = to_pdf(document, pdfa, pdf_time_limit)
    year = data.get("year")
    return document, content_disposition(name, f"report-{year}" if isinstance(year, int) else "report"), len(problems)


def render_html_job(body: bytes) -> tuple[bytes, str, int]:
    """(web page, Content-Disposition, number of warnings) for a render request with ``format=html``."""
    from ..html.writer import write_html

    data, problems = check(body)
    if has_errors(problems):
        raise _invalid(problems)
    year = data.get("year")
    name = report_file_name(data, ".html")
    page = write_html(data).encode("utf-8")
    return page, content_disposition(name, f"report-{year}" if isinstance(year, int) else "report"), len(problems)


def render_xlsx_job(body: bytes) -> tuple[bytes, str, int, int]:
    """(workbook, Content-Disposition, errors, warnings) for a render request with ``format=xlsx``: report
    data, so a report with errors is written as it is (its problems show again when the workbook is read);
    422 only when the workbook cannot hold the data (:func:`docxreport.xlsx.writer.unwritable`)."""
    from ..xlsx.writer import workbook_of

    data, problems = check(body)
    workbook, misfits = workbook_of(data)
    if workbook is None:
        raise ApiError(422, "cannot-convert", "无法写入工作簿", f"报告数据有 {len(misfits)} 处无法写入工作簿，未生成", misfits)
    year = data.get("year") if isinstance(data, dict) else None
    name = report_file_name(data, ".xlsx")
    errors = sum(p.severity == "error" for p in problems)
    disposition = content_disposition(name, f"report-{year}" if isinstance(year, int) else "report")
    return workbook, disposition, errors, len(problems) - errors


def to_pdf(document: bytes, pdfa: bool, timeout: float) -> bytes:
    """Convert one .docx (bytes) to PDF bytes in this worker's office; 503 when LibreOffice cannot."""
    try:
        office = _office()
        with tempfile.TemporaryDirectory(prefix="docxreport-serve-") as folder:
            source = Path(folder) / "report.docx"
            source.write_bytes(document)
            result = office.convert([source], timeout=timeout, pdfa=pdfa)[source]
            if isinstance(result, str):
                raise ApiError(503, "pdf-unavailable", "无法生成 PDF", result)
            return Path(result).read_bytes()
    except DocxReportError as exc:  # LibreOffice is not installed
        raise ApiError(503, "pdf-unavailable", "无法生成 PDF", str(exc)) from None


#: Bodies /v1/extract reads, told by content (LibreOffice conversions of .doc, .wps … are not offered here).
_EXTRACT_KINDS = ("docx", "pdf", "html")


def extract_job(document: bytes) -> str:
    """The body of an extract response: a published .docx, PDF or web page read back, or the report data of
    a workbook in the national layout (what the workbench opens)."""
    from ..errors import ReportFileError
    from ..filetypes import describe, sniff
    from ..reading import read_any
    from ..sources import read_data

    kind = sniff(document, "上传的文件")
    if kind not in _EXTRACT_KINDS and kind != "xlsx":
        raise ApiError(422, "not-a-report", "不是年度报告",
                       f"上传的文件: 这是{describe(kind)}，服务只读取 .docx、PDF、网页和 Excel 工作簿（.doc、.wps 等请先另存为 .docx）")
    try:
        data, problems = read_data(document, "上传的工作簿") if kind == "xlsx" else read_any(document, "上传的文件")
    except (NotAReportError, ReportFileError) as exc:
        raise ApiError(422, "not-a-report", "不是年度报告", str(exc)) from None
    return dumps({"data": data, "problems": [p.to_dict() for p in problems]})
