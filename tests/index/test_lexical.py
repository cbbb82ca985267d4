"""index.lexical: NFKC tokenisation with jieba, and BM25 (bm25s) ranking, idf and persistence."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.lexical import STOPWORDS, BM25Index, _bm25s, normalise, tokenize

DOCS = [
    "重庆市科技局推进科技创新，培育科技型企业。",
    "高新技术企业数量持续增长，科技创新能力提升。",
    "研究制定科研攻关揭榜挂帅管理办法，推动科技创新。",
    "推进知识价值信用贷款扩面放量，支持科技创新企业。",
]


# --- normalisation and tokens -----------------------------------------------------------------

def test_full_width_letters_and_digits_tokenise_like_half_width():
    assert tokenize("ＡＢＣ１２３") == tokenize("abc123") == ["abc123"]
    assert tokenize("Ｒ＆Ｄ经费　２０２０年") == tokenize("R&D经费 2020年") == [
        "r", "d", "经费", "2020", "年"]


def test_normalise_is_nfkc_and_lower_case():
    assert normalise("Ｒ＆Ｄ　ＡＢＣ１２３") == "r&d abc123"
    assert normalise("（一）ＧＤＰ增长５．２％") == "(一)gdp增长5.2%"


def test_search_mode_emits_inner_words():
    assert tokenize("高新技术企业") == ["高新", "技术", "高新技术", "企业"]
    assert tokenize("知识价值信用贷款") == ["知识", "价值", "信用", "贷款", "信用贷款"]


def test_stopwords_and_punctuation_are_dropped():
    assert tokenize("什么是高新技术企业？") == ["高新", "技术", "高新技术", "企业"]
    assert tokenize("重庆累计培育高新技术企业多少家？") == [
        "重庆", "累计", "培育", "高新", "技术", "高新技术", "企业", "家"]
    assert tokenize("，。！？；、“”《》 \n\t") == []
    assert tokenize("What is the number of firms?") == ["number", "firms"]
    assert {"的", "多少", "什么", "the"} <= STOPWORDS


# --- BM25 -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bm25() -> BM25Index:
    return BM25Index.build(DOCS)


def test_size(bm25):
    assert bm25.size == len(DOCS)


def test_rare_term_ranks_its_document_first(bm25):
    scores = bm25.scores(tokenize("科技创新 揭榜挂帅"))
    assert scores.shape == (4,) and scores.dtype == np.float32
    assert int(np.argmax(scores)) == 2
    assert scores[2] > 2 * max(np.delete(scores, 2))
    scores = bm25.scores(tokenize("信用贷款"))
    assert int(np.argmax(scores)) == 3
    assert scores[[0, 1, 2]].tolist() == [0.0, 0.0, 0.0]


def test_vocabulary_is_every_indexed_token(bm25):
    vocab = bm25.vocabulary
    assert set(vocab) - {""} == {t for d in DOCS for t in tokenize(d)}  # bm25s also keeps ""
    assert {"揭榜", "挂帅", "信用贷款", "科技"} <= set(vocab)
    assert sorted(vocab.values()) == list(range(len(vocab)))


def test_query_of_unknown_tokens_scores_zero(bm25):
    assert bm25.scores(tokenize("量子计算机")).tolist() == [0.0] * 4
    assert bm25.scores([]).tolist() == [0.0] * 4


def test_idf_matches_the_bm25_formula(bm25):
    n = len(DOCS)
    idf = bm25.idf(["揭榜", "科技", "不存在的词"])
    assert idf["揭榜"] == pytest.approx(math.log(1 + (n - 1 + 0.5) / (1 + 0.5)))
    assert idf["科技"] == pytest.approx(math.log(1 + (n - 4 + 0.5) / (4 + 0.5)))
    assert idf["不存在的词"] == 0.0
    assert idf["揭榜"] > idf["科技"]


def test_full_width_query_matches_half_width_document():
    index = BM25Index.build(["2020年研发经费投入ABC计划", "其他内容"])
    scores = index.scores(tokenize("ＡＢＣ计划"))
    assert int(np.argmax(scores)) == 0 and scores[1] == 0.0


def test_document_without_tokens_is_still_a_row():
    index = BM25Index.build(["，。！", "科技创新"])
    assert index.size == 2
    assert index.scores(tokenize("科技创新"))[0] == 0.0


@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_round_trip_gives_identical_scores(bm25, tmp_path, mmap):
    queries = ["科技创新 揭榜挂帅", "信用贷款", "高新技术企业", "重庆"]
    before = [bm25.scores(tokenize(q)) for q in queries]
    bm25.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25", mmap=mmap)
    assert loaded.size == bm25.size
    for q, b in zip(queries, before):
        np.testing.assert_array_equal(loaded.scores(tokenize(q)), b)
    assert loaded.idf(["揭榜", "科技"]) == bm25.idf(["揭榜", "科技"])
    assert loaded.vocabulary == bm25.vocabulary


def test_the_fast_dictionary_cache_equals_jiebas_own(tmp_path):
    """The word list + numpy cache (index/lexical.py) loads exactly jieba's prefix dictionary,
    total included; a damaged cache is rebuilt, never half-used."""
    import jieba

    from index.lexical import _load_prefix_dict

    own = jieba.Tokenizer()
    own.tmp_dir = str(tmp_path / "own")
    (tmp_path / "own").mkdir()
    own.initialize()
    for attempt in ("writes the cache", "reads the cache"):
        fast = jieba.Tokenizer()
        fast.tmp_dir = str(tmp_path)
        _load_prefix_dict(fast)
        assert fast.initialized, attempt
        assert fast.FREQ == own.FREQ and fast.total == own.total, attempt
    [folder] = tmp_path.glob("cq-rag-jieba-*")
    words = folder / "words.txt"
    words.write_text(words.read_text(encoding="utf-8").rsplit("\n", 1)[0], encoding="utf-8")
    damaged = jieba.Tokenizer()
    damaged.tmp_dir = str(tmp_path)
    _load_prefix_dict(damaged)  # one word short: jieba's own loading, not a shifted dictionary
    assert damaged.FREQ == own.FREQ and damaged.total == own.total
    assert damaged.lcut("重庆市科学技术局") == own.lcut("重庆市科学技术局")
    assert len(words.read_text(encoding="utf-8").split("\n")) == len(own.FREQ)  # rewritten


def test_a_group_of_alternatives_counts_once_by_its_best_member(bm25):
    # 科技 and 创新 as one idea (two translations of a word) score as the better of the two,
    # not as their sum; a group of one scores as the plain query does.
    one, other = bm25.scores(["科技"]), bm25.scores(["创新"])
    grouped = bm25.group_scores([("科技", "创新")])
    assert np.allclose(grouped, np.maximum(one, other))
    assert (grouped < bm25.scores(["科技", "创新"]) + 1e-6).all()
    assert np.allclose(bm25.group_scores([("揭榜",), ("科技",)]), bm25.scores(["揭榜", "科技"]))
    assert bm25.group_scores([("量子",)]).tolist() == [0.0] * 4


_WORDS = ["科技", "创新", "企业", "人才", "基金", "平台", "区县", "专利"]


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=10),
                       min_size=1, max_size=15),
       groups=st.lists(st.lists(st.sampled_from(_WORDS + ["量子"]), min_size=1, max_size=4)
                       .map(tuple), max_size=5))
def test_group_scores_add_up_each_groups_best_member(chunks, groups):
    retriever = _bm25s().BM25()
    retriever.index(chunks, show_progress=False)
    bm25 = BM25Index(retriever)
    expected = np.zeros(bm25.size)
    for group in groups:
        expected += np.max([bm25.scores([t]) for t in group], axis=0)
    assert np.allclose(bm25.group_scores(groups), expected, atol=1e-5)
