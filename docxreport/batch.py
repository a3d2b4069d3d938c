"""Rendering many reports at once: inputs from files, folders, globs and JSON Lines; worker processes; a manifest.

The steps, each usable alone (the CLI's ``batch`` command strings them together and does all the printing)::

    inputs, failed = collect(["reports/", "county.jsonl"], exclude=outdir)
    jobs, skipped = plan(inputs, outdir)
    for outcome in run(jobs, outdir, workers=2):
        ...                                     # one Outcome per report, as each finishes
    write_manifest(outdir / MANIFEST, [*failed, *skipped, *outcomes])

A report that cannot be read, is invalid, or fails to render becomes an :class:`Outcome` with status
``failed`` and its problems; the batch goes on. Workers are processes (``-j``) that are replaced after a
few hundred reports, so memory stays flat however long the batch; a worker that dies (a crash, the
out-of-memory killer) is replaced and the reports it held are retried one at a time, so only the report
that kills a worker fails.
"""

from __future__ import annotations

import glob
import json
import math
import multiprocessing
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import __version__
from .errors import DocxReportError

if TYPE_CHECKING:
    from .pdf.office import Office

Status = Literal["ok", "skipped", "failed"]
MANIFEST = "manifest.json"
#: Reports a worker renders before it is replaced by a fresh process (memory stays flat).
REPORTS_PER_WORKER = 500
_GLOB_CHARS = re.compile(r"[*?\[]")
_ILLEGAL = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
NAME_MAX_CHARS = 80


# --------------------------------------------------------------------------- what to render


@dataclass(frozen=True)
class Input:
    """One report: a JSON file, or one line (``line``, 1-based, at byte ``offset``) of a JSON Lines file."""

    path: str
    line: int | None = None
    offset: int = 0
    length: int = 0

    @property
    def label(self) -> str:
        """How messages name it: ``reports/a.json`` or ``county.jsonl:17``."""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def read(self) -> bytes:
        """The report's JSON text."""
        with open(self.path, "rb") as handle:
            if self.line is None:
                return handle.read()
            handle.seek(self.offset)
            return handle.read(self.length)


@dataclass(frozen=True)
class Job:
    """An input and the name of the .docx it becomes in the output folder."""

    input: Input
    output: str
    index: int


@dataclass(frozen=True)
class Outcome:
    """What happened to one input; its manifest entry."""

    input: str
    status: Status
    line: int | None = None
    output: str | None = None
    pdf: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    index: int = -1

    @property
    def label(self) -> str:
        return f"{self.input}:{self.line}" if self.line is not None else self.input

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["index"]
        return out


def _failed(item: Input | str, error: str, problems: list[dict[str, Any]] | None = None, index: int = -1) -> Outcome:
    if isinstance(item, Input):
        return Outcome(item.path, "failed", line=item.line, problems=problems or [], error=error, index=index)
    return Outcome(item, "failed", problems=problems or [], error=error, index=index)


def _json_lines(path: str) -> Iterator[Input]:
    offset = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield Input(path, number, offset, len(line))
            offset += len(line)


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def collect(arguments: Sequence[str], *, exclude: str | os.PathLike[str] | None = None) -> tuple[list[Input], list[Outcome]]:
    """The reports named by ``arguments``: .json files, folders (their .json files, recursively, sorted),
    globs (``'2024/*.json'``, expanded here too, for shells that do not) and JSON Lines files (``.jsonl``,
    one report per non-blank line). Files under ``exclude`` (the output folder) are skipped. An argument
    that names nothing readable becomes a failed :class:`Outcome`; a file named twice is taken once."""
    skip = Path(exclude) if exclude is not None else None
    inputs: list[Input] = []
    failed: list[Outcome] = []
    seen: set[str] = set()

    def add_file(path: Path) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            return
        seen.add(key)
        if path.suffix.lower() == ".jsonl":
            try:
                inputs.extend(_json_lines(str(path)))
            except OSError as exc:
                failed.append(_failed(str(path), f"无法读取（{exc.strerror}）"))
        else:
            inputs.append(Input(str(path)))

    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file() and not _inside(p, skip) and not p.name.startswith("."))
            if not found:
                failed.append(_failed(argument, "目录中没有 .json 文件"))
            for p in found:
                add_file(p)
        elif path.is_file():
            add_file(path)
        elif _GLOB_CHARS.search(argument):
            matches = sorted(Path(m) for m in glob.glob(argument, recursive=True))
            files = [m for m in matches if m.is_file() and not _inside(m, skip)]
            if not files:
                failed.append(_failed(argument, "没有匹配的文件"))
            for m in files:
                add_file(m)
        else:
            failed.append(_failed(argument, "文件不存在"))
    return inputs, failed


