"""`RagService`: loads an index and an embedder once, then answers questions."""
from __future__ import annotations

import time
from pathlib import Path

from index.build import IngestReport, Progress, ingest
from index.chunking import ChunkerParams
from index.embedding import Embedder, make_embedder
from index.store import load_index
from rag.answer import Assembler, AssemblyParams
from rag.config import Settings
from rag.crosslingual import expand_english
from rag.query import analyse, with_groups
from rag.retrieve import FusionParams, retrieve
from rag.types import Answer, Hit


class QuestionError(ValueError):
    """A question the service refuses to process (empty, too long); the message says why."""


def embedder_from(settings: Settings) -> Embedder:
    """The configured embedder."""
    return make_embedder(settings.embedder, model=settings.embed_model,
                         query_prompt=settings.query_prompt,
                         passage_prompt=settings.passage_prompt, normalize=settings.normalize)


def chunker_from(settings: Settings) -> ChunkerParams:
    """The configured chunker parameters."""
    return ChunkerParams(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)


def ensure_sample_index(settings: Settings, embedder: Embedder,
                        progress: Progress | None = None) -> IngestReport | None:
    """Build the default index from the bundled corpus, or refresh it; None if already current.

    Unchanged files are recognised by hash and cost no embedding; documents a user added to the
    default index are kept.
    """
    report = ingest([settings.sample_corpus], settings.index_dir(embedder.id), embedder,
                    chunker_from(settings), progress)
    return report if report.added or report.replaced or report.embedded else None


class RagService:
    """Answers questions over one index directory."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 index_dir: Path | None = None):
        self.settings = settings
        self.embedder = embedder or embedder_from(settings)
        self.index_dir = index_dir or settings.index_dir(self.embedder.id)
        self.index = load_index(self.index_dir, embedder_id=self.embedder.id)
        self.fusion = FusionParams(mode=settings.retrieval, method=settings.fusion,
                                   candidates=settings.candidates,
                                   rrf_k=settings.rrf_k, dense_weight=settings.dense_weight,
                                   lexical_weight=settings.lexical_weight)
        self.assembler = Assembler(AssemblyParams(min_support=settings.min_support,
                                                  checks=tuple(settings.answer_checks)),
                                   embed_passages=self.embedder.embed_passages)

    def check_question(self, question: str) -> str:
        """Strip and validate a question; QuestionError if it cannot be asked."""
        if question is None or not question.strip():
            raise QuestionError("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(f"the question has {len(question)} characters; the limit is "
                                f"{self.settings.max_question_chars}")
        return question.strip()

    def search(self, question: str, k: int | None = None,
               fusion: FusionParams | None = None) -> tuple[list[Hit], dict[str, float]]:
        """Passages only: (hits, timings in ms)."""
        hits, timings, _, _ = self._retrieve(self.check_question(question), k, fusion)
        return hits, timings

    def _retrieve(self, question: str, k: int | None, fusion: FusionParams | None):
        fusion = fusion or self.fusion
        k = k or self.settings.top_k
        t0 = time.perf_counter()
        query = analyse(question)
        if query.english:
            query = with_groups(query, expand_english(question, self.index.bm25.vocabulary))
        vector = None
        if fusion.mode != "bm25" or query.english:
            vector = self.embedder.embed_queries([question])[0]
        t1 = time.perf_counter()
        hits = retrieve(self.index, query, vector, k, fusion)
        t2 = time.perf_counter()
        timings = {"embed": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000}
        return hits, timings, query, vector

    def ask(self, question: str, k: int | None = None,
            fusion: FusionParams | None = None) -> Answer:
        """A cited answer, or a refusal when the documents do not hold one."""
        question = self.check_question(question)
        t0 = time.perf_counter()
        hits, timings, query, vector = self._retrieve(question, k, fusion)
        t1 = time.perf_counter()
        weights = self.index.bm25.idf(list(query.terms))
        top_cosine = float(self.index.dense.search(vector, 1)[0][0]) \
            if vector is not None and self.index.dense.size else 0.0
        text, answerable, citations = self.assembler.assemble(
            query, hits, self.index.documents, weights, vector, top_cosine)
        t2 = time.perf_counter()
        timings["assemble"] = (t2 - t1) * 1000
        timings["total"] = (t2 - t0) * 1000
        return Answer(question=question, text=text, answerable=answerable, citations=citations,
                      hits=hits, timings_ms=timings)
