"""Load soak: locust against a real `rag serve`, sampling the server's memory (`make soak`).

Starts `rag serve` on the index, runs bench/locust_soak.py headless (default 32 users for 120 s),
samples the server's RSS every 2 s, and writes a JSON report (default bench/out/soak.json):
requests, failures, p50/p95/p99 in ms, requests per second, RSS at start, end and peak, and the
growth over the second half of the run (flat memory: a few MiB at most). Exit 1 on any failure.

    .venv/bin/python bench/soak.py --index DIR [--users 32] [--seconds 120] [--out FILE]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from http_latency import _serve  # bench/ is on sys.path when this runs as a script

HERE = Path(__file__).resolve().parent


def _sample_rss(pid: int, every_s: float, stop: threading.Event, out: list) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        out.append((time.monotonic(), process.memory_info().rss))
        stop.wait(every_s)


def _aggregate(stats_csv: Path) -> dict:
    with stats_csv.open(encoding="utf-8") as fh:
        rows = {row["Name"]: row for row in csv.DictReader(fh)}
    total = rows["Aggregated"]
    per_route = {name: {"requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
                        "p50_ms": float(r["50%"]), "p95_ms": float(r["95%"])}
                 for name, r in rows.items() if name != "Aggregated"}
    return {"requests": int(total["Request Count"]), "failures": int(total["Failure Count"]),
            "p50_ms": float(total["50%"]), "p95_ms": float(total["95%"]),
            "p99_ms": float(total["99%"]), "rps": round(float(total["Requests/s"]), 2),
            "routes": per_route}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "soak.json")
    args = parser.parse_args()

    server, url = _serve(args.index)
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(server.pid, 2.0, stop, samples))
    load_before = os.getloadavg()
    try:
        sampler.start()
        with tempfile.TemporaryDirectory() as tmp:
            locust = str(Path(sys.executable).with_name("locust"))
            subprocess.run([locust, "-f", str(HERE / "locust_soak.py"), "--headless",
                            "-u", str(args.users), "-r", str(max(1, args.users // 8)),
                            "-t", f"{args.seconds}s", "--host", url, "--csv",
                            f"{tmp}/locust", "--only-summary", "--loglevel", "WARNING"],
                           check=False)
            result = _aggregate(Path(tmp) / "locust_stats.csv")
    finally:
        stop.set()
        sampler.join()
        server.terminate()
        server.wait(timeout=30)
    rss = [r for _, r in samples]
    half = rss[len(rss) // 2:]
    mib = 2 ** 20
    report = {
        "users": args.users, "seconds": args.seconds, **result,
        "rss_mib": {"start": round(rss[0] / mib, 1), "end": round(rss[-1] / mib, 1),
                    "max": round(max(rss) / mib, 1),
                    "second_half_growth": round((half[-1] - half[0]) / mib, 1),
                    "series_every_2s": [round(r / mib) for r in rss]},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "routes"}, ensure_ascii=False))
    print(f"report: {args.out}")
    return 1 if report["failures"] or not report["requests"] else 0


if __name__ == "__main__":
    sys.exit(main())
