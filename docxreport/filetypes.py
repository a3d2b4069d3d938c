"""What kind of file a user gave us, told by its content (the name is only a hint).

Clerks hand the tool whatever they have: a Word file where report data is expected, a PDF saved from a web
page, a workbook renamed ``.json``. Every entry point (CLI, service, workbench) first asks :func:`sniff`, so
that it can read the file the right way, or say what the file is and what to do with it instead of failing
on its bytes (``文件不是 UTF-8 编码：第 15 字节 0xD9``).
"""

from __future__ import annotations

import io
import zipfile
from typing import Literal

Kind = Literal["json", "docx", "xlsx", "odt", "ods", "pdf", "doc", "xls", "wps", "rtf", "html", "zip", "encrypted", "text", "empty", "unknown"]

#: How messages name each kind (Chinese, as a clerk calls it).
KIND_NAMES: dict[str, str] = {
    "json": "报告数据（JSON）",
    "docx": "Word 文档（.docx）",
    "xlsx": "Excel 工作簿（.xlsx）",
    "odt": "OpenDocument 文字文档（.odt）",
    "ods": "OpenDocument 电子表格（.ods）",
    "pdf": "PDF 文件",
    "doc": "旧版 Word 文档（.doc）",
    "xls": "旧版 Excel 工作簿（.xls）",
    "wps": "WPS 文字文档（.wps）",
    "rtf": "RTF 文档",
    "html": "网页（HTML）",
    "zip": "zip 压缩包",
    "encrypted": "设置了打开密码的 Office 文件（已加密）",
    "text": "文本文件",
    "empty": "空文件",
    "unknown": "无法识别的文件",
}

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File Binary: .doc, .xls, .wps, .et
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<table", b"<div", b"<p>", b"<p ", b"<title")


def _zip_kind(raw: bytes) -> Kind:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:100]
                if b"opendocument.text" in mimetype:
                    return "odt"
                if b"opendocument.spreadsheet" in mimetype:
                    return "ods"
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, NotImplementedError, RuntimeError):
        return "unknown"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "zip"


def _ole_kind(raw: bytes, name: str | None) -> Kind:
    """Word, Excel and WPS binaries share one container; its stream names tell them apart."""
    head = raw[:65536]
    if "EncryptedPackage".encode("utf-16-le") in raw:  # an .xlsx or .docx saved with a password: its directory
        return "encrypted"                              # entry may stand after the (large) encrypted stream
    if "WordDocument".encode("utf-16-le") in head:
        return "wps" if name and name.lower().endswith(".wps") else "doc"
    if "Workbook".encode("utf-16-le") in head or "Book".encode("utf-16-le") in head:
        return "xls"
    suffix = (name or "").lower().rsplit(".", 1)[-1]
    return {"doc": "doc", "wps": "wps", "xls": "xls", "et": "xls"}.get(suffix, "unknown")  # type: ignore[return-value]


def sniff(raw: bytes, name: str | None = None) -> Kind:
    """The kind of file ``raw`` is, by its content: ``"json"``, ``"docx"``, ``"pdf"``, ``"html"`` …

    ``name`` (a file name or path) decides only between kinds the content cannot tell apart (a .wps and a
    .doc share one binary format). Text that is neither JSON nor HTML is ``"text"``.
    """
    if not raw:
        return "empty"
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"PK\x05\x06"):
        return _zip_kind(raw)
    if raw.startswith(b"%PDF-"):
        return "pdf"
    if raw.startswith(_OLE):
        return _ole_kind(raw, name)
    if raw.startswith(b"{\\rtf"):
        return "rtf"
    head = raw[:2048]
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom):]
            break
    stripped = head.replace(b"\x00", b"").lstrip().lower()
    if stripped[:1] in (b"{", b"["):
        return "json"  # before the PDF marker below: report text may well contain "%PDF-"
    if b"%PDF-" in raw[:1024]:  # readers accept a PDF header after up to 1 KB of junk
        return "pdf"
    if stripped.startswith(b"<?xml") and b"<html" in stripped:
        return "html"
    if any(marker in stripped[:1024] for marker in _HTML_MARKERS) and stripped.startswith(b"<"):
        return "html"
    if stripped.startswith((b"null", b"true", b"false", b'"')) or stripped[:1].isdigit() or stripped[:1] == b"-":
        return "json"  # a JSON scalar: still JSON, and validation says it is no report
    if b"\x00" in raw[:4096]:
        return "unknown"
    return "text"


def describe(kind: str) -> str:
    """How a message names a kind of file."""
    return KIND_NAMES.get(kind, KIND_NAMES["unknown"])
