"""report.md and the configuration bar chart (the only importer of matplotlib)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

COLUMNS = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10", "key_match",
           "citation_validity", "citation_support", "refusal_recall", "false_refusal_rate",
           "latency_p50_ms", "latency_p95_ms")
CHART_METRICS = ("hit@1", "hit@5", "mrr@10", "key_match", "refusal_recall")


def _table(rows: dict[str, dict[str, Any]], first: str) -> list[str]:
    cols = ["questions", *COLUMNS]
    lines = [f"| {first} | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in rows.items():
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def write_markdown(report: dict[str, Any], path: Path, chart: str) -> None:
    configs = report["configs"]
    lines = [f"# Gold evaluation ({report['created']})", "",
             f"{report['questions']} questions; embedder `{report.get('embedder')}`; "
             f"index `{report.get('index')}`.", "", f"![configurations]({chart})", "",
             "## Configurations, all questions", ""]
    lines += _table({n: c["overall"] for n, c in configs.items()}, "config")
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
