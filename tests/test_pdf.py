"""PDF through LibreOffice: ``render --pdf``, ``batch --pdf`` (one office call per chunk of reports), failed
conversions, and the message when LibreOffice is missing.

Needs ``soffice`` and ``pdftotext``; skipped when they are absent, except in CI (``CI=true``), where a
missing tool is a failure: CI installs them. The missing-LibreOffice tests always run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from docxreport.pdf.office import MISSING_MESSAGE, Office, OfficeNotFoundError, find_office

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _tools() -> None:
    missing = [t for t in ("soffice", "pdftotext") if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must install {missing}")
        pytest.skip(f"not installed: {missing}")


def docxreport(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docxreport", *args], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={**os.environ, **(env or {})})


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.mark.libreoffice
def test_render_writes_the_pdf_beside_the_docx(tmp_path: Path) -> None:
    _tools()
    result = docxreport("render", str(EXAMPLES / "zhuyangguan-2024.json"), "-o", "报告.docx", "--pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "已生成 报告.pdf" in result.stderr
    text = pdf_text(tmp_path / "报告.pdf")
    assert "朱阳关镇人民政府" in text and "三、收到和处理政府信息公开申请情况" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["报告.docx", "报告.pdf"]  # no profile or scratch left


@pytest.mark.libreoffice
def test_batch_converts_every_report(tmp_path: Path) -> None:
    _tools()
    base = json.loads((EXAMPLES / "county-bureau-2024.json").read_text(encoding="utf-8"))
    lines = [json.dumps({**base, "organ": f"第{i}局"}, ensure_ascii=False) for i in range(5)]
    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = docxreport("batch", "all.jsonl", "-o", "out", "-j", "2", "--pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert [(r["output"], r["pdf"], r["status"]) for r in manifest["reports"]] == [
        (f"第{i}局-2024.docx", f"第{i}局-2024.pdf", "ok") for i in range(5)]
    for i in range(5):
        assert f"第{i}局" in pdf_text(tmp_path / "out" / f"第{i}局-2024.pdf")
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")) == []
    again = docxreport("batch", "all.jsonl", "-o", "out", "--pdf", cwd=tmp_path)
    assert "0 份成功，5 份跳过" in again.stderr


@pytest.mark.libreoffice
def test_a_document_that_does_not_convert_is_reported(tmp_path: Path) -> None:
    _tools()
    good = tmp_path / "good.docx"
    subprocess.run([sys.executable, "-m", "docxreport", "render", str(EXAMPLES / "zhuyangguan-2024.json"), "-o", str(good)], check=True,
                   capture_output=True)
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"PK\x03\x04 this is no document")
    with Office() as office:
        results = office.convert([good, bad])
        profile = office.profile
    assert results[good] == tmp_path / "good.pdf" and (tmp_path / "good.pdf").read_bytes().startswith(b"%PDF-")
    assert isinstance(results[bad], str) and "PDF 转换失败" in results[bad]
    assert not (tmp_path / "bad.pdf").exists() and not profile.exists()


def test_missing_libreoffice_is_explained_in_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCXREPORT_SOFFICE", str(tmp_path / "no-soffice"))
    with pytest.raises(OfficeNotFoundError) as info:
        find_office()
    assert str(info.value) == MISSING_MESSAGE and "LibreOffice" in MISSING_MESSAGE and "安装" in MISSING_MESSAGE


@pytest.mark.parametrize("command", ["render", "batch"])
def test_commands_exit_2_before_writing_when_libreoffice_is_missing(tmp_path: Path, command: str) -> None:
    args = [str(EXAMPLES / "zhuyangguan-2024.json"), "-o", "out.docx" if command == "render" else "out", "--pdf"]
    result = docxreport(command, *args, cwd=tmp_path, env={"DOCXREPORT_SOFFICE": str(tmp_path / "no-soffice")})
    assert result.returncode == 2
    assert "未找到 LibreOffice" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing rendered, no folder made
