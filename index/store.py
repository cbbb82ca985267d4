"""The index directory: FAISS vectors, BM25, chunks, documents and manifest (the only importer of faiss).

Layout, chosen so that a write is atomic and a reader never sees half an index:

    INDEX_DIR/CURRENT          name of the live generation, replaced with os.replace()
    INDEX_DIR/gen-000007/      one complete, immutable index
        manifest.json          format, embedder, chunker, document hashes, file sizes and sha256
        documents.jsonl        {id, text, meta}
        chunks.jsonl           {id, doc_id, start, end, meta, embed_hash}; text is re-cut from documents
        dense.faiss            inner product over L2-normalised float32
        bm25/                  bm25s files

A new generation is written under a temporary name, fsynced, renamed to `gen-N`, and only then
does CURRENT point at it. A crash at any moment leaves CURRENT naming the previous, complete one.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from index.types import Chunk, Document

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".lock"
KEEP_GENERATIONS = 2  # the live one and its predecessor, which a slow reader may still be loading
MMAP_MIN_BYTES = 256 << 20  # a dense index this large is memory-mapped rather than read in


class IndexError_(Exception):
    """Base for index problems a user can act on; the message names the path."""


class IndexNotFound(IndexError_):
    """No index exists at the given directory."""


class IndexMismatch(IndexError_):
    """The index was built by another embedder or a newer format."""


class IndexCorrupt(IndexError_):
    """A file of the index is missing, truncated or altered."""


class NothingToIndex(IndexError_):
    """An ingest found no loadable document and there is no index to keep."""


class IndexLocked(IndexError_):
    """Another writer holds the index."""


class FaissStore:
    """Dense vectors in a FAISS inner-product index; row i is chunk i."""

    def __init__(self, index) -> None:
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int, flat_max: int | None = None) -> "FaissStore":
        """Flat up to `ann.FLAT_MAX` vectors (or `flat_max`), an approximate index above."""
        from index import ann

        return cls(ann.make_index(vectors, dim, flat_max=flat_max)[0])

    @classmethod
    def load(cls, path: Path) -> "FaissStore":
        """Read an index; a large one is memory-mapped, so it is paged in as searched."""
        import faiss

        mmap = path.stat().st_size >= MMAP_MIN_BYTES
        return cls(faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0))

    def describe(self) -> dict[str, Any]:
        """Index kind and search parameters, for the manifest."""
        from index import ann

        return ann.describe(self._index)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def vectors(self) -> np.ndarray:
        """All stored vectors, for reuse when the index is rebuilt."""
        if self.size == 0:
            return np.zeros((0, self._index.d), np.float32)
        return self._index.reconstruct_n(0, self.size)

    def search(self, query: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k nearest chunks, best first, among `allowed` rows if given."""
        from index import ann

        k = min(k, self.size if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        # Filters are searched inside FAISS (or exactly), so k results come back when k exist.
        return ann.search(self._index, query, k, allowed)


@dataclass(frozen=True)
class LoadedIndex:
    """Everything a query needs, loaded from one generation."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    embed_hashes: list[str]
    dense: FaissStore
    bm25: Any  # index.lexical.BM25Index; typed loosely so this module needs no jieba


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_of(gen: Path) -> list[Path]:
    return sorted(p for p in gen.rglob("*") if p.is_file() and p.name != "manifest.json")


def _fsync_tree(root: Path) -> None:
    for path in [*root.rglob("*"), root]:
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def current_generation(index_dir: Path) -> Path:
    """The live generation folder; IndexNotFound if there is none."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexNotFound(f"no index at {index_dir} (run `rag ingest PATH --index {index_dir}`)")
    gen = index_dir / pointer.read_text(encoding="utf-8").strip()
    if not gen.is_dir():
        raise IndexCorrupt(f"{pointer} names {gen.name}, which does not exist")
    return gen


def read_manifest(index_dir: Path, generation: Path | None = None) -> dict[str, Any]:
    """The manifest of `generation`, or of the live one."""
    path = (generation or current_generation(index_dir)) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path} is unreadable: {exc}") from None


@contextlib.contextmanager
def writer_lock(index_dir: Path, wait_s: float = 30.0) -> Iterator[None]:
    """Exclusive lock for writers: a second writer waits up to `wait_s`, then fails clearly."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK).open("a") as fh:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLocked(f"{index_dir} is being written by another process") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_jsonl(path: Path, records) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def save_index(index_dir: Path, *, manifest: dict[str, Any], documents: list[Document],
               chunks: list[Chunk], embed_hashes: list[str], dense: FaissStore, bm25) -> Path:
    """Write a new generation and make it live atomically; the caller holds `writer_lock`."""
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-gen-", dir=index_dir))
    tmp.chmod(0o755)
    try:
        _write_jsonl(tmp / "documents.jsonl",
                     ({"id": d.id, "text": d.text, "meta": d.meta} for d in documents))
        _write_jsonl(tmp / "chunks.jsonl", (
            {"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "meta": c.meta,
             "embed_hash": h} for c, h in zip(chunks, embed_hashes)))
        dense.save(tmp / "dense.faiss")
        bm25.save(tmp / "bm25")
        manifest = dict(manifest, format_version=FORMAT_VERSION, dense=dense.describe(), files={
            p.relative_to(tmp).as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
            for p in _files_of(tmp)})
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                           encoding="utf-8")
        _fsync_tree(tmp)
        gens = sorted(index_dir.glob("gen-*"))
        number = int(gens[-1].name.split("-")[1]) + 1 if gens else 1
        gen = index_dir / f"gen-{number:06d}"
        os.rename(tmp, gen)
        pointer_tmp = index_dir / f".{CURRENT}.tmp"
        pointer_tmp.write_text(gen.name, encoding="utf-8")
        with pointer_tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(pointer_tmp, index_dir / CURRENT)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in sorted(index_dir.glob("gen-*"))[:-KEEP_GENERATIONS]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in index_dir.glob(".tmp-gen-*"):  # left by a writer that was killed
        shutil.rmtree(stale, ignore_errors=True)
    return gen


def verify_files(gen: Path, manifest: dict[str, Any], full: bool) -> None:
    """Check every file the manifest lists: size always, sha256 when `full`."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise IndexCorrupt(f"{gen / 'manifest.json'} lists no files")
    for name, expected in files.items():
        path = gen / name
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing")
        if path.stat().st_size != expected["size"]:
            raise IndexCorrupt(f"{path} has {path.stat().st_size} bytes, "
                               f"the manifest says {expected['size']}")
        if full and _sha256(path) != expected["sha256"]:
            raise IndexCorrupt(f"{path} does not match its checksum in the manifest")


