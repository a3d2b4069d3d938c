"""``validate`` and ``check_source``: every consistency rule and every kind of bad input, with path and message."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docxreport
from docxreport.report import rules
from docxreport.errors import InvalidReportError, ReportFileError
from docxreport.format import load_format
from docxreport.problems import Problem, has_errors, json_path
from docxreport.report.skeleton import skeleton
from docxreport.report.validation import check_source, validate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FMT = load_format()
BASE = json.loads((EXAMPLES / "county-bureau-2024.json").read_text(encoding="utf-8"))
PREVIOUS = json.loads((EXAMPLES / "county-bureau-2023.json").read_text(encoding="utf-8"))
BASE_TEXT = json.dumps(BASE, ensure_ascii=False, indent=1)


# --------------------------------------------------------------------------- helpers


def report() -> dict[str, Any]:
    """A fresh copy of a valid, non-trivial report (examples/county-bureau-2024.json)."""
    return copy.deepcopy(BASE)


def zeros() -> dict[str, Any]:
    """A valid report whose every count is 0 (totals written), its placeholders filled in."""
    data = skeleton("某某县自然资源局", 2024)
    for block in data["overview"]:
        block["text"] = "本年度按规定开展相关工作。"
    for block in data["problems"]:
        block["body"] = ["本年度按规定开展相关工作。"]
    data["other"] = ["本年度未收取信息处理费。"]
    return data


def raw(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def edited(old: str, new: str) -> bytes:
    """The valid report's JSON text with one exact piece of text replaced."""
    assert BASE_TEXT.count(old) == 1, f"{old!r} is not unique in the base report"
    return BASE_TEXT.replace(old, new).encode("utf-8")


def put(data: Any, where: tuple[str | int, ...], value: Any) -> None:
    """Set the value at a path of keys and list indexes."""
    node = data
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value


def problems_in(source: bytes, previous: bytes | None = None) -> list[Problem]:
    _, problems = check_source(source, previous)
    return problems


def summary(problems: list[Problem]) -> list[tuple[str, str, str]]:
    return sorted((p.json_path, p.rule, p.severity) for p in problems)


def only(problems: list[Problem], path: str, rule: str | None = None) -> Problem:
    """The single problem at ``path`` (and with ``rule``); fails when there is none or more than one."""
    found = [p for p in problems if p.json_path == path and (rule is None or p.rule == rule)]
    assert len(found) == 1, f"expected one problem at {path} ({rule}), got {[str(p) for p in problems]}"
    return found[0]


def test_base_reports_are_valid():
    assert validate(report()) == []
    assert validate(zeros()) == []
    assert problems_in(BASE_TEXT.encode()) == []


# --------------------------------------------------------------------------- rule 1: row totals


def test_row_total_message_shows_the_numbers():
    data = zeros()
    data["requests"]["received"] = {"natural": 3, "total": 4}
    data["requests"]["carried_forward"] = {"natural": 3, "total": 3}
    problems = validate(data)
    p = only(problems, "requests.received.total", "row_total")
    assert str(p) == "requests.received.total: 总计应为各申请人类别之和 3+0+0+0+0+0=3，实际填写为 4"
    assert p.severity == "error" and p.path == ("requests", "received", "total")
    assert p.to_dict() == {"path": "requests.received.total", "rule": "row_total", "severity": "error",
                           "message": "总计应为各申请人类别之和 3+0+0+0+0+0=3，实际填写为 4",
                           "details": {"expected": 3, "actual": 4, "terms": {
                               "requests.received.natural": 3, "requests.received.business": 0,
                               "requests.received.research": 0, "requests.received.nonprofit": 0,
                               "requests.received.legal": 0, "requests.received.other_org": 0}}}
    # the written (wrong) total also breaks the balance of the 总计 column, and nothing else
    assert summary(problems) == [("requests.received.total", "balance", "error"), ("requests.received.total", "row_total", "error")]


@pytest.mark.parametrize("row", FMT.lists["request_rows"])
def test_row_total_is_checked_on_every_row_of_table3(row):
    data = report()
    node = rules.get_path(data, row)
    parts = [node.get(c, 0) for c in FMT.lists["applicant_columns"]]
    node["total"] = sum(parts) + 1
    p = only(validate(data), f"{row}.total", "row_total")
    assert p.message == f"总计应为各申请人类别之和 {'+'.join(map(str, parts))}={sum(parts)}，实际填写为 {sum(parts) + 1}"


