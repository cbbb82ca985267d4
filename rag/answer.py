"""Answer assembly from the reader's spans (rag/reader.py): short, cited, checked.

The best span that clears the calibrated no-answer margin and the structural check becomes the
answer: the clause that holds it first, cited `[1]`, then the rest of its sentence as context
`[2]`; nothing is cited twice. (With RAG_READER=off the answer rules of rag/rules/ answer.)

The structural check holds for any corpus: every identifier the question names (a document
number in any of its forms, a year, an ordinal such as 第二期, a Latin name) must be written in
the cited document. When nothing passes, the answer is a refusal in the question's language and
`answerable` is False; the passages are still returned.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import normalise
from index.types import Document
from rag.query import Query, issued_number_pattern
from rag.types import Citation, Span

_SENTENCE = re.compile(r"[^。！？；!?;\n]+(?:[。！？；!?;]+|\n|$)")
_SENTENCE_END = "。！？；!?;\n"
# Clause breaks: full-width ，；： always; half-width , : only when not between digits (1,000 · 4:6).
_CLAUSE_BREAK = re.compile(r"[，；;：]|(?<!\d)[,:]|[,:](?!\d)")
_TRIM = "，,；;：:。！？!?"
_YEAR_STATED = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
LEAD_MIN_CHARS = 12  # a shorter clause takes the clause before it along, for its subject
CONTEXT_MAX_CHARS = 90  # the context after the lead is cut at a clause break within this
REFUSAL = {
    "zh": "文档中没有找到这个问题的答案。以下是最相关的段落，供参考。",
    "en": "The documents do not answer this question. The closest passages are listed below.",
}


@dataclass(frozen=True, slots=True)
class AssemblyParams:
    """Thresholds of the assembler."""

    structural: bool = True  # identifiers the question names must be in the cited document
    year_check: bool = True  # a fact dated with other years only does not answer a year asked


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], whitespace trimmed, in document offsets."""
    spans = []
    for m in _SENTENCE.finditer(text, start, end):
        s, e = _trimmed(text, m.start(), m.end(), "")
        if e - s >= 4:
            spans.append((s, e))
    return spans


def clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clause spans of text[start:end], separators and end punctuation left out."""
    spans, s = [], start
    for m in list(_CLAUSE_BREAK.finditer(text, start, end)) + [None]:
        lo, hi = _trimmed(text, s, m.start() if m else end, _TRIM)
        if hi - lo >= 2:
            spans.append((lo, hi))
        s = m.end() if m else end
    return spans


def _trimmed(text: str, s: int, e: int, chars: str) -> tuple[int, int]:
    """[s, e) without the given characters or any whitespace (U+3000 included) at either end."""
    while s < e and (text[s] in chars or text[s].isspace()):
        s += 1
    while e > s and (text[e - 1] in chars or text[e - 1].isspace()):
        e -= 1
    return s, e


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or line) of `text` holding [start, end), whitespace trimmed."""
    lo = max((text.rfind(c, 0, start) for c in _SENTENCE_END), default=-1) + 1
    ends = [i for i in (text.find(c, end) for c in _SENTENCE_END) if i >= 0]
    return _trimmed(text, lo, min(ends) + 1 if ends else len(text), "")


