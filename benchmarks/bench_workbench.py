"""Benchmark: the filing workbench's live check and page load (targets of issue 17).

    python benchmarks/bench_workbench.py            # 200 validation round trips, 10 page loads
    python benchmarks/bench_workbench.py --quick    # fewer, for a smoke test

- **Validation round trip**: ``POST /v1/validate`` of a full report (examples/county-bureau-2024.json, with
  last year's report as ``previous``, as the page sends it) over HTTP to a uvicorn server on 127.0.0.1, from
  a keep-alive client: the time from sending to having the problems. Target: median ≤ 50 ms.
- **Page load**: Chromium (Playwright) opening ``/`` in a fresh context (empty cache), from the start of the
  navigation until the first check has been shown (page, scripts, style, tables, the first validation), as
  the page's own ``performance.mark`` records it. Target: median ≤ 1 s. Skipped without Chromium.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docxreport.web.server import create_app  # noqa: E402
from docxreport.web.service import Settings  # noqa: E402

THIS = ROOT / "examples" / "county-bureau-2024.json"
LAST = ROOT / "examples" / "county-bureau-2023.json"
TARGETS = {"validate_ms": 50.0, "load_ms": 1000.0}


def _serve() -> tuple[uvicorn.Server, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(Settings()), log_config=None, access_log=False))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def validation(url: str, rounds: int) -> list[float]:
    body = json.dumps({"report": json.loads(THIS.read_text(encoding="utf-8")),
                       "previous": json.loads(LAST.read_text(encoding="utf-8"))}, ensure_ascii=False).encode("utf-8")
    times = []
    with httpx.Client(base_url=url, trust_env=False) as client:
        for n in range(rounds + 5):
            started = time.perf_counter()
            response = client.post("/v1/validate", content=body, headers={"Content-Type": "application/vnd.docxreport.with-previous+json"})
            result = response.json()
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200 and result["valid"], result
            if n >= 5:  # the first few warm up the worker threads
                times.append(elapsed)
    return times


def page_loads(url: str, rounds: int) -> list[float] | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                                                     "--disable-component-update", "--disable-sync", "--no-first-run"])
        for n in range(rounds + 1):
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            page = context.new_page()
            page.goto(url + "/")
            page.wait_for_function("() => document.body.dataset.checking === 'idle'")
            # measured by the page itself: from the start of navigation to the first check shown
            elapsed = page.evaluate("() => performance.getEntriesByName('docxreport:first-check')[0].startTime")
            context.close()
            if n:  # the first starts the browser's own caches
                times.append(elapsed)
        browser.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    server, url = _serve()
    try:
        checks = validation(url, 40 if args.quick else 200)
        loads = page_loads(url, 3 if args.quick else 10)
    finally:
        server.should_exit = True
    ok = True
    median = statistics.median(checks)
    p95 = sorted(checks)[int(0.95 * (len(checks) - 1))]
    good = median <= TARGETS["validate_ms"]
    ok &= good
    print(f"validation round trip (full report + previous): median {median:.1f} ms, p95 {p95:.1f} ms, "
          f"n={len(checks)}  target ≤ {TARGETS['validate_ms']:.0f} ms  {'ok' if good else 'MISSED'}")
    if loads is None:
        print("page load: skipped (chromium is not installed)")
    else:
        median = statistics.median(loads)
        good = median <= TARGETS["load_ms"]
        ok &= good
        print(f"page load to first check shown: median {median:.0f} ms, max {max(loads):.0f} ms, n={len(loads)}  "
              f"target ≤ {TARGETS['load_ms']:.0f} ms  {'ok' if good else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
