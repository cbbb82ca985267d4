"""Question analysis: language, content terms, and the identifiers a question names.

Retrieval weighs the terms; the answer's structural check needs the identifiers (years,
document numbers in any form, ordinals, Latin names) to be written in the cited document.
Reading what is asked is the reader's job (rag/reader.py), not a rule's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index.lexical import normalise, tokenize, words

CJK = re.compile(r"[\u4e00-\u9fff]")  # a Chinese character
_LATIN = re.compile(r"[A-Za-z]")
# 2000万元 is an amount, not a year: a year is followed by 年, or by nothing that makes it one.
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:年|(?!\d|\.\d|\s*[万亿千百元个家项名人次件%]))")
NUMBER = re.compile(r"\d+(?:\.\d+)?")  # a number in digits, as questions and documents write it
# 1,279 in an English question is 1279, as the documents write it (not 1 and 279).
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_LATIN_NAME = re.compile(r"[a-z]{2,}")
# In an English question, the words written as identifiers name something exactly: an inner
# capital (PermitRootLogin), an underscore (KERN_ERR, sshd_config) or letters with digits
# (iproute2, ext4; not Q1). Ordinary words are translated instead and may be paraphrased.
_IDENTIFIER = re.compile(r"(?<![\w-])(?:[A-Za-z]+[a-z][A-Z]\w*|\w*[A-Za-z]_\w+"
                         r"|[A-Za-z]{3,}\d+[A-Za-z\d]*)(?![\w-])")
# A document number: 第0426号 (a proposal's), or 〔2023〕15号 / [2023]15号 / （2023）15号 after an
# issuer's abbreviation (渝府办发〔2023〕15号), the form every official document carries.
_DOC_NO = re.compile(r"第\s*(\d{3,4})\s*号|(?<![\d〔\[（(])(\d{3,4})\s*号")
_ISSUED_NO = re.compile(r"[〔\[［（(]\s*((?:19|20)\d{2})\s*[〕\]］）)]\s*第?\s*(\d{1,4})\s*号")
# 第二期, 第8批, 第六次: an ordinal names one of a series; a text that never states it is
# about another one (a fund's first tranche, not its second).
_ORDINAL = re.compile(r"第([一二两三四五六七八九十\d]{1,3})([期批届次轮])")
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
# Words that frame a question rather than name its topic ("according to the document, what does
# it require…"); as retrieval terms they would weigh as much as the facts asked about.
FRAMING_WORDS = frozenset("""
文件 复函 答复 提出 提到 要求 希望 强调 表示 指出 按照 根据 依据 截至 到 要 让 更 分别 方面 主要 目标 计划 金额
数字 数量 具体 哪两个 哪两 哪三个 哪几个 哪类 类型 叫 称 称为 达到 又 各 是 时 给出 定下 获得 能 得到 什么样 样
名字 名称 已经 说法
""".split())
# The asking itself: 哪几个 / 几所 / 哪 两个 / 多少 家 say what kind of answer is wanted, not
# what it is about.
_WHICH = re.compile(r"^(?:哪|几)")
_AFTER_WHICH = re.compile(r"^[一二两三四五六七八九十几\d]*[个所家项类种批位条名座支次些]$")


@dataclass(frozen=True, slots=True)
class Query:
    """What retrieval and the answer's structural check need to know about a question."""

    text: str
    english: bool
    terms: tuple[str, ...]  # content tokens, stopwords and asking words removed
    years: tuple[str, ...]
    numbers: tuple[str, ...]  # every number in the question, years and document numbers included
    doc_numbers: tuple[str, ...]  # `第0426号` -> "0426"
    # Terms that stand for one idea: any one of a group found counts as the idea found. A Chinese
    # term is its own group; an English word is a group of its dictionary translations.
    groups: tuple[tuple[str, ...], ...] = ()
    # Every token of the question itself, framing words included (复函 and 指导意见 frame a
    # question, yet name a document by its title). Not replaced by translations.
    tokens: tuple[str, ...] = ()
    issued_numbers: tuple[tuple[str, str], ...] = ()  # 〔2023〕15号 -> ("2023", "15")
    # Each ordinal the question names, in both spellings: (第二期, 第2期).
    ordinals: tuple[tuple[str, ...], ...] = ()
    # Latin names a mostly Chinese question asks about (pct, gdp), or an English question's
    # identifiers (sshd_config): documents that never write them do not answer.
    latin_names: tuple[str, ...] = ()


