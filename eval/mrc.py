"""The reader on the MRC validation split: each question read with its own paragraph.

The split (eval/mrc/val.jsonl, written by `train/data.py`) holds public DRCD and CMRC 2018
trial questions of articles the reader never trained on, and unanswerable pairs made from them
(another article's paragraph, a changed question, the answer's sentence cut out). Measures:
EM and character F1 against the best gold answer, sentence accuracy (the predicted span lies in
the sentence holding the gold answer), and refusals on both halves.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from eval.metrics import char_f1, same_sentence, wilson_interval
from rag.reader import Passage, Reader

VAL = Path(__file__).resolve().parent / "mrc" / "val.jsonl"
MAX_FALSE_REFUSALS = 0.03  # calibration: the highest threshold refusing at most this share


def load(path: Path = VAL, limit: int = 0) -> list[dict]:
    """The split's examples, in file order (the first `limit` only, if set)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in (lines[:limit] if limit else lines)]


def read_all(reader: Reader, examples: list[dict], progress=None) -> list[dict]:
    """Each example's best span and margin (its own paragraph only)."""
    out = []
    for i, ex in enumerate(examples):
        spans = reader.read(ex["question"], [Passage("p", 0, ex["context"])], top_n=1)
        best = spans[0] if spans else None
        out.append({"margin": best.margin if best else -1e9,
                    "span": (best.start, best.end) if best else (0, 0)})
        if progress and (i + 1) % 100 == 0:
            progress(f"read {i + 1}/{len(examples)}")
    return out


def calibrate(margins: list[float], answerable: list[bool],
              max_false_refusals: float = MAX_FALSE_REFUSALS) -> float:
    """The highest margin threshold that refuses at most `max_false_refusals` of the answerable
    (refusing more of the unanswerable costs nothing else)."""
    pos = np.sort(np.array([m for m, a in zip(margins, answerable) if a]))
    if not len(pos):
        return 0.0
    k = int(np.floor(max_false_refusals * len(pos)))
    return float(pos[k]) if k < len(pos) else float(pos[-1])


def score(examples: list[dict], readings: list[dict], threshold: float) -> dict:
    """EM, character F1 and sentence accuracy on the answerable; refusal rates on both halves."""
    em, f1, sent, refused_pos, refused_neg, n_pos, n_neg = [], [], [], 0, 0, 0, 0
    for ex, r in zip(examples, readings):
        refused = r["margin"] < threshold
        if ex["start"] < 0:
            n_neg += 1
            refused_neg += refused
            continue
        n_pos += 1
        refused_pos += refused
        pred = "" if refused else ex["context"][r["span"][0]:r["span"][1]]
        golds = ex.get("answers") or [ex["answer"]]
        em.append(float(any(pred.strip() == g.strip() for g in golds)))
        f1.append(max(char_f1(pred, g) for g in golds))
        sent.append(float(not refused and same_sentence(
            ex["context"], r["span"], (ex["start"], ex["start"] + len(ex["answer"])))))
    return {
        "answerable": n_pos, "unanswerable": n_neg, "threshold": round(threshold, 4),
        "em": round(100 * float(np.mean(em)), 2) if em else 0.0,
        "f1": round(100 * float(np.mean(f1)), 2) if f1 else 0.0,
        "sentence_accuracy": round(float(np.mean(sent)), 4) if sent else 0.0,
        "sentence_accuracy_ci": [round(x, 4) for x in wilson_interval(int(sum(sent)), n_pos)],
        "refusal": round(refused_neg / n_neg, 4) if n_neg else 0.0,
        "refusal_ci": [round(x, 4) for x in wilson_interval(refused_neg, n_neg)],
        "false_refusals": round(refused_pos / n_pos, 4) if n_pos else 0.0,
    }


def by_kind(examples: list[dict], readings: list[dict], threshold: float) -> dict[str, float]:
    """Refusal rate of each kind of unanswerable pair."""
    kinds: dict[str, list[bool]] = {}
    for ex, r in zip(examples, readings):
        if ex["start"] < 0:
            kinds.setdefault(ex["kind"], []).append(r["margin"] < threshold)
    return {k: round(float(np.mean(v)), 4) for k, v in sorted(kinds.items())}


def evaluate(reader: Reader, path: Path = VAL, limit: int = 0, progress=None) -> dict:
    """The reader's figures on the split at its own threshold, with ms per question."""
    examples = load(path, limit)
    t0 = time.perf_counter()
    readings = read_all(reader, examples, progress)
    ms = (time.perf_counter() - t0) * 1000 / max(1, len(examples))
    report = score(examples, readings, reader.threshold)
    report["refusal_by_kind"] = by_kind(examples, readings, reader.threshold)
    report["ms_per_question"] = round(ms, 1)
    return report