# --------------------------------------------------------------------------- output names


def safe_name(text: str) -> str:
    """A file name stem made from report text (an organ name and year): no path separators, no characters
    Windows or Linux refuse, no control or direction-override characters, no leading dots, not a device
    name, at most :data:`NAME_MAX_CHARS` characters. Never empty."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
    text = _ILLEGAL.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")[:NAME_MAX_CHARS].strip(" .")
    if not text.strip("_ ."):
        text = "report"
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def _stem_for(item: Input, raw: bytes | None) -> str:
    """Organ and year when the JSON has them (read leniently: the worker reads strictly), else the
    input's file name (and line)."""
    try:
        data = json.loads(raw) if raw is not None else None
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        organ, year = data.get("organ"), data.get("year")
        if isinstance(organ, str) and organ.strip() and isinstance(year, int) and not isinstance(year, bool):
            return safe_name(f"{organ}-{year}")
    stem = Path(item.path).stem
    return safe_name(f"{stem}-{item.line}" if item.line is not None else stem)


def _mtime(path: str | os.PathLike[str]) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def plan(inputs: Sequence[Input], outdir: str | os.PathLike[str], *, force: bool = False, pdf: bool = False,
         template: str | os.PathLike[str] | None = None) -> tuple[list[Job], list[Outcome]]:
    """Name each input's output (``机关-年度.docx``; ``-2``, ``-3`` … when names collide, compared without
    case) and set aside those already rendered: the .docx (and the PDF with ``pdf``) newer than the input
    and the template. Returns the jobs to run and the skipped outcomes; inputs that cannot be read are jobs
    too (they fail in a worker, with the reason)."""
    folder = Path(outdir)
    template_time = _mtime(template) if template is not None else None
    taken: set[str] = set()
    jobs: list[Job] = []
    skipped: list[Outcome] = []
    for index, item in enumerate(inputs):
        try:
            raw: bytes | None = item.read()
        except OSError:
            raw = None
        stem = _stem_for(item, raw)
        name, n = stem, 1
        while name.casefold() in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.casefold())
        output = name + ".docx"
        source_time = _mtime(item.path)
        newest_input = max(t for t in (source_time, template_time, 0.0) if t is not None)
        done = [folder / output] + ([folder / (name + ".pdf")] if pdf else [])
        times = [_mtime(p) for p in done]
        if not force and raw is not None and all(t is not None and t >= newest_input for t in times):
            skipped.append(Outcome(item.path, "skipped", line=item.line, output=output,
                                   pdf=name + ".pdf" if pdf else None, index=index))
        else:
            jobs.append(Job(item, output, index))
    return jobs, skipped


# --------------------------------------------------------------------------- workers


@dataclass
class _Worker:
    """What a worker process keeps between reports."""

    outdir: Path
    template: str | None
    fonts: str
    pdf: bool
    office: Office | None = None
    pdfa: bool = False


_STATE: _Worker | None = None  # one per worker process, set by _start_worker


def _start_worker(outdir: str, template: str | None, fonts: str, pdf: bool, profiles: str, pdfa: bool = False) -> None:
    global _STATE
    office = None
    if pdf:
        from .pdf.office import Office

        office = Office(profile=Path(profiles) / f"office-{os.getpid()}")  # kept for every chunk of this worker
        from multiprocessing.util import Finalize

        Finalize(office, office.close, exitpriority=10)  # a worker that ends stops its warm office
    _STATE = _Worker(Path(outdir), template, fonts, pdf, office, pdfa)


