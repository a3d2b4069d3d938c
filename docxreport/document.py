"""Paragraphs and tables in reading order → report data: the document reader every input format shares.

A reader (.docx, PDF, web page) turns its input into a :class:`Document`: its paragraphs in order, with the
paragraph style where the format has one (a .docx docxreport rendered marks headings, title and signature by
style; other inputs have none) and its tables as :class:`~docxreport.tables.FoundTable` grids.
:func:`read_report` finds the title (organ and year), the six sections by their headings, the narrative's
headings by their numbering, the signature, and reads the tables through :mod:`docxreport.tables`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import NotAReportError
from .format import CN_NUMERALS, Format, Section, load_format
from .problems import Problem
from .report import blocks, readback, rules
from .tables import FoundTable, Reading, classify, read_tables, squash

# Every pattern here is linear in its text: anchored at one start (``^``), no two quantifiers over the
# same characters side by side (``\s*`` next to ``\s*``, ``.+?\s*$``); what a pattern would need to
# backtrack over is stripped in Python first. tests/test_regex_linear.py checks each with hostile texts.
_CN = f"[{CN_NUMERALS}]+"
_LEVEL_NUMBERS = readback.LEVEL_NUMBERS  # heading numbers by level, as written in published reports
_SECTION = re.compile(rf"^\s*({_CN})\s*[、.．]")  # ^: linear under search too, not only match
_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DUN_HEADING = re.compile(r"^\d+\s*、")
_HEADING_STYLE = re.compile(r"^Heading[2-4]$")
_YEAR_AT_END = re.compile(r"\d{4}$")
_TITLE_TAIL = "政府信息公开工作年度报告"
_STOPS = "。：:"
#: a report has three tables (some split in pieces); a document with more is not read
TABLES_MAX = 200
#: the title is found among this many paragraphs at the start (a long organ name prints as several lines)
_TITLE_PARAGRAPHS = 12
#: texts longer than this are never a title, section heading or date line: no pattern ever sees more
_LINE_MAX = 400


def _title_end(text: str) -> tuple[int, int] | None:
    """``(start, year)`` when ``text`` ends with ``{year}年[度]政府信息公开工作年度报告`` (spaces allowed
    between the pieces): ``start`` is where the year begins. Read from the end, without backtracking."""
    head = text.rstrip()
    if len(head) > _LINE_MAX * 4 or not head.endswith(_TITLE_TAIL):
        return None
    head = head[: -len(_TITLE_TAIL)].rstrip()
    if head.endswith("度"):
        head = head[:-1].rstrip()
    if not head.endswith("年"):
        return None
    head = head[:-1].rstrip()
    year = _YEAR_AT_END.search(head[-4:])
    if not year:
        return None
    return len(head) - 4, int(year.group())


def _date_of(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a date line such as ``2025年1月20日``."""
    text = text.strip()
    match = _DATE.match(text) if len(text) <= _LINE_MAX else None
    if not match or match.end() != len(text):
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


@dataclass
class Paragraph:
    """A paragraph: its text, its paragraph style id (``""`` when the input has none) and its runs as
    (text, character style id) pairs (one run when the input has no runs)."""

    text: str
    style: str = ""
    runs: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Document:
    """What every reader produces: paragraphs and tables in reading order, and the input's own title
    (a .docx's title property, a web page's ``<title>``, a PDF's metadata), used when the title lines lack
    the year."""

    name: str
    items: list[Paragraph | FoundTable]
    title: str = ""
    problems: list[Problem] = field(default_factory=list)  # what the reader itself met (e.g. digits split by a PDF's layout)


def _section_of(para: Paragraph, fmt: Format, result: Reading) -> Section | None:
    if len(para.text) > 60:
        return None
    match = _SECTION.match(para.text)
    if not match or not para.text[match.end():].strip():
        return None
    number, title = match.group(1), squash(para.text[match.end():])
    section = next((s for s in fmt.sections if s.number == number), None)
    if section is None:
        return None
    if title == section.title:
        return section
    known = fmt.variants["section_titles"].get(number, [])
    similar = difflib.SequenceMatcher(None, title, section.title).ratio()
    if title in known or similar >= 0.6 or para.style == "Heading1":
        result.warn((section.key,), "section_heading", f"章节标题“{para.text.strip()}”与国家格式“{section.heading}”不同，按“{section.heading}”读取", found=para.text)
        return section
    return None


