"""The first hour of a new user, through the real ``docxreport`` command: a finished report given where
report data is expected, what ``init`` writes, the one overwrite rule, rendering a report that does not
balance on purpose."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "zhuyangguan-2024.json"
ROW_TOTAL = ROOT / "examples" / "invalid" / "row-total.json"


def run(*args: str | Path, cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "docxreport", *map(str, args)], capture_output=True, cwd=cwd,
                          env=env, timeout=300, input=stdin.decode("latin-1") if stdin else None, text=True, encoding="utf-8")


@pytest.fixture(scope="module")
def rendered_docx() -> bytes:
    import docxreport

    return docxreport.render(json.loads(EXAMPLE.read_text(encoding="utf-8")))


def _xlsx() -> bytes:
    from openpyxl import Workbook

    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


WRONG_KINDS = {
    "report.docx": ("Word 文档（.docx）", "docxreport extract"),
    "report.pdf": ("PDF 文件", "docxreport extract"),
    "report.html": ("网页（HTML）", "docxreport extract"),
    "report.doc": ("旧版 Word 文档（.doc）", "docxreport extract"),
    "data.xlsx": ("Excel 工作簿（.xlsx）", "JSON"),
    "renamed.json": ("Word 文档（.docx）", "docxreport extract"),  # a Word file renamed: told by content
}


def _wrong_kind_bytes(name: str, docx: bytes) -> bytes:
    if name.endswith((".docx", "renamed.json")):
        return docx
    if name.endswith(".pdf"):
        return b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    if name.endswith(".html"):
        return "<!DOCTYPE html><html><head><title>年度报告</title></head><body><p>报告</p></body></html>".encode()
    if name.endswith(".doc"):
        return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512 + "WordDocument".encode("utf-16-le") + b"\0" * 512
    return _xlsx()


# --------------------------------------------------------------------------- 11.1 a finished report where data is expected


@pytest.mark.parametrize("name", sorted(WRONG_KINDS))
@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_document_given_as_report_data_is_named_and_exits_2(command, name, tmp_path, rendered_docx):
    path = tmp_path / name
    path.write_bytes(_wrong_kind_bytes(name, rendered_docx))
    before = sorted(tmp_path.iterdir())
    r = run(command, path, cwd=tmp_path)
    kind, advice = WRONG_KINDS[name]
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [f"docxreport: {path}: 这是{' ' * kind[0].isascii()}{kind}，不是报告数据；" + r.stderr.split("不是报告数据；")[1].strip()]
    assert advice in r.stderr and "UTF-8" not in r.stderr and "Traceback" not in r.stderr
    assert sorted(tmp_path.iterdir()) == before  # nothing written


def test_validate_json_output_says_it_too(tmp_path, rendered_docx):
    path = tmp_path / "report.docx"
    path.write_bytes(rendered_docx)
    r = run("validate", path, "--format", "json")
    assert r.returncode == 2
    assert json.loads(r.stdout) == {"file": str(path), "valid": False, "problems": [],
                                    "error": f"{path}: 这是 Word 文档（.docx），不是报告数据；要读取其中的数据请用 docxreport extract"}


def test_last_years_report_given_as_a_document_is_named(tmp_path, rendered_docx):
    last = tmp_path / "2023.docx"
    last.write_bytes(rendered_docx)
    r = run("validate", EXAMPLE, "--previous", last)
    assert r.returncode == 2
    assert f"{last}: 这是 Word 文档（.docx），不是报告数据" in r.stderr


def test_batch_names_a_document_among_its_inputs(tmp_path, rendered_docx):
    (tmp_path / "report.docx").write_bytes(rendered_docx)
    r = run("batch", tmp_path / "report.docx", EXAMPLE, "-o", tmp_path / "out", "-j", "1")
    assert r.returncode == 1, r.stderr
    assert f"失败：{tmp_path / 'report.docx'}：{tmp_path / 'report.docx'}: 这是 Word 文档（.docx），不是报告数据" in r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["manifest.json", "朱阳关镇人民政府-2024.docx"]


def test_the_service_answers_415_with_the_same_words(rendered_docx):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from docxreport.web.server import create_app
    from docxreport.web.service import Settings

    with TestClient(create_app(Settings())) as client:
        for route in ("/v1/validate", "/v1/render"):
            response = client.post(route, content=rendered_docx, headers={"Content-Type": "application/json"})
            assert response.status_code == 415, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            body = response.json()
            assert body["type"] == "urn:docxreport:problem:unsupported-media-type"
            assert body["detail"] == "请求正文是 Word 文档（.docx），不是报告数据；要读取其中的数据请用 POST /v1/extract"
        pdf = client.post("/v1/validate", content=b"%PDF-1.4\n%%EOF\n", headers={"Content-Type": "application/json"})
        assert pdf.status_code == 415 and pdf.json()["detail"] == "请求正文是 PDF 文件，不是报告数据；报告数据应为 JSON"
        assert client.post("/v1/validate", content=EXAMPLE.read_bytes(), headers={"Content-Type": "application/json"}).status_code == 200
