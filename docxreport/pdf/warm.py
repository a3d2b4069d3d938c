"""A warm office: one LibreOffice kept running and fed documents through its UNO bridge.

Starting LibreOffice costs about a second; converting a report in a running one about 0.1 s. A
:class:`WarmOffice` starts ``soffice`` once (through :mod:`docxreport.pdf.bridge`, run by a Python that has
LibreOffice's ``uno`` module) and converts one document per request over a pipe. It is restarted

- when it crashes or a conversion fails (a document LibreOffice could not handle may have left it unwell),
- when a conversion passes its deadline (the office and its helper are killed as a process group),
- after ``max_conversions`` documents (LibreOffice's memory grows slowly over many documents),

and its address space is bounded (``RLIMIT_AS``), so a document that makes it grow without end fails alone.
Converted documents have no network: the office runs in its own network namespace (``unshare -n``) where the
system allows it, and with link updates off in any case (see :func:`isolation_prefix`).

Not for use by several threads at once; the caller (:class:`~docxreport.pdf.office.Office`) serialises.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import DocxReportError

#: Set to a Python that can ``import uno`` (LibreOffice's UNO bridge) when it is not found by itself.
PYTHON_VARIABLE = "DOCXREPORT_UNO_PYTHON"
#: Default bound on the office's address space (LibreOffice maps about 1 GB of it at start).
DEFAULT_MEMORY = 4 * 1024**3
#: Default number of documents an office converts before it is replaced.
DEFAULT_MAX_CONVERSIONS = 200
BRIDGE = Path(__file__).with_name("bridge.py")


class WarmOfficeError(DocxReportError):
    """The warm office could not start (no UNO bridge, LibreOffice did not answer)."""


class ConversionFailed(DocxReportError):
    """One conversion failed; the message says why (in Chinese)."""


def uno_python(executable: str) -> str | None:
    """A Python interpreter that can ``import uno`` for the office ``executable``, or None.

    Tried in order: ``DOCXREPORT_UNO_PYTHON``; LibreOffice's own ``program/python`` (Windows, macOS, the
    upstream Linux packages); the system ``python3`` (Debian's python3-uno).
    """
    candidates: list[str] = []
    configured = os.environ.get(PYTHON_VARIABLE)
    if configured:
        candidates.append(configured)
    program = Path(os.path.realpath(executable)).parent
    candidates += [str(program / "python"), str(program / "python.exe"), "/usr/bin/python3", "/usr/local/bin/python3"]
    for candidate in candidates:
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            continue
        try:
            probe = subprocess.run([candidate, "-c", "import uno"], stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return candidate
    return None


def isolation_prefix() -> list[str]:
    """The command prefix that runs the office without network (``unshare -n``, or ``unshare -rn`` as an
    unprivileged user with user namespaces), or ``[]`` where the system allows neither.

    Without network, a document's links to outside content (a linked image ``TargetMode="External"``, a
    linked OLE object, a field that includes a URL) cannot make the conversion fetch anything: no request
    leaves the machine on behalf of a template (no SSRF)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    for flags in ("-n", "-rn"):
        try:
            probe = subprocess.run([unshare, flags, "true"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return [unshare, flags]
    return []


class WarmOffice:
    """One running LibreOffice with its UNO helper; see the module's description."""

    def __init__(self, executable: str, profile: Path, python: str, *, environment: Mapping[str, str] | None = None,
                 prefix: Sequence[str] = (), max_conversions: int = DEFAULT_MAX_CONVERSIONS,
                 memory: int = DEFAULT_MEMORY, start_timeout: float = 60.0,
                 prepare_profile: Callable[[], None] | None = None) -> None:
        self.executable = executable
        self.profile = profile
        self.python = python
        self.environment = dict(environment) if environment is not None else None
        self._closed = False
        self.prefix = list(prefix)
        self.max_conversions = max_conversions
        self.memory = memory
        self.start_timeout = start_timeout
        self.starts = 0  #: how many times an office was started (for tests and logs)
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._converted = 0
        self._prepare_profile = prepare_profile
        self._damaged = False  # killed or crashed: its profile may be half written
        self._ended = False  # the helper closed its output (it ended) while we waited for an answer

    @property
    def pid(self) -> int | None:
        """The helper's process id while an office runs (its process group holds the office)."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def start(self) -> None:
        """Start the office now (else the first conversion does); :class:`WarmOfficeError` when it cannot."""
        if self._closed:  # closed for good: no restart behind the closer's back
            raise WarmOfficeError("LibreOffice 已关闭")
        if self.pid is not None:
            return
        self.stop()
        if self._damaged:  # an office killed mid-write can leave a profile the next one hangs on: start afresh
            shutil.rmtree(self.profile, ignore_errors=True)
            self._damaged = False
        if self._prepare_profile is not None:
            self._prepare_profile()
        pipe = f"docxreport-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        command = [*self.prefix, self.python, str(BRIDGE), self.executable, self.profile.resolve().as_uri(), pipe,
                   str(self.memory), str(self.start_timeout)]
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                             env=self.environment, start_new_session=True)
        except OSError as exc:
            raise WarmOfficeError(f"无法启动 LibreOffice（{exc.strerror}）") from None
        self.starts += 1
        self._buffer, self._converted = b"", 0
        answer = self._answer(self.start_timeout + 10)
        if answer is None or not answer.get("ready"):
            self.stop()
            self._damaged = True
            why = answer.get("error") if answer else "没有响应"
            raise WarmOfficeError(f"LibreOffice 未能启动：{why}")

    def convert(self, source: Path, target: Path, filter_name: str, options: Mapping[str, Any] | None = None,
                *, timeout: float, language: bool = False) -> None:
        """Convert ``source`` into ``target`` with the export filter ``filter_name`` and its ``options``
        (FilterData); :class:`ConversionFailed` when it does not succeed within ``timeout`` seconds.
        An office found dead (it crashed since the last conversion) is replaced and the document tried once
        more in the new one."""
        request = {"source": str(source.resolve()), "target": str(target.resolve()), "filter": filter_name,
                   "options": dict(options or {}), "language": language}
        deadline = time.monotonic() + timeout
        for attempt in (1, 2):
            if self._converted >= self.max_conversions:
                self.stop()
            self.start()
            answer = self._ask(request, max(deadline - time.monotonic(), 0.1))
            self._converted += 1
            if answer is None:
                crashed = self._ended or self.pid is None  # it ended (closed its output), or did not answer in time
                self.stop()
                self._damaged = True
                if crashed and attempt == 1 and time.monotonic() < deadline:
                    continue
                raise ConversionFailed("LibreOffice 意外退出" if crashed else f"LibreOffice 超过 {timeout:g} 秒未完成转换")
            if not answer.get("ok"):
                self.stop()  # restart: whatever made this fail may have left the office unwell
                raise ConversionFailed(f"LibreOffice 无法转换：{answer.get('error', '')}")
            return

    def _ask(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any] | None:
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            self._process.stdin.flush()
        except OSError:  # it has ended
            self._ended = True
            return None
        return self._answer(timeout)

    def _answer(self, timeout: float) -> dict[str, Any] | None:
        """The helper's next line as JSON, or None when it ended or said nothing within ``timeout``."""
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        self._ended = False
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = os.read(stdout.fileno(), 65536)
                if not chunk:
                    self._ended = True
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            answer = json.loads(line)
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None

    def close(self) -> None:
        """Stop the office for good: a conversion under way in another thread fails instead of starting a new one."""
        self._closed = True
        self.stop()

    def stop(self) -> None:
        """Stop the office (kill its process group); the next conversion starts a new one."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                if process.stdin is not None:
                    process.stdin.close()  # a healthy office ends by itself at end of input
                process.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the office itself, and anything it left behind
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
