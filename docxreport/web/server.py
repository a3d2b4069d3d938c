"""The HTTP service (``docxreport serve``): the public API over HTTP for OA systems.

``create_app(settings)`` builds a FastAPI application; nothing lives at module level, so tests and embedders
make as many as they like. Endpoints::

    POST /v1/render     report JSON → .docx (or PDF: ?format=pdf or Accept: application/pdf; a web page:
                        ?format=html; the data as an Excel workbook: ?format=xlsx, errors or not)
    POST /v1/validate   report JSON → the problems, shaped as ``docxreport validate --format json``
    POST /v1/extract    a report .docx (multipart field ``file``, or the raw body) → {data, problems}
    GET  /v1/schema     the content JSON Schema
    GET  /healthz       liveness
    GET  /openapi.json  OpenAPI 3.1, with the content schema (Chinese titles) as the request body; /docs

Every error is ``application/problem+json`` (RFC 9457) with our ``problems`` list; no stack trace ever
reaches a client, and a 500 closes the connection. A request first takes a place among the bounded jobs
(503 at once when there is none), then its body is read within the size and time limits, then the work
runs in a worker process (:class:`~docxreport.web.workers.WorkerPool`) that is killed when the time limit
passes, so the event loop always answers (``/healthz`` included). Request lines and headers must arrive
within ``header_timeout``; a server process keeps at most ``max_connections``. With an API key, every path
but ``/healthz`` needs it, checked before routing (no 401-or-404 probing of which paths exist). Each
request is logged as one line on the ``docxreport.server`` logger.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hmac
import importlib.util
import inspect
import json
import logging
import logging.config
import resource
import socket
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import h11
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from uvicorn.protocols.http.h11_impl import H11Protocol

from .. import __version__
from ..problems import Problem
from ..report.schema import load_schema
from . import jobs
from .service import (
    DOCX_MEDIA_TYPE,
    PDF_MEDIA_TYPE,
    ApiError,
    JobTimeout,
    Overloaded,
    Settings,
    body_too_large,
    http_error,
    overloaded,
    timed_out,
)
from .workbench import mount_workbench
from .workers import WorkerPool

try:  # /v1/extract parses multipart uploads; named python_multipart since 0.0.13
    import python_multipart  # noqa: F401
except ImportError:
    import multipart  # noqa: F401

LOGGER = logging.getLogger("docxreport.server")
PROBLEM_MEDIA_TYPE = "application/problem+json"

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


HTML_MEDIA_TYPE = "text/html; charset=utf-8"
#: An Excel workbook in the national layout is report data too (read by content in sources.read_data).
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require_json(request: Request) -> None:
    kind = _media_type(request)
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")) and kind != XLSX_MEDIA_TYPE:
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


def _require_upload(request: Request) -> None:
    """415 unless the request carries a published report: multipart/form-data, or the report (.docx, PDF,
    web page) as the body, whatever binary or HTML type it is declared as (it is told by content)."""
    kind = _media_type(request)
    if kind == "application/x-www-form-urlencoded" or kind == "application/json" or kind.endswith("+json"):
        raise ApiError(415, "unsupported-media-type", "不支持的内容类型",
                       f"请以 multipart/form-data（字段 file）或直接以 .docx、PDF、网页作为请求正文上传报告，实际为 {kind or '未指定'}")


async def _uploaded_docx(request: Request, body: bytes) -> bytes:
    """The report of an extract request: the multipart field ``file``, or the body itself."""
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
            "details": {"type": "object", "description": "规则的数字，随规则而定：如 expected、actual、terms（合计问题），"
                        "caused_by（由哪些单元格的错误引起）"},
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


def _validate_body() -> dict[str, Any]:
    """The body of ``/v1/validate``: a report, or (``jobs.WITH_PREVIOUS``) a report with last year's report."""
    body = _json_body("报告 JSON（内容可以有误：本接口正是为了找出问题）；以 Content-Type: "
                      f"{jobs.WITH_PREVIOUS} 发送 {{\"report\": 报告, \"previous\": 上年报告}} 时，"
                      "同时按跨年度规则核对（本年“上年结转”应等于上年“结转下年度继续办理”）")
    body["requestBody"]["content"][jobs.WITH_PREVIOUS] = {"schema": {
        "title": "报告及上年报告", "type": "object", "required": ["report"], "additionalProperties": False,
        "properties": {"report": {"$ref": "#/components/schemas/AnnualReport", "description": "本年报告"},
                       # described, not referenced: a second copy of the whole schema doubles every generated test
                       "previous": {"type": ["object", "null"], "description": "上年报告（结构同 AnnualReport），用于跨年度核对"}}}}
    return body


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
- 设置了 `DOCXREPORT_API_KEY` 时，除 `/healthz` 外的所有请求（包括 `/openapi.json` 和 `/docs`）须带
  `X-API-Key: 密钥` 或 `Authorization: Bearer 密钥`。
