"""Fuzzing the extractor with mutated .docx files: only documented errors, never a crash or a hang.

Hypothesis mutates a rendered report at three depths: the zip bytes, the XML of the document part, and the
cell texts of the tables. Every run has a time limit per file (SIGALRM); the number of examples is bounded
so the suite stays fast (FUZZ_EXAMPLES raises it for a longer local run).
"""

from __future__ import annotations

import io
import os
import re
import signal
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docxreport
from docxreport.errors import DocxReportError
from docxreport.docx.reader import extract

ROOT = Path(__file__).resolve().parent.parent
REPORT = docxreport.render(docxreport.load(ROOT / "examples" / "county-bureau-2024.json"))
with zipfile.ZipFile(io.BytesIO(REPORT)) as _archive:
    DOCUMENT = _archive.read("word/document.xml")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
SECONDS_PER_FILE = 10
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"extract took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read_only_documented(blob: bytes) -> None:
    """extract either returns data and problems or raises one of our documented errors."""
    with time_limit(SECONDS_PER_FILE):
        try:
            data, problems = extract(io.BytesIO(blob))
        except DocxReportError as exc:
            assert str(exc)  # a message, never an empty error
            return
    assert isinstance(data, dict) and isinstance(problems, list)
    docxreport.validate(data)  # what was read can always be validated


def with_document(xml: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(REPORT)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, xml if info.filename == "word/document.xml" else src.read(info.filename))
    return out.getvalue()


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(REPORT) - 1), st.integers(0, 255)), min_size=1, max_size=20))
def test_flipped_zip_bytes(flips: list[tuple[int, int]]) -> None:
    blob = bytearray(REPORT)
    for index, value in flips:
        blob[index] = value
    read_only_documented(bytes(blob))


@FUZZ
@given(st.integers(0, len(REPORT)))
def test_truncated_package(length: int) -> None:
    read_only_documented(REPORT[:length])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(DOCUMENT) - 1), st.integers(0, len(DOCUMENT)), st.binary(max_size=30)), min_size=1, max_size=8))
def test_mutated_document_xml(edits: list[tuple[int, int, bytes]]) -> None:
    xml = DOCUMENT
    for start, end, insert in edits:
        start, end = min(start, end), max(start, end)
        xml = xml[:start] + insert + xml[end:]
    read_only_documented(with_document(xml))


CELL_TEXT = re.compile(rb"(<w:tc>.*?<w:t[^>]*>)([^<]*)(</w:t>)", re.DOTALL)


@FUZZ
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12), min_size=1, max_size=50))
def test_mutated_cell_texts(texts: list[str]) -> None:
    replacements = iter(texts)

    def swap(match: re.Match[bytes]) -> bytes:
        text = next(replacements, None)
        if text is None:
            return match.group(0)
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8")
        return match.group(1) + escaped + match.group(3)

    read_only_documented(with_document(CELL_TEXT.sub(swap, DOCUMENT)))


@FUZZ
@given(st.lists(st.integers(0, 400), min_size=1, max_size=10))
def test_deleted_elements(indexes: list[int]) -> None:
    """Whole paragraphs, rows or cells removed: structure the extractor must not assume."""
    from lxml import etree

    root = etree.fromstring(DOCUMENT)
    elements = [e for e in root.iter() if etree.QName(e).localname in ("p", "tr", "tc", "tbl", "r")]
    for index in sorted(set(i % len(elements) for i in indexes), reverse=True):
        element = elements[index]
        if element.getparent() is not None:
            element.getparent().remove(element)
    read_only_documented(with_document(etree.tostring(root)))