def test_row_total_from_the_invalid_example():
    problems = problems_in((EXAMPLES / "invalid" / "row-total.json").read_bytes())
    assert str(only(problems, "requests.received.total", "row_total")) == (
        "requests.received.total: 总计应为各申请人类别之和 38+6+1+0+3+2=50，实际填写为 51"
    )


def test_absent_applicant_columns_count_as_zero():
    data = zeros()
    data["requests"]["received"] = {"legal": 2, "total": 2}
    data["requests"]["carried_forward"] = {"legal": 2}
    assert validate(data) == []


# --------------------------------------------------------------------------- rule 2: （七）总计


def test_outcomes_total_column_by_column():
    data = zeros()
    data["requests"]["outcomes"]["disclosed"] = {"natural": 2, "total": 2}
    problems = validate(data)
    terms = "+".join(["2"] + ["0"] * 20)
    assert str(only(problems, "requests.outcomes.total.natural", "outcomes_total")) == (
        f"requests.outcomes.total.natural: （七）总计应为各项办理结果之和 {terms}=2，实际填写为 0"
    )
    assert only(problems, "requests.outcomes.total.total", "outcomes_total").message == (
        f"（七）总计应为各项办理结果之和 {terms}=2，实际填写为 0"
    )
    assert summary(problems) == [
        ("requests.outcomes.total.natural", "outcomes_total", "error"),
        ("requests.outcomes.total.total", "outcomes_total", "error"),
    ]


def test_outcomes_total_sums_the_21_rows_in_form_order():
    data = zeros()
    rows = FMT.lists["outcome_rows"]
    for i, row in enumerate(rows, start=1):
        rules.get_path(data, row)["business"] = i
        rules.get_path(data, row)["total"] = i
    data["requests"]["outcomes"]["total"]["business"] = 0
    p = only(validate(data), "requests.outcomes.total.business", "outcomes_total")
    assert p.message == f"（七）总计应为各项办理结果之和 {'+'.join(str(i) for i in range(1, 22))}=231，实际填写为 0"


def test_outcomes_total_from_the_invalid_example():
    problems = problems_in((EXAMPLES / "invalid" / "outcomes-total.json").read_bytes())
    assert only(problems, "requests.outcomes.total.natural", "outcomes_total").message == (
        "（七）总计应为各项办理结果之和 18+5+0+1+0+1+1+1+0+1+6+1+1+1+1+0+0+0+1+0+0=39，实际填写为 40"
    )
    assert only(problems, "requests.outcomes.total.total", "outcomes_total").message == (
        "（七）总计应为各项办理结果之和 25+6+0+1+0+2+1+1+0+1+7+2+1+1+1+0+0+0+1+0+1=51，实际填写为 52"
    )


# --------------------------------------------------------------------------- rule 1 on table 四


def test_group_total_from_the_invalid_example():
    problems = problems_in((EXAMPLES / "invalid" / "appeals-group.json").read_bytes())
    assert [str(p) for p in problems] == [
        "appeals.review.total: 总计应为结果维持、结果纠正、其他结果、尚未审结之和 10+1+0+0=11，实际填写为 0"
    ]
    assert problems[0].rule == "group_total"


@pytest.mark.parametrize("group", ["review", "litigation", "litigation_after_review"])
def test_group_total_on_every_group(group):
    data = zeros()
    data["appeals"][group] = {"upheld": 10, "corrected": 1, "other": 0, "pending": 0, "total": 0}
    problems = validate(data)
    assert [str(p) for p in problems] == [
        f"appeals.{group}.total: 总计应为结果维持、结果纠正、其他结果、尚未审结之和 10+1+0+0=11，实际填写为 0"
    ]
    assert problems[0].rule == "group_total"


def test_group_total_absent_is_computed_not_reported():
    data = zeros()
    data["appeals"]["review"] = {"upheld": 10, "corrected": 1, "other": 0, "pending": 0}
    assert validate(data) == []


# --------------------------------------------------------------------------- rule 3: balance


