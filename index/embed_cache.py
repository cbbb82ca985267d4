"""A persistent embedding cache: vectors keyed by `embed_hash(embedder id, text)` (the only importer
of sqlite3).

The previous generation of an index already lends its vectors to the next ingest, but only to
chunks whose text is unchanged in *that* index. This cache outlives generations and indexes: a
chunker tweak tried and undone, a second index over the same files, or an ingest killed half-way
through embedding (each batch is stored as soon as it is computed) all find their vectors here
instead of paying for them again. The key already names the embedder, so two embedders never share
a row; a row whose length does not match the asked dimension is ignored, never used.

One SQLite file in WAL mode: concurrent ingests may read and write it, and a crash loses at most
the batch being written, never the file.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

_LOOKUP_BATCH = 500  # SQLite's default limit on `?` parameters is well above this


class EmbeddingCache:
    """Vectors of passages already embedded, by embed hash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vec BLOB)")
        self._db.commit()

    def get_many(self, hashes: Iterable[str], dim: int) -> dict[str, np.ndarray]:
        """The cached vectors among `hashes` (float32, length `dim`)."""
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, np.ndarray] = {}
        for lo in range(0, len(wanted), _LOOKUP_BATCH):
            part = wanted[lo:lo + _LOOKUP_BATCH]
            rows = self._db.execute(
                f"SELECT hash, vec FROM vectors WHERE hash IN ({','.join('?' * len(part))})", part)
            for key, blob in rows:
                if len(blob) == dim * 4:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Store vectors, one transaction; an existing row is replaced."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (hash, vec) VALUES (?, ?)",
                ((key, np.ascontiguousarray(vec, dtype=np.float32).tobytes())
                 for key, vec in vectors.items()))

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]

    def close(self) -> None:
        self._db.close()