"""


class RequireKey:
    """ASGI middleware: with an API key, every request but ``/healthz`` and the workbench page itself (and CORS
    preflights) must carry it (``X-API-Key`` or ``Authorization: Bearer``), checked before routing: a client
    without the key gets 401 for every API path, so it cannot tell which ones exist. The page, its scripts and
    its style hold no data: the page asks for the key and sends it with every request it makes."""

    OPEN = frozenset({"/healthz", "/", "/workbench/tables.css"})
    OPEN_PREFIXES = ("/workbench/static/",)

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.expected = key.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in self.OPEN or path.startswith(self.OPEN_PREFIXES) or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        error = ApiError(401, "unauthorized", "未授权", "缺少或错误的 API 密钥：请在 X-API-Key 或 Authorization: Bearer 中提供",
                         headers={"WWW-Authenticate": "Bearer"})
        await problem_response(error, scope.get("path"))(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        given: bytes | None = None
        for name, value in scope.get("headers", ()):
            if name == b"x-api-key":
                given = value
                break
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
        # header values are bytes on the wire: compare them with the key's UTF-8 bytes
        return given is not None and hmac.compare_digest(given, self.expected)


def _swagger_assets() -> Path | None:
    """The folder of Swagger UI's files from the ``swagger-ui-py`` package, or None when it is not installed."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


#: The files of Swagger UI that /docs serves (from the package: never a CDN).
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "favicon-32x32.png": "image/png"}
#: /docs loads nothing from elsewhere (its script inits inline, its images are data: URIs).
DOCS_POLICY = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

