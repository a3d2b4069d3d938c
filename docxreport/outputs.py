"""The one overwrite rule of every command that writes (``render``, ``init``, ``extract``, ``schema``, ``batch``).

An existing output is replaced without asking only when it is docxreport's own, unchanged output: a
document this tool generated and nobody has saved since (re-rendering a draft all day just works). Anything
else that exists — report data a clerk typed (JSON is never assumed to be ours), a document edited and saved
in Word or WPS, another program's file — is kept, with a message, unless ``--force`` is given. The input of
a command is never overwritten, ``--force`` or not.

A generated web page ends in an HTML comment with the digest of the bytes before it, for the same purpose.
A generated .docx is recognised by a seal in its zip comment: ``docxreport`` and a digest of every byte of
the package before it. Word, WPS and LibreOffice write a new package when they save, without the comment; an
editor that kept the comment would still change the bytes the digest covers. A zip comment is part of the zip
format and ignored by every Office reader.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from .filetypes import sniff

_ILLEGAL = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
NAME_MAX_CHARS = 80
_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_SEAL = b"docxreport "
#: How much of an existing file is read to recognise it (a generated report is far smaller).
_MAX_READ = 64 * 1024 * 1024


def safe_name(text: str) -> str:
    """A file name stem made from report text (an organ name and year), for ``batch`` outputs and the
    service's download names alike: no path separators, no characters Windows or Linux refuse, no control,
    format, line or paragraph separator characters (U+2028 …), no leading dot or dash (``-x`` reads as an
    option), not a device name, at most :data:`NAME_MAX_CHARS` characters. Never empty."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
    text = _ILLEGAL.sub("_", text)
    text = _SPACES.sub(" ", text).strip(" .")[:NAME_MAX_CHARS].strip(" .")
    if not text.strip("_ .-"):
        text = "report"
    if text.startswith("-"):
        text = "_" + text[1:]
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def sha256_file(path: str | os.PathLike[str]) -> str | None:
    """The SHA-256 of a file's content (hex), None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _eocd(raw: bytes) -> int:
    """Offset of the zip's end-of-central-directory record (-1 when there is none)."""
    return raw.rfind(_EOCD, max(0, len(raw) - _EOCD_SIZE - 65535))


def seal(document: bytes) -> bytes:
    """``document`` (a zip package) with the seal that marks it as docxreport's unchanged output."""
    at = _eocd(document)
    if at < 0 or len(document) < at + _EOCD_SIZE:
        return document
    body = document[:at + _EOCD_SIZE - 2]  # everything up to the comment length
    tag = _SEAL + hashlib.sha256(body).hexdigest()[:32].encode("ascii")
    return body + len(tag).to_bytes(2, "little") + tag


_HTML_SEAL = re.compile(rb"<!-- docxreport ([0-9a-f]{32}) -->\n?")


def seal_html(text: str) -> bytes:
    """A web page docxreport wrote, as UTF-8 bytes ending in a comment with the digest of the bytes before it."""
    body = text.encode("utf-8")
    return body + b"<!-- docxreport " + hashlib.sha256(body).hexdigest()[:32].encode("ascii") + b" -->\n"


def _html_sealed(raw: bytes) -> bool:
    at = raw.rfind(b"<!-- docxreport ")
    match = _HTML_SEAL.fullmatch(raw, at) if at >= 0 else None
    return match is not None and hashlib.sha256(raw[:at]).hexdigest()[:32].encode("ascii") == match.group(1)


def is_sealed(raw: bytes) -> bool:
    """True when ``raw`` is a package :func:`seal` made and not a byte of it changed since."""
    at = _eocd(raw)
    if at < 0 or len(raw) < at + _EOCD_SIZE:
        return False
    length = int.from_bytes(raw[at + _EOCD_SIZE - 2:at + _EOCD_SIZE], "little")
    comment = raw[at + _EOCD_SIZE:]
    body = raw[:at + _EOCD_SIZE - 2]
    return len(comment) == length and comment == _SEAL + hashlib.sha256(body).hexdigest()[:32].encode("ascii")


def _read_head(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(_MAX_READ + 1)
    except OSError:
        return None


def is_own_output(path: str | os.PathLike[str]) -> bool:
    """True when the file at ``path`` is docxreport's own unchanged output: a sealed .docx, or the JSON
    Schema that ``schema``/``init`` write (not data: nobody types into it)."""
    raw = _read_head(Path(path))
    if raw is None or len(raw) > _MAX_READ:
        return False
    kind = sniff(raw, os.fspath(path))
    if kind == "docx":
        return is_sealed(raw)
    if kind == "html":
        return _html_sealed(raw)
    if kind == "json":
        from .report.schema import load_schema

        try:
            import json

            return json.loads(raw).get("$id") == load_schema().get("$id")  # type: ignore[no-any-return]
        except (ValueError, AttributeError, RecursionError):
            return False
    return False


#: What an existing output is, for the rule: absent, replaceable (our own, unchanged), or kept.
Existing = str


def existing(path: str | os.PathLike[str]) -> Existing:
    """``"absent"``, ``"own"`` (docxreport's unchanged output: replaced) or ``"other"`` (kept unless forced)."""
    target = Path(path)
    if not target.exists() and not target.is_symlink():
        return "absent"
    if target.is_symlink() or not target.is_file():
        return "other"
    return "own" if is_own_output(target) else "other"


def refusal(path: str | os.PathLike[str]) -> str:
    """The message when an existing file is kept."""
    if Path(path).suffix.lower() in (".json", ".jsonl"):
        return f"{os.fspath(path)}: 文件已存在（报告数据可能已填写），不会覆盖；确需覆盖请加 --force"
    return f"{os.fspath(path)}: 文件已存在，且不是 docxreport 生成后未经改动的文件（可能是您的数据或改过的文档），不会覆盖；确需覆盖请加 --force"
