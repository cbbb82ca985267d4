"""Extractive, deterministic answer assembly with sentence-level citations.

From the top passages, every sentence is scored against the question: how much of the question's
term weight (IDF) it covers, whether it holds the numbers, years and document numbers the question
names, and whether it holds a quantity when one is asked for. The best one or two sentences become
the answer, each with its own `[n]` citation whose span is checked against the document text.

When the evidence is too weak, the answer is a refusal in the question's language and
`answerable` is False; the passages are still returned.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from index.lexical import normalise
from index.types import Document
from rag.query import Query
from rag.types import Citation, Hit

_SENTENCE = re.compile(r"[^。！？；!?;\n]+(?:[。！？；!?;]+|\n|$)")
_DIGIT = re.compile(r"\d")
MAX_SENTENCES = 2
SECOND_SENTENCE_RATIO = 0.8  # a second sentence must score this close to the best one
REFUSAL = {
    "zh": "文档中没有找到这个问题的答案。以下是最相关的段落，供参考。",
    "en": "The documents do not answer this question. The closest passages are listed below.",
}


@dataclass(frozen=True, slots=True)
class AssemblyParams:
    """Thresholds of the assembler; calibrated on the dev split of the gold set."""

    min_support: float = 0.5  # share of question term weight the best evidence must cover
    min_dense_support: float = 0.80  # cosine the top passage needs, for questions with no shared terms
    passages_considered: int = 3


@dataclass(frozen=True, slots=True)
class Sentence:
    """A candidate sentence: its document span and how it scored."""

    doc_id: str
    start: int
    end: int
    score: float
    support: float
    passage_rank: int


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], whitespace trimmed, in document offsets."""
    spans = []
    for m in _SENTENCE.finditer(text, start, end):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= 4:
            spans.append((s, e))
    return spans


