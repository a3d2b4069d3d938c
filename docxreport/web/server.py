"""The HTTP service (``docxreport serve``): the public API over HTTP for OA systems.

``create_app(settings)`` builds a FastAPI application; nothing lives at module level, so tests and embedders
make as many as they like. Endpoints::

    POST /v1/render     report JSON → .docx (or PDF: ?format=pdf or Accept: application/pdf)
    POST /v1/validate   report JSON → the problems, shaped as ``docxreport validate --format json``
    POST /v1/extract    a report .docx (multipart field ``file``, or the raw body) → {data, problems}
    GET  /v1/schema     the content JSON Schema
    GET  /healthz       liveness
    GET  /openapi.json  OpenAPI 3.1, with the content schema (Chinese titles) as the request body; /docs

Every error is ``application/problem+json`` (RFC 9457) with our ``problems`` list; no stack trace ever
reaches a client. Bodies are limited while they are read, work runs in a bounded :class:`JobPool` with a
time limit, and each request is logged as one line on the ``docxreport.server`` logger.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import inspect
import json
import logging
import logging.config
import queue
import socket
import tempfile
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from .. import __version__
from ..docx.renderer import Renderer
from ..errors import DocxReportError, NotAReportError
from ..problems import Problem, has_errors, report_json
from ..report.jsonfile import dumps
from ..report.schema import load_schema
from .service import (
    DOCX_MEDIA_TYPE,
    PDF_MEDIA_TYPE,
    ApiError,
    JobPool,
    JobTimeout,
    Overloaded,
    Settings,
    body_too_large,
    content_disposition,
    http_error,
    overloaded,
    report_file_name,
    timed_out,
)

try:  # /v1/extract parses multipart uploads; named python_multipart since 0.0.13
    import python_multipart  # noqa: F401
except ImportError:
    import multipart  # noqa: F401

LOGGER = logging.getLogger("docxreport.server")
PROBLEM_MEDIA_TYPE = "application/problem+json"
BODY_NAME = "<请求正文>"  # the "file" of validate --format json, for a request body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# --------------------------------------------------------------------------- responses


def problem_response(error: ApiError, instance: str | None = None) -> JSONResponse:
    """An RFC 9457 response for ``error``."""
    return JSONResponse(error.to_dict(instance), status_code=error.status, headers=dict(error.headers),
                        media_type=PROBLEM_MEDIA_TYPE)


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="application/json")


# --------------------------------------------------------------------------- request log


class RequestLog:
    """ASGI middleware: one log line per request (method, path, status, duration, bytes in and out)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, received, sent = 500, 0, 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            LOGGER.info("%s %s %d %.1fms in=%dB out=%dB", _printable(scope.get("method", "-")),
                        _printable(scope.get("path", "-")), status, (time.perf_counter() - started) * 1000, received, sent)


def _printable(text: str) -> str:
    """Text for a log line: a decoded path may hold a newline (%0A) that would forge a second line."""
    return "".join(c if c.isprintable() and c != " " else f"\\x{ord(c):02x}" for c in text[:300])


# --------------------------------------------------------------------------- reading requests


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _require_json(request: Request) -> None:
    kind = _media_type(request)
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")):
        raise ApiError(415, "unsupported-media-type", "不支持的内容类型",
                       f"请求正文应为报告 JSON（Content-Type: application/json），实际为 {kind or '未指定'}")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (declared or received)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


#: Bodies /v1/extract reads, told by content (the Content-Type is only checked not to say JSON or a form).
_EXTRACT_KINDS = ("docx", "pdf", "html")


def _require_upload(request: Request) -> None:
    """415 unless the request carries a published report: multipart/form-data, or the report (.docx, PDF,
    web page) as the body, whatever binary or HTML type it is declared as."""
    kind = _media_type(request)
    if kind == "application/x-www-form-urlencoded" or kind == "application/json" or kind.endswith("+json"):
        raise ApiError(415, "unsupported-media-type", "不支持的内容类型",
                       f"请以 multipart/form-data（字段 file）或直接以 .docx、PDF、网页作为请求正文上传报告，实际为 {kind or '未指定'}")


