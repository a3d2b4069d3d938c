"""Warnings on the narrative: what the text says against the tables, this year against last year, and what
is left unfinished. Declared in the format description (``narrative_rules``), run from :func:`check`.

Every rule here yields warnings only, never errors: real reports count loosely (a stated number of requests
that includes last year's carried-over ones), so a report whose tables balance is never blocked by its text.
When a sentence is not clearly about a table item (another subject, a sub-office, a comparison with last
year, an estimate), the rules stay silent rather than guess.

- ``narrative.count``: a count stated in the text (``本年度新收政府信息公开申请40件``, ``二十一件``, ``未收到…申请``
  as 0) differs from the table; the message quotes the sentence and gives both numbers and the table's path.
- ``narrative.placeholder``: a skeleton placeholder (``（请在此填写…）``) is still there.
- ``narrative.empty_section``: section 五 or 六 says only ``无``.
- ``cross_year.in_force``: last year's 现行有效 + this year's 制发 − 废止 ≠ this year's 现行有效.
- ``cross_year.copied_text``: a narrative section is (nearly) last year's text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..format import Format
from ..problems import PathPart, Problem
from . import rules
from .skeleton import PLACEHOLDER

__all__ = ["Alternative", "Item", "Statement", "check", "statements"]

_PLACEHOLDER_START = PLACEHOLDER.split("{", 1)[0]  # "（请在此填写"
_JOINERS = frozenset("，,、和及与共另 \t")
_SKIPPING = frozenset({"skip", "qualifier"})  # a clause with these words states no table count
_FULL_WIDTH = re.compile("[０-９]")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_YEAR = re.compile(r"(?<!\d)(\d{4})\s?年")
_DIGIT = re.compile(r"\d+")
_PUNCTUATION = re.compile(r"[\s。.！!；;：:、，,]+")
_DATE = re.compile(r"(?<!\d)\d{1,2}\s?月(?:\s?\d{1,2}\s?日)?")
_AS_OF = ("截至", "截止", "至")


@dataclass(frozen=True)
class Alternative:
    """One accepted reading of a stated count: the sum of these table cells (``label`` names it)."""

    label: str
    paths: tuple[str, ...]
    declared: str = ""  # as the format writes it (``requests.outcomes.withheld.*.total``), for messages


@dataclass(frozen=True)
class Item:
    """A table item the narrative may state a count of (``本年新收政府信息公开申请``)."""

    family: str
    label: str
    verbs: tuple[str, ...]
    accept: tuple[Alternative, ...]


@dataclass(frozen=True)
class Statement:
    """A count the narrative states about a table item, and how it compares with the table.

    ``values`` holds each accepted alternative's value in the table (None: unknown); ``matched`` is the
    alternative the stated count equals (None: a mismatch, or nothing known to compare with).
    """

    path: tuple[PathPart, ...]
    sentence: str
    item: Item
    stated: int
    values: tuple[int | None, ...]
    matched: Alternative | None

    @property
    def mismatch(self) -> bool:
        return self.matched is None and any(v is not None for v in self.values)


@dataclass(frozen=True)
class _Family:
    id: str
    subjects: tuple[str, ...]
    subject_names_count: bool
    items: tuple[Item, ...]
    zero_item: Item | None


@dataclass(frozen=True)
class _Compiled:
    """The statement rules of a format, compiled once."""

    words: re.Pattern[str]  # every known word, longest first
    kinds: dict[str, tuple[tuple[str, str], ...]]  # word → ((kind, family id), ...)
    kindset: dict[str, frozenset[str]]  # word → its kinds
    verb_items: dict[tuple[str, str], Item]  # (family id, verb) → the item it names
    neutral_words: frozenset[str]
    subjects: re.Pattern[str]  # the subject words alone, to carry a paragraph's subject
    subject_family: dict[str, str]
    exclude_words: frozenset[str]
    units: tuple[str, ...]
    zero_triggers: tuple[str, ...]  # words that can state 0 (未收到…, 无…)
    subject_words: tuple[str, ...]
    clause_split: re.Pattern[str]
    numbers: re.Pattern[str]
    families: dict[str, _Family]
    sentence_split: re.Pattern[str]
    negations: tuple[str, ...]
    not_after_unit: tuple[str, ...]
    not_before_number: frozenset[str]
    zero_spoilers: tuple[str, ...]
    offices: re.Pattern[str]
    generic_before: frozenset[str]
    max_sentence: int
    max_statements: int
    quote_chars: int


def _alternation(words: Sequence[str]) -> str:
    """Literal words as one alternation, longest first so that ``行政复议申请`` wins over ``申请``."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


