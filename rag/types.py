"""Data that leaves the query pipeline: hits, citations and answers."""
from __future__ import annotations

from dataclasses import dataclass, field

from index.types import Chunk
from rag.injection import instruction_like


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk; the score sits beside the chunk, not on it."""

    chunk: Chunk
    score: float
    rank: int
    source: str  # "dense", "bm25" or "hybrid"

    def to_dict(self) -> dict:
        c = self.chunk
        out = {"doc_id": c.doc_id, "chunk_id": c.id, "start": c.start, "end": c.end,
               "score": round(float(self.score), 6), "text": c.text}
        if "page" in c.meta:  # paged documents (PDF) only, so a citation can say 第N页
            out["page"] = c.meta["page"]
        if instruction_like(c.text):  # see rag/injection.py; absent when false
            out["instruction_like"] = True
        return out


@dataclass(frozen=True, slots=True)
class Citation:
    """A checkable source span: `quote == document.text[start:end]`, verified before return."""

    n: int
    doc_id: str
    title: str
    start: int
    end: int
    quote: str
    page: int | None = None  # paged documents (PDF): the page where the span starts

    def to_dict(self) -> dict:
        out = {"n": self.n, "doc_id": self.doc_id, "title": self.title, "start": self.start,
               "end": self.end, "quote": self.quote}
        if self.page is not None:
            out["page"] = self.page
        if instruction_like(self.quote):
            out["instruction_like"] = True
        return out


@dataclass(frozen=True, slots=True)
class Answer:
    """A cited answer; "nothing found" is an Answer with answerable=False, not an exception."""

    question: str
    text: str
    answerable: bool
    citations: list[Citation]
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The `rag ask --json` contract."""
        return {"question": self.question, "answer": self.text, "answerable": self.answerable,
                "citations": [c.to_dict() for c in self.citations],
                "passages": [h.to_dict() for h in self.hits],
                "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()}}


@dataclass(frozen=True, slots=True)
class Span:
    """An answer span the reader found, in document offsets; the no-answer score of the window
    that read it sits beside its own score (start + end logit, not normalised)."""

    doc_id: str
    start: int
    end: int
    score: float
    no_answer: float

    @property
    def margin(self) -> float:
        """How far the span outscores "no answer" in its window; refusal compares this."""
        return self.score - self.no_answer
