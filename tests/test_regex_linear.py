"""Every regular expression of docxreport runs in time linear in its text (issue 12: ``_NUMBER`` was cubic,
``_TITLE_END`` quadratic).

Two checks, neither timing anything in the test process:

- every pattern is compiled at module level (an inline ``re.match(r"…", text)`` is refused), so that the
  second check sees all of them: patterns found by importing every module, plus the schema's ``pattern``
  keywords;
- each pattern meets texts built to make a backtracking engine go quadratic or worse (runs of spaces,
  digits, braces, tag starts, numbers followed by spaces, the pieces of a title), 100,000 characters long,
  with ``match``, ``search``, ``fullmatch`` and ``finditer``, in a subprocess that must finish within a
  generous bound. A quadratic pattern needs some 10^10 steps for one such text: hours, not seconds.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "docxreport"
_CALLS = {"match", "search", "fullmatch", "sub", "subn", "findall", "finditer", "split"}


def test_no_regular_expression_is_written_inline() -> None:
    inline = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _CALLS
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr))):
                inline.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert inline == [], "compile patterns at module level, where tests/test_regex_linear.py finds them"


_CHECK = r'''
import importlib, pkgutil, re, sys
import docxreport
from docxreport.report.schema import load_schema

patterns = {}
def collect(owner, value, depth=0):
    if isinstance(value, re.Pattern):
        patterns[f"{owner}: {value.pattern[:60]!r}"] = value
    elif isinstance(value, dict) and depth < 2:
        for v in value.values():
            collect(owner, v, depth + 1)
    elif isinstance(value, (list, tuple)) and depth < 2:
        for v in value:
            collect(owner, v, depth + 1)

for info in pkgutil.walk_packages(docxreport.__path__, "docxreport."):
    if info.name in ("docxreport.__main__", "docxreport.pdf.bridge"):  # runs the command line / LibreOffice's own Python
        continue
    if info.name.startswith("docxreport.web"):  # needs the [server] extra; its one pattern is checked below
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
    else:
        module = importlib.import_module(info.name)
    for name, value in vars(module).items():
        collect(info.name + "." + name, value)

def walk(node):
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            patterns["schema: " + node["pattern"][:60]] = re.compile(node["pattern"])
        for v in node.values():
            walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)
walk(load_schema())

N = 100_000
texts = [
    " " * N, " " * N + "x", "1" + " " * N + "x", "1" * N + "x", "1" + " " * N + "件" + " " * N + "x",
    "2024年" + " " * N + "x", "2024" + " " * N + "年" + " " * N + "度" + " " * N + "x", "一" * N + "x",
    "（一" + " " * N, "一" + " " * N + "、" + " " * N + "x" + " " * N + "\n", "\u3000" * N + "x",
    "{{" * N, "{%" * N, "{{ a" * (N // 4), "<" * N, "<a" * N, "<w:p " * (N // 5), "&a" * N, "&" + "a" * N,
    "\n" * N + "x", "a\n" * N, "1." * N, "（1" * N, "\t" * N, "年月日" * N, "%" + "0" * N + "d", "-" * N,
    "2025-01-" + "0" * N, "x" * N + "\x00",
]
for name, pattern in sorted(patterns.items()):
    for text in texts:
        if isinstance(pattern.pattern, bytes):  # patterns over raw bytes (a page's declared charset) get the bytes
            text = text.encode("utf-8", "surrogatepass")
        pattern.match(text)
        pattern.search(text)
        pattern.fullmatch(text)
        for _ in pattern.finditer(text):
            pass
print(len(patterns), len(texts))
'''


@pytest.mark.hostile_slow
def test_every_pattern_is_linear_on_hostile_texts() -> None:
    done = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    patterns, texts = (int(n) for n in done.stdout.split())
    assert patterns >= 25 and texts >= 25  # the check found the package's patterns


def test_cells_read_without_the_cubic_pattern_give_the_same_answers() -> None:
    """The old ``_NUMBER`` (cubic: 49 s for ``"1" + 4,000 spaces + "x"``) and its linear replacement agree
    on every ordinary cell."""
    from docxreport.tables import split_number

    cubic = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:件|万元)?\s*(?:[（(](.*)[）)])?\s*$")
    for text in ("12", " 3.5 万元 ", "7（含转办2件）", "7 件 (注)", "1 x", "", "x1", "1.5.2", "3万元（含）", "0.", "１２"):
        old = cubic.match(text)
        assert (old.groups() if old else None) == split_number(text), text
