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

import contextlib
import glob
import hashlib
import json
import math
import multiprocessing
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import __version__
from .errors import DocxReportError
from .outputs import NAME_MAX_CHARS, existing, safe_name, sha256_file

__all__ = [
    "MANIFEST",
    "NAME_MAX_CHARS",
    "Input",
    "Job",
    "Outcome",
    "collect",
    "manifest",
    "plan",
    "read_manifest",
    "recipe_of",
    "run",
    "safe_name",
    "write_manifest",
]

if TYPE_CHECKING:
    from .pdf.office import Office

Status = Literal["ok", "skipped", "failed"]
MANIFEST = "manifest.json"
#: Reports a worker renders before it is replaced by a fresh process (memory stays flat).
REPORTS_PER_WORKER = 500
_GLOB_CHARS = re.compile(r"[*?\[]")


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
    made_from: dict[str, Any] = field(default_factory=dict, compare=False)


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
    made_from: dict[str, Any] | None = None
    output_sha256: str | None = None
    pdf_sha256: str | None = None
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
        if path.is_dir() and skip is not None and _inside(path, skip):
            failed.append(_failed(argument, f"该目录位于输出目录 {skip} 之内：输出目录中的文件不作为输入，请把输入放在输出目录之外"))
        elif path.is_dir():
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


def template_identity(template: str | os.PathLike[str] | None) -> str | None:
    """What identifies the template in a recipe: the bundled one by the version (in ``generator``), a
    custom one by the SHA-256 of its content (None when it cannot be read: nothing is then up to date)."""
    if template is None:
        return "bundled"
    digest = sha256_file(template)
    return f"sha256:{digest}" if digest else None


def recipe_of(raw: bytes | None, template_id: str | None, fonts: str, pdfa: bool = False) -> dict[str, Any]:
    """What an output is made from, as the manifest keeps it: the input's content, the template, the font
    profile, whether its PDF is PDF/A, and docxreport's version. An output is up to date only when all of
    them are unchanged."""
    return {
        "input_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
        "template": template_id,
        "fonts": fonts,
        "pdfa": pdfa,
        "generator": f"docxreport {__version__}",
    }


#: The largest manifest read back (a manifest of 100,000 reports is about 40 MB).
MANIFEST_MAX_BYTES = 256 * 1024 * 1024