def asking_words(ws: list[str]) -> set[str]:
    """The search-mode tokens of the asking phrases (哪几个 → 哪几, 几个, 哪几个) among a
    question's `words`."""
    asking = [w for i, w in enumerate(ws)
              if _WHICH.match(w) or (i > 0 and ws[i - 1] in ("哪", "多少") and _AFTER_WHICH.match(w))]
    return set(tokenize(" ".join(asking))) if asking else set()


def _numeral_value(text: str) -> int | None:
    """十二 → 12, 二十 → 20, 8 → 8; None beyond 99 or if not a numeral."""
    if text.isdigit():
        return int(text)
    tens, _, ones = text.partition("十")
    if "十" not in text:
        return _DIGITS.get(text) if len(text) == 1 else None
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_DIGITS.get(tens, 0) if tens else 1) * 10 + (_DIGITS.get(ones, 0) if ones else 0)


def ordinals_named(text: str) -> tuple[tuple[str, ...], ...]:
    """Each 第N期 / 第N批 / 第N次 of the text, with its other spelling (第二期 ↔ 第2期)."""
    out = []
    for m in _ORDINAL.finditer(text):
        value = _numeral_value(m.group(1))
        forms = {m.group(0)}
        if value is not None and value < 100:
            chinese = ("" if value < 20 else "一二三四五六七八九"[value // 10 - 1]) \
                + ("十" if value >= 10 else "") + ("一二三四五六七八九"[value % 10 - 1] if value % 10 else "")
            forms |= {f"第{value}{m.group(2)}", f"第{chinese}{m.group(2)}"}
        out.append(tuple(sorted(forms)))
    return tuple(dict.fromkeys(out))


def issued_number_pattern(year: str, number: str) -> re.Pattern:
    """〔2023〕15号 in any of the brackets documents write it with, leading zeros allowed."""
    return re.compile(rf"[〔\[［（(]\s*{year}\s*[〕\]］）)]\s*第?\s*0*{int(number)}\s*号")


_MAGNITUDE = re.compile(r"(\d+(?:\.\d+)?)[\s-]*(thousand|million|billion)\b", re.I)
_WAN = {"thousand": 0.1, "million": 100, "billion": 100_000}  # in 万


def chinese_amounts(text: str) -> tuple[str, ...]:
    """The numbers an English amount is written with in Chinese: 20 million → 2000 (万),
    1.5 billion → 15 (亿), 178 million → 17800 (万) and 1.78 (亿)."""
    out = []
    for m in _MAGNITUDE.finditer(text):
        wan = float(m.group(1)) * _WAN[m.group(2).lower()]
        for value in (wan, wan / 10_000):  # in 万, and in 亿
            if value >= 1 and round(value, 2) == round(value, 6):
                out.append(f"{value:.2f}".rstrip("0").rstrip("."))
    return tuple(dict.fromkeys(out))


def analyse(question: str) -> Query:
    """Parse a question once; later stages read the result instead of re-parsing."""
    norm = normalise(question)
    digits = THOUSANDS.sub("", norm)  # numbers read whole: 1,279 → 1279
    tokens = tuple(dict.fromkeys(tokenize(question)))
    asking = asking_words(words(question))
    terms = tuple(t for t in tokens if t not in FRAMING_WORDS and t not in asking)
    english = bool(_LATIN.search(norm)) and not CJK.search(norm)
    # In a mostly Chinese question a Latin word names the thing asked about (PCT, GDP); in an
    # English one every word is Latin and is translated instead.
    mostly_chinese = not english and len(CJK.findall(question)) > len(_LATIN.findall(question))
    issued = tuple(dict.fromkeys(_ISSUED_NO.findall(norm)))
    return Query(
        text=question,
        english=english,
        terms=terms,
        tokens=tokens,
        groups=tuple((t,) for t in terms),
        years=tuple(dict.fromkeys(_YEAR.findall(norm))),
        numbers=tuple(dict.fromkeys(NUMBER.findall(digits)
                                    + (list(chinese_amounts(digits)) if english else []))),
        doc_numbers=tuple(dict.fromkeys(a or b for a, b in _DOC_NO.findall(_ISSUED_NO.sub("", norm)))),
        issued_numbers=issued,
        latin_names=tuple(t for t in terms if _LATIN_NAME.fullmatch(t)) if mostly_chinese
        else tuple(dict.fromkeys(w.lower() for w in _IDENTIFIER.findall(question))) if english
        else (),
        ordinals=ordinals_named(norm),
    )


def with_groups(query: Query, groups: list[tuple[str, ...]]) -> Query:
    """The query with its terms replaced by groups of alternatives (e.g. translations)."""
    terms = tuple(dict.fromkeys(t for group in groups for t in group))
    return replace(query, terms=terms, groups=tuple(groups))
