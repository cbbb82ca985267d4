"""Run gold questions through configurations side by side, report, and check the gate.

Every configuration is a set of `Settings` overrides on one index, so their figures are measured
in the same run on the same data. The gated configuration is the one the service ships with.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from eval.gold_set import GoldQuestion, evidence_spans
from eval.metrics import (key_match, mean, overlap, percentile, ranking_metrics,
                          wilson_interval)
from rag.rules.answer import ANSWER_CHECKS

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.json"
RANK_DEPTH = 10  # passages per question for hit@10 / MRR@10 / nDCG@10


@dataclass(frozen=True)
class EvalConfig:
    """A named set of Settings overrides and what it shows."""

    name: str
    overrides: dict[str, Any]
    about: str


CONFIGS: dict[str, EvalConfig] = {c.name: c for c in (
    # The retrieval baselines list passages in their retriever's order (no cited-first
    # reranking), so that fusion is compared with each retriever as it ranks.
    EvalConfig("dense", {"retrieval": "dense", "cited_first": False}, "e5-small vectors only"),
    EvalConfig("bm25", {"retrieval": "bm25", "cited_first": False}, "jieba BM25 only"),
    EvalConfig("hybrid-equal", {"retrieval": "hybrid", "fusion": "rrf", "rrf_k": 60,
                                "dense_weight": 1.0, "lexical_weight": 1.0,
                                "cited_first": False},
               "textbook RRF: k=60, equal weights"),
    EvalConfig("hybrid-rrf", {"retrieval": "hybrid", "fusion": "rrf", "rrf_k": 5,
                              "dense_weight": 1.0, "lexical_weight": 3.0, "cited_first": False},
               "weighted RRF: k=5, BM25 weight 3 (shipped until 2026-11-23)"),
    EvalConfig("no-named-boost", {"named_boost": 0.0},
               "shipped, without the boost for chunks of the document or year a question names"),
    EvalConfig("no-title-boost", {"title_boost": 0.0},
               "shipped, without the boost for chunks of a document a question names by a title "
               "word (指导意见, the work report)"),
    EvalConfig("ungrouped-translations", {"translation_groups": False},
               "shipped, with each translation of an English word a BM25 term of its own"),
    EvalConfig("no-glossary", {"policy_glossary": False},
               "shipped, English questions translated word by word by CC-CEDICT alone"),
    EvalConfig("no-name-bonus", {"name_bonus": 0.0},
               "shipped, without preferring a sentence that quotes a new term when a name is asked"),
    EvalConfig("whole-compound", {"split_compound": False},
               "shipped, a question asking two things (…多少？…哪个？) answered as one"),
    EvalConfig("whole-words", {"partial_credit": 0.0},
               "shipped, answerability counting only question words found whole"),
    EvalConfig("fusion-order", {"cited_first": False},
               "shipped, passages in fusion order rather than the cited passages first"),
    EvalConfig("no-answer-checks", {"answer_checks": []},
               "shipped retrieval; answers not checked for unit, focus, date, year or place"),
    *(EvalConfig(f"without-{check}", {"answer_checks": [c for c in ANSWER_CHECKS if c != check]},
                 f"shipped, less the '{check}' answer check") for check in ANSWER_CHECKS),
    # The trained reader (rag/reader.py), side by side with the rules on every gold set and
    # split, and the one rule it keeps (the structural check) ablated with it.
    EvalConfig("reader", {"reader": "on"}, "the trained extractive reader (RAG_READER=on)"),
    EvalConfig("reader-no-structural-check", {"reader": "on", "structural_check": False},
               "reader, without refusing when the cited document never writes a year, "
               "document number, ordinal or Latin name the question names"),
    EvalConfig("reader-no-year-check", {"reader": "on", "year_check": False},
               "reader, without refusing an answer whose sentence dates its fact with other "
               "years only when the question names one"),
    EvalConfig("reader-whole-passages", {"reader": "on", "reader_window_chars": 0},
               "reader, reading whole passages instead of the sentences around the best match"),
    EvalConfig("shipped", {}, "the service's default settings: the answer rules (gated)"),
    EvalConfig("reader-no-header-fields", {"reader": "on", "header_fields": False},
               "reader, without answering header-field questions (proposer, 发文字号, 成文日期, "
               "signing date) from the field's span"),
    EvalConfig("shipped-no-header-fields", {"header_fields": False},
               "the shipped rules without answering header-field questions from the field's span"),
)}
GATED = "shipped"
# Run only when named (`--config`): more full passes of the reader than CI's 15 minutes can
# afford beside the others.
ON_REQUEST = frozenset({"reader-whole-passages", "reader-no-structural-check",
                        "reader-no-year-check", "reader-no-header-fields",
                        "shipped-no-header-fields"})
# Always side by side in the report, on every gold set and split: the reader against the rules.
SIDE_BY_SIDE = ("reader", "shipped")


@dataclass
class QuestionResult:
    """One question under one configuration: the ask --json record plus its scores."""

    gold: GoldQuestion
    record: dict[str, Any]
    relevant: set[str]
    scores: dict[str, float] = field(default_factory=dict)


def relevant_chunks(service, gold: GoldQuestion) -> set[str]:
    """Chunks holding the evidence: those containing a quote whole, else those covering half."""
    out: set[str] = set()
    for ev in gold.evidence:
        doc = service.index.documents.get(ev.doc_id)
        if doc is None:
            continue
        for span in evidence_spans(doc.text, ev.quote):
            chunks = [c for c in service.index.chunks if c.doc_id == ev.doc_id]
            whole = {c.id for c in chunks if c.start <= span[0] and span[1] <= c.end}
            half = {c.id for c in chunks
                    if overlap((c.start, c.end), span) * 2 >= span[1] - span[0]}
            out |= whole or half
    return out


def _citation_checks(service, record: dict, gold: GoldQuestion) -> tuple[list[bool], bool]:
    """(validity of each citation, whether any cited span covers half an evidence quote)."""
    valid, supported = [], False
    for cit in record["citations"]:
        doc = service.index.documents.get(cit["doc_id"])
        valid.append(doc is not None and doc.text[cit["start"]:cit["end"]] == cit["quote"])
        if doc is None:
            continue
        for ev in gold.evidence:
            if ev.doc_id != cit["doc_id"]:
                continue
            for span in evidence_spans(doc.text, ev.quote):
                if overlap((cit["start"], cit["end"]), span) * 2 >= span[1] - span[0]:
                    supported = True
    return valid, supported


def run_config(service, golds: list[GoldQuestion], fusion,
               on_question: Callable[[], None] | None = None) -> list[QuestionResult]:
    """Ask every gold question of one configuration."""
    from index.lexical import normalise

    results = []
    for gold in golds:
        answer = service.ask(gold.question, k=RANK_DEPTH, fusion=fusion)
        record = answer.to_dict()
        result = QuestionResult(gold, record, relevant_chunks(service, gold))
        valid, supported = _citation_checks(service, record, gold)
        result.scores.update(
            answered=float(record["answerable"]),
            key_match=float(record["answerable"] and key_match(record["answer"], gold.answers,
                                                               normalise)),
            citations=float(len(valid)), citations_valid=float(sum(valid)),
            supported=float(supported), latency_ms=record["timings_ms"]["total"])
        results.append(result)
        if on_question:
            on_question()
    qrels = {r.gold.id: {c: 1 for c in r.relevant} for r in results
             if r.gold.answerable and r.relevant}
    run = {r.gold.id: {p["chunk_id"]: float(len(r.record["passages"]) - i)
                       for i, p in enumerate(r.record["passages"])} for r in results}
    per_query = ranking_metrics(qrels, run)
    for r in results:
        r.scores.update(per_query.get(r.gold.id, {}))
    return results


def summarise(results: list[QuestionResult]) -> dict[str, float]:
    """Aggregate figures for a group of questions."""
    answerable = [r for r in results if r.gold.answerable]
    ranked = [r for r in answerable if "hit@1" in r.scores]
    unanswerable = [r for r in results if not r.gold.answerable]
    answered = [r for r in answerable if r.scores["answered"]]
    n_cit = sum(r.scores["citations"] for r in results)
    latencies = [r.scores["latency_ms"] for r in results]
    # The rates the goals read, as counts: how far each could be from the rate on all such
    # questions depends on them (a split of 5 unanswerable questions cannot show 0.9 without
    # refusing all five). The rates themselves are these counts' ratios.
    counts = {
        "hit@1": (sum(r.scores["hit@1"] for r in ranked), len(ranked)),
        "hit@5": (sum(r.scores["hit@5"] for r in ranked), len(ranked)),
        "key_match": (sum(r.scores["key_match"] for r in answerable), len(answerable)),
        "refusal_recall": (sum(1 - r.scores["answered"] for r in unanswerable), len(unanswerable)),
        "false_refusal_rate": (sum(1 - r.scores["answered"] for r in answerable), len(answerable)),
    }

    def rate(metric: str) -> float:
        k, n = counts[metric]
        return float(k / n) if n else 0.0

    out = {"questions": len(results), "answerable": len(answerable)}
    for metric in ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10"):
        out[metric] = rate(metric) if metric in counts else mean(r.scores[metric] for r in ranked)
    out["key_match"] = rate("key_match")
    out["citation_validity"] = (sum(r.scores["citations_valid"] for r in results) / n_cit
                                if n_cit else 1.0)
    out["citation_support"] = mean(r.scores["supported"] for r in answered)
    out["refusal_recall"] = rate("refusal_recall")
    out["false_refusal_rate"] = rate("false_refusal_rate")
    out["latency_p50_ms"] = percentile(latencies, 50)
    out["latency_p95_ms"] = percentile(latencies, 95)
    out = {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}
    out["counts"] = {m: [int(k), n] for m, (k, n) in counts.items()}
    out["ci95"] = {m: [round(x, 4) for x in wilson_interval(int(k), n)]
                   for m, (k, n) in counts.items()}
    return out


def goal_verdicts(splits: dict[str, dict[str, Any]], goals: dict[str, Any]) -> dict[str, Any]:
    """Each split's standing against the goals: "met"; "short, within noise" when the goal lies
    inside the 95% interval (the split is too small to tell); or "short"."""
    out: dict[str, Any] = {}
    for split, summary in splits.items():
        rows = {}
        for metric, goal, floor in _limits(goals):
            value, (low, high) = summary[metric], summary["ci95"][metric]
            if _within(value, goal, floor):
                verdict = "met"
            else:
                verdict = "short, within noise" if low <= goal <= high else "short"
            rows[metric] = {"value": value, "count": summary["counts"][metric],
                            "ci95": [low, high], "goal": goal,
                            "kind": "at least" if floor else "at most", "verdict": verdict}
        out[split] = rows
    return out


def _limits(spec: dict[str, Any]):
    """(metric, limit, is_floor) for each floor, then each ceiling, of a thresholds spec; a limit
    of null is not gated (a placeholder until a value is earned)."""
    for kind, floor in (("floors", True), ("ceilings", False)):
        for metric, limit in (spec.get(kind) or {}).items():
            if limit is not None:
                yield metric, limit, floor


def _within(value: float, limit: float, floor: bool) -> bool:
    return value >= limit if floor else value <= limit


def breakdown(results: list[QuestionResult]) -> dict[str, Any]:
    """Overall, per split and per question type."""
    groups = lambda key: sorted({key(r) for r in results})  # noqa: E731
    return {
        "overall": summarise(results),
        "splits": {s: summarise([r for r in results if r.gold.split == s])
                   for s in groups(lambda r: r.gold.split)},
        "sources": {s: summarise([r for r in results if r.gold.source == s])
                    for s in groups(lambda r: r.gold.source)},
        # Every gold set's own splits ("cq-sti/dev"), where the configurations are set side by side.
        "source_splits": {f"{s}/{p}": summarise([r for r in results
                                                 if (r.gold.source, r.gold.split) == (s, p)])
                          for s, p in groups(lambda r: (r.gold.source, r.gold.split))},
        "types": {t: summarise([r for r in results if r.gold.type == t])
                  for t in groups(lambda r: r.gold.type)},
    }


def check_gate(summary: dict[str, float], thresholds: dict[str, Any]) -> list[str]:
    """Failures of the gated configuration against floors and ceilings; empty when it passes."""
    return [f"{metric} {summary[metric]:.4f} {'<' if floor else '>'} "
            f"{'floor' if floor else 'ceiling'} {limit}"
            for metric, limit, floor in _limits(thresholds)
            if not _within(summary[metric], limit, floor)]


def side_by_side(report: dict[str, Any], names: tuple[str, ...] = SIDE_BY_SIDE
                 ) -> dict[str, dict[str, Any]]:
    """{gold set/split: {config: summary}} for the configurations of `names` that ran, when at
    least two of them did (the reader against the rules on every set and split)."""
    ran = [n for n in names if n in report["configs"]]
    if len(ran) < 2:
        return {}
    keys = sorted({k for n in ran for k in report["configs"][n]["source_splits"]})
    return {k: {n: report["configs"][n]["source_splits"][k] for n in ran
                if k in report["configs"][n]["source_splits"]} for k in keys}


def run_mrc(reader, path: Path | None = None, limit: int = 0,
            progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The reader alone on the MRC validation split (eval/mrc.py), each question with its own
    paragraph; its figures with where they came from."""
    from eval import mrc

    path = path or mrc.VAL
    out = mrc.evaluate(reader, path, limit, progress)
    return {"path": str(path), "limit": limit, **out}


