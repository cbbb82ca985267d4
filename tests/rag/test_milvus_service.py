"""Acceptance: the same answers and citations through Milvus as through FAISS (bundled corpus).

The session's FAISS index is copied and moved to milvus-lite (its vectors reused, nothing
embedded), then both services answer gold questions; `bench/milvus_vs_faiss.py` runs all of them.
"""
from __future__ import annotations

import shutil

import pytest

from eval.gold_set import load_gold
from rag.filters import Filters

QUESTIONS = 6  # every eighth gold question, answerable and not, to keep CI short


@pytest.fixture(scope="module")
def milvus_service(sample_index, service, milvus_uri, tmp_path_factory):
    from index.build import ingest
    from rag.service import RagService, chunker_from, vector_backend_from

    index_dir = tmp_path_factory.mktemp("milvus-sample") / "index"
    shutil.copytree(sample_index, index_dir)
    settings = service.settings.model_copy(update={
        "index": index_dir, "vector_store": "milvus", "milvus_uri": milvus_uri})
    corpus = settings.sample_corpus
    report = ingest([corpus], index_dir, service.embedder, chunker_from(settings),
                    backend=vector_backend_from(settings))
    assert report.embedded == 0 and report.reused == len(service.index.chunks)
    moved = RagService(settings, service.embedder)
    assert moved.index.dense.kind == "milvus" and service.index.dense.kind == "faiss"
    return moved


def _same(a, b):
    assert (a.text, a.answerable) == (b.text, b.answerable)
    assert a.citations == b.citations
    assert [h.chunk.id for h in a.hits] == [h.chunk.id for h in b.hits]
    assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-5)


@pytest.mark.parametrize("gold", load_gold(None)[::8][:QUESTIONS], ids=lambda g: g.id)
def test_same_answer_and_citations_as_faiss(service, milvus_service, gold):
    _same(milvus_service.ask(gold.question), service.ask(gold.question))


def test_same_answer_under_a_filter(service, milvus_service):
    question, filters = "2020年重庆累计培育高新技术企业多少家？", Filters(kind="报告")
    answer = milvus_service.ask(question, filters=filters)
    _same(answer, service.ask(question, filters=filters))
    assert {h.chunk.doc_id for h in answer.hits} <= {
        d for d, doc in service.index.documents.items() if doc.meta.get("kind") == "报告"}


def test_a_service_configured_for_faiss_refuses_a_milvus_index(service, milvus_service):
    from index.store import IndexMismatch
    from rag.service import RagService

    settings = milvus_service.settings.model_copy(update={"vector_store": "faiss"})
    with pytest.raises(IndexMismatch, match="keeps its vectors in milvus"):
        RagService(settings, service.embedder)
