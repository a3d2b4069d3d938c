"""Hostile report inputs through ``docxreport render``: each renders literally or is refused with a message
that says where, with the documented exit code, and never leaves an output file behind.

The matrix is data (``CASES``): a case builds the input file and states the outcome. docs/reliability.md
lists the same cases.
"""

from __future__ import annotations

import codecs
import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from docx import Document

ROOT = Path(__file__).resolve().parent.parent
BASE = json.loads((ROOT / "examples" / "zhuyangguan-2024.json").read_text(encoding="utf-8"))


def report(**changes: object) -> dict:
    data = json.loads(json.dumps(BASE))
    data.update(changes)
    return data


def as_json(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Path]  # writes the input under a folder, returns its path
    exit: int
    says: tuple[str, ...] = ()  # substrings of stderr (path or position, and the reason)
    literal: tuple[str, ...] = ()  # for exit 0: texts that must appear verbatim in the document


def file_with(content: bytes, name: str = "in.json") -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return build


def data_case(id: str, data: object, exit: int, says: tuple[str, ...] = (), literal: tuple[str, ...] = ()) -> Case:
    return Case(id, file_with(as_json(data)), exit, says, literal)


JINJA = "{{ 7*7 }} {% if true %}是{% endif %} {# 注释 #} {_{ x }_} {%p for a in b %}"
XML = "A&B <tag attr=\"x\"> &amp; &lt; ]]> <![CDATA[x]]> <?pi?> '单引号'"


def everywhere(text: str) -> dict:
    """The same text in every text field a report has."""
    return report(
        organ=f"机关{text}", title=[f"标题{text}", "第二行"], date="2025-01-20",
        preamble=[f"引言{text}"],
        overview=[{"heading": f"小标题{text}", "text": f"正文{text}"}, {"heading": f"独立{text}", "body": [f"段落{text}"]}],
        problems=[f"问题{text}"], other=[f"其他{text}"],
    )


CASES: list[Case] = [
    data_case("xml-specials-everywhere", everywhere(XML), 0, literal=(f"正文{XML}", f"机关{XML}", f"标题{XML}")),
    data_case("template-syntax-everywhere", everywhere(JINJA), 0, literal=(f"正文{JINJA}", f"机关{JINJA}", f"（一）小标题{JINJA}。正文{JINJA}")),
    data_case("emoji-and-cjk-extension-b", report(other=["😀🇨🇳👨‍👩‍👧 𠀀𪚥𫠝 〇"]), 0, literal=("😀🇨🇳👨‍👩‍👧 𠀀𪚥𫠝 〇",)),
    data_case("right-to-left", report(other=["مرحبا بالعالم \u202eRTL override\u202c שלום"]), 0, literal=("مرحبا بالعالم \u202eRTL override\u202c שלום",)),
    data_case("one-megabyte-paragraph", report(other=["测" * 350_000]), 0, literal=("测" * 350_000,)),
    data_case("ten-thousand-blocks", report(overview=[f"第{i}段。" for i in range(10_000)]), 0, literal=("第9999段。",)),
    data_case("maximal-nesting", report(overview=[{"heading": "一级", "body": [{"heading": "二级", "body": [{"heading": "三级", "body": ["最深段落"]}]}]}]), 0, literal=("（1）三级", "最深段落")),
    data_case("nesting-past-four-levels", report(overview=[{"heading": "a", "body": [{"heading": "b", "body": [{"heading": "c", "body": [{"heading": "d", "text": "e"}]}]}]}]),
              1, ("overview[0].body[0].body[0].body[0]", "标题嵌套超过四级")),
    data_case("count-at-upper-bound", report(proactive={**BASE["proactive"], "licensing": 10_000_000}), 0, literal=("10000000",)),
    data_case("count-past-upper-bound", report(proactive={**BASE["proactive"], "licensing": 10_000_001}), 1, ("proactive.licensing", "不能大于 10000000")),
    data_case("negative-count", report(proactive={**BASE["proactive"], "penalties": -1}), 1, ("proactive.penalties", "不能小于 0")),
    data_case("fee-with-seven-decimals", report(proactive={**BASE["proactive"], "fees": 1.1234567}), 1, ("proactive.fees", "最多保留 6 位小数")),
    Case("nan", file_with(as_json(report()).replace(b'"licensing": 0', b'"licensing": NaN')), 1, ("proactive.licensing", "NaN")),
    Case("infinity", file_with(as_json(report()).replace(b'"penalties": 0', b'"penalties": -Infinity')), 1, ("proactive.penalties", "-Infinity")),
    Case("duplicate-keys", file_with(as_json(report()).replace(b'"organ":', b'"organ": "\xe7\x94\xb2", "organ":', 1)), 1, ("organ", "出现多次")),
    Case("utf8-bom", file_with(codecs.BOM_UTF8 + as_json(report())), 0, literal=("朱阳关镇人民政府",)),
    Case("gbk-encoded", file_with(json.dumps(report(), ensure_ascii=False).encode("gbk")), 1, ("第 1 行", "GBK")),
    Case("utf16-encoded", file_with(json.dumps(report(), ensure_ascii=False).encode("utf-16")), 1, ("UTF-16",)),
    Case("top-level-array", file_with(b"[1, 2, 3]"), 1, ("$", "应为对象")),
    Case("empty-file", file_with(b""), 1, ("第 1 行", "文件为空")),
    Case("whitespace-file", file_with(b" \n\t\n"), 1, ("文件为空",)),
    Case("malformed-json", file_with(b'{"organ": "x",\n  "year": 2024,,\n}'), 1, ("第 2 行第 16 列", "JSON 语法错误")),
    Case("deeply-nested-json", file_with(b"[" * 100_000 + b"]" * 100_000), 1, ("嵌套层数过多",)),
    Case("lone-surrogate", file_with(as_json(report()).replace("我镇严格".encode(), b"\\ud800")), 1, ("overview[0].text", "U+D800")),
    Case("directory", lambda folder: folder, 2, ("这是一个目录",)),
    Case("missing-file", lambda folder: folder / "missing.json", 2, ("文件不存在",)),
]
CASES += [
    data_case(f"control-U+{code:04X}", report(other=[f"前{chr(code)}后"]), 1, ("other[0]", f"U+{code:04X}"))
    for code in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]
]


