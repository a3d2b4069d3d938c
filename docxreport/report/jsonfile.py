"""Strict reading of report JSON: encodings, syntax, duplicate keys and non-finite numbers become Problems.

Python's ``json`` module accepts ``NaN``, keeps the last of duplicate keys and turns ``1.10`` into a float.
Report files are hand-edited by clerks and produced by OA systems, so every one of those is reported here
with its position, and decimals are kept exact (:class:`decimal.Decimal`) so fees print as written.
"""

from __future__ import annotations

import codecs
import json
import os
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from ..files import read_input
from ..problems import PathPart, Problem

Source = str | os.PathLike[str] | IO[bytes] | bytes

_INT_DIGITS_MAX = 4000  # below CPython's int-string limit, far beyond any bound the schema allows
#: the longest decimal number text and the largest exponent read: beyond them no count or fee can be meant,
#: and :mod:`decimal` arithmetic on them overflows or takes unbounded time
_DECIMAL_CHARS_MAX = 100
EXPONENT_MAX = 100
#: how deep arrays and objects may nest: a report nests about ten levels (four heading levels)
DEPTH_MAX = 64


class _Flagged:
    """A value the JSON text had but the data model can never accept (NaN, a 5,000-digit number)."""

    def __init__(self, text: str, rule: str, message: str) -> None:
        self.text, self.rule, self.message = text, rule, message

    def __repr__(self) -> str:
        return self.text


class _DuplicateKeys(dict):  # type: ignore[type-arg]
    """An object in which some key appeared more than once (the last value is kept, as JSON parsers do)."""

    duplicates: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    dups: list[str] = []
    for key, value in pairs:
        if key in seen and key not in dups:
            dups.append(key)
        seen[key] = value
    if not dups:
        return seen
    out = _DuplicateKeys(seen)
    out.duplicates = dups
    return out


def _parse_constant(name: str) -> _Flagged:
    return _Flagged(name, "json.non_finite", f"不允许使用 {name}：数值必须是有限的数字")


def _parse_float(text: str) -> Decimal | _Flagged:
    try:
        value = Decimal(text) if len(text) <= _DECIMAL_CHARS_MAX else None
    except InvalidOperation:  # an exponent beyond what decimal can hold at all
        value = None
    if value is None or not -EXPONENT_MAX <= value.as_tuple().exponent <= EXPONENT_MAX:  # type: ignore[operator]
        return _Flagged(text[:20] + ("…" if len(text) > 20 else ""), "json.number_out_of_range", f"数值“{text[:20]}{'…' if len(text) > 20 else ''}”超出范围：数值必须是普通写法的数字（如 12 或 3.5）")
    return value


def _parse_int(text: str) -> int | _Flagged:
    if len(text.lstrip("-")) > _INT_DIGITS_MAX:
        return _Flagged(text[:20] + "…", "json.number_too_large", f"数值过大（{len(text)} 位数字）")
    return int(text)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _decode(raw: bytes) -> tuple[str | None, list[Problem]]:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or (
        len(raw) >= 2 and b"\x00" in raw[:4]
    ):
        return None, [Problem((), "file.encoding", "文件是 UTF-16/UTF-32 编码，请另存为 UTF-8 编码后重试", line=1, column=1)]
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        good = raw[: exc.start].decode("utf-8", errors="replace")
        line, col = _line_col(good, len(good))
        hint = "文件不是 UTF-8 编码"
        try:
            raw.decode("gb18030")
            hint += "（看起来是 GBK/GB18030 编码，请在编辑器中另存为 UTF-8）"
        except UnicodeDecodeError:
            pass
        return None, [Problem((), "file.encoding", f"{hint}：第 {exc.start + 1} 字节 0x{raw[exc.start]:02X} 无法按 UTF-8 解码", line=line, column=col)]


def too_deep(value: Any) -> tuple[PathPart, ...] | None:
    """The path of the first value nested deeper than :data:`DEPTH_MAX`, or None (without recursion)."""
    stack: list[tuple[Any, tuple[PathPart, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > DEPTH_MAX:
            return path
        if isinstance(node, dict):
            stack.extend((v, path + (k,)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, path + (i,)) for i, v in enumerate(node))
    return None


def _walk(value: Any, path: tuple[PathPart, ...], problems: list[Problem]) -> Any:
    """Turn hook markers into Problems and plain values; returns the cleaned value. Recursive: call it
    only on values no deeper than :data:`DEPTH_MAX` (see :func:`too_deep`)."""
    if isinstance(value, _Flagged):
        problems.append(Problem(path, value.rule, value.message))
        return None
    if isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            problems.append(Problem(path + (key,), "json.duplicate_key", f"键“{key}”在同一对象中出现多次（只会保留最后一个值，其余内容会丢失）"))
        return {k: _walk(v, path + (k,), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, path + (i,), problems) for i, v in enumerate(value)]
    return value


def parse_json(raw: bytes) -> tuple[Any, list[Problem]]:
    """Parse report JSON from bytes. Returns ``(data, problems)``; ``data`` is None when unreadable."""
    text, problems = _decode(raw)
    if text is None:
        return None, problems
    if not text.strip():
        return None, [Problem((), "json.empty", "文件为空，没有任何 JSON 内容", line=1, column=1)]
    try:
        data = json.loads(
            text,
            object_pairs_hook=_pairs_hook,
            parse_float=_parse_float,
            parse_int=_parse_int,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        return None, [Problem((), "json.syntax", f"JSON 语法错误：{_syntax_message(exc.msg)}", line=exc.lineno, column=exc.colno)]
    except RecursionError:
        return None, [Problem((), "json.too_deep", "JSON 嵌套层数过多", line=1, column=1)]
    deep = too_deep(data)
    if deep is not None:
        return None, [Problem(deep, "json.too_deep", f"JSON 嵌套层数过多（超过 {DEPTH_MAX} 层）")]
    found: list[Problem] = []
    return _walk(data, (), found), found


_SYNTAX = {
    "Expecting value": "此处应为一个值",
    "Expecting ',' delimiter": "缺少逗号“,”",
    "Expecting ':' delimiter": "缺少冒号“:”",
    "Expecting property name enclosed in double quotes": "键名必须用英文双引号括起来（或有多余的逗号）",
    "Unterminated string starting at": "字符串缺少结尾的引号",
    "Invalid control character at": "字符串中有未转义的控制字符（换行请写作 \\n）",
    "Extra data": "JSON 值结束后还有多余内容",
    "Invalid \\escape": "无效的转义序列",
}


def _syntax_message(msg: str) -> str:
    return _SYNTAX.get(msg, msg)


def read_json(source: Source) -> tuple[Any, list[Problem]]:
    """Read and parse report JSON from a path, a binary file object or bytes.

    Raises :class:`ReportFileError` when there is nothing to read (missing file, a directory, no
    permission); everything about the content comes back as Problems.
    """
    if isinstance(source, bytes):
        return parse_json(source)
    if hasattr(source, "read"):
        return parse_json(source.read())  # type: ignore[union-attr]
    return parse_json(read_input(source))  # type: ignore[arg-type]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    """Report data as JSON text (UTF-8 characters kept, 2-space indent, decimals as numbers)."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=_plain) + "\n"
