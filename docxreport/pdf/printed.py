"""Text as a PDF prints it: characters → printed lines and cell texts, and the shapes the PDF readers share
(:mod:`docxreport.pdf.reader` for ruled tables and paragraphs, :mod:`docxreport.pdf.unruled` for tables
printed without ruling lines)."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..tables import Cell

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef“”‘’—…]")
_LABEL_START = re.compile(r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[（(]\s*[一二三四五六七八九十\d]+\s*[）)]|\d+\s*[.．、]|总计|合计)")
_SPLIT_DIGITS = re.compile(r"^\d(?:\s+\d)+$")
_SPACES = re.compile(r"\s+")


@dataclass
class _Line:
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    text: str
    chars: list[dict[str, Any]] = field(default_factory=list, repr=False)  # for tables without ruling lines


@dataclass
class _Rect:
    """A table cell as printed: its rectangle (y in document coordinates: pages stacked) and text."""

    x0: float
    top: float
    x1: float
    bottom: float
    text: str
    page: int
    split_digits: str = ""  # the text as printed, when its digits were split by the layout


@dataclass
class _Table:
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    rects: list[_Rect] = field(default_factory=list)
    chars: list[dict[str, Any]] = field(default_factory=list, repr=False)  # the characters inside it
    cells: list[Cell] | None = None  # set when rebuilt from text positions (no ruling lines)
    national: str | None = None  # which national table it is ("" for none), once asked
    address: Callable[[Cell], str] | None = None  # how messages name a rebuilt table's cell


def _is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def _join_chars(chars: list[dict[str, Any]]) -> tuple[str, bool]:
    """The text of one printed line: characters left to right, a space only where the PDF has one or where
    two Latin characters are a word apart; and whether digits were spread apart by the layout."""
    out: list[str] = []
    spread = False
    previous: dict[str, Any] | None = None
    for ch in sorted(chars, key=lambda c: c["x0"]):
        text = ch["text"]
        if previous is not None and not text.isspace() and out and not out[-1].isspace():
            gap = ch["x0"] - previous["x1"]
            size = max(float(ch.get("size") or 10), 1.0)
            last = out[-1][-1]
            if not _is_cjk(last) and not _is_cjk(text[:1]) and gap > 0.25 * size:
                if last.isdigit() and text[:1].isdigit():
                    spread = True
                out.append(" ")
        out.append(text)
        previous = ch
    return "".join(out), spread


def _lines(chars: list[dict[str, Any]], page: int) -> list[_Line]:
    """Characters grouped into printed lines (by their vertical position), top to bottom."""
    lines: list[list[dict[str, Any]]] = []
    for ch in sorted(chars, key=lambda c: (round(c["top"], 1), c["x0"])):
        size = float(ch.get("size") or 10)
        if lines and abs(lines[-1][0]["top"] - ch["top"]) <= 0.45 * size:
            lines[-1].append(ch)
        else:
            lines.append([ch])
    out = []
    for group in lines:
        text, _ = _join_chars(group)
        text = _SPACES.sub(" ", text).lstrip()  # a space ending a line is kept: 7 | 条 wraps as 7 条
        if text.strip():
            out.append(_Line(page, min(c["x0"] for c in group), max(c["x1"] for c in group), min(c["top"] for c in group),
                             max(c["bottom"] for c in group), statistics.median(float(c.get("size") or 10) for c in group), text,
                             group))
    return out


def _cell_text(chars: list[dict[str, Any]]) -> tuple[str, str]:
    """A cell's text (its printed lines joined: wrapped labels and one-character-a-line labels read whole)
    and, when its digits were split apart by the layout, the text as printed."""
    lines: list[list[dict[str, Any]]] = []
    for ch in sorted(chars, key=lambda c: (round(c["top"], 1), c["x0"])):
        if lines and abs(lines[-1][0]["top"] - ch["top"]) <= 0.45 * float(ch.get("size") or 10):
            lines[-1].append(ch)
        else:
            lines.append([ch])
    texts = []
    spread = False
    for group in lines:
        text, apart = _join_chars(group)
        spread = spread or apart
        texts.append(_SPACES.sub(" ", text).strip())
    text = ""
    for piece in texts:
        if text and piece and text[-1].isascii() and text[-1].isalnum() and piece[0].isascii() and piece[0].isalnum():
            text += " "
        text += piece
    if _SPLIT_DIGITS.match(text) and (spread or " " in text):
        return text.replace(" ", ""), text
    return text, ""