def test_balance_column_by_column():
    data = zeros()
    for row in FMT.lists["request_rows"]:
        rules.get_path(data, row).pop("total")
    data["requests"]["received"]["natural"] = 5
    data["requests"]["carried_forward"]["natural"] = 2
    problems = validate(data)
    assert [str(p) for p in problems] == [
        "requests.received.natural: 第一项加第二项之和应等于第三项（七）总计加第四项之和：5+0=5，而 0+2=2",
        "requests.received.total: 第一项加第二项之和应等于第三项（七）总计加第四项之和：5+0=5，而 0+2=2",
    ]
    assert {p.rule for p in problems} == {"balance"}


def test_balance_from_the_invalid_example():
    problems = problems_in((EXAMPLES / "invalid" / "balance.json").read_bytes())
    assert [(p.json_path, p.rule, p.message) for p in problems] == [
        ("requests.received.natural", "balance", "第一项加第二项之和应等于第三项（七）总计加第四项之和：38+3=41，而 39+3=42"),
        ("requests.received.total", "balance", "第一项加第二项之和应等于第三项（七）总计加第四项之和：50+4=54，而 51+4=55"),
    ]


def test_balance_uses_computed_totals():
    minimal = json.loads((EXAMPLES / "county-bureau-2024-minimal-totals.json").read_text(encoding="utf-8"))
    minimal["requests"]["carried_forward"]["natural"] = 3
    problems = validate(minimal)
    assert [(p.json_path, p.rule, p.message) for p in problems] == [
        ("requests.received.natural", "balance", "第一项加第二项之和应等于第三项（七）总计加第四项之和：38+3=41，而 39+3=42"),
        ("requests.received.total", "balance", "第一项加第二项之和应等于第三项（七）总计加第四项之和：50+4=54，而 51+4=55"),
    ]


# --------------------------------------------------------------------------- rule 4: across years


def test_cross_year_consistent_reports_are_valid():
    assert validate(report(), copy.deepcopy(PREVIOUS)) == []
    assert problems_in(raw(BASE), raw(PREVIOUS)) == []


def test_cross_year_mismatch_names_path_and_numbers():
    previous = copy.deepcopy(PREVIOUS)
    previous["requests"]["carried_forward"]["natural"] = 5
    problems = validate(report(), previous)
    assert [str(p) for p in problems] == [
        "requests.carried_over.natural: 本年“上年结转”应等于上年报告的“结转下年度继续办理”：本年填写 3，上年报告为 5"
    ]
    assert (problems[0].rule, problems[0].severity) == ("cross_year", "error")


def test_cross_year_computes_last_years_absent_totals():
    previous = copy.deepcopy(PREVIOUS)
    previous["requests"]["carried_forward"] = {"natural": 5, "business": 1}
    problems = validate(report(), previous)
    assert [(p.json_path, p.rule, p.message) for p in problems] == [
        ("requests.carried_over.natural", "cross_year", "本年“上年结转”应等于上年报告的“结转下年度继续办理”：本年填写 3，上年报告为 5"),
        ("requests.carried_over.total", "cross_year", "本年“上年结转”应等于上年报告的“结转下年度继续办理”：本年填写 4，上年报告为 6"),
    ]


def test_cross_year_organ_name_differs_is_a_warning_only():
    previous = copy.deepcopy(PREVIOUS)
    previous["organ"] = "某某市某某县自然资源局"
    problems = validate(report(), previous)
    p = only(problems, "organ", "cross_year.organ")
    assert p.severity == "warning"
    assert "某某市某某县自然资源局" in p.message and BASE["organ"] in p.message
    assert len(problems) == 1
    assert not has_errors(problems)


def test_cross_year_wrong_year_is_a_warning():
    previous = copy.deepcopy(PREVIOUS)
    previous["year"] = 2022
    problems = validate(report(), previous)
    assert [(p.json_path, p.rule, p.severity, p.message) for p in problems] == [
        ("year", "cross_year.year", "warning", "上年报告的年度为 2022，不是 2023")
    ]


def test_cross_year_is_not_checked_without_previous():
    data = report()
    data["requests"]["carried_over"] = {"natural": 3, "business": 1}
    assert validate(data) == []


def test_problems_of_last_years_file_are_reported_and_do_not_hide_this_years():
    this = edited('"penalties": 57', '"penalties": -1')
    last = json.dumps(PREVIOUS, ensure_ascii=False).replace('"penalties": ', '"penalties": NaN, "x": ', 1).encode()
    problems = problems_in(this, last)
    assert only(problems, "proactive.penalties", "schema.minimum").message == "不能小于 0，实际为 -1"
    last_year = only(problems, "proactive.penalties", "json.non_finite")
    assert last_year.message.startswith("上年报告：")