def section_heading(text: str, fmt: Format) -> Section | None:
    """The format's section a line of text is the heading of (its title variants included), or None: for
    readers that must find where a table's section begins before reading the document."""
    return _section_of(Paragraph(text, "", [(text, "")]), fmt, Reading(fmt))


# --------------------------------------------------------------------------- narrative


def _is_body(style: str) -> bool:
    """The run-in body's character style (LibreOffice, converting .odt/.doc to .docx, writes ``RuninBody``)."""
    return style.lower() == blocks.BODY_STYLE.lower()


def _strip_number(text: str, level: int) -> str:
    return _LEVEL_NUMBERS[level].sub("", text, count=1)


def _heading_level(para: Paragraph) -> int | None:
    if _HEADING_STYLE.fullmatch(para.style):
        return int(para.style[-1])
    for level, pattern in _LEVEL_NUMBERS.items():
        if pattern.match(para.text):
            return level
    return None


def _run_in(para: Paragraph, level: int, styled: bool) -> tuple[str, str] | None:
    """(heading, text) of a run-in heading; None for a heading on its own line. In a document docxreport
    wrote, the body run's character style marks the split exactly; elsewhere the first stop after the
    heading (。：:) does."""
    if styled and not any(_is_body(style) for _, style in para.runs):
        return None
    if any(_is_body(style) for _, style in para.runs):
        head = "".join(t for t, s in para.runs[: next(i for i, (_, s) in enumerate(para.runs) if _is_body(s))])
        body = para.text[len(head):]
        head = _strip_number(head, level)
        return (head[:-1] if head.endswith("。") else head), body
    rest = _strip_number(para.text, level)
    for i, ch in enumerate(rest[:40]):
        if ch in _STOPS and i > 0 and rest[i + 1:].strip():
            return (rest[:i] if ch == "。" else rest[: i + 1]), rest[i + 1:]
    return None


def _blocks(paras: list[Paragraph], path: tuple[str | int, ...], result: Reading, styled: bool) -> list[Any]:
    """Nest paragraphs into blocks: numbered headings open bodies, deeper headings nest inside them."""
    top: list[Any] = []
    stack: list[tuple[int, list[Any]]] = []  # (level, body) of the open headings
    for para in paras:
        if not para.text.strip():
            continue
        level = _heading_level(para) if (not styled or para.style.startswith("Heading")) else None
        if level is not None and not styled and len(para.text) > 60 and _run_in(para, level, styled) is None:
            level = None  # a long numbered paragraph is text, not a heading
        if level is None:
            (stack[-1][1] if stack else top).append(para.text)
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        if not styled and _DUN_HEADING.match(para.text) and level == 3:
            result.warn(path, "numbering", f"“{para.text[:12]}…”使用“1、”式序号，按“1.”读取", found=para.text[:20])
        target = stack[-1][1] if stack else top
        run_in = _run_in(para, level, styled)
        if run_in:
            target.append({"heading": run_in[0], "text": run_in[1]})
        else:
            body: list[Any] = []
            target.append({"heading": _strip_number(para.text, level).strip(), "body": body})
            stack.append((level, body))
    return top



_NUMBER_OF_LEVEL = {  # the number itself, by level (level 1 is the section heading)
    2: re.compile(rf"^[（(]\s*({_CN})\s*[）)]"),
    3: re.compile(r"^(\d+)"),
    4: re.compile(r"^[（(]\s*(\d+)\s*[）)]"),
}
_CN_VALUES = {blocks.chinese_numeral(n): n for n in range(1, 100)}


@dataclass
class _Outline:
    """A heading's body while checking the outline: where it is and the last number seen at each level."""

    level: int
    path: tuple[str | int, ...]
    children: int = 0
    last: dict[int, int] = field(default_factory=dict)


