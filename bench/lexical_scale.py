"""BM25 at scale: Chinese questions, and English questions scored by translation groups (one
bm25s call per translation, the shipped way) against all their translations in one call (the
`ungrouped-translations` eval configuration), at 10k, 100k and 1M chunks.

The chunks are synthetic but drawn from the bundled index's own BM25 vocabulary with its own
document frequencies (each token appears in a chunk with the probability it does in the real
corpus), and each chunk holds about as many distinct tokens as a real 300-character chunk. The
questions are the real gold questions, analysed as the service does (English ones expanded by
rag/crosslingual.py), so the group sizes are the real ones. Both English scorers run side by
side on the same index, question by question.

    .venv/bin/python bench/lexical_scale.py [--sizes 10000,100000,1000000] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import bundled_index, percentile  # noqa: E402


def synthetic_bm25(vocab: dict[str, int], df: np.ndarray, real_chunks: int, n: int, seed: int = 0):
    """A BM25Index of n chunks whose tokens occur with the real corpus's document frequencies."""
    from index.lexical import BM25Index, _bm25s

    rng = np.random.default_rng(seed)
    p = df / real_chunks  # chance a chunk holds the token
    per_chunk = rng.poisson(p.sum(), n).clip(1)
    weights = p / p.sum()
    token_ids = rng.choice(len(p), size=int(per_chunk.sum()), p=weights)
    bounds = np.concatenate([[0], np.cumsum(per_chunk)])
    ids = [token_ids[bounds[i]:bounds[i + 1]].tolist() for i in range(n)]
    retriever = _bm25s().BM25()
    retriever.index((ids, vocab), show_progress=False)
    return BM25Index(retriever)


def _ms(fn, *args) -> float:
    """Milliseconds one call takes."""
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1000


def run(sizes: list[int], log=print) -> dict:
    from eval.gold_set import load_gold
    from index.store import load_index
    from rag.crosslingual import expand_english
    from rag.query import analyse
    from rag.retrieve import _multi_char

    real = load_index(bundled_index(None)).bm25
    vocab = real.vocabulary
    indptr = real._retriever.scores["indptr"]
    df = np.diff(indptr).astype(np.float64)
    golds = load_gold(sorted((ROOT / "eval" / "gold").glob("*.jsonl")))
    chinese, english = [], []
    for g in golds:
        q = analyse(g.question)
        if q.english:
            english.append([_multi_char(grp) for grp in expand_english(g.question, vocab)])
        else:
            chinese.append(list(q.terms))
    rows = []
    for n in sizes:
        t0 = time.perf_counter()
        bm25 = synthetic_bm25(vocab, df, real.size, n)
        build_s = time.perf_counter() - t0
        log(f"{n} chunks: built in {build_s:.1f} s")
        plain = [_ms(bm25.scores, terms) for terms in chinese]
        grouped, ungrouped = [], []
        for groups in english:
            grouped.append(_ms(bm25.group_scores, groups))
            ungrouped.append(_ms(bm25.scores, [t for g in groups for t in g]))
        row = {"chunks": n, "build_s": round(build_s, 1),
               "chinese_questions": len(chinese), "english_questions": len(english),
               "english_groups_mean": round(statistics.mean(map(len, english)), 1),
               "english_tokens_mean": round(statistics.mean(
                   sum(len(g) for g in groups) for groups in english), 1),
               "chinese_scores_ms": {"p50": percentile(plain, .5), "p95": percentile(plain, .95)},
               "english_grouped_ms": {"p50": percentile(grouped, .5), "p95": percentile(grouped, .95)},
               "english_ungrouped_ms": {"p50": percentile(ungrouped, .5), "p95": percentile(ungrouped, .95)},
               "grouped_over_ungrouped_p50": round(percentile(grouped, .5) / percentile(ungrouped, .5), 2)}
        log(json.dumps(row))
        rows.append(row)
        del bm25
    return {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "load_average": list(os.getloadavg()), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "lexical_scale.json")
    args = parser.parse_args()
    result = run([int(s) for s in args.sizes.split(",")])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
