"""Metadata filters: which documents they admit, and that retrieval applies them inside."""
from __future__ import annotations

import pytest

from rag.filters import FilterError, Filters

REPORT = "cq-sti/004_f07454981927e40f.txt"  # 报告, published 2021-06-11, no 成文日期
OPINION = "cq-sti/002_38e28bd9a1a18c0a.txt"  # 意见, 2022-11-04, 重庆市科学技术局


def admitted(service, **kw) -> set[str]:
    f = Filters(**kw)
    return {d for d, doc in service.index.documents.items() if f.admits(doc)}


def test_each_filter_admits_what_its_metadata_says(service):
    assert admitted(service, kind="报告") == {REPORT}
    assert admitted(service, kind="复函") == {"cq-sti/000_b83b481c8bc78ed7.txt",
                                               "cq-sti/001_9e415571a82dd196.txt"}
    assert admitted(service, publisher="重庆市科学技术局") == {OPINION}
    assert admitted(service, since="2022") == {OPINION, "cq-sti/003_1d42ce4afed50ab6.txt"}
    assert admitted(service, until="2019") == {"cq-sti/000_b83b481c8bc78ed7.txt"}
    # A document without 成文日期 is dated by its 发布日期.
    assert admitted(service, since="2021-06", until="2021-06-30") == {REPORT}
    assert admitted(service, doc_prefix="cq-sti/00") == set(service.index.documents)
    assert admitted(service, doc_prefix="elsewhere/") == set()


@pytest.mark.parametrize("value", ["2020/01", "20", "yesterday"])
def test_a_malformed_date_is_a_clear_error(value):
    with pytest.raises(FilterError, match="YYYY"):
        Filters(since=value)


def test_ask_under_a_filter_cites_only_admitted_documents(service):
    question = "2020年重庆累计培育高新技术企业多少家？"
    assert service.ask(question).citations[0].doc_id == REPORT
    answer = service.ask(question, k=10, filters=Filters(kind="意见"))
    assert answer.hits and {h.chunk.doc_id for h in answer.hits} == {OPINION}
    assert all(c.doc_id == OPINION for c in answer.citations)


def test_a_filter_keeps_k_passages_when_k_exist(service):
    # Applied inside retrieval: a narrow filter still fills k, not a post-filtered few.
    hits, _ = service.search("科技创新", k=8, filters=Filters(kind="报告"))
    assert len(hits) == 8 and {h.chunk.doc_id for h in hits} == {REPORT}


def test_a_filter_admitting_nothing_is_a_refusal_without_passages(service):
    answer = service.ask("2020年重庆累计培育高新技术企业多少家？",
                         filters=Filters(doc_prefix="elsewhere/"))
    assert not answer.answerable and answer.hits == [] and answer.citations == []