_OFFLINE_DOCS = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>docxreport 接口说明</title></head>
<body><h1>docxreport 接口说明</h1><p>未安装 swagger-ui-py，无法显示交互式接口说明。接口定义（OpenAPI 3.1）：
<a href="openapi.json">openapi.json</a>。</p></body></html>"""


def create_app(settings: Settings | None = None, *, renderer: Callable[[], Any] | None = None) -> FastAPI:
    """Build the service. ``settings`` default to :meth:`Settings.from_env`. ``renderer`` makes each worker
    process's :class:`~docxreport.docx.renderer.Renderer` (default: the class itself); it is sent to the
    worker processes, so it must be picklable (a class, or a :func:`functools.partial` of one)."""
    settings = settings if settings is not None else Settings.from_env()
    pool = WorkerPool(settings.max_concurrency, settings.max_queue, jobs.start_worker, (renderer, None))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # one worker starts (and prepares the template) meanwhile, so the first request is fast; the others
        # start when the load needs them, not all at once with every server process
        warming = asyncio.ensure_future(pool.start(1))
        yield
        warming.cancel()
        pool.close()

    app = FastAPI(title="docxreport", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None, redirect_slashes=False)
    app.state.settings = settings
    app.state.workers = pool

    @contextlib.contextmanager
    def slot() -> Iterator[None]:
        """A place among the bounded jobs, taken before the body is read."""
        try:
            with pool.slot():
                yield
        except Overloaded:
            raise overloaded(settings.retry_after) from None

    async def run(function: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        limit = timeout if timeout is not None else settings.time_limit
        try:
            return await pool.run(function, *args, timeout=limit)
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
        # the connection may be in any state after an unexpected error: end it rather than reuse it
        return problem_response(http_error(500, "服务器内部错误，已记录日志", {"Connection": "close"}), request.url.path)

    # ---------------------------------------------------------------- authentication (RequireKey checks it)

    dependencies: list[Any] = []
    if settings.api_key is not None:  # declared for OpenAPI only: RequireKey has checked before routing
        dependencies += [Depends(APIKeyHeader(name="X-API-Key", auto_error=False, description="API 密钥")),
                         Depends(HTTPBearer(auto_error=False, description="Authorization: Bearer 密钥"))]

    v1 = APIRouter(prefix="/v1", dependencies=dependencies)

    # ---------------------------------------------------------------- endpoints

    @v1.post(
        "/render",
        summary="生成报告（.docx、PDF、网页）或 Excel 工作簿",
        description="先校验，有错误时返回 422 和全部问题，不生成文档。返回的文件名（Content-Disposition）取自机关名称和年度。"
                    "PDF 的文档属性中有标题、作者（机关名称）和语言（zh-CN）；pdfa=true 时为 PDF/A-2b（存档用）。"
                    "format=xlsx 返回报告数据的 Excel 工作簿（国家格式的版式，与 docxreport convert 相同）：报告有错误时照常生成，"
                    "X-Report-Warnings 为问题数；只有数据无法写入工作簿时（结构不符、未知的键）返回 422。",
        response_class=Response,
        responses={
            200: {"description": "生成的报告", "content": {DOCX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                                                       PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                                                       "text/html": {"schema": {"type": "string"}},
                                                       XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
                  "headers": {"Content-Disposition": {"description": "attachment，文件名为 UTF-8（filename*）",
                                                      "schema": {"type": "string"}},
                              "X-Report-Warnings": {"description": "报告中的警告数", "schema": {"type": "integer"}},
                              "X-Report-Errors": {"description": "报告中的错误数（仅 format=xlsx：有错误也照常生成）",
                                                  "schema": {"type": "integer"}}}},
            **_problem_responses(400, 401, 406, 408, 413, 415, 422, 503),
        },
        openapi_extra=_json_body("报告 JSON"),
    )
    async def render(
        request: Request,
        format_: Literal["docx", "pdf", "html", "xlsx"] | None = Query(None, alias="format", description="docx（默认）、pdf、html（网页）或 xlsx（Excel 工作簿）；也可用 Accept: application/pdf"),
        fonts: Literal["official", "windows"] = Query("official", description="official：公文字体（仿宋_GB2312 等）；windows：Windows 自带字体"),
        pdfa: bool = Query(False, description="true：生成 PDF/A-2b（长期存档格式）；隐含 format=pdf"),
    ) -> Response:
        _require_json(request)
        if format_ == "xlsx":
            if pdfa:
                raise ApiError(400, "bad-parameter", "请求参数无效", "pdfa=true 只能与 format=pdf 一起使用")
            with slot():
                body = await receive(request)
                workbook, disposition, errors, warnings = await run(jobs.render_xlsx_job, body)
            return Response(workbook, media_type=XLSX_MEDIA_TYPE,
                            headers={"Content-Disposition": disposition, "X-Report-Warnings": str(warnings),
                                     "X-Report-Errors": str(errors)})
        if format_ == "html":
            if pdfa:
                raise ApiError(400, "bad-parameter", "请求参数无效", "pdfa=true 只能与 format=pdf 一起使用")
            with slot():
                body = await receive(request)
                page, disposition, warnings = await run(jobs.render_html_job, body)
            return Response(page, media_type=HTML_MEDIA_TYPE,
                            headers={"Content-Disposition": disposition, "X-Report-Warnings": str(warnings)})
        pdf = pdfa or _wants_pdf(request, format_)
        if pdfa and format_ == "docx":
            raise ApiError(400, "bad-parameter", "请求参数无效", "pdfa=true 只能与 format=pdf 一起使用")
        with slot():
            body = await receive(request)
            limit = settings.pdf_time_limit if pdf else settings.time_limit
            document, disposition, warnings = await run(jobs.render_job, body, fonts, pdf, pdfa, limit * 0.9, timeout=limit)
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
        openapi_extra=_validate_body(),
    )
    async def validate(request: Request) -> Response:
        _require_json(request)
        with slot():
            body = await receive(request)
            return _json(await run(jobs.validate_job, body, _media_type(request) == jobs.WITH_PREVIOUS))

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
        with slot():
            body = await receive(request)
            document = await _uploaded_docx(request, body)
            return _json(await run(jobs.extract_job, document))

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

    assets = _swagger_assets()

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if assets is None:
            page = HTMLResponse(_OFFLINE_DOCS)
        else:
            page = get_swagger_ui_html(openapi_url="openapi.json", title="docxreport 接口说明",
                                       swagger_js_url="docs/swagger-ui-bundle.js", swagger_css_url="docs/swagger-ui.css",
                                       swagger_favicon_url="docs/favicon-32x32.png",
                                       swagger_ui_parameters={"validatorUrl": None})
        page.headers["Content-Security-Policy"] = DOCS_POLICY
        return page

    @app.get("/docs/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if assets is None or name not in DOCS_ASSETS:
            raise StarletteHTTPException(404)
        return Response((assets / name).read_bytes(), media_type=DOCS_ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})

    mount_workbench(app, settings)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]

    if settings.api_key is not None:
        app.add_middleware(RequireKey, key=settings.api_key)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Authorization", "X-API-Key", "Accept"],
                           expose_headers=["Content-Disposition", "Retry-After", "X-Report-Warnings", "X-Report-Errors"])
    app.add_middleware(RequestLog)
    return app


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with two bounds it lacks: a request's line and headers must arrive within
    ``header_timeout`` seconds of its first byte (of the connection, or of the next request on a kept-alive
    one), and a process keeps at most ``max_connections`` open (a surplus connection is closed at once).
    Without them, sockets that send a few header bytes and stall are kept for ever, until the process runs
    out of file descriptors. Bounds come from the application's settings."""

    header_timeout = 10.0
    max_connections = 512

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.abort()
            return
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        waiting = self.conn.their_state is h11.IDLE  # h11 leaves IDLE once the request's headers are complete
        if not waiting and self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        elif waiting and self._header_timer is None and not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.abort()


