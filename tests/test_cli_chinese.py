"""Every text the command prints is Chinese: click's own help and usage errors included (option names,
placeholders, command names and our own examples stay as they are)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import click
import pytest

from docxreport.cli import main as cli_group

COMMANDS = sorted(cli_group.commands)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "LANG": "C", "LC_ALL": "C", "LANGUAGE": ""}
    return subprocess.run([sys.executable, "-m", "docxreport", *args], capture_output=True, check=False, text=True,
                          encoding="utf-8", env=env, timeout=120)


def _our_words() -> set[str]:
    """Every ASCII word the project itself wrote into the commands: help texts, option names, placeholders,
    choices, defaults. What the output holds beyond these can only come from click."""
    texts = ["docxreport", cli_group.help or ""]
    for group_or_command in [cli_group, *cli_group.commands.values()]:
        texts += [group_or_command.name or "", group_or_command.help or ""]
        for p in group_or_command.params:
            texts += [*p.opts, *p.secondary_opts, str(p.metavar or ""), p.name or "", str(getattr(p, "help", "") or "")]
            texts += [str(p.default)] if p.default is not None and not callable(p.default) else []
            if isinstance(p.type, click.Choice):
                texts += list(map(str, p.type.choices))
    return {w.lower() for w in re.findall(r"[A-Za-z]{2,}", " ".join(texts))}


ALLOWED = _our_words()
#: click's English, which must never reach a user (a direct check besides the vocabulary one).
ENGLISH = ("Usage", "Options", "Commands", "Show this", "Error", "Missing", "Invalid value", "is not", "Try ",
           "No such", "Did you mean", "does not exist", "requires an argument", "unexpected extra", ", version")


def english_words(text: str, typed: tuple[str, ...] = ()) -> list[str]:
    """ASCII words neither we nor the user (``typed``: the command line) wrote."""
    allowed = ALLOWED | {w.lower() for w in re.findall(r"[A-Za-z]{2,}", " ".join(typed))}
    return sorted({w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in allowed})


def assert_chinese(text: str, typed: tuple[str, ...] = ()) -> None:
    assert text.strip()
    assert english_words(text, typed) == [], text
    for phrase in ENGLISH:
        assert phrase not in text, text


def test_vocabulary_does_not_already_contain_clicks_english():
    # the check below is only as good as this: our own texts must not contain click's words
    assert not {"usage", "options", "show", "error", "missing", "invalid", "try", "such", "mean", "exist"} & ALLOWED


@pytest.mark.parametrize("args", [["--help"], ["-h"], *([c, "--help"] for c in COMMANDS)], ids=lambda a: " ".join(a))
def test_help_is_chinese(args):
    r = run(*args)
    assert r.returncode == 0, r.stderr
    assert_chinese(r.stdout)
    assert "用法：" in r.stdout and "显示本帮助并退出" in r.stdout and "[选项]" in r.stdout


def test_version_is_chinese():
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("docxreport 版本 ")
    assert_chinese(r.stdout)


USAGE_ERRORS = {
    "no command": ([], "用法："),
    "unknown command": (["validat"], "没有子命令 'validat'。 是否应为 'validate'？"),
    "missing option": (["init", "--year", "2024"], "缺少选项 '--organ'"),
    "missing argument": (["render"], "缺少参数 'INPUT'"),
    "bad choice": (["render", "--fonts", "songti", "x.json"], "'--fonts' 的值无效：'songti' 不是 'official', 'windows' 之一"),
    "out of range": (["init", "--organ", "某局", "--year", "1999"], "1999 不在范围 2008<=x<=2100 内"),
    "not a number": (["init", "--organ", "某局", "--year", "二〇二四"], "不是有效的数字"),
    "unknown option": (["init", "--orga", "某局"], "没有选项 '--orga'"),
    "option without value": (["validate", "x.json", "--format"], "选项 '--format' 需要一个值"),
    "extra argument": (["validate", "a.json", "b.json"], "多余的参数（b.json）"),
    "missing file": (["batch", "x.json", "-o", "out", "--template", "无此模板.docx"], "文件 '无此模板.docx' 不存在"),
    "zero jobs": (["batch", "x.json", "-o", "out", "-j", "0"], "'-j' / '--jobs' 的值无效"),
    "bad port": (["serve", "--port", "70000"], "70000 不在范围"),
}


@pytest.mark.parametrize("name", sorted(USAGE_ERRORS))
def test_usage_errors_are_chinese_and_exit_2(name, tmp_path):
    args, expected = USAGE_ERRORS[name]
    r = subprocess.run([sys.executable, "-m", "docxreport", *args], capture_output=True, check=False, text=True, encoding="utf-8",
                       env={**os.environ, "PYTHONIOENCODING": "utf-8", "LANG": "C"}, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert expected in r.stdout + r.stderr
    assert_chinese(r.stdout + r.stderr, tuple(args))
    assert not (tmp_path / "out").exists()


def test_click_speaks_english_again_after_a_command():
    """The translation is bound for one command's run, not for the process: a program that imports
    docxreport beside its own click commands keeps click as it was."""
    from click.testing import CliRunner

    result = CliRunner().invoke(cli_group, ["init"])
    assert result.exit_code == 2 and "缺少选项" in result.output

    @click.command()
    @click.option("--name", required=True)
    def other(name: str) -> None:  # pragma: no cover - never runs
        pass

    assert "Missing option '--name'" in CliRunner().invoke(other, []).output