def test_unreadable_previous_file_is_a_problem():
    problems = problems_in(raw(BASE), b'{"organ": ')
    p = only(problems, "$", "json.syntax")
    assert p.message.startswith("上年报告：JSON 语法错误")
    assert p.line == 1


# --------------------------------------------------------------------------- absent totals, all problems at once


def test_absent_totals_are_computed_never_reported():
    path = EXAMPLES / "county-bureau-2024-minimal-totals.json"
    text = path.read_text(encoding="utf-8")
    assert '"total"' not in text  # the example really omits every total
    data, problems = check_source(path)
    assert problems == []
    assert rules.complete(data, FMT) == docxreport.load(EXAMPLES / "county-bureau-2024.json")


def test_complete_fills_zeros_and_totals():
    data = zeros()
    data["requests"]["received"] = {"natural": 2, "legal": 1}
    done = rules.complete(data, FMT)
    assert done["requests"]["received"] == {"natural": 2, "legal": 1, "business": 0, "research": 0, "nonprofit": 0, "other_org": 0, "total": 3}
    assert data["requests"]["received"] == {"natural": 2, "legal": 1}  # the input is not changed


def test_all_problems_at_once():
    data = report()
    data["requests"]["received"]["total"] = 49  # rule 1 (and so rule 3 on the 总计 column)
    data["appeals"]["review"]["total"] = 9  # rule 1 on table 四
    data["proactive"]["penalties"] = -57
    data["proactive"]["coercive_measurs"] = data["proactive"].pop("coercive_measures")
    data["other"][0] = "收费\u0007情况"
    text = json.dumps(data, ensure_ascii=False, indent=1)
    assert text.count('"licensing": 1268') == 1
    text = text.replace('"licensing": 1268', '"licensing": 1269, "licensing": 1268')
    problems = problems_in(text.encode())
    assert summary(problems) == [
        ("appeals.review.total", "group_total", "error"),
        ("other[0]", "schema.control_character", "error"),
        ("proactive.coercive_measures", "schema.required", "error"),
        ("proactive.coercive_measurs", "schema.unknown_key", "error"),
        ("proactive.licensing", "json.duplicate_key", "error"),
        ("proactive.penalties", "schema.minimum", "error"),
        ("requests.received.total", "balance", "error"),
        ("requests.received.total", "row_total", "error"),
    ]
    assert only(problems, "appeals.review.total").message == "总计应为结果维持、结果纠正、其他结果、尚未审结之和 2+1+1+1=5，实际填写为 9"
    assert only(problems, "requests.received.total", "row_total").message == "总计应为各申请人类别之和 38+6+1+0+3+2=50，实际填写为 49"
    # reading problems come first
    assert problems[0].rule == "json.duplicate_key"


# --------------------------------------------------------------------------- the file itself


def test_malformed_json_gives_line_and_column():
    problems = problems_in(b'{\n  "organ": "x"\n  "year": 2024\n}')
    assert len(problems) == 1
    p = problems[0]
    assert (p.json_path, p.rule, p.line, p.column) == ("$", "json.syntax", 3, 3)
    assert str(p) == "第 3 行第 3 列: JSON 语法错误：缺少逗号“,”"
    assert p.to_dict()["line"] == 3 and p.to_dict()["column"] == 3


@pytest.mark.parametrize(
    "text,line,column,words",
    [
        ('{"organ": "x",}', 1, 15, "键名必须用英文双引号"),
        ('{\n "organ": "x\n}', 2, 13, "控制字符"),
        ('{\n "organ": \'x\'\n}', 2, 11, "此处应为一个值"),
        ('{"organ": "x"} {}', 1, 16, "多余内容"),
        ('{"organ": "x\\q"}', 1, 13, "转义"),
        ('{"organ" "x"}', 1, 10, "缺少冒号"),
    ],
)
def test_syntax_errors_are_explained(text, line, column, words):
    [p] = problems_in(text.encode())
    assert (p.rule, p.line, p.column) == ("json.syntax", line, column)
    assert words in p.message