def evaluate(service_for: Callable[[EvalConfig], Any], golds: list[GoldQuestion],
             configs: list[EvalConfig], out_dir: Path, thresholds: dict[str, Any] | None,
             on_question: Callable[[], None] | None = None, gate: bool = True,
             mrc: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run, write results.jsonl, report.json, report.md and the chart; return the report.

    With `thresholds`, the gated configuration's splits are read against its goals; with
    `gate` too, its figures are checked against its floors and ceilings, and `mrc` (the
    reader's figures on the MRC validation split, from `run_mrc`) against `mrc_floors`."""
    from eval.report import write_chart, write_markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "configs": {},
                              "questions": len(golds)}
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as fh:
        for config in configs:
            service, fusion = service_for(config)
            report.setdefault("embedder", service.embedder.id)
            report.setdefault("index", str(service.index_dir))
            t0 = time.perf_counter()
            results = run_config(service, golds, fusion, on_question)
            report["configs"][config.name] = {"about": config.about,
                                              "overrides": config.overrides,
                                              "seconds": round(time.perf_counter() - t0, 2),
                                              **breakdown(results)}
            for r in results:
                fh.write(json.dumps({"id": r.gold.id, "config": config.name, "type": r.gold.type,
                                     "split": r.gold.split, **r.record,
                                     "scores": r.scores}, ensure_ascii=False) + "\n")
    report["side_by_side"] = side_by_side(report)
    if mrc is not None:
        report["mrc"] = mrc
    gated = report["configs"].get((thresholds or {}).get("config"))
    mrc_spec = (thresholds or {}).get("mrc_floors")
    if gate and (gated or (mrc is not None and mrc_spec)):
        failures = check_gate(gated["overall"], thresholds) if gated else []
        if mrc is not None and mrc_spec:
            failures += [f"mrc {f}" for f in check_gate(mrc, mrc_spec)]
        report["gate"] = {"config": thresholds["config"], "floors": thresholds.get("floors", {}),
                          "ceilings": thresholds.get("ceilings", {}), "failures": failures,
                          "passed": not failures}
        if mrc is not None and mrc_spec:
            report["gate"]["mrc"] = {"floors": mrc_spec.get("floors", {}),
                                     "ceilings": mrc_spec.get("ceilings", {})}
    if gated and thresholds.get("goals"):
        report["goals"] = {"config": thresholds["config"],
                           "about": thresholds["goals"].get("about", ""),
                           "splits": goal_verdicts(gated["splits"], thresholds["goals"])}
    (out_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1),
                                         encoding="utf-8")
    write_chart(report, out_dir / "configs.png")
    write_markdown(report, out_dir / "report.md", chart="configs.png")
    return report
