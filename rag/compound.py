"""Compound questions: 「…选派了多少名？…又说多少人次？」 asks two things, often of two documents.

One passage rarely answers both halves, and the term coverage that decides answerability counts
both halves' words against each sentence, so a compound question was refused, or answered by
half. Each part is answered on its own (retrieval, checks, citations), and the answers are joined
in the question's order with their citations renumbered; a part the documents do not answer says
so in one sentence of its own, uncited, as a refusal does.
"""
from __future__ import annotations

import re
from dataclasses import replace

from rag.answer import REFUSAL
from rag.conversation import topic
from rag.query import CJK
from rag.types import Answer, Hit

# A part ends in its question mark; the text after the last one is a part too.
_PART = re.compile(r"[^？?]+(?:[？?]+|$)")
_ASKS = re.compile(r"多少|几|什么|哪|谁|如何|怎样|怎么|是否|吗|"
                   r"\b(?:what|which|how|who|when|where|why|whether)\b", re.I)
_QUOTED = re.compile(r"“([^”]{2,12})”")
MIN_PART_CHARS = 6  # 「是多少？」 alone is a dangling predicate, not a question of its own
_CITE = re.compile(r"\[(\d+)\]")
_OPENING_CLAUSE = re.compile(r"([^,，？?]+)[,，]")
_YEAR = re.compile(r"(?:19|20)\d{2}")


def question_parts(question: str) -> list[str]:
    """The questions asked one after another in `question`, or [question] when it asks one.

    Every part must ask something of its own (a question word) and be a few characters long;
    otherwise the question is taken whole. A 它 in a later part (…为它设立什么) names what the
    part before was about: its quoted name (“易智网”), else its topic (…平台).
    """
    parts = [p.strip() for p in _PART.findall(question) if p.strip()]
    if len(parts) < 2 or not all(len(p) >= MIN_PART_CHARS and _ASKS.search(p) for p in parts):
        return [question]
    topic_clause = _topic_clause(parts[0])
    for i in range(1, len(parts)):
        if topic_clause and topic_clause not in parts[i]:
            # 「川渝联合实施重点研发项目,2020年…哪两个？到2021年又增加了哪些？」: the topic stated
            # once, before the first part's question, is the later parts' topic too.
            parts[i] = f"{topic_clause},{parts[i]}"
        if "它" in parts[i]:
            quoted = _QUOTED.search(parts[i - 1])
            # Kept in its quotation marks, so that jieba cuts it apart from 为 (为“易智网”).
            antecedent = quoted.group(0) if quoted else topic(parts[i - 1])
            if antecedent:
                parts[i] = parts[i].replace("它们", antecedent).replace("它", antecedent)
    return parts


def _topic_clause(part: str) -> str:
    """The clause that opens a question before its first comma, when it names a topic: it asks
    nothing itself and dates nothing (a year there belongs to the first part alone). "" if none."""
    match = _OPENING_CLAUSE.match(part)
    if not match:
        return ""
    head = match.group(1).strip()
    if len(head) < MIN_PART_CHARS or _ASKS.search(head) or _YEAR.search(head):
        return ""
    return head


def not_answered(part: str) -> str:
    """The sentence that stands for a part the documents do not answer."""
    if CJK.search(part):
        return f"文档中没有找到“{part.rstrip('？?')}”的答案。"
    return f'The documents do not answer "{part}".'


def combine(question: str, answers: list[Answer], k: int) -> Answer:
    """One answer to a compound question from the answers to its parts, in order."""
    texts, citations = [], []
    for answer in answers:
        if not answer.answerable:
            texts.append(not_answered(answer.question))
            continue
        offset = len(citations)
        texts.append(_CITE.sub(lambda m: f"[{int(m.group(1)) + offset}]", answer.text))
        citations += [replace(c, n=c.n + offset) for c in answer.citations]
    answerable = any(a.answerable for a in answers)
    if not answerable:
        texts = [REFUSAL["zh" if CJK.search(question) else "en"]]
    timings: dict[str, float] = {}
    for answer in answers:
        for key, ms in answer.timings_ms.items():
            timings[key] = timings.get(key, 0.0) + ms
    return Answer(question=question, text="".join(texts), answerable=answerable,
                  citations=citations, hits=_interleave([a.hits for a in answers], k),
                  timings_ms=timings)


def _interleave(rankings: list[list[Hit]], k: int) -> list[Hit]:
    """The parts' passages taken in turn (first of each, then second of each…), each chunk
    once, ranked anew; so both parts' best passages lead."""
    seen, out = set(), []
    for i in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if i < len(ranking) and ranking[i].chunk.id not in seen:
                seen.add(ranking[i].chunk.id)
                out.append(replace(ranking[i], rank=len(out) + 1))
    return out[:k]
