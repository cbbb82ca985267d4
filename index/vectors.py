"""The `VectorStore` seam: where an index generation keeps its dense vectors.

Two implementations: `index.store.FaissStore` (the default; a file in the generation folder) and
`index.milvus_store.MilvusStore` (a Milvus collection per generation; the folder keeps a small
file naming it). Row i of a store is chunk i of its generation in both, so filters pass chunk rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, runtime_checkable

import numpy as np

KINDS = ("faiss", "milvus")
_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # Milvus collection-name rules


class BackendUnavailable(ValueError):
    """The configured vector store needs a package that is not installed, or bad settings."""


@runtime_checkable
class VectorStore(Protocol):
    """Dense vectors of one generation, searched by inner product (cosine on unit vectors)."""

    kind: str  # "faiss" or "milvus"
    FILE: str  # the file it keeps in a generation folder

    @property
    def size(self) -> int:
        """Number of vectors; row ids are 0..size-1."""

    def vectors(self) -> np.ndarray:
        """All vectors in row order, (size, dim) float32: reused when the index is rebuilt."""

    def search(self, query: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k nearest rows, best first; only `allowed` rows if given, and
        the restriction is applied inside the search, so k results come back when k exist."""

    def describe(self) -> dict:
        """Index kind and parameters, recorded in the generation's manifest."""

    def save(self, path: Path) -> None:
        """Write a complete copy into `path` (`gen_dir / FILE`), a generation folder inside the
        index directory that is not live yet."""


@dataclass(frozen=True)
class VectorBackend:
    """Where new generations put their vectors: the `RAG_VECTOR_STORE` choice and its address."""

    kind: str = "faiss"
    uri: str = ""  # Milvus: a Milvus Lite folder path (*.db) or http://host:19530
    prefix: str = "cqrag"  # Milvus collection names start with this

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BackendUnavailable(f"unknown vector store {self.kind!r}; use one of {KINDS}")
        if self.kind == "milvus":
            if not self.uri:
                raise BackendUnavailable("the milvus vector store needs RAG_MILVUS_URI")
            if not _PREFIX.match(self.prefix):
                raise BackendUnavailable(f"RAG_MILVUS_COLLECTION {self.prefix!r} must be a "
                                         "letter or _ then letters, digits or _ (64 at most)")
            _milvus().normal_uri(self.uri)  # a missing pymilvus or a bad URI fails here, early

    def build(self, vectors: np.ndarray, dim: int, index_dir: Path) -> VectorStore:
        """A store holding `vectors` for the next generation of `index_dir` (written on save)."""
        if self.kind == "faiss":
            from index.store import FaissStore

            return FaissStore.build(vectors, dim)
        return _milvus().MilvusStore.build(vectors, dim, uri=self.uri, prefix=self.prefix,
                                           index_dir=index_dir)

    def holds(self, store: VectorStore) -> bool:
        """Whether `store` already lives where this backend would write (no migration needed)."""
        if store.kind != self.kind:
            return False
        return self.kind == "faiss" or getattr(store, "uri", None) == _milvus().normal_uri(self.uri)


def backend_of(store: VectorStore) -> VectorBackend:
    """The backend that wrote `store`, so that a rewrite keeps the vectors where they are."""
    if store.kind == "milvus":
        return VectorBackend("milvus", uri=store.uri, prefix=store.prefix)
    return VectorBackend()


def _milvus():
    try:
        import index.milvus_store as milvus_store
    except ImportError as exc:
        raise BackendUnavailable(f"RAG_VECTOR_STORE=milvus needs pymilvus ({exc.name} is "
                                 "missing): pip install '.[milvus]'") from None
    return milvus_store


def load_vector_store(gen: Path) -> VectorStore:
    """The store of a generation folder, whichever kind wrote it."""
    from index.store import FaissStore

    milvus_file = gen / "dense.milvus.json"
    if milvus_file.is_file():
        return _milvus().MilvusStore.load(milvus_file)
    return FaissStore.load(gen / FaissStore.FILE)


def release_generations(index_dir: Path, pruned: Iterable[Path], kept: Iterable[Path]) -> None:
    """Free what pruned generations hold outside their folder (Milvus collections), and what a
    writer that crashed mid-save left behind; called before the pruned folders are removed."""
    pruned, kept = list(pruned), list(kept)
    if any((g / "dense.milvus.json").is_file() for g in [*pruned, *kept]):
        _milvus().release(index_dir, pruned, kept)