@cache
def _compiled(fmt: Format) -> _Compiled | None:
    spec = fmt.narrative_rules.get("statements")
    if not spec:
        return None
    kinds: dict[str, list[tuple[str, str]]] = {}

    def add(word: str, kind: str, family: str = "") -> None:
        kinds.setdefault(word, []).append((kind, family))

    families: dict[str, _Family] = {}
    for raw in spec["families"]:
        items = tuple(
            Item(raw["id"], i["label"], tuple(i["verbs"]), tuple(Alternative(a["label"], tuple(_expand(a["sum"], fmt)), " + ".join(a["sum"])) for a in i["accept"]))
            for i in raw["items"]
        )
        zero = raw.get("zero_item")
        families[raw["id"]] = _Family(raw["id"], tuple(raw["subjects"]), raw["subject_names_count"], items, items[zero] if zero is not None else None)
        for word in raw["subjects"]:
            add(word, "subject", raw["id"])
        for item in items:
            for word in item.verbs:
                if ("verb", raw["id"]) not in kinds.get(word, []):
                    add(word, "verb", raw["id"])
    for word, entries in list(kinds.items()):  # 复议后起诉 names its subject (行政诉讼) as well as the column
        verb_families = {fam for kind, fam in entries if kind == "verb"}
        if len(verb_families) == 1 and families[next(iter(verb_families))].subject_names_count:
            add(word, "subject", next(iter(verb_families)))
    for key, kind in (("exclude", "exclude"), ("skip", "skip"), ("qualifiers", "qualifier"), ("neutral", "neutral")):
        for word in spec[key]:
            add(word, kind)
    for word in spec["part_of"]:
        add(word, "part")
    for word in spec["zero_words"]:
        add(word, "zero")
    units = _alternation(spec["units"])
    cn = "零〇一二两三四五六七八九十百千万"
    numbers = re.compile(rf"(?<![\d.,])(\d{{1,3}}(?:,\d{{3}}){{1,3}}|\d{{1,9}})\s?({units})|([{cn}]{{1,12}})({units})")
    ends = re.escape(spec["sentence_ends"])
    offices = spec["offices"]
    return _Compiled(
        words=re.compile(_alternation(list(kinds))),
        kinds={w: tuple(k) for w, k in kinds.items()},
        kindset={w: frozenset(kind for kind, _ in k) for w, k in kinds.items()},
        verb_items={(f.id, v): i for f in families.values() for i in reversed(f.items) for v in i.verbs},
        neutral_words=frozenset(spec["neutral"]),
        subjects=re.compile(_alternation([w for w, k in kinds.items() if any(kind in ("subject", "neutral") for kind, _ in k)])),
        subject_family={w: fam for w, k in kinds.items() for kind, fam in k if kind == "subject"},
        exclude_words=frozenset(spec["exclude"]),
        units=tuple(spec["units"]),
        zero_triggers=tuple(spec["zero_words"]) + tuple(spec["negations"]),
        subject_words=tuple(w for f in spec["families"] for w in f["subjects"]),
        clause_split=re.compile("[" + re.escape(spec["clause_marks"] + spec["sentence_ends"]) + "]"),
        numbers=numbers,
        families=families,
        sentence_split=re.compile(rf"[^{ends}]+[{ends}]?"),
        negations=tuple(spec["negations"]),
        not_after_unit=tuple(spec["not_after_unit"]),
        not_before_number=frozenset(spec["not_before_number"]),
        zero_spoilers=tuple(spec["zero_spoilers"]),
        offices=re.compile(rf"(?<=[\u4e00-\u9fff])(?:{_alternation(offices['suffixes'])})"),
        generic_before=frozenset(offices["generic_before"]),
        max_sentence=spec["max_sentence_chars"],
        max_statements=spec["max_statements"],
        quote_chars=spec["quote_chars"],
    )


