"""What the service's worker processes run (:mod:`docxreport.web.workers`): validate, render, extract, PDF.

Plain functions of picklable arguments; each worker process builds its renderer (and, on the first PDF, its
warm :class:`~docxreport.pdf.office.Office`) once in :func:`start_worker`. Errors for the client are raised
as :class:`~docxreport.web.service.ApiError`; anything else is an internal error the server logs.
"""

from __future__ import annotations

import io
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
    """Read and validate a request body like a report file: (data, problems); 400 when it is not JSON."""
    from ..report.validation import check_source

    data, problems = check_source(body)
    if data is None and any(p.line is not None for p in problems):  # not JSON at all (null is JSON)
        raise _unreadable(problems)
    return data, problems


def validate_job(body: bytes) -> str:
    """The body of a validate response."""
    _, problems = check(body)
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


def extract_job(document: bytes) -> str:
    """The body of an extract response."""
    from ..docx.reader import extract as extract_docx

    upload = io.BytesIO(document)
    upload.name = "上传的文件"
    try:
        data, problems = extract_docx(upload)
    except NotAReportError as exc:
        raise ApiError(422, "not-a-report", "不是年度报告", str(exc)) from None
    return dumps({"data": data, "problems": [p.to_dict() for p in problems]})