def check_compatible(manifest: dict[str, Any], embedder_id: str | None, where: Path) -> None:
    """Refuse an index from a newer format or another embedder, naming both sides."""
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatch(f"{where} has index format {version}, this program reads format "
                            f"{FORMAT_VERSION}; rebuild it with `rag ingest`")
    built_with = manifest.get("embedder", {}).get("id")
    if embedder_id is not None and built_with != embedder_id:
        raise IndexMismatch(f"{where} was built with embedder {built_with!r}, but the configured "
                            f"embedder is {embedder_id!r}; use the same embedder or re-ingest")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path} is unreadable: {exc}") from None


def _documents(gen: Path) -> dict[str, Document]:
    return {rec["id"]: Document(id=rec["id"], text=rec["text"], meta=rec["meta"])
            for rec in _read_jsonl(gen / "documents.jsonl")}


def load_documents(index_dir: Path) -> dict[str, Document]:
    """The live generation's documents alone: no vectors, no BM25, no embedder needed."""
    gen = current_generation(index_dir)
    manifest = read_manifest(index_dir, gen)
    check_compatible(manifest, None, index_dir)
    verify_files(gen, manifest, full=False)  # sizes only: cheap, and catches a truncated file
    return _documents(gen)


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def index_stats(index_dir: Path) -> dict[str, Any]:
    """What the live generation holds and what the directory costs on disk."""
    gen = current_generation(index_dir)
    manifest = read_manifest(index_dir, gen)
    documents = load_documents(index_dir)
    formats: dict[str, int] = {}
    for doc in documents.values():
        fmt = doc.meta.get("format", "txt")  # indexes from before formats were recorded
        formats[fmt] = formats.get(fmt, 0) + 1
    return {
        "index": str(index_dir), "generation": gen.name,
        "created_at": manifest.get("created_at"), "format_version": manifest.get("format_version"),
        "embedder": manifest.get("embedder"), "chunker": manifest.get("chunker"),
        "documents": len(documents), "chunks": manifest.get("counts", {}).get("chunks"),
        "characters": sum(len(d.text) for d in documents.values()),
        "formats": dict(sorted(formats.items())),
        "generation_bytes": _dir_bytes(gen), "total_bytes": _dir_bytes(index_dir),
        "generations": len(list(index_dir.glob("gen-*"))),
    }


def load_index(index_dir: Path, embedder_id: str | None = None, verify: bool = False) -> LoadedIndex:
    """Load the live generation; checks compatibility and file sizes (and checksums if `verify`)."""
    from index.lexical import BM25Index

    gen = current_generation(index_dir)  # resolved once: a writer may switch CURRENT meanwhile
    manifest = read_manifest(index_dir, gen)
    check_compatible(manifest, embedder_id, index_dir)
    verify_files(gen, manifest, full=verify)
    documents = _documents(gen)
    chunks, hashes = [], []
    for rec in _read_jsonl(gen / "chunks.jsonl"):
        doc = documents.get(rec["doc_id"])
        if doc is None or not 0 <= rec["start"] <= rec["end"] <= len(doc.text):
            raise IndexCorrupt(f"{gen / 'chunks.jsonl'}: chunk {rec['id']} points outside its "
                               "document")
        chunks.append(Chunk(id=rec["id"], doc_id=rec["doc_id"], start=rec["start"],
                            end=rec["end"], text=doc.text[rec["start"]:rec["end"]],
                            meta=rec["meta"]))
        hashes.append(rec["embed_hash"])
    try:
        dense = FaissStore.load(gen / "dense.faiss")
        bm25 = BM25Index.load(gen / "bm25")
    except Exception as exc:  # faiss and bm25s raise assorted types on damaged files
        raise IndexCorrupt(f"{gen}: cannot read the vector or BM25 index: {exc}") from None
    if dense.size != len(chunks) or bm25.size != len(chunks):
        raise IndexCorrupt(f"{gen}: {len(chunks)} chunks but {dense.size} vectors and "
                           f"{bm25.size} BM25 rows")
    return LoadedIndex(gen, manifest, documents, chunks, hashes, dense, bm25)