def _expand(paths: Sequence[str], fmt: Format) -> list[str]:
    """Table paths with ``*`` standing for one step (``requests.outcomes.withheld.*.total``)."""
    out: list[str] = []
    for path in paths:
        if "*" not in path:
            out.append(path)
            continue
        pattern = re.compile(re.escape(path).replace(r"\*", r"[^.]+") + r"\Z")
        out.extend(k for k in fmt.data_keys if pattern.match(k))
    return out


def chinese_count(text: str) -> int | None:
    """``二十一`` → 21, ``一百零五`` → 105, ``两`` → 2, ``一千二百六十八`` → 1268; None when not a number."""
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            if digit is not None and _CN_DIGITS[ch] != 0:
                return None  # two digits in a row (一二) is not a count
            digit = _CN_DIGITS[ch] if _CN_DIGITS[ch] != 0 else None
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


# --------------------------------------------------------------------------- walking the narrative


def _texts(blocks: Any, path: tuple[PathPart, ...], context: str) -> Iterator[tuple[tuple[PathPart, ...], str, str]]:
    """(path, headings above it, text) of every paragraph and heading of a block list, any shape tolerated."""
    if isinstance(blocks, str):
        yield path, context, blocks
        return
    if not isinstance(blocks, list):
        return
    for i, block in enumerate(blocks):
        if isinstance(block, str):
            yield (*path, i), context, block
        elif isinstance(block, Mapping):
            heading = block.get("heading")
            inner = context + (heading + "\n" if isinstance(heading, str) else "")
            if isinstance(heading, str):
                yield (*path, i, "heading"), context, heading
            if isinstance(block.get("text"), str):
                yield (*path, i, "text"), inner, block["text"]
            if "body" in block:
                yield from _texts(block["body"], (*path, i, "body"), inner)


def _narrative(data: Mapping[str, Any], fmt: Format) -> Iterator[tuple[tuple[PathPart, ...], str, str]]:
    for key in fmt.narrative_rules.get("sections", ()):
        if key in data:
            yield from _texts(data[key], (key,), "")


# --------------------------------------------------------------------------- counts stated in the text


@dataclass(slots=True)
class _Event:
    start: int
    end: int
    word: str = ""
    value: int | None = None  # a number event


