"""Metrics, the gate, and a whole `rag eval` run on a few gold questions over the sample index."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval.gold_set import load_gold
from eval.harness import CONFIGS, THRESHOLDS, check_gate, evaluate, goal_verdicts
from eval.metrics import key_match, ranking_metrics, wilson_interval
from index.lexical import normalise

RAG = str(Path(sys.executable).with_name("rag"))


def test_ranking_metrics_come_out_per_query():
    qrels = {"a": {"c1": 1}, "b": {"c9": 1}, "c": {"c5": 1}}
    run = {"a": {"c1": 3.0, "c2": 2.0, "c3": 1.0},  # relevant first
           "b": {"c7": 3.0, "c8": 2.0, "c9": 1.0},  # relevant third
           "c": {}}  # nothing retrieved
    m = ranking_metrics(qrels, run)
    assert m["a"]["hit@1"] == 1 and m["a"]["mrr@10"] == 1
    assert m["b"]["hit@1"] == 0 and m["b"]["hit@3"] == 1
    assert m["b"]["mrr@10"] == pytest.approx(1 / 3)
    assert m["c"]["hit@10"] == 0 and m["c"]["ndcg@10"] == 0


def test_key_match_needs_every_key_after_normalising():
    assert key_match("全市累计培育科技型企业26371家、高新技术企业4222家。", ("4222", "26371"), normalise)
    assert key_match("统筹规划，特色发展", ("统筹规划,特色发展",), normalise)  # full-width comma
    assert not key_match("高新技术企业4222家", ("4222", "8000"), normalise)


def test_the_gate_names_each_failure():
    summary = {"hit@5": 0.9, "key_match": 0.9, "false_refusal_rate": 0.2}
    thresholds = {"floors": {"hit@5": 0.95, "key_match": 0.85},
                  "ceilings": {"false_refusal_rate": 0.05}}
    failures = check_gate(summary, thresholds)
    assert failures == ["hit@5 0.9000 < floor 0.95", "false_refusal_rate 0.2000 > ceiling 0.05"]
    assert check_gate({**summary, "hit@5": 0.95, "false_refusal_rate": 0.05}, thresholds) == []


def test_a_null_limit_is_not_gated():
    summary = {"sentence_accuracy": 0.5, "f1": 40.0, "refusal": 0.2, "false_refusals": 0.5}
    spec = {"floors": {"sentence_accuracy": None, "f1": 50.0, "refusal": None},
            "ceilings": {"false_refusals": None}}
    assert check_gate(summary, spec) == ["f1 40.0000 < floor 50.0"]
    assert check_gate(summary, {"floors": {"f1": None}, "ceilings": None}) == []


def test_the_reader_and_the_rules_are_configurations_and_the_mrc_split_has_floors():
    from rag.config import Settings

    assert CONFIGS["shipped"].overrides == {} and CONFIGS["reader"].overrides == {"reader": "on"}
    assert all(c.overrides.get("reader") == "on" for n, c in CONFIGS.items()
               if n.startswith("reader"))
    for cfg in CONFIGS.values():  # every override is a setting the service has
        assert set(cfg.overrides) <= set(Settings.model_fields)
    spec = json.loads(THRESHOLDS.read_text(encoding="utf-8"))["mrc_floors"]
    assert set(spec["floors"]) == {"sentence_accuracy", "f1", "refusal"}
    assert set(spec["ceilings"]) == {"false_refusals"}


def test_wilson_intervals_of_small_splits():
    assert wilson_interval(3, 5) == pytest.approx((0.2307, 0.8824), abs=1e-4)
    low, high = wilson_interval(5, 5)  # all five right still leaves room below 0.9
    assert low == pytest.approx(0.5655, abs=1e-4) and high == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)  # no questions: nothing known


def test_goal_verdicts_tell_a_miss_from_noise():
    splits = {"test": {"refusal_recall": 0.6, "hit@5": 0.956, "false_refusal_rate": 0.2,
                       "key_match": 0.95,
                       "counts": {"refusal_recall": [3, 5], "hit@5": [43, 45],
                                  "false_refusal_rate": [9, 45], "key_match": [43, 45]},
                       "ci95": {"refusal_recall": [0.23, 0.88], "hit@5": [0.85, 0.99],
                                "false_refusal_rate": [0.11, 0.34], "key_match": [0.85, 0.99]}}}
    goals = {"floors": {"refusal_recall": 0.9, "hit@5": 0.98, "key_match": 0.92},
             "ceilings": {"false_refusal_rate": 0.03}}
    rows = goal_verdicts(splits, goals)["test"]
    assert rows["key_match"]["verdict"] == "met"
    assert rows["hit@5"]["verdict"] == "short, within noise"  # 0.98 lies in 0.85..0.99
    assert rows["refusal_recall"]["verdict"] == "short"  # 0.9 lies above 0.88
    assert rows["false_refusal_rate"]["verdict"] == "short"  # a ceiling: 0.03 lies below 0.11
    assert rows["refusal_recall"]["count"] == [3, 5]
    assert rows["false_refusal_rate"]["kind"] == "at most"


@pytest.fixture(scope="module")
def small_gold():
    wanted = {"cq-001", "cq-098", "cq-112", "cq-156"}  # numeric, English, two years, refusal
    golds = [g for g in load_gold() if g.id in wanted]
    assert len(golds) == len(wanted)
    return golds


def test_evaluate_writes_results_report_and_chart_for_each_config(service, small_gold, tmp_path):
    from rag.service import RagService

    def service_for(cfg):
        s = RagService(service.settings.model_copy(update=cfg.overrides), service.embedder,
                       service.index_dir)
        return s, s.fusion

    configs = [CONFIGS["bm25"], CONFIGS["reader"], CONFIGS["shipped"]]
    mrc = {"path": "eval/mrc/val.jsonl", "limit": 10, "answerable": 7, "unanswerable": 3,
           "threshold": 0.5, "em": 40.0, "f1": 80.0, "sentence_accuracy": 0.9,
           "sentence_accuracy_ci": [0.6, 0.98], "refusal": 1.0, "refusal_ci": [0.44, 1.0],
           "false_refusals": 0.0, "refusal_by_kind": {"negative": 1.0}, "ms_per_question": 50.0}
    report = evaluate(service_for, small_gold, configs, tmp_path,
                      {"config": "shipped", "floors": {"citation_validity": 1.0},
                       "mrc_floors": {"floors": {"f1": 70.0, "refusal": None}}}, mrc=mrc)
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(records) == len(small_gold) * len(configs)
    assert {r["config"] for r in records} == {"bm25", "reader", "shipped"}
    # The reader against the rules on every gold set and split, in the report and in report.md.
    sets = {f"{g.source}/{g.split}" for g in small_gold}
    assert set(report["side_by_side"]) == sets
    assert all(set(row) == {"reader", "shipped"} for row in report["side_by_side"].values())
    assert report["mrc"]["f1"] == 80.0 and report["gate"]["mrc"]["floors"]["f1"] == 70.0
    for r in records:  # the ask --json contract plus the gold id and scores
        assert {"id", "question", "answer", "answerable", "citations", "passages",
                "timings_ms", "scores"} <= set(r)
    shipped = report["configs"]["shipped"]
    assert shipped["overall"]["questions"] == 4 and shipped["overall"]["citation_validity"] == 1.0
    assert set(shipped["types"]) == {"numeric", "english", "multi_doc", "unanswerable"}
    assert report["gate"]["passed"]
    assert (tmp_path / "configs.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "configs.png" in md and "`bm25`" in md
    assert "## The reader against the rules, every gold set and split" in md
    assert "| character F1 | 80.0 |" in md
    dev = shipped["splits"]["dev"]  # every rate also as a count, with its interval
    assert dev["counts"]["refusal_recall"][1] == sum(
        not g.answerable for g in small_gold if g.split == "dev")
    assert dev["ci95"]["key_match"][0] <= dev["key_match"] <= dev["ci95"]["key_match"][1]


def test_goals_are_read_by_split_with_or_without_the_gate(service, small_gold, tmp_path):
    def service_for(cfg):
        return service, service.fusion

    thresholds = {"config": "shipped", "floors": {"key_match": 1.01},
                  "goals": {"about": "the goal", "floors": {"key_match": 0.5}}}
    report = evaluate(service_for, small_gold, [CONFIGS["shipped"]], tmp_path, thresholds,
                      gate=False)
    assert "gate" not in report  # --no-gate: the floor of 1.01 is not checked
    splits = report["goals"]["splits"]
    assert set(splits) == {g.split for g in small_gold}
    assert all(set(rows) == {"key_match"} for rows in splits.values())
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Goals by split, `shipped`" in md and "| key_match |" in md


def test_a_failed_gate_is_reported(service, small_gold, tmp_path):
    def service_for(cfg):
        return service, service.fusion

    report = evaluate(service_for, small_gold[:1], [CONFIGS["shipped"]], tmp_path,
                      {"config": "shipped", "floors": {"key_match": 1.01}})
    assert not report["gate"]["passed"]
    [failure] = report["gate"]["failures"]  # no key match reaches 1.01, right or wrong
    assert failure.startswith("key_match ") and failure.endswith(" < floor 1.01")
    assert "side_by_side" in report and not report["side_by_side"]  # one config: no pairs
    mrc = {"sentence_accuracy": 0.8, "f1": 60.0, "refusal": 0.95, "false_refusals": 0.1}
    report = evaluate(service_for, small_gold[:1], [CONFIGS["shipped"]], tmp_path,
                      {"config": "shipped", "mrc_floors": {
                          "floors": {"sentence_accuracy": 0.93, "f1": None, "refusal": 0.9},
                          "ceilings": {"false_refusals": 0.05}}}, mrc=mrc)
    assert report["gate"]["failures"] == ["mrc sentence_accuracy 0.8000 < floor 0.93",
                                          "mrc false_refusals 0.1000 > ceiling 0.05"]


def test_rag_eval_cli_runs_one_config_and_rejects_bad_arguments(sample_index, tmp_path):
    gold = tmp_path / "one.jsonl"
    line = next(l for l in (Path(__file__).resolve().parents[2] / "eval/gold/cq-sti.jsonl")
                .read_text(encoding="utf-8").splitlines() if '"cq-001"' in l)
    gold.write_text(line + "\n", encoding="utf-8")
    out = tmp_path / "out"
    ok = subprocess.run([RAG, "eval", "--gold", str(gold), "--index", str(sample_index),
                         "--config", "shipped", "--out", str(out), "--no-gate",
                         "--mrc-limit", "5"],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "shipped" in ok.stdout and (out / "report.json").exists()
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    split = next(iter(report["goals"]["splits"]))  # the one question's split
    assert f"goals on {split}: hit@1 " in ok.stdout  # eval/thresholds.json's goals, no gate
    if "mrc" in report:  # the reader is on and its split is there: read 5 examples of it
        assert report["mrc"]["answerable"] + report["mrc"]["unanswerable"] == 5
        assert "MRC validation (" in ok.stdout
    stray = tmp_path / "stray.jsonl"
    stray.write_text(line.replace("cq-sti/004_", "elsewhere/004_") + "\n", encoding="utf-8")
    for args, words in ((["--config", "nope"], "unknown configuration"),
                        (["--gold", str(stray)], "not in"),
                        (["--gold", str(tmp_path / "missing.jsonl")], "cannot read gold file")):
        bad = subprocess.run([RAG, "eval", "--index", str(sample_index), "--out", str(out),
                              *args], capture_output=True, text=True, timeout=300)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and words in bad.stderr
