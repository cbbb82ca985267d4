"""`RagService`: loads an index and an embedder once, then answers questions."""
from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
import unicodedata
from dataclasses import fields as dataclass_fields, replace
from pathlib import Path, PurePosixPath

import numpy as np

from index.build import (IngestReport, Progress, delete_documents, ingest, ingest_documents)
from index.chunking import ChunkerParams
from index.embed_cache import EmbeddingCache
from index.embedding import Embedder, make_embedder
from index.loaders import SUPPORTED_SUFFIXES, LoadError, document_from_bytes
from index.store import CURRENT, IndexError_, IndexMismatch, LoadedIndex, load_index
from index.vectors import VectorBackend
from index.lexical import normalise
from rag.answer import Assembler, AssemblyParams, refusal, sentence_spans
from rag.compound import combine, question_parts
from rag.config import Settings
from rag.conversation import Rewrite, standalone
from rag.crosslingual import expand_english, reader_question
from rag.fields import asked_field, field_answer
from rag.filters import Filters, allowed_rows
from rag import query as reader_query
from rag.query import CJK
from rag.rules import answer as rules_answer
from rag.rules import query as rules_query
from rag.retrieve import FusionParams, cited_first, retrieve
from rag.reader import Passage, Reader
from rag.types import Answer, Hit


log = logging.getLogger("cq-rag.service")


class QuestionError(ValueError):
    """A question the service refuses to process (empty, too long); the message says why."""


def check_question(question: str | None, max_chars: int) -> str:
    """The question stripped; QuestionError if it is empty or too long.

    A function as well as a method, so the CLI can refuse a bad question before it loads (or
    first builds) an index.
    """
    if question is None or not question.strip():
        raise QuestionError("the question is empty")
    if len(question) > max_chars:
        raise QuestionError(f"the question has {len(question)} characters; the limit is "
                            f"{max_chars}")
    if _SURROGATE.search(question):  # undecodable bytes in argv, or "\ud800" in JSON
        raise QuestionError("the question is not valid Unicode text (it holds a lone surrogate)")
    if not any(ch.isalnum() for ch in question):
        # Emoji, punctuation or control characters alone: nothing to search for, and the dense
        # fallback would otherwise "answer" them with whatever passage lies nearest.
        raise QuestionError("the question has no letters or digits")
    return question.strip()


_SURROGATE = re.compile("[\ud800-\udfff]")


class UploadError(ValueError):
    """An uploaded file the service refuses (wrong type, not text); the message says why."""


UPLOAD_FOLDER = "uploads"  # uploaded documents get doc_ids under this prefix


def upload_doc_id(filename: str) -> str:
    """A safe doc_id for an uploaded file name: `uploads/<name>`, never a path to follow.

    Only the last path component is kept, and only word characters, `.` and `-` survive, so
    `../../etc/x.txt` becomes `uploads/x.txt`; UploadError if nothing usable is left.
    """
    name = PurePosixPath(unicodedata.normalize("NFKC", filename).replace("\\", "/")).name
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(f"unsupported file type {suffix or '(none)'!r} for {filename!r}; "
                          f"supported: {', '.join(SUPPORTED_SUFFIXES)}")
    stem = re.sub(r"[^\w.-]+", "_", name[: -len(suffix)]).strip("._-")[:100]
    if not stem:
        raise UploadError(f"the file name {filename!r} has no usable characters")
    return f"{UPLOAD_FOLDER}/{stem}{suffix}"


def embedder_from(settings: Settings) -> Embedder:
    """The configured embedder."""
    kwargs = embedder_kwargs(settings)
    return make_embedder(kwargs.pop("backend"), **kwargs)


def embedder_kwargs(settings: Settings) -> dict:
    """`make_embedder` arguments of the configured embedder (also for Ray workers)."""
    return dict(backend=settings.embedder, model=settings.embed_model,
                query_prompt=settings.query_prompt, passage_prompt=settings.passage_prompt,
                normalize=settings.normalize, engine=settings.embed_engine,
                ct2_type=settings.embed_ct2_type, models_dir=settings.home / "models")


def vector_backend_from(settings: Settings) -> VectorBackend:
    """Where new generations keep their vectors (RAG_VECTOR_STORE, RAG_MILVUS_*)."""
    return VectorBackend(settings.vector_store,
                         uri=settings.milvus_uri or str(settings.home / "milvus.db"),
                         prefix=settings.milvus_collection)


def chunker_from(settings: Settings) -> ChunkerParams:
    """The configured chunker parameters."""
    return ChunkerParams(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)


def embed_cache_from(settings: Settings) -> EmbeddingCache | None:
    """The configured embedding cache, or None when it is off."""
    path = settings.embed_cache_path
    return EmbeddingCache(path) if path is not None else None