class _Reader:
    """Reads one paragraph's sentences, keeping the subject from one sentence to the next."""

    def __init__(self, c: _Compiled, organ: str, year: int | None) -> None:
        self.c, self.organ, self.year = c, organ, year
        self.family: str | None = None
        self.stated: set[str] = set()  # items stated so far in the paragraph (by label)

    def context(self, text: str) -> None:
        """Headings above a paragraph: they set its subject (申请办理情况 → requests)."""
        for word in reversed(self.c.subjects.findall(text)):
            if word in self.c.subject_family:  # not a neutral word (规章制度)
                self.family = self.c.subject_family[word]
                return

    def sentence(self, s: str) -> Iterator[tuple[Item, int, int]]:
        """(item, stated count, end of the number) for each count the sentence states about a table item."""
        c = self.c
        if len(s) > c.max_sentence:
            self.family = None
            return
        if _FULL_WIDTH.search(s):
            s = s.translate(_FULL_WIDTH_DIGITS)
        events: list[_Event] = [_Event(m.start(), m.end(), m.group()) for m in c.words.finditer(s)]
        neutral = [(e.start, e.end) for e in events if e.word in c.neutral_words]
        for m in c.numbers.finditer(s):
            value = int(m.group(1).replace(",", "")) if m.group(1) else chinese_count(m.group(3))
            if value is None or any(a < m.end() and m.start() < b for a, b in neutral):
                continue
            start = m.start() if m.group(1) else m.start(3)
            events.append(_Event(start, m.end(), value=value))
        events.sort(key=lambda e: (e.start, e.value is not None))
        clause_starts = self._clause_starts(s)
        blocked = self._blocked_from(s, events, clause_starts, neutral)

        def clause_of(pos: int) -> tuple[int, int]:
            i = bisect.bisect_right(clause_starts, pos)
            return (clause_starts[i - 1] if i else 0), (clause_starts[i] if i < len(clause_starts) else len(s))

        lead: list[_Event] = []  # the words since the last number (cut to the number's clause below)
        verbs: dict[str, Item] = {}  # the nearest verb seen so far in the sentence, by family
        part_seen = False
        last_end = 0
        for e in events:
            if e.value is None:
                lead.append(e)
                for kind, family in c.kinds[e.word]:
                    if kind == "subject":
                        self.family = family
                    elif kind == "verb":
                        verbs[family] = self._verb_item(family, e.word)
                        if self._negated(s, e.start):
                            yield from self._zero_by_verb(s, e, family, clause_of(e.start), events, blocked, part_seen)
                    elif kind == "part":
                        part_seen = True
                    elif kind == "zero":
                        yield from self._zero_by_word(s, e, clause_of(e.start), events, blocked, part_seen)
                continue
            lead_start = max(last_end, clause_of(e.start)[0])
            lead = [x for x in lead if x.start >= lead_start]
            last_end = e.end
            item = self._attribute(s, e, lead_start, lead, verbs, blocked)
            lead = []
            if item is None:
                continue
            if part_seen and item.label in self.stated:
                continue  # 其中…: a part of a count already stated, not the count itself
            self.stated.add(item.label)
            yield item, e.value, e.end  # type: ignore[misc]

    def _has(self, word: str, kind: str) -> bool:
        return kind in self.c.kindset.get(word, ())

    def _verb_item(self, family: str, word: str) -> Item:
        return self.c.verb_items[family, word]

    def _negated(self, s: str, start: int) -> bool:
        return any(s.endswith(n, 0, start) for n in self.c.negations)

    def _clause_starts(self, s: str) -> list[int]:
        return [m.end() for m in self.c.clause_split.finditer(s)]

    def _blocked_from(self, s: str, events: list[_Event], clause_starts: list[int], neutral: list[tuple[int, int]]) -> int:
        """Where the sentence stops being about this organ's counts: from the clause that names another
        subject (网络问政, 信访 …), another office (区教育局) or another year, to the sentence's end."""
        def begin(pos: int) -> int:
            i = bisect.bisect_right(clause_starts, pos)
            return clause_starts[i - 1] if i else 0

        marks = [e.start for e in events if e.word in self.c.exclude_words]
        for m in self.c.offices.finditer(s):
            if any(a <= m.start() < b for a, b in neutral):
                continue
            before = s[m.start() - 1]
            if before in self.c.generic_before:
                continue
            if self.organ and s[max(0, m.start() - 2): m.end()] in self.organ:
                continue  # the reporting organ itself (某某县自然资源局)
            marks.append(m.start())
        if self.year is not None:
            for m in _YEAR.finditer(s):
                if int(m.group(1)) != self.year:
                    later_own = any(int(y.group(1)) == self.year for y in _YEAR.finditer(s, m.end()))
                    if not later_own:
                        marks.append(m.start())
        return min((begin(p) for p in marks), default=len(s) + 1)

    def _attribute(self, s: str, number: _Event, lead_start: int, lead: list[_Event], verbs: dict[str, Item], blocked: int) -> Item | None:
        """The item a number counts: its subject is the nearest before it, and its clause (since the last
        number) must name the item (a verb, or a subject that is an item itself) with no qualifier."""
        c = self.c
        if number.start >= blocked or self.family is None:
            return None
        if number.start > 0 and s[number.start - 1] in c.not_before_number:
            return None
        if s.startswith(c.not_after_unit, number.end):
            return None
        kindset = c.kindset
        if any(not _SKIPPING.isdisjoint(kindset[x.word]) for x in lead):
            return None
        for date in _DATE.finditer(s, lead_start, number.start):
            if not any(a in s[lead_start:date.start()] for a in _AS_OF):
                return None  # a count on one day (1月5日收到申请3件), not the year's
        family = c.families[self.family]
        anchored = any(
            (kind == "verb" or (kind == "subject" and family.subject_names_count)) and fam == family.id
            for x in lead for kind, fam in c.kinds[x.word]
        )
        if not anchored:
            return None
        if family.id in verbs:
            carried = not any(fam == family.id for x in lead for kind, fam in c.kinds[x.word] if kind == "verb")
            if carried and not self._only_subject(s, lead_start, number.start, lead):
                return None  # 制发规范性文件2件，清理规范性文件15件: 制发 does not carry over 清理
            return verbs[family.id]
        return next((i for i in family.items if not i.verbs), None)

    def _only_subject(self, s: str, start: int, end: int, lead: list[_Event]) -> bool:
        """Whether the text before a number holds nothing but subject words and joiners (``，行政规范性文件``),
        so that the verb before it carries over (制发规章0件，行政规范性文件3件)."""
        rest = s[start:end]
        for x in lead:
            rest = rest.replace(x.word, "")
        return all(ch in _JOINERS for ch in rest)

    def _zero_ok(self, s: str, clause: tuple[int, int], events: list[_Event], blocked: int, part_seen: bool) -> bool:
        begin, end = clause
        text = s[begin:end]
        if part_seen or begin >= blocked or _DIGIT.search(text):
            return False
        if any(e.value is not None and begin <= e.start < end for e in events):
            return False
        return not any(w in text for w in self.c.zero_spoilers) and not any(
            not _SKIPPING.isdisjoint(self.c.kindset.get(e.word, ())) for e in events if begin <= e.start < end)

    def _zero_by_verb(self, s: str, verb: _Event, family: str, clause: tuple[int, int], events: list[_Event], blocked: int, part_seen: bool) -> Iterator[tuple[Item, int, int]]:
        """``未收到政府信息公开申请``: 0 for the negated verb's item, when the clause names its subject."""
        if not self._zero_ok(s, clause, events, blocked, part_seen):
            return
        begin, end = clause
        subjects = {fam for e in events if begin <= e.start < end for kind, fam in self.c.kinds.get(e.word, ()) if kind == "subject"}
        if family in subjects:
            item = self._verb_item(family, verb.word)
            if item is self.c.families[family].zero_item or self.c.families[family].subject_names_count:
                self.stated.add(item.label)
                yield item, 0, end

    def _zero_by_word(self, s: str, word: _Event, clause: tuple[int, int], events: list[_Event], blocked: int, part_seen: bool) -> Iterator[tuple[Item, int, int]]:
        """``未发生行政复议、行政诉讼``, ``无政府信息公开申请``: 0 for each subject named after the word."""
        if not self._zero_ok(s, clause, events, blocked, part_seen):
            return
        end = clause[1]
        seen: set[str] = set()
        for e in events:
            if word.end <= e.start < end and e.value is None:
                for kind, fam in self.c.kinds[e.word]:
                    item = self.c.families[fam].zero_item if kind == "subject" else None
                    if item is not None and fam not in seen:
                        seen.add(fam)
                        self.stated.add(item.label)
                        yield item, 0, end


