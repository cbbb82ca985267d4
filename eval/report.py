"""report.md and the configuration bar chart (the only importer of matplotlib)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

COLUMNS = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10", "key_match",
           "citation_validity", "citation_support", "refusal_recall", "false_refusal_rate",
           "latency_p50_ms", "latency_p95_ms")
CHART_METRICS = ("hit@1", "hit@5", "mrr@10", "key_match", "refusal_recall")
SIDE_METRICS = ("key_match", "refusal_recall", "false_refusal_rate", "hit@5", "citation_support",
                "latency_p50_ms")
MRC_ROWS = (("answerable", "answerable questions"), ("unanswerable", "unanswerable pairs"),
            ("em", "EM"), ("f1", "character F1"), ("sentence_accuracy", "sentence accuracy"),
            ("refusal", "unanswerable refused"), ("false_refusals", "answerable refused"),
            ("threshold", "no-answer threshold"), ("ms_per_question", "ms per question"))


def _table(rows: dict[str, dict[str, Any]], first: str) -> list[str]:
    cols = ["questions", *COLUMNS]
    lines = [f"| {first} | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in rows.items():
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _cell(row: dict[str, Any], metric: str) -> str:
    """A rate with its count where it has one (0.933 (42/45)), else the value."""
    value = row[metric]
    count = row.get("counts", {}).get(metric)
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return f"{text} ({count[0]}/{count[1]})" if count else text


def _side_by_side(rows: dict[str, dict[str, Any]]) -> list[str]:
    names = list(next(iter(rows.values())))
    lines = [f"Each cell: {' / '.join(f'`{n}`' for n in names)}.", "",
             "| set/split | questions | " + " | ".join(SIDE_METRICS) + " |",
             "|---" * (len(SIDE_METRICS) + 2) + "|"]
    for key, by_config in rows.items():
        n = next(iter(by_config.values()))["questions"]
        cells = [" / ".join(_cell(by_config[c], m) if c in by_config else "-" for c in names)
                 for m in SIDE_METRICS]
        lines.append(f"| {key} | {n} | " + " | ".join(cells) + " |")
    return lines


def _mrc(mrc: dict[str, Any]) -> list[str]:
    limit = f", first {mrc['limit']} examples" if mrc.get("limit") else ""
    lines = ["", "## The reader on the MRC validation split", "",
             (f"`{mrc.get('path', 'eval/mrc/val.jsonl')}`{limit}: public questions of articles "
              "the reader never trained on, each read with its own paragraph (no retrieval)."), "",
             "| measure | value |", "|---|---|"]
    for key, label in MRC_ROWS:
        if key in mrc:
            lines.append(f"| {label} | {mrc[key]} |")
    for key, label in (("sentence_accuracy_ci", "sentence accuracy"),
                       ("refusal_ci", "unanswerable refused")):
        if key in mrc:
            lines.append(f"| {label}, 95% interval | {mrc[key][0]:.3f}-{mrc[key][1]:.3f} |")
    for kind, rate in (mrc.get("refusal_by_kind") or {}).items():
        lines.append(f"| refused, {kind} | {rate} |")
    return lines


def write_markdown(report: dict[str, Any], path: Path, chart: str) -> None:
    configs = report["configs"]
    lines = [f"# Gold evaluation ({report['created']})", "",
             f"{report['questions']} questions; embedder `{report.get('embedder')}`; "
             f"index `{report.get('index')}`.", "", f"![configurations]({chart})", "",
             "## Configurations, all questions", ""]
    lines += _table({n: c["overall"] for n, c in configs.items()}, "config")
    if report.get("side_by_side"):
        lines += ["", "## The reader against the rules, every gold set and split", ""]
        lines += _side_by_side(report["side_by_side"])
    if report.get("mrc"):
        lines += _mrc(report["mrc"])
    for name, cfg in configs.items():
        lines += ["", f"## `{name}`: {cfg['about']}", "", "By split:", ""]
        lines += _table(cfg["splits"], "split")
        lines += ["", "By type:", ""]
        lines += _table(cfg["types"], "type")
    goals = report.get("goals")
    if goals:
        lines += ["", f"## Goals by split, `{goals['config']}`", "", goals["about"], "",
                  "Each rate with its count and 95% Wilson interval. *Short, within noise*: "
                  "the goal lies inside the interval, so the split is too small to tell.", "",
                  "| split | metric | value | count | 95% interval | goal | verdict |",
                  "|---|---|---|---|---|---|---|"]
        for split, rows in goals["splits"].items():
            lines += [f"| {split} | {m} | {r['value']:.3f} | {r['count'][0]}/{r['count'][1]} | "
                      f"{r['ci95'][0]:.3f}-{r['ci95'][1]:.3f} | {r['kind']} {r['goal']} | "
                      f"{r['verdict']} |" for m, r in rows.items()]
    gate = report.get("gate")
    if gate:
        verdict = "PASSED" if gate["passed"] else "FAILED: " + "; ".join(gate["failures"])
        lines += ["", f"## Gate on `{gate['config']}`: {verdict}", "",
                  f"Floors: {gate['floors']}; ceilings: {gate['ceilings']}"]
        if gate.get("mrc"):
            lines += ["", (f"MRC validation split (null: not gated): floors "
                           f"{gate['mrc']['floors']}; ceilings {gate['mrc']['ceilings']}")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(report["configs"])
    x = np.arange(len(CHART_METRICS))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, name in enumerate(names):
        overall = report["configs"][name]["overall"]
        ax.bar(x + i * width, [overall[m] for m in CHART_METRICS], width, label=name)
    ax.set_xticks(x + width * (len(names) - 1) / 2, CHART_METRICS)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title(f"Gold evaluation, {report['questions']} questions")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
