"""Dense and lexical retrieval over a loaded index, fused (a weighted sum of normalised scores,
or weighted RRF), then boosted for the document a question names by number, year or title word."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np

from index.lexical import tokenize
from index.store import LoadedIndex
from rag.query import Query
from rag.types import Hit


@dataclass(frozen=True, slots=True)
class FusionParams:
    """How many candidates each retriever gives, and how their ranks are weighed."""

    mode: str = "hybrid"  # "hybrid", "dense" or "bm25"
    method: str = "rrf"  # "rrf" (ranks) or "convex" (max-normalised scores)
    candidates: int = 50
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    # Added to the convex-fused score of a chunk whose document is the one a question names: by
    # its document number (第0426号), or by a year in the chunk or the document's dates.
    named_boost: float = 0.0
    # Added to the convex-fused score of a chunk whose document title holds a question word
    # that the titles of the other candidate documents lack (指导意见, 工作情况报告, 提案).
    title_boost: float = 0.0
    # An English word's translations score as one BM25 term, by the best of them, and single
    # characters among them only when the word has no longer translation.
    translation_groups: bool = True
    # English questions read policy phrases from rag/policy_glossary.tsv before CC-CEDICT's words.
    glossary: bool = True


def dense_ranking(index: LoadedIndex, query_vector: np.ndarray, n: int,
                  allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
    """(chunk row, cosine) best first, among the allowed rows if given."""
    scores, rows = index.dense.search(query_vector, n, allowed)
    return [(int(r), float(s)) for r, s in zip(rows, scores)]


def lexical_ranking(index: LoadedIndex, query: Query, n: int,
                    allowed: np.ndarray | None = None,
                    grouped: bool = True) -> list[tuple[int, float]]:
    """(chunk row, BM25 score) best first; chunks with no query term, or not allowed, are out.

    `grouped`: a group of alternative terms (an English word's translations) scores once.
    """
    if grouped and any(len(group) > 1 for group in query.groups):
        scores = index.bm25.group_scores([_multi_char(group) for group in query.groups])
    else:
        scores = index.bm25.scores(list(query.terms))
    if allowed is not None:
        mask = np.zeros(len(scores), bool)
        mask[allowed] = True
        scores = np.where(mask, scores, 0.0)
    n = min(n, len(scores))
    if n == 0:
        return []
    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(r), float(scores[r])) for r in top if scores[r] > 0]


def _multi_char(group: tuple[str, ...]) -> tuple[str, ...]:
    """A word's translations less single characters, when longer ones exist: share → 共享,
    分享, 股份, not 共, which BM25 finds in every other chunk."""
    longer = tuple(t for t in group if len(t) > 1)
    return longer if len(group) > 1 and longer else group


def fuse(rankings: list[tuple[list[tuple[int, float]], float]], rrf_k: int) -> list[tuple[int, float]]:
    """Weighted RRF: each ranking adds weight / (rrf_k + rank) to the chunks it lists."""
    fused: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, (row, _) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (rrf_k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def convex(rankings: list[tuple[list[tuple[int, float]], float]]) -> list[tuple[int, float]]:
    """Weighted sum of scores, each ranking divided by its best score (absent = 0)."""
    fused: dict[int, float] = {}
    for ranking, weight in rankings:
        if not ranking or weight == 0:
            continue
        best = max(score for _, score in ranking) or 1.0
        low = min(score for _, score in ranking)
        span = (best - low) or 1.0
        for row, score in ranking:
            fused[row] = fused.get(row, 0.0) + weight * (score - low) / span
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _names(index: LoadedIndex, row: int, query: Query) -> bool:
    """Whether the chunk, or its document's number and dates, holds what the question names."""
    chunk = index.chunks[row]
    meta = index.documents[chunk.doc_id].meta
    if query.doc_numbers:
        header = f"{meta.get('doc_number', '')} {meta.get('title', '')}"
        return all(n in header or n in chunk.text for n in query.doc_numbers)
    # A year stated in the chunk, its title or headings (一、2020年工作情况), or its dates.
    scope = f"{chunk.text}\n{chunk.context()}\n{meta.get('date', '')} {meta.get('published', '')}"
    return any(y in scope for y in query.years)


def _boosted(ranked: list[tuple[int, float]], boost: float,
             named: Callable[[int], bool]) -> list[tuple[int, float]]:
    """The ranking with `boost` added to the rows `named` picks, re-sorted."""
    boosted = [(row, score + boost * named(row)) for row, score in ranked]
    return sorted(boosted, key=lambda item: (-item[1], item[0]))


def _boost_named(index: LoadedIndex, query: Query, ranked: list[tuple[int, float]],
                 boost: float) -> list[tuple[int, float]]:
    return _boosted(ranked, boost, lambda row: _names(index, row, query))


@lru_cache(maxsize=8192)
def _title_words(title: str) -> frozenset[str]:
    """A title's words of two or more characters (cached: the same titles recur every query)."""
    return frozenset(t for t in tokenize(title) if len(t) > 1)


def _boost_titled(index: LoadedIndex, query: Query, ranked: list[tuple[int, float]],
                  boost: float) -> list[tuple[int, float]]:
    """Chunks of the documents a question names by a title word get `boost`.

    Only words that tell the candidate documents apart count: one in every candidate's title
    (科学技术局) names none of them. English questions match by their translated terms.
    """
    asked = set(query.terms) if query.english else set(query.tokens)
    docs = {index.chunks[row].doc_id for row, _ in ranked}
    titles = {d: _title_words(index.documents[d].meta.get("title", "")) & asked for d in docs}
    counts = Counter(w for words_ in titles.values() for w in words_)
    named = {d for d, words_ in titles.items() if any(counts[w] < len(docs) for w in words_)}
    if not named:
        return ranked
    return _boosted(ranked, boost, lambda row: index.chunks[row].doc_id in named)


def retrieve(index: LoadedIndex, query: Query, query_vector: np.ndarray | None, k: int,
             params: FusionParams, allowed: np.ndarray | None = None) -> list[Hit]:
    """The k best chunks for the query under the configured mode, among `allowed` rows if given
    (see rag/filters.py)."""
    n = max(params.candidates, k)
    if params.mode == "dense":
        ranked, source = dense_ranking(index, query_vector, n, allowed), "dense"
    elif params.mode == "bm25":
        ranked = lexical_ranking(index, query, n, allowed, params.translation_groups)
        source = "bm25"
    else:
        rankings = [(dense_ranking(index, query_vector, n, allowed), params.dense_weight),
                    (lexical_ranking(index, query, n, allowed, params.translation_groups),
                     params.lexical_weight)]
        ranked = convex(rankings) if params.method == "convex" else fuse(rankings, params.rrf_k)
        source = "hybrid"
        # On convex fusion's 0..(dense + lexical weight) scale only; RRF scores are not comparable.
        if params.method == "convex" and params.named_boost and (query.years or query.doc_numbers):
            ranked = _boost_named(index, query, ranked, params.named_boost)
        if params.method == "convex" and params.title_boost:
            ranked = _boost_titled(index, query, ranked, params.title_boost)
    return [Hit(chunk=index.chunks[row], score=score, rank=rank, source=source)
            for rank, (row, score) in enumerate(ranked[:k], start=1)]


def cited_first(hits: list[Hit], citations) -> list[Hit]:
    """The hits re-ranked so that the passages an answer cites come first, in citation order.

    The answer step reads every sentence of the top passages and cites the one that answers;
    the passage holding it is then a better first source than the one fusion ranked first (the
    sentence-level reading acts as a reranker). Scores stay the retrieval scores; ranks are
    renumbered. Citations outside every hit (none today) move nothing.
    """
    first: list[Hit] = []
    for cit in citations:
        for hit in hits:
            c = hit.chunk
            if c.doc_id == cit.doc_id and c.start <= cit.start and cit.end <= c.end:
                if hit not in first:
                    first.append(hit)
                break
    if not first:
        return hits
    ordered = first + [h for h in hits if h not in first]
    return [replace(h, rank=rank) for rank, h in enumerate(ordered, start=1)]
