"""The report's JSON Schema, built from the format description, and its errors as Problems.

:func:`build_schema` derives the Draft 2020-12 schema from :mod:`docxreport.format`: the object tree from
the tables' data-cell keys, titles from the labels that name each node, requiredness from the rules
(totals are optional, table 三's applicant columns default to 0). The committed
``schemas/gov-info-annual-report-2021.schema.json`` is this function's output; a test keeps them equal.
:func:`schema_problems` runs it and turns each jsonschema error into a Chinese :class:`Problem`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from ..data import data_file
from ..format import CN_NUMERALS, Format, load_format
from ..problems import PathPart, Problem
from .jsonfile import DEPTH_MAX, EXPONENT_MAX, too_deep
from .quickcheck import Unsupported, compile_schema
from .rules import sum_targets, zero_cells

SCHEMA_FILE = "gov-info-annual-report-2021.schema.json"
SCHEMA_ID = "urn:docxreport:schema:gov-info-annual-report-2021"

# Text may hold newlines and tabs; other C0 controls and DEL cannot be represented in a Word document.
_BAD_CONTROL = "\\u0000-\\u0008\\u000b-\\u001f\\u007f"
TEXT_PATTERN = f"^(?=[\\s\\S]*\\S)[^{_BAD_CONTROL}]*$"
_BAD_CONTROL_RE = re.compile(f"[{_BAD_CONTROL}]")
_NOT_XML_RE = re.compile("[\ud800-\udfff\ufffe\uffff]")


# --------------------------------------------------------------------------- building


def _text(fmt: Format, max_length: int, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": TEXT_PATTERN, **extra}


def _label_chain(path: str, names: Mapping[str, str], fmt: Format) -> list[str]:
    """Labels of a data-model node and its ancestors, outermost first (section heading included)."""
    parts = path.split(".")
    chain = [fmt.section(parts[0]).heading]
    for depth in range(2, len(parts) + 1):
        label = _title_of(".".join(parts[:depth]), names)
        if label:
            chain.append(label)
    return chain


def _title_of(path: str, names: Mapping[str, str]) -> str | None:
    if path in names:
        return names[path]
    parts = path.split(".")
    return names.get(f"{parts[0]}.*.{parts[-1]}") if len(parts) > 2 else None


def _node_schema(path: str, tree: dict[str, Any], fmt: Format, names: Mapping[str, str], computed: frozenset[str]) -> dict[str, Any]:
    chain = _label_chain(path, names, fmt)
    field = fmt.fields.get(path) or fmt.fields.get(f"{path.split('.')[0]}.*.{path.split('.')[-1]}") or {}
    described = {
        "title": _title_of(path, names) or chain[-1],
        "description": field.get("description", " › ".join(chain)),
    }
    if not tree:  # a leaf: one table cell
        if field.get("value") == "fee":
            leaf = {"type": "number", "minimum": 0, "maximum": fmt.limits["fee_max"]}
        else:
            leaf = {"type": "integer", "minimum": 0, "maximum": fmt.limits["count_max"]}
        return {**described, **leaf, **({"examples": field["examples"]} if "examples" in field else {})}
    props = {k: _node_schema(f"{path}.{k}", sub, fmt, names, computed) for k, sub in tree.items()}
    zeros = zero_cells(fmt)
    required = [k for k in tree if f"{path}.{k}" not in zeros and not _all_computed(f"{path}.{k}", tree[k], computed)]
    return {**described, "type": "object", "additionalProperties": False, "required": required, "properties": props}


def _all_computed(path: str, tree: dict[str, Any], computed: frozenset[str]) -> bool:
    """True for a total, or an object made of totals only (such as the （七）总计 row): optional."""
    if not tree:
        return path in computed
    return all(_all_computed(f"{path}.{k}", sub, computed) for k, sub in tree.items())


def _blocks_defs(fmt: Format) -> dict[str, Any]:
    """Block lists by heading level: level 2 is （一）, the deepest allowed holds paragraphs only."""
    b = fmt.blocks
    text_max = fmt.limits["text_max_length"]
    defs: dict[str, Any] = {
        "paragraph": _text(fmt, text_max, title=b["paragraph"]["title"], description=b["paragraph"]["description"]),
        "headingText": _text(fmt, 200, title=b["heading_text"]["title"], description=b["heading_text"]["description"]),
        "runIn": {
            "title": b["run_in"]["title"], "description": b["run_in"]["description"],
            "type": "object", "additionalProperties": False, "required": ["heading", "text"],
            "properties": {
                "heading": {"$ref": "#/$defs/headingText"},
                "text": {**_text(fmt, text_max), "title": b["text"]["title"], "description": b["text"]["description"]},
            },
        },
    }
    deepest = fmt.max_heading_depth + 1
    most = fmt.limits["blocks_max"]
    defs[f"blocks{deepest}"] = {"type": "array", "maxItems": most, "items": {"$ref": "#/$defs/paragraph"}}
    for level in range(fmt.max_heading_depth, 1, -1):
        defs[f"heading{level}"] = {
            "title": b["heading"]["title"], "description": b["heading"]["description"],
            "type": "object", "additionalProperties": False, "required": ["heading", "body"],
            "properties": {
                "heading": {"$ref": "#/$defs/headingText"},
                "body": {"$ref": f"#/$defs/blocks{level + 1}", "minItems": 1, "title": b["body"]["title"], "description": b["body"]["description"]},
            },
        }
        defs[f"blocks{level}"] = {
            "type": "array",
            "maxItems": most,
            "items": {"anyOf": [{"$ref": "#/$defs/paragraph"}, {"$ref": "#/$defs/runIn"}, {"$ref": f"#/$defs/heading{level}"}]},
        }
    return defs


def build_schema(fmt: Format | None = None) -> dict[str, Any]:
    """The JSON Schema of a report, derived from the format description."""
    fmt = fmt or load_format()
    names = fmt.names()
    computed = sum_targets(fmt)
    tree: dict[str, Any] = {}
    for key in fmt.data_keys:
        node = tree
        for part in key.split("."):
            node = node.setdefault(part, {})
    f, lim = fmt.fields, fmt.limits

    def field(name: str, **schema: Any) -> dict[str, Any]:
        return {"title": f[name]["title"], "description": f[name]["description"], **schema, **({"examples": f[name]["examples"]} if "examples" in f[name] else {})}

    props: dict[str, Any] = {
        "$schema": field("$schema", type="string"),
        "format": field("format", const=fmt.id),
        "organ": field("organ", **_text(fmt, lim["organ_max_length"])),
        "year": field("year", type="integer", minimum=lim["year_min"], maximum=lim["year_max"]),
        "title": field("title", anyOf=[
            _text(fmt, 200),
            {"type": "array", "minItems": 1, "maxItems": lim["title_max_lines"], "items": _text(fmt, 200)},
        ]),
        "date": field("date", type="string", format="date", pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
        "preamble": field("preamble", **{"$ref": "#/$defs/blocks2"}),
    }
    required = ["organ", "year"]
    for section in fmt.sections:
        if section.is_table:
            sub = _node_schema(section.key, tree[section.key], fmt, names, computed)
            sub["title"] = section.heading
        else:
            sub = {"title": section.heading, "description": f"“{section.heading}”部分的段落和小标题（不含序号）", "$ref": "#/$defs/blocks2", "minItems": 1}
        props[section.key] = sub
        required.append(section.key)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"政府信息公开工作年度报告（{fmt.notice}）",
        "description": f"{fmt.name}（{fmt.notice}）的报告内容：叙述部分和统计表。",
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": props,
        "$defs": _blocks_defs(fmt),
    }


def schema_json(schema: Mapping[str, Any]) -> str:
    """The canonical text of a schema, as committed under ``schemas/``."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


