"""Every kind of document docxreport writes is valid OOXML (openxml-audit) and converts in LibreOffice.

The corpus covers every example, the Windows font profile, a custom template, hostile-but-valid text and a
report read back and rendered again. openxml-audit 0.8 flags python-docx's own default document (a
``stylesWithEffects`` part whose docDefaults differ from styles.xml); our template drops that part and
keeps the theme relationship it requires, and is clean.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document

import docxreport
from docxreport.docx.reader import extract

openxml_audit = pytest.importorskip("openxml_audit")

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "A&B <tag> {{ organ }} {% if %} ]]> 😀𠀀 مرحبا \u202e\t制表\n换行"


def corpus() -> dict[str, bytes]:
    docs: dict[str, bytes] = {}
    for path in sorted((ROOT / "examples").glob("*.json")):
        docs[path.stem] = docxreport.render(docxreport.load(path))
    county = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    docs["windows-fonts"] = docxreport.render(county, fonts="windows")
    hostile = {**county, "organ": HOSTILE.replace("\n", "").replace("\t", ""), "other": [HOSTILE, *county["other"]]}
    docs["hostile-text"] = docxreport.render(hostile)
    template = Document()
    template.add_paragraph("{{ organ }}：{{ requests.received.total }}")
    template.add_paragraph("{{p overview }}")
    buf = io.BytesIO()
    template.save(buf)
    docs["custom-template"] = docxreport.render(county, template=io.BytesIO(buf.getvalue()))
    data, _ = extract(io.BytesIO(docs["county-bureau-2024"]))
    docs["extracted-and-rendered-again"] = docxreport.render(data)
    return docs


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    out = {}
    for name, blob in corpus().items():
        path = folder / f"{name}.docx"
        path.write_bytes(blob)
        out[name] = path
    return out


def test_every_document_passes_openxml_audit(written: dict[str, Path]) -> None:
    validator = openxml_audit.OpenXmlValidator()
    failures = {}
    for name, path in written.items():
        if name == "custom-template":
            continue  # python-docx's default template: see the next test
        result = validator.validate(path)
        if not result.is_valid:
            failures[name] = [str(e) for e in result.errors][:5]
    assert failures == {}


def test_custom_template_output_keeps_the_template_s_own_findings(written: dict[str, Path]) -> None:
    """A template made from python-docx's default document carries its stylesWithEffects finding; rendering
    adds none of its own."""
    validator = openxml_audit.OpenXmlValidator()
    template = Document()
    template.add_paragraph("x")
    plain = written["custom-template"].parent / "plain.docx"
    template.save(plain)
    before = {str(e).split("\n")[0] for e in validator.validate(plain).errors}
    after = {str(e).split("\n")[0] for e in validator.validate(written["custom-template"]).errors}
    assert after <= before


@pytest.mark.libreoffice
def test_every_document_converts_in_libreoffice(written: dict[str, Path], tmp_path: Path) -> None:
    if shutil.which("soffice") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install LibreOffice")
        pytest.skip("LibreOffice not installed")
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), *map(str, written.values())], check=True, capture_output=True, timeout=600)
    for name in written:
        pdf = tmp_path / f"{name}.pdf"
        assert pdf.exists() and pdf.stat().st_size > 1000, name
