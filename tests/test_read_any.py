"""Reading any input: old Word formats through LibreOffice, URLs, check over many reports, the service."""

from __future__ import annotations

import copy
import csv
import http.server
import io
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_read_html import cms_page

import docxreport
from docxreport import reading
from docxreport.document import normalise
from docxreport.errors import ReportFileError
from docxreport.report.jsonfile import dumps

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "county-bureau-2024.json"
HAS_OFFICE = bool(shutil.which("soffice") or shutil.which("libreoffice"))


def canonical(value: Any) -> Any:
    return json.loads(dumps({"v": value}))["v"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docxreport", *args], capture_output=True, text=True, timeout=300)


def unbalanced(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with table 四's first total printed one too high (a published table that does not balance)."""
    bad = copy.deepcopy(data)
    bad["appeals"]["review"]["total"] += 1
    return bad


@pytest.mark.skipif(not HAS_OFFICE, reason="LibreOffice converts .doc and .odt")
def test_doc_and_odt_read_through_libreoffice(tmp_path: Path) -> None:
    data = docxreport.load(EXAMPLE)
    docxreport.render(data, tmp_path / "r.docx")
    for target in ("odt", "doc"):
        subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--convert-to",
                        target, "--outdir", str(tmp_path), str(tmp_path / "r.docx")], capture_output=True, timeout=180, check=True)
    odt, doc = (tmp_path / "r.odt").read_bytes(), (tmp_path / "r.doc").read_bytes()
    assert docxreport.filetypes.sniff(odt) == "odt" and docxreport.filetypes.sniff(doc, "r.doc") == "doc"
    result = run("check", str(tmp_path / "r.odt"), str(tmp_path / "r.doc"), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(result.stdout)
    assert [(r["organ"], r["year"], r["errors"]) for r in rows] == [("某某县自然资源局", 2024, 0)] * 2
    got, problems = docxreport.extract(tmp_path / "r.odt")
    want = normalise(data)
    for key in ("organ", "year", "date", "proactive", "requests", "appeals", "overview", "problems", "other"):
        assert canonical(got[key]) == canonical(want[key]), key


# --------------------------------------------------------------------------- URLs


class _Handler(http.server.BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.pages.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    data = docxreport.load(EXAMPLE)
    page = cms_page(data, "gbk").replace('charset=gbk', 'charset=utf-8').encode("gb18030")  # the header is right, the meta wrong
    _Handler.pages = {
        "/t2025.html": (200, {"Content-Type": "text/html; charset=GBK"}, page),
        "/moved": (302, {"Location": "/t2025.html"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/file": (302, {"Location": "file:///etc/passwd"}, b""),
        "/big": (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * 5000),
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_url_is_read_in_the_encoding_its_server_declares(site: str) -> None:
    got, problems = docxreport.extract(f"{site}/moved")
    assert got["organ"] == "某某县自然资源局" and got["year"] == 2024
    assert canonical(got["requests"]) == canonical(normalise(docxreport.load(EXAMPLE))["requests"])
    result = run("check", f"{site}/t2025.html")
    assert result.returncode == 0 and result.stdout.strip() == f"{site}/t2025.html: 校验通过", result.stdout + result.stderr


def test_urls_are_bounded(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ReportFileError, match="302|重定向"):
        reading.fetch(f"{site}/loop")
    with pytest.raises(ReportFileError, match="file:///etc/passwd"):  # a redirect to another scheme is refused
        reading.fetch(f"{site}/file")
    with pytest.raises(ReportFileError, match="只支持 http/https"):
        reading.fetch("file:///etc/passwd")
    with pytest.raises(ReportFileError, match="404"):
        reading.fetch(f"{site}/missing")
    with pytest.raises(ReportFileError, match="超过"):
        reading.fetch(f"{site}/big", limit=1000)
    result = run("extract", f"{site}/missing")
    assert result.returncode == 2 and "404" in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- check over many reports


def test_check_a_folder_as_csv_finds_the_table_that_does_not_balance(tmp_path: Path) -> None:
    data = docxreport.load(EXAMPLE)
    folder = tmp_path / "下级单位"
    (folder / "乡镇").mkdir(parents=True)
    docxreport.render(data, folder / "a.docx")
    (folder / "乡镇" / "b.html").write_bytes(cms_page(unbalanced(data)).encode())
    (folder / "notes.txt").write_text("not a report")  # not a supported extension: not looked at
    result = run("check", str(folder), "--format", "csv")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["文件", "机关", "年度", "状态", "错误数", "警告数", "主要问题"]
    by_file = {Path(r[0]).name: r for r in rows[1:]}
    assert set(by_file) == {"a.docx", "b.html"}
    assert by_file["a.docx"][1:5] == ["某某县自然资源局", "2024", "通过", "0"]
    bad = by_file["b.html"]
    assert bad[3] == "有错误" and int(bad[4]) >= 1 and "appeals.review" in bad[6]


def test_check_globs_and_unreadable_files_exit_2_and_are_named(tmp_path: Path) -> None:
    data = docxreport.load(EXAMPLE)
    docxreport.render(data, tmp_path / "good.docx")
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4\n%%EOF")
    result = run("check", str(tmp_path / "*.docx"), str(tmp_path / "*.pdf"), str(tmp_path / "nothing-*.html"))
    assert result.returncode == 2
    assert f"{tmp_path / 'good.docx'}: 校验通过" in result.stdout
    assert "nothing-*.html: 没有找到可审核的报告" in result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"共审核 2 份报告：1 份通过，0 份有错误，1 份无法读取（{tmp_path / 'scan.pdf'}）"


# --------------------------------------------------------------------------- the service


def test_service_extract_reads_pdf_and_html_bodies_by_content() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from docxreport.web.server import create_app
    from docxreport.web.service import Settings

    data = docxreport.load(EXAMPLE)
    page = docxreport.render_html(data).encode()
    with TestClient(create_app(Settings())) as client:
        for content_type in ("text/html", "application/octet-stream"):
            response = client.post("/v1/extract", content=page, headers={"Content-Type": content_type})
            assert response.status_code == 200, response.text
            assert response.json()["data"]["requests"] == canonical(normalise(data)["requests"])
        upload = client.post("/v1/extract", files={"file": ("报告.html", page, "text/html")})
        assert upload.status_code == 200 and upload.json()["data"]["organ"] == "某某县自然资源局"
        refused = client.post("/v1/extract", content=b"{\\rtf1 x}", headers={"Content-Type": "application/rtf"})
        assert refused.status_code == 422 and "RTF" in refused.json()["detail"]