def test_not_utf8_names_gbk():
    source = '{\n  "organ": "朱阳关镇人民政府"\n}'.encode("gbk")
    [p] = problems_in(source)
    assert p.rule == "file.encoding" and p.json_path == "$"
    assert "GBK" in p.message and "UTF-8" in p.message
    assert (p.line, p.column) == (2, 13)
    assert "第 15 字节 0xD6" in p.message  # 1-based, as a person counts


def test_utf16_is_refused_with_a_clear_message():
    for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        [p] = problems_in(BASE_TEXT.encode(encoding))
        assert p.rule == "file.encoding", encoding
        assert "UTF-16" in p.message and "UTF-8" in p.message


def test_utf8_bom_is_accepted():
    assert problems_in(b"\xef\xbb\xbf" + BASE_TEXT.encode()) == []


@pytest.mark.parametrize("content", [b"", b" \n\t\r\n  ", b"\xef\xbb\xbf"])
def test_empty_file(content):
    [p] = problems_in(content)
    assert (p.json_path, p.rule) == ("$", "json.empty")
    assert "文件为空" in p.message


def test_top_level_array():
    data, problems = check_source(b"[1, 2]")
    assert data == [1, 2]
    [p] = problems
    assert (p.json_path, p.rule, p.message) == ("$", "schema.type", "应为对象 {…}，实际为数组 […]")


@pytest.mark.parametrize(
    "where,value,message",
    [
        (("requests", "received"), 5, "应为对象 {…}，实际为整数 5"),
        (("proactive", "licensing"), "1268", "应为整数，实际为文字“1268”"),
        (("organ",), 42, "应为文字，实际为整数 42"),
        (("year",), "2024", "应为整数，实际为文字“2024”"),
        (("proactive", "penalties"), None, "应为整数，实际为null"),
        (("requests", "received", "natural"), [38], "应为整数，实际为数组 […]"),
        (("appeals", "review"), [], "应为对象 {…}，实际为数组 […]"),
        (("overview", 0, "text"), {"p": 1}, "应为文字，实际为对象 {…}"),
    ],
)
def test_wrong_json_type_names_the_path(where, value, message):
    data = report()
    put(data, where, value)
    problems = problems_in(raw(data))
    assert [(p.json_path, p.rule, p.message) for p in problems] == [(json_path(where), "schema.type", message)]


def test_wrong_type_of_a_narrative_section():
    data = report()
    data["other"] = "收费情况"
    assert only(validate(data), "other", "schema.type").message == "应为数组 […]，实际为文字“收费情况”"
    data["other"] = [5]
    assert only(validate(data), "other[0]", "schema.type").message == "应为文字段落或带“heading”的对象，实际为整数 5"


def test_unknown_key_suggests_the_nearest_valid_key():
    problems = problems_in(edited('"carried_forward"', '"carried_foward"'))
    p = only(problems, "requests.carried_foward", "schema.unknown_key")
    assert p.message == "未知的键“carried_foward”，是否应为“carried_forward”（四、结转下年度继续办理）？"
    assert only(problems, "requests.carried_forward", "schema.required").message == "缺少必填项“carried_forward”（四、结转下年度继续办理）"


@pytest.mark.parametrize(
    "path,typo,suggestion",
    [
        ((), "overveiw", "overview"),
        (("requests", "received"), "naturl", "natural"),
        (("appeals", "review"), "uphold", "upheld"),
        (("overview", 0), "heading_", "heading"),
    ],
)
def test_unknown_key_anywhere(path, typo, suggestion):
    data = report()
    put(data, (*path, typo), 1)
    p = only(validate(data), json_path((*path, typo)), "schema.unknown_key")
    assert f"是否应为“{suggestion}”" in p.message


def test_unknown_key_without_a_near_one_lists_the_allowed_keys():
    data = report()
    data["zzzz"] = 1
    p = only(validate(data), "zzzz", "schema.unknown_key")
    assert p.message.startswith("未知的键“zzzz”；允许的键：$schema, format, organ, year")


# --------------------------------------------------------------------------- counts


