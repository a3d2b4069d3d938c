"""Nothing is lost: a failure or a kill while writing leaves no partial file and an existing output
untouched, and inputs are never modified."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docx import Document

import docxreport
from docxreport import ReportFileError
from docxreport import files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "county-bureau-2024.json"
OLD = b"the previous, complete output"


@pytest.fixture()
def existing(tmp_path: Path) -> Path:
    out = tmp_path / "report.docx"
    out.write_bytes(OLD)
    return out


def only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_link_failure_falls_back_to_a_named_temporary_file(existing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")  # e.g. no /proc in a container

    monkeypatch.setattr(files, "_link_fd", boom)
    docxreport.render(docxreport.load(EXAMPLE), existing)
    assert len(Document(existing).tables) == 3 and only(existing.parent) == ["report.docx"]


@pytest.mark.parametrize("stage", ["write", "replace"])
def test_failure_during_save_leaves_the_old_output(existing: Path, monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    target = {"write": (files, "_write_all"), "replace": (os, "replace")}[stage]
    monkeypatch.setattr(*target, boom)
    with pytest.raises(ReportFileError, match="写入失败|无法写入"):
        docxreport.render(docxreport.load(EXAMPLE), existing)
    assert existing.read_bytes() == OLD
    assert only(existing.parent) == ["report.docx"]


def test_failure_without_o_tmpfile_also_cleans_up(existing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The portable path (named temporary file) is tested too, for file systems without O_TMPFILE."""
    monkeypatch.setattr(files, "_unnamed", lambda *a: False)
    calls = []
    real = os.replace

    def boom(src: str, dst: str) -> None:
        calls.append(src)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ReportFileError):
        files.write_atomic(existing, b"new")
    monkeypatch.setattr(os, "replace", real)
    assert calls and existing.read_bytes() == OLD
    assert only(existing.parent) == ["report.docx"]
    files.write_atomic(existing, b"new")
    assert existing.read_bytes() == b"new" and only(existing.parent) == ["report.docx"]


def test_interrupt_during_rendering_leaves_the_old_output(existing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "_write_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        docxreport.render(docxreport.load(EXAMPLE), existing)
    assert existing.read_bytes() == OLD and only(existing.parent) == ["report.docx"]


def big_report(folder: Path) -> Path:
    """A report heavy enough that rendering takes a while (10,000 paragraphs)."""
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["other"] = [f"第{i}段：" + "政府信息公开工作。" * 20 for i in range(10_000)]
    path = folder / "big.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="O_TMPFILE is Linux only")
def test_outputs_are_written_through_an_unnamed_file_on_linux(tmp_path: Path) -> None:
    """The kill test below relies on this: no named temporary file exists while the content is written."""
    assert files._unnamed(tmp_path, tmp_path / "out.docx", b"content")
    assert only(tmp_path) == ["out.docx"] and (tmp_path / "out.docx").read_bytes() == b"content"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_a_real_render_never_leaves_a_partial_file(tmp_path: Path, sig: signal.Signals) -> None:
    source = big_report(tmp_path)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    outputs = tmp_path / "out"
    outputs.mkdir()
    target = outputs / "report.docx"
    # how long a full render takes here, then kill at points spread over it
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "docxreport", "render", str(source), "-o", str(outputs / "full.docx")], check=True, capture_output=True, timeout=300)
    duration = time.perf_counter() - started
    (outputs / "full.docx").unlink()
    outcomes = set()
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0):
        target.write_bytes(OLD)
        process = subprocess.Popen([sys.executable, "-m", "docxreport", "render", str(source), "-o", str(target)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        process.send_signal(sig)
        process.wait(timeout=60)
        assert only(outputs) == ["report.docx"], fraction  # no temporary or partial file, whatever the moment
        content = target.read_bytes()
        if content == OLD:
            outcomes.add("old")
        else:
            outcomes.add("new")
            assert len(Document(target).tables) == 3  # a complete document, never a torn one
    assert "old" in outcomes
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest


def test_commands_never_modify_their_inputs(tmp_path: Path) -> None:
    docx = tmp_path / "r.docx"
    docxreport.render(docxreport.load(EXAMPLE), docx)
    watched = {EXAMPLE: EXAMPLE.read_bytes(), docx: docx.read_bytes()}
    mtimes = {p: p.stat().st_mtime_ns for p in watched}
    for args in (["validate", str(EXAMPLE)], ["render", str(EXAMPLE), "-o", str(tmp_path / "x.docx")],
                 ["extract", str(docx)], ["check", str(docx), "--previous", str(EXAMPLE)],
                 ["render", str(EXAMPLE), "-o", str(EXAMPLE)], ["extract", str(docx), "-o", str(docx)]):
        subprocess.run([sys.executable, "-m", "docxreport", *args], capture_output=True, timeout=120)
    for path, content in watched.items():
        assert path.read_bytes() == content and path.stat().st_mtime_ns == mtimes[path]
