"""Question analysis: language, content terms, and the numbers, years and document numbers asked for."""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import normalise, tokenize

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:年|(?!\d))")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DOC_NO = re.compile(r"第?\s*(\d{3,4})\s*号")
_QUANTITY = re.compile(r"多少|几[个家项次所年]|几|数量|规模|金额|比例|占比|增长|how many|how much|"
                       r"number of|amount|percentage|total|count", re.I)


@dataclass(frozen=True, slots=True)
class Query:
    """What the retrieval and assembly stages need to know about a question."""

    text: str
    english: bool
    terms: tuple[str, ...]  # content tokens, stopwords removed
    years: tuple[str, ...]
    numbers: tuple[str, ...]  # every number in the question, years and document numbers included
    doc_numbers: tuple[str, ...]  # `第0426号` -> "0426"
    wants_quantity: bool


def analyse(question: str) -> Query:
    """Parse a question once; later stages read the result instead of re-parsing."""
    norm = normalise(question)
    english = bool(_LATIN.search(norm)) and not _CJK.search(norm)
    return Query(
        text=question,
        english=english,
        terms=tuple(dict.fromkeys(tokenize(question))),
        years=tuple(dict.fromkeys(_YEAR.findall(norm))),
        numbers=tuple(dict.fromkeys(_NUMBER.findall(norm))),
        doc_numbers=tuple(dict.fromkeys(_DOC_NO.findall(norm))),
        wants_quantity=bool(_QUANTITY.search(norm)),
    )
