"""Benchmark: ``docxreport extract`` of a 6-page PDF, as a process (issue 15: at most 1 s on this machine).

    python benchmarks/bench_extract.py            # prints the median of 7 process runs and the in-process time
    python benchmarks/bench_extract.py --json results.json

The PDF is examples/county-bureau-2024.json rendered and printed by LibreOffice (6 pages; table 三 breaks
across a page). Printing needs LibreOffice and is done once, outside the timing. The process time is the wall
time of ``python -m docxreport extract report.pdf -o out.json``: interpreter start, imports, reading, JSON; its
CPU time (user + system) is printed too, since on a shared machine the wall time mostly measures the others.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "county-bureau-2024.json"
TARGET_S = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    import docxreport
    from docxreport.pdf.office import Office

    folder = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    try:
        docxreport.render(docxreport.load(EXAMPLE), folder / "report.docx")
        with Office() as office:
            office.convert([folder / "report.docx"])
        pdf = folder / "report.pdf"
        pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout if shutil.which("pdfinfo") else ""
        started = time.perf_counter()
        docxreport.extract(pdf)
        in_process = time.perf_counter() - started
        times, cpu = [], []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "docxreport", "extract", str(pdf), "-o", str(folder / "out.json"), "--force"],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        result = {"pages": next((int(l.split()[-1]) for l in pages.splitlines() if l.startswith("Pages:")), None),
                  "process_median_s": round(statistics.median(times), 3), "process_min_s": round(min(times), 3),
                  "process_cpu_median_s": round(statistics.median(cpu), 3), "load_average": os.getloadavg()[0],
                  "in_process_first_s": round(in_process, 3), "target_s": TARGET_S}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    met = result["process_median_s"] <= TARGET_S
    print(f"extract of a {result['pages']}-page PDF as a process: median {result['process_median_s']:.3f} s "
          f"(min {result['process_min_s']:.3f} s; CPU {result['process_cpu_median_s']:.3f} s, load {result['load_average']:.1f}) "
          f"— target ≤ {TARGET_S} s: {'met' if met else 'MISSED'}; "
          f"in process (imports included, first call): {result['in_process_first_s']:.3f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
