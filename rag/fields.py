"""Questions whose answer is a header field of an official document, answered from its span.

Who made a proposal (the 复函's 主送, e.g. 易小光委员), to whom a document is addressed, its
发文字号, its 成文日期 or the date it was signed are written once, in the document's header or at
its close, not in a sentence a reader would pick. They are layout, the same in every official
document, so they are read off the metadata `index.clean` extracts and cited where the text
writes them. The document is the best-ranked one that is of the kind the question names (复函,
通知, ...) and writes every identifier the question names.
"""
from __future__ import annotations

import re

from index.clean import KINDS, field_span
from index.types import Document
from rag.answer import Assembler, make_citation
from rag.query import Query
from rag.types import Citation, Hit

# The field a question asks for. Chinese asking words, then their English forms.
FIELD_QUESTIONS = (
    ("addressee", re.compile(r"(?:谁|哪位|哪个人)(?:提出|提交|所提)|提案人|建议人|提出人|主送"
                             r"|(?:写给|答复|回复|致)(?:谁|哪)"
                             # English asks it first thing: `who submitted…` inside a question
                             # about that person asks something else.
                             r"|^\s*who (?:made|raised|submitted|proposed|put forward|filed)\b"
                             r"|\baddressed to\b|\bto whom\b", re.I)),
    ("signed", re.compile(r"落款日期|落款时间|签发日期|签署日期|(?:哪一?天|何时|什么时候|哪日)签(?:发|署)"
                          # Not `signed up` or `signed an agreement`: the document's own signing.
                          r"|\bsigning date\b|^\s*when was (?:the|this|that|its)\b[^?]{0,80}"
                          r"\b(?:letter|reply|notice|document|opinion|report)\b[^?]{0,20}\bsigned\s*\??$",
                          re.I)),
    ("date", re.compile(r"成文日期|成文时间", re.I)),
    ("doc_number", re.compile(r"发文字号|文号|\b(?:document|reference) number\b", re.I)),
)
CANDIDATE_DOCS = 3  # of the top passages' documents, in rank order


def asked_field(question: str) -> str | None:
    """The header field the question asks for, or None."""
    return next((key for key, pattern in FIELD_QUESTIONS if pattern.search(question)), None)


def _kind_named(question: str) -> str | None:
    """The document kind the question names (复函 before 函), or None."""
    return next((kind for kind in KINDS if kind in question), None)


def field_answer(query: Query, hits: list[Hit], docs: dict[str, Document],
                 assembler: Assembler) -> tuple[str, bool, list[Citation]] | None:
    """(answer text, True, citations) from the asked field's span, or None when the question
    asks no header field or no candidate document writes it."""
    key = asked_field(query.text)
    if key is None:
        return None
    kind = _kind_named(query.text)
    for doc_id in list(dict.fromkeys(h.chunk.doc_id for h in hits))[:CANDIDATE_DOCS]:
        doc = docs[doc_id]
        if kind and not doc.meta.get("kind", "").endswith(kind):
            continue
        if assembler.names_missing(query, doc):
            continue
        span = field_span(doc.text, doc.meta, key)
        if span is None and key == "date" and doc.meta.get("date") == doc.meta.get("signed"):
            span = field_span(doc.text, doc.meta, "signed")  # no header: the signature dates it
        if span is None:
            continue
        return _cited(query, doc, span)
    return None


def _cited(query: Query, doc: Document, span: tuple[int, int]) -> tuple[str, bool, list[Citation]]:
    """The field's value [1], then the document's title line [2] where the text writes it."""
    citations = [make_citation(1, doc, *span)]
    title = field_span(doc.text, doc.meta, "title")
    if title is not None and title != span:
        citations.append(make_citation(2, doc, *title))
    if len(citations) == 1:
        return f"{citations[0].quote}[1]。", True, citations
    if query.english:
        return f"{citations[0].quote}[1] ({citations[1].quote}[2]).", True, citations
    return f"{citations[0].quote}[1]（{citations[1].quote}[2]）。", True, citations
