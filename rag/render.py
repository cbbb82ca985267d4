"""Plain-text rendering of answers, shared by the terminal (`rag ask`, `rag chat`) and the chat API."""
from __future__ import annotations

import re

from rag.types import Answer, Hit


_PIECE = re.compile(r".+?(?:\[\d+\]|$)", re.S)


def answer_pieces(text: str) -> list[str]:
    """An answer cut after each `[n]` marker: the pieces a stream sends, never a marker split."""
    return _PIECE.findall(text)


def page_label(page: int | None) -> str:
    """` 第N页` for a span in a paged document (PDF), else nothing."""
    return f" 第{page}页" if page else ""


def hit_line(hit: Hit) -> str:
    """One closest passage: rank, title, doc_id, span, score, and the first 80 characters."""
    c = hit.chunk
    snippet = " ".join(c.text.split())
    snippet = snippet[:80] + ("…" if len(snippet) > 80 else "")
    return (f"  {hit.rank}. {c.meta.get('title', '')} — {c.doc_id}{page_label(c.meta.get('page'))} "
            f"[{c.start}–{c.end}] score {hit.score:.4f}\n     {snippet}")


def sources_text(answer: Answer) -> str:
    """The source list under an answer: cited spans, or the closest passages after a refusal."""
    if answer.citations:
        lines = ["Sources:"] + [f"  [{c.n}] {c.title} — {c.doc_id}{page_label(c.page)} "
                                f"[{c.start}–{c.end}]" for c in answer.citations]
    else:
        lines = ["Closest passages:"] + [hit_line(h) for h in answer.hits]
    return "\n".join(lines)


def answer_text(answer: Answer) -> str:
    """The answer with its `[n]` markers, a blank line, then the source list."""
    return f"{answer.text}\n\n{sources_text(answer)}"
