"""PDF through LibreOffice: ``render --pdf``, ``batch --pdf`` (one office call per chunk of reports), failed
conversions, and the message when LibreOffice is missing.

Needs ``soffice`` and ``pdftotext``; skipped when they are absent, except in CI (``CI=true``), where a
missing tool is a failure: CI installs them. The missing-LibreOffice tests always run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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


# --------------------------------------------------------------------------- the warm office


def _warm_tools() -> None:
    """soffice, pdftotext, and a Python with LibreOffice's UNO bridge (Debian: python3-uno) for the warm office."""
    _tools()
    from docxreport.pdf.warm import uno_python

    if uno_python(find_office()) is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install python3-uno (the warm office)")
        pytest.skip("no Python with LibreOffice's uno module")


def _rendered(folder: Path, name: str = "report") -> Path:
    path = folder / f"{name}.docx"
    subprocess.run([sys.executable, "-m", "docxreport", "render", str(EXAMPLES / "zhuyangguan-2024.json"), "-o", str(path)],
                   check=True, capture_output=True)
    return path


def _group_alive(group: int, wait: float = 5) -> bool:
    """Whether a process of ``group`` still runs (zombies do not count) after up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while _office_processes(group):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)
    return False


def _office_processes(group: int) -> list[int]:
    """The processes of the warm office's process group (the helper and soffice.bin)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.libreoffice
def test_the_warm_office_is_started_once_and_converts_many(tmp_path: Path) -> None:
    _warm_tools()
    source = _rendered(tmp_path)
    with Office(max_conversions=3) as office:
        assert office.start(), office.cold_reason
        warm = office.warm
        assert warm is not None
        first = warm.pid
        for i in range(3):
            out = tmp_path / f"out{i}"
            out.mkdir()
            assert office.convert([source], out)[source] == out / "report.pdf"
            assert "朱阳关镇人民政府" in pdf_text(out / "report.pdf")
        assert warm.starts == 1 and warm.pid == first  # one office for all three
        office.convert([source], tmp_path / "out0")
        assert warm.starts == 2 and warm.pid != first  # replaced after max_conversions
        assert not _group_alive(first)  # and the old one is gone
        group = warm.pid
        assert group is not None
    assert not _group_alive(group) and not office.profile.exists()  # close() stops it, removes the profile


@pytest.mark.libreoffice
def test_the_warm_office_is_restarted_after_a_crash_and_a_hang(tmp_path: Path) -> None:
    _warm_tools()
    source = _rendered(tmp_path)
    with Office() as office:
        assert office.start(), office.cold_reason
        warm = office.warm
        assert warm is not None and warm.pid is not None
        os.killpg(warm.pid, signal.SIGKILL)  # crashed
        assert office.convert([source], timeout=100)[source] == tmp_path / "report.pdf"
        assert warm.starts == 2
        hung = warm.pid
        assert hung is not None
        os.killpg(hung, signal.SIGSTOP)  # hangs: the deadline kills it
        started = time.monotonic()
        result = office.convert([source], timeout=3)[source]
        assert isinstance(result, str) and "超过 3 秒" in result
        assert time.monotonic() - started < 10 and not _group_alive(hung)
        assert office.convert([source])[source] == tmp_path / "report.pdf"
        assert warm.starts == 3


@pytest.mark.libreoffice
def test_the_warm_office_memory_is_bounded(tmp_path: Path) -> None:
    _warm_tools()
    with Office(memory=3 * 1024**3) as office:
        assert office.start(), office.cold_reason
        assert office.warm is not None and office.warm.pid is not None
        limits = []
        for pid in _office_processes(office.warm.pid):
            for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
                if line.startswith("Max address space"):
                    limits.append(int(line.split()[3]))
        assert len(limits) >= 2 and set(limits) == {3 * 1024**3}  # the helper and the office itself


@pytest.mark.libreoffice
def test_the_warm_office_goes_down_with_its_process(tmp_path: Path) -> None:
    """A service worker killed on its time limit takes its office with it: nothing is left running."""
    _warm_tools()
    script = ("import sys, time\nfrom docxreport.pdf.office import Office\no = Office()\nassert o.start()\n"
              "print(o.warm.pid, flush=True)\ntime.sleep(600)\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        group = int(process.stdout.readline())  # type: ignore[union-attr]
        assert _office_processes(group)
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    while _office_processes(group):
        assert time.monotonic() < deadline, "the office outlived its process"
        time.sleep(0.2)


@pytest.mark.libreoffice
def test_without_the_uno_bridge_conversions_start_libreoffice_each_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tools()
    import docxreport.pdf.office as office_module

    monkeypatch.setattr(office_module, "uno_python", lambda executable: None)
    source = _rendered(tmp_path)
    with Office() as office:
        assert not office.start() and "uno" in office.cold_reason
        assert office.convert([source])[source] == tmp_path / "report.pdf"
    assert "朱阳关镇人民政府" in pdf_text(tmp_path / "report.pdf")


def _pdf_metadata(path: Path) -> tuple[dict[str, str], str, str]:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    meta = subprocess.run(["pdfinfo", "-meta", str(path)], check=True, capture_output=True, text=True).stdout
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        language = pdf.doc.catalog.get("Lang", b"")
    return {k.strip(): v.strip() for k, v in fields.items()}, meta, language.decode() if isinstance(language, bytes) else str(language)


@pytest.mark.libreoffice
@pytest.mark.parametrize("pdfa", [False, True])
def test_pdf_metadata_and_pdfa(tmp_path: Path, pdfa: bool) -> None:
    """Title, author (the organ) and language in every PDF; PDF/A-2b on request (render --pdf-a)."""
    _tools()
    result = docxreport("render", str(EXAMPLES / "zhuyangguan-2024.json"), "-o", "r.docx", "--pdf-a" if pdfa else "--pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fields, meta, language = _pdf_metadata(tmp_path / "r.pdf")
    assert fields["Title"] == "朱阳关镇人民政府2024年政府信息公开工作年度报告"
    assert fields["Author"] == "朱阳关镇人民政府"
    assert language == "zh-CN"
    assert ("<pdfaid:part>2</pdfaid:part>" in meta and "<pdfaid:conformance>B</pdfaid:conformance>" in meta) is pdfa
    if pdfa:
        fonts = subprocess.run(["pdffonts", str(tmp_path / "r.pdf")], check=True, capture_output=True, text=True).stdout
        assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])  # every font embedded


