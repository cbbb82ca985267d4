"""FAISS against Milvus Lite: same answers on every gold question, and dense search latency.

1. The bundled-corpus index (FAISS) is copied and moved to Milvus Lite (vectors reused); every
   gold question is asked through both services and the answers, citations and passages compared.
2. Search latency, one query at a time with the same query vectors, k = 50 (the candidates each
   retriever gives), unfiltered and with a filter admitting about a third of the rows: on the
   sample index (gold questions as queries) and on synthetic unit vectors of the sizes given
   (default: the chunk count of /work/shared/corpus/debian-zh, counted by the real loader and
   chunker without embedding, and 20000). Both stores search exhaustively (FLAT), so their
   latency depends on the row count and dimension, not on what the vectors mean.

Writes JSON (default bench/out/vector_stores.json). Both stores run in this one process, side
by side, so quote their ratio; the machine is shared and noisy.

    .venv/bin/python bench/vector_stores.py [--index DIR] [--sizes 1700 20000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

K = 50
DEBIAN = Path("/work/shared/corpus/debian-zh")


def percentiles(ms: list[float]) -> dict[str, float]:
    q = np.percentile(ms, [50, 95])
    return {"p50_ms": round(float(q[0]), 3), "p95_ms": round(float(q[1]), 3), "n": len(ms)}


def search_latency(store, queries: np.ndarray, allowed: np.ndarray | None, rounds: int) -> list:
    for q in queries[:5]:  # warm up
        store.search(q, K, allowed)
    out = []
    for _ in range(rounds):
        for q in queries:
            t0 = time.perf_counter()
            store.search(q, K, allowed)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def compare(stores: dict, queries: np.ndarray, rounds: int, n: int) -> dict:
    """Latency of each store, unfiltered and filtered, plus whether their rankings agree."""
    allowed = np.arange(0, n, 3, dtype=np.int64)
    result: dict = {"rows": n, "queries": len(queries), "k": K}
    for name, store in stores.items():
        result[name] = {"unfiltered": percentiles(search_latency(store, queries, None, rounds)),
                        "filtered_1_in_3": percentiles(
                            search_latency(store, queries, allowed, rounds))}
    faiss_rows = [stores["faiss"].search(q, K)[1].tolist() for q in queries]
    milvus_rows = [stores["milvus"].search(q, K)[1].tolist() for q in queries]
    result["same_top_k"] = sum(a == b for a, b in zip(faiss_rows, milvus_rows))
    result["milvus_over_faiss_p50"] = round(result["milvus"]["unfiltered"]["p50_ms"]
                                            / result["faiss"]["unfiltered"]["p50_ms"], 1)
    return result


def sample(index: Path, uri: str, rounds: int, work: Path) -> dict:
    from eval.gold_set import load_gold
    from index.build import ingest
    from rag.config import Settings
    from rag.service import RagService, chunker_from, vector_backend_from

    faiss_service = RagService(Settings(index=index))
    moved = work / "sample-milvus"
    shutil.copytree(index, moved, ignore=shutil.ignore_patterns(".lock"))
    settings = Settings(index=moved, vector_store="milvus", milvus_uri=uri)
    t0 = time.perf_counter()
    report = ingest([settings.sample_corpus], moved, faiss_service.embedder,
                    chunker_from(settings), backend=vector_backend_from(settings))
    move_s = time.perf_counter() - t0
    milvus_service = RagService(settings, faiss_service.embedder)

    golds = load_gold()
    same, differ, ask_ms = 0, [], {"faiss": [], "milvus": []}
    for g in golds:
        a, b = faiss_service.ask(g.question), milvus_service.ask(g.question)
        ask_ms["faiss"].append(a.timings_ms["total"])
        ask_ms["milvus"].append(b.timings_ms["total"])
        if (a.text, a.answerable, a.citations, [h.chunk.id for h in a.hits]) == \
                (b.text, b.answerable, b.citations, [h.chunk.id for h in b.hits]):
            same += 1
        else:
            differ.append(g.id)
    queries = faiss_service.embedder.embed_queries([g.question for g in golds])
    stores = {"faiss": faiss_service.index.dense, "milvus": milvus_service.index.dense}
    return {"gold_questions": len(golds), "same_answer_citations_passages": same,
            "differ": differ, "move_to_milvus_s": round(move_s, 2),
            "move_embedded": report.embedded,
            "ask_total": {k: percentiles(v) for k, v in ask_ms.items()},
            "search": compare(stores, queries, rounds, faiss_service.index.dense.size)}


def debian_chunks() -> int | None:
    """Chunks the real debian-zh corpus makes (loader + default chunker, nothing embedded)."""
    if not DEBIAN.is_dir():
        return None
    from index.chunking import ChunkerParams, chunk_document
    from index.loaders import load_paths

    docs, _ = load_paths([DEBIAN])
    return sum(len(chunk_document(d, ChunkerParams())) for d in docs)


def synthetic(n: int, uri: str, rounds: int, work: Path) -> dict:
    from index.vectors import VectorBackend

    rng = np.random.default_rng(n)
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((100, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    stores, build_s = {}, {}
    for kind in ("faiss", "milvus"):
        t0 = time.perf_counter()
        stores[kind] = VectorBackend(kind, uri=uri, prefix="bench").build(vectors, 384,
                                                                          work / f"s{n}")
        build_s[kind] = round(time.perf_counter() - t0, 2)
    return {**compare(stores, queries, rounds, n), "build_s": build_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="FAISS index of the bundled corpus "
                        "(default: the bundled-corpus index, built if missing)")
    parser.add_argument("--sizes", type=int, nargs="*", help="synthetic row counts")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/out/vector_stores.json"))
    args = parser.parse_args()

    from common import bundled_index

    index = bundled_index(args.index)
    debian = debian_chunks()
    sizes = args.sizes if args.sizes is not None else [n for n in (debian, 20000) if n]
    work = Path(tempfile.mkdtemp(prefix="vector-stores-"))
    uri = str(work / "milvus.db")
    try:
        report = {"load_avg": os.getloadavg(), "cpus": os.cpu_count(),
                  "debian_zh_chunks": debian, "sample": sample(index, uri, args.rounds, work),
                  "synthetic": [synthetic(n, uri, args.rounds, work) for n in sizes]}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["load_avg_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
