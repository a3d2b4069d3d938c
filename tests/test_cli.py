"""The ``docxreport`` command, run as ``python -m docxreport`` in a subprocess (as an installed package runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from docxreport.cli import main as cli_group
from docxreport.report.schema import load_schema
from docxreport.report.validation import check_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
INVALID = sorted((EXAMPLES / "invalid").glob("*.json"))

# what each invalid example breaks: a path and rule id the output must name
BROKEN = {
    "appeals-group.json": ("appeals.review.total", "group_total"),
    "balance.json": ("requests.received.natural", "balance"),
    "control-char.json": ("other[1]", "schema.control_character"),
    "empty-section.json": ("problems", "schema.empty"),
    "negative-count.json": ("proactive.penalties", "schema.minimum"),
    "outcomes-total.json": ("requests.outcomes.total.natural", "outcomes_total"),
    "row-total.json": ("requests.received.total", "row_total"),
    "too-deep.json": ("overview[1].body[0].body[0].body[0]", "schema.depth"),
    "unknown-key.json": ("requests.carried_foward", "schema.unknown_key"),
}


class Result:
    def __init__(self, done: subprocess.CompletedProcess[bytes]) -> None:
        self.code = done.returncode
        self.out = done.stdout.decode("utf-8")
        self.err = done.stderr.decode("utf-8")


def run(*args: str | Path, stdin: bytes | None = None, cwd: Path | None = None) -> Result:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "docxreport", *map(str, args)],
        input=stdin, capture_output=True, cwd=cwd, env=env, timeout=120,
    )
    return Result(done)


def no_traceback(result: Result) -> bool:
    return "Traceback" not in result.out + result.err


# --------------------------------------------------------------------------- validate: exit codes


@pytest.mark.parametrize("name", ["county-bureau-2024.json", "zhuyangguan-2024.json", "county-bureau-2024-minimal-totals.json"])
def test_validate_valid_example_exits_0(name):
    r = run("validate", EXAMPLES / name)
    assert r.code == 0, r.out + r.err
    assert "校验通过" in r.out
    assert no_traceback(r)


def test_every_invalid_example_is_listed_here():
    assert sorted(p.name for p in INVALID) == sorted(BROKEN)


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_validate_invalid_example_exits_1_and_names_path_and_rule(path):
    r = run("validate", path)
    assert r.code == 1, r.out + r.err
    where, rule = BROKEN[path.name]
    assert any(f": {where}: 错误：" in line and line.endswith(f"[{rule}]") for line in r.out.splitlines()), r.out
    assert "发现" in r.out.splitlines()[-1]
    assert no_traceback(r)


def test_validate_missing_file_exits_2_with_one_line(tmp_path):
    r = run("validate", tmp_path / "nope.json")
    assert r.code == 2
    assert r.out == ""
    assert len(r.err.splitlines()) == 1
    assert "nope.json" in r.err and "文件不存在" in r.err
    assert no_traceback(r)


def test_validate_directory_exits_2_with_one_line(tmp_path):
    r = run("validate", tmp_path)
    assert r.code == 2
    assert r.out == ""
    assert len(r.err.splitlines()) == 1 and "目录" in r.err
    assert no_traceback(r)


def test_validate_missing_previous_exits_2(tmp_path):
    r = run("validate", EXAMPLES / "county-bureau-2024.json", "--previous", tmp_path / "last-year.json")
    assert r.code == 2
    assert len(r.err.splitlines()) == 1 and "last-year.json" in r.err
    assert no_traceback(r)


def test_validate_malformed_json_names_line_and_column(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "organ": "x"\n  "year": 2024\n}\n', encoding="utf-8")
    r = run("validate", bad)
    assert r.code == 1
    assert "第 3 行第 3 列" in r.out and "[json.syntax]" in r.out
    assert no_traceback(r)


def test_validate_gbk_file_explains_the_encoding(tmp_path):
    bad = tmp_path / "gbk.json"
    bad.write_bytes((EXAMPLES / "county-bureau-2024.json").read_text(encoding="utf-8").encode("gbk"))
    r = run("validate", bad)
    assert r.code == 1
    assert "GBK" in r.out and "[file.encoding]" in r.out
    assert no_traceback(r)


@pytest.mark.parametrize("content", [b"", b"   \n", b"[]", b"\xff\xfe{\x00}\x00"])
def test_validate_never_shows_a_traceback(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    r = run("validate", bad)
    assert r.code == 1
    assert no_traceback(r)


def test_validate_without_a_file_is_a_usage_error():
    r = run("validate")
    assert r.code == 2
    assert no_traceback(r)


# --------------------------------------------------------------------------- validate: json output, previous, stdin


def test_validate_json_output_for_a_valid_report():
    r = run("validate", EXAMPLES / "county-bureau-2024.json", "--format", "json")
    assert r.code == 0
    out = json.loads(r.out)
    assert out["valid"] is True and out["problems"] == [] and out["errors"] == 0


def test_validate_json_output_for_an_invalid_report():
    r = run("validate", EXAMPLES / "invalid" / "row-total.json", "--format", "json")
    assert r.code == 1
    out = json.loads(r.out)
    assert out["valid"] is False
    assert out["errors"] == len(out["problems"]) == 2
    assert out["problems"][0] == {
        "path": "requests.received.total", "rule": "row_total", "severity": "error",
        "message": "总计应为各申请人类别之和 38+6+1+0+3+2=50，实际填写为 51",
        "details": {"expected": 50, "actual": 51, "terms": {
            "requests.received.natural": 38, "requests.received.business": 6, "requests.received.research": 1,
            "requests.received.nonprofit": 0, "requests.received.legal": 3, "requests.received.other_org": 2}},
    }


def test_validate_json_output_gives_line_and_column(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"organ": }', encoding="utf-8")
    r = run("validate", bad, "--format", "json")
    assert r.code == 1
    [problem] = json.loads(r.out)["problems"]
    assert (problem["path"], problem["rule"], problem["line"], problem["column"]) == ("$", "json.syntax", 1, 11)


def test_validate_with_previous():
    r = run("validate", EXAMPLES / "county-bureau-2024.json", "--previous", EXAMPLES / "county-bureau-2023.json")
    assert r.code == 0, r.out
    assert r.out.strip().endswith("校验通过")


def test_validate_with_a_previous_that_does_not_match(tmp_path):
    last = json.loads((EXAMPLES / "county-bureau-2023.json").read_text(encoding="utf-8"))
    last["requests"]["carried_forward"]["natural"] = 5
    last["organ"] = "某某市某某县自然资源局"
    path = tmp_path / "2023.json"
    path.write_text(json.dumps(last, ensure_ascii=False), encoding="utf-8")
    r = run("validate", EXAMPLES / "county-bureau-2024.json", "--previous", path, "--format", "json")
    assert r.code == 1
    found = {(p["path"], p["rule"], p["severity"]) for p in json.loads(r.out)["problems"]}
    assert found == {
        ("requests.carried_over.natural", "cross_year", "error"),  # last year's written total (4) still matches
        ("organ", "cross_year.organ", "warning"),
    }


def test_validate_warnings_alone_exit_0(tmp_path):
    last = json.loads((EXAMPLES / "county-bureau-2023.json").read_text(encoding="utf-8"))
    last["organ"] = "某某市某某县自然资源局"
    path = tmp_path / "2023.json"
    path.write_text(json.dumps(last, ensure_ascii=False), encoding="utf-8")
    r = run("validate", EXAMPLES / "county-bureau-2024.json", "--previous", path)
    assert r.code == 0
    assert "警告" in r.out and "[cross_year.organ]" in r.out


def test_validate_reads_stdin():
    r = run("validate", "-", stdin=(EXAMPLES / "county-bureau-2024.json").read_bytes())
    assert r.code == 0
    assert "<标准输入>" in r.out
    r = run("validate", "-", "--format", "json", stdin=(EXAMPLES / "invalid" / "balance.json").read_bytes())
    assert r.code == 1
    assert [p["rule"] for p in json.loads(r.out)["problems"]] == ["balance", "balance"]


# --------------------------------------------------------------------------- schema


def test_schema_prints_the_schema():
    r = run("schema")
    assert r.code == 0
    assert json.loads(r.out) == load_schema()


def test_schema_writes_a_file(tmp_path):
    r = run("schema", "-o", tmp_path / "schema.json")
    assert r.code == 0
    assert json.loads((tmp_path / "schema.json").read_text(encoding="utf-8")) == load_schema()


# --------------------------------------------------------------------------- init


def test_init_writes_a_skeleton_that_validates(tmp_path):
    out = tmp_path / "f.json"
    r = run("init", "--organ", "某某县自然资源局", "--year", "2024", "-o", out)
    assert r.code == 0, r.err
    data, problems = check_source(out)
    assert {p.rule for p in problems} == {"narrative.placeholder"}  # valid, each placeholder a warning
    assert (data["organ"], data["year"]) == ("某某县自然资源局", 2024)
    assert [b["heading"] for b in data["overview"]] == ["主动公开", "依申请公开", "政府信息管理", "政府信息公开平台建设", "监督保障"]
    assert data["requests"]["outcomes"]["total"]["total"] == 0
    assert run("validate", out).code == 0


def test_init_works_from_another_directory(tmp_path):
    r = run("init", "--organ", "X", "--year", "2024", "-o", "f.json", cwd=tmp_path)
    assert r.code == 0, r.err
    assert {p.severity for p in check_source(tmp_path / "f.json")[1]} == {"warning"}


def test_init_to_stdout():
    r = run("init", "--organ", "朱阳关镇人民政府", "--year", "2024")
    assert r.code == 0
    data = json.loads(r.out)
    assert data["organ"] == "朱阳关镇人民政府" and data["format"] == "2021"


def test_init_does_not_overwrite_without_force(tmp_path):
    out = tmp_path / "f.json"
    out.write_text("mine", encoding="utf-8")
    r = run("init", "--organ", "X", "--year", "2024", "-o", out)
    assert r.code == 2
    assert len(r.err.splitlines()) == 1 and "--force" in r.err
    assert out.read_text(encoding="utf-8") == "mine"
    r = run("init", "--organ", "X", "--year", "2024", "-o", out, "--force")
    assert r.code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["organ"] == "X"


def test_init_refuses_a_bad_organ(tmp_path):
    out = tmp_path / "f.json"
    r = run("init", "--organ", "某某\u0007局", "--year", "2024", "-o", out)
    assert r.code == 1
    assert "U+0007" in r.err and "[schema.control_character]" in r.err
    assert not out.exists()
    assert no_traceback(r)


@pytest.mark.parametrize("year", ["2007", "2101", "二〇二四"])
def test_init_refuses_a_bad_year(year):
    r = run("init", "--organ", "X", "--year", year)
    assert r.code == 2
    assert r.out == ""
    assert no_traceback(r)


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", sorted(cli_group.commands))
def test_every_subcommand_help_has_an_example(command):
    r = run(command, "--help")
    assert r.code == 0, r.err
    assert "示例" in r.out
    assert f"docxreport {command}" in r.out


def test_main_help_lists_the_subcommands():
    r = run("--help")
    assert r.code == 0
    assert "示例" in r.out
    for command in ("validate", "schema", "init"):
        assert command in r.out
    assert set(cli_group.commands) >= {"validate", "schema", "init"}


def test_public_functions_survive_submodule_imports() -> None:
    """docxreport.render and docxreport.extract stay the functions after the CLI's lazy imports."""
    code = ("import docxreport, docxreport.cli, docxreport.docx.reader, docxreport.docx.renderer;"
            "print(callable(docxreport.extract), callable(docxreport.render), docxreport.extract.__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["True", "True", "extract"], result.stderr


def test_a_null_report_is_invalid_not_unreadable() -> None:
    result = subprocess.run([sys.executable, "-m", "docxreport", "validate", "-"], input="null", capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "$: 错误：应为对象 {…}，实际为null [schema.type]" in result.stdout
