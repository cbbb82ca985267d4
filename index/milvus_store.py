"""Dense vectors in Milvus (the only importer of pymilvus): one collection per index generation.

`RAG_MILVUS_URI` is a Milvus Lite folder (`/path/milvus.db`, in-process, one process at a time)
or a server (`http://host:19530`). The index directory keeps everything else (manifest, BM25,
chunks, documents); each generation folder holds `dense.milvus.json`, naming the URI, the
collection and its row count, and checksummed by the manifest like every other file.

Why a collection per generation rather than rows tagged with a generation id: the generation
folder and CURRENT stay the one unit of atomicity. A writer fills, flushes, indexes and loads a
fresh collection *before* the folder is renamed and CURRENT switched, so

- a crash mid-write leaves CURRENT on the previous generation, whose collection nobody touched;
  the half-written collection is an orphan that the next successful writer drops (`release`);
- pruning a generation drops its collection; a reader never sees rows of two generations.

The price is that every generation copies all vectors, as FAISS rewrites `dense.faiss`; see
docs/SCALING.md for when that stops being acceptable.

Rows are `id` (INT64 primary key = chunk row) and `vector` (FLOAT_VECTOR), under a FLAT index with
the IP metric: exact search, the same ranking as FAISS's IndexFlatIP. Collection names are
`{prefix}_{owner}_{token}`, where `owner` hashes the index directory's absolute path, so a writer
only ever drops collections its own directory created, even when indexes share one Milvus.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException

from index.store import IndexCorrupt, IndexError_

FILE = "dense.milvus.json"
MAX_TOPK = 16384  # Milvus's limit on one search's k
PAGE = 4096  # rows per insert and per query page (Milvus caps a query at 16384 rows, 64 MB)
_SCHEMES = ("http://", "https://", "tcp://", "grpc://", "unix:")


def normal_uri(uri: str) -> str:
    """A server URI as given; a Milvus Lite path made absolute (it must end in .db)."""
    if uri.startswith(_SCHEMES):
        return uri
    if not uri.endswith(".db"):
        from index.vectors import BackendUnavailable

        raise BackendUnavailable(f"RAG_MILVUS_URI {uri!r} is neither http://host:port nor a "
                                 "Milvus Lite path ending in .db")
    return os.path.abspath(uri)


class MilvusUnavailable(IndexError_):
    """Milvus cannot be reached or opened (a Lite folder another process holds)."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pymilvus and milvus-lite log a traceback for each failure; ours is a one-line error."""
    loggers = [logging.getLogger(name) for name in ("pymilvus", "milvus_lite")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


@functools.lru_cache(maxsize=None)
def _client(uri: str) -> MilvusClient:
    # One client per URI and process: Milvus Lite holds its folder's lock for the process.
    try:
        with _quiet():
            return MilvusClient(uri=uri)
    except MilvusException as exc:
        raise MilvusUnavailable(f"cannot open Milvus at {uri}: {exc.message} (a Milvus Lite "
                                "folder is open to one process at a time; several need a "
                                "Milvus server)") from None


def owner_tag(index_dir: Path) -> str:
    """Short, stable name of an index directory, part of its collections' names."""
    return hashlib.sha256(str(index_dir.resolve()).encode("utf-8")).hexdigest()[:10]


def _create(client: MilvusClient, name: str, vectors: np.ndarray) -> None:
    """A new collection holding `vectors` as rows 0..n-1, flushed, indexed and loaded."""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(vectors.shape[1]))
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    # Strong consistency: a search right after the write sees every row.
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    for lo in range(0, len(vectors), PAGE):
        client.insert(name, [{"id": lo + i, "vector": v.tolist()}
                             for i, v in enumerate(vectors[lo:lo + PAGE])])
    client.flush(name)
    client.load_collection(name)


