"""PDF through LibreOffice headless: many documents per office start, one private profile per process.

Starting LibreOffice costs most of a conversion (about 0.8 s here, against 0.1 s per report once it runs), so
:class:`Office` converts a whole list of documents in one ``soffice --convert-to pdf`` call, and keeps its
own user profile (``-env:UserInstallation``) for all the calls of a process: profile creation is paid once,
several processes convert at the same time without handing their work to each other's office, and an office
the user has open on the desktop is never involved.

PDFs are written to a private folder beside the target and renamed into place: a failed or interrupted
conversion never leaves a partial PDF under the final name.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import DocxReportError
from .fonts import office_environment

#: Set to the path of ``soffice`` (or ``soffice.exe``) when it is not on PATH.
ENVIRONMENT_VARIABLE = "DOCXREPORT_SOFFICE"
_CANDIDATES = (
    "/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe", r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
)
MISSING_MESSAGE = (
    "未找到 LibreOffice（soffice），无法生成 PDF。请安装 LibreOffice（Debian/Ubuntu：apt-get install "
    "libreoffice-writer-nogui；Windows/macOS：从官网安装），或用环境变量 DOCXREPORT_SOFFICE 指定 soffice 的路径"
)


#: ``--convert-to`` argument and the first bytes of a good result, by target.
_FILTERS = {"pdf": "pdf:writer_pdf_Export", "docx": "docx:MS Word 2007 XML"}  # one argument: no shell quotes
_MAGIC = {"pdf": b"%PDF-", "docx": b"PK\x03\x04"}


class OfficeNotFoundError(DocxReportError):
    """LibreOffice is not installed (or not where ``DOCXREPORT_SOFFICE`` says)."""

    def __init__(self) -> None:
        super().__init__(MISSING_MESSAGE)


class ConversionError(DocxReportError):
    """LibreOffice ran but did not produce a PDF."""


def find_office() -> str:
    """The ``soffice`` executable to use; raises :class:`OfficeNotFoundError` when there is none."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise OfficeNotFoundError()
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for candidate in _CANDIDATES:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise OfficeNotFoundError()


class Office:
    """LibreOffice for one process: converts lists of documents with one private profile.

    ``profile`` is the folder of the LibreOffice user profile (created on first use; default: a temporary
    folder removed by :meth:`close`). Not for use by several threads at once.
    """

    def __init__(self, executable: str | None = None, profile: str | os.PathLike[str] | None = None) -> None:
        self.executable = executable or find_office()
        self._own_profile = profile is None
        self.profile = Path(profile) if profile is not None else Path(tempfile.mkdtemp(prefix="docxreport-office-"))

    def __enter__(self) -> Office:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the profile if this object created it."""
        if self._own_profile:
            shutil.rmtree(self.profile, ignore_errors=True)

    def convert(self, documents: Sequence[str | os.PathLike[str]], outdir: str | os.PathLike[str] | None = None,
                *, timeout: float | None = None, to: str = "pdf") -> dict[Path, Path | str]:
        """Convert ``documents`` (.docx) to PDF, each into ``outdir`` (default: beside it) under its name
        with ``.pdf``. Returns, for each document, its PDF's path or a message saying why there is none.

        ``to="docx"`` converts any document LibreOffice opens (.doc, .wps, .odt, .rtf) to .docx instead."""
        if to not in _FILTERS:
            raise ValueError(f"unsupported target {to!r}")
        results: dict[Path, Path | str] = {}
        batches: list[list[Path]] = []
        for doc in map(Path, documents):  # LibreOffice names a PDF after its document: one stem per call
            batch = next((b for b in batches if all(d.stem != doc.stem for d in b)), None)
            if batch is None:
                batches.append([doc])
            else:
                batch.append(doc)
        for batch in batches:
            results.update(self._convert(batch, outdir, timeout, to))
        return results

    def _convert(self, documents: list[Path], outdir: str | os.PathLike[str] | None, timeout: float | None,
                 to: str = "pdf") -> dict[Path, Path | str]:
        # PDFs land in a private folder on the targets' file system, then are renamed into place
        targets = {d: Path(outdir if outdir is not None else d.parent) / (d.stem + "." + to) for d in documents}
        scratch = Path(tempfile.mkdtemp(prefix=".docxreport-pdf-", dir=next(iter(targets.values())).parent))
        try:
            failure = self._run(documents, scratch, timeout, to)
            results: dict[Path, Path | str] = {}
            for doc, final in targets.items():
                produced = scratch / (doc.stem + "." + to)
                if not _is_pdf(produced, _MAGIC[to]):
                    results[doc] = f"{to.upper()} 转换失败：{failure or f'LibreOffice 没有生成 {to.upper()}（文件可能已损坏）'}"
                    continue
                try:
                    os.replace(produced, final)
                except OSError as exc:
                    results[doc] = f"无法写入 {final}（{exc.strerror}）"
                else:
                    results[doc] = final
            return results
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self, documents: list[Path], scratch: Path, timeout: float | None, to: str = "pdf") -> str:
        """Run one conversion; an empty string, or what went wrong."""
        command = [self.executable, f"-env:UserInstallation={self.profile.resolve().as_uri()}", "--headless",
                   "--norestore", "--nolockcheck", "--convert-to", _FILTERS[to], "--outdir", str(scratch),
                   *(str(d.resolve()) for d in documents)]
        limit = timeout if timeout is not None else 120 + 20 * len(documents)
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       start_new_session=True, env=office_environment())
        except OSError as exc:
            return f"无法启动 LibreOffice（{exc.strerror}）"
        try:
            output, _ = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill(process)
            return f"LibreOffice 超过 {limit:.0f} 秒未完成转换"
        except BaseException:  # interrupted: leave no office behind
            _kill(process)
            raise
        if process.returncode != 0:
            return f"LibreOffice 退出码 {process.returncode}：{output.decode('utf-8', 'replace').strip()[-200:]}"
        return ""


def _is_pdf(path: Path, magic: bytes = b"%PDF-") -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError:
        return False


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Stop LibreOffice and the processes it started (soffice starts soffice.bin)."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    except ProcessLookupError:
        pass
    process.wait()