def ensure_sample_index(settings: Settings, embedder: Embedder,
                        progress: Progress | None = None) -> IngestReport | None:
    """Build the default index from the bundled corpus, or refresh it; None if already current.

    Unchanged files are recognised by hash and cost no embedding; documents a user added to the
    default index are kept.
    """
    report = ingest([settings.sample_corpus], settings.index_dir(embedder.id), embedder,
                    chunker_from(settings), progress, backend=vector_backend_from(settings),
                    embed_cache=embed_cache_from(settings), lock_wait_s=settings.lock_wait_s)
    return report if report.added or report.replaced or report.embedded else None


class RagService:
    """Answers questions over one index directory."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 index_dir: Path | None = None):
        self.settings = settings
        self.embedder = embedder or embedder_from(settings)
        self.index_dir = index_dir or settings.index_dir(self.embedder.id)
        # Readers take `self.index` once per request; writers replace it with one assignment
        # after the new generation is fully loaded, so a query sees the old index or the new.
        self._pointer = self._stat_pointer()  # CURRENT as of the load below (or later)
        self._index: LoadedIndex = load_index(self.index_dir, embedder_id=self.embedder.id)
        if not vector_backend_from(settings).holds(self._index.dense):
            raise IndexMismatch(f"{self.index_dir} keeps its vectors in {self._index.dense.kind}, "
                                f"not in the configured RAG_VECTOR_STORE={settings.vector_store} "
                                "(or RAG_MILVUS_URI); `rag ingest` its files again to move them")
        self._write_lock = threading.Lock()
        self._poll_s = settings.index_poll_ms / 1000
        self._next_poll = time.monotonic() + self._poll_s
        self._loading = threading.Lock()  # held while a generation loads in the background
        self.fusion = FusionParams(mode=settings.retrieval, method=settings.fusion,
                                   candidates=settings.candidates,
                                   rrf_k=settings.rrf_k, dense_weight=settings.dense_weight,
                                   lexical_weight=settings.lexical_weight,
                                   named_boost=settings.named_boost,
                                   title_boost=settings.title_boost,
                                   translation_groups=settings.translation_groups,
                                   glossary=settings.policy_glossary)
        self.assembler = Assembler(AssemblyParams(
            structural=settings.structural_check, year_check=settings.year_check))
        self.rules = rules_answer.Assembler(rules_answer.AssemblyParams(
            min_support=settings.min_support, name_bonus=settings.name_bonus,
            partial_credit=settings.partial_credit, checks=tuple(settings.answer_checks)),
            embed_passages=self.embedder.embed_passages)

    def warm(self) -> None:
        """Load now what the first question would wait for: the fast embedding engine (under
        RAG_EMBED_ENGINE=auto) and jieba's dictionary. A long-lived server calls this at start;
        a one-shot command does not, since loading the engine costs more than it saves there."""
        from index.lexical import tokenize

        warm = getattr(self.embedder, "warm", None)
        if warm is not None:
            warm()
        tokenize("预热")
        _ = self.reader

    @functools.cached_property
    def reader(self) -> Reader | None:
        """The trained reader (loaded on first use), or None with RAG_READER=off."""
        if self.settings.reader == "off":
            return None
        return reader_from(self.settings)

    @property
    def index(self) -> LoadedIndex:
        """The live generation. At most every `index_poll_ms` this looks whether another process
        (`rag ingest`) moved CURRENT; if so the new generation loads in a background thread and
        replaces this one when complete, so no request waits for it or sees half of it."""
        if self._poll_s and time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + self._poll_s
            pointer = self._stat_pointer()
            if pointer != self._pointer and self._loading.acquire(blocking=False):
                threading.Thread(target=self._load_in_background, args=(pointer,),
                                 name="index-reload", daemon=True).start()
        return self._index

    def _stat_pointer(self) -> tuple | None:
        """What identifies CURRENT's content: os.replace gives it a new inode every time."""
        try:
            st = os.stat(self.index_dir / CURRENT)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _load_in_background(self, pointer: tuple | None) -> None:
        try:
            with self._write_lock:  # not while this process's own upload is swapping
                if self._index.path.name != _live_name(self.index_dir):
                    self._index = load_index(self.index_dir, embedder_id=self.embedder.id)
                    log.info("now serving %s", self._index.path)
        except IndexError_ as exc:  # keep serving the generation we have
            log.error("kept %s: the new generation did not load: %s", self._index.path, exc)
        except Exception:  # a thread must not die silently
            log.exception("kept %s: reloading the index failed", self._index.path)
        finally:
            self._pointer = pointer  # a failed generation is retried only when CURRENT moves on
            self._loading.release()

    def check_question(self, question: str) -> str:
        """Strip and validate a question; QuestionError if it cannot be asked."""
        return check_question(question, self.settings.max_question_chars)

    def search(self, question: str, k: int | None = None, fusion: FusionParams | None = None,
               filters: Filters | None = None) -> tuple[list[Hit], dict[str, float]]:
        """Passages only: (hits, timings in ms)."""
        index = self.index
        hits, timings, _, _ = self._retrieve(index, self.check_question(question), k, fusion,
                                             allowed_rows(index, filters))
        return hits, timings

    def _retrieve(self, index: LoadedIndex, question: str, k: int | None,
                  fusion: FusionParams | None, allowed: np.ndarray | None = None):
        fusion = fusion or self.fusion
        k = k or self.settings.top_k
        t0 = time.perf_counter()
        # The rules read their own, richer analysis of the question; retrieval needs only the
        # terms, years and document numbers both analyses share.
        analysis = rules_query if self.settings.reader == "off" else reader_query
        query = analysis.analyse(question)
        if query.english:
            query = analysis.with_groups(query, expand_english(
                question, index.bm25.vocabulary, glossary=fusion.glossary))
            if getattr(query, "english_part", ""):
                query = replace(query, part_groups=tuple(expand_english(
                    query.english_part, index.bm25.vocabulary, glossary=fusion.glossary)))
        vector = None
        if fusion.mode != "bm25" or query.english:
            vector = self.embedder.embed_queries([question])[0]
        t1 = time.perf_counter()
        hits = retrieve(index, query, vector, k, fusion, allowed)
        t2 = time.perf_counter()
        timings = {"embed": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000}
        return hits, timings, query, vector

    def ask(self, question: str, k: int | None = None, fusion: FusionParams | None = None,
            filters: Filters | None = None) -> Answer:
        """A cited answer, or a refusal when the documents (those `filters` admit) hold none."""
        question = self.check_question(question)
        index = self.index  # one generation for the whole question
        t0 = time.perf_counter()
        allowed = allowed_rows(index, filters)
        if allowed is not None and not len(allowed):
            # Not the generic refusal: the documents were never asked, the filter excluded them.
            text = no_match_message(filters, chinese=bool(CJK.search(question)))
            return Answer(question=question, text=text, answerable=False, citations=[], hits=[],
                          timings_ms={"total": (time.perf_counter() - t0) * 1000})
        parts = question_parts(question) if self.settings.split_compound else [question]
        if len(parts) == 1:
            return self._answer(index, question, k, fusion, allowed, t0)
        answer = combine(question, [self._answer(index, part, k, fusion, allowed, t0)
                                    for part in parts], k or self.settings.top_k)
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        return answer

    def _answer(self, index: LoadedIndex, question: str, k: int | None,
                fusion: FusionParams | None, allowed: np.ndarray | None, t0: float) -> Answer:
        """One question's answer from one generation of the index."""
        hits, timings, query, vector = self._retrieve(index, question, k, fusion, allowed)
        t1 = time.perf_counter()
        reader = self.reader
        field = None
        if hits and self.settings.header_fields and asked_field(question):
            # Layout, not reading: the question names a header field of a document. The reader's
            # analysis is the one retrieval made when the reader is on; the rules' is not it.
            analysed = (query if isinstance(query, reader_query.Query)
                        else reader_query.analyse(question))
            field = field_answer(analysed, hits, index.documents, self.assembler)
        if not hits:  # retrieval alone decides: nothing to read
            text, answerable, citations = refusal(query)
        elif field is not None:
            text, answerable, citations = field
        elif reader is not None:
            weights = index.bm25.idf(list(query.terms))
            passages = reading_passages(hits[:self.settings.reader_passages], index.documents,
                                        weights, self.settings.reader_window_chars)
            # The reader learnt Chinese questions: it reads an English one beside its Chinese
            # gloss (on the blind batches' dev English questions, key 0.42 → 0.53).
            asked = (f"{question} {reader_question(question, query.groups, weights)}"
                     if query.english else question)
            spans = reader.read(asked, passages)
            timings["read"] = (time.perf_counter() - t1) * 1000
            text, answerable, citations = self.assembler.from_reader(
                query, spans, index.documents, reader.threshold)
        else:
            weights = index.bm25.idf(list(query.terms))
            nearest = index.dense.search(vector, 1, allowed)[0] if vector is not None else []
            top_cosine = float(nearest[0]) if len(nearest) else 0.0
            text, answerable, citations = self.rules.assemble(
                query, hits, index.documents, weights, vector, top_cosine)
        if answerable and self.settings.cited_first:
            hits = cited_first(hits, citations)
        t2 = time.perf_counter()
        timings["assemble"] = (t2 - t1) * 1000
        timings["total"] = (t2 - t0) * 1000
        return Answer(question=question, text=text, answerable=answerable, citations=citations,
                      hits=hits, timings_ms=timings)

    def no_match(self, filters: Filters | None) -> str | None:
        """`no_match_message` when `filters` admit no document of the live index, else None."""
        if filters is None or not filters.active:
            return None
        if any(filters.admits(doc) for doc in self.index.documents.values()):
            return None
        return no_match_message(filters)

    def converse(self, turns: list[str], answers: list[str] | None = None,
                 k: int | None = None, filters: Filters | None = None) -> tuple[Rewrite, Answer]:
        """Answer the last of a conversation's user turns, rewritten into a standalone question.

        The turn as typed is checked against the limits first, so a long follow-up is refused
        even if its rewrite would be short.
        """
        if not turns:
            raise QuestionError("the conversation has no user message")
        self.check_question(turns[-1])
        rewrite = standalone([t.strip() for t in turns], answers)
        return rewrite, self.ask(rewrite.question, k=k, filters=filters)

    @functools.cached_property
    def _upload_embed_cache(self) -> EmbeddingCache | None:
        """Opened on the first upload, then kept: one SQLite connection serves every upload."""
        return embed_cache_from(self.settings)

    def add_document(self, filename: str, data: bytes) -> tuple[str, IngestReport]:
        """Index an uploaded file under `upload_doc_id(filename)`; new vectors only for new text.

        The file name only names the document; nothing is written outside the index directory.
        """
        doc_id = upload_doc_id(filename)
        try:
            doc = document_from_bytes(data, doc_id, source=f"upload:{doc_id}")
        except LoadError as exc:
            raise UploadError(f"{filename!r}: {exc}") from None
        with self._write_lock:
            report = ingest_documents([doc], self.index_dir, self.embedder,
                                      chunker_from(self.settings), sources=doc_id,
                                      embed_cache=self._upload_embed_cache,
                                      lock_wait_s=self.settings.lock_wait_s)
            self._reload()
        if report.errors:  # the same text is already indexed under another doc_id
            raise UploadError(f"{filename!r}: {report.errors[0].reason}")
        return doc_id, report

    def delete_document(self, doc_id: str) -> None:
        """Remove one document: a new generation without it, then the swap."""
        with self._write_lock:
            delete_documents([doc_id], self.index_dir, self.embedder,
                             lock_wait_s=self.settings.lock_wait_s)
            self._reload()

    def _reload(self) -> None:
        # Load the new generation completely before the one assignment that readers observe.
        pointer = self._stat_pointer()
        fresh = load_index(self.index_dir, embedder_id=self.embedder.id)
        self._index, self._pointer = fresh, pointer


