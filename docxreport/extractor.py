"""``extract``: a finished report .docx → report data, whoever made the document.

Paragraphs and tables are read in body order. Section headings are found by their text (or, in a document
docxreport rendered, by the heading styles), tables by their labels rather than their position, and table
cells through the grid model the renderer writes (:func:`docxreport.ooxml.read_grid`). Variants met in
published reports (a missing 其他 column, the 2019 single-row （六）其他处理, ``1、`` for ``1.``, label typos,
notes inside number cells, note rows, split tables, a 2019 table 二) are read as far as they map to the 2021
data model, and each is reported as a warning saying where it was met.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from docx import Document
from docx.oxml.ns import qn
from lxml import etree

from . import blocks, rules
from .errors import NotAReportError
from .format import CN_NUMERALS, Format, Section, Table, load_format
from .ooxml import FoundCell, read_grid
from .package import DocxSource, read_docx, source_name
from .problems import Problem

_W_P, _W_TBL, _W_T = qn("w:p"), qn("w:tbl"), qn("w:t")
_CN = f"[{CN_NUMERALS}]+"
_LEVEL_NUMBERS = {  # heading numbers by level, as written in published reports
    2: re.compile(rf"^[（(]{_CN}[）)]\s*"),
    3: re.compile(r"^\d+\s*[.．、]\s*"),
    4: re.compile(r"^[（(]\d+[）)]\s*"),
}
_SECTION = re.compile(rf"^\s*({_CN})\s*[、.．]\s*(.+?)\s*$")
_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")
_TITLE_END = re.compile(r"(\d{4})\s*年\s*度?\s*政府信息公开工作年度报告\s*$")
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:件|万元)?\s*(?:[（(](.*)[）)])?\s*$")
_STOPS = "。：:"


@dataclass
class _Para:
    text: str
    style: str  # paragraph style id ("" when none)
    runs: list[tuple[str, str]]  # (text, character style id)


@dataclass
class _Tbl:
    index: int
    cells: list[FoundCell]


@dataclass
class _Result:
    fmt: Format
    data: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def warn(self, path: Sequence[str | int], rule: str, message: str, **details: Any) -> None:
        self.problems.append(Problem(tuple(path), f"extract.{rule}", message, "warning", details=details))

    def error(self, path: Sequence[str | int], rule: str, message: str, **details: Any) -> None:
        self.problems.append(Problem(tuple(path), f"extract.{rule}", message, "error", details=details))


# --------------------------------------------------------------------------- body


def _paragraph(p: etree._Element) -> _Para:
    ppr_style = p.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
    runs: list[tuple[str, str]] = []
    for r in p.iter(qn("w:r")):
        rstyle = r.find(f"{qn('w:rPr')}/{qn('w:rStyle')}")
        text = ""
        for node in r:
            if node.tag == _W_T:
                text += node.text or ""
            elif node.tag == qn("w:tab"):
                text += "\t"
            elif node.tag in (qn("w:br"), qn("w:cr")) and node.get(qn("w:type")) in (None, "textWrapping"):
                text += "\n"
        if text:
            runs.append((text, rstyle.get(qn("w:val")) if rstyle is not None else ""))
    return _Para("".join(t for t, _ in runs), ppr_style.get(qn("w:val")) if ppr_style is not None else "", runs)


def _body(document: Any) -> Iterator[_Para | _Tbl]:
    tables = 0
    for child in document.element.body.iterchildren():
        if child.tag == _W_P:
            yield _paragraph(child)
        elif child.tag == _W_TBL:
            tables += 1
            yield _Tbl(tables, read_grid(child))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


_DUN = re.compile(r"^(\d+)、")  # ``1、`` numbering, written for ``1.`` in many published reports


def _dun_numbered(text: str) -> bool:
    """True when a label or heading is numbered ``1、`` rather than ``1.``."""
    return bool(_DUN.match(_squash(text)))


def _normal(label: str) -> str:
    """A label as compared: no spaces, full-width parentheses, ``1.`` for ``1、``, straight quotes curled."""
    text = _squash(label).replace("(", "（").replace(")", "）").replace("．", ".")
    text = _DUN.sub(r"\1.", text)
    return text.replace('"三安全一稳定"', "“三安全一稳定”")


# --------------------------------------------------------------------------- sections


def _section_of(para: _Para, fmt: Format, result: _Result) -> Section | None:
    if len(para.text) > 60:
        return None
    match = _SECTION.match(para.text)
    if not match:
        return None
    number, title = match.group(1), _squash(match.group(2))
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


# --------------------------------------------------------------------------- narrative


def _strip_number(text: str, level: int) -> str:
    return _LEVEL_NUMBERS[level].sub("", text, count=1)


def _heading_level(para: _Para) -> int | None:
    if re.fullmatch(r"Heading[2-4]", para.style):
        return int(para.style[-1])
    for level, pattern in _LEVEL_NUMBERS.items():
        if pattern.match(para.text):
            return level
    return None


def _run_in(para: _Para, level: int, styled: bool) -> tuple[str, str] | None:
    """(heading, text) of a run-in heading; None for a heading on its own line. In a document docxreport
    wrote, the body run's character style marks the split exactly; elsewhere the first stop after the
    heading (。：:) does."""
    if styled and not any(style == blocks.BODY_STYLE for _, style in para.runs):
        return None
    if any(style == blocks.BODY_STYLE for _, style in para.runs):
        head = "".join(t for t, s in para.runs[: next(i for i, (_, s) in enumerate(para.runs) if s == blocks.BODY_STYLE)])
        body = para.text[len(head):]
        head = _strip_number(head, level)
        return (head[:-1] if head.endswith("。") else head), body
    rest = _strip_number(para.text, level)
    for i, ch in enumerate(rest[:40]):
        if ch in _STOPS and i > 0 and rest[i + 1:].strip():
            return (rest[:i] if ch == "。" else rest[: i + 1]), rest[i + 1:]
    return None


def _blocks(paras: list[_Para], path: tuple[str | int, ...], result: _Result, styled: bool) -> list[Any]:
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
        if not styled and re.match(r"^\d+\s*、", para.text) and level == 3:
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


# --------------------------------------------------------------------------- tables


def _classify(table: _Tbl, fmt: Format) -> str | None:
    texts = {_normal(c.text) for c in table.cells}
    joined = "|".join(texts)
    for table_id, markers in fmt.variants["table_markers"].items():
        if any(_normal(m) in joined for m in markers):
            return str(table_id)
    if any(_normal(m) in joined for m in fmt.variants["table2_2019"]["markers"]):
        return "table2"
    return None


def _slots(cells: list[FoundCell]) -> list[list[FoundCell]]:
    """Each grid row as its distinct cells, left to right (vertically merged cells included)."""
    rows: dict[int, list[FoundCell]] = {}
    for cell in cells:
        for r in range(cell.row, cell.row + cell.rowspan):
            rows.setdefault(r, []).append(cell)
    return [sorted(rows[r], key=lambda c: c.col) for r in sorted(rows)]


def _is_value(text: str) -> bool:
    return not text.strip() or bool(_NUMBER.match(text.replace(",", "").replace("，", "")))


@dataclass(frozen=True)
class _RowSpec:
    label: str  # the innermost label, normalised
    parent: str  # the label around it (a group such as （六）其他处理), normalised
    keys: tuple[str, ...]
    fee: bool


def _row_specs(table: Table) -> list[_RowSpec]:
    specs = []
    for r, line in enumerate(table.grid):
        data = [c for c in dict.fromkeys(line) if c.is_data and c.row == r]
        if not data or data[0].col == 0:
            continue
        label = line[data[0].col - 1]
        parent = line[label.col - 1] if label.col > 0 else label
        keys = tuple(c.key for c in data if c.key)
        specs.append(_RowSpec(_normal(label.text), _normal(parent.text), keys, any(k.endswith("fees") for k in keys)))
    return specs


def _parse_value(text: str, path: tuple[str, ...], where: str, fee: bool, result: _Result) -> int | Decimal | None:
    clean = text.replace(",", "").replace("，", "").strip()
    if not clean:
        result.warn(path, "blank_cell", f"{where}为空白，按 0 读取（请核实）", cell=where)
        return 0
    match = _NUMBER.match(clean)
    if not match:
        result.error(path, "not_a_number", f"{where}“{text}”不是数字", cell=where, found=text)
        return None
    number, note = match.groups()
    if note:
        result.warn(path, "cell_note", f"{where}含有说明“{note}”：数值按 {number} 读取，说明保留在此", cell=where, note=note, found=text)
    try:
        value = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None
    if fee:
        return value
    if value != value.to_integral_value():
        result.error(path, "not_a_count", f"{where}“{text}”不是整数件数", cell=where, found=text)
        return None
    return int(value)


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _where(name: str, table: _Tbl, cell: FoundCell) -> str:
    return f"{name}（文档第 {table.index} 个表格）第 {cell.row + 1} 行第 {cell.col + 1} 列"


_TABLE_NAMES = {"table2": "表二", "table3": "表三", "table4": "表四"}


def _read_label_rows(table_id: str, pieces: list[_Tbl], fmt: Format, result: _Result) -> None:
    """Tables 二 and 三: each row found by its label; values in order after the label."""
    spec_table = fmt.tables[table_id]
    specs = _row_specs(spec_table)
    by_label = {s.label: s for s in specs}
    aliases = {_normal(k): _normal(v) for k, v in fmt.variants["labels"].items()}
    groups = {_normal(k): v for k, v in fmt.variants["single_row_groups_2019"].items()}
    name = _TABLE_NAMES[table_id]
    t2019 = fmt.variants["table2_2019"]
    is_2019 = table_id == "table2" and any(
        _normal(m) in {_normal(c.text) for p in pieces for c in p.cells} for m in t2019["markers"][:2] + t2019["markers"][3:5]
    )
    if is_2019:
        result.warn((_section_key(fmt, table_id),), "format_2019", f"{name}为 2019 年格式，只读取能对应 2021 年格式的项目")
    width = max((len(s.keys) for s in specs), default=0)
    rows: list[tuple[_Tbl, FoundCell, list[FoundCell]]] = []
    for piece in pieces:
        for line in _slots(piece.cells):
            first_value = next((i for i, c in enumerate(line) if _is_value(c.text) and i > 0), None)
            if first_value is None:
                if len(line) == 1 and _squash(line[0].text).startswith(("注", "说明")):
                    result.warn((_section_key(fmt, table_id),), "note_row", f"{name}下方有注释行：“{line[0].text.strip()}”", note=line[0].text)
                continue
            values = line[first_value:]
            if all(not c.text.strip() for c in values) and not _normal(line[first_value - 1].text) in by_label | aliases | groups:
                continue  # a header row with empty cells (simplified web layouts)
            rows.append((piece, line[first_value - 1], values))
    seven = table_id == "table3" and any(len(v) == width for _, _, v in rows)
    missing: str | None = None  # the applicant column a 6-column table 三 lacks
    if table_id == "table3" and not seven and any(len(v) == width - 1 for _, _, v in rows):
        missing = _missing_column(pieces, fmt)
        label = fmt.names()[f"requests.*.{missing}"]
        result.warn(("requests",), "missing_column", f"{name}没有“{label}”申请人列（只有 {width - 1} 个数据列），该列按 0 读取", column=missing)
    seen: set[str] = set()
    for piece, label_cell, values in rows:
        label = _normal(label_cell.text)
        where_label = _where(name, piece, label_cell)
        if is_2019:
            mapping = t2019["rows"].get(label)
            if mapping:
                cell = values[mapping["value"]] if len(values) > mapping["value"] else None
                if cell is not None:
                    value = _parse_value(cell.text, tuple(mapping["key"].split(".")), _where(name, piece, cell), False, result)
                    if value is not None:
                        _set(result.data, mapping["key"], value)
                        seen.add(mapping["key"])
            elif label in t2019["unmapped"]:
                result.warn((_section_key(fmt, table_id),), "format_2019_unmapped", f"{where_label}“{label_cell.text.strip()}”：{t2019['unmapped'][label]}，未读取")
            continue
        spec = by_label.get(label) or by_label.get(aliases.get(label, ""))
        if spec is None and label in groups:
            _read_group_row(groups[label], label_cell, values, piece, name, specs, result, missing, seen)
            continue
        if spec is None:
            close = difflib.get_close_matches(label, [s for s in by_label if not set(by_label[s].keys) & seen], n=1, cutoff=0.75)
            if not close:
                if any(c.text.strip() for c in values):
                    result.warn((_section_key(fmt, table_id),), "unknown_row", f"{where_label}“{label_cell.text.strip()}”不是国家格式中的项目，未读取")
                continue
            spec = by_label[close[0]]
        if label != spec.label:
            result.warn(tuple(spec.keys[0].rsplit(".", 1)[0].split(".")), "label_variant", f"{where_label}“{label_cell.text.strip()}”与国家格式“{spec.label}”不同，按后者读取", found=label_cell.text)
        elif _dun_numbered(label_cell.text):  # equal once normalised: only the numbering differs
            result.warn(tuple(spec.keys[0].rsplit(".", 1)[0].split(".")), "numbering", f"{where_label}“{label_cell.text.strip()}”使用“1、”式序号，按“{spec.label}”读取", found=label_cell.text)
        _read_values(spec, values, piece, name, result, missing, seen)


def _section_key(fmt: Format, table_id: str) -> str:
    return next(s.key for s in fmt.sections if s.content == table_id)


def _missing_column(pieces: list[_Tbl], fmt: Format) -> str:
    """Which applicant column a table 三 with one data column too few lacks, judged by its headers
    (其他 when the headers do not say: the variant met in published reports)."""
    texts = {_normal(c.text) for piece in pieces for c in piece.cells}
    names = fmt.names()
    absent = [c for c in fmt.lists["applicant_columns"] if _normal(names[f"requests.*.{c}"]) not in texts]
    return absent[0] if len(absent) == 1 else "other_org"


def _read_values(spec: _RowSpec, values: list[FoundCell], piece: _Tbl, name: str, result: _Result, missing: str | None, seen: set[str]) -> None:
    keys = list(spec.keys)
    if missing and len(values) == len(keys) - 1:
        other = next(k for k in keys if k.endswith(f".{missing}"))
        _set(result.data, other, 0)
        seen.add(other)
        keys.remove(other)
    if len(values) != len(keys):
        result.error(tuple(keys[0].rsplit(".", 1)[0].split(".")), "column_count", f"{name}“{spec.label}”一行有 {len(values)} 个数据，国家格式为 {len(keys)} 个", found=len(values))
        return
    for key, cell in zip(keys, values):
        value = _parse_value(cell.text, tuple(key.split(".")), _where(name, piece, cell), spec.fee, result)
        if value is not None:
            _set(result.data, key, value)
            seen.add(key)


def _read_group_row(target: str, label_cell: FoundCell, values: list[FoundCell], piece: _Tbl, name: str, specs: list[_RowSpec],
                    result: _Result, missing: str | None, seen: set[str]) -> None:
    """A 2019-style single row (（六）其他处理) in a 2021 table: its numbers go to ``target``, the group's
    other rows are 0."""
    group = [s for s in specs if s.keys[0].startswith(target.rsplit(".", 1)[0] + ".")]
    result.warn(tuple(target.rsplit(".", 1)[0].split(".")), "single_row_2019",
                f"{_where(name, piece, label_cell)}“{label_cell.text.strip()}”是 2019 年格式的单行，数值计入“3.其他”，其余两项按 0 读取")
    for spec in group:
        if spec.keys[0].rsplit(".", 1)[0] == target:
            _read_values(spec, values, piece, name, result, missing, seen)
        else:
            for key in spec.keys:
                _set(result.data, key, 0)
                seen.add(key)


def _read_table4(pieces: list[_Tbl], fmt: Format, result: _Result) -> None:
    """Table 四: no row labels; the row of fifteen numbers under the header, read in order."""
    keys = [c.key for c in fmt.tables["table4"].data_cells if c.key]
    found = False
    for piece in pieces:
        for line in _slots(piece.cells):
            if len(line) == 1 and _squash(line[0].text).startswith(("注", "说明")):
                result.warn(("appeals",), "note_row", f"{_where('表四', piece, line[0])}是注释行：“{line[0].text.strip()}”", note=line[0].text)
                continue
            if not found and len(line) >= len(keys) and all(_is_value(c.text) for c in line) and any(c.text.strip() for c in line):
                found = True  # the first such row; rows after it are still looked at for notes
                for key, cell in zip(keys, line[: len(keys)]):
                    value = _parse_value(cell.text, tuple(key.split(".")), _where("表四", piece, cell), False, result)
                    if value is not None:
                        _set(result.data, key, value)
    if not found:
        result.error(("appeals",), "missing_row", "表四中没有找到 15 个数据的一行")


# --------------------------------------------------------------------------- the document


def _title(paras: list[_Para], fmt: Format, result: _Result, properties_title: str) -> list[_Para]:
    """Title lines → organ, year (and title when not the default); returns the paragraphs after them.
    A custom title without the year is completed from the document's title property, which docxreport
    sets to ``{organ}{year}年政府信息公开工作年度报告``."""
    content = [p for p in paras if p.text.strip()]
    styled = [p for p in content if p.style == "Title"]
    if styled:
        lines = styled
    else:
        end = next((i for i, p in enumerate(content[:4]) if _TITLE_END.search(p.text)), None)
        lines = content[: end + 1] if end is not None else content[:1]
    texts = [p.text.strip() for p in lines]
    joined = "".join(texts)
    match = _TITLE_END.search(joined)
    if not match and _TITLE_END.search(properties_title or ""):
        joined = properties_title
        match = _TITLE_END.search(joined)
    if match:
        result.data["organ"] = joined[: match.start()].strip()
        result.data["year"] = int(match.group(1))
    else:
        result.error(("year",), "title", f"标题“{joined[:40]}”中没有找到“某年政府信息公开工作年度报告”，无法确定机关名称和年度")
    if "organ" in result.data:
        default = [line.format(organ=result.data["organ"], year=result.data["year"]) for line in fmt.title_lines]
        if texts != default:
            result.data["title"] = texts
    if not lines:
        return paras
    last = next(i for i, p in enumerate(paras) if p is lines[-1])  # by identity: titles may repeat a line
    return paras[last + 1:]


def _signature(paras: list[_Para], result: _Result, styled: bool) -> list[_Para]:
    """Take the signature (organ, date) off the end of the last section (in a document docxreport
    wrote, only Signature-style paragraphs are a signature: section text may end with a date)."""
    content = [p for p in paras if p.text.strip()]
    if styled:
        content = [p for p in content if p.style == "Signature"]
    if not content or not _DATE.match(content[-1].text):
        return paras
    year, month, day = (int(g) for g in _DATE.match(content[-1].text).groups())  # type: ignore[union-attr]
    result.data["date"] = f"{year:04d}-{month:02d}-{day:02d}"
    position = {id(p): i for i, p in enumerate(paras)}
    cut = position[id(content[-1])]
    organ = _squash(str(result.data.get("organ", "")))
    if len(content) >= 2 and (content[-2].style == "Signature" or (
            organ and difflib.SequenceMatcher(None, _squash(content[-2].text), organ).ratio() >= 0.6)):
        cut = position[id(content[-2])]  # the organ line: only when it names the organ, text is never dropped
    return paras[:cut]


def extract(source: DocxSource) -> tuple[dict[str, Any], list[Problem]]:
    """Read a report .docx back into report data.

    Returns ``(data, problems)``: the data in the data model (counts as written; totals as printed, not
    recomputed) and what was met on the way: warnings for variants of the format, errors for what could
    not be read. Raises :class:`~docxreport.errors.NotAReportError` for a document that is not a report,
    :class:`~docxreport.errors.ReportFileError` when the file cannot be read.
    """
    name = source_name(source, "<报告>")
    raw = read_docx(source, "报告", NotAReportError)
    try:
        document = Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises many kinds on a damaged package
        raise NotAReportError(f"{name}: 无法打开文档（{type(exc).__name__}）") from None
    fmt = load_format()
    result = _Result(fmt)
    items = list(_body(document))
    styled = any(isinstance(i, _Para) and i.style == "Heading1" for i in items)

    # split the body at the section headings
    starts: list[tuple[int, Section]] = []
    for index, item in enumerate(items):
        if isinstance(item, _Para) and (not styled or item.style == "Heading1"):
            section = _section_of(item, fmt, result)
            if section and all(s.key != section.key for _, s in starts):
                starts.append((index, section))
    tables = [i for i in items if isinstance(i, _Tbl)]
    classified = {t.index: _classify(t, fmt) for t in tables}
    if not starts and not any(classified.values()):
        raise NotAReportError(f"{name}: 不是政府信息公开工作年度报告：没有找到“一、总体情况”等章节标题，也没有找到统计表")

    result.data["format"] = fmt.id
    first = starts[0][0] if starts else len(items)
    head = [i for i in items[:first] if isinstance(i, _Para)]
    preamble_paras = _title(head, fmt, result, document.core_properties.title or "")
    preamble = _blocks(preamble_paras, ("preamble",), result, styled)
    if preamble:
        result.data["preamble"] = preamble
    bounds = [s[0] for s in starts[1:]] + [len(items)]
    found_sections = {s.key for _, s in starts}
    for (start, section), end in zip(starts, bounds):
        paras = [i for i in items[start + 1:end] if isinstance(i, _Para)]
        if section is starts[-1][1]:
            paras = _signature(paras, result, styled)
        if not section.is_table:
            result.data[section.key] = _blocks(paras, (section.key,), result, styled)
        elif any(p.text.strip() for p in paras):
            result.warn((section.key,), "extra_text", f"“{section.heading}”下除表格外还有文字：“{next(p.text for p in paras if p.text.strip())[:30]}…”，未读取")
    for section in fmt.sections:
        if section.key not in found_sections:
            result.error((section.key,), "missing_section", f"没有找到章节“{section.heading}”")

    by_table: dict[str, list[_Tbl]] = {}
    for t in tables:
        table_id = classified[t.index]
        if table_id:
            by_table.setdefault(table_id, []).append(t)
        else:
            result.warn((), "unknown_table", f"文档第 {t.index} 个表格不是国家格式中的统计表，未读取")
    for table_id in ("table2", "table3"):
        if table_id in by_table:
            _read_label_rows(table_id, by_table[table_id], fmt, result)
    if "table4" in by_table:
        _read_table4(by_table["table4"], fmt, result)
    for table_id, name in _TABLE_NAMES.items():
        if table_id not in by_table:
            result.error((_section_key(fmt, table_id),), "missing_table", f"没有找到{name}")
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
    body moved into it (for round-trip comparisons)."""
    fmt = load_format()
    full = rules.complete(data, fmt)
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


__all__ = ["extract", "normalise"]
