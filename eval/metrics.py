"""Pure metric functions. Confidence intervals come from scipy; the rest are simple ratios.

The ranking metrics are written out here rather than taken from ranx: with binary relevance
they are a few lines each, and ranx's numba kernels compiled for about a minute in every fresh
CI venv (checked equal to ranx's figures when the switch was made).
"""
from __future__ import annotations

import math

import numpy as np

CUTOFFS = (1, 3, 5, 10)
DEPTH = 10  # MRR@10 and nDCG@10


def ranking_metrics(qrels: dict[str, dict[str, int]],
                    run: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per-query hit@1/3/5/10, MRR@10 and nDCG@10 (binary relevance, log2 discount).

    `qrels` maps query id to its relevant chunk ids; `run` maps query id to chunk scores,
    ranked by score, highest first. A query the run missed entirely scores 0.
    """
    out = {}
    for qid, rels in qrels.items():
        relevant = {doc for doc, grade in rels.items() if grade > 0}
        ranked = sorted((run.get(qid) or {}).items(), key=lambda item: -item[1])[:DEPTH]
        hits = [doc in relevant for doc, _ in ranked]
        first = hits.index(True) if True in hits else None
        dcg = sum(1 / math.log2(i + 2) for i, hit in enumerate(hits) if hit)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), DEPTH)))
        scores = {f"hit@{k}": float(first is not None and first < k) for k in CUTOFFS}
        scores["mrr@10"] = 1 / (first + 1) if first is not None else 0.0
        scores["ndcg@10"] = dcg / ideal if ideal else 0.0
        out[qid] = scores
    return out


def key_match(answer: str, keys: tuple[str, ...], normalise) -> bool:
    """True when every key string occurs in the answer (both normalised)."""
    text = normalise(answer)
    return all(normalise(k) in text for k in keys)


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def mean(values) -> float:
    values = list(values)
    return float(sum(values) / len(values)) if values else 0.0


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion, by scipy; (0, 1) when there were no trials.

    Wilson rather than the normal approximation because the splits are small: 3 refusals of 5
    gives 0.23..0.88, where the normal interval would reach past 1 on 5 of 5.
    """
    if trials == 0:
        return 0.0, 1.0
    from scipy.stats import binomtest

    ci = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


# --- extractive reading (the MRC validation split) ----------------------------------------
_SENTENCE_END = "。！？!?；;\n"


def char_f1(prediction: str, gold: str) -> float:
    """Character-level F1 (CMRC 2018's measure for Chinese): a bag of characters, no spaces."""
    from collections import Counter

    p = [c for c in prediction if not c.isspace()]
    g = [c for c in gold if not c.isspace()]
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or not common:
        return float(not p and not g)
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def sentence_of(text: str, pos: int) -> tuple[int, int]:
    """The [start, end) of the sentence of `text` that holds character `pos`."""
    lo = max((text.rfind(c, 0, pos) for c in _SENTENCE_END), default=-1) + 1
    ends = [i for i in (text.find(c, pos) for c in _SENTENCE_END) if i >= 0]
    return lo, (min(ends) + 1 if ends else len(text))


def same_sentence(text: str, predicted: tuple[int, int], gold: tuple[int, int]) -> bool:
    """True when the predicted span lies inside the sentence that holds the gold answer."""
    lo, hi = sentence_of(text, gold[0])
    return lo <= predicted[0] and predicted[1] <= hi