def render_cli(source: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docxreport", "render", str(source), "-o", str(output)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input(case: Case, tmp_path: Path) -> None:
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    source = case.build(inputs)
    before = source.read_bytes() if source.is_file() else None
    result = render_cli(source, outputs / "report.docx")
    assert result.returncode == case.exit, result.stderr
    assert "Traceback" not in result.stderr
    for text in case.says:
        assert text in result.stderr, (text, result.stderr)
    if source.is_file():
        assert source.read_bytes() == before  # the input is never modified
    written = sorted(p.name for p in outputs.iterdir())
    if case.exit:
        assert written == []  # refused: no output, not even a temporary file
        return
    assert written == ["report.docx"]
    document = Document(outputs / "report.docx")
    cells = {c.text for t in document.tables for row in t.rows for c in row.cells}
    texts = {p.text for p in document.paragraphs} | cells | {document.core_properties.title}
    for text in case.literal:
        assert any(text in t for t in texts), text
    assert "49" not in "".join(p.text for p in document.paragraphs if "7*7" in p.text)
    assert len(document.tables) == 3


def test_unreadable_file_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads any file, so the permission error is injected where the file is opened."""
    from docxreport import ReportFileError
    from docxreport.report.jsonfile import read_json

    path = tmp_path / "secret.json"
    path.write_bytes(as_json(report()))

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ReportFileError, match="没有读取权限"):
        read_json(path)


def test_read_only_output_directory_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from docxreport import ReportFileError
    from docxreport.files import write_atomic

    real_open = os.open

    def read_only(path: object, flags: int, *args: object) -> int:
        if str(path).startswith(str(tmp_path)) and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(ReportFileError, match="没有写入目录"):
        write_atomic(tmp_path / "out.docx", b"x")
    assert list(tmp_path.iterdir()) == []


def test_output_under_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = render_cli(ROOT / "examples" / "zhuyangguan-2024.json", blocker / "out.docx")
    assert result.returncode == 2 and "不存在" in result.stderr
    assert blocker.read_text() == "x"


def test_stdin_with_hostile_bytes_is_refused_without_output() -> None:
    result = subprocess.run([sys.executable, "-m", "docxreport", "render", "-", "-o", "-"], input=b"\xff\xfe\x00garbage",
                            capture_output=True, timeout=60)
    assert result.returncode == 1 and result.stdout == b""
    assert "UTF-16" in result.stderr.decode()


def test_rendered_text_is_exact_in_the_xml(tmp_path: Path) -> None:
    """Escaping is exact at the XML level too: the document part holds the characters, not markup."""
    import docxreport

    out = docxreport.render(everywhere(XML))
    doc = Document(io.BytesIO(out))
    body = doc.element.body.xml
    assert "<tag" not in body.replace("&lt;tag", "")
    assert f"正文{XML}" in [r.text for p in doc.paragraphs for r in p.runs]
