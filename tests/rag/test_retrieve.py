"""Fusion arithmetic, and each retrieval mode over the real index."""
from __future__ import annotations

import pytest

from rag.query import analyse
from rag.retrieve import FusionParams, _multi_char, convex, fuse, retrieve


def test_weighted_rrf_adds_weight_over_k_plus_rank():
    dense = [(1, 0.9), (2, 0.8)]
    lexical = [(2, 12.0), (3, 5.0)]
    fused = dict(fuse([(dense, 1.0), (lexical, 3.0)], rrf_k=5))
    assert fused[1] == pytest.approx(1 / 6)
    assert fused[2] == pytest.approx(1 / 7 + 3 / 6)
    assert fused[3] == pytest.approx(3 / 7)
    assert [row for row, _ in fuse([(dense, 1.0), (lexical, 3.0)], rrf_k=5)] == [2, 3, 1]


def test_convex_fusion_normalises_each_ranking():
    fused = dict(convex([([(1, 0.9), (2, 0.5)], 1.0), ([(2, 10.0), (3, 0.0)], 0.5)]))
    assert fused == pytest.approx({1: 1.0, 2: 0.5, 3: 0.0})


@pytest.mark.parametrize("mode, question, needle", [
    ("bm25", "2020年重庆累计培育高新技术企业多少家？", "4222"),
    ("hybrid", "2020年重庆累计培育高新技术企业多少家？", "4222"),
    # e5-small alone misses the 4222 passage in its top ten: that is why retrieval is hybrid.
    ("dense", "知识价值信用贷款改革试点", "知识价值信用贷款"),
])
def test_each_mode_finds_its_passage(service, mode, question, needle):
    query = analyse(question)
    vector = service.embedder.embed_queries([question])[0]
    hits = retrieve(service.index, query, vector, 5, FusionParams(mode=mode))
    assert len(hits) == 5 and all(h.source == mode for h in hits)
    assert any(needle in h.chunk.text for h in hits)


def test_bm25_leaves_out_chunks_without_any_query_term(service):
    query = analyse("xyzzy plugh")  # no such words in the corpus
    assert retrieve(service.index, query, None, 5, FusionParams(mode="bm25")) == []


def test_a_translation_group_scores_by_its_longer_members():
    # "share" → 共 (in nearly every chunk), 共享, 分享, 股份: the lone character is left out.
    assert _multi_char(("共", "共享", "分享", "股份")) == ("共享", "分享", "股份")
    assert _multi_char(("两", "二", "双")) == ("两", "二", "双")  # nothing longer to prefer
    assert _multi_char(("科",)) == ("科",)  # a Chinese question's own term is never dropped


def _hit(doc_id: str, start: int, end: int, rank: int):
    from index.types import Chunk
    from rag.types import Hit

    chunk = Chunk(id=f"{doc_id}:{start}", doc_id=doc_id, text="x" * (end - start), start=start,
                  end=end)
    return Hit(chunk=chunk, score=1.0 / rank, rank=rank, source="hybrid")


def _cite(n: int, doc_id: str, start: int, end: int):
    from rag.types import Citation

    return Citation(n=n, doc_id=doc_id, title="", start=start, end=end, quote="x" * (end - start))


def test_cited_passages_come_first_in_citation_order():
    from rag.retrieve import cited_first

    hits = [_hit("a", 0, 100, 1), _hit("b", 0, 100, 2), _hit("c", 50, 150, 3), _hit("c", 0, 60, 4)]
    ordered = cited_first(hits, [_cite(1, "c", 60, 80), _cite(2, "b", 10, 20),
                                 _cite(3, "c", 70, 90)])
    assert [(h.chunk.doc_id, h.chunk.start) for h in ordered] == [("c", 50), ("b", 0), ("a", 0),
                                                                   ("c", 0)]
    assert [h.rank for h in ordered] == [1, 2, 3, 4]
    assert [h.score for h in ordered] == [1 / 3, 1 / 2, 1.0, 1 / 4]  # retrieval scores kept
    # A span no hit holds whole moves nothing.
    assert cited_first(hits, [_cite(1, "c", 40, 70)]) == hits


def test_the_answer_passage_leads_the_sources(service):
    from rag.service import RagService

    question = "2020年重庆累计培育高新技术企业多少家？"
    answer = service.ask(question)
    first, cit = answer.hits[0].chunk, answer.citations[0]
    assert "4222" in cit.quote and first.doc_id == cit.doc_id
    assert first.start <= cit.start and cit.end <= first.end
    # In fusion order the letter's 2019 passage (高新技术企业 by 一季度) ranks above it.
    plain = RagService(service.settings.model_copy(update={"cited_first": False}),
                       service.embedder, service.index_dir).ask(question)
    assert "4222" not in plain.hits[0].chunk.text
    assert sorted(h.chunk.id for h in plain.hits) == sorted(h.chunk.id for h in answer.hits)
