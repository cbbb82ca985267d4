"""The boost for chunks of the document a question names, by number or year."""
from __future__ import annotations

from dataclasses import replace

from rag.query import analyse
from rag.retrieve import _names


def test_names_matches_document_number_in_the_header_and_year_in_text_or_dates(service):
    index = service.index
    rows = {c.doc_id: row for row, c in enumerate(index.chunks)}
    letter_0426 = rows["cq-sti/001_9e415571a82dd196.txt"]
    report = rows["cq-sti/004_f07454981927e40f.txt"]  # published 2021-06-11
    assert _names(index, letter_0426, analyse("第0426号提案提了什么？"))
    assert not _names(index, report, analyse("第0426号提案提了什么？"))
    assert _names(index, report, analyse("2021年的报告说了什么？"))
    assert not _names(index, letter_0426, analyse("2023年的情况如何？"))


def test_the_boost_puts_the_named_documents_chunk_first(service):
    question = "第0099号建议是哪位人大代表提出的？"
    plain = service.search(question, k=10, fusion=replace(service.fusion, named_boost=0.0))[0]
    boosted = service.search(question, k=10)[0]
    letter_0099 = "cq-sti/000_b83b481c8bc78ed7.txt"
    assert plain[0].chunk.doc_id != letter_0099  # the work report wins on terms alone
    assert boosted[0].chunk.doc_id == letter_0099
    assert len(boosted) == 10
