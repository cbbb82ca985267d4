"""Warm latency of the HTTP API over loopback: `/v1/ask` and `/v1/chat/completions`.

Starts `rag serve` on a free port over the index (default: the bundled-corpus one), asks every
gold question once to warm caches, then times each endpoint on every gold question, one request
at a time, end to end (request sent to last byte read; for streaming, to `[DONE]`). Writes a
JSON report (default bench/out/http_latency.json). Quote medians; these machines are noisy.

    .venv/bin/python bench/http_latency.py [--index DIR] [--rounds 1] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(index: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    rag = str(Path(sys.executable).with_name("rag"))
    env = {k: v for k, v in os.environ.items() if k != "RAG_API_KEY"}
    process = subprocess.Popen([rag, "serve", "--index", str(index), "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("rag serve did not start")


def _requests(question: str) -> dict[str, tuple[str, dict]]:
    chat = {"model": "cq-rag", "messages": [{"role": "user", "content": question}]}
    return {"ask": ("/v1/ask", {"question": question}),
            "chat": ("/v1/chat/completions", chat),
            "chat_stream": ("/v1/chat/completions", {**chat, "stream": True})}


def _time(client: httpx.Client, path: str, body: dict) -> float:
    t0 = time.perf_counter()
    with client.stream("POST", path, json=body) as response:
        for _ in response.iter_bytes():
            pass
        response.raise_for_status()
    return (time.perf_counter() - t0) * 1000


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"n": len(values), "p50": round(statistics.median(values), 2),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "max": round(ordered[-1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="index dir (default: bundled-corpus index)")
    parser.add_argument("--rounds", type=int, default=1, help="timed passes over the questions")
    parser.add_argument("--out", type=Path, default=Path("bench/out/http_latency.json"))
    args = parser.parse_args()

    from eval.gold_set import load_gold
    from common import bundled_index

    index = bundled_index(args.index)
    questions = [g.question for g in load_gold()]
    process, url = _serve(index)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for q in questions:  # warm-up: jieba, dictionary, FAISS pages, connection
                _time(client, "/v1/ask", {"question": q})
            timings: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for q in questions:
                    for name, (path, body) in _requests(q).items():
                        timings.setdefault(name, []).append(_time(client, path, body))
    finally:
        process.terminate()
        process.wait(timeout=15)
    report = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_avg_1m": os.getloadavg()[0]},
        "index": str(index),
        "method": "one client, sequential requests over loopback to `rag serve` (uvicorn), "
                  "each gold question once per round after one warm-up pass; milliseconds "
                  "from sending the request to reading the last byte",
        "warm_ms": {name: _summary(v) for name, v in timings.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
