"""Reading Office packages (.docx, .xlsx) safely: not a zip, a zip bomb, a part too large to parse or a
package without its main part is refused before any XML parser sees it.

What parsing costs is bounded by what a real report needs, not by what a zip can hold: lxml and python-docx
spend a few hundred bytes of memory per element, so 50 MB of empty paragraphs (a 90 KB file) would take
gigabytes. Each part is therefore bounded by its uncompressed size (XML parts far below media), and the XML
of the whole package by its number of tags, counted while inflating, before anything is parsed. The bounds
keep every input within 1 GB and a few seconds (docs/reliability.md gives the figures).
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Sequence
from typing import IO

from .errors import TemplateError
from .files import read_input

DocxSource = str | os.PathLike[str] | IO[bytes] | bytes

MAX_PARTS = 1000
#: all parts together, uncompressed (media included: python-docx loads every part into memory)
MAX_UNCOMPRESSED = 100 * 1024 * 1024
#: one XML part (``.xml``, ``.rels``), uncompressed: a 300-page report's document part is a few MB
MAX_XML_PART = 32 * 1024 * 1024
#: tags (``<``, opening and closing) in all XML parts together: a rendered report has about 6,000, a
#: 300-page document some 250,000
MAX_TAGS = 300_000
_CHUNK = 1024 * 1024
_MB = 1024 * 1024


def source_name(source: DocxSource, default: str) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", default))


def _is_xml(part: str) -> bool:
    return part.endswith((".xml", ".rels")) or part.lower().endswith((".xml", ".rels"))


def _check_members(archive: zipfile.ZipFile, name: str, what: str, error: type[Exception]) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        raise error(f"{name}: {what}的部件过多（{len(infos)} 个部件，最多 {MAX_PARTS} 个），拒绝处理")
    declared = sum(i.file_size for i in infos)
    if declared > MAX_UNCOMPRESSED:
        raise error(f"{name}: {what}解压后过大（{declared // _MB} MB，最多 {MAX_UNCOMPRESSED // _MB} MB），拒绝处理")
    tags = 0
    for info in infos:
        if not _is_xml(info.filename):
            continue
        if info.file_size > MAX_XML_PART:
            raise error(f"{name}: {what}的部件 {info.filename} 解压后过大（{info.file_size // _MB} MB，最多 {MAX_XML_PART // _MB} MB），拒绝处理")
        size = 0
        with archive.open(info) as member:  # inflated in chunks: the directory's sizes may lie
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                tags += chunk.count(b"<")
                if size > MAX_XML_PART:
                    raise error(f"{name}: {what}的部件 {info.filename} 解压后过大（超过 {MAX_XML_PART // _MB} MB），拒绝处理")
                if tags > MAX_TAGS:
                    raise error(f"{name}: {what}的 XML 元素过多（超过 {MAX_TAGS} 个标记，在 {info.filename} 中），拒绝处理")


def read_package(source: DocxSource, what: str, error: type[Exception] = TemplateError,
                 required: Sequence[str] = ("word/document.xml",), kind: str = "Word 文档", suffix: str = ".docx") -> bytes:
    """The bytes of an Office package after checking it is sane: a zip, within :data:`MAX_PARTS`,
    :data:`MAX_UNCOMPRESSED`, :data:`MAX_XML_PART` and :data:`MAX_TAGS`, holding the ``required`` parts.
    ``what`` names it in messages (模板, 报告), ``kind`` is what it should be (Word 文档); ``error`` is the
    exception raised for a bad package."""
    name = source_name(source, f"<{what}>")
    if isinstance(source, bytes):
        raw = source
    elif isinstance(source, (str, os.PathLike)):
        raw = read_input(source, what)
    else:
        raw = source.read()
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        raise error(f"{name}: 不是有效的 {suffix} 文件（不是 zip 格式）") from None
    with archive:
        try:
            _check_members(archive, name, what, error)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
            # damaged data, an unsupported compression, an encrypted member
            raise error(f"{name}: 不是有效的 {suffix} 文件（zip 包已损坏或格式不支持）") from None
        names = set(archive.namelist())
    for part in required:
        if part not in names:
            raise error(f"{name}: 不是{kind}：缺少 {part}")
    return raw


def read_docx(source: DocxSource, what: str, error: type[Exception] = TemplateError) -> bytes:
    """The bytes of a .docx, after checking it is a sane package (see :func:`read_package`)."""
    return read_package(source, what, error, ("word/document.xml",), "Word 文档")
