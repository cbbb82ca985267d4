"""The index directory: FAISS vectors, BM25, chunks, documents and manifest (the only importer of faiss).

Layout, chosen so that a write is atomic and a reader never sees half an index:

    INDEX_DIR/CURRENT          name of the live generation, replaced with os.replace()
    INDEX_DIR/gen-000007/      one complete, immutable index
        manifest.json          format, embedder, chunker, document hashes, file sizes and sha256
        documents.jsonl        {id, text, meta}
        chunks.jsonl           {id, doc_id, start, end, meta, embed_hash}; text is re-cut from documents
        dense.faiss            inner product over L2-normalised float32 (RAG_VECTOR_STORE=faiss)
        dense.milvus.json      or: the Milvus collection holding them (index/milvus_store.py)
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
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from index import faults
from index.types import Chunk, Document
from index.vectors import BackendUnavailable, load_vector_store, release_generations

if TYPE_CHECKING:
    from index.vectors import VectorStore

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".lock"
KEEP_GENERATIONS = 2  # the live one and its predecessor, which a slow reader may still be loading
DEFAULT_LOCK_WAIT_S = 30.0  # how long a second writer waits for the first (Settings.lock_wait_s)
_GEN_NAME = re.compile(r"gen-\d{6,}")
# The keys a manifest had before it carried its own checksum; such a manifest is still read.
_LEGACY_MANIFEST_KEYS = {"created_at", "embedder", "chunker", "documents", "counts",
                         "format_version", "files"}
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
    """Dense vectors in a FAISS inner-product index; row i is chunk i (a `VectorStore`)."""

    kind = "faiss"
    FILE = "dense.faiss"

    def __init__(self, index) -> None:
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int, flat_max: int | None = None) -> "FaissStore":
        """Flat up to `ann.FLAT_MAX` vectors (or `flat_max`), IVF above (index/ann.py)."""
        from index import ann

        return cls(ann.make_index(vectors, dim, flat_max=flat_max)[0])

    @classmethod
    def load(cls, path: Path) -> "FaissStore":
        """Read an index; a large one is memory-mapped, so it is paged in as searched."""
        import faiss

        from index import ann

        mmap = path.stat().st_size >= MMAP_MIN_BYTES
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
        ann.prepare(index)
        return cls(index)

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
    dense: VectorStore
    bm25: Any  # index.lexical.BM25Index; typed loosely so this module needs no jieba


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _manifest_digest(manifest: dict[str, Any]) -> str:
    """The manifest's checksum of itself: sha256 of its canonical JSON without that field."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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
        if any(index_dir.glob("gen-*")):  # a first build killed before its commit, or deleted
            raise IndexNotFound(f"no index at {index_dir}: {pointer} is missing, so no "
                                "generation there is known to be complete (run `rag ingest "
                                f"PATH --index {index_dir}`)")
        raise IndexNotFound(f"no index at {index_dir} (run `rag ingest PATH --index {index_dir}`)")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"{pointer} is unreadable: {exc}") from None
    if not _GEN_NAME.fullmatch(name):  # truncated or altered: never resolve it as a path
        raise IndexCorrupt(f"{pointer} is damaged: it holds {name[:40]!r}, not a generation name")
    gen = index_dir / name
    if not gen.is_dir():
        raise IndexCorrupt(f"{pointer} names {gen.name}, which does not exist")
    return gen


def read_manifest(index_dir: Path, generation: Path | None = None) -> dict[str, Any]:
    """The manifest of `generation`, or of the live one."""
    path = (generation or current_generation(index_dir)) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path} is unreadable: {exc}") from None
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"{path} is damaged: not a JSON object")
    # The manifest holds every other file's checksum, so it must be checkable itself: a changed
    # byte that leaves valid JSON (a digit of a size, a chunker parameter) is caught here.
    # (A manifest of another format version is left to check_compatible, which names both.)
    stored = manifest.get("manifest_sha256")
    if manifest.get("format_version") != FORMAT_VERSION:
        return manifest
    if stored is None and not set(manifest) <= _LEGACY_MANIFEST_KEYS:
        raise IndexCorrupt(f"{path} is damaged: it has no checksum of its own")
    if stored is not None and stored != _manifest_digest(manifest):
        raise IndexCorrupt(f"{path} does not match its own checksum")
    return manifest


