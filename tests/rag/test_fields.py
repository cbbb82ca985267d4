"""Header-field questions (rag/fields.py): answered from the field's span in the right document."""
from __future__ import annotations

import pytest

from index.clean import extract_metadata
from index.types import Chunk, Document
from rag.answer import Assembler
from rag.fields import asked_field, field_answer
from rag.query import analyse
from rag.types import Hit

REPLY = ("重庆市交通局关于市政协六届一次会议第0123号提案的复函\n渝交函〔2023〕45号\n张三委员:\n"
         "您提出的关于改善公交服务的提案收悉。现答复如下:全市公交准点率为92.3%。\n"
         "重庆市交通局\n2023年5月18日\n")
BULLETIN = ("重庆市交通局关于2022年全市公共交通运行情况的通报\n各区县交通局:\n"
            "2022年全市公交准点率为92.3%。\n重庆市交通局\n2023年3月10日\n")


def _doc(doc_id: str, text: str) -> Document:
    return Document(id=doc_id, text=text, meta=extract_metadata(text))


def _hits(*docs: Document) -> list[Hit]:
    return [Hit(Chunk(f"{d.id}#0", d.id, d.text, 0, len(d.text), {}), 1.0, rank, "fused")
            for rank, d in enumerate(docs, start=1)]


@pytest.mark.parametrize("question, field", [
    ("第0123号提案是谁提出的？", "addressee"),
    ("这封复函是写给谁的？", "addressee"),
    ("Who raised proposal No. 0123?", "addressee"),
    ("该复函的落款日期是哪天？", "signed"),
    ("复函是哪一天签发的？", "signed"),
    ("When was the reply signed?", "signed"),
    ("这份通报的成文日期是什么？", "date"),
    ("复函的发文字号是什么？", "doc_number"),
    ("2022年全市公交准点率是多少？", None),
    ("How many companies signed up for the 2020 competition?", None),
    ("Who reviewed and signed off the reply to proposal No. 0798?", None),
    ("What position does member Wang, who submitted proposal No. 0798, hold?", None),
    ("提案建议加强哪些方面的支持？", None),
])
def test_the_field_a_question_asks(question, field):
    assert asked_field(question) == field


def test_the_signing_date_comes_from_the_kind_of_document_named_not_the_top_one():
    reply, bulletin = _doc("reply", REPLY), _doc("bulletin", BULLETIN)
    docs = {d.id: d for d in (reply, bulletin)}
    text, answerable, cits = field_answer(analyse("复函是哪一天签发的？"), _hits(bulletin, reply),
                                          docs, Assembler())
    assert answerable and cits[0].doc_id == "reply" and cits[0].quote == "2023年5月18日"
    assert cits[1].quote == "重庆市交通局关于市政协六届一次会议第0123号提案的复函"
    assert text == f"2023年5月18日[1]（{cits[1].quote}[2]）。"
    for c in cits:
        assert docs[c.doc_id].text[c.start:c.end] == c.quote


def test_the_proposer_is_the_replys_addressee_and_the_number_must_match():
    reply = _doc("reply", REPLY)
    found = field_answer(analyse("第0123号提案是谁提出的？"), _hits(reply), {"reply": reply}, Assembler())
    assert found is not None and found[2][0].quote == "张三委员"
    # A proposal number no candidate document writes: no field answer (the reader decides).
    assert field_answer(analyse("第0999号提案是谁提出的？"), _hits(reply), {"reply": reply},
                        Assembler()) is None


def test_a_field_the_document_does_not_have_gives_no_field_answer():
    bulletin = _doc("bulletin", BULLETIN)
    assert field_answer(analyse("通报的发文字号是什么？"), _hits(bulletin), {"bulletin": bulletin},
                        Assembler()) is None
    assert field_answer(analyse("2022年全市公交准点率是多少？"), _hits(bulletin),
                        {"bulletin": bulletin}, Assembler()) is None