def _render_one(job: Job, state: _Worker) -> Outcome:
    from .docx.renderer import DEFAULT_RENDERER
    from .errors import InvalidReportError
    from .files import write_atomic
    from .problems import has_errors
    from .report.jsonfile import read_json
    from .report.validation import check_source

    item = job.input
    try:
        raw = item.read()
    except OSError as exc:
        return _failed(item, f"无法读取（{exc.strerror or exc}）", index=job.index)
    try:
        data, problems = read_json(raw)
        if problems or data is None:  # the full account: what reading found, then what validation adds
            data, problems = check_source(raw)
            if data is None or has_errors(problems):
                errors = sum(p.severity == "error" for p in problems)
                return _failed(item, f"报告内容有 {errors} 处错误", [p.to_dict() for p in problems], job.index)
        # render() validates (once: the warnings it could add need last year's report, which a batch has not)
        document = DEFAULT_RENDERER.render(data, template=state.template, fonts=state.fonts)
        write_atomic(state.outdir / job.output, document)  # type: ignore[arg-type]
    except InvalidReportError as exc:
        errors = sum(p.severity == "error" for p in exc.problems)
        return _failed(item, f"报告内容有 {errors} 处错误", [p.to_dict() for p in exc.problems], job.index)
    except DocxReportError as exc:
        return _failed(item, str(exc), index=job.index)
    except Exception as exc:  # a bug must not stop the batch: report it with the input
        return _failed(item, f"内部错误（{type(exc).__name__}: {exc}）", index=job.index)
    return Outcome(item.path, "ok", line=item.line, output=job.output, problems=[p.to_dict() for p in problems], index=job.index)


def _run_chunk(jobs: list[Job]) -> list[Outcome]:
    """A worker's task: render a few reports, then convert the rendered ones to PDF in one office call."""
    state = _STATE
    if state is None:  # pragma: no cover - the pool's initializer always runs first
        raise RuntimeError("worker not started")
    outcomes = [_render_one(job, state) for job in jobs]
    if state.pdf and state.office is not None:
        rendered = [state.outdir / o.output for o in outcomes if o.status == "ok" and o.output]
        try:
            results: dict[Path, Any] = state.office.convert(rendered, state.outdir, pdfa=state.pdfa) if rendered else {}
        except Exception as exc:  # the reports are rendered: only their PDFs failed
            results = {path: f"PDF 转换失败（{type(exc).__name__}: {exc}）" for path in rendered}
        for i, outcome in enumerate(outcomes):
            if outcome.status != "ok" or not outcome.output:
                continue
            result = results.get(state.outdir / outcome.output)
            if isinstance(result, Path):
                outcomes[i] = replace(outcome, pdf=result.name)
            else:
                outcomes[i] = replace(outcome, status="failed", error=str(result or "PDF 转换失败"))
    return outcomes


