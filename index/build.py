"""Ingest: files to a new index generation, reusing every vector whose input text is unchanged."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from index import faults
from index.chunking import ChunkerParams, chunk_document
from index.embed_cache import EmbeddingCache
from index.embedding import Embedder
from index.lexical import BM25Index
from index.loaders import SUPPORTED_SUFFIXES, FileError, load_sources, scan
from index.store import (DEFAULT_LOCK_WAIT_S, IndexError_, IndexNotFound, LoadedIndex,
                         NothingToIndex, load_index, save_index, writer_lock)
from index.types import Chunk, Document
from index.vectors import VectorBackend, backend_of

EMBED_BATCH = 16
# progress(stage, done, total): stage is "embed"; lets the CLI draw a bar without this module
# knowing about terminals.
Progress = Callable[[str, int, int], None]
# Embeds batches of passages elsewhere (index/distributed.py), yielding their vectors in order.
EmbedBatches = Callable[[list[list[str]]], Iterable[np.ndarray]]


@dataclass
class IngestReport:
    """What an ingest did, for the CLI and for tests."""

    documents: int = 0  # documents in the index afterwards
    chunks: int = 0  # chunks in the index afterwards
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded: int = 0  # chunks whose vectors were computed in this run
    reused: int = 0  # chunks whose vectors came from the previous index
    cached: int = 0  # chunks whose vectors came from the embedding cache
    ocr_pages: int = 0  # scanned pages OCR'd in this run (not those the OCR cache answered)
    errors: list[FileError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # files in the folders of a type not read
    timings_s: dict[str, float] = field(default_factory=dict)
    index_path: str = ""


def embed_hash(embedder_id: str, text: str) -> str:
    """Key of a chunk's vector: the same embedder on the same input text gives the same vector."""
    return hashlib.sha256(f"{embedder_id}\x00{text}".encode("utf-8")).hexdigest()


def _previous(index_dir: Path, embedder: Embedder) -> LoadedIndex | None:
    try:
        return load_index(index_dir, embedder_id=embedder.id)
    except IndexNotFound:
        return None


def _embed(texts: list[str], hashes: list[str], embedder: Embedder, progress: Progress | None,
           cache: EmbeddingCache | None = None,
           embed_batches: EmbedBatches | None = None) -> np.ndarray:
    out = np.zeros((len(texts), embedder.dim), np.float32)
    # The same batches either way, so a distributed run computes exactly what this one does.
    batches = [texts[lo:lo + EMBED_BATCH] for lo in range(0, len(texts), EMBED_BATCH)]
    if not batches:
        return out
    # An embedder with several engines picks by volume (the fast one pays its load off only
    # for a bulk ingest).
    engine = embedder.bulk_engine(len(texts)) if hasattr(embedder, "bulk_engine") else embedder
    run = embed_batches or (lambda bs: map(engine.embed_passages, bs))
    for n, vectors in enumerate(run(batches)):
        lo = n * EMBED_BATCH
        hi = lo + len(batches[n])
        out[lo:hi] = vectors
        if cache is not None:  # batch by batch, so an ingest killed half-way keeps its work
            cache.put_many(dict(zip(hashes[lo:hi], out[lo:hi])))
        faults.crash_point("mid_embed")
        if progress:
            progress("embed", hi, len(texts))
    return out


def _merge(old_docs: dict[str, Document], new_docs: list[Document],
           report: IngestReport) -> dict[str, Document]:
    """The indexed documents with the batch's new and changed ones in; files that repeat the
    text of another document (in the index or earlier in the batch) are reported, not indexed."""
    docs = dict(old_docs)
    holder = {d.meta.get("content_hash"): doc_id for doc_id, d in old_docs.items()}
    for doc in new_docs:
        digest = doc.meta["content_hash"]
        same = holder.get(digest)
        if same is not None and same != doc.id:
            # Two copies would fill the top passages with the same text twice.
            report.errors.append(FileError(doc.meta.get("source_path", doc.id),
                                           f"same text as {same}; not indexed twice"))
            continue
        holder[digest] = doc.id
        previous = old_docs.get(doc.id)
        if previous is None:
            report.added.append(doc.id)
        elif previous.meta.get("content_hash") != digest or _fields(previous) != _fields(doc):
            # Same text, new fields: the loader has learnt to read more (a new metadata field),
            # so the stored document is refreshed; unchanged chunks keep their vectors.
            report.replaced.append(doc.id)
        else:
            report.unchanged.append(doc.id)
            continue
        docs[doc.id] = doc
    return docs


