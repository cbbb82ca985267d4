"""Core data crossing stage boundaries: documents and their chunks."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range [start, end) of a document's text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span [{self.start}, {self.end})")


@dataclass(frozen=True, slots=True)
class Document:
    """A source document. `text` is exactly what citations index into."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding `offset`, for paged formats (PDF); None for the others."""
        starts = self.meta.get("page_starts")
        if not starts:
            return None
        return max(1, bisect_right(starts, offset))


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable piece of a document: `text == document.text[start:end]`, always.

    The title and heading path used as contextual header live in `meta`, never in `text`.
    """

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    meta: dict[str, Any] = field(default_factory=dict)

    def context(self) -> str:
        """The contextual header: document title and heading path, for embedding and BM25."""
        parts = [self.meta.get("title", "")] + list(self.meta.get("headings", []))
        return " > ".join(p for p in parts if p)

    def indexed_text(self) -> str:
        """What the embedder and BM25 see: the contextual header, then the chunk text."""
        ctx = self.context()
        return f"{ctx}\n{self.text}" if ctx else self.text
