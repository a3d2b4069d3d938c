"""Narrative blocks → styled paragraphs: numbering by depth, run-in headings, punctuation.

Pure logic over the data model (no .docx): the renderer turns the :class:`Para` list into XML, and the
extractor will use :func:`number_for` / :func:`strip_number` to read numbering back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..format import CN_NUMERALS

RUN_IN_STOPS = ("。", "：", ":")
BODY_STYLE = "RunInBody"


@dataclass(frozen=True)
class Run:
    """A piece of paragraph text; ``style`` is a character style id (None: the paragraph's font)."""

    text: str
    style: str | None = None


@dataclass(frozen=True)
class Para:
    """A paragraph to write: its paragraph style (None: body text) and runs."""

    style: str | None
    runs: tuple[Run, ...]

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)

    @property
    def run_in(self) -> bool:
        """A heading with its text in the same paragraph."""
        return self.style is not None and len(self.runs) > 1


#: every character :func:`chinese_numeral` writes
NUMERAL_CHARS = "零一二三四五六七八九十百千万"
#: the largest number :func:`chinese_numeral` writes; the schema bounds every block list below it
NUMERAL_MAX = 99_999
_DIGITS = "零一二三四五六七八九"


def _below_ten_thousand(n: int) -> str:
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            out += ("零" if zero and out else "") + _DIGITS[digit] + unit
            zero = False
        else:
            zero = True
    return out


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 99 → 九十九, 100 → 一百, 101 → 一百零一, 110 → 一百一十,
    10000 → 一万, 10010 → 一万零一十; up to :data:`NUMERAL_MAX`."""
    if not 1 <= n <= NUMERAL_MAX:
        raise ValueError(f"no numeral for {n}")
    high, low = divmod(n, 10000)
    if high:
        text = _below_ten_thousand(high) + "万" + (("零" if low < 1000 else "") + _below_ten_thousand(low) if low else "")
    else:
        text = _below_ten_thousand(low)
    return text[1:] if text.startswith("一十") else text  # 十二, not 一十二 (but 一百一十)


def number_for(patterns: Sequence[str], level: int, n: int) -> str:
    """The number of the ``n``-th heading at ``level`` (1 = 一、, 2 = （一）, 3 = 1., 4 = （1））."""
    return patterns[level - 1].format(cn=chinese_numeral(n), n=n)


def numbered(heading: str, number: str) -> str:
    """``number + heading``, unless the heading already starts with that very number."""
    return heading if heading.startswith(number) else number + heading


def run_in_heading(heading: str) -> str:
    """A run-in heading keeps its own closing punctuation, otherwise takes ``。``."""
    return heading if heading.endswith(RUN_IN_STOPS) else heading + "。"


def paragraphs(blocks: Sequence[Any], patterns: Sequence[str], level: int = 2) -> Iterator[Para]:
    """The paragraphs of a block list whose headings are at ``level`` (section bodies start at 2)."""
    n = 0
    for block in blocks:
        if isinstance(block, str):
            yield Para(None, (Run(block),))
            continue
        n += 1
        title = numbered(block["heading"], number_for(patterns, level, n))
        style = f"Heading{level}"
        if "text" in block:
            yield Para(style, (Run(run_in_heading(title)), Run(block["text"], BODY_STYLE)))
        else:
            yield Para(style, (Run(title),))
            yield from paragraphs(block["body"], patterns, level + 1)


def display_width(text: str) -> float:
    """Width in body characters: CJK and full-width forms are 1, ASCII (half-width digits) 0.5."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def signature_indents(organ: str, date_text: str, line_chars: int = 27, chars_from_right: float = 2.0) -> tuple[float, float]:
    """Right indents (in characters) of the signature lines per GB/T 9704 7.3.5.1: the organ name 右空二字
    and the date starting two characters right of the name's first character; when the date is the longer
    line, the date is 右空二字 and the name moves left to keep that relation. A name too long for that on
    one ``line_chars`` line wraps: both lines are then 右空二字."""
    name, date = display_width(organ), display_width(date_text)
    if name + chars_from_right + 2 > line_chars:
        return chars_from_right, chars_from_right
    if date + 2 > name:  # the date is the longer line
        date_right = chars_from_right
        return date_right + date + 2 - name, date_right
    return chars_from_right, chars_from_right + name - 2 - date


def date_text(iso: str) -> str:
    """``2025-01-20`` → ``2025年1月20日`` (no leading zeros)."""
    year, month, day = (int(p) for p in iso.split("-"))
    return f"{year}年{month}月{day}日"