def _count(client: MilvusClient, name: str) -> int:
    return int(client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"])


class MilvusStore:
    """Dense vectors of one generation in one Milvus collection; row i is chunk i."""

    kind = "milvus"
    FILE = FILE

    def __init__(self, uri: str, collection: str, prefix: str, dim: int, size: int,
                 claimed: bool) -> None:
        self.uri, self.collection, self.prefix = uri, collection, prefix
        self._dim, self._size = dim, size
        # False until a generation names the collection: the first save adopts it, later
        # saves (a loaded store written into a new generation) copy it, so that pruning one
        # generation never drops a collection another still names.
        self._claimed = claimed

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int, *, uri: str, prefix: str,
              index_dir: Path) -> "MilvusStore":
        """A new collection for the next generation of `index_dir`, filled with `vectors`."""
        uri = normal_uri(uri)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
        name = f"{prefix}_{owner_tag(index_dir)}_{uuid.uuid4().hex[:12]}"
        _create(_client(uri), name, vectors)
        return cls(uri, name, prefix, dim, len(vectors), claimed=False)

    @classmethod
    def load(cls, path: Path) -> "MilvusStore":
        """The collection a generation's `dense.milvus.json` names; IndexCorrupt if it is gone."""
        meta = _read(path)
        client = _client(meta["uri"])
        name = meta["collection"]
        try:
            with _quiet():
                present = client.has_collection(name)
                if present:
                    client.load_collection(name)
                    size = _count(client, name)
        except MilvusException as exc:
            raise IndexCorrupt(f"{path}: Milvus at {meta['uri']} failed: {exc.message}") from None
        if not present:
            raise IndexCorrupt(f"{path} names Milvus collection {name}, which {meta['uri']} "
                               "does not hold; rebuild with `rag ingest`")
        if size != meta["count"]:
            raise IndexCorrupt(f"{path}: collection {name} has {size} rows, the generation "
                               f"recorded {meta['count']}")
        return cls(meta["uri"], name, meta["prefix"], meta["dim"], size, claimed=True)

    def save(self, path: Path) -> None:
        """Name this store's collection (or a fresh copy of it) in a generation folder."""
        if self._claimed:
            copy = MilvusStore.build(self.vectors(), self._dim, uri=self.uri, prefix=self.prefix,
                                     index_dir=path.parent.parent)
            return copy.save(path)
        path.write_text(json.dumps({"uri": self.uri, "collection": self.collection,
                                    "prefix": self.prefix, "dim": self._dim,
                                    "count": self._size, "index": "FLAT", "metric": "IP"}),
                        encoding="utf-8")
        self._claimed = True

    def describe(self) -> dict:
        """What the manifest records of the dense index: where the vectors live and how."""
        return {"kind": "milvus", "collection": self.collection, "index": "FLAT", "metric": "IP",
                "vectors": self._size}

    @property
    def size(self) -> int:
        return self._size

    def vectors(self) -> np.ndarray:
        out = np.zeros((self._size, self._dim), np.float32)
        client = _client(self.uri)
        for lo in range(0, self._size, PAGE):
            rows = client.query(self.collection, filter=f"id >= {lo} and id < {lo + PAGE}",
                                output_fields=["vector"])
            for row in rows:
                out[row["id"]] = row["vector"]
        return out

    def search(self, query: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows), best first; `allowed` becomes the search's own `id in [...]` filter."""
        k = min(k, MAX_TOPK, self._size if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        expr = "" if allowed is None else f"id in [{','.join(map(str, allowed.tolist()))}]"
        try:
            result = _client(self.uri).search(
                self.collection, data=[np.asarray(query, np.float32).tolist()], limit=k,
                filter=expr, output_fields=["id"], search_params={"metric_type": "IP"})
        except MilvusException as exc:
            raise IndexCorrupt(f"Milvus collection {self.collection} at {self.uri} failed: "
                               f"{exc.message}") from None
        hits = result[0]
        return (np.array([h["distance"] for h in hits], np.float32),
                np.array([h["id"] for h in hits], np.int64))


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path} is unreadable: {exc}") from None


def release(index_dir: Path, pruned: Iterable[Path], kept: Iterable[Path]) -> None:
    """Drop the collections of pruned generations, and orphans of a crashed writer: every
    collection of this directory (by name) that no kept generation names."""
    kept_meta = [_read(g / FILE) for g in kept if (g / FILE).is_file()]
    pruned_meta = [_read(g / FILE) for g in pruned if (g / FILE).is_file()]
    live = {(m["uri"], m["collection"]) for m in kept_meta}
    owner = owner_tag(index_dir)
    for uri, prefix in {(m["uri"], m["prefix"]) for m in [*kept_meta, *pruned_meta]}:
        mine = f"{prefix}_{owner}_"
        try:
            client = _client(uri)
            for name in client.list_collections():
                if name.startswith(mine) and (uri, name) not in live:
                    client.drop_collection(name)
        except MilvusException:
            pass  # the new generation is live already; what is left is dropped next time