async def _uploaded_docx(request: Request, body: bytes) -> bytes:
    """The .docx of an extract request: the multipart field ``file``, or the body itself."""
    if _media_type(request) != "multipart/form-data":
        return body

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(request.headers, stream(), max_files=1, max_fields=8,
                                     max_part_size=len(body) + 1).parse()
    except MultiPartException as exc:
        raise ApiError(400, "bad-multipart", "上传内容无效", f"multipart/form-data 无法解析：{exc.message}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "missing-file", "缺少文件", "multipart/form-data 中没有名为 file 的文件字段")
        return await upload.read()
    finally:
        await form.close()


def _wants_pdf(request: Request, format_: str | None) -> bool:
    """PDF when ``?format=pdf``, or when the Accept header prefers application/pdf to the .docx type."""
    if format_ is not None:
        return format_ == "pdf"
    accept = request.headers.get("accept")
    if not accept:
        return False
    quality = {DOCX_MEDIA_TYPE: 0.0, PDF_MEDIA_TYPE: 0.0}
    specific = {DOCX_MEDIA_TYPE: -1, PDF_MEDIA_TYPE: -1}  # how specific the range that set it was
    for item in accept.split(","):
        kind, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = kind.lower()
        for media_type in quality:
            rank = 2 if kind == media_type else 1 if kind == "application/*" else 0 if kind == "*/*" else -1
            if rank > specific[media_type]:
                quality[media_type], specific[media_type] = q, rank
    if quality[DOCX_MEDIA_TYPE] <= 0 and quality[PDF_MEDIA_TYPE] <= 0:
        raise ApiError(406, "not-acceptable", "无法提供所要求的格式",
                       f"本接口返回 {DOCX_MEDIA_TYPE} 或 {PDF_MEDIA_TYPE}，请求的 Accept 为 {accept}")
    return quality[PDF_MEDIA_TYPE] > quality[DOCX_MEDIA_TYPE]


# --------------------------------------------------------------------------- the work (in worker threads)


def _unreadable(problems: list[Problem]) -> ApiError:
    first = problems[0] if problems else None
    where = f"（{first.location}：{first.message}）" if first else ""
    return ApiError(400, "invalid-json", "请求正文不是有效的 JSON", f"无法读取报告 JSON{where}", problems)


def _invalid(problems: list[Problem]) -> ApiError:
    errors = sum(p.severity == "error" for p in problems)
    return ApiError(422, "invalid-report", "报告内容有误", f"报告内容有 {errors} 处错误，未生成文档", problems)


def _check(body: bytes) -> tuple[Any, list[Problem]]:
    """Read and validate a request body like a report file: (data, problems); 400 when it is not JSON."""
    from ..report.validation import check_source

    data, problems = check_source(body)
    if data is None and any(p.line is not None for p in problems):  # not JSON at all (null is JSON)
        raise _unreadable(problems)
    return data, problems


class Offices:
    """LibreOffice converters for the worker threads: one :class:`~docxreport.pdf.Office` (with its own
    profile) per thread at a time, created on first use and reused, all closed with :meth:`close`."""

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def to_pdf(self, document: bytes, name: str, timeout: float) -> bytes:
        """Convert one .docx (bytes) to PDF bytes; ConversionError when LibreOffice produced nothing."""
        from ..pdf.office import ConversionError, Office

        try:
            office = self._idle.get_nowait()
        except queue.Empty:
            office = Office()  # OfficeNotFoundError when LibreOffice is missing
            with self._lock:
                self._all.append(office)
        try:
            with tempfile.TemporaryDirectory(prefix="docxreport-serve-") as folder:
                source = Path(folder) / f"{name}.docx"
                source.write_bytes(document)
                result = office.convert([source], timeout=timeout)[source]
                if isinstance(result, str):
                    raise ConversionError(result)
                return Path(result).read_bytes()
        finally:
            self._idle.put(office)

    def close(self) -> None:
        with self._lock:
            offices, self._all = self._all, []
        for office in offices:
            office.close()


def _pdf_unavailable(exc: DocxReportError) -> ApiError:
    return ApiError(503, "pdf-unavailable", "无法生成 PDF", str(exc))


# --------------------------------------------------------------------------- OpenAPI


def _problem_schema() -> dict[str, Any]:
    return {
        "title": "错误说明（RFC 9457）",
        "type": "object",
        "required": ["type", "title", "status", "detail", "problems"],
        "properties": {
            "type": {"type": "string", "description": "问题类型，如 urn:docxreport:problem:invalid-report"},
            "title": {"type": "string", "description": "问题类型的简短说明"},
            "status": {"type": "integer", "description": "HTTP 状态码"},
            "detail": {"type": "string", "description": "本次请求的具体说明"},
            "instance": {"type": "string", "description": "请求路径"},
            "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"},
                         "description": "报告中的问题（JSON 路径或行列位置）；与 docxreport validate --format json 相同"},
        },
    }