@pytest.mark.parametrize(
    "value,rule,message",
    [
        ("-1", "schema.minimum", "不能小于 0，实际为 -1"),
        ("1.5", "schema.type", "应为整数，实际为小数 1.5"),
        ("1.0", "schema.type", "应为整数，实际为小数 1.0"),
        ("1e2", "schema.type", "应为整数，实际为小数 1E+2"),
        ("true", "schema.type", "应为整数，实际为布尔值 true"),
        ("false", "schema.type", "应为整数，实际为布尔值 false"),
        ("10000001", "schema.maximum", "不能大于 10000000，实际为 10000001"),
        ("9" * 5000, "json.number_too_large", "数值过大（5000 位数字）"),
        ("NaN", "json.non_finite", "不允许使用 NaN：数值必须是有限的数字"),
        ("Infinity", "json.non_finite", "不允许使用 Infinity：数值必须是有限的数字"),
        ("-Infinity", "json.non_finite", "不允许使用 -Infinity：数值必须是有限的数字"),
    ],
)
def test_bad_counts(value, rule, message):
    problems = problems_in(edited('"penalties": 57', f'"penalties": {value}'))
    assert [(p.json_path, p.rule, p.message) for p in problems] == [("proactive.penalties", rule, message)]


@pytest.mark.parametrize("value", ["-1", "1.5", "1.0", "true", "10000001", "NaN", "9" * 5000])
def test_bad_count_in_table3_is_one_problem_and_no_rule_noise(value):
    problems = problems_in(edited('"natural": 38', f'"natural": {value}'))
    assert [p.json_path for p in problems] == ["requests.received.natural"]


def test_largest_count_is_accepted():
    # the text's "行政处罚决定57件" no longer agrees: a warning, not a problem with the count
    assert [p.rule for p in problems_in(edited('"penalties": 57', '"penalties": 10000000'))] == ["narrative.count"]
    assert [p.rule for p in problems_in(edited('"penalties": 57', '"penalties": 0'))] == ["narrative.count"]


def test_float_counts_from_json_load_are_refused_by_validate():
    data = report()
    data["proactive"]["penalties"] = 57.0
    data["requests"]["received"]["natural"] = 38.0
    problems = validate(data)
    assert [(p.json_path, p.rule, p.message) for p in problems] == [
        ("proactive.penalties", "schema.type", "应为整数，实际为小数 57.0"),
        ("requests.received.natural", "schema.type", "应为整数，实际为小数 38.0"),
    ]


def test_nan_fee_given_to_validate_is_refused():
    data = report()
    data["proactive"]["fees"] = float("nan")
    assert [(p.json_path, p.rule) for p in validate(data)] == [("proactive.fees", "json.non_finite")]


def test_duplicate_keys_in_a_nested_object():
    problems = problems_in(edited('"natural": 38', '"natural": 37, "natural": 38'))
    p = only(problems, "requests.received.natural", "json.duplicate_key")
    assert "“natural”" in p.message and "多次" in p.message
    assert len(problems) == 1


def test_duplicate_keys_at_the_top():
    problems = problems_in(edited('"year": 2024', '"year": 2024, "year": 2023'))
    assert [(p.json_path, p.rule) for p in problems] == [("year", "json.duplicate_key")]


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize("char", ["\u0007", "\u000b", "\r", "\u007f", "\u0000", "\u001b", "\u000c"])
def test_control_characters_are_refused(char):
    data = report()
    data["other"][0] = "收费" + char + "情况"
    problems = problems_in(raw(data))
    p = only(problems, "other[0]", "schema.control_character")
    assert p.message == f"第 3 个字符是控制字符 U+{ord(char):04X}，不能出现在报告中（只允许换行和制表符）"
    assert len(problems) == 1


@pytest.mark.parametrize("where", [("organ",), ("overview", 0, "heading"), ("overview", 0, "text"), ("title", 1), ("preamble", 0)])
def test_control_characters_are_refused_in_every_text(where):
    data = report()
    put(data, where, "a\u0007")
    p = only(validate(data), json_path(where), "schema.control_character")
    assert p.message == "第 2 个字符是控制字符 U+0007，不能出现在报告中（只允许换行和制表符）"


def test_newline_and_tab_are_allowed():
    data = report()
    data["other"][0] = "第一行\n第二行\t缩进"
    data["overview"][0]["text"] = "a\nb"
    assert problems_in(raw(data)) == []


def test_lone_surrogate_is_refused():
    text = json.dumps(BASE, ensure_ascii=True, indent=1)
    first = BASE["other"][0]
    escaped = json.dumps(first, ensure_ascii=True)
    assert text.count(escaped) == 1
    problems = problems_in(text.replace(escaped, escaped[:-1] + '\\ud800"').encode())
    p = only(problems, "other[0]", "schema.invalid_character")
    assert p.message == f"第 {len(first) + 1} 个字符 U+D800 不是有效的文字字符，无法写入文档"


