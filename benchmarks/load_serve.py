"""Load test of ``docxreport serve``: N render requests from C concurrent clients, on this machine only.

    python benchmarks/load_serve.py                      # 500 requests, 8 clients, a server with 1 worker
    python benchmarks/load_serve.py --workers 2          # the server with 2 worker processes
    python benchmarks/load_serve.py --url http://127.0.0.1:8000 --api-key KEY   # a server already running
    python benchmarks/load_serve.py --json results.json

Without ``--url`` it starts ``python -m docxreport serve`` on a free port of 127.0.0.1, waits for /healthz,
sends a few untimed requests (the first ones warm the process up), then exactly ``--requests`` POST
/v1/render requests with ``examples/county-bureau-2024.json``, each client on its own keep-alive connection,
and stops the server. Every response must be a 200 with a .docx; anything else is counted and reported.
Prints throughput (requests per second over the wall time) and latency percentiles. Only loopback addresses
are accepted: this is a benchmark, not a load generator for other people's servers.

Needs the ``server`` extra and httpx (both in the ``test`` extra).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "county-bureau-2024.json"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WARM_UP = 16


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(workers: int, api_key: str | None) -> Iterator[str]:
    """``docxreport serve`` on a free port of 127.0.0.1 for the duration of the block; yields its URL."""
    port = _free_port()
    env = {**os.environ, "DOCXREPORT_MAX_QUEUE": "64"}
    if api_key:
        env["DOCXREPORT_API_KEY"] = api_key
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, "-m", "docxreport", "serve", "--port", str(port), "--workers", str(workers)],
                               stdout=subprocess.DEVNULL, stderr=log, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=url, trust_env=False, timeout=5) as client:
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"the server did not start:\n{log.read().decode(errors='replace')}")
                time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        log.close()


def load(url: str, body: bytes, requests: int, concurrency: int, api_key: str | None, query: dict[str, str]) -> dict[str, Any]:
    """Send ``requests`` render requests from ``concurrency`` threads; latencies in ms, statuses, wall time."""
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["X-API-Key"] = api_key
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    remaining = [requests]
    start = threading.Barrier(concurrency + 1)

    def client() -> None:
        with httpx.Client(base_url=url, trust_env=False, timeout=120, headers=headers) as http:
            for _ in range(WARM_UP // concurrency or 1):  # untimed: opens the connection, warms the worker
                http.post("/v1/render", content=body, params=query)
            start.wait()
            while True:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                began = time.perf_counter()
                try:
                    response = http.post("/v1/render", content=body, params=query)
                    ok = response.status_code == 200 and response.content[:2] in (b"PK", b"%P")
                    outcome = "200" if ok else str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {"wall_s": wall, "latencies_ms": latencies, "statuses": dict(statuses)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="timed requests (default 500)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes when this script starts it")
    parser.add_argument("--url", help="a server already running on this machine (loopback only)")
    parser.add_argument("--api-key", help="X-API-Key to send (and to give the server this script starts)")
    parser.add_argument("--format", choices=["docx", "pdf"], default="docx")
    parser.add_argument("--example", type=Path, default=EXAMPLE, help="the report JSON to render")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not 1 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 256:
        parser.error("--requests must be 1–100000 and --concurrency 1–256")
    if args.url and urlsplit(args.url).hostname not in LOOPBACK:
        parser.error("--url must be a loopback address (127.0.0.1, localhost, ::1)")

    body = args.example.read_bytes()
    query = {"format": args.format}
    if args.url:
        result = load(args.url.rstrip("/"), body, args.requests, args.concurrency, args.api_key, query)
    else:
        with server(args.workers, args.api_key) as url:
            result = load(url, body, args.requests, args.concurrency, args.api_key, query)

    latencies = result.pop("latencies_ms")
    ok = result["statuses"].get("200", 0)
    summary = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "server_workers": None if args.url else args.workers,
        "format": args.format,
        "ok": ok,
        "statuses": result["statuses"],
        "wall_s": round(result["wall_s"], 3),
        "throughput_rps": round(len(latencies) / result["wall_s"], 1),
        "latency_ms": {name: round(percentile(latencies, q), 1) for name, q in
                       (("p50", 0.50), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))},
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}",
    }
    print(f"{summary['requests']} render requests ({args.format}), {args.concurrency} concurrent clients, "
          f"server workers: {summary['server_workers'] or 'external'}")
    print(f"  ok: {ok}/{args.requests}" + (f"  other: {result['statuses']}" if ok != args.requests else ""))
    print(f"  wall time: {summary['wall_s']:.2f} s   throughput: {summary['throughput_rps']:.1f} requests/s")
    print("  latency ms: " + "  ".join(f"{k} {v:.1f}" for k, v in summary["latency_ms"].items()))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    sys.exit(0 if ok == args.requests else 1)


if __name__ == "__main__":
    main()