def _report_problem_schema() -> dict[str, Any]:
    return {
        "title": "报告中的一个问题",
        "type": "object",
        "required": ["path", "rule", "severity", "message"],
        "properties": {
            "path": {"type": "string", "description": "JSON 路径，如 requests.received.total；$ 为整个文档"},
            "rule": {"type": "string", "description": "规则标识，如 schema.type、row_total、json.syntax"},
            "severity": {"type": "string", "enum": ["error", "warning"], "description": "error 为错误，warning 为警告"},
            "message": {"type": "string", "description": "中文说明，带有相关数字"},
            "line": {"type": "integer", "description": "JSON 文本中的行号（语法、编码问题）"},
            "column": {"type": "integer", "description": "JSON 文本中的列号"},
        },
    }


def _validation_schema() -> dict[str, Any]:
    return {
        "title": "校验结果（与 docxreport validate --format json 相同）",
        "type": "object",
        "required": ["file", "valid", "errors", "warnings", "problems"],
        "properties": {
            "file": {"type": "string"},
            "valid": {"type": "boolean", "description": "没有错误时为 true（可以有警告）"},
            "errors": {"type": "integer"},
            "warnings": {"type": "integer"},
            "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
        },
    }


def _extract_schema() -> dict[str, Any]:
    return {
        "title": "读取结果",
        "type": "object",
        "required": ["data", "problems"],
        "properties": {
            "data": {"type": "object", "description": "报告内容，结构同 AnnualReport；文档不完整时可能缺少部分内容"},
            "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"},
                         "description": "读取中遇到的格式变体（警告）和无法读取的内容（错误）"},
        },
    }


def content_schema_components(schema: dict[str, Any]) -> dict[str, Any]:
    """The content JSON Schema as OpenAPI components: the root as ``AnnualReport``, each ``$defs`` entry as
    ``AnnualReport_<name>``, references rewritten to match (OpenAPI resolves ``#`` from its own root)."""
    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: rewrite(v) for k, v in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                out["$ref"] = "#/components/schemas/AnnualReport_" + ref[len("#/$defs/"):]
            return out
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    schema = copy.deepcopy(schema)
    defs = schema.pop("$defs", {})
    root = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    components = {"AnnualReport": rewrite(root)}
    components.update({f"AnnualReport_{name}": rewrite(value) for name, value in defs.items()})
    return components


def _problem_responses(*statuses: int) -> dict[int | str, Any]:
    notes = {
        400: "请求正文不是有效的 JSON（problems 中给出行号和列号）或上传内容无法解析",
        401: "缺少或错误的 API 密钥（仅在服务端设置了 DOCXREPORT_API_KEY 时）",
        408: "时限内未收到完整的请求正文",
        406: "Accept 中既没有 .docx 也没有 PDF",
        413: "请求正文超过上限",
        415: "Content-Type 不受支持",
        422: "内容有误（problems 中给出每个问题的 JSON 路径）",
        503: "服务繁忙、处理超时或无法生成 PDF；请按 Retry-After 稍后重试",
    }
    out: dict[int | str, Any] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": notes[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        }
        if status == 503:
            response["headers"] = {"Retry-After": {"description": "建议等待的秒数", "schema": {"type": "integer"}}}
        out[status] = response
    return out