def test_noncharacter_is_refused():
    data = report()
    data["organ"] = "某某\uffff局"
    assert "U+FFFF" in only(validate(data), "organ", "schema.invalid_character").message


@pytest.mark.parametrize("section", ["overview", "problems", "other"])
def test_empty_narrative_section(section):
    data = report()
    data[section] = []
    problems = validate(data)
    assert [(p.json_path, p.rule, p.message) for p in problems] == [(section, "schema.empty", "不能为空：至少需要一段内容")]


def test_missing_narrative_section():
    data = report()
    del data["problems"]
    assert only(validate(data), "problems", "schema.required").message == "缺少必填项“problems”（五、存在的主要问题及改进情况）"


@pytest.mark.parametrize(
    "text,message", [("", "不能为空"), ("   ", "不能为空白"), ("\n\t", "不能为空白"), ("\u3000\u3000", "不能为空白")]
)
def test_empty_or_blank_paragraph(text, message):
    data = report()
    data["other"][0] = text
    problems = validate(data)
    assert [(p.json_path, p.rule, p.message) for p in problems] == [("other[0]", "schema.empty", message)]


def test_empty_heading_and_empty_body():
    data = report()
    data["overview"][0]["heading"] = ""
    data["problems"][0] = {"heading": "存在问题", "body": []}
    problems = validate(data)
    assert [(p.json_path, p.rule) for p in problems] == [("overview[0].heading", "schema.empty"), ("problems[0].body", "schema.empty")]


def nested(depth: int, leaf: Any) -> Any:
    """A block list holding headings ``depth`` levels below the section heading, ``leaf`` innermost."""
    block = leaf
    for level in range(depth, 0, -1):
        block = {"heading": f"第{level}层", "body": [block]}
    return [block]


def test_four_levels_of_headings_are_fine():
    data = report()
    data["other"] = nested(3, "段落")  # 一、 → （一） → 1. → （1）
    data["problems"] = nested(2, {"heading": "（1）级段首标题", "text": "正文"})
    # a heading that writes its own number is printed once, and says so: the number does not read back
    assert [(p.json_path, p.rule, p.severity) for p in validate(data)] == [
        ("problems[0].body[0].body[0].heading", "text.read_back", "warning")]


def test_heading_deeper_than_four_levels():
    data = report()
    data["other"] = nested(4, "段落")
    problems = validate(data)
    assert [(p.json_path, p.rule) for p in problems] == [("other[0].body[0].body[0].body[0]", "schema.depth")]
    assert "标题嵌套超过四级" in problems[0].message


def test_run_in_heading_deeper_than_four_levels():
    data = report()
    data["other"] = nested(3, {"heading": "第五层", "text": "正文"})
    problems = validate(data)
    assert [(p.json_path, p.rule) for p in problems] == [("other[0].body[0].body[0].body[0]", "schema.depth")]


def test_too_deep_example():
    problems = problems_in((EXAMPLES / "invalid" / "too-deep.json").read_bytes())
    assert [(p.json_path, p.rule) for p in problems] == [("overview[1].body[0].body[0].body[0]", "schema.depth")]


def test_block_with_a_misspelt_key():
    data = report()
    data["other"][0] = {"heading": "收费情况", "txt": "未收取"}
    problems = validate(data)
    assert summary(problems) == [("other[0].text", "schema.required", "error"), ("other[0].txt", "schema.unknown_key", "error")]
    assert "是否应为“text”" in only(problems, "other[0].txt").message


# --------------------------------------------------------------------------- fee, date, title


def test_fee_with_seven_decimal_places_is_refused():
    problems = problems_in(edited('"fees": 12.3456', '"fees": 5949.0886671'))
    assert [(p.json_path, p.rule, p.message) for p in problems] == [("proactive.fees", "schema.decimals", "最多保留 6 位小数，实际为 5949.0886671")]


@pytest.mark.parametrize("fee", ["5949.088667", "7730.28", "0", "12.5000000", "100000000"])
def test_fees_as_published_are_accepted(fee):
    assert problems_in(edited('"fees": 12.3456', f'"fees": {fee}')) == []