def answer_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The lead (the clauses holding [start, end), with the one before when short) and the rest
    of its sentence as context, in document offsets; never overlapping."""
    start, end = _trimmed(text, start, end, "") if end > start else (start, end)
    s0, e0 = sentence_around(text, start, end)
    clauses = clause_spans(text, s0, e0) or [(start, end)]
    inside = [i for i, (a, b) in enumerate(clauses) if a < end and b > start] or [0]
    first, last = inside[0], inside[-1]
    if first > 0 and clauses[last][1] - clauses[first][0] < LEAD_MIN_CHARS:
        first -= 1
    lead = (min(clauses[first][0], start), max(clauses[last][1], end))
    out = [lead]
    rest = [c for c in clauses[last + 1:] if c[1] - lead[0] <= CONTEXT_MAX_CHARS + lead[1] - lead[0]]
    if rest and rest[-1][1] - rest[0][0] >= 4:
        out.append((rest[0][0], rest[-1][1]))
    return out


class Assembler:
    """Builds the answer text and citations from the reader's spans."""

    def __init__(self, params: AssemblyParams = AssemblyParams()):
        self.params = params
        self._normalised_docs: dict[tuple[str, str], str] = {}

    def names_missing(self, query: Query, doc: Document) -> bool:
        """True when the document never writes an identifier the question names: a document
        number (第0426号, 〔2023〕15号), every ordinal (第二期 or 第2期), every Latin name, or any
        of its years (a comparison of 2020 with 2025 may find each in another document)."""
        if not self.params.structural:
            return False
        if not (query.years or query.doc_numbers or query.issued_numbers or query.ordinals
                or query.latin_names):
            return False
        seen = self._normalised(doc)
        return (bool(query.years) and all(y not in seen for y in query.years)) \
            or any(not re.search(rf"(?<!\d)0*{int(n)}\s*号", seen) for n in query.doc_numbers) \
            or any(not issued_number_pattern(y, n).search(seen) for y, n in query.issued_numbers) \
            or any(not any(form in seen for form in forms) for forms in query.ordinals) \
            or any(not re.search(rf"(?<![a-z]){re.escape(n)}(?![a-z])", seen)
                   for n in query.latin_names)

    def _normalised(self, doc: Document) -> str:
        """The document's text and string metadata (title, number, dates), normalised and
        lower-cased, cached by content hash (a replaced document misses)."""
        key = (doc.id, doc.meta.get("content_hash", ""))
        text = self._normalised_docs.get(key)
        if text is None:
            if len(self._normalised_docs) >= 1024:
                self._normalised_docs.clear()  # bounded, for indexes that change while served
            meta = " ".join(v for v in doc.meta.values() if isinstance(v, str))
            text = self._normalised_docs[key] = normalise(doc.text + "\n" + meta).lower()
        return text

    def from_reader(self, query: Query, spans: list[Span], docs: dict[str, Document],
                    threshold: float) -> tuple[str, bool, list[Citation]]:
        """(answer text, answerable, citations) from the reader's spans, best margin first."""
        for sp in spans:
            if sp.margin < threshold:
                break
            doc = docs[sp.doc_id]
            spans_ = answer_spans(doc.text, sp.start, sp.end)
            if not self.names_missing(query, doc) and not self.other_year(query, doc.text, spans_[0]):
                return _cited(query, doc, spans_)
        return refusal(query)

    def other_year(self, query: Query, text: str, lead: tuple[int, int]) -> bool:
        """True when the question names one year and the answer's sentence dates its fact with
        other years only (2022年…92.3% for a question about 2023): a date is structure."""
        if not self.params.year_check or len(query.years) != 1:
            return False
        stated = set(_YEAR_STATED.findall(text[slice(*sentence_around(text, *lead))]))
        return bool(stated) and query.years[0] not in stated


def refusal(query: Query) -> tuple[str, bool, list[Citation]]:
    """The refusal in the question's language."""
    return REFUSAL["en" if query.english else "zh"], False, []


def _cited(query: Query, doc: Document, spans: list[tuple[int, int]]) -> tuple[str, bool, list[Citation]]:
    citations = [make_citation(n, doc, s, e) for n, (s, e) in enumerate(spans, start=1)]
    # A clause cited on its own ends without a stop; the lead joins its context with a comma.
    parts = [f"{c.quote}[{c.n}]" for c in citations]
    text = "，".join(parts) if len(parts) > 1 and citations[0].quote[-1] not in _SENTENCE_END \
        else "".join(parts)
    return text + ("" if citations[-1].quote[-1] in _SENTENCE_END else "。"), True, citations


def make_citation(n: int, doc: Document, start: int, end: int) -> Citation:
    """A citation whose quote is cut from the document and checked, never copied from elsewhere."""
    quote = doc.text[start:end]
    citation = Citation(n=n, doc_id=doc.id, title=doc.meta.get("title", ""), start=start,
                        end=end, quote=quote, page=doc.page_at(start))
    if not quote or doc.text[citation.start:citation.end] != citation.quote:
        raise AssertionError(f"citation {n} does not match {doc.id}[{start}:{end}]")
    return citation