def _pool_context() -> Any:
    """``forkserver`` where there is one (a clean, fast start from a server that imported the renderer
    once), else ``spawn`` (Windows). Never plain ``fork``: the main process runs threads."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["docxreport.batch", "docxreport.docx.renderer", "docxreport.docx.prepared", "docxtpl"])
        return context
    return multiprocessing.get_context("spawn")


def chunk_size(jobs: int, workers: int, pdf: bool) -> int:
    """Reports per worker task: enough to amortise the hand-over (with PDF, an office start of about a
    second: one call per worker if the batch is small), small enough that every worker gets work and the
    progress moves."""
    if pdf:
        return max(1, min(12, math.ceil(jobs / max(1, workers))))
    return max(1, min(25, math.ceil(jobs / max(1, workers * 4))))


def run(jobs: Sequence[Job], outdir: str | os.PathLike[str], *, workers: int = 0, pdf: bool = False,
        template: str | os.PathLike[str] | None = None, fonts: str = "official", pdfa: bool = False) -> Iterator[Outcome]:
    """Render ``jobs`` into ``outdir``, yielding each :class:`Outcome` as its report finishes (in no
    particular order). ``workers`` processes render in parallel (0: in this process, for small runs and
    tests). With ``pdf``, each rendered .docx is also converted to PDF through LibreOffice (PDF/A-2b with
    ``pdfa``)."""
    folder = Path(outdir)
    template_name = os.fspath(template) if template is not None else None
    if not jobs:
        return
    if pdf:
        from .pdf.office import find_office

        find_office()  # before any worker starts: a missing LibreOffice is one clear error, not one per report
    import tempfile

    with tempfile.TemporaryDirectory(prefix="docxreport-batch-", ignore_cleanup_errors=True) as profiles:  # LibreOffice profiles, one per worker
        init = (str(folder), template_name, fonts, pdf, profiles, pdfa)
        if workers <= 0:
            yield from _in_process(list(jobs), init)
            return
        size = chunk_size(len(jobs), workers, pdf)
        chunks = [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]
        yield from _execute(chunks, min(workers, len(chunks)), init, max(1, REPORTS_PER_WORKER // size))


def _in_process(jobs: list[Job], init: tuple[Any, ...]) -> Iterator[Outcome]:
    global _STATE
    _start_worker(*init)
    try:
        size = chunk_size(len(jobs), 1, init[3])
        for start in range(0, len(jobs), size):
            yield from _run_chunk(jobs[start:start + size])
    finally:
        if _STATE is not None and _STATE.office is not None:
            _STATE.office.close()
        _STATE = None


def _executor(workers: int, init: tuple[Any, ...], tasks_per_child: int) -> ProcessPoolExecutor:
    extra: dict[str, Any] = {"max_tasks_per_child": tasks_per_child} if sys.version_info >= (3, 11) else {}
    return ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(), initializer=_start_worker, initargs=init, **extra)


def _execute(chunks: list[list[Job]], workers: int, init: tuple[Any, ...], tasks_per_child: int) -> Iterator[Outcome]:
    """Run chunks on a process pool. When a worker dies, the pool breaks and every unfinished chunk fails
    with it; those reports are then run one at a time, each in a fresh single worker, so that only the
    report that kills a worker is reported as failed."""
    suspects: list[Job] = []
    pool = _executor(workers, init, tasks_per_child)
    try:
        futures: dict[Future[list[Outcome]], list[Job]] = {pool.submit(_run_chunk, c): c for c in chunks}
        for future in as_completed(futures):
            try:
                yield from future.result()
            except BrokenProcessPool:
                suspects.extend(futures[future])
            except Exception as exc:  # pragma: no cover - _run_chunk reports per report; a bug must not stop the batch
                for job in futures[future]:
                    yield _failed(job.input, f"内部错误（{type(exc).__name__}: {exc}）", index=job.index)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    single: ProcessPoolExecutor | None = None
    try:
        for job in sorted(suspects, key=lambda j: j.index):
            single = single or _executor(1, init, tasks_per_child)
            try:
                yield from single.submit(_run_chunk, [job]).result()
            except BrokenProcessPool:
                single.shutdown(wait=True)
                single = None
                yield _failed(job.input, "处理该报告时工作进程意外退出（崩溃或内存不足）", index=job.index)
    finally:
        if single is not None:
            single.shutdown(wait=True)


# --------------------------------------------------------------------------- manifest


def manifest(outcomes: Iterable[Outcome], *, outdir: str | os.PathLike[str], started: datetime | None = None) -> dict[str, Any]:
    """The manifest: every input with its output, status and problems, in input order."""
    ordered = sorted(outcomes, key=lambda o: (o.index < 0, o.index))
    counts = {status: sum(o.status == status for o in ordered) for status in ("ok", "skipped", "failed")}
    return {
        "generator": f"docxreport {__version__}",
        "started": (started or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "outdir": os.fspath(outdir),
        "counts": counts,
        "reports": [o.to_dict() for o in ordered],
    }


def write_manifest(path: str | os.PathLike[str], outcomes: Iterable[Outcome], *, outdir: str | os.PathLike[str],
                   started: datetime | None = None) -> dict[str, Any]:
    """Write :func:`manifest` as JSON (atomically) and return it."""
    from .files import write_atomic

    content = manifest(outcomes, outdir=outdir, started=started)
    write_atomic(path, (json.dumps(content, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return content