def no_match_message(filters: Filters, chinese: bool = False) -> str:
    """What a filter that admits no document says instead of the refusal: the filter did it."""
    given = ", ".join(f"{f.name}={getattr(filters, f.name)}"
                      for f in dataclass_fields(filters) if getattr(filters, f.name))
    if chinese:  # an answer is in the question's language, as the refusal is
        return f"没有文档符合筛选条件（{given}）。"
    return f"no document matches the filter ({given})"


def reader_from(settings: Settings) -> Reader:
    """The trained reader the settings name (rag/models/ unless RAG_READER_WEIGHTS is set)."""
    from rag.reader import TrainedReader

    weights = settings.reader_weights
    return TrainedReader(settings.home / "models", threshold=settings.reader_threshold,
                         compute_type=settings.reader_compute_type,
                         **({"weights": weights} if weights else {}))


def reading_passages(hits: list[Hit], docs: dict, terms: dict[str, float],
                     window_chars: int) -> list[Passage]:
    """What the reader reads: around each top passage's sentence that holds the most question
    term weight, whole sentences up to `window_chars` (0: the whole passage). A letter's
    signatory and signing date are header fields (rag/fields.py), not read here."""
    out = []
    for h in hits:
        text = docs[h.chunk.doc_id].text
        s, e = focus_window(text, h.chunk.start, h.chunk.end, terms, window_chars)
        out.append(Passage(h.chunk.doc_id, s, text[s:e]))
    return out


def focus_window(text: str, start: int, end: int, terms: dict[str, float],
                 window_chars: int) -> tuple[int, int]:
    """The sentences of text[start:end] around the one holding the most term weight, grown
    alternately forward and back while they fit in `window_chars`."""
    spans = sentence_spans(text, start, end)
    if not window_chars or end - start <= window_chars or not spans:
        return start, end
    norm = [normalise(text[s:e]) for s, e in spans]
    best = max(range(len(spans)), key=lambda i: (sum(w for t, w in terms.items() if t in norm[i]), -i))
    lo = hi = best
    while True:
        grown = False
        for nlo, nhi in ((lo, hi + 1), (lo - 1, hi)):
            if 0 <= nlo and nhi < len(spans) and spans[nhi][1] - spans[nlo][0] <= window_chars:
                lo, hi, grown = nlo, nhi, True
        if not grown:
            break
    return spans[lo][0], spans[hi][1]


def _live_name(index_dir: Path) -> str:
    try:
        return (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        return ""
