"""Gold records: loading, validation, and where their evidence lies in the index."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent / "gold"
TYPES = ("numeric", "named", "list", "paraphrase", "english", "multi_doc", "doc_number",
         "unanswerable")


class GoldError(ValueError):
    """A gold file that is malformed; the message names file and line."""


@dataclass(frozen=True)
class Evidence:
    doc_id: str
    quote: str


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    type: str
    answerable: bool
    answers: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    split: str
    source: str  # the gold file's stem, e.g. "cq-sti"


def load_gold(paths: list[Path] | None = None) -> list[GoldQuestion]:
    """Every record of the given gold files (default: all of eval/gold/*.jsonl)."""
    paths = paths or sorted(GOLD_DIR.glob("*.jsonl"))
    out, seen = [], set()
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise GoldError(f"cannot read gold file {path}: {exc.strerror or exc}") from None
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                q = GoldQuestion(
                    id=rec["id"], question=rec["question"], type=rec["type"],
                    answerable=bool(rec["answerable"]), answers=tuple(rec["answers"]),
                    evidence=tuple(Evidence(e["doc_id"], e["quote"]) for e in rec["evidence"]),
                    split=rec.get("split", "dev"), source=path.stem)
            except (ValueError, KeyError, TypeError) as exc:
                raise GoldError(f"{path}:{lineno}: bad gold record ({exc})") from None
            if q.id in seen:
                raise GoldError(f"{path}:{lineno}: duplicate id {q.id}")
            if q.answerable and not q.evidence:
                raise GoldError(f"{path}:{lineno}: answerable question without evidence")
            seen.add(q.id)
            out.append(q)
    return out


def evidence_spans(text: str, quote: str) -> list[tuple[int, int]]:
    """Every occurrence of a quote in a document's text."""
    spans, pos = [], text.find(quote)
    while pos >= 0:
        spans.append((pos, pos + len(quote)))
        pos = text.find(quote, pos + 1)
    return spans