def _outline(paras: list[Paragraph], path: tuple[str | int, ...], result: Reading, fmt: Format, styled: bool) -> None:
    """Warn at each heading of a published report whose number is out of order, starts again, or is of
    another level than its place (a ``1.`` heading straight under ``一、``). Nests exactly like
    :func:`_blocks`, so the warning's path is the heading's; a report docxreport wrote is numbered by it."""
    if styled:
        return
    root = _Outline(1, path)
    stack: list[_Outline] = []
    for para in paras:
        if not para.text.strip():
            continue
        level = _heading_level(para)
        if level is not None and len(para.text) > 60 and _run_in(para, level, styled) is None:
            level = None
        container = stack[-1] if stack else root
        if level is None:
            container.children += 1
            continue
        while stack and stack[-1].level >= level:
            stack.pop()
        container = stack[-1] if stack else root
        index, container.children = container.children, container.children + 1
        where = (*container.path, index, "heading")
        match = _NUMBER_OF_LEVEL[level].match(para.text.strip())
        number = (_CN_VALUES.get(match.group(1)) if level == 2 else int(match.group(1))) if match else None
        shown = para.text.strip()[:20]
        lead = _LEVEL_NUMBERS[level].match(para.text.strip())
        written = lead.group(0).strip() if lead else ""
        if level > container.level + 1:
            above = blocks.number_for(fmt.heading_numbering, level - 1, 1)
            result.warn(where, "outline", f"小标题“{shown}”用的是第{level}级序号“{written}”，但它前面没有上一级（“{above}”式）标题", found=shown)
        if number is not None:
            expected = container.last.get(level, 0) + 1
            if number != expected:
                want = blocks.number_for(fmt.heading_numbering, level, expected) if expected < 100 else str(expected)
                if number == 1:
                    result.warn(where, "outline", f"小标题“{shown}”的序号又从“{written}”开始，按顺序应为“{want}”", found=shown)
                else:
                    result.warn(where, "outline", f"小标题“{shown}”的序号为“{written}”，按顺序应为“{want}”", found=shown)
            container.last[level] = number
        if _run_in(para, level, styled) is None:
            stack.append(_Outline(level, (*container.path, index, "body")))


def _title(paras: list[Paragraph], fmt: Format, result: Reading, properties_title: str) -> list[Paragraph]:
    """Title lines → organ, year (and title when not the default); returns the paragraphs after them.
    A custom title without the year is completed from the document's title property, which docxreport
    sets to ``{organ}{year}年政府信息公开工作年度报告``."""
    content = [p for p in paras if p.text.strip()]
    styled = [p for p in content if p.style == "Title"]
    if styled:
        lines = styled
    else:  # the title ends at the first paragraph ending in the title's tail, alone or joined to those before it
        end = next((i for i, p in enumerate(content[:_TITLE_PARAGRAPHS])
                    if _title_end(p.text) or _title_end("".join(q.text.strip() for q in content[: i + 1]))), None)
        lines = content[: end + 1] if end is not None else content[:1]
    # the printed lines: a long title line is broken by line breaks (.docx), read as several paragraphs (web
    # page) or as one (a PDF reader cannot tell a wide centred line from a wrapped one), so break them again …
    printed = blocks.printed_title([p.text for p in lines])
    joined = "".join(printed)
    match = _title_end(joined)
    if not match and _title_end(properties_title or ""):
        joined = properties_title
        match = _title_end(joined)
    if match:
        result.data["organ"] = joined[: match[0]].strip()
        result.data["year"] = match[1]
    else:
        result.error(("year",), "title", f"标题“{joined[:40]}”中没有找到“某年政府信息公开工作年度报告”，无法确定机关名称和年度")
    if "organ" in result.data:
        default = [line.format(organ=result.data["organ"], year=result.data["year"]) for line in fmt.title_lines]
        if printed != blocks.printed_title(default):  # … joined into title lines where the layout broke them
            result.data["title"] = blocks.join_title(printed)
    if not lines:
        return paras
    last = next(i for i, p in enumerate(paras) if p is lines[-1])  # by identity: titles may repeat a line
    return paras[last + 1:]


def _signature(paras: list[Paragraph], result: Reading, styled: bool) -> list[Paragraph]:
    """Take the signature (organ, date) off the end of the last section (in a document docxreport
    wrote, only Signature-style paragraphs are a signature: section text may end with a date)."""
    content = [p for p in paras if p.text.strip()]
    if styled:
        content = [p for p in content if p.style == "Signature"]
    date = _date_of(content[-1].text) if content else None
    if date is None:
        return paras
    year, month, day = date
    result.data["date"] = f"{year:04d}-{month:02d}-{day:02d}"
    position = {id(p): i for i, p in enumerate(paras)}
    cut = position[id(content[-1])]
    organ = squash(str(result.data.get("organ", "")))
    if len(content) >= 2 and (content[-2].style == "Signature" or (
            organ and difflib.SequenceMatcher(None, squash(content[-2].text), organ).ratio() >= 0.6)):
        cut = position[id(content[-2])]  # the organ line: only when it names the organ, text is never dropped
    return paras[:cut]


