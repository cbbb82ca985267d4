"""Compound questions: split into the questions they ask, answered part by part, joined."""
from __future__ import annotations

import re

import pytest

from rag.compound import combine, question_parts
from rag.config import Settings
from rag.service import RagService
from rag.types import Answer, Citation

TWO_FACTS = "2019年复函称选派了多少名区县级科技特派员？2020年工作报告又说选派科技特派员多少人次？"


@pytest.mark.parametrize("question, parts", [
    ("重庆有多少家高新技术企业？2020年技术合同成交额是多少？",
     ["重庆有多少家高新技术企业？", "2020年技术合同成交额是多少？"]),
    ("Which fund was set up? How large is it?", ["Which fund was set up?", "How large is it?"]),
    ("重庆有多少家高新技术企业？", ["重庆有多少家高新技术企业？"]),
    # A dangling predicate, or a part that asks nothing, leaves the question whole.
    ("科创母基金的总规模？是多少？", ["科创母基金的总规模？是多少？"]),
    ("我想了解科创母基金。它的规模是多少？", ["我想了解科创母基金。它的规模是多少？"]),
    # A topic stated before the first part's question is the later parts' topic too; a time
    # stated there is not (the later part names its own).
    ("川渝联合实施重点研发项目,2020年围绕哪两个领域？到2021年又增加了哪些领域？",
     ["川渝联合实施重点研发项目,2020年围绕哪两个领域？",
      "川渝联合实施重点研发项目,到2021年又增加了哪些领域？"]),
    ("截至2019年一季度,重庆有多少家？2020年又有多少家？",
     ["截至2019年一季度,重庆有多少家？", "2020年又有多少家？"]),
    # 它 in a later part names the previous part's quoted name.
    ("“易智网”建成了什么平台？又要求为它设立什么？",
     ["“易智网”建成了什么平台？", "又要求为“易智网”设立什么？"]),
])
def test_a_question_is_split_only_where_each_part_asks_something(question, parts):
    assert question_parts(question) == parts


def _answer(question, text, quotes, answerable=True):
    cites = [Citation(n, "d.txt", "t", 0, len(q), q) for n, q in enumerate(quotes, start=1)]
    return Answer(question, text, answerable, cites, hits=[], timings_ms={"total": 1.0})


def test_parts_are_joined_with_their_citations_renumbered_and_a_missing_part_named():
    first = _answer("甲是多少？", "甲是3个[1]。甲的来源[2]", ["甲是3个", "甲的来源"])
    missing = _answer("乙是多少？", "文档中没有找到这个问题的答案。", [], answerable=False)
    third = _answer("丙是谁？", "丙是张三[1]", ["丙是张三"])
    joined = combine("甲是多少？乙是多少？丙是谁？", [first, missing, third], k=10)
    assert joined.answerable
    assert joined.text == "甲是3个[1]。甲的来源[2]文档中没有找到“乙是多少”的答案。丙是张三[3]"
    assert [(c.n, c.quote) for c in joined.citations] == [(1, "甲是3个"), (2, "甲的来源"),
                                                         (3, "丙是张三")]
    none = combine("乙是多少？丁呢是多少？", [missing, missing], k=10)
    assert not none.answerable and not none.citations


@pytest.fixture(scope="module")
def whole(sample_index):
    return RagService(Settings(index=sample_index, split_compound=False))


def test_a_two_part_question_over_two_documents_gets_both_facts(service, whole):
    answer = service.ask(TWO_FACTS)
    assert answer.answerable and "1500余名" in answer.text and "1100人次" in answer.text
    assert {c.doc_id for c in answer.citations} == {"cq-sti/000_b83b481c8bc78ed7.txt",
                                                    "cq-sti/004_f07454981927e40f.txt"}
    assert [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)] == \
        [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    # Asked whole, the same question is answered by one half only.
    asked_whole = whole.ask(TWO_FACTS)
    assert not ("1500余名" in asked_whole.text and "1100人次" in asked_whole.text)