@contextlib.contextmanager
def writer_lock(index_dir: Path, wait_s: float = DEFAULT_LOCK_WAIT_S) -> Iterator[None]:
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
               chunks: list[Chunk], embed_hashes: list[str], dense: VectorStore, bm25) -> Path:
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
        dense.save(tmp / dense.FILE)
        faults.crash_point("mid_save")
        bm25.save(tmp / "bm25")
        manifest = dict(manifest, format_version=FORMAT_VERSION, dense=dense.describe(), files={
            p.relative_to(tmp).as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
            for p in _files_of(tmp)})
        manifest.pop("manifest_sha256", None)  # a manifest copied from a loaded generation
        manifest["manifest_sha256"] = _manifest_digest(manifest)
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                           encoding="utf-8")
        _fsync_tree(tmp)
        gens = sorted(index_dir.glob("gen-*"))
        number = int(gens[-1].name.split("-")[1]) + 1 if gens else 1
        gen = index_dir / f"gen-{number:06d}"
        os.rename(tmp, gen)
        faults.crash_point("before_current")
        pointer_tmp = index_dir / f".{CURRENT}.tmp"
        pointer_tmp.write_text(gen.name, encoding="utf-8")
        with pointer_tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(pointer_tmp, index_dir / CURRENT)
        faults.crash_point("after_current")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    gens = sorted(index_dir.glob("gen-*"))
    release_generations(index_dir, gens[:-KEEP_GENERATIONS], gens[-KEEP_GENERATIONS:])
    for old in gens[:-KEEP_GENERATIONS]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in index_dir.glob(".tmp-gen-*"):  # left by a writer that was killed
        shutil.rmtree(stale, ignore_errors=True)
    return gen


def verify_files(gen: Path, manifest: dict[str, Any], full: bool = True) -> None:
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
    verify_files(gen, manifest)
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


def compact(index_dir: Path, lock_wait_s: float = DEFAULT_LOCK_WAIT_S) -> dict[str, Any]:
    """Remove every generation but the live one, and what killed writers left; under the lock.

    Refuses (IndexCorrupt) when the live generation fails its checksums: the older generations
    may then be the only sound copy. Returns what was removed and the bytes freed.
    """
    with writer_lock(index_dir, lock_wait_s):
        live = current_generation(index_dir)
        verify_files(live, read_manifest(index_dir, live))
        doomed = [p for p in index_dir.iterdir()
                  if p != live and (_GEN_NAME.fullmatch(p.name) or p.name.startswith(".tmp-gen-")
                                    or p.name == f".{CURRENT}.tmp")]
        freed = 0
        for path in sorted(doomed):
            if path.is_dir():
                freed += _dir_bytes(path)
                shutil.rmtree(path)
            else:
                freed += path.stat().st_size
                path.unlink()
        return {"index": str(index_dir), "live": live.name,
                "removed": sorted(p.name for p in doomed), "bytes_freed": freed,
                "bytes_left": _dir_bytes(index_dir)}


def load_index(index_dir: Path, embedder_id: str | None = None, verify: bool = True) -> LoadedIndex:
    """Load the live generation; checks compatibility, file sizes and sha256 checksums.

    The checksums are on by default: a changed byte in documents.jsonl or chunks.jsonl would
    otherwise move a citation's span or change its quote without any error, and hashing costs
    a small fraction of parsing the same files (see SECURITY.md). `verify=False` checks sizes
    only.
    """
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
        dense = load_vector_store(gen)
        bm25 = BM25Index.load(gen / "bm25")
    except (IndexError_, BackendUnavailable):
        raise
    except Exception as exc:  # faiss and bm25s raise assorted types on damaged files
        raise IndexCorrupt(f"{gen}: cannot read the vector or BM25 index: {exc}") from None
    if dense.size != len(chunks) or bm25.size != len(chunks):
        raise IndexCorrupt(f"{gen}: {len(chunks)} chunks but {dense.size} vectors and "
                           f"{bm25.size} BM25 rows")
    return LoadedIndex(gen, manifest, documents, chunks, hashes, dense, bm25)
