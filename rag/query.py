"""Question analysis: language, content terms, and the numbers, years and document numbers asked for."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index.lexical import normalise, tokenize

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:年|(?!\d))")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DOC_NO = re.compile(r"第?\s*(\d{3,4})\s*号")
# Words that frame a question rather than name its topic ("according to the document, what does
# it require…"); they would otherwise weigh as much as the facts asked about.
FRAMING_WORDS = frozenset("""
文件 复函 答复 提出 提到 要求 希望 强调 表示 指出 按照 根据 依据 截至 到 要 让 更 分别 方面 主要 目标 计划 金额
数字 数量 具体 哪两个 哪两 哪三个 哪几个 哪类 类型 叫 称 称为 达到 又 各 是 时 给出 定下 获得 能 得到 什么样 样
""".split())
# "多少家" / "几个": the unit a numeric answer must carry.
_UNIT = re.compile(r"(?:多少|几)(亿元|万元|元|万人|人次|家|个|项|所|名|人|位|次|倍|支|条|件|亿|万|平方米|亩|座)")
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
    # Terms that stand for one idea: any one of a group found counts as the idea found. A Chinese
    # term is its own group; an English word is a group of its dictionary translations.
    groups: tuple[tuple[str, ...], ...] = ()
    unit: str = ""  # the unit of the quantity asked for ("家" in 多少家), "" if none


def analyse(question: str) -> Query:
    """Parse a question once; later stages read the result instead of re-parsing."""
    norm = normalise(question)
    terms = tuple(dict.fromkeys(t for t in tokenize(question) if t not in FRAMING_WORDS))
    english = bool(_LATIN.search(norm)) and not _CJK.search(norm)
    return Query(
        text=question,
        english=english,
        terms=terms,
        groups=tuple((t,) for t in terms),
        years=tuple(dict.fromkeys(_YEAR.findall(norm))),
        numbers=tuple(dict.fromkeys(_NUMBER.findall(norm))),
        doc_numbers=tuple(dict.fromkeys(_DOC_NO.findall(norm))),
        wants_quantity=bool(_QUANTITY.search(norm)),
        unit=unit.group(1) if (unit := _UNIT.search(norm)) else "",
    )


def with_groups(query: Query, groups: list[tuple[str, ...]]) -> Query:
    """The query with its terms replaced by groups of alternatives (e.g. translations)."""
    terms = tuple(dict.fromkeys(t for group in groups for t in group))
    return replace(query, terms=terms, groups=tuple(groups))