def _fields(doc: Document) -> dict:
    """The metadata read off a document; where the file lies is no part of it."""
    return {k: v for k, v in doc.meta.items() if k != "source_path"}


def ingest(paths: list[Path], index_dir: Path, embedder: Embedder,
           params: ChunkerParams = ChunkerParams(), progress: Progress | None = None,
           backend: VectorBackend | None = None,
           embed_batches: EmbedBatches | None = None,
           embed_cache: EmbeddingCache | None = None,
           lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
           ocr_cache: Path | None = None) -> IngestReport:
    """Add new files, replace changed ones, keep the rest; embed only what is new.

    Files are matched to indexed documents by doc_id and compared by content hash. A file that
    cannot be loaded, or repeats another document's text, is reported in `errors` and changes
    nothing: an indexed copy of it stays as it was. An index built with another embedder is
    refused (IndexMismatch) rather than silently mixed. `backend` says where the vectors go (by
    default where they are, else FAISS); a new backend moves them without re-embedding.
    Scanned pages are OCR'd with progress stage "ocr" (per file) and cached in `ocr_cache`.
    """
    from index.extract.ocr import Ocr  # light: the engine itself is imported only for a scan

    t0 = time.perf_counter()
    found = scan(paths)
    ocr_progress = (lambda done, total: progress("ocr", done, total)) if progress else None
    with Ocr(cache_path=ocr_cache, progress=ocr_progress) as ocr:
        new_docs, errors = load_sources(found, ocr)
    try:
        report = ingest_documents(new_docs, index_dir, embedder, params, progress,
                                  sources=", ".join(str(p) for p in paths), t0=t0,
                                  backend=backend, embed_batches=embed_batches,
                                  embed_cache=embed_cache, lock_wait_s=lock_wait_s)
    except NothingToIndex:
        # The one line the user sees: say why, since the per-file report is not printed.
        raise NothingToIndex(_why_nothing(paths, errors, found.ignored)) from None
    report.errors = errors + report.errors  # load failures first, then repeated texts
    report.ocr_pages = ocr.ocr_pages
    report.ignored = [str(p) for p in found.ignored]
    return report


def _why_nothing(paths: list[Path], errors: list[FileError], ignored: list[Path],
                 shown: int = 10) -> str:
    """Why an ingest found nothing to index: the first file that failed, else the suffixes it
    reads and the files it passed over."""
    where = ", ".join(str(p) for p in paths)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"no loadable document in {where}: {errors[0].path}: {errors[0].reason}{more}"
    message = f"no supported file in {where} (supported: {', '.join(SUPPORTED_SUFFIXES)})"
    if not ignored:
        return message
    names = ", ".join(str(p) for p in ignored[:shown])
    more = f" and {len(ignored) - shown} more" if len(ignored) > shown else ""
    return f"{message}; skipped {len(ignored)} file(s): {names}{more}"