def read_report(document: Document) -> tuple[dict[str, Any], list[Problem]]:
    """Read a document back into report data.

    Returns ``(data, problems)``: the data in the data model (counts as written; totals as printed, not
    recomputed) and what was met on the way: warnings for variants of the format, errors for what could
    not be read. Raises :class:`~docxreport.errors.NotAReportError` for a document that is not a report.
    """
    fmt = load_format()
    result = Reading(fmt)
    result.problems.extend(document.problems)
    items = document.items
    styled = any(isinstance(i, Paragraph) and i.style == "Heading1" for i in items)

    # split the body at the section headings
    starts: list[tuple[int, Section]] = []
    for index, item in enumerate(items):
        if isinstance(item, Paragraph) and (not styled or item.style == "Heading1"):
            section = _section_of(item, fmt, result)
            if section and all(s.key != section.key for _, s in starts):
                starts.append((index, section))
    tables = [i for i in items if isinstance(i, FoundTable)]
    if len(tables) > TABLES_MAX:
        raise NotAReportError(f"{document.name}: 不是政府信息公开工作年度报告：表格过多（{len(tables)} 个，最多 {TABLES_MAX} 个）")
    if not starts and not any(classify(t, fmt) for t in tables):
        raise NotAReportError(f"{document.name}: 不是政府信息公开工作年度报告：没有找到“一、总体情况”等章节标题，也没有找到统计表")

    result.data["format"] = fmt.id
    first = starts[0][0] if starts else len(items)
    head = [i for i in items[:first] if isinstance(i, Paragraph)]
    preamble_paras = _title(head, fmt, result, document.title)
    preamble = _blocks(preamble_paras, ("preamble",), result, styled)
    if preamble:
        result.data["preamble"] = preamble
    bounds = [s[0] for s in starts[1:]] + [len(items)]
    found_sections = {s.key for _, s in starts}
    for (start, section), end in zip(starts, bounds):
        paras = [i for i in items[start + 1:end] if isinstance(i, Paragraph)]
        if section is starts[-1][1]:
            paras = _signature(paras, result, styled)
        if not section.is_table:
            result.data[section.key] = _blocks(paras, (section.key,), result, styled)
            _outline(paras, (section.key,), result, fmt, styled)
        elif any(p.text.strip() for p in paras):
            result.warn((section.key,), "extra_text", f"“{section.heading}”下除表格外还有文字：“{next(p.text for p in paras if p.text.strip())[:30]}…”，未读取")
    for section in fmt.sections:
        if section.key not in found_sections:
            result.error((section.key,), "missing_section", f"没有找到章节“{section.heading}”")
    read_tables(tables, result)
    return _ordered(result.data, fmt), result.problems


def _ordered(data: dict[str, Any], fmt: Format) -> dict[str, Any]:
    """Keys in the data model's order, so extracted JSON reads like a hand-written report."""
    order = ["format", "organ", "year", "title", "date", "preamble"] + [s.key for s in fmt.sections]
    return {k: data[k] for k in order if k in data}


def _canonical_blocks(items: list[Any]) -> list[Any]:
    """Blocks as a printed document can express them: a paragraph after a heading's body cannot be told
    apart from the body's last paragraph, so it reads back (and is normalised) into the deepest open body."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict) and "body" in item:
            out.append({**item, "body": _canonical_blocks(item["body"])})
        elif isinstance(item, str) and out and isinstance(out[-1], dict) and "body" in out[-1]:
            body = out[-1]["body"]
            while body and isinstance(body[-1], dict) and "body" in body[-1]:
                body = body[-1]["body"]
            body.append(item)
        else:
            out.append(item)
    return out


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """What :func:`extract` gives back for rendered ``data``: totals filled in, ``format`` set, the
    editor-only ``$schema`` dropped, a title equal to the default omitted, paragraphs after a heading's
    body moved into it, the organ, title lines and headings as printed text reads back
    (:func:`docxreport.report.readback.read_back`, which ``validate`` warns about), for round-trip
    comparisons."""
    fmt = load_format()
    full = rules.complete(readback.read_back(data, fmt)[0], fmt)
    full.pop("$schema", None)
    full["format"] = fmt.id
    title = full.get("title")
    if isinstance(title, str):
        full["title"] = [title]
    if full.get("title") == [line.format(organ=full["organ"], year=full["year"]) for line in fmt.title_lines]:
        del full["title"]  # the default title reads back as no title
    for key in ["preamble"] + [s.key for s in fmt.sections if not s.is_table]:
        if key in full:
            full[key] = _canonical_blocks(full[key])
    if full.get("preamble") == []:
        del full["preamble"]
    return _ordered(full, fmt)


__all__ = ["Document", "Paragraph", "normalise", "read_report", "section_heading"]