def read_manifest(outdir: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The entries of the manifest a previous run left in ``outdir``, by output name (``{}`` when there is
    none, or it cannot be read: then nothing counts as up to date)."""
    path = Path(outdir) / MANIFEST
    try:
        if path.stat().st_size > MANIFEST_MAX_BYTES:
            return {}
        content = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    reports = content.get("reports") if isinstance(content, dict) else None
    if not isinstance(reports, list):
        return {}
    return {r["output"]: r for r in reports if isinstance(r, dict) and isinstance(r.get("output"), str)}


def _up_to_date(entry: dict[str, Any] | None, recipe: dict[str, Any], folder: Path, output: str, pdf_name: str | None) -> bool:
    """The output (and its PDF) were made from exactly ``recipe`` and are unchanged since."""
    if not entry or entry.get("status") not in ("ok", "skipped") or entry.get("made_from") != recipe:
        return False
    if None in recipe.values() or sha256_file(folder / output) != entry.get("output_sha256"):
        return False
    if pdf_name is not None:
        return entry.get("pdf") == pdf_name and sha256_file(folder / pdf_name) == entry.get("pdf_sha256")
    return True


def _ours(path: Path, recorded: str | None) -> bool:
    """An existing output that batch may replace: its own unchanged output (sealed, or as the manifest
    recorded it)."""
    state = existing(path)
    return state in ("absent", "own") or (recorded is not None and sha256_file(path) == recorded)


def plan(inputs: Sequence[Input], outdir: str | os.PathLike[str], *, force: bool = False, pdf: bool = False,
         template: str | os.PathLike[str] | None = None, fonts: str = "official", pdfa: bool = False) -> tuple[list[Job], list[Outcome]]:
    """Name each input's output (``机关-年度.docx``; ``-2``, ``-3`` … when names collide, compared without
    case) and set aside those already rendered.

    An output is up to date when the manifest of the last run says it was made from this input's content,
    this template (by content), this font profile and this version of docxreport, and the file (and its
    PDF with ``pdf``) is unchanged since: never judged from names or times, so a deleted input that shifts
    the names, a symlink to another file, another ``--fonts`` or ``--template`` all render again.

    An existing output that is not batch's own unchanged work (a clerk's file of that name) is kept: that
    report fails with the reason, unless ``force``. Returns the jobs to run and the outcomes set aside
    (skipped, or failed that way); inputs that cannot be read are jobs too (they fail in a worker)."""
    folder = Path(outdir)
    previous = read_manifest(folder)
    template_id = template_identity(template)
    taken: set[str] = set()
    jobs: list[Job] = []
    aside: list[Outcome] = []
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
        pdf_name = name + ".pdf" if pdf else None
        recipe = recipe_of(raw, template_id, fonts, pdfa)
        entry = previous.get(output)
        if not force and raw is not None and _up_to_date(entry, recipe, folder, output, pdf_name):
            aside.append(Outcome(item.path, "skipped", line=item.line, output=output, pdf=pdf_name, made_from=recipe,
                                 output_sha256=entry["output_sha256"], pdf_sha256=entry.get("pdf_sha256") if pdf else None,  # type: ignore[index,union-attr]
                                 index=index))
            continue
        recorded = entry or {}
        kept = [f for f, digest in ((output, recorded.get("output_sha256")), (pdf_name, recorded.get("pdf_sha256")))
                if f is not None and not force and not _ours(folder / f, digest)]
        if kept:
            aside.append(_failed(item, f"输出目录中已有 {'、'.join(kept)}，且不是 docxreport 生成后未经改动的文件，未覆盖"
                                       "（确需覆盖请加 --force）", index=index))
            continue
        jobs.append(Job(item, output, index, recipe))
    return jobs, aside


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


def _start_worker(outdir: str, template: str | None, fonts: str, pdf: bool, profiles: str | None, parent: int,
                  pdfa: bool = False, pool_folder: str | None = None) -> None:
    global _STATE
    office = None
    if pdf and profiles:
        from .pdf.office import Office

        office = Office(profile=Path(profiles) / f"office-{os.getpid()}")  # kept for every chunk of this worker
        from multiprocessing.util import Finalize

        Finalize(office, office.close, exitpriority=10)  # a worker that ends stops its warm office
    _STATE = _Worker(Path(outdir), template, fonts, pdf, office, pdfa)
    if os.getpid() != parent:  # a worker process: it must not outlive the batch (kill -9 of the main process)
        import threading

        threading.Thread(target=_watch_parent, args=(parent, [profiles, pool_folder]), name="docxreport-watch-parent", daemon=True).start()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, killed and not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process took the number
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _watch_parent(parent: int, folders: list[str | None], interval: float = 0.5) -> None:
    """In each worker: once the batch's main process is gone (killed with SIGKILL, which nothing can catch),
    remove the temporary folders (LibreOffice profiles, multiprocessing's) and end the worker. The
    forkserver and the resource tracker end by themselves once no process holds their pipes."""
    import shutil
    import time

    while _alive(parent):
        time.sleep(interval)
    state = _STATE
    if state is not None and state.office is not None:
        with contextlib.suppress(Exception):  # best effort on the way out
            state.office.close()  # an office it keeps running ends with it
    for folder in folders:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    os._exit(1)


def _render_one(job: Job, state: _Worker) -> Outcome:
    from .docx.renderer import DEFAULT_RENDERER
    from .errors import InvalidReportError
    from .files import write_atomic
    from .outputs import seal
    from .problems import has_errors
    from .report.validation import check_read
    from .sources import read_data

    item = job.input
    try:
        raw = item.read()
    except OSError as exc:
        return _failed(item, f"无法读取（{exc.strerror or exc}）", index=job.index)
    try:
        data, problems = read_data(raw, item.label)
        if problems or data is None:  # the full account: what reading found, then what validation adds
            data, problems = check_read((data, problems))
            if data is None or has_errors(problems):
                errors = sum(p.severity == "error" for p in problems)
                return _failed(item, f"报告内容有 {errors} 处错误", [p.to_dict() for p in problems], job.index)
        # render() validates (once: the warnings it could add need last year's report, which a batch has not)
        document = seal(DEFAULT_RENDERER.render(data, template=state.template, fonts=state.fonts))  # type: ignore[arg-type]
        write_atomic(state.outdir / job.output, document)
    except InvalidReportError as exc:
        errors = sum(p.severity == "error" for p in exc.problems)
        return _failed(item, f"报告内容有 {errors} 处错误", [p.to_dict() for p in exc.problems], job.index)
    except DocxReportError as exc:
        return _failed(item, str(exc), index=job.index)
    except Exception as exc:  # a bug must not stop the batch: report it with the input
        return _failed(item, f"内部错误（{type(exc).__name__}: {exc}）", index=job.index)
    return Outcome(item.path, "ok", line=item.line, output=job.output, problems=[p.to_dict() for p in problems],
                   made_from=job.made_from, output_sha256=hashlib.sha256(document).hexdigest(), index=job.index)


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
                outcomes[i] = replace(outcome, pdf=result.name, pdf_sha256=sha256_file(result))
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
        template: str | os.PathLike[str] | None = None, fonts: str = "official",
        salvage: list[Outcome] | None = None, pdfa: bool = False) -> Iterator[Outcome]:
    """Render ``jobs`` into ``outdir``, yielding each :class:`Outcome` as its report finishes (in no
    particular order). ``workers`` processes render in parallel (0: in this process, for small runs and
    tests). With ``pdf``, each rendered .docx is also converted to PDF through LibreOffice (PDF/A-2b with
    ``pdfa``).
    When the run is interrupted (Ctrl-C, SIGTERM), the reports the workers were rendering are finished
    first; their outcomes, never yielded, are appended to ``salvage`` so that the manifest records them.
    """
    folder = Path(outdir)
    template_name = os.fspath(template) if template is not None else None
    if not jobs:
        return
    if pdf:
        from .pdf.office import find_office

        find_office()  # before any worker starts: a missing LibreOffice is one clear error, not one per report
    import shutil
    import tempfile

    profiles = tempfile.mkdtemp(prefix="docxreport-batch-") if pdf else None  # LibreOffice profiles, one per worker
    try:
        init: tuple[Any, ...] = (str(folder), template_name, fonts, pdf, profiles, os.getpid(), pdfa, None)
        if workers <= 0:
            yield from _in_process(list(jobs), init)
            return
        from multiprocessing.util import get_temp_dir

        init = (*init[:-1], get_temp_dir())  # multiprocessing's own folder (the forkserver's socket): removed too
        size = chunk_size(len(jobs), workers, pdf)
        chunks = [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]
        yield from _execute(chunks, min(workers, len(chunks)), init, max(1, REPORTS_PER_WORKER // size),
                            salvage if salvage is not None else [])
    finally:
        if profiles:
            shutil.rmtree(profiles, ignore_errors=True)


def _in_process(jobs: list[Job], init: tuple[Any, ...]) -> Iterator[Outcome]:
    global _STATE
    _start_worker(*init)
    try:
        size = chunk_size(len(jobs), 1, init[3])
        for start in range(0, len(jobs), size):
            yield from _run_chunk(jobs[start:start + size])
    finally:
        _STATE = None


def _executor(workers: int, init: tuple[Any, ...], tasks_per_child: int) -> ProcessPoolExecutor:
    extra: dict[str, Any] = {"max_tasks_per_child": tasks_per_child} if sys.version_info >= (3, 11) else {}
    return ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(), initializer=_start_worker, initargs=init, **extra)


def _execute(chunks: list[list[Job]], workers: int, init: tuple[Any, ...], tasks_per_child: int,
             salvage: list[Outcome]) -> Iterator[Outcome]:
    """Run chunks on a process pool. When a worker dies, the pool breaks and every unfinished chunk fails
    with it; those reports are then run one at a time, each in a fresh single worker, so that only the
    report that kills a worker is reported as failed."""
    suspects: list[Job] = []
    pool = _executor(workers, init, tasks_per_child)
    futures: dict[Future[list[Outcome]], list[Job]] = {}
    taken: set[Future[list[Outcome]]] = set()
    try:
        futures = {pool.submit(_run_chunk, c): c for c in chunks}
        for future in as_completed(futures):
            taken.add(future)
            try:
                yield from future.result()
            except BrokenProcessPool:
                suspects.extend(futures[future])
            except Exception as exc:  # pragma: no cover - _run_chunk reports per report; a bug must not stop the batch
                for job in futures[future]:
                    yield _failed(job.input, f"内部错误（{type(exc).__name__}: {exc}）", index=job.index)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for future in futures:  # interrupted: the chunks that finished while we stopped
            if future not in taken and future.done() and not future.cancelled() and future.exception() is None:
                salvage.extend(future.result())
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
