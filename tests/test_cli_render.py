"""``docxreport render`` from the command line: outputs, pipes, refusals, atomic writes."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

from docx import Document

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "docxreport", "render", *args], input=stdin, capture_output=True, cwd=cwd, timeout=120)


def test_default_output_sits_beside_the_input(tmp_path: Path) -> None:
    src = tmp_path / "report.json"
    shutil.copy(EXAMPLES / "zhuyangguan-2024.json", src)
    before = src.read_bytes()
    result = run(str(src))
    assert result.returncode == 0, result.stderr.decode()
    out = tmp_path / "report.docx"
    assert len(Document(out).tables) == 3
    assert src.read_bytes() == before
    assert "已生成" in result.stderr.decode()


def test_stdin_to_stdout_pipe() -> None:
    result = run("-", "-o", "-", stdin=(EXAMPLES / "county-bureau-2024.json").read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    doc = Document(io.BytesIO(result.stdout))
    assert doc.paragraphs[0].text == "某某县自然资源局"


def test_never_overwrites_its_input(tmp_path: Path) -> None:
    src = tmp_path / "r.json"
    shutil.copy(EXAMPLES / "zhuyangguan-2024.json", src)
    before = src.read_bytes()
    result = run(str(src), "-o", str(src))
    assert result.returncode == 2
    assert "拒绝覆盖" in result.stderr.decode()
    assert src.read_bytes() == before


def test_invalid_input_prints_problems_and_leaves_existing_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out.docx"
    out.write_bytes(b"previous version")
    result = run(str(EXAMPLES / "invalid" / "row-total.json"), "-o", str(out))
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "requests.received.total" in err and "[row_total]" in err and "Traceback" not in err
    assert out.read_bytes() == b"previous version"
    assert [p.name for p in tmp_path.iterdir()] == ["out.docx"]  # no temporary file left behind


def test_missing_output_directory_and_input_are_one_line_errors(tmp_path: Path) -> None:
    result = run(str(EXAMPLES / "zhuyangguan-2024.json"), "-o", str(tmp_path / "no" / "such" / "dir.docx"))
    assert result.returncode == 2
    assert len(result.stderr.decode().strip().splitlines()) == 1 and "不存在" in result.stderr.decode()
    result = run(str(tmp_path / "missing.json"))
    assert result.returncode == 2 and "文件不存在" in result.stderr.decode()


def test_template_errors_exit_1_without_output(tmp_path: Path) -> None:
    template = tmp_path / "t.docx"
    doc = Document()
    doc.add_paragraph("{{ no_such_thing }}")
    doc.save(template)
    out = tmp_path / "out.docx"
    result = run(str(EXAMPLES / "zhuyangguan-2024.json"), "-o", str(out), "--template", str(template))
    assert result.returncode == 1
    assert "no_such_thing" in result.stderr.decode() and "Traceback" not in result.stderr.decode()
    assert not out.exists()


def test_windows_fonts_option(tmp_path: Path) -> None:
    out = tmp_path / "w.docx"
    result = run(str(EXAMPLES / "zhuyangguan-2024.json"), "-o", str(out), "--fonts", "windows")
    assert result.returncode == 0, result.stderr.decode()
    assert Document(out).styles["Normal"].element.xpath("string(w:rPr/w:rFonts/@w:eastAsia)") == "仿宋"


def test_installed_package_finds_its_files_from_any_directory(tmp_path: Path) -> None:
    """Run from an unrelated directory: the schema and the template come from the installed package."""
    code = (
        "import docxreport, io, json, sys; from docx import Document;"
        "data = docxreport.load(sys.argv[1]);"
        "doc = Document(io.BytesIO(docxreport.render(data)));"
        "print(len(doc.tables), docxreport.load_schema()['$schema'], docxreport.__file__)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "zhuyangguan-2024.json")], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    tables, schema, _ = result.stdout.split()
    assert tables == "3" and schema == "https://json-schema.org/draft/2020-12/schema"
