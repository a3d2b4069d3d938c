"""The narrative rules (issue 14): counts in the text against the tables, last year against this year,
unfinished text, and the outline of published reports. Every rule warns, none ever errs."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docxreport.document import Document, Paragraph, read_report
from docxreport.format import load_format
from docxreport.problems import Problem, has_errors
from docxreport.report import narrative
from docxreport.report.skeleton import skeleton
from docxreport.report.validation import validate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FMT = load_format()

# An excerpt of a real published report (朱阳关镇 2024, the seed of examples/zhuyangguan-2024.json): its text
# and its all-zero tables agree under the loose reading ("未收到…申请" is 0, "办件 0 条" is not a count of 件).
SEED_EXCERPT = (
    "严格实行信息依申请公开工作流程。截至 2024 年 12 月 31 日，我镇未收到任何要求公开信息的申请。"
    "按照政府信息依申请，本年度受理依申请公开办件 0 条。"
)


def example(name: str = "county-bureau-2024") -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def with_text(text: str, base: dict[str, Any] | None = None, heading: str = "依申请公开") -> dict[str, Any]:
    """The 2024 county example (50 new requests, 4 carried over, 51 answered …) with one overview paragraph."""
    data = copy.deepcopy(base or example())
    data["overview"] = [{"heading": heading, "text": text}]
    return data


def counts(data: dict[str, Any]) -> list[Problem]:
    return [p for p in validate(data) if p.rule == "narrative.count"]


def stated(text: str, base: dict[str, Any] | None = None) -> list[tuple[str, int, str | None]]:
    """(item, count, the accepted reading it matched) for each count the text states."""
    return [(s.item.label, s.stated, s.matched.label if s.matched else None) for s in narrative.statements(with_text(text, base), FMT)]


# --------------------------------------------------------------------------- 14.1 counts stated in the text


def test_a_wrong_count_is_one_warning_quoting_the_sentence_with_both_numbers_and_paths():
    data = with_text("本年度新收政府信息公开申请38件，上年结转4件。")
    problems = validate(data)
    assert not has_errors(problems)
    (p,) = [p for p in problems if p.rule == "narrative.count"]
    assert p.severity == "warning"
    assert p.json_path == "overview[0].text"
    assert "“本年度新收政府信息公开申请38件，上年结转4件。”" in p.message
    assert "38 件" in p.message and "为 50 件（requests.received.total）" in p.message
    assert "本年新收加上年结转为 54 件（requests.received.total + requests.carried_over.total）" in p.message
    assert p.details["stated"] == 38 and p.details["table"] == {"本年新收": 50, "本年新收加上年结转": 54}


def test_a_total_that_includes_the_carried_over_requests_matches_and_says_so():
    assert stated("本年度共收到政府信息公开申请54件（含上年结转4件）。") == [
        ("本年新收政府信息公开申请", 54, "本年新收加上年结转"),
        ("上年结转政府信息公开申请", 4, "上年结转"),
    ]
    assert stated("本年度新收政府信息公开申请50件。") == [("本年新收政府信息公开申请", 50, "本年新收")]
    assert not counts(with_text("本年度共收到政府信息公开申请54件（含上年结转4件）。"))


@pytest.mark.parametrize("text, expected", [
    ("二十一", 21), ("一百零五", 105), ("两", 2), ("十", 10), ("十二", 12), ("一千二百六十八", 1268),
    ("三万零五", 30005), ("零", 0), ("一二", None), ("五十四", 54),
])
def test_chinese_numerals(text, expected):
    assert narrative.chinese_count(text) == expected


def test_chinese_and_full_width_numerals_count():
    assert stated("本年度共收到政府信息公开申请五十四件。") == [("本年新收政府信息公开申请", 54, "本年新收加上年结转")]
    assert stated("本年度新收政府信息公开申请５０件。") == [("本年新收政府信息公开申请", 50, "本年新收")]
    (p,) = counts(with_text("本年度共收到政府信息公开申请二十一件。"))
    assert "21 件" in p.message
    (p,) = counts(with_text("行政复议两件。"))
    assert "2 件" in p.message and "appeals.review.total" in p.message


def test_zero_stated_in_words():
    (p,) = counts(with_text("本年度我局未收到政府信息公开申请。"))
    assert "0 件" in p.message and "requests.received.total" in p.message
    (review, litigation) = counts(with_text("本年度未发生政府信息公开行政复议、行政诉讼案件。"))
    assert "appeals.review.total" in review.message and "appeals.litigation.total" in litigation.message
    assert not counts(with_text("本年度未发生行政复议被纠错的情况。"))  # not a count of 0 cases
    assert not counts(with_text("其中5个乡镇未收到政府信息公开申请。"))


def test_every_kind_of_item_is_compared():
    cases = {
        "本年度办结49件。": "requests.outcomes.total.total",
        "结转下年度继续办理2件。": "requests.carried_forward.total",
        "上年结转5件。": "requests.carried_over.total",
        "其中予以公开24件。": "requests.outcomes.disclosed.total",
        "部分公开7件。": "requests.outcomes.partially_disclosed.total",
        "不予公开7件。": "requests.outcomes.withheld.*",
        "无法提供11件。": "requests.outcomes.unavailable.*",
        "不予处理3件。": "requests.outcomes.not_processed.*",
        "其他处理3件。": "requests.outcomes.other_handling.*",
        "行政复议4件。": "appeals.review.total",
        "行政诉讼7件。": "appeals.litigation.total",
        "其中复议后起诉3件。": "appeals.litigation_after_review.total",
    }
    for text, path in cases.items():
        problems = counts(with_text(text))
        assert len(problems) == 1 and path in problems[0].message, (text, problems)
    proactive = {
        "本年度制发行政规范性文件4件。": "proactive.normative_documents.issued",
        "废止规章2件。": "proactive.regulations.repealed",
        "现行有效规章1件。": "proactive.regulations.in_force",
        "作出行政许可处理决定1200件。": "proactive.licensing",
        "行政处罚决定50件、行政强制决定5件。": "proactive.penalties",
    }
    for text, path in proactive.items():
        problems = counts(with_text(text, heading="主动公开"))
        assert problems and path in problems[0].message, (text, problems)
    (regulations, documents) = counts(with_text("本年度制发规章1件，行政规范性文件4件。", heading="主动公开"))
    assert "proactive.regulations.issued" in regulations.message and "proactive.normative_documents.issued" in documents.message


def test_litigation_may_count_both_kinds():
    assert stated("行政诉讼5件（其中复议后起诉2件）。") == [
        ("政府信息公开行政诉讼", 5, "直接起诉加复议后起诉"),
        ("复议后起诉的行政诉讼", 2, "复议后起诉"),
    ]


@pytest.mark.parametrize("text", [
    "本年度通过12345热线受理群众诉求1200件，其中政府信息公开申请30件。",
    "本年度收到网络问政留言35件，均已办结。",
    "受理信访事项12件，办结12件。",
    "收到群众来信来访20件。",
    "本年度办理人大代表建议6件、政协委员提案9件。",
    "其中县教育局收到政府信息公开申请12件。",
    "区教育局收到政府信息公开申请12件，办结10件。",
    "全区各乡镇中，朱阳关镇收到政府信息公开申请3件。",
    "收到政府信息公开申请50件，同比增加10件。",
    "收到政府信息公开申请50件，较上年减少8件。",
    "2023年收到政府信息公开申请30件。",
    "2024年1月5日收到政府信息公开申请3件。",
    "依申请公开办结率100%，收到政府信息公开申请38条。",
    "全年收到政府信息公开申请约40件。",
    "全年收到政府信息公开申请40余件。",
    "收到政府信息公开申请40件以上。",
    "其中自然人申请38件，法人或其他组织申请12件。",
    "其中网上收到政府信息公开申请30件。",
    "个别答复书援引条款不够准确，被复议机关纠正1件。",
    "推进高效办成一件事，全年认定主动公开属性公文36件。",
    "收到、办结政府信息公开申请分别为52件、49件。",
    "完善规章制度3件。",
    "全年共制发行政规范性文件3件，清理行政规范性文件15件。",
    "无论是主动公开还是依申请公开，均严格落实保密审查。",
    "依法无偿提供政府信息公开申请服务。",
])
def test_counts_of_other_things_are_not_compared(text):
    assert counts(with_text(text)) == [], text


def test_a_count_inside_a_sub_office_sentence_is_skipped_but_the_organ_itself_is_compared():
    data = with_text("某某县自然资源局本年度新收政府信息公开申请38件。")
    (p,) = counts(data)
    assert "38 件" in p.message
    district = with_text("全区共收到政府信息公开申请50件，其中区教育局收到12件。")
    district["organ"] = "某某区人民政府"
    assert counts(district) == []


def test_the_whole_narrative_is_read_and_each_warning_names_its_paragraph():
    data = example()
    data["other"] = ["本年度共收到政府信息公开申请38件。"]
    data["problems"] = [{"heading": "存在的主要问题", "body": ["依申请公开方面，办结49件。"]}]
    paths = sorted(p.json_path for p in counts(data))
    assert paths == ["other[0]", "problems[0].body[0]"]


def test_the_quote_is_bounded():
    text = "我局高度重视政务公开工作，" * 40 + "本年度新收政府信息公开申请38件" + "，持续推进各项工作" * 40 + "。"
    (p,) = counts(with_text(text))
    quote = p.message.split("”所述")[0].split("正文“", 1)[1]
    assert len(quote) <= FMT.narrative_rules["statements"]["quote_chars"] + 2
    assert "申请38件" in quote and quote.startswith("…") and quote.endswith("…")


def test_a_totals_only_report_is_compared_with_its_computed_totals():
    data = with_text("本年度办结49件。", example("county-bureau-2024-minimal-totals"))
    (p,) = counts(data)
    assert "为 51 件（requests.outcomes.total.total）" in p.message


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_the_examples_state_counts_that_all_agree(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    found = narrative.statements(data, FMT)
    assert found, "the examples state counts: the rules must read them"
    assert [s for s in found if s.mismatch] == []
    assert [p for p in validate(data) if p.rule.startswith("narrative.")] == []


def test_the_county_example_is_read_item_by_item():
    found = {(s.item.label, s.stated) for s in narrative.statements(example(), FMT)}
    assert {("本年新收政府信息公开申请", 50), ("上年结转政府信息公开申请", 4), ("办结的政府信息公开申请", 51),
            ("不予公开", 6), ("结转下年度继续办理的申请", 3), ("政府信息公开行政复议", 5),
            ("本年废止行政规范性文件", 1), ("行政许可处理决定", 1268)} <= found
    assert not any(label == "本年新收政府信息公开申请" and n == 38 for label, n in found)  # 其中自然人申请38件


def test_the_seed_excerpt_agrees_with_its_zero_tables():
    base = example("zhuyangguan-2024")
    assert stated(SEED_EXCERPT, base) == [("本年新收政府信息公开申请", 0, "本年新收")]
    assert counts(with_text(SEED_EXCERPT, base)) == []
    # and the same words speak when the table says otherwise
    base["requests"]["received"] = {**base["requests"]["received"], "natural": 2, "total": 2}
    base["requests"]["outcomes"]["disclosed"] = {**base["requests"]["outcomes"]["disclosed"], "natural": 2, "total": 2}
    base["requests"]["outcomes"]["total"] = {**base["requests"]["outcomes"]["total"], "natural": 2, "total": 2}
    (p,) = counts(with_text(SEED_EXCERPT, base))
    assert "0 件" in p.message and "为 2 件" in p.message


def test_a_megabyte_paragraph_is_read():
    text = ("本年度新收政府信息公开申请38件，上年结转4件。" * 40000)[:1_000_000]
    found = narrative.statements(with_text(text), FMT)
    assert len(found) == FMT.narrative_rules["statements"]["max_statements"]  # bounded: the rest is not read
    assert all(s.stated in (38, 4) for s in found)
    one_sentence = "申请" * 500_000  # no sentence end: too long to be a sentence, so not read
    assert narrative.statements(with_text(one_sentence + "38件"), FMT) == []


_LINEAR = r"""
import dataclasses, re
from docxreport.format import load_format
from docxreport.report import narrative
fmt = load_format()
compiled = narrative._compiled(fmt)
patterns = [v for v in vars(compiled).values() if isinstance(v, re.Pattern)]
patterns += [v for v in vars(narrative).values() if isinstance(v, re.Pattern)]
N = 200_000
texts = ["1" * N + "x", "1" + " " * N + "件", "一" * N + "x", "二十" * N, "1," * N, "1,000" * N, "申请" * N,
         "局" * N, "我局" * N, "2024年" * N, "12月" * N, "，" * N, "未" * N, "行政复议" * N, " " * N + "x"]
