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
    return subprocess.run([sys.executable, "-m", "docxreport", *map(str, args)], capture_output=True, check=False, cwd=cwd,
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


@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_workbook_that_is_no_report_is_named_and_exits_2(command, tmp_path):
    """Workbooks are report data (docxreport.xlsx); an unrelated one is refused by what it lacks."""
    path = tmp_path / "data.xlsx"
    path.write_bytes(_xlsx())
    r = run(command, path, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{path}: 不是年度报告工作簿" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.xlsx"]


def test_validate_json_output_says_it_too(tmp_path, rendered_docx):
    path = tmp_path / "report.docx"
    path.write_bytes(rendered_docx)
    r = run("validate", path, "--format", "json")
    assert r.returncode == 2
    assert json.loads(r.stdout) == {"file": str(path), "valid": False, "problems": [],
                                    "error": f"{path}: 这是 Word 文档（.docx），不是报告数据；要读取其中的数据请用 docxreport extract"}


def test_last_years_report_may_be_its_published_docx(tmp_path, rendered_docx):
    """--previous takes last year's finished .docx too (issue 14): it is read back, not refused."""
    last = tmp_path / "2023.docx"
    last.write_bytes(rendered_docx)
    r = run("validate", EXAMPLE, "--previous", last)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr
    assert "不是报告数据" not in r.stdout + r.stderr
    pdf = tmp_path / "2023.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")  # a PDF, but no report in it: named, exit 2
    r = run("validate", EXAMPLE, "--previous", pdf)
    assert r.returncode == 2 and str(pdf) in r.stderr and "Traceback" not in r.stderr


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
        # /v1/extract reads published PDFs too, so the service points there
        assert pdf.status_code == 415 and pdf.json()["detail"] == "请求正文是 PDF 文件，不是报告数据；要读取其中的数据请用 POST /v1/extract"
        doc = client.post("/v1/validate", content=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512 + "WordDocument".encode("utf-16-le"),
                          headers={"Content-Type": "application/json"})
        assert doc.status_code == 415 and doc.json()["detail"].endswith("不是报告数据；报告数据应为 JSON")  # the service reads no .doc
        assert client.post("/v1/validate", content=EXAMPLE.read_bytes(), headers={"Content-Type": "application/json"}).status_code == 200


# --------------------------------------------------------------------------- 11.2 init: date and $schema


def test_signing_date_is_the_end_of_january_or_today():
    import datetime

    from docxreport.report.skeleton import signing_date

    assert signing_date(2024, datetime.date(2024, 12, 1)) == "2025-01-31"
    assert signing_date(2024, datetime.date(2025, 1, 31)) == "2025-01-31"
    assert signing_date(2024, datetime.date(2025, 3, 2)) == "2025-03-02"


