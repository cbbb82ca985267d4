"""Answer assembly: the reader's span to cited clauses, the structural check, the lexical path."""
from __future__ import annotations

import pytest

from index.types import Chunk, Document
from rag.answer import REFUSAL, Assembler, AssemblyParams, answer_spans
from rag.query import analyse
from rag.service import focus_window, reading_passages
from rag.types import Hit, Span

LETTER = ("易小光委员:\n您提出的关于加快科技成果转化的提案收悉。现答复如下:"
          "截至2020年,全市累计培育科技型企业26371家、高新技术企业4222家,同比增长15.4%。"
          "下一步,我们将继续加大支持力度。\n重庆市科学技术局\n2021年11月16日\n")


def _doc(text: str = LETTER, doc_id: str = "d", **meta) -> Document:
    return Document(id=doc_id, text=text, meta=meta)


def _span(doc: Document, fact: str, score: float = 8.0, no_answer: float = 1.0) -> Span:
    start = doc.text.index(fact)
    return Span(doc.id, start, start + len(fact), score, no_answer)


def test_the_answer_leads_with_the_spans_clause_then_the_rest_of_its_sentence_once():
    doc = _doc()
    text, answerable, cits = Assembler().from_reader(
        analyse("2020年重庆累计培育高新技术企业多少家？"), [_span(doc, "4222家")], {"d": doc}, 0.0)
    assert answerable
    assert cits[0].quote == "全市累计培育科技型企业26371家、高新技术企业4222家"  # 、 lists, not clauses
    assert cits[1].quote == "同比增长15.4%"
    assert text == "全市累计培育科技型企业26371家、高新技术企业4222家[1]，同比增长15.4%[2]。"
    for c in cits:  # exact offsets, never overlapping
        assert doc.text[c.start:c.end] == c.quote
    assert cits[0].end <= cits[1].start


def test_a_short_clause_takes_the_clause_before_it_for_its_subject():
    text = "2022年全市公交准点率为92.3%,较上年提高1.2个百分点。"
    (lead, rest) = answer_spans(text, text.index("92.3%"), text.index("92.3%") + 5)
    assert text[lead[0]:lead[1]] == "2022年全市公交准点率为92.3%"
    assert text[rest[0]:rest[1]] == "较上年提高1.2个百分点"


def test_a_span_on_a_line_of_its_own_is_cited_as_that_line():
    doc = _doc()
    _, answerable, cits = Assembler().from_reader(
        analyse("第0426号提案复函的落款日期是哪天？"), [_span(doc, "2021年11月16日")],
        {"d": _doc(doc_number="第0426号")}, 0.0)
    assert answerable and [c.quote for c in cits] == ["2021年11月16日"]


def test_below_the_threshold_is_a_refusal_in_the_questions_language():
    doc = _doc()
    spans = [_span(doc, "4222家", score=3.0, no_answer=2.5)]
    zh = Assembler().from_reader(analyse("高新技术企业多少家？"), spans, {"d": doc}, 1.0)
    en = Assembler().from_reader(analyse("How many high-tech firms?"), spans, {"d": doc}, 1.0)
    assert zh == (REFUSAL["zh"], False, []) and en == (REFUSAL["en"], False, [])


@pytest.mark.parametrize("question, missing", [
    ("渝府办发〔2023〕15号规定了什么？", True),
    ("渝府办发〔2023〕12号规定了什么？", False),
    ("渝府办发[2023]12号规定了什么？", False),  # the same number in other brackets
    ("第0426号提案是谁提出的？", False),  # the letter's number is in its metadata
    ("第0099号提案是谁提出的？", True),
    ("2019年全市公交准点率是多少？", True),
    ("2021年回复了什么？", False),
    ("第二期基金规模多少？", True),
    ("第1期基金规模多少？", False),  # 第一期 in the text, 第1期 asked
    ("PCT专利有多少件？", True),
])
def test_every_identifier_named_must_be_written_in_the_cited_document(question, missing):
    doc = _doc(LETTER + "渝府办发〔2023〕12号 第一期基金", doc_number="第0426号")
    assert Assembler().names_missing(analyse(question), doc) is missing


def test_a_span_of_a_document_missing_a_named_identifier_gives_way_to_the_next():
    other = _doc("渝府办发〔2023〕12号:全市新建充电桩600个。", "other")
    right = _doc("渝府办发〔2023〕15号:全市新建公交站台300个。", "right")
    spans = [_span(other, "600个", score=9.0), _span(right, "300个", score=8.0)]
    docs = {"other": other, "right": right}
    query = analyse("渝府办发〔2023〕15号要求新建多少个？")
    _, answerable, cits = Assembler().from_reader(query, spans, docs, 0.0)
    assert answerable and cits[0].doc_id == "right"
    off = Assembler(AssemblyParams(structural=False)).from_reader(query, spans, docs, 0.0)
    assert off[2][0].doc_id == "other"  # the ablation: without the check the best span wins


def _hit(doc: Document, start: int = 0, end: int | None = None, rank: int = 1) -> Hit:
    end = len(doc.text) if end is None else end
    return Hit(Chunk(f"{doc.id}#0", doc.id, doc.text[start:end], start, end, {}), 1.0, rank,
               "hybrid")


def test_the_reader_reads_the_sentences_around_the_best_match():
    doc = _doc()
    terms = {"高新技术": 2.0, "企业": 1.0}
    s, e = focus_window(doc.text, 0, len(doc.text), terms, 60)
    assert "4222家" in doc.text[s:e] and e - s <= 60
    assert focus_window(doc.text, 0, len(doc.text), terms, 0) == (0, len(doc.text))
    passages = reading_passages([_hit(doc, 0, 80)], {"d": doc}, terms, 60)
    assert len(passages) == 1 and "4222家" in passages[0].text
    for p in passages:
        assert doc.text[p.start:p.start + len(p.text)] == p.text


def test_a_sentence_dating_its_fact_with_another_year_does_not_answer_for_the_year_asked():
    doc = _doc("2022年全市公交准点率为92.3%,较上年提高1.1个百分点。2023年要继续提升。")
    span = [_span(doc, "92.3%")]
    asked_2023 = Assembler().from_reader(analyse("2023年全市公交准点率是多少？"), span, {"d": doc}, 0.0)
    asked_2022 = Assembler().from_reader(analyse("2022年全市公交准点率是多少？"), span, {"d": doc}, 0.0)
    assert not asked_2023[1] and asked_2022[1]
    off = Assembler(AssemblyParams(year_check=False))
    assert off.from_reader(analyse("2023年全市公交准点率是多少？"), span, {"d": doc}, 0.0)[1]
