"""PDF (and .docx) through LibreOffice headless: a warm office per :class:`Office`, one private profile.

Starting LibreOffice costs most of a conversion (about 1 s here, against 0.1 s per report once it runs), so
an :class:`Office` keeps one office running (:class:`~docxreport.pdf.warm.WarmOffice`, through LibreOffice's
UNO bridge) and feeds it documents one by one, restarting it when it crashes, hangs or has converted many
documents. Where the warm office cannot start (no Python with the ``uno`` module), it falls back to one
``soffice --convert-to`` call per list of documents. Either way the office keeps its own user profile
(``-env:UserInstallation``) for all the conversions of the object: profile creation is paid once, several
processes convert at the same time without handing their work to each other's office, and an office the
user has open on the desktop is never involved.

Conversions never reach the network (:func:`~docxreport.pdf.warm.isolation_prefix`, and link updates are
off in the profile). Results are written to a private folder beside the target and renamed into place: a
failed or interrupted conversion never leaves a partial file under the final name.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from ..errors import DocxReportError
from .fonts import office_environment
from .warm import DEFAULT_MAX_CONVERSIONS, DEFAULT_MEMORY, ConversionFailed, WarmOffice, WarmOfficeError, isolation_prefix, uno_python

#: Set to the path of ``soffice`` (or ``soffice.exe``) when it is not on PATH.
ENVIRONMENT_VARIABLE = "DOCXREPORT_SOFFICE"
#: Set to ``0`` to start LibreOffice for each conversion instead of keeping a warm office.
WARM_VARIABLE = "DOCXREPORT_WARM_OFFICE"
_CANDIDATES = (
    "/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe", r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
)
MISSING_MESSAGE = (
    "未找到 LibreOffice（soffice），无法生成 PDF。请安装 LibreOffice（Debian/Ubuntu：apt-get install "
    "libreoffice-writer-nogui；Windows/macOS：从官网安装），或用环境变量 DOCXREPORT_SOFFICE 指定 soffice 的路径"
)


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


#: What :meth:`Office.convert` writes: PDF, or .docx (from .doc, .wps, .odt, .rtf …).
Target = Literal["pdf", "docx"]
_FILTERS: dict[str, tuple[str, str]] = {"pdf": ("writer_pdf_Export", ".pdf"), "docx": ("MS Word 2007 XML", ".docx")}
#: FilterData of PDF/A-2b (``SelectPdfVersion`` 2): fonts embedded, no transparency groups left out, XMP.
PDFA_OPTIONS: dict[str, Any] = {"SelectPdfVersion": 2}

#: The profile's settings (``registrymodifications.xcu``): never update links when loading, block linked
#: content from untrusted places: the converter must not fetch what a document points at.
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


class Office:
    """LibreOffice for one process: a warm office (else one-shot calls) with one private profile.

    ``profile`` is the folder of the LibreOffice user profile (created on first use; default: a temporary
    folder removed by :meth:`close`). ``warm=False`` always uses one-shot ``soffice --convert-to`` calls
    (default: warm, unless the environment variable ``DOCXREPORT_WARM_OFFICE`` is ``0``).
    ``max_conversions`` and ``memory`` (bytes of address space) bound the warm office. Not for use by several
    threads at once.
    """

    def __init__(self, executable: str | None = None, profile: str | os.PathLike[str] | None = None, *, warm: bool | None = None,
                 max_conversions: int = DEFAULT_MAX_CONVERSIONS, memory: int = DEFAULT_MEMORY) -> None:
        self.executable = executable or find_office()
        if warm is None:
            warm = os.environ.get(WARM_VARIABLE, "1").strip() != "0"
        self._own_profile = profile is None
        self.profile = Path(profile) if profile is not None else Path(tempfile.mkdtemp(prefix="docxreport-office-"))
        self._prefix: list[str] | None = None
        self._warm: WarmOffice | None = None
        self._want_warm = warm
        self._closed = False
        self._max_conversions = max_conversions
        self._memory = memory
        #: Why the warm office is not used ("" while it is, or before it was tried).
        self.cold_reason = "" if warm else "warm=False"

    def __enter__(self) -> Office:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the warm office for good (no conversion starts another office afterwards, even one under way in
        another thread); remove the profile if this object created it."""
        self._closed = True
        if self._warm is not None:
            self._warm.close()
            self._warm = None
        if self._own_profile:
            shutil.rmtree(self.profile, ignore_errors=True)

    @property
    def warm(self) -> WarmOffice | None:
        """The warm office, started on first use; None when it cannot start (see :attr:`cold_reason`)."""
        if self._warm is None and self._want_warm and not self.cold_reason and not self._closed:
            python = uno_python(self.executable)
            if python is None:
                self.cold_reason = "没有可导入 uno 的 Python（Debian：apt-get install python3-uno）"
                return None
            office = WarmOffice(self.executable, self.profile, python, environment=self._environment(),
                                prefix=self._isolation(), max_conversions=self._max_conversions, memory=self._memory,
                                prepare_profile=self._prepare_profile)
            self._warm = office  # known before it starts: close() from another thread stops a starting office too
            try:
                office.start()
            except WarmOfficeError as exc:
                self._warm = None
                self.cold_reason = str(exc)
                return None
        return self._warm

    def _environment(self) -> dict[str, str]:
        """The office's environment: the font configuration, and its temporary files inside its own profile
        folder, so that removing the profile leaves nothing behind (``lu*.tmp`` otherwise land in TMPDIR)."""
        env = dict(office_environment())
        scratch = self.profile / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        env["TMPDIR"] = str(scratch)
        return env

    def start(self) -> bool:
        """Start the warm office now rather than at the first conversion; False when it cannot (conversions
        then run one-shot)."""
        return self.warm is not None

    def _isolation(self) -> list[str]:
        if self._prefix is None:
            self._prefix = isolation_prefix()
        return self._prefix

    def _prepare_profile(self) -> None:
        settings = self.profile / "user" / "registrymodifications.xcu"
        if not settings.exists():
            settings.parent.mkdir(parents=True, exist_ok=True)
            settings.write_text(_PROFILE_SETTINGS, encoding="utf-8")

    def convert(self, documents: Sequence[str | os.PathLike[str]], outdir: str | os.PathLike[str] | None = None,
                *, timeout: float | None = None, to: Target = "pdf", pdfa: bool = False) -> dict[Path, Path | str]:
        """Convert ``documents`` to PDF (``to="pdf"``, PDF/A-2b with ``pdfa``) or .docx (``to="docx"``), each
        into ``outdir`` (default: beside it) under its name with the new extension. Returns, for each
        document, the path written or a message saying why there is none. ``timeout`` bounds each document
        in a warm office, the whole list in a one-shot call."""
        if to not in _FILTERS:
            raise ValueError(f"unknown target {to!r}")
        if pdfa and to != "pdf":
            raise ValueError("pdfa applies to PDF only")
        results: dict[Path, Path | str] = {}
        batches: list[list[Path]] = []
        for doc in map(Path, documents):  # LibreOffice names a result after its document: one stem per call
            batch = next((b for b in batches if all(d.stem != doc.stem for d in b)), None)
            if batch is None:
                batches.append([doc])
            else:
                batch.append(doc)
        for batch in batches:
            results.update(self._convert(batch, outdir, timeout, to, pdfa))
        return results

    def _convert(self, documents: list[Path], outdir: str | os.PathLike[str] | None, timeout: float | None,
                 to: Target, pdfa: bool) -> dict[Path, Path | str]:
        # results land in a private folder on the targets' file system, then are renamed into place
        suffix = _FILTERS[to][1]
        targets = {d: Path(outdir if outdir is not None else d.parent) / (d.stem + suffix) for d in documents}
        scratch = Path(tempfile.mkdtemp(prefix=".docxreport-pdf-", dir=next(iter(targets.values())).parent))
        try:
            failures = self._run(documents, scratch, timeout, to, pdfa)
            results: dict[Path, Path | str] = {}
            for doc, final in targets.items():
                produced = scratch / (doc.stem + suffix)
                if not _is_result(produced, to):
                    why = failures.get(doc) or "LibreOffice 没有生成文件（文件可能已损坏）"
                    results[doc] = f"{'PDF' if to == 'pdf' else '.docx'} 转换失败：{why}"
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

    def _run(self, documents: list[Path], scratch: Path, timeout: float | None, to: Target, pdfa: bool) -> dict[Path, str]:
        """Convert into ``scratch``; what went wrong for each document that failed."""
        filter_name, suffix = _FILTERS[to]
        options = PDFA_OPTIONS if pdfa else {}
        if self._closed:  # closed (the process is ending): start no office at all
            return {d: "LibreOffice 已关闭" for d in documents}
        office = self.warm
        if office is None and self._closed:  # closed while its office was starting
            return {d: "LibreOffice 已关闭" for d in documents}
        if office is None:
            failure = self._run_once(documents, scratch, timeout, to, options)
            return {d: failure for d in documents} if failure else {}
        failures: dict[Path, str] = {}
        for doc in documents:
            try:
                office.convert(doc, scratch / (doc.stem + suffix), filter_name, options,
                               timeout=timeout if timeout is not None else 120, language=to == "pdf")
            except ConversionFailed as exc:
                failures[doc] = str(exc)
        return failures

    def _run_once(self, documents: list[Path], scratch: Path, timeout: float | None, to: Target,
                  options: dict[str, Any]) -> str:
        """Run one ``soffice --convert-to`` call; an empty string, or what went wrong."""
        self._prepare_profile()
        filter_name, suffix = _FILTERS[to]
        target = f"{suffix[1:]}:{filter_name}"
        if options:  # JSON filter options (LibreOffice 7.4+)
            target += ":" + json.dumps({k: {"type": "long" if isinstance(v, int) else "string", "value": str(v)}
                                        for k, v in options.items()})
        command = [*self._isolation(), self.executable, f"-env:UserInstallation={self.profile.resolve().as_uri()}",
                   "--headless", "--norestore", "--nolockcheck", "--convert-to", target, "--outdir", str(scratch),
                   *(str(d.resolve()) for d in documents)]
        limit = timeout if timeout is not None else 120 + 20 * len(documents)
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       start_new_session=True, env=self._environment())
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


def _is_result(path: Path, to: Target) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(5).startswith(b"%PDF-" if to == "pdf" else b"PK\x03\x04")
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
