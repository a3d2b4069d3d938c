"""Reading .docx packages safely: not a zip, a zip bomb or a package without a document part is refused."""

from __future__ import annotations

import io
import os
import zipfile
from typing import IO

from .errors import TemplateError
from .files import read_input

DocxSource = str | os.PathLike[str] | IO[bytes] | bytes

MAX_PARTS = 1000
MAX_UNCOMPRESSED = 200 * 1024 * 1024


def source_name(source: DocxSource, default: str) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", default))


def read_docx(source: DocxSource, what: str, error: type[Exception] = TemplateError) -> bytes:
    """The bytes of a .docx, after checking it is a sane package. ``what`` names it in messages
    (模板, 报告); ``error`` is the exception raised for a bad package."""
    name = source_name(source, f"<{what}>")
    if isinstance(source, bytes):
        raw = source
    elif isinstance(source, (str, os.PathLike)):
        raw = read_input(source, what)
    else:
        raw = source.read()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_PARTS or sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
                raise error(f"{name}: {what}解压后过大（{len(infos)} 个部件），拒绝处理")
            if "word/document.xml" not in archive.namelist():
                raise error(f"{name}: 不是 Word 文档：缺少 word/document.xml")
    except zipfile.BadZipFile:
        raise error(f"{name}: 不是有效的 .docx 文件（不是 zip 格式）") from None
    return raw


def read_package(source: DocxSource, what: str, required: str, missing: str, error: type[Exception] = TemplateError) -> bytes:
    """The bytes of an Office Open XML package (a workbook …), after the same checks as :func:`read_docx`:
    a zip within the part and size bounds, holding the part ``required`` (``missing`` says what it is
    when it does not)."""
    name = source_name(source, f"<{what}>")
    if isinstance(source, bytes):
        raw = source
    elif isinstance(source, (str, os.PathLike)):
        raw = read_input(source, what)
    else:
        raw = source.read()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_PARTS or sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
                raise error(f"{name}: {what}解压后过大（{len(infos)} 个部件），拒绝处理")
            if required not in archive.namelist():
                raise error(f"{name}: {missing}")
    except zipfile.BadZipFile:
        raise error(f"{name}: 不是有效的{what}文件（不是 zip 格式）") from None
    return raw
