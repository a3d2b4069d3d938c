"""A published report in any format → report data: the one entry point of ``extract`` and ``check``.

The kind of input is told by its content (:func:`docxreport.filetypes.sniff`), never by its name alone:

* .docx → :mod:`docxreport.docx.reader`; PDF → :mod:`docxreport.pdf.reader`; web page → :mod:`docxreport.html.reader`;
* .doc, .wps, .odt, .rtf → converted to .docx by LibreOffice, then read as .docx;
* an ``http``/``https`` URL → fetched (size and time limits, at most 5 redirects, only to http/https), then
  read by its content, in the encoding the server declares.

Every reader yields the same :class:`~docxreport.document.Document`, read by
:func:`docxreport.document.read_report`: every variant of the format is recognised from every input.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any

from .document import Document, read_report
from .errors import NotAReportError, ReportFileError
from .files import read_input
from .filetypes import describe, sniff
from .problems import Problem

Source = str | os.PathLike[str] | IO[bytes] | bytes

#: File extensions ``check`` looks for in a folder.
EXTENSIONS = (".docx", ".pdf", ".html", ".htm", ".shtml", ".doc", ".wps", ".odt", ".rtf")
#: Kinds LibreOffice converts to .docx first.
CONVERTED = ("doc", "wps", "odt", "rtf")

MAX_DOWNLOAD = 20 * 1024 * 1024
URL_TIMEOUT = 20.0
MAX_REDIRECTS = 5
MAX_FILE = 100 * 1024 * 1024


def is_url(source: object) -> bool:
    """True for a string that is an http or https URL."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise ReportFileError(f"{req.full_url}: 重定向到不支持的地址 {newurl}（只支持 http/https）")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, limit: int = MAX_DOWNLOAD, timeout: float = URL_TIMEOUT) -> tuple[bytes, str | None]:
    """The body of ``url`` and the charset its server declared. http/https only, at most ``limit`` bytes,
    ``timeout`` seconds per network operation, at most 5 redirects (to http/https only). Raises
    :class:`~docxreport.errors.ReportFileError` saying what went wrong."""
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ReportFileError(f"{url}: 只支持 http/https 地址")
    opener = urllib.request.build_opener(_Redirects())
    request = urllib.request.Request(url, headers={"User-Agent": "docxreport (report checker)", "Accept": "*/*"})
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.strip().isdigit() and int(declared) > limit:
                raise ReportFileError(f"{url}: 文件超过 {limit // (1024 * 1024)} MB，拒绝下载")
            body = response.read(limit + 1)
            if len(body) > limit:
                raise ReportFileError(f"{url}: 文件超过 {limit // (1024 * 1024)} MB，拒绝下载")
            return body, response.headers.get_content_charset()
    except ReportFileError:
        raise
    except urllib.error.HTTPError as exc:
        raise ReportFileError(f"{url}: 服务器返回 {exc.code}（{exc.reason}）") from None
    except urllib.error.URLError as exc:
        raise ReportFileError(f"{url}: 无法访问（{exc.reason}）") from None
    except (TimeoutError, OSError) as exc:
        raise ReportFileError(f"{url}: 无法访问（{exc.__class__.__name__}）") from None


def _bytes(source: Source, name: str) -> bytes:
    if isinstance(source, bytes):
        return source
    if hasattr(source, "read"):
        raw = source.read(MAX_FILE + 1)  # type: ignore[union-attr]
    else:
        raw = read_input(source, "报告")  # type: ignore[arg-type]
    if len(raw) > MAX_FILE:
        raise ReportFileError(f"{name}: 文件超过 {MAX_FILE // (1024 * 1024)} MB，拒绝处理")
    return raw  # type: ignore[no-any-return]


def convert_to_docx(raw: bytes, kind: str, name: str, *, timeout: float = 120) -> bytes:
    """A .doc, .wps, .odt or .rtf converted to .docx by LibreOffice (a private profile, removed after)."""
    from .pdf.office import Office, OfficeNotFoundError

    folder = Path(tempfile.mkdtemp(prefix="docxreport-read-"))
    try:
        source = folder / f"report.{kind}"
        source.write_bytes(raw)
        (folder / "out").mkdir()
        try:
            with Office() as office:
                result = office.convert([source], folder / "out", timeout=timeout, to="docx")
        except OfficeNotFoundError as exc:
            raise ReportFileError(f"{name}: 这是{describe(kind)}，需要 LibreOffice 转换为 .docx 后读取：{exc}") from None
        produced = result.get(source)
        if not isinstance(produced, Path):
            raise NotAReportError(f"{name}: 无法转换为 .docx（{produced}）")
        return produced.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_document(source: Source, name: str | None = None) -> Document:
    """Any published report (a path, URL, bytes or binary file) as the reader-neutral document."""
    encoding = None
    if is_url(source):
        name = name or str(source)
        raw, encoding = fetch(str(source))
    else:
        name = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else str(getattr(source, "name", "<报告>")))
        raw = _bytes(source, name)
    kind = sniff(raw, name)
    if kind in CONVERTED:
        raw, kind = convert_to_docx(raw, kind, name), "docx"
    if kind == "docx":
        import io

        from .docx.reader import read_document as read_docx

        upload = io.BytesIO(raw)
        upload.name = name
        return read_docx(upload)
    if kind == "pdf":
        from .pdf.reader import read_document as read_pdf

        return read_pdf(raw, name)
    if kind in ("html", "text") and (kind == "html" or b"<" in raw[:4096]):
        from .html.reader import read_document as read_html

        return read_html(raw, name, encoding)
    if kind == "empty":
        raise NotAReportError(f"{name}: 文件是空的")
    raise NotAReportError(f"{name}: 这是{describe(kind)}，不是年度报告（支持 .docx、.pdf、网页、.doc、.wps、.odt、.rtf）")


def read_any(source: Source, name: str | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Read a published report in any supported format back into report data.

    ``source`` is a path, an http(s) URL, bytes or a binary file; ``name`` names it in messages. Returns
    ``(data, problems)`` as :func:`docxreport.document.read_report` does. Raises
    :class:`~docxreport.errors.NotAReportError` for a file that is no report (or a scanned PDF), and
    :class:`~docxreport.errors.ReportFileError` when it cannot be read or fetched.
    """
    return read_report(read_document(source, name))


def extract(source: Source, name: str | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Read a published report (.docx, PDF, web page, .doc/.wps/.odt/.rtf, or an http(s) URL) back into
    report data: ``(data, problems)``. The public :func:`docxreport.extract`; see :func:`read_any`."""
    return read_any(source, name)


__all__ = ["CONVERTED", "EXTENSIONS", "extract", "fetch", "is_url", "read_any", "read_document"]