class Assembler:
    """Builds the answer text and citations from ranked hits."""

    def __init__(self, params: AssemblyParams = AssemblyParams(),
                 embed_passages: Callable[[list[str]], np.ndarray] | None = None):
        self.params = params
        # Used only when a question shares no terms with the text (e.g. English): sentences are
        # then scored by embedding similarity instead of term overlap.
        self._embed_passages = embed_passages

    @staticmethod
    def _coverage(text: str, groups: list[tuple[tuple[str, ...], float]]) -> float:
        """Share of the question's term weight found in the text; a group counts once."""
        total = sum(w for _, w in groups)
        if total <= 0:
            return 0.0
        return sum(w for terms, w in groups if any(t in text for t in terms)) / total

    def _lexical_candidates(self, query: Query, hits: list[Hit], docs: dict[str, Document],
                            weights: dict[str, float]) -> list[Sentence]:
        out = []
        # English words the corpus never uses weigh like its commonest matched term.
        known = [w for w in weights.values() if w > 0]
        unknown = min(known, default=0.0) if query.english else 0.0
        groups = [(g, max(weights.get(t) or unknown for t in g)) for g in query.groups]
        for hit in hits[: self.params.passages_considered]:
            chunk, doc = hit.chunk, docs[hit.chunk.doc_id]
            context = normalise(chunk.context())
            dated = _header_text(doc, ("date", "published"))
            for s, e in sentence_spans(doc.text, chunk.start, chunk.end):
                sent = normalise(doc.text[s:e])
                with_context = context + "\n" + sent
                coverage = self._coverage(sent, groups)
                support = self._coverage(with_context, groups)
                score = coverage + 0.3 * support + 0.15 / hit.rank
                if query.numbers:
                    found = sum(n in with_context for n in query.numbers) / len(query.numbers)
                    score += 0.5 * found
                if query.wants_quantity and _DIGIT.search(sent):
                    score += 0.3
                if query.years and not any(y in with_context or y in dated for y in query.years):
                    score -= 0.5  # the question's year is neither in the sentence nor its document
                if query.unit and not has_quantity(sent, query.unit):
                    # "多少家" is not answered by a percentage: such a sentence may still be
                    # cited beside a better one, but cannot make the question answerable.
                    support = 0.0
                    score -= 0.3
                out.append(Sentence(chunk.doc_id, s, e, score, support, hit.rank))
        return out

    def _dense_candidates(self, query_vector: np.ndarray, hits: list[Hit],
                          docs: dict[str, Document], query: Query) -> list[Sentence]:
        spans = [(hit, s, e) for hit in hits[: self.params.passages_considered]
                 for s, e in sentence_spans(docs[hit.chunk.doc_id].text, hit.chunk.start,
                                            hit.chunk.end)]
        if not spans or self._embed_passages is None:
            return []
        texts = [docs[h.chunk.doc_id].text[s:e] for h, s, e in spans]
        sims = self._embed_passages(texts) @ query_vector
        out = []
        for (hit, s, e), sim in zip(spans, sims):
            score = float(sim) + 0.02 / hit.rank
            if query.wants_quantity and _DIGIT.search(docs[hit.chunk.doc_id].text[s:e]):
                score += 0.02
            out.append(Sentence(hit.chunk.doc_id, s, e, score, float(sim), hit.rank))
        return out

    def _names_missing(self, query: Query, hits: list[Hit], docs: dict[str, Document]) -> bool:
        """True when the question names a year or document number no top passage mentions.

        A passage's document header counts too: a 2019 letter says 今年, not 2019年.
        """
        named = set(query.years) | set(query.doc_numbers)
        if not named:
            return False
        seen = "\n".join(
            normalise(h.chunk.context() + " " + h.chunk.text) + " "
            + _header_text(docs[h.chunk.doc_id], ("title", "date", "published", "doc_number"))
            for h in hits[: self.params.passages_considered])
        return any(n not in seen for n in named)

    def assemble(self, query: Query, hits: list[Hit], docs: dict[str, Document],
                 weights: dict[str, float], query_vector: np.ndarray | None,
                 top_dense_cosine: float) -> tuple[str, bool, list[Citation]]:
        """(answer text, answerable, citations)."""
        lang = "en" if query.english else "zh"
        if not hits or self._names_missing(query, hits, docs):
            return REFUSAL[lang], False, []
        lexical = sum(weights.values()) > 0
        if lexical:
            candidates = self._lexical_candidates(query, hits, docs, weights)
            answerable = bool(candidates) and max(c.support for c in candidates) >= \
                self.params.min_support
        else:
            candidates = self._dense_candidates(query_vector, hits, docs, query) \
                if query_vector is not None else []
            answerable = bool(candidates) and top_dense_cosine >= self.params.min_dense_support
        if not answerable:
            return REFUSAL[lang], False, []
        ranked = sorted(candidates, key=lambda c: (-c.score, c.passage_rank, c.start))
        chosen = [ranked[0]]
        for cand in ranked[1:]:
            if len(chosen) >= MAX_SENTENCES or cand.score < SECOND_SENTENCE_RATIO * ranked[0].score:
                break
            if all(cand.doc_id != c.doc_id or cand.end <= c.start or cand.start >= c.end
                   for c in chosen):
                chosen.append(cand)
        citations = [make_citation(n, docs[c.doc_id], c.start, c.end)
                     for n, c in enumerate(chosen, start=1)]
        text = "".join(f"{c.quote}[{c.n}]" for c in citations)
        return text, True, citations


def _header_text(doc: Document, keys: tuple[str, ...]) -> str:
    """The document's header fields `keys`, normalised, for matching years and numbers."""
    return normalise(" ".join(str(doc.meta.get(k, "")) for k in keys))


def has_quantity(text: str, unit: str) -> bool:
    """Whether the text holds a number carrying the unit, e.g. 4222家 or 4.5万家 for 家."""
    return re.search(r"\d[\d.,]*\s*[十百千万亿]*" + re.escape(unit), text) is not None


def make_citation(n: int, doc: Document, start: int, end: int) -> Citation:
    """A citation whose quote is cut from the document and checked, never copied from elsewhere."""
    quote = doc.text[start:end]
    citation = Citation(n=n, doc_id=doc.id, title=doc.meta.get("title", ""), start=start,
                        end=end, quote=quote)
    if not quote or doc.text[citation.start:citation.end] != citation.quote:
        raise AssertionError(f"citation {n} does not match {doc.id}[{start}:{end}]")
    return citation