def ingest_documents(new_docs: list[Document], index_dir: Path, embedder: Embedder,
                     params: ChunkerParams = ChunkerParams(), progress: Progress | None = None,
                     sources: str = "the given documents", t0: float | None = None,
                     backend: VectorBackend | None = None,
                     embed_batches: EmbedBatches | None = None,
                     embed_cache: EmbeddingCache | None = None,
                     lock_wait_s: float = DEFAULT_LOCK_WAIT_S) -> IngestReport:
    """`ingest` for documents already in memory (an HTTP upload): same matching and reuse.

    A vector comes from the previous generation, else from `embed_cache`, else is computed
    (and then stored in `embed_cache`).
    """
    report = IngestReport(index_path=str(index_dir))
    t0 = time.perf_counter() if t0 is None else t0
    report.timings_s["load"] = time.perf_counter() - t0
    with writer_lock(index_dir, lock_wait_s):
        old = _previous(index_dir, embedder)
        old_docs: dict[str, Document] = dict(old.documents) if old else {}
        same_chunker = bool(old) and old.manifest.get("chunker") == params.to_dict()
        docs = _merge(old_docs, new_docs, report)
        moved = bool(old) and backend is not None and not backend.holds(old.dense)
        if old and same_chunker and not moved and not report.added and not report.replaced:
            report.documents, report.chunks = len(old.documents), len(old.chunks)
            report.reused = len(old.chunks)
            report.timings_s["total"] = time.perf_counter() - t0
            return report  # nothing changed: keep the live generation as it is

        # Every document is re-chunked (cheap, and keeps one chunker across the index); only
        # chunks whose embedded text is new are embedded.
        t1 = time.perf_counter()
        ordered = [docs[k] for k in sorted(docs)]
        if not ordered:
            raise NothingToIndex(f"no loadable document in {sources}")
        chunks: list[Chunk] = [c for d in ordered for c in chunk_document(d, params)]
        texts = [c.indexed_text() for c in chunks]
        hashes = [embed_hash(embedder.id, t) for t in texts]
        report.timings_s["chunk"] = time.perf_counter() - t1

        cache: dict[str, np.ndarray] = {}
        if old:
            old_vectors = old.dense.vectors()
            cache = {h: old_vectors[i] for i, h in enumerate(old.embed_hashes)}
        missing = [h for h in hashes if h not in cache]
        reused, cached = len(hashes) - len(missing), 0
        if embed_cache is not None and missing:
            stored = embed_cache.get_many(missing, embedder.dim)
            cached = sum(h in stored for h in missing)
            cache.update(stored)
        todo = [i for i, h in enumerate(hashes) if h not in cache]
        t2 = time.perf_counter()
        fresh = _embed([texts[i] for i in todo], [hashes[i] for i in todo], embedder, progress,
                       embed_cache, embed_batches)
        report.timings_s["embed"] = time.perf_counter() - t2
        vectors = np.zeros((len(chunks), embedder.dim), np.float32)
        for row, i in enumerate(todo):
            vectors[i] = fresh[row]
        for i, h in enumerate(hashes):
            if h in cache:
                vectors[i] = cache[h]
        report.embedded, report.reused, report.cached = len(todo), reused, cached

        t3 = time.perf_counter()
        backend = backend or (backend_of(old.dense) if old else VectorBackend())
        _save(index_dir, embedder, params.to_dict(), ordered, chunks, hashes, vectors, backend)
        report.timings_s["save"] = time.perf_counter() - t3
        report.documents, report.chunks = len(ordered), len(chunks)
        report.timings_s["total"] = time.perf_counter() - t0
        return report


def _save(index_dir: Path, embedder: Embedder, chunker: dict, documents: list[Document],
          chunks: list[Chunk], hashes: list[str], vectors: np.ndarray,
          backend: VectorBackend) -> Path:
    """Write one generation (manifest, vectors, BM25) and make it live; caller holds the lock."""
    manifest = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "embedder": {"id": embedder.id, "dim": embedder.dim},
        "chunker": chunker,
        "documents": {d.id: {"content_hash": d.meta["content_hash"],
                             "title": d.meta.get("title", "")} for d in documents},
        "counts": {"documents": len(documents), "chunks": len(chunks)},
    }
    return save_index(index_dir, manifest=manifest, documents=documents, chunks=chunks,
                      embed_hashes=hashes, dense=backend.build(vectors, embedder.dim, index_dir),
                      bm25=BM25Index.build([c.indexed_text() for c in chunks]))


class UnknownDocument(IndexError_):
    """A doc_id that the index does not hold."""


def delete_documents(doc_ids: list[str], index_dir: Path, embedder: Embedder,
                     backend: VectorBackend | None = None,
                     lock_wait_s: float = DEFAULT_LOCK_WAIT_S) -> Path:
    """Write a new generation without `doc_ids` and make it live; returns the generation.

    The remaining chunks and their vectors are kept exactly as they are (no re-chunking, no
    embedding); only BM25 is rebuilt, because its IDF depends on the whole collection.
    UnknownDocument if an id is not indexed; NothingToIndex if no document would remain.
    """
    with writer_lock(index_dir, lock_wait_s):
        old = load_index(index_dir, embedder_id=embedder.id)
        missing = [d for d in doc_ids if d not in old.documents]
        if missing:
            raise UnknownDocument(f"no document {missing[0]!r} in {index_dir}")
        gone = set(doc_ids)
        documents = [d for k, d in sorted(old.documents.items()) if k not in gone]
        if not documents:
            raise NothingToIndex(f"deleting {', '.join(doc_ids)} would leave {index_dir} empty")
        rows = [i for i, c in enumerate(old.chunks) if c.doc_id not in gone]
        vectors = old.dense.vectors()[rows] if rows else np.zeros((0, embedder.dim), np.float32)
        return _save(index_dir, embedder, old.manifest.get("chunker", {}), documents,
                     [old.chunks[i] for i in rows], [old.embed_hashes[i] for i in rows], vectors,
                     backend or backend_of(old.dense))
