"""What a printed report reads back as: the organ, title lines and headings as the reader will find them.

A printed document cannot say everything the data can: the edges of a title line or a heading are trimmed
(spaces, U+3000, NBSP, U+2028, U+0085 look like layout), a run-in heading's closing ``。`` is the one the
layout adds, and a heading that begins with its own number (``1.`` as the first third-level heading) is
printed without a second number, so the number cannot be told from the text. :func:`read_back` gives the
data as it will read back, and a warning (rule ``text.read_back``) for each value that differs, so that
``validate`` says what will change and ``extract(render(x)) == normalise(x)``
(:func:`docxreport.document.normalise` applies it).

The heading numbers of each level, as published reports write them, are defined here for both sides:
:mod:`docxreport.document` reads headings with the same patterns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..format import CN_NUMERALS, Format
from ..problems import PathPart, Problem
from . import blocks

_CN_HEADING = f"[{blocks.NUMERAL_CHARS}{CN_NUMERALS}]+"
#: heading numbers by level (linear: anchored, one quantifier per kind of character)
LEVEL_NUMBERS = {
    2: re.compile(rf"^[（(]{_CN_HEADING}[）)]\s*"),
    3: re.compile(r"^\d+\s*[.．、]\s*"),
    4: re.compile(r"^[（(]\d+[）)]\s*"),
}


def strip_number(text: str, level: int) -> str:
    """``text`` without the heading number of ``level`` it begins with (and the space after it)."""
    return LEVEL_NUMBERS[level].sub("", text, count=1)


def heading_read_back(heading: str, level: int, n: int, patterns: Sequence[str], run_in: bool) -> str:
    """The heading text a reader finds for the ``n``-th heading at ``level``, as the renderer prints it."""
    printed = blocks.numbered(heading, blocks.number_for(patterns, level, n))
    if run_in:
        back = strip_number(blocks.run_in_heading(printed), level)
        return back[:-1] if back.endswith("。") else back
    return strip_number(printed, level).strip()


def _why(before: str, after: str) -> str:
    reasons = []
    expected = before.strip()
    if expected != before:
        reasons.append("首尾的空白字符不会保留")
    if expected.endswith("。") and not after.endswith("。"):
        reasons.append("末尾的“。”是排版自动添加的，读回时不含")
        expected = expected[:-1]
    if expected != after:
        reasons.append("开头的序号与自动编号相同，排版时不重复编号，读回时不含")
    return "；".join(reasons)


def _blocks(items: Any, fmt: Format, level: int, path: tuple[PathPart, ...], problems: list[Problem]) -> Any:
    if not isinstance(items, list):
        return items
    out: list[Any] = []
    n = 0
    for index, block in enumerate(items):
        if not isinstance(block, dict) or not isinstance(block.get("heading"), str):
            out.append(block)
            continue
        n += 1
        run_in = "text" in block
        block = dict(block)
        heading = block["heading"]
        if level <= fmt.max_heading_depth and n <= blocks.NUMERAL_MAX and heading.strip():  # blank: the schema says
            back = heading_read_back(heading, level, n, fmt.heading_numbering, run_in)
            if back != heading:
                problems.append(Problem(path + (index, "heading"), "text.read_back",
                                        f"小标题“{heading[:30]}”在文档中读回为“{back[:30]}”：{_why(heading, back)}", "warning"))
                block["heading"] = back
        if not run_in:
            block["body"] = _blocks(block.get("body"), fmt, level + 1, path + (index, "body"), problems)
        out.append(block)
    return out


def _title_as_printed(out: dict[str, Any], fmt: Format, problems: list[Problem]) -> None:
    """The title as its printed lines read back: a line too long for the page prints broken
    (:func:`blocks.break_title`), and a reader joins printed lines into title lines where the layout could have
    broken an organ's name (:func:`blocks.join_title`); a title that prints exactly as the default one reads
    back as it. Only the grouping into lines changes, which the printed page does not show, so only a line
    break inside a title line (which prints as a new line) is warned about."""
    title, organ, year = out.get("title"), out.get("organ"), out.get("year")
    lines = [title] if isinstance(title, str) else title
    if not isinstance(lines, list) or not all(isinstance(t, str) for t in lines) or not isinstance(organ, str) \
            or not isinstance(year, int) or len(lines) > 3 or any(len(t) > 400 for t in lines):
        return  # the schema reports it
    printed = blocks.printed_title(lines)
    default = [line.format(organ=organ, year=year) for line in fmt.title_lines]
    back = default if printed == blocks.printed_title(default) else blocks.join_title(printed)
    if "".join(back) != "".join(t.strip() for t in lines):  # a line break of the text's own became a new line
        problems.append(Problem(("title",), "text.read_back",
                                f"标题按版面分行印出，读回为{len(back)}行：" + "／".join(t[:30] for t in back), "warning"))
    if back != lines:
        out["title"] = back


def read_back(data: Any, fmt: Format) -> tuple[Any, list[Problem]]:
    """``data`` as a printed report reads back (organ, title lines, headings), and a warning for each
    value that changes. Data of the wrong shape is returned as it is (the schema reports it)."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return data, problems
    out = dict(data)
    organ = out.get("organ")
    if isinstance(organ, str) and organ.strip() and organ.strip() != organ:
        out["organ"] = organ.strip()
        problems.append(Problem(("organ",), "text.read_back", f"机关名称首尾有空白字符，文档中不会保留，读回为“{organ.strip()[:30]}”", "warning"))
    title = out.get("title")
    if isinstance(title, str) and title.strip() and title.strip() != title:
        out["title"] = title.strip()
        problems.append(Problem(("title",), "text.read_back", "标题首尾有空白字符，文档中不会保留", "warning"))
    elif isinstance(title, list):
        lines = [t.strip() if isinstance(t, str) else t for t in title]
        for i, (before, after) in enumerate(zip(title, lines)):
            if before != after and after:
                problems.append(Problem(("title", i), "text.read_back", "标题行首尾有空白字符，文档中不会保留", "warning"))
        out["title"] = lines
    _title_as_printed(out, fmt, problems)
    for key in ["preamble"] + [s.key for s in fmt.sections if not s.is_table]:
        if key in out:
            out[key] = _blocks(out[key], fmt, 2, (key,), problems)
    return out, problems
