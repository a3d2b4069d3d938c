"""Narrative blocks → styled paragraphs: numbering by depth, run-in headings, punctuation.

Pure logic over the data model (no .docx): the renderer turns the :class:`Para` list into XML, and the
extractor will use :func:`number_for` / :func:`strip_number` to read numbering back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
import math
from typing import Any


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


#: How much the body styles condense each character, in body characters (5 twips of a 16 pt character;
#: see :class:`docxreport.docx.ooxml.Layout`).
BODY_CONDENSING = 5 / 320


#: The space word processors add between Chinese and Latin letters or digits (w:autoSpaceDE/DN, on by
#: default; LibreOffice always adds it), in body characters: 3.5 pt at 16 pt, measured in LibreOffice's PDF.
AUTO_SPACE = 3.5 / 16


def advance_width(text: str, condensing: float = BODY_CONDENSING) -> float:
    """Printed width of ``text`` in body characters (the unit of ``w:rightChars``): an ideograph is one em,
    a digit or Latin letter of the Times-metric face half an em, every character is condensed by
    ``condensing``, and each change between Chinese and Latin script adds :data:`AUTO_SPACE`
    (``2025年1月20日`` has five)."""
    wide = [ord(ch) >= 0x2E80 for ch in text]
    changes = sum(a != b for a, b in zip(wide, wide[1:]))
    return sum((1.0 if w else 0.5) - condensing for w in wide) + changes * AUTO_SPACE


#: Endings of the parts of an organ's name (place, government, department): a name breaks after them.
_NAME_PART_ENDS = ("人民政府", "委员会", "办公室", "办公厅", "办事处", "自治区", "自治州", "自治县", "省", "市", "区", "县",
                   "州", "盟", "旗", "镇", "乡", "街道", "厅", "局", "委", "办", "中心", "院", "署", "处")
# …unless the next character continues the word (市场监督管理局, 区域, 县级)
_NAME_CONTINUES = set("场域级属辖直长")


#: Words a name never breaks inside, though one of their characters ends a part (人民政府办|公室, 街道|办事处).
_NAME_WORDS = _NAME_PART_ENDS + ("街道办事处",)


def _name_cuts(name: str) -> list[int]:
    """Where ``name`` may break between the parts of an organ's name: after 省/市/县/人民政府/局…, or before an
    opening bracket; never inside one of those words (办公室, 街道办事处)."""
    inside: set[int] = set()
    for word in _NAME_WORDS:
        if len(word) > 1:
            start = name.find(word)
            while start >= 0:
                inside.update(range(start + 1, start + len(word)))
                start = name.find(word, start + 1)
    return [i for i in range(1, len(name)) if i not in inside
            and ((name[:i].endswith(_NAME_PART_ENDS) and name[i] not in _NAME_CONTINUES) or name[i] in "（(")]


def break_name(name: str, max_chars: float) -> list[str]:
    """``name`` in as few lines of at most ``max_chars`` body characters as possible, broken only between its
    parts (after 省/市/县/人民政府/局…, or before an opening bracket), the lines as even as possible; the name
    as one line when it fits or cannot be broken so."""
    if advance_width(name) <= max_chars:
        return [name]
    cuts = _name_cuts(name)
    best: list[str] | None = None
    for count in (2, 3):
        for chosen in combinations(cuts, count - 1):
            bounds = [0, *chosen, len(name)]
            lines = [name[a:b] for a, b in zip(bounds, bounds[1:])]
            if all(advance_width(line) <= max_chars for line in lines):
                if best is None or max(map(advance_width, lines)) < max(map(advance_width, best)):
                    best = lines
        if best is not None:
            return best
    return [name]


# --------------------------------------------------------------------------- title lines

#: GB/T 9704 page geometry (twips) and the title's size (half-points), which :class:`docxreport.docx.ooxml.Layout`
#: takes as its defaults: the title's line length is derived from them here, so that the .docx, the web page
#: and every reader break a title line at the same points.
PAGE_WIDTH_TWIPS = 11906
MARGIN_LEFT_TWIPS = 1588  # 28 mm
MARGIN_RIGHT_TWIPS = 1474  # 26 mm
TITLE_HALF_POINTS = 44  # 2号 22 pt


def title_chars(text_width_twips: int = PAGE_WIDTH_TWIPS - MARGIN_LEFT_TWIPS - MARGIN_RIGHT_TWIPS,
                title_half_points: int = TITLE_HALF_POINTS) -> float:
    """How many title characters (ideographs of the title's size, not condensed) one line of the text block
    holds: 442.2 pt / 22 pt = 20.1 on the GB/T 9704 page."""
    return text_width_twips / (title_half_points * 10)


#: A title line breaks between the organ's parts, before 关于 and before a year (2024年…); only when that
#: takes more lines, also before 政府信息公开.
_TITLE_BREAKS_BEFORE = ("关于",)
_TITLE_WEAK_BREAKS_BEFORE = ("政府信息公开",)
#: a title line never breaks into more lines than this (the schema's 200 characters make 10 at most)
_TITLE_LINES_MAX = 16


def _title_cuts(line: str, weak: bool = False) -> list[int]:
    """Where a title line may break: between the organ's parts, before 关于, before a year (``2024年``), and
    with ``weak`` before 政府信息公开; never next to a space, which a reader trims from a printed line's edges."""
    cuts = set(_name_cuts(line))
    for word in _TITLE_BREAKS_BEFORE + (_TITLE_WEAK_BREAKS_BEFORE if weak else ()):
        start = line.find(word, 1)
        while start > 0:
            cuts.add(start)
            start = line.find(word, start + 1)
    for i in range(1, len(line) - 4):
        if line[i:i + 4].isascii() and line[i:i + 4].isdigit() and line[i + 4] == "年" and not line[i - 1].isdigit():
            cuts.add(i)
    return sorted(i for i in cuts if not line[i - 1].isspace() and not line[i].isspace())


def _balanced_lines(text: str, cuts: Sequence[int], max_chars: float) -> list[str] | None:
    """``text`` cut at some of ``cuts`` into as few lines of at most ``max_chars`` title characters as
    possible, the longest line as short as possible (the earlier cut on a tie); None when no choice fits.
    A table of the best cover of each prefix by k lines: the widths from prefix sums, each line end looking back
    only as far as a line reaches, so a 200-character line with a cut after every character stays fast."""
    bounds = [0, *cuts, len(text)]
    wide = [ord(ch) >= 0x2E80 for ch in text]
    advance = [0.0]
    for w in wide:
        advance.append(advance[-1] + (1.0 if w else 0.5))
    changes = [0, 0]  # changes[k]: script changes between neighbours among text[:k]
    for k in range(1, len(text)):
        changes.append(changes[-1] + (wide[k - 1] != wide[k]))

    def width(a: int, b: int) -> float:
        return advance[b] - advance[a] + (changes[b] - changes[a + 1]) * AUTO_SPACE

    if any(width(a, b) > max_chars for a, b in zip(bounds, bounds[1:])):
        return None  # a part between two cuts is longer than a line
    # best[j]: (lines, longest line) of the best cover of text[:bounds[j]]; on an optimal cover every prefix
    # ending at a cut is covered in the fewest lines, and then with the shortest longest line, so one pass does
    n = len(bounds)
    best: list[tuple[int, float]] = [(0, 0.0)] + [(n, math.inf)] * (n - 1)
    came = [0] * n
    for j in range(1, n):
        for i in range(j - 1, -1, -1):  # lines ending at bounds[j], shortest first: stop at the first too long
            w = width(bounds[i], bounds[j])
            if w > max_chars:
                break
            score = (best[i][0] + 1, max(best[i][1], w))
            if score <= best[j]:  # on a tie, the earlier cut
                best[j], came[j] = score, i
    if best[-1][0] > _TITLE_LINES_MAX:
        return None
    lines, j = [], n - 1
    while j:
        i = came[j]
        lines.append(text[bounds[i]:bounds[j]])
        j = i
    return lines[::-1]


def _fewest_lines(text: str, cuts: Sequence[int], max_chars: float) -> int:
    """How many lines :func:`_balanced_lines` would need (greedy: each line as long as it can be); a large
    number when no choice fits."""
    bounds = [*cuts, len(text)]
    lines, start, last = 1, 0, 0
    for b in bounds:
        if advance_width(text[start:b], 0) > max_chars:
            if last == start:
                return len(text) + 1
            lines, start = lines + 1, last
            if advance_width(text[start:b], 0) > max_chars:
                return len(text) + 1
        last = b
    return lines


def break_title(line: str, max_chars: float | None = None) -> list[str]:
    """A title line as printed, one entry per printed line: a line break in the text starts a new line, and a
    line longer than ``max_chars`` title characters (default: :func:`title_chars`) breaks at sensible points
    (between the organ's parts, before 关于 or a year, and before 政府信息公开 only when that saves a line; as
    few lines as possible, as even as possible), never inside a word. The printed lines are trimmed and blank ones left out, as a reader sees
    them; a line that cannot be broken so stays whole (the word processor wraps it)."""
    limit = title_chars() if max_chars is None else max_chars
    printed: list[str] = []
    for part in line.split("\n"):
        part = part.strip()
        if not part:
            continue
        if advance_width(part, 0) <= limit:
            printed.append(part)
        else:
            strong_cuts, weak_cuts = _title_cuts(part), _title_cuts(part, weak=True)
            strong = _balanced_lines(part, strong_cuts, limit)
            if strong and (len(weak_cuts) == len(strong_cuts) or _fewest_lines(part, weak_cuts, limit) >= len(strong)):
                printed.extend(strong)
            else:
                printed.extend(_balanced_lines(part, weak_cuts, limit) or strong or [part])
    return printed


def printed_title(lines: Sequence[str], max_chars: float | None = None) -> list[str]:
    """Every printed line of the title ``lines`` (:func:`break_title`)."""
    return [p for line in lines for p in break_title(line, max_chars)]


def _starts_title_tail(line: str) -> bool:
    """Whether a printed line starts where a title's own words start (关于, a year, 政府信息公开), not an organ's part."""
    return line.startswith(_TITLE_BREAKS_BEFORE + _TITLE_WEAK_BREAKS_BEFORE) or (
        len(line) > 4 and line[:4].isascii() and line[:4].isdigit() and line[4] == "年")


def join_title(printed: Sequence[str], max_chars: float | None = None) -> list[str]:
    """The title lines that print as ``printed``: neighbouring printed lines are one title line when the later
    one continues an organ's name (it does not start with 关于, a year or 政府信息公开: a title written as organ
    and ``2024年…`` stays two lines) and :func:`break_title` breaks their join exactly into them (the longest
    such run from each line on). What a reader gives for a title it finds as printed lines, and so the form
    in which any title reads back (``join_title(printed_title(lines))``)."""
    out: list[str] = []
    i = 0
    while i < len(printed):
        j = i + 1
        while j < len(printed) and j - i < _TITLE_LINES_MAX and not _starts_title_tail(printed[j]) \
                and break_title("".join(printed[i:j + 1]), max_chars) == list(printed[i:j + 1]):
            j += 1
        out.append("".join(printed[i:j]))
        i = j
    return out


def signature_indents(organ: str, date_text: str, line_chars: int = 28, chars_from_right: float = 2.0) -> tuple[float, float]:
    """Right indents (in characters) of the signature lines per GB/T 9704 7.3.5.1: the organ name 右空二字
    and the date starting two characters right of the name's first character; when the date is the longer
    line, the date is 右空二字 and the name moves left to keep that relation. Widths are printed widths
    (:func:`advance_width`: digits are half an em, every character is condensed). ``organ`` may hold line
    breaks (:func:`break_name`); a name too long for that relation on one ``line_chars`` line gives both lines
    右空二字."""
    name = max(advance_width(line) for line in organ.split("\n"))
    date = advance_width(date_text)
    two = advance_width("二字")
    if "\n" in organ or name + chars_from_right + two > line_chars:
        return chars_from_right, chars_from_right
    if date + two > name:  # the date is the longer line
        date_right = chars_from_right
        return round(date_right + date + two - name, 2), date_right
    return chars_from_right, round(chars_from_right + name - two - date, 2)


def date_text(iso: str) -> str:
    """``2025-01-20`` → ``2025年1月20日`` (no leading zeros)."""
    year, month, day = (int(p) for p in iso.split("-"))
    return f"{year}年{month}月{day}日"
