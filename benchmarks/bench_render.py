"""Benchmark: docxreport against plain docxtpl, cold starts, and batch throughput.

    python benchmarks/bench_render.py            # full run (about a minute on 2 cores)
    python benchmarks/bench_render.py --quick    # fewer repetitions, for a smoke test
    python benchmarks/bench_render.py --json results.json

On the same template (the bundled one) and data (examples/county-bureau-2024.json):

- plain docxtpl, as it is usually used: a new ``DocxTemplate`` per report, ``render(context, autoescape=True)``,
  ``save``. The context is built once, outside the timing (in docxtpl's favour);
- docxreport: ``docxreport.render(data)``, validation and context included.

Each runs in a process of its own, so its peak RSS (``ru_maxrss``) is its own. Then process times of
``docxreport --help`` and of a cold ``docxreport render``, and ``docxreport batch -j 2`` over 1,000
generated reports (three runs, the median counts: on a shared machine one run can be disturbed). Results are printed against the targets of issue 6; docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "county-bureau-2024.json"
TARGETS = {"median_ms": 5.0, "speedup": 20.0, "batch_s": 5.0, "rss_mb": 100.0, "help_ms": 150.0, "cold_render_ms": 400.0}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


# --------------------------------------------------------------------------- one engine, in a child process


def child(engine: str, count: int) -> dict[str, Any]:
    """Render ``count`` reports with one engine; timings in ms and peak RSS in MB."""
    import docxreport
    from docxreport.data import data_file
    from docxreport.docx.renderer import build_context
    from docxreport.docx.template import TEMPLATE_FILE

    data = docxreport.load(EXAMPLE)
    template_path = str(data_file("templates", TEMPLATE_FILE))
    if engine == "plain":
        from docxtpl import DocxTemplate

        context = build_context(data)

        def once() -> bytes:
            template = DocxTemplate(template_path)
            template.render(context, autoescape=True)
            out = io.BytesIO()
            template.save(out)
            return out.getvalue()
    else:
        def once() -> bytes:
            return docxreport.render(data)  # type: ignore[return-value]

    for _ in range(3):  # warm: imports, the prepared template, caches
        once()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        once()
        times.append((time.perf_counter() - start) * 1000)
    return {"engine": engine, "count": count, "median_ms": statistics.median(times), "p95_ms": _percentile(times, 0.95),
            "peak_rss_mb": _peak_rss_mb()}


def _run_child(engine: str, count: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", engine, str(count)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def same_output() -> bool:
    """docxreport's document and plain docxtpl's hold the same parts with the same canonical XML."""
    import docxreport
    from docxreport.data import data_file
    from docxreport.docx.renderer import build_context
    from docxreport.docx.template import TEMPLATE_FILE
    from docxreport.docx.templatecompare import parts
    from docxtpl import DocxTemplate

    data = docxreport.load(EXAMPLE)
    template = DocxTemplate(str(data_file("templates", TEMPLATE_FILE)))
    template.render(build_context(data), autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return parts(out.getvalue()) == parts(docxreport.render(data))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- processes


def _command() -> list[str]:
    script = Path(sys.executable).parent / ("docxreport.exe" if os.name == "nt" else "docxreport")
    return [str(script)] if script.exists() else [sys.executable, "-m", "docxreport"]


def _process_ms(args: list[str], runs: int, cwd: Path) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(_command() + args, check=True, capture_output=True, cwd=cwd)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def batch_seconds(count: int, workers: int, folder: Path, runs: int) -> list[float]:
    """End-to-end times of ``docxreport batch`` over ``count`` generated reports (``--force`` after the first)."""
    base = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    inputs = folder / "inputs"
    inputs.mkdir()
    for i in range(count):
        (inputs / f"r{i:05d}.json").write_text(json.dumps({**base, "organ": f"某某县第{i}局"}, ensure_ascii=False), encoding="utf-8")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(_command() + ["batch", str(inputs), "-o", str(folder / "out"), "-j", str(workers), "--force"],
                                capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"batch failed:\n{result.stderr}")
    rendered = sum(1 for p in (folder / "out").glob("*.docx"))
    if rendered != count:
        raise SystemExit(f"batch rendered {rendered} of {count}")
    return times


def stages() -> dict[str, float]:
    """Where a warm render's time goes (medians in ms): validation, context, the prepared template."""
    import docxreport
    from docxreport.docx.renderer import DEFAULT_RENDERER, build_context
    from docxreport.report.validation import validate

    data = docxreport.load(EXAMPLE)
    prepared = DEFAULT_RENDERER.prepare()
    context = build_context(data, styles=prepared.style_ids)

    def median_ms(action: Any, count: int = 300) -> float:
        action()
        times = []
        for _ in range(count):
            start = time.perf_counter()
            action()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    return {
        "validate": median_ms(lambda: validate(data)),
        "build_context": median_ms(lambda: build_context(data, styles=prepared.style_ids)),
        "prepared_render": median_ms(lambda: prepared.render(context, trusted=True)),
    }