def test_fee_is_kept_exact():
    data = docxreport.load(edited('"fees": 12.3456', '"fees": 5949.088667'))
    assert data["proactive"]["fees"] == Decimal("5949.088667")
    assert str(data["proactive"]["fees"]) == "5949.088667"


def test_negative_or_huge_fee_is_refused():
    assert only(problems_in(edited('"fees": 12.3456', '"fees": -0.5')), "proactive.fees", "schema.minimum").message == "不能小于 0，实际为 -0.5"
    assert only(problems_in(edited('"fees": 12.3456', '"fees": 100000000.01')), "proactive.fees", "schema.maximum")


@pytest.mark.parametrize("date", ["2025-13-01", "2025/01/20", "2025-02-30", "20250120", "2025-1-20", ""])
def test_bad_date(date):
    data = report()
    data["date"] = date
    problems = validate(data)
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert p.json_path == "date"
    if date:
        assert (p.rule, p.message) == ("schema.format", f"“{date}”不是有效的日期（应为 YYYY-MM-DD，如 2025-01-20）")


def test_good_date():
    data = report()
    data["date"] = "2025-01-20"
    assert validate(data) == []


def test_title_of_four_lines_is_refused():
    data = report()
    data["title"] = ["某某县", "自然资源局", "2024年", "政府信息公开工作年度报告"]
    assert [(p.json_path, p.rule, p.message) for p in validate(data)] == [("title", "schema.maxItems", "最多 3 项，实际 4 项")]


@pytest.mark.parametrize("title", ["某某县自然资源局2024年政府信息公开工作年度报告", ["一行"], ["一", "二", "三"]])
def test_title_of_one_to_three_lines_is_accepted(title):
    data = report()
    data["title"] = title
    assert validate(data) == []


def test_title_bad_shapes():
    data = report()
    data["title"] = []
    assert only(validate(data), "title", "schema.empty")
    data["title"] = 2024
    assert only(validate(data), "title", "schema.type")


def test_other_top_level_bounds():
    data = report()
    data["year"] = 2007
    data["format"] = "2019"
    data["organ"] = "局" * 101
    assert [(p.json_path, p.rule, p.message) for p in validate(data)] == [
        ("format", "schema.const", "只能是 \"2021\"，实际为 \"2019\""),
        ("organ", "schema.maxLength", "过长：最多 100 个字符，实际 101 个"),
        ("year", "schema.minimum", "不能小于 2008，实际为 2007"),
    ]


def test_missing_required_fields_are_each_named():
    problems = validate({})
    assert [p.json_path for p in problems] == ["organ", "year", "overview", "proactive", "requests", "appeals", "problems", "other"]
    assert {p.rule for p in problems} == {"schema.required"}


# --------------------------------------------------------------------------- never a traceback


@pytest.mark.parametrize("data", [None, [], "报告", 0, True, {"requests": 1}, {"requests": {"received": []}}, {"appeals": {"review": 5}}])
def test_any_json_value_gives_problems_not_exceptions(data):
    problems = validate(data)
    assert problems and has_errors(problems)
    assert all(isinstance(p, Problem) and p.message for p in problems)


def test_load_raises_library_errors(tmp_path):
    with pytest.raises(ReportFileError, match="文件不存在"):
        docxreport.load(tmp_path / "missing.json")
    with pytest.raises(ReportFileError, match="目录"):
        docxreport.load(tmp_path)
    with pytest.raises(InvalidReportError) as caught:
        docxreport.load(b"{")
    assert caught.value.problems[0].rule == "json.syntax"


def test_check_source_refuses_missing_files(tmp_path):
    with pytest.raises(ReportFileError):
        check_source(tmp_path / "missing.json")
    with pytest.raises(ReportFileError):
        check_source(raw(BASE), tmp_path / "missing-previous.json")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(source):
    _, problems = check_source(source)
    assert all(isinstance(p, Problem) for p in problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["requests", "appeals", "proactive", "overview", "title", "requests.received", "requests.outcomes",
                        "appeals.review", "proactive.regulations"]), json_values)
def test_arbitrary_values_anywhere_never_raise(path, value):
    data = report()
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[leaf] = value
    problems = validate(data, copy.deepcopy(data))
    assert all(isinstance(p, Problem) and p.message for p in problems)