@cache
def load_schema() -> dict[str, Any]:
    """The JSON Schema of a report (format 2021), as shipped with the package."""
    text = data_file("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _is_integer(checker: Any, instance: Any) -> bool:
    """A JSON integer only: jsonschema also takes the float ``1.0`` (from ``json.load``), which is no count."""
    return isinstance(instance, int) and not isinstance(instance, bool)


_StrictValidator = validators.extend(
    Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
)


@cache
def _validator() -> Draft202012Validator:
    return _StrictValidator(load_schema(), format_checker=FormatChecker())  # type: ignore[no-any-return]


@cache
def _quick_valid() -> Callable[[Any], bool]:
    """True when jsonschema would find no error; about ten times faster (see :mod:`docxreport.quickcheck`)."""
    try:
        return compile_schema(load_schema(), FormatChecker().conforms)
    except Unsupported:  # a schema keyword it does not compile: jsonschema alone answers
        return lambda _: False


# --------------------------------------------------------------------------- errors → Problems

_TYPE_NAMES = {"integer": "整数", "number": "数字", "string": "文字", "object": "对象 {…}", "array": "数组 […]", "boolean": "true/false", "null": "null"}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"布尔值 {str(value).lower()}"
    if isinstance(value, (Decimal, float)):
        return f"小数 {value}"
    if isinstance(value, int):
        return f"整数 {value}"
    if isinstance(value, str):
        return f"文字“{value[:20]}{'…' if len(value) > 20 else ''}”"
    if isinstance(value, list):
        return "数组 […]"
    return "对象 {…}"


def _body_depth(path: tuple[PathPart, ...]) -> int:
    return sum(1 for p in path if p == "body")


def _title(schema: Mapping[str, Any], key: str) -> str:
    sub = schema.get("properties", {}).get(key, {})
    return f"（{sub['title']}）" if "title" in sub else ""


def _translate(error: ValidationError, fmt: Format) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    kw, value, inst = error.validator, error.validator_value, error.instance
    rule = f"schema.{kw}"
    if kw == "type":
        if isinstance(inst, dict) and "heading" in inst and _body_depth(path) >= fmt.max_heading_depth - 1:
            yield Problem(path, "schema.depth", f"标题嵌套超过{CN_NUMERALS[fmt.max_heading_depth - 1]}级（一、（一）1.（1））：此处只能是段落文字")
        else:
            want = "或".join(_TYPE_NAMES[t] for t in ([value] if isinstance(value, str) else value))
            yield Problem(path, rule, f"应为{want}，实际为{_describe(inst)}")
    elif kw == "required":  # jsonschema yields one error per missing key; name it from the instance
        missing = [k for k in value if isinstance(inst, dict) and k not in inst]
        for key in missing[:1] if len(missing) == 1 else [k for k in missing if repr(k) in error.message][:1]:
            yield Problem(path + (key,), rule, f"缺少必填项“{key}”{_title(error.schema, key)}")
    elif kw == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        for key in inst:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"，是否应为“{close[0]}”{_title(error.schema, close[0])}？" if close else f"；允许的键：{', '.join(allowed)}"
            yield Problem(path + (key,), "schema.unknown_key", f"未知的键“{key}”{hint}")
    elif kw == "minimum":
        yield Problem(path, rule, f"不能小于 {value}，实际为 {inst}")
    elif kw == "maximum":
        yield Problem(path, rule, f"不能大于 {value}，实际为 {inst}")
    elif kw == "minLength":
        yield Problem(path, "schema.empty", "不能为空")
    elif kw == "maxLength":
        yield Problem(path, rule, f"过长：最多 {value} 个字符，实际 {len(inst)} 个")
    elif kw == "minItems":
        yield Problem(path, "schema.empty", "不能为空：至少需要一段内容" if value == 1 else f"至少需要 {value} 项")
    elif kw == "maxItems":
        yield Problem(path, rule, f"最多 {value} 项，实际 {len(inst)} 项")
    elif kw == "pattern":
        yield _pattern_problem(path, inst, value)
    elif kw == "format":
        yield Problem(path, rule, f"“{inst}”不是有效的日期（应为 YYYY-MM-DD，如 2025-01-20）")
    elif kw == "const":
        yield Problem(path, rule, f"只能是 {json.dumps(value, ensure_ascii=False)}，实际为 {json.dumps(inst, ensure_ascii=False, default=str)}")
    elif kw in ("anyOf", "oneOf"):
        yield from _translate_branches(error, fmt)
    else:  # a keyword this module does not phrase: still a problem with its path
        yield Problem(path, rule, error.message)


def _pattern_problem(path: tuple[PathPart, ...], text: str, pattern: str) -> Problem:
    if pattern != TEXT_PATTERN:  # the date's pattern: the same problem as its format (reported once)
        return Problem(path, "schema.format", f"“{text}”不是有效的日期（应为 YYYY-MM-DD，如 2025-01-20）")
    bad = _BAD_CONTROL_RE.search(text)
    if bad:
        return Problem(path, "schema.control_character", f"第 {bad.start() + 1} 个字符是控制字符 U+{ord(bad.group()):04X}，不能出现在报告中（只允许换行和制表符）")
    return Problem(path, "schema.empty", "不能为空白")


def _translate_branches(error: ValidationError, fmt: Format) -> Iterator[Problem]:
    """Report the errors of the branch the value was evidently meant to match."""
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.schema_path[0], []).append(sub)
    fitting = [errs for errs in branches.values() if not any(e.validator == "type" and not e.relative_path for e in errs)]
    if not fitting:
        yield Problem(tuple(error.absolute_path), "schema.type", f"应为文字段落或带“heading”的对象，实际为{_describe(error.instance)}")
        return
    for sub in min(fitting, key=len):
        yield from _translate(sub, fmt)