for pattern in patterns:
    for text in texts:
        pattern.search(text)
        for _ in pattern.finditer(text):
            pass
for text in texts:  # and the rules themselves, on each as a paragraph
    list(narrative.check({"overview": [text], "other": [text + "。"]}, fmt, {"overview": [text]}))
print(len(patterns))
"""


def test_the_patterns_and_rules_are_linear_on_hostile_texts():
    """Run where a quadratic pattern would take hours: the bound is generous, not a speed target."""
    done = subprocess.run([sys.executable, "-c", _LINEAR], check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout) >= 8


# --------------------------------------------------------------------------- no rule ever errs

_WORDS = ["收到", "新收", "受理", "政府信息公开申请", "申请", "上年结转", "办结", "答复", "结转下年度", "予以公开",
          "不予公开", "行政复议", "行政诉讼", "复议后起诉", "规章", "行政规范性文件", "制发", "废止", "现行有效",
          "行政许可", "行政处罚", "行政强制", "网络问政", "热线", "区教育局", "我局", "其中", "未", "无", "未发生",
          "同比", "2023年", "2024年", "1月5日", "约", "件", "条", "%", "二十一", "两", "零", "，", "。", "；", "（", "）",
          "（请在此填写", "无。", "1.", "（一）"]


@st.composite
def reports(draw: Any) -> dict[str, Any]:
    data = example()
    words = st.one_of(st.sampled_from(_WORDS), st.integers(0, 10**7).map(str), st.text(max_size=3))
    texts = st.lists(words, max_size=40).map("".join).filter(bool)
    data["overview"] = [{"heading": "依申请公开", "text": t} for t in draw(st.lists(texts, min_size=1, max_size=3))]
    data["problems"] = draw(st.lists(texts, min_size=1, max_size=2))
    data["other"] = draw(st.lists(texts, min_size=1, max_size=2))
    for key in ("received", "carried_over"):
        data["requests"][key] = {"natural": draw(st.integers(0, 60))}
    data["requests"]["outcomes"].pop("total", None)
    data["requests"].pop("carried_forward", None)
    data["proactive"]["normative_documents"]["in_force"] = draw(st.integers(0, 30))
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports(), st.one_of(st.none(), reports()))
def test_no_narrative_rule_ever_yields_an_error(data, previous):
    found = list(narrative.check(data, FMT, previous))
    assert all(p.severity == "warning" for p in found)
    assert {p.rule for p in found} <= {"narrative.count", "narrative.placeholder", "narrative.empty_section",
                                       "cross_year.in_force", "cross_year.copied_text"}


_KEYS = st.sampled_from(["heading", "text", "body", "overview", "other", "problems", "organ", "year", "requests"])


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4))


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)), _nested, max_leaves=20))
def test_narrative_rules_accept_any_shape(data):
    for p in narrative.check(data, FMT, data):
        assert p.severity == "warning"


# --------------------------------------------------------------------------- 14.3 completeness


def test_every_placeholder_left_in_the_skeleton_is_a_warning_naming_its_path():
    problems = validate(skeleton("某某县自然资源局", 2024))
    assert not has_errors(problems)
    places = sorted(p.json_path for p in problems if p.rule == "narrative.placeholder")
    assert places == sorted([f"overview[{i}].text" for i in range(5)] + ["problems[0].body[0]", "problems[1].body[0]", "other[0]"])
    first = next(p for p in problems if p.json_path == "overview[0].text")
    assert first.severity == "warning" and "（请在此填写本年度主动公开工作情况。）" in first.message


@pytest.mark.parametrize("said", [["无"], ["无。"], [" 无 "], [{"heading": "存在的主要问题", "body": ["无。"]}]])
def test_sections_five_and_six_saying_only_none_warn(said):
    data = example()
    data["problems"] = said
    data["other"] = ["无。"]
    problems = validate(data)
    assert not has_errors(problems)
    empty = {p.json_path: p for p in problems if p.rule == "narrative.empty_section"}
    assert set(empty) == {"problems", "other"}
    assert "“五、存在的主要问题及改进情况”只写了“无”" in empty["problems"].message


def test_a_section_that_says_something_does_not_warn():
    data = example()
    data["other"] = ["无其他需要报告的事项。本年度未收取信息处理费。"]
    assert [p for p in validate(data) if p.rule == "narrative.empty_section"] == []


# --------------------------------------------------------------------------- 14.2 year over year


def test_table_two_continuity_states_the_difference():
    this, last = example(), example("county-bureau-2023")  # 10 in force + 3 issued − 1 repealed = 12
    assert [p for p in validate(this, last) if p.rule == "cross_year.in_force"] == []
    this["proactive"]["normative_documents"]["in_force"] = 13
    (p,) = [p for p in validate(this, last) if p.rule == "cross_year.in_force"]
    assert p.severity == "warning" and p.json_path == "proactive.normative_documents.in_force"
    assert "上年现行有效 10 件 + 本年制发 3 件 − 本年废止 1 件 = 12 件，而本年现行有效为 13 件（多 1 件）" in p.message
    assert p.details["difference"] == 1


def test_copied_text_warns_with_its_share():
    this, last = example(), example()
    last["year"] = 2023
    for block in last["overview"]:  # last year's numbers differ, the words are the same
        if "text" in block:
            block["text"] = block["text"].replace("2024", "2023").replace("326", "287")
    problems = [p for p in validate(this, last) if p.rule == "cross_year.copied_text"]
    assert {p.json_path for p in problems} == {"overview", "problems", "other"}
    overview = next(p for p in problems if p.json_path == "overview")
    assert "“一、总体情况”有 100% 的文字与上年报告相同" in overview.message and overview.severity == "warning"
    assert [p for p in validate(this, example("county-bureau-2023")) if p.rule == "cross_year.copied_text"] == []


def test_copied_share_counts_characters_of_shared_clauses():
    share, size = narrative.copied_share(["甲乙丙丁。戊己庚辛壬癸。"], ["甲乙丙丁。子丑寅卯辰巳。"])
    assert size == 10 and share == pytest.approx(0.4)
    big = "本年度我局持续推进政务公开，" * 70000  # about a megabyte, read in linear time
    assert narrative.copied_share([big], [big])[0] == 1.0


# --------------------------------------------------------------------------- 14.4 outline of published reports


def _read(*lines: str) -> list[Problem]:
    items = [Paragraph(t) for t in ["某某县自然资源局2024年政府信息公开工作年度报告", "一、总体情况", *lines,
                                    "五、存在的主要问题及改进情况", "无。", "六、其他需要报告的事项", "无。"]]
    _, problems = read_report(Document("report.docx", items))
    return [p for p in problems if p.rule == "extract.outline"]


def test_a_well_numbered_outline_is_silent():
    assert _read("（一）主动公开", "正文。", "1.制度", "正文。", "2.平台", "（二）依申请公开", "1.受理", "（1）当面", "（2）网上") == []


def test_outline_out_of_order_restarted_and_wrong_level_warn_at_the_heading():
    (p,) = _read("（一）主动公开", "正文。", "（三）依申请公开", "正文。")
    assert p.severity == "warning" and p.json_path == "overview[1].heading"
    assert "序号为“（三）”，按顺序应为“（二）”" in p.message
    (p,) = _read("（一）主动公开", "（二）依申请公开", "（一）政府信息管理", "正文。")
    assert p.json_path == "overview[2].heading" and "又从“（一）”开始，按顺序应为“（三）”" in p.message
    (p,) = _read("1.主动公开", "正文。")
    assert p.json_path == "overview[0].heading" and "第3级序号“1.”" in p.message and "“（一）”式" in p.message
    (p,) = _read("（一）主动公开", "1.甲", "2.乙", "（二）依申请公开", "1.丙", "3.丁")
    assert p.json_path == "overview[1].body[1].heading" and "按顺序应为“2.”" in p.message


def test_a_document_docxreport_wrote_has_no_outline_warnings(tmp_path):
    from docxreport import extract
    from docxreport.docx.renderer import render

    docx = tmp_path / "r.docx"
    docx.write_bytes(render(example()))
    _, problems = extract(docx)
    assert [p for p in problems if p.rule == "extract.outline"] == []


# --------------------------------------------------------------------------- through the command line and the service


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "docxreport", *map(str, args)], check=False, capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd, env=env, timeout=120)


def test_validate_render_and_check_report_placeholders_and_still_succeed(tmp_path):
    report = tmp_path / "r.json"
    assert run("init", "--organ", "某某县自然资源局", "--year", "2024", "-o", report).returncode == 0
    done = run("validate", report)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "overview[0].text: 警告：仍是待填写的占位文字“（请在此填写本年度主动公开工作情况。）”" in done.stdout
    assert done.stdout.count("[narrative.placeholder]") == 8
    out = tmp_path / "r.docx"
    done = run("render", report, "-o", out)
    assert done.returncode == 0 and out.exists()
    assert done.stderr.count("[narrative.placeholder]") == 8
    done = run("check", out)
    assert "[narrative.placeholder]" in done.stdout + done.stderr, done.stdout + done.stderr


def test_validate_previous_reads_last_years_docx(tmp_path):
    last = tmp_path / "2023.docx"
    assert run("render", EXAMPLES / "county-bureau-2023.json", "-o", last).returncode == 0
    this = example()
    this["proactive"]["normative_documents"]["in_force"] = 11
    this_file = tmp_path / "2024.json"
    this_file.write_text(json.dumps(this, ensure_ascii=False), encoding="utf-8")
    done = run("validate", this_file, "--previous", last)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "proactive.normative_documents.in_force: 警告：行政规范性文件：上年现行有效 10 件" in done.stdout
    assert "（少 1 件）" in done.stdout
    done = run("validate", this_file, "--previous", tmp_path / "missing.docx")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_validate_help_lists_every_rule_with_an_example():
    text = run("validate", "--help").stdout
    for rule in ("narrative.count", "narrative.placeholder", "narrative.empty_section", "cross_year.in_force", "cross_year.copied_text"):
        assert rule in text
    assert "警告：正文“本年度新收政府信息公开申请38件。”" in text and ".docx" in text


def test_the_service_reports_narrative_warnings():
    from fastapi.testclient import TestClient

    from docxreport.web.server import create_app

    body = json.dumps(with_text("本年度新收政府信息公开申请38件。"), ensure_ascii=False).encode("utf-8")
    with TestClient(create_app()) as client:
        answer = client.post("/v1/validate", content=body, headers={"Content-Type": "application/json"}).json()
    assert answer["valid"] is True
    (p,) = [p for p in answer["problems"] if p["rule"] == "narrative.count"]
    assert p["severity"] == "warning" and p["path"] == "overview[0].text"
