"""What the HTTP service needs that does not depend on a web framework: settings, bounded jobs, errors.

:mod:`docxreport.server` builds the FastAPI application from these; everything here is plain Python, so it
is imported and tested without the ``server`` extra.

Settings come from arguments or from ``DOCXREPORT_*`` environment variables (:meth:`Settings.from_env`),
never from module state, so several applications with different settings can live in one process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from ..problems import Problem

ENV_PREFIX = "DOCXREPORT_"

#: RFC 9457 problem types, one per kind of failure; clients match on these, people read ``title``/``detail``.
PROBLEM_TYPE_PREFIX = "urn:docxreport:problem:"


# --------------------------------------------------------------------------- settings


class SettingsError(ValueError):
    """An environment variable or option holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """How one instance of the service behaves. Every field has an environment variable (see :data:`ENV`)."""

    #: Largest request body accepted, in bytes (JSON reports are tens of KB; published .docx up to a few MB).
    max_body_bytes: int = 16 * 1024 * 1024
    #: Jobs (validate, render, extract) running at once in one server process.
    max_concurrency: int = 4
    #: Jobs allowed to wait for a free worker; beyond ``max_concurrency + max_queue`` requests get 503 at once.
    max_queue: int = 16
    #: Seconds a validate/render/extract job may take, waiting included, before the request gets 503.
    time_limit: float = 30.0
    #: Seconds a PDF conversion may take (LibreOffice), rendering included.
    pdf_time_limit: float = 120.0
    #: Seconds clients are told to wait (``Retry-After``) after a 503.
    retry_after: int = 5
    #: When set, every ``/v1/`` request must carry it (``X-API-Key`` or ``Authorization: Bearer``).
    api_key: str | None = field(default=None, repr=False)
    #: Origins allowed by CORS; empty means no CORS headers at all (browsers on other origins are refused).
    cors_origins: tuple[str, ...] = ()
    #: Seconds a client may take to send a request's line and headers before the connection is closed.
    header_timeout: float = 10.0
    #: Open connections one server process keeps; a connection beyond it is closed at once.
    max_connections: int = 512

    def __post_init__(self) -> None:
        checks = {
            "max_body_bytes": self.max_body_bytes >= 1,
            "max_concurrency": self.max_concurrency >= 1,
            "max_queue": self.max_queue >= 0,
            "time_limit": self.time_limit > 0,
            "pdf_time_limit": self.pdf_time_limit > 0,
            "retry_after": self.retry_after >= 0,
            "header_timeout": self.header_timeout > 0,
            "max_connections": self.max_connections >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise SettingsError(f"{ENV[name]} 的值无效：{getattr(self, name)!r}")
        if self.api_key is not None and not self.api_key.strip():
            raise SettingsError(f"{ENV['api_key']} 不能为空白")
        if self.api_key is not None and self.api_key != self.api_key.strip():
            # a key pasted with a newline would be accepted here and never match a header (which cannot
            # carry it): refuse it at start rather than answer 401 to every client
            raise SettingsError(f"{ENV['api_key']} 的开头或结尾有空白字符（空格、换行等），请去掉")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``DOCXREPORT_*`` variables (default: ``os.environ``), then ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, variable in ENV.items():
            raw = environ.get(variable)
            if raw is None or raw == "":
                continue
            values[name] = _convert(name, variable, raw)
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)


#: The environment variable of each setting.
ENV: dict[str, str] = {
    "max_body_bytes": "DOCXREPORT_MAX_BODY_BYTES",
    "max_concurrency": "DOCXREPORT_MAX_CONCURRENCY",
    "max_queue": "DOCXREPORT_MAX_QUEUE",
    "time_limit": "DOCXREPORT_TIME_LIMIT",
    "pdf_time_limit": "DOCXREPORT_PDF_TIME_LIMIT",
    "retry_after": "DOCXREPORT_RETRY_AFTER",
    "api_key": "DOCXREPORT_API_KEY",
    "cors_origins": "DOCXREPORT_CORS_ORIGINS",
    "header_timeout": "DOCXREPORT_HEADER_TIMEOUT",
    "max_connections": "DOCXREPORT_MAX_CONNECTIONS",
}


def _convert(name: str, variable: str, raw: str) -> Any:
    kind = Settings.__dataclass_fields__[name].type
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"{variable} 应为数字，实际为 {raw!r}") from None
    if name == "cors_origins":
        return tuple(o.strip() for o in raw.split(",") if o.strip())
    return raw


