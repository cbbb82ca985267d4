"""Chinese-aware chunking with exact character spans (the only importer of langchain_text_splitters).

Every chunk satisfies `chunk.text == document.text[chunk.start:chunk.end]`; boilerplate spans are
never chunked, boundaries never fall inside a number such as `211.62亿元` or `4:6`, and each chunk
carries its heading path and the document title in `meta`; a PDF's chunk also carries the page it
starts on (`page`, 1-based) and, when it runs onto a later page, `page_end`. A chunk of a
spreadsheet's rows has the table's header row as the last entry of its heading path, so a row is
understood on its own (the header is context for embedding and BM25, never chunk text).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from index.clean import body_spans, heading_path_at, merged_marks
from index.types import Chunk, Document, Span

# Paragraphs first, then sentence ends, then clause marks, then characters. Half-width
# `,` `;` `.` only count between non-digits, so `1,200` and `211.62` are never separators.
SEPARATORS = [
    r"\n\s*\n",
    r"\n",
    r"[。！？!?]",
    r"[；;]",
    r"[，、]|(?<!\d),|,(?!\d)",
    r"",
]

# A number with its internal punctuation and a unit, none of which may be cut.
_NUMBER = re.compile(r"\d+(?:\s?[.,:：．/]\s?\d+)*(?:%|‰|亿元|万元|亿|万|元|家|个|项|人|次|件)?")


@dataclass(frozen=True, slots=True)
class ChunkerParams:
    """Chunker settings; recorded in the index manifest."""

    chunk_size: int = 300
    chunk_overlap: int = 60
    version: int = 1  # bump when the algorithm changes, so old indexes re-chunk

    def __post_init__(self) -> None:
        if self.chunk_size < 20:
            raise ValueError(f"chunk_size must be at least 20, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(
                f"chunk_overlap must be in [0, chunk_size), got {self.chunk_overlap}")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _splitter(params: ChunkerParams):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=params.chunk_size,
        chunk_overlap=params.chunk_overlap,
        strip_whitespace=True,
    )


def _protected(text: str) -> list[Span]:
    return [Span(m.start(), m.end()) for m in _NUMBER.finditer(text)]


def _snap(pos: int, protected: list[Span], forward: bool) -> int:
    """Move a boundary out of any number it would cut."""
    for span in protected:
        if span.start < pos < span.end:
            return span.end if forward else span.start
        if span.start >= pos:
            break
    return pos


def _locate(text: str, pieces: list[str], base: int, overlap: int) -> list[Span]:
    """Find each splitter piece in `text` in order; pieces are exact substrings once stripped.

    A piece overlaps its predecessor by at most `overlap` characters, so it starts no earlier than
    the predecessor's end minus `overlap`: searching from there keeps repetitive text (the same
    sentence many times) from matching an earlier copy and losing the rest of the document.
    """
    spans: list[Span] = []
    for piece in pieces:
        if spans:
            prev_start, prev_end = spans[-1].start - base, spans[-1].end - base
            idx = text.find(piece, max(prev_start + 1, prev_end - overlap))
            if idx < 0:
                idx = text.find(piece, prev_start + 1)
        else:
            idx = text.find(piece)
        if idx < 0:
            raise AssertionError(f"splitter returned text not in the source: {piece[:40]!r}")
        spans.append(Span(base + idx, base + idx + len(piece)))
    return spans


def _row_header_at(row_headers: list, offset: int) -> str | None:
    """The header row of the table whose data rows hold `offset` (spreadsheets), if any."""
    return next((str(h) for start, end, h in row_headers if start <= offset < end), None)


def chunk_document(doc: Document, params: ChunkerParams) -> list[Chunk]:
    """Split a document's body into chunks with exact spans and contextual headers."""
    splitter = _splitter(params)
    protected = _protected(doc.text)
    marks = merged_marks(doc.text, doc.meta.get("heading_marks"))
    title = doc.meta.get("title", "")
    chunks: list[Chunk] = []
    for body in body_spans(doc.text):
        segment = doc.text[body.start:body.end]
        for span in _locate(segment, splitter.split_text(segment), body.start,
                             params.chunk_overlap):
            start = _snap(span.start, protected, forward=False)
            end = _snap(span.end, protected, forward=True)
            start, end = max(start, body.start), min(end, body.end)
            if not doc.text[start:end].strip():
                continue
            if chunks and chunks[-1].start == start and chunks[-1].end == end:
                continue
            # A page's <h1> usually repeats the title; the header should not say it twice.
            headings = [h for h in heading_path_at(marks, start) if h != title]
            row_header = _row_header_at(doc.meta.get("row_headers") or [], start)
            if row_header:
                headings.append(row_header)
            meta = {"title": title, "headings": headings}
            page, last_page = doc.page_at(start), doc.page_at(end - 1)
            if page is not None:
                meta["page"] = page
                if last_page != page:
                    meta["page_end"] = last_page
            chunks.append(Chunk(
                id=f"{doc.id}#{len(chunks)}",
                doc_id=doc.id,
                text=doc.text[start:end],
                start=start,
                end=end,
                meta=meta,
            ))
    return chunks