@pytest.mark.libreoffice
def test_batch_pdf_a(tmp_path: Path) -> None:
    _tools()
    result = docxreport("batch", str(EXAMPLES / "zhuyangguan-2024.json"), "-o", "out", "-j", "1", "--pdf-a", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (pdf,) = (tmp_path / "out").glob("*.pdf")
    assert "<pdfaid:part>2</pdfaid:part>" in _pdf_metadata(pdf)[1]


@pytest.mark.libreoffice
def test_conversion_to_docx(tmp_path: Path) -> None:
    """.rtf (or .doc, .wps, .odt) to .docx through the same office, for the readers of foreign files."""
    _tools()
    source = tmp_path / "old.rtf"
    source.write_text(r"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}\f0 Annual report \u20844?\u24320?\par}", encoding="ascii")
    with Office() as office:
        (tmp_path / "out").mkdir()
        result = office.convert([source], tmp_path / "out", to="docx")[source]
    assert result == tmp_path / "out" / "old.docx"
    import docx

    assert "Annual report 公开" in "\n".join(p.text for p in docx.Document(str(result)).paragraphs)


@pytest.mark.parametrize("name", ["r.pdf", "R.pdf"])
def test_render_pdf_never_overwrites_its_input(tmp_path: Path, name: str) -> None:
    report = tmp_path / name
    report.write_bytes((EXAMPLES / "zhuyangguan-2024.json").read_bytes())  # a report whose name ends in .pdf
    before = report.read_bytes()
    result = docxreport("render", name, "--pdf", cwd=tmp_path)
    assert result.returncode == 2 and "拒绝覆盖" in result.stderr, result.stderr
    assert report.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [name]
    same = docxreport("render", name, "-o", "out.pdf", "--pdf", cwd=tmp_path)
    assert same.returncode == 2 and "out.pdf" in same.stderr and not (tmp_path / "out.pdf").exists()


# --------------------------------------------------------------------------- no network for linked content


_LINKED_IMAGE = (
    '<w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing">'
    '<wp:extent cx="952500" cy="952500"/><wp:docPr id="99" name="linked"/>'
    '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
    '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="99" name="linked"/>'
    '<pic:cNvPicPr/></pic:nvPicPr><pic:blipFill>'
    '<a:blip xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:link="rIdExternal99"/>'
    '<a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="952500" cy="952500"/></a:xfrm>'
    '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>')


def _with_linked_image(source: Path, target: Path, url: str) -> None:
    """``source`` with an image linked from ``url`` (``TargetMode="External"``) in its first paragraph."""
    import zipfile

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode("utf-8")
                end = text.index("</w:p>")
                data = (text[:end] + _LINKED_IMAGE + text[end:]).encode("utf-8")
            elif item.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", (
                    '<Relationship Id="rIdExternal99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
                    f'Target="{url}" TargetMode="External"/></Relationships>').encode("utf-8"))
            zout.writestr(item, data)


@contextlib.contextmanager
def _listener() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    import http.server

    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.libreoffice
@pytest.mark.parametrize("how", ["warm", "one-shot", "warm-without-namespace", "one-shot-without-namespace"])
def test_conversion_fetches_no_linked_content(tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template's external image link makes no request: the office has no network (its own network
    namespace) and, where namespaces are not available, link updates are off in its profile."""
    _tools()
    import docxreport.pdf.office as office_module

    if how.startswith("warm"):
        _warm_tools()
    if how.endswith("without-namespace"):
        monkeypatch.setattr(office_module, "isolation_prefix", lambda: [])
    source = _rendered(tmp_path)
    linked = tmp_path / "linked.docx"
    with _listener() as (url, hits):
        _with_linked_image(source, linked, f"{url}/image.png")
        # the listener works, and a plain office would fetch: a fresh profile, no namespace
        plain = subprocess.run([find_office(), f"-env:UserInstallation={(tmp_path / 'plain').as_uri()}", "--headless",
                                "--convert-to", "pdf", "--outdir", str(tmp_path / "plain-out"), str(linked)],
                               capture_output=True, timeout=300)
        assert plain.returncode == 0 and hits, "the test's linked image is not fetched even by a plain office"
        hits.clear()
        with Office(warm=how.startswith("warm")) as office:
            assert office.convert([linked])[linked] == tmp_path / "linked.pdf"
        time.sleep(0.5)
        assert hits == []