def _json_body(description: str) -> dict[str, Any]:
    from ..report.skeleton import skeleton

    example = {"summary": "可直接生成的骨架（docxreport init 的输出）", "value": skeleton("某某县自然资源局", 2024)}
    return {"requestBody": {"required": True, "description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/AnnualReport"}, "examples": {"skeleton": example}}}}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """OpenAPI 3.1 for ``app``, with the content schema and the error shapes as components."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(content_schema_components(load_schema()))
    components["Problem"] = _report_problem_schema()
    components["ProblemDetails"] = _problem_schema()
    components["ValidationReport"] = _validation_schema()
    components["ExtractResult"] = _extract_schema()
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = document
    return document


# --------------------------------------------------------------------------- the application


DESCRIPTION = """\
把报告 JSON 生成为政府信息公开工作年度报告（.docx 或 PDF），校验报告数据，读取已成文的报告。

- 报告 JSON 的结构见 `AnnualReport`（每个字段带国家格式中的中文名称），也可从 `GET /v1/schema` 取得。
- 所有错误以 `application/problem+json`（RFC 9457）返回，`problems` 中列出报告的每个问题及其 JSON 路径。
- 设置了 `DOCXREPORT_API_KEY` 时，`/v1/` 下的请求须带 `X-API-Key: 密钥` 或 `Authorization: Bearer 密钥`。
"""


def create_app(settings: Settings | None = None, *, renderer: Renderer | None = None) -> FastAPI:
    """Build the service. ``settings`` default to :meth:`Settings.from_env`; ``renderer`` to a new
    :class:`~docxreport.renderer.Renderer` (its template cache is this application's own)."""
    settings = settings if settings is not None else Settings.from_env()
    renderer = renderer if renderer is not None else Renderer()
    jobs = JobPool(settings.max_concurrency, settings.max_queue)
    offices = Offices()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await jobs.run(renderer.prepare, timeout=max(settings.time_limit, 60.0))  # the first render is fast too
        except Exception:  # a broken installation shows in the first request's error, not as a crash here
            LOGGER.exception("无法预先准备模板")
        yield
        jobs.close()
        offices.close()

    app = FastAPI(title="docxreport", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  openapi_url="/openapi.json", docs_url="/docs", redoc_url=None)
    app.state.settings = settings

    async def run(function: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        limit = timeout if timeout is not None else settings.time_limit
        try:
            return await jobs.run(function, *args, timeout=limit)
        except Overloaded:
            raise overloaded(settings.retry_after) from None
        except JobTimeout:
            raise timed_out(limit, settings.retry_after) from None

    async def receive(request: Request) -> bytes:
        """The body within the size limit and the time limit (a client that stalls mid-body gets 408)."""
        try:
            return await asyncio.wait_for(read_body(request, settings.max_body_bytes), settings.time_limit)
        except asyncio.TimeoutError:
            raise ApiError(408, "body-timeout", "请求正文接收超时",
                           f"{settings.time_limit:g} 秒内未收到完整的请求正文") from None

    # ---------------------------------------------------------------- errors

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else None
        if exc.status_code == 404:
            detail = f"没有这个地址：{request.url.path}"
        elif exc.status_code == 405:
            detail = f"{request.url.path} 不支持 {request.method} 请求"
        return problem_response(http_error(exc.status_code, detail, exc.headers), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            Problem(tuple(str(p) for p in error.get("loc", ())), "http.parameter", f"参数无效：{error.get('msg', '')}")
            for error in exc.errors()
        ]
        return problem_response(ApiError(400, "bad-parameter", "请求参数无效", "请求参数无效", problems), request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        LOGGER.error("处理 %s %s 时出错", request.method, request.url.path, exc_info=exc)
        return problem_response(http_error(500, "服务器内部错误，已记录日志"), request.url.path)

    # ---------------------------------------------------------------- authentication

    dependencies: list[Any] = []
    if settings.api_key is not None:
        expected = settings.api_key.encode("utf-8")
        key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API 密钥")
        bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer 密钥")

        async def require_key(key: str | None = Depends(key_header),
                              credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
            given = key if key is not None else credentials.credentials if credentials is not None else None
            # header values arrive as Latin-1 text: compare their bytes with the key's UTF-8 bytes
            if given is None or not hmac.compare_digest(given.encode("latin-1", "replace"), expected):
                error = ApiError(401, "unauthorized", "未授权",
                                 "缺少或错误的 API 密钥：请在 X-API-Key 或 Authorization: Bearer 中提供",
                                 headers={"WWW-Authenticate": "Bearer"})
                raise error

        dependencies.append(Depends(require_key))

    v1 = APIRouter(prefix="/v1", dependencies=dependencies)

    # ---------------------------------------------------------------- endpoints

    @v1.post(
        "/render",
        summary="生成报告（.docx 或 PDF）",
        description="先校验，有错误时返回 422 和全部问题，不生成文档。返回的文件名（Content-Disposition）取自机关名称和年度。",
        response_class=Response,
        responses={
            200: {"description": "生成的报告", "content": {DOCX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                                                       PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
                  "headers": {"Content-Disposition": {"description": "attachment，文件名为 UTF-8（filename*）",
                                                      "schema": {"type": "string"}},
                              "X-Report-Warnings": {"description": "报告中的警告数", "schema": {"type": "integer"}}}},
            **_problem_responses(400, 401, 406, 408, 413, 415, 422, 503),
        },
        openapi_extra=_json_body("报告 JSON"),
    )
    async def render(
        request: Request,
        format_: Literal["docx", "pdf"] | None = Query(None, alias="format", description="docx（默认）或 pdf；也可用 Accept: application/pdf"),
        fonts: Literal["official", "windows"] = Query("official", description="official：公文字体（仿宋_GB2312 等）；windows：Windows 自带字体"),
    ) -> Response:
        _require_json(request)
        pdf = _wants_pdf(request, format_)
        body = await receive(request)

        def work() -> tuple[bytes, str, int]:
            data, problems = _check(body)
            if has_errors(problems):
                raise _invalid(problems)
            document = renderer.render(data, fonts=fonts)
            assert document is not None
            name = report_file_name(data, ".pdf" if pdf else ".docx")
            if pdf:
                from ..pdf.office import ConversionError, OfficeNotFoundError

                try:
                    document = offices.to_pdf(document, "report", settings.pdf_time_limit)
                except (OfficeNotFoundError, ConversionError) as exc:
                    raise _pdf_unavailable(exc) from None
            year = data.get("year")
            return document, content_disposition(name, f"report-{year}" if isinstance(year, int) else "report"), len(problems)

        document, disposition, warnings = await run(work, timeout=settings.pdf_time_limit if pdf else None)
        return Response(document, media_type=PDF_MEDIA_TYPE if pdf else DOCX_MEDIA_TYPE,
                        headers={"Content-Disposition": disposition, "X-Report-Warnings": str(warnings)})

    @v1.post(
        "/validate",
        summary="校验报告 JSON",
        description="返回全部问题，结构与 `docxreport validate --format json` 相同；报告有错误时 valid 为 false（状态码仍为 200）。",
        response_class=Response,
        responses={
            200: {"description": "校验结果", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationReport"}}}},
            **_problem_responses(400, 401, 408, 413, 415, 503),
        },
        openapi_extra=_json_body("报告 JSON（内容可以有误：本接口正是为了找出问题）"),
    )
    async def validate(request: Request) -> Response:
        _require_json(request)
        body = await receive(request)
        _, problems = await run(_check, body)
        return _json(report_json(BODY_NAME, problems))

    @v1.post(
        "/extract",
        summary="读取已发布的报告（.docx、PDF、网页）",
        description="上传 .docx、PDF（含文字层）或网页（multipart/form-data 的 file 字段，或直接作为请求正文；按内容识别），"
                    "返回报告数据和读取中发现的问题。",
        response_class=Response,
        responses={
            200: {"description": "读取结果", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExtractResult"}}}},
            **_problem_responses(400, 401, 408, 413, 415, 422, 503),
        },
        openapi_extra={"requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                               "properties": {"file": {"type": "string", "format": "binary", "description": "报告 .docx"}}}},
            DOCX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        }}},
    )
    async def extract(request: Request) -> Response:
        _require_upload(request)
        body = await receive(request)
        document = await _uploaded_docx(request, body)

        def work() -> str:
            from ..filetypes import describe, sniff
            from ..reading import read_any

            kind = sniff(document, "上传的文件")
            if kind not in _EXTRACT_KINDS:  # LibreOffice conversions (.doc, .wps …) are not offered by the service
                raise ApiError(422, "not-a-report", "不是年度报告",
                               f"上传的文件: 这是{describe(kind)}，服务只读取 .docx、PDF 和网页（.doc、.wps 等请先另存为 .docx）")
            try:
                data, problems = read_any(document, "上传的文件")
            except NotAReportError as exc:
                raise ApiError(422, "not-a-report", "不是年度报告", str(exc)) from None
            return dumps({"data": data, "problems": [p.to_dict() for p in problems]})

        return _json(await run(work))

    @v1.get(
        "/schema",
        summary="报告 JSON 的 JSON Schema",
        description="Draft 2020-12，每个字段带国家格式中的中文名称；与 `docxreport schema` 相同。",
        response_class=Response,
        responses={200: {"description": "JSON Schema", "content": {"application/json": {"schema": {"type": "object"}}}},
                   **_problem_responses(401)},
    )
    async def schema() -> Response:
        from ..report.schema import schema_json

        return _json(schema_json(load_schema()))

    app.include_router(v1)

    @app.get("/healthz", summary="存活检查", response_class=Response,
             responses={200: {"description": "服务正常", "content": {"application/json": {"schema": {
                 "type": "object", "required": ["status", "version"],
                 "properties": {"status": {"type": "string", "const": "ok"}, "version": {"type": "string"}}}}}}})
    async def healthz() -> Response:
        return _json(json.dumps({"status": "ok", "version": __version__}))

    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]

    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Authorization", "X-API-Key", "Accept"],
                           expose_headers=["Content-Disposition", "Retry-After", "X-Report-Warnings"])
    app.add_middleware(RequestLog)
    return app


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration plus the request log (``docxreport.*`` loggers, with timestamps).
    Given to uvicorn, so every worker process configures it the same way."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["docxreport"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["docxreport"] = {"class": "logging.StreamHandler", "formatter": "docxreport", "stream": "ext://sys.stderr"}
    config["loggers"]["docxreport"] = {"handlers": ["docxreport"], "level": "INFO", "propagate": False}
    return config


class _Config(uvicorn.Config):
    """uvicorn's configuration, with ``TCP_NODELAY`` on the socket it binds for several workers.

    asyncio turns Nagle's algorithm off only on sockets created with ``IPPROTO_TCP``; uvicorn's own socket
    for ``--workers`` is created without it, so every keep-alive response whose head and body go out in two
    writes waited for the client's delayed ACK: 40 ms a request instead of 1. Accepted connections inherit
    the option from the listening socket.
    """

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def exposure_warning(host: str, settings: Settings) -> str | None:
    """A warning when the service listens beyond this machine without an API key, else None."""
    if settings.api_key is not None or host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (f"服务监听 {host}，且未设置 DOCXREPORT_API_KEY：能访问此端口的任何人都可以调用。"
            "请设置 API 密钥，并通过 HTTPS 反向代理对外提供")


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the service with uvicorn until interrupted. With several ``workers`` each process builds its own
    application from the environment (:func:`app_from_env`), so ``settings`` must come from it too."""
    options: dict[str, Any] = {"host": host, "port": port, "access_log": False, "log_config": log_config(),
                               "server_header": False, "timeout_graceful_shutdown": 10}
    warning = exposure_warning(host, settings)
    if warning:
        logging.config.dictConfig(options["log_config"])
        LOGGER.warning(warning)
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    from uvicorn.supervisors import Multiprocess

    config = _Config("docxreport.web.server:app_from_env", factory=True, workers=workers, **options)
    supervisor: dict[str, Any] = {"sockets": [config.bind_socket()]}
    if "target" in inspect.signature(Multiprocess).parameters:  # older uvicorn (0.30) takes the server's run
        supervisor["target"] = uvicorn.Server(config).run
    try:
        Multiprocess(config, **supervisor).run()
    except KeyboardInterrupt:
        pass


def app_from_env() -> FastAPI:
    """The factory ``docxreport serve`` gives uvicorn (``--workers`` start it once per process): settings
    from the ``DOCXREPORT_*`` environment variables."""
    return create_app(Settings.from_env())


__all__ = ["Settings", "app_from_env", "create_app", "exposure_warning", "serve"]