def _quote(s: str, end: int, limit: int) -> str:
    """The sentence, cut to ``limit`` characters around the number when longer."""
    s = s.strip()
    if len(s) <= limit:
        return s
    stop = min(len(s), end + limit // 4)
    begin = max(0, stop - limit)
    return ("…" if begin else "") + s[begin:stop] + ("…" if stop < len(s) else "")


def _worth_reading(c: _Compiled, text: str) -> bool:
    """Whether a text can state a count: it has a unit (件), or a word stating 0 and a subject. Plain
    substring tests (fast): most paragraphs state none."""
    if any(u in text for u in c.units):
        return True
    return any(z in text for z in c.zero_triggers) and any(w in text for w in c.subject_words)


def statements(data: Any, fmt: Format) -> list[Statement]:
    """Every count the narrative states about a table item, compared with the table.

    A statement's ``matched`` says which accepted reading the count equals (for a stated number of
    requests: the new ones, or the new ones plus last year's carried-over ones).
    """
    c = _compiled(fmt)
    if c is None or not isinstance(data, Mapping):
        return []
    organ = data.get("organ") if isinstance(data.get("organ"), str) else ""
    year = data.get("year") if isinstance(data.get("year"), int) else None
    found: list[tuple[tuple[PathPart, ...], str, Item, int]] = []
    for path, context, text in _narrative(data, fmt):
        if path[-1] == "heading" or not _worth_reading(c, text):
            continue  # no count and no "未收到…": nothing stated (most paragraphs)
        reader = _Reader(c, organ, year)  # type: ignore[arg-type]
        reader.context(context)
        for m in c.sentence_split.finditer(text):
            sentence = m.group()
            if not _worth_reading(c, sentence):
                reader.context(sentence)  # only its subject matters to the next sentences
                continue
            for item, stated, end in reader.sentence(sentence):
                found.append((path, _quote(sentence, end, c.quote_chars), item, stated))
            if len(found) >= c.max_statements:
                break  # a report states a few dozen counts: the rest of a hostile text is not read
        if len(found) >= c.max_statements:
            break
    if not found:
        return []
    values = _table_values(data, fmt, {p for _, _, item, _ in found for alt in item.accept for p in alt.paths})
    out: list[Statement] = []
    for path, quote, item, stated in found:
        sums = tuple(_sum(values, alt.paths) for alt in item.accept)
        matched = next((alt for alt, v in zip(item.accept, sums) if v == stated), None)
        out.append(Statement(path, quote, item, stated, sums, matched))
    return out


def _table_values(data: Mapping[str, Any], fmt: Format, paths: set[str]) -> Mapping[str, int | None]:
    """The table cells the statements need; totals left out (they may be) are computed by the rules."""
    count_max = fmt.limits["count_max"]
    values: dict[str, int | None] = {}
    for path in paths:
        value = rules.get_path(data, path)
        if not (rules._is_count(value) and 0 <= value <= count_max):
            return rules._resolve(data, fmt)[0]
        values[path] = value
    return values


def _sum(values: Mapping[str, int | None], paths: Sequence[str]) -> int | None:
    parts = [values.get(p) for p in paths]
    return None if not parts or any(v is None for v in parts) else sum(parts)  # type: ignore[arg-type]


def _count_problem(st: Statement) -> Problem:
    known = [(alt, v) for alt, v in zip(st.item.accept, st.values) if v is not None]
    table = "，".join(f"{alt.label}为 {v} 件（{alt.declared or ' + '.join(alt.paths)}）" for alt, v in known)
    return Problem(
        st.path, "narrative.count",
        f"正文“{st.sentence}”所述{st.item.label} {st.stated} 件与统计表不符：表中{table}",
        "warning",
        details={"stated": st.stated, "table": {alt.label: v for alt, v in known}, "paths": {alt.label: list(alt.paths) for alt, _ in known}},
    )


# --------------------------------------------------------------------------- completeness


def _placeholders(data: Mapping[str, Any], fmt: Format) -> Iterator[Problem]:
    for path, _, text in _narrative(data, fmt):
        at = text.find(_PLACEHOLDER_START)
        if at >= 0:
            end = text.find("）", at)
            shown = text[at: end + 1 if 0 < end < at + 60 else at + 30]
            yield Problem(path, "narrative.placeholder", f"仍是待填写的占位文字“{shown}”，请替换为实际内容", "warning")


def _empty_sections(data: Mapping[str, Any], fmt: Format) -> Iterator[Problem]:
    spec = fmt.narrative_rules.get("completeness")
    if not spec:
        return
    empty = {w.strip() for w in spec["empty_words"]}
    for key in spec["sections"]:
        if key not in data or not isinstance(data[key], list):
            continue  # absent or of the wrong type: the schema says so
        texts = [_PUNCTUATION.sub("", t) for path, _, t in _texts(data[key], (key,), "") if path[-1] != "heading"]
        said = [t for t in texts if t]
        if said and all(t in empty for t in said):  # nothing at all is the schema's error
            section = fmt.section(key)
            shown = "、".join(dict.fromkeys(said)) or "空"
            yield Problem((key,), "narrative.empty_section", f"“{section.heading}”只写了“{shown}”：请如实说明（确无内容时也应写明具体情况）", "warning")


# --------------------------------------------------------------------------- year over year


def _continuity(data: Mapping[str, Any], previous: Mapping[str, Any], fmt: Format) -> Iterator[Problem]:
    for spec in fmt.narrative_rules.get("continuity", ()):
        last = rules.get_path(previous, spec["previous_in_force"])
        issued, repealed, now = (rules.get_path(data, spec[k]) for k in ("issued", "repealed", "in_force"))
        if not all(rules._is_count(v) for v in (last, issued, repealed, now)):
            continue
        expected = last + issued - repealed
        if expected != now:
            diff = now - expected
            yield Problem(
                tuple(spec["in_force"].split(".")), "cross_year.in_force",
                f"{spec['label']}：上年现行有效 {last} 件 + 本年制发 {issued} 件 − 本年废止 {repealed} 件 = {expected} 件，"
                f"而本年现行有效为 {now} 件（{'多' if diff > 0 else '少'} {abs(diff)} 件）；文件也可能因到期等原因失效，请核对",
                "warning", details={"expected": expected, "actual": now, "difference": diff},
            )


def _clauses(blocks: Any, marks: frozenset[str]) -> list[str]:
    """A section's text as clauses with digits masked (a copied text keeps its words, not its numbers)."""
    out: list[str] = []
    for _, _, text in _texts(blocks, (), ""):
        current: list[str] = []
        for ch in text:
            if ch in marks:
                if current:
                    out.append("".join(current))
                current = []
            elif not ch.isspace():
                current.append("#" if ch.isdigit() else ch)
        if current:
            out.append("".join(current))
    return out


def copied_share(this: Any, last: Any, marks: str = "。；;！!？?，,：:\n") -> tuple[float, int]:
    """(share of this text's characters in clauses that last year's text has too, this text's length).

    Linear in the texts' length (clauses are compared by hash), so a megabyte paragraph costs milliseconds.
    """
    marks_set = frozenset(marks)
    mine = _clauses(this, marks_set)
    theirs = set(_clauses(last, marks_set))
    size = sum(len(x) for x in mine)
    if not size:
        return 0.0, 0
    return sum(len(x) for x in mine if x in theirs) / size, size


def _copied(data: Mapping[str, Any], previous: Mapping[str, Any], fmt: Format) -> Iterator[Problem]:
    spec = fmt.narrative_rules.get("copied_text")
    if not spec:
        return
    ends = fmt.narrative_rules["statements"]["sentence_ends"] + fmt.narrative_rules["statements"]["clause_marks"]
    for key in spec["sections"]:
        if key not in data or key not in previous:
            continue
        share, size = copied_share(data[key], previous[key], ends)
        if size >= spec["min_chars"] and share >= spec["threshold"]:
            heading = fmt.section(key).heading
            yield Problem((key,), "cross_year.copied_text", f"“{heading}”有 {share:.0%} 的文字与上年报告相同（数字除外），请按本年度实际情况撰写", "warning", details={"share": round(share, 4)})


# --------------------------------------------------------------------------- all of them


def check(data: Any, fmt: Format, previous: Any = None, doubtful: Collection[str] = ()) -> Iterator[Problem]:
    """Yield every narrative warning of ``data`` (and against last year's report, when given). Never an error.

    ``doubtful`` are the table cells (dotted paths) already reported as wrong: the text is not compared
    with a table that has one (the clerk fixes the table first; one wrong total gives one message).
    """
    if not isinstance(data, Mapping):
        return
    wrong_tables = {path.split(".", 1)[0].split("[", 1)[0] for path in doubtful}
    for st in statements(data, fmt):
        if st.mismatch and not any(p.split(".", 1)[0] in wrong_tables for alt in st.item.accept for p in alt.paths):
            yield _count_problem(st)
    yield from _placeholders(data, fmt)
    yield from _empty_sections(data, fmt)
    if isinstance(previous, Mapping):
        yield from _continuity(data, previous, fmt)
        yield from _copied(data, previous, fmt)
