"""PDF benchmark: the warm office in the service, in batch and in one process, on this machine only.

    python benchmarks/bench_pdf.py                 # about 2 minutes
    python benchmarks/bench_pdf.py --quick         # fewer requests and reports
    python benchmarks/bench_pdf.py --json pdf.json

Three measures, each against its target from issue 13 (2-core machine):

1. ``docxreport serve`` answering ``POST /v1/render?format=pdf`` from 4 concurrent clients (through
   ``load_serve.py``'s client; the server's worker processes each keep a warm office, warmed by untimed
   requests first): at least 8 requests/s, p95 at most 1.5 s.
2. ``docxreport batch -j 2 --pdf`` over generated reports, end to end: about 10 reports/s.
3. One conversion in a process whose warm office is running (``Office.convert`` of one rendered report,
   median of 10): at most 0.5 s. Also a cold ``docxreport render --pdf`` (a new process that starts its own
   office) for comparison.

Needs LibreOffice with its UNO bridge (Debian: libreoffice-writer, python3-uno), the ``server`` extra and
httpx.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "examples" / "county-bureau-2024.json"
sys.path.insert(0, str(HERE))

import load_serve  # noqa: E402


def tree_cpu() -> float:
    """CPU seconds used so far by this process's descendants (the server, its workers, their offices),
    reaped ones included: the measure that does not depend on what else the machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    used: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        used[pid] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    total, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0)
        todo += children.get(pid, [])
    return total / tick


def service(requests: int, concurrency: int, workers: int) -> dict[str, Any]:
    body = EXAMPLE.read_bytes()
    old = os.environ.get("DOCXREPORT_MAX_CONCURRENCY")
    os.environ["DOCXREPORT_MAX_CONCURRENCY"] = str(concurrency)  # one worker process (and office) per client
    try:
        with load_serve.server(workers, None) as url:
            load_serve.load(url, body, concurrency * 3, concurrency, None, {"format": "pdf"})  # every office warm
            cpu = tree_cpu()
            result = load_serve.load(url, body, requests, concurrency, None, {"format": "pdf"})
            cpu = tree_cpu() - cpu
    finally:
        if old is None:
            os.environ.pop("DOCXREPORT_MAX_CONCURRENCY", None)
        else:
            os.environ["DOCXREPORT_MAX_CONCURRENCY"] = old
    latencies = result["latencies_ms"]
    return {"requests": requests, "concurrency": concurrency, "statuses": result["statuses"],
            "throughput_rps": round(len(latencies) / result["wall_s"], 2),
            "p50_ms": round(load_serve.percentile(latencies, 0.5)), "p95_ms": round(load_serve.percentile(latencies, 0.95)),
            "cpu_s_per_request": round(cpu / requests, 3), "rps_if_2_cores_were_ours": round(2 / (cpu / requests), 1)}


def batch(reports: int) -> dict[str, Any]:
    base = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        lines = [json.dumps({**base, "organ": f"第{i}局"}, ensure_ascii=False) for i in range(reports)]
        (Path(folder) / "all.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "docxreport", "batch", "all.jsonl", "-o", "out", "-j", "2", "--pdf"],
                              cwd=folder, capture_output=True, text=True)
        wall = time.perf_counter() - began
        pdfs = len(list((Path(folder) / "out").glob("*.pdf")))
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return {"reports": reports, "pdfs": pdfs, "wall_s": round(wall, 2), "reports_per_s": round(reports / wall, 2)}


def single(repeat: int) -> dict[str, Any]:
    from docxreport.docx.renderer import render
    from docxreport.pdf.office import Office

    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder, Office() as office:
        if not office.start():
            raise SystemExit(f"no warm office: {office.cold_reason}")
        times, cpus = [], []
        for i in range(repeat + 1):
            began, cpu = time.perf_counter(), time.process_time() + tree_cpu()
            source = Path(folder) / f"r{i}.docx"
            source.write_bytes(render(data))  # type: ignore[arg-type]
            result = office.convert([source])[source]
            if isinstance(result, str):
                raise SystemExit(result)
            times.append(time.perf_counter() - began)
            cpus.append(time.process_time() + tree_cpu() - cpu)
        warm = statistics.median(times[1:])
        warm_cpu = statistics.median(cpus[1:])  # the first conversion of a new office loads the filters
        began = time.perf_counter()
        cold = subprocess.run([sys.executable, "-m", "docxreport", "render", str(EXAMPLE), "-o", str(Path(folder) / "c.docx"), "--pdf"],
                              capture_output=True, text=True)
        cold_s = time.perf_counter() - began
        if cold.returncode != 0:
            raise SystemExit(cold.stderr)
    return {"warm_render_and_convert_s": round(warm, 3), "warm_render_and_convert_cpu_s": round(warm_cpu, 3),
            "cold_render_pdf_command_s": round(cold_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    requests, reports, repeat = (40, 20, 3) if args.quick else (200, 100, 10)
    results = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}",
        "single": single(repeat),
        "service": service(requests, 4, 1),
        "batch": batch(reports),
    }
    s, b, one = results["service"], results["batch"], results["single"]
    checks = [
        (f"service, 4 clients: {s['throughput_rps']} PDF requests/s", s["throughput_rps"] >= 8, "≥ 8/s"),
        (f"service, 4 clients: p95 {s['p95_ms']} ms (p50 {s['p50_ms']} ms)", s["p95_ms"] <= 1500, "≤ 1500 ms"),
        (f"batch -j 2 --pdf: {b['reports_per_s']} reports/s ({b['reports']} in {b['wall_s']} s)", b["reports_per_s"] >= 8, "about 10/s"),
        (f"render + convert with a warm office: {one['warm_render_and_convert_s']} s", one["warm_render_and_convert_s"] <= 0.5, "≤ 0.5 s"),
        (f"cold render --pdf command: {one['cold_render_pdf_command_s']} s", True, "for comparison"),
    ]
    print(f"CPU per PDF (server, workers and offices): service {s['cpu_s_per_request']} s "
          f"(→ {s['rps_if_2_cores_were_ours']}/s on 2 free cores), one warm render and conversion "
          f"{one['warm_render_and_convert_cpu_s']} s; load average {os.getloadavg()[0]:.1f}")
    for text, ok, target in checks:
        print(f"{'met   ' if ok else 'MISSED'} {text}   (target {target})")
    if s["statuses"] != {"200": requests}:
        print(f"service answers: {s['statuses']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