# --------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test, not a measurement)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return

    plain_n, ours_n, runs, batch_n = (20, 200, 3, 200) if args.quick else (100, 2000, 7, 1000)
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; {EXAMPLE.name}, bundled template")
    print(f"output identical in content to plain docxtpl: {'yes' if same_output() else 'NO'}")
    plain = _run_child("plain", plain_n)
    ours = _run_child("docxreport", ours_n)
    speedup = plain["median_ms"] / ours["median_ms"]
    print(f"\n{'per report (warm)':<34}{'median':>10}{'p95':>10}{'peak RSS':>12}")
    for label, r in ((f"plain docxtpl ({plain_n} reports)", plain), (f"docxreport ({ours_n} reports)", ours)):
        print(f"{label:<34}{r['median_ms']:>8.2f}ms{r['p95_ms']:>8.2f}ms{r['peak_rss_mb']:>9.1f} MB")
    print(f"docxreport is {speedup:.0f}x faster than plain docxtpl")
    parts = stages()
    print("  of which: " + ", ".join(f"{k} {v:.2f} ms" for k, v in parts.items()))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        help_ms = _process_ms(["--help"], runs, folder)
        cold_ms = _process_ms(["render", str(EXAMPLE), "-o", str(folder / "cold.docx")], runs, folder)
        print(f"\nprocess times (median of {runs}): docxreport --help {help_ms:.0f} ms, cold docxreport render {cold_ms:.0f} ms")
        batch_times = batch_seconds(batch_n, 2, folder, 3)
    seconds = statistics.median(batch_times)
    print(f"docxreport batch -j 2, {batch_n} reports: {seconds:.2f} s, median of {', '.join(f'{t:.2f}' for t in batch_times)}"
          f" ({batch_n / seconds:.0f} reports/s)")

    results = {
        "plain": plain, "docxreport": ours, "speedup": speedup, "stages_ms": parts, "help_ms": help_ms, "cold_render_ms": cold_ms,
        "batch": {"reports": batch_n, "workers": 2, "seconds": seconds, "runs": batch_times},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    checks = [
        ("median <= 5 ms (validation included)", ours["median_ms"] <= TARGETS["median_ms"]),
        (">= 20x faster than plain docxtpl", speedup >= TARGETS["speedup"]),
        (f"peak RSS <= 100 MB over {ours_n} renders", ours["peak_rss_mb"] <= TARGETS["rss_mb"]),
        ("docxreport --help <= 150 ms", help_ms <= TARGETS["help_ms"]),
        ("cold render <= 400 ms", cold_ms <= TARGETS["cold_render_ms"]),
        (f"batch -j 2 of {batch_n} <= 5 s", seconds <= TARGETS["batch_s"]),
    ]
    print("\ntargets (issue 6):")
    for label, ok in checks:
        print(f"  {'met ' if ok else 'MISS'}  {label}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if os.cpu_count() != 2:
        print("\n(the targets are for a 2-core machine)")


if __name__ == "__main__":
    main()