class EnvironmentProtocol(HeaderTimeoutProtocol):
    """:class:`HeaderTimeoutProtocol` with its bounds from the ``DOCXREPORT_*`` environment: what
    ``serve --workers`` gives uvicorn, whose worker processes receive the class by name."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if "header_timeout" not in type(self).__dict__:
            settings = Settings.from_env()
            type(self).header_timeout, type(self).max_connections = settings.header_timeout, settings.max_connections
        super().connection_made(transport)


def protocol_options(settings: Settings, *, by_name: bool = False) -> dict[str, Any]:
    """uvicorn options that bound connections: the protocol with header timeout and connection cap, the
    keep-alive timeout, the largest request head. ``by_name``: a protocol that reads its bounds from the
    environment (for worker processes)."""
    protocol = EnvironmentProtocol if by_name else type(
        "Protocol", (HeaderTimeoutProtocol,), {"header_timeout": settings.header_timeout, "max_connections": settings.max_connections})
    return {"http": protocol, "timeout_keep_alive": 5, "h11_max_incomplete_event_size": 64 * 1024}


def _more_file_descriptors() -> None:
    """Raise this process's open-file limit to its hard limit: connections beyond ``max_connections``
    are closed, but each still needs a descriptor while it is accepted."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = hard if hard != resource.RLIM_INFINITY else 65536
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        pass


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
                               "server_header": False, "timeout_graceful_shutdown": 10,
                               **protocol_options(settings, by_name=workers > 1)}
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        # a process starting its job workers on a busy machine may answer uvicorn's ping late: not dead
        options["timeout_worker_healthcheck"] = 30
    warning = exposure_warning(host, settings)
    if warning:
        logging.config.dictConfig(options["log_config"])
        LOGGER.warning(warning)
    _more_file_descriptors()
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


__all__ = ["Settings", "app_from_env", "create_app", "exposure_warning", "protocol_options", "serve"]