# --------------------------------------------------------------------------- errors as data


@dataclass(eq=False)
class ApiError(Exception):
    """A request that ends in an error response (RFC 9457 problem details).

    ``kind`` names the problem type (``invalid-report`` → ``urn:docxreport:problem:invalid-report``);
    ``problems`` are report problems with their JSON paths or line/column, as ``validate`` gives them.
    """

    status: int
    kind: str
    title: str
    detail: str
    problems: Sequence[Problem] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def __reduce__(self) -> tuple[Any, ...]:  # made in a worker process, answered by the server
        return (ApiError, (self.status, self.kind, self.title, self.detail, tuple(self.problems), dict(self.headers)))

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        """The ``application/problem+json`` body."""
        out: dict[str, Any] = {
            "type": PROBLEM_TYPE_PREFIX + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            out["instance"] = instance
        out["problems"] = [p.to_dict() for p in self.problems]
        return out


#: Problem types for HTTP statuses the framework produces itself (unknown path, wrong method …).
HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "请求无效"),
    401: ("unauthorized", "未授权"),
    403: ("forbidden", "禁止访问"),
    404: ("not-found", "没有这个地址"),
    405: ("method-not-allowed", "不支持此请求方法"),
    406: ("not-acceptable", "无法提供所要求的格式"),
    408: ("body-timeout", "请求正文接收超时"),
    413: ("body-too-large", "请求内容过大"),
    415: ("unsupported-media-type", "不支持的内容类型"),
    422: ("unprocessable", "无法处理的内容"),
    500: ("internal-error", "服务器内部错误"),
    503: ("unavailable", "服务暂不可用"),
}


def http_error(status: int, detail: str | None = None, headers: Mapping[str, str] | None = None) -> ApiError:
    """An :class:`ApiError` for a plain HTTP status."""
    kind, title = HTTP_PROBLEMS.get(status, ("http-error", f"HTTP {status}"))
    return ApiError(status, kind, title, detail or title, headers=dict(headers or {}))


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "body-too-large", "请求内容过大", f"请求内容超过上限 {limit} 字节")


def overloaded(retry_after: int) -> ApiError:
    return ApiError(503, "overloaded", "服务繁忙", "同时处理的请求已达上限，请稍后重试",
                    headers={"Retry-After": str(retry_after)})


def timed_out(limit: float, retry_after: int) -> ApiError:
    return ApiError(503, "time-limit", "处理超时", f"处理超过时限 {limit:g} 秒，已放弃；请稍后重试",
                    headers={"Retry-After": str(retry_after)})


# --------------------------------------------------------------------------- bounded jobs (web.workers)


class Overloaded(Exception):
    """Every worker is busy and the waiting line is full."""


class JobTimeout(Exception):
    """A job did not finish within its time limit."""


# --------------------------------------------------------------------------- responses


DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_MEDIA_TYPE = "application/pdf"



def report_file_name(data: Mapping[str, Any], suffix: str) -> str:
    """The download name of a report: ``某某县自然资源局2024年政府信息公开工作年度报告.docx``.

    Made safe by the same function as ``batch`` output names (:func:`docxreport.outputs.safe_name`): no path
    separators, characters Windows forbids, control, format or line-separator characters, bounded length,
    so the name is safe to save as it is on any system.
    """
    from ..outputs import safe_name

    organ = str(data.get("organ", "")).strip()
    year = data.get("year")
    stem = f"{organ}{year}年政府信息公开工作年度报告" if isinstance(year, int) else f"{organ}政府信息公开工作年度报告"
    return safe_name(stem) + suffix


def content_disposition(file_name: str, fallback: str = "report") -> str:
    """``Content-Disposition: attachment`` with the UTF-8 name (RFC 6266, RFC 5987 ``filename*``) and, for
    clients that know only ``filename``, an ASCII one: the name itself when it is plain ASCII, else
    ``fallback`` with the same extension."""
    stem, dot, suffix = file_name.rpartition(".")
    plain = all(c.isascii() and (c.isalnum() or c in "-_.") for c in stem) and stem
    ascii_stem = stem if plain else "".join(c for c in fallback if c.isascii() and (c.isalnum() or c in "-_.")) or "report"
    ascii_name = f"{ascii_stem}.{suffix}" if dot else ascii_stem
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"