def test_init_writes_date_schema_and_the_schema_file_and_validates(tmp_path):
    import datetime

    r = run("init", "--organ", "某某县自然资源局", "--year", "2024", "-o", "report.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert list(data)[:5] == ["$schema", "format", "organ", "year", "date"]
    assert data["date"] == max(datetime.date(2025, 1, 31), datetime.date.today()).isoformat()
    schema_file = tmp_path / data["$schema"]  # relative to the report: what an editor resolves
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["$id"] == "urn:docxreport:schema:gov-info-annual-report-2021"
    import jsonschema

    jsonschema.Draft202012Validator(schema).validate(data)  # the editor's view: the skeleton is valid
    assert r.stderr.splitlines() == ["已生成 report.json", f"已生成 {Path('.') / data['$schema']}（供编辑器校验）"]
    v = run("validate", "report.json", cwd=tmp_path)
    assert v.returncode == 0, v.stdout + v.stderr  # placeholders may be warned about, never errors
    d = run("render", "report.json", cwd=tmp_path)
    assert d.returncode == 0, d.stderr
    from docxreport.docx.reader import extract

    text = extract(tmp_path / "report.docx")[0]
    assert text["date"] == data["date"]  # the signature is there


def test_init_keeps_a_schema_file_it_did_not_write(tmp_path):
    (tmp_path / "gov-info-annual-report-2021.schema.json").write_text('{"mine": true}', encoding="utf-8")
    r = run("init", "--organ", "某局", "--year", "2024", "-o", "r.json", cwd=tmp_path)
    assert r.returncode == 0
    assert "已存在且不是本工具生成的 JSON Schema，未覆盖" in r.stderr
    assert (tmp_path / "gov-info-annual-report-2021.schema.json").read_text(encoding="utf-8") == '{"mine": true}'


# --------------------------------------------------------------------------- 11.5 one overwrite rule


def test_render_replaces_its_own_output_and_says_so(tmp_path):
    first = run("render", EXAMPLE, "-o", tmp_path / "r.docx")
    assert first.returncode == 0 and first.stderr.strip() == f"已生成 {tmp_path / 'r.docx'}"
    second = run("render", EXAMPLE, "-o", tmp_path / "r.docx", "--fonts", "windows")
    assert second.returncode == 0, second.stderr
    assert second.stderr.strip() == f"已替换 {tmp_path / 'r.docx'}（上次生成的文件）"


def _resave(path: Path) -> None:
    """What Word does on saving: a new package of the same parts (python-docx stands in for it)."""
    import docx

    document = docx.Document(str(path))
    document.add_paragraph("手工补充的一段")
    document.save(str(path))


@pytest.mark.parametrize("command", ["render", "extract-out", "init", "schema"])
def test_every_command_keeps_a_file_it_did_not_make_unless_forced(command, tmp_path):
    target = tmp_path / ("out.json" if command in ("extract-out", "init", "schema") else "out.docx")
    target.write_bytes(b"someone else's file")
    source = tmp_path / "in.docx"
    if command == "extract-out":
        assert run("render", EXAMPLE, "-o", source).returncode == 0
    args = {
        "render": ["render", EXAMPLE, "-o", target],
        "extract-out": ["extract", source, "-o", target],
        "init": ["init", "--organ", "某局", "--year", "2024", "-o", target],
        "schema": ["schema", "-o", target],
    }[command]
    r = run(*args)
    assert r.returncode == 2, r.stderr
    assert "不会覆盖；确需覆盖请加 --force" in r.stderr and "Traceback" not in r.stderr
    assert target.read_bytes() == b"someone else's file"
    forced = run(*args, "--force")
    assert forced.returncode in (0, 1), forced.stderr
    assert target.read_bytes() != b"someone else's file"
    assert f"已替换 {target}" in forced.stderr


def test_render_keeps_a_document_edited_since_it_was_made(tmp_path):
    out = tmp_path / "r.docx"
    assert run("render", EXAMPLE, "-o", out).returncode == 0
    _resave(out)
    edited = out.read_bytes()
    r = run("render", EXAMPLE, "-o", out)
    assert r.returncode == 2 and "不会覆盖" in r.stderr
    assert out.read_bytes() == edited
    # one changed byte inside the package breaks the seal too
    from docxreport.outputs import is_sealed, seal

    sealed = bytearray(seal(edited))
    assert is_sealed(bytes(sealed))
    sealed[100] ^= 1
    assert not is_sealed(bytes(sealed))


def test_schema_replaces_its_own_file(tmp_path):
    assert run("schema", "-o", tmp_path / "s.json").returncode == 0
    r = run("schema", "-o", tmp_path / "s.json")
    assert r.returncode == 0 and r.stderr.strip() == f"已替换 {tmp_path / 's.json'}"


def test_the_input_is_never_overwritten_even_with_force(tmp_path):
    source = tmp_path / "r.json"
    source.write_bytes(EXAMPLE.read_bytes())
    r = run("render", source, "-o", source, "--force")
    assert r.returncode == 2 and "输出路径与输入文件相同，拒绝覆盖" in r.stderr
    assert source.read_bytes() == EXAMPLE.read_bytes()


# --------------------------------------------------------------------------- 11.8 render --allow-errors


def test_a_report_that_does_not_balance_is_refused_by_default_and_rendered_with_allow_errors(tmp_path):
    out = tmp_path / "r.docx"
    refused = run("render", ROW_TOTAL, "-o", out)
    assert refused.returncode == 1 and not out.exists()
    assert "可加 --allow-errors" in refused.stderr
    allowed = run("render", ROW_TOTAL, "-o", out, "--allow-errors")
    assert allowed.returncode == 1, allowed.stderr  # rendered, and still not valid
    lines = allowed.stderr.strip().splitlines()
    errors = [line for line in lines if ": 错误：" in line]
    check = run("validate", ROW_TOTAL)
    assert len(errors) == sum(": 错误：" in line for line in check.stdout.splitlines()) >= 1  # every error printed
    assert lines[-1] == f"{ROW_TOTAL}: 按 --allow-errors 生成，报告有 {len(errors)} 处勾稽关系错误，未通过校验"
    assert f"已生成 {out}" in lines
    from docxreport.docx.reader import extract

    data = json.loads(ROW_TOTAL.read_text(encoding="utf-8"))
    got = extract(out)[0]
    assert got["requests"]["received"]["total"] == data["requests"]["received"]["total"]  # laid out as given


def test_allow_errors_never_lets_a_schema_error_through(tmp_path):
    out = tmp_path / "r.docx"
    r = run("render", ROOT / "examples" / "invalid" / "negative-count.json", "-o", out, "--allow-errors")
    assert r.returncode == 1 and not out.exists()
    assert "数据格式有错误，无法生成（--allow-errors 只放行统计表勾稽关系的错误）" in r.stderr


def _has_office() -> bool:
    import shutil

    return bool(shutil.which("soffice") or shutil.which("libreoffice"))


@pytest.mark.skipif(not _has_office(), reason="LibreOffice is not installed")
def test_render_pdf_never_overwrites_its_input_and_keeps_a_pdf_it_did_not_make(tmp_path):
    data_named_pdf = tmp_path / "r.pdf"  # report data under a .pdf name: its PDF would be itself
    data_named_pdf.write_bytes(EXAMPLE.read_bytes())
    r = run("render", data_named_pdf, "-o", tmp_path / "r.docx", "--pdf")
    assert r.returncode == 2 and f"{data_named_pdf}: 输出路径与输入文件相同，拒绝覆盖" in r.stderr
    assert data_named_pdf.read_bytes() == EXAMPLE.read_bytes() and not (tmp_path / "r.docx").exists()
    (tmp_path / "out.pdf").write_bytes(b"%PDF-1.4 someone else's\n%%EOF\n")
    r = run("render", EXAMPLE, "-o", tmp_path / "out.docx", "--pdf")
    assert r.returncode == 2 and "不会覆盖；确需覆盖请加 --force" in r.stderr
    assert (tmp_path / "out.pdf").read_bytes() == b"%PDF-1.4 someone else's\n%%EOF\n" and not (tmp_path / "out.docx").exists()


def test_report_text_that_mentions_pdf_or_zip_markers_is_still_report_data(tmp_path):
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["organ"] = "%PDF-1.7 PK\x03\x04 <html> 某局"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    r = run("validate", path)
    assert r.returncode in (0, 1) and "不是报告数据" not in r.stdout + r.stderr, r.stdout + r.stderr
