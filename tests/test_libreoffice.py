"""The rendered example through LibreOffice: it converts, has the expected pages, and shows table 三.

Needs ``soffice`` and ``pdftotext``; skipped when they are absent, except in CI (``CI=true``), where a
missing tool is a failure: CI installs them.
"""

from __future__ import annotations

import os
import re
import shutil
from html import unescape
import subprocess
from pathlib import Path

import pytest

import docxreport
from docxreport.format import load_format

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
pytestmark = pytest.mark.libreoffice

# Pages with the fonts CI installs (fonts-noto-cjk substitutes for the GB2312 fonts).
EXPECTED_PAGES = {"zhuyangguan-2024": 6, "county-bureau-2024": 6}


def _tools() -> None:
    missing = [t for t in ("soffice", "pdftotext", "pdfinfo") if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must install {missing}")
        pytest.skip(f"not installed: {missing}")


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    _tools()
    folder = tmp_path_factory.mktemp("pdf")
    sources = []
    for name in EXPECTED_PAGES:
        path = folder / f"{name}.docx"
        docxreport.render(docxreport.load(EXAMPLES / f"{name}.json"), path)
        sources.append(str(path))
    profile = folder / "profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir", str(folder), *sources],
                   check=True, capture_output=True, timeout=300)
    return {name: folder / f"{name}.pdf" for name in EXPECTED_PAGES}


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.mark.parametrize("name", list(EXPECTED_PAGES))
def test_converts_with_expected_pages(pdfs: dict[str, Path], name: str) -> None:
    assert _pages(pdfs[name]) == EXPECTED_PAGES[name]


def _words(pdf: Path) -> list[tuple[int, float, float, float, str]]:
    """(page, x-middle, y-top, x-min, word) of every word pdftotext finds."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    words = []
    for page, body in enumerate(re.split(r"<page ", html)[1:]):
        for x0, y0, x1, word in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', body):
            words.append((page, (float(x0) + float(x1)) / 2, float(y0), float(x0), unescape(word)))
    return words


@pytest.mark.parametrize("name", list(EXPECTED_PAGES))
def test_every_label_of_table_three_is_in_the_pdf(pdfs: dict[str, Path], name: str) -> None:
    """Each label, read down the columns it spans (cells wrap their text, so lines of neighbouring
    cells interleave in plain text extraction)."""
    fmt = load_format()
    table = fmt.tables["table3"]
    left = 1588 / 20  # the table fills the text block, which starts at the left margin (points)
    edges = [left]
    for width in table.column_widths:
        edges.append(edges[-1] + width / 20)
    words = _words(pdfs[name])
    for cell in table.cells:
        if cell.is_data:
            continue
        x0, x1 = edges[cell.col], edges[cell.right]
        column = sorted((w for w in words if x0 < w[1] < x1), key=lambda w: (w[0], round(w[2]), w[3]))
        stream = "".join(w[4] for w in column)
        assert "".join(cell.text.split()) in stream, cell.text
    flat = "".join(w[4] for w in words)
    for heading in (s.heading for s in fmt.sections):
        assert heading in flat