def _strings(data: Any) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """Every string of ``data`` with its path, in document order (iteratively: data built in Python may
    nest deeper than the recursion limit)."""
    stack: list[tuple[tuple[PathPart, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            stack.extend(reversed([(path + (k,), v) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(path + (i,), v) for i, v in enumerate(value)]))


def _xml_problems(data: Any) -> Iterator[Problem]:
    """Characters no Word document can hold (lone surrogates, U+FFFE/U+FFFF), anywhere in the text."""
    for path, value in _strings(data):
        bad = _NOT_XML_RE.search(value)
        if bad:
            yield Problem(path, "schema.invalid_character", f"第 {bad.start() + 1} 个字符 U+{ord(bad.group()):04X} 不是有效的文字字符，无法写入文档")


def _size_problems(data: Any, fmt: Format) -> Iterator[Problem]:
    """What a report can hold beyond single values (the format's ``limits``): line breaks and tabs in one
    text and in all, paragraphs and characters in all. Each line break or tab is an element of its own in
    the document, so they bound its size as much as the characters do; below these bounds a report
    renders within 1 GB and seconds (docs/reliability.md)."""
    lim = fmt.limits
    breaks_max, chars_max, paras_max = lim["text_max_line_breaks"], lim["report_max_chars"], lim["report_max_paragraphs"]
    all_breaks_max = lim["report_max_line_breaks"]
    chars = paragraphs = all_breaks = 0
    for path, value in _strings(data):
        chars += len(value)
        if path and path[-1] in ("heading", "text") or (len(path) >= 2 and isinstance(path[-1], int)):
            paragraphs += 1
        breaks = value.count("\n") + value.count("\t")
        all_breaks += breaks
        if breaks > breaks_max:
            yield Problem(path, "schema.line_breaks", f"一段文字中的换行和制表符过多：最多 {breaks_max} 个，实际 {breaks} 个（请分成多个段落）")
    if chars > chars_max:
        yield Problem((), "schema.report_size", f"报告文字过多：最多 {chars_max} 个字符，实际 {chars} 个")
    if paragraphs > paras_max:
        yield Problem((), "schema.report_size", f"报告段落过多：最多 {paras_max} 段（含小标题），实际 {paragraphs} 段")
    if all_breaks > all_breaks_max:
        yield Problem((), "schema.report_size", f"报告中的换行和制表符过多：最多 {all_breaks_max} 个，实际 {all_breaks} 个")


def _decimal_places(value: Decimal) -> int:
    """Decimal places of a finite ``value`` as written, trailing zeros not counted; exact whatever its
    exponent (no context arithmetic, which overflows or rounds to 0 on ``1e-999999999``)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if trailing == len(digits):  # zero
        return 0
    return max(0, -(exponent + trailing))


def _fee_problems(data: Any, fmt: Format) -> Iterator[Problem]:
    places = fmt.limits["fee_decimals"]
    for key, field in fmt.fields.items():
        if field.get("value") != "fee":
            continue
        node: Any = data
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, (float, Decimal)) and not isinstance(node, bool):
            exact = Decimal(repr(node)) if isinstance(node, float) else node
            if exact.is_nan():  # passes minimum and maximum; only data not read by jsonfile can hold it
                yield Problem(tuple(key.split(".")), "json.non_finite", "不允许使用 NaN：数值必须是有限的数字")
            elif exact.is_finite() and not -EXPONENT_MAX <= exact.as_tuple().exponent <= EXPONENT_MAX:  # type: ignore[operator]
                yield Problem(tuple(key.split(".")), "json.number_out_of_range", f"数值 {str(node)[:20]} 超出范围：数值必须是普通写法的数字（如 12 或 3.5）")
            elif exact.is_finite() and _decimal_places(exact) > places:
                yield Problem(tuple(key.split(".")), "schema.decimals", f"最多保留 {places} 位小数，实际为 {str(node)[:30]}")


#: Marks a list item in :func:`_plainly_bounded`'s walk (the path's last part is an index).
_ITEM = object()


def _plainly_bounded(data: Any, fmt: Format) -> bool:
    """Whether ``data`` is plainly within the depth, character and size bounds, in one walk that builds
    no paths. False means "look closer": :func:`too_deep`, :func:`_xml_problems` and :func:`_size_problems`
    then find (and place) the problem; this runs for every report, they only when needed."""
    lim = fmt.limits
    breaks_max, chars_max, paras_max = lim["text_max_line_breaks"], lim["report_max_chars"], lim["report_max_paragraphs"]
    all_breaks_max = lim["report_max_line_breaks"]
    chars = paragraphs = all_breaks = 0
    stack: list[tuple[Any, int, Any]] = [(data, 0, None)]
    while stack:
        node, depth, last = stack.pop()
        if depth >= DEPTH_MAX and isinstance(node, (dict, list)) and node:
            return False  # its children lie deeper than DEPTH_MAX (counts too, which are not walked)
        if isinstance(node, str):
            if _NOT_XML_RE.search(node):
                return False
            chars += len(node)
            if last == "heading" or last == "text" or (depth >= 2 and last is _ITEM):
                paragraphs += 1
            breaks = node.count("\n") + node.count("\t")
            if breaks > breaks_max:
                return False
            all_breaks += breaks
        elif isinstance(node, dict):  # counts (most of the nodes) are leaves with nothing to look at
            stack.extend([(v, depth + 1, k) for k, v in node.items() if v.__class__ is not int])
        elif isinstance(node, list):
            stack.extend([(v, depth + 1, _ITEM) for v in node if v.__class__ is not int])
    return chars <= chars_max and paragraphs <= paras_max and all_breaks <= all_breaks_max


def schema_problems(data: Any, fmt: Format | None = None) -> list[Problem]:
    """Every schema problem of ``data``, in document order."""
    fmt = fmt or load_format()
    bounded = _plainly_bounded(data, fmt)
    if not bounded:
        deep = too_deep(data)  # data built in Python can nest past what jsonschema (and repr) can recurse into
        if deep is not None:
            return [Problem(deep, "json.too_deep", f"嵌套层数过多（超过 {DEPTH_MAX} 层）")]
    found: list[Problem] = []
    for error in () if _quick_valid()(data) else _validator().iter_errors(data):
        found.extend(_translate(error, fmt))
    if not bounded:
        found.extend(_xml_problems(data))
    found.extend(_fee_problems(data, fmt))
    if not bounded:
        found.extend(_size_problems(data, fmt))
    # one value can fail two keywords the same way (an empty string: minLength and pattern); report it once
    seen: set[tuple[tuple[PathPart, ...], str]] = set()
    unique = []
    for p in found:
        if (p.path, p.rule) not in seen:
            seen.add((p.path, p.rule))
            unique.append(p)
    return unique
