"""Follow-up questions to standalone ones, by deterministic rules (no language model).

A chat turn such as 「那科技型企业呢？」 means "the previous question, about 科技型企业 instead".
`standalone(turns)` rewrites each user turn against the standalone form of the one before, so a
chain of follow-ups keeps its context. The rules, tried in order (`Rewrite.rule` names the one
that fired, for the API's `rag.rewritten_question` and for tests):

- ``standalone``: no pronoun and no ellipsis (a trailing 呢, a leading 那) — asked as written.
- ``pronoun``: 「这个基金…」「该基金…」 take the phrase of the previous question (or, failing
  that, of the previous answer) that ends in the same noun; a bare 其/它 takes its topic.
- ``time``: 「2019年呢？」 replaces the previous question's time expression (or prefixes it).
- ``phrase``: 「这个基金的首期规模呢？」, a phrase of its own with 的, takes the previous
  question's predicate (「…是多少？」).
- ``suffix``: 「那科技型企业呢？」 replaces the previous noun phrase with the same head
  (…企业, …基金): the longest common ending, widened over words up to a verb or 的.
- ``prefix``: 「那技术合同交易额呢？」 replaces the phrase that starts with the same word (技术…).
- ``append``: otherwise the fragment takes the previous predicate and time, as ``phrase`` does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import cut
from rag.query import CJK

_TRAILING = re.compile(r"[\s?？!！。.,，、]+$")
# Words that open a follow-up ("and what about …") and carry no content.
_OPENERS = re.compile(r"^(?:那么|那末|那|还有|另外|再问一下|再问|请问|and\s+)")
_ELLIPSIS_END = re.compile(r"(?:的呢|呢|又如何|又怎样|怎么样|如何)$")
_TIME = re.compile(r"(?:截至|截止|到)?(?:(?:19|20)\d{2}年(?:底|末|初|上半年|下半年|[一二三四]季度末?)?"
                   r"|(?:19|20)\d{2}(?=[,，\s])|去年|今年|前年)")
_TIME_ONLY = re.compile(rf"^(?:{_TIME.pattern})$")
# Only at the start of a turn: inside a sentence 该/此 are parts of words (应该, 因此).
_PRONOUN = re.compile(r"^(?:这个|这些|这项|这一|那个|那些|该|此)(?=[\u4e00-\u9fff])")
_BARE_PRONOUN = re.compile(r"^(?:其|它们的|它的|它们|它)")
_DOC_NO = re.compile(r"第\d+号")
_COUNT = re.compile(r"^[一二两三四五六七八九十几\d]+[个家项名所条支位]$")
# Nouns that name the thing a question is about, for a bare 它/其.
_ENTITY_HEADS = ("基金", "企业", "贷款", "中心", "园区", "高新区", "实验室", "平台", "基地", "项目",
                 "计划", "提案", "建议", "意见", "报告", "复函", "工程", "改革", "试点", "行动")
# The predicate of a question starts at an optional copula before its question word.
_PREDICATE = re.compile(r"(?:是|有|为|达到|排在|在)?(?:多少|几|什么|哪|谁|怎样|怎么|如何|是否)")
# Words a noun phrase does not extend over: function words, question words and the verbs that
# link subject and object in these documents' questions.
_BOUNDARY_WORDS = frozenset("""
的 之 了 和 与 及 或 是 在 为 对 将 把 被 由 向 从 各 其 有 年 共 共同 分别 一共 总共 都
多少 几 什么 哪 哪些 哪个 哪位 哪家 如何 怎样 怎么 是否 谁
累计 培育 设立 建立 组建 成立 发放 实施 引进 建设 建成 支持 扩大 达到 增长 同比 提出 提到 获得
推动 打造 新增 投入 开展 聚焦 选派 安排 整合 签订 评审 审议 通过 排 排名 居 组织 举办 出台 创建
计划 要求 鼓励 推广 布局 依托 围绕 服务 参与 认定 突破 力争 预计 截至 截止 到 今年 去年
家 个 项 名 所 条 支 位 亿元 万元 元 亿 万 万人 余 近 超 约
""".split())
# A fragment that names an amount asks 「是多少」 whatever the previous question asked.
_QUANTITY_NOUN = re.compile(r"(?:规模|金额|数量|面积|总额|比例|占比|人数|投资|投入|多少)$")


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A user turn and the standalone question asked for it; `rule` says which rule fired."""

    original: str
    question: str
    rule: str


def standalone(turns: list[str], answers: list[str] | None = None) -> Rewrite:
    """The last user turn as a standalone question, given the user turns before it.

    `answers[i]` is the assistant's reply to `turns[i]`, when known; only pronouns use it.
    """
    if not turns:
        raise ValueError("no user turn to rewrite")
    answers = answers or []
    current = Rewrite(turns[0], turns[0].strip(), "standalone")
    for i, turn in enumerate(turns[1:], start=1):
        previous_answer = answers[i - 1] if i - 1 < len(answers) else ""
        current = follow_up(current.question, turn, previous_answer)
    return current


def follow_up(previous: str, turn: str, previous_answer: str = "") -> Rewrite:
    """Rewrite `turn` against the standalone `previous` question."""
    turn = turn.strip()
    core = _TRAILING.sub("", turn)
    opened = bool(_OPENERS.match(core))
    core = _OPENERS.sub("", core).strip()
    elliptical = opened or bool(_ELLIPSIS_END.search(core))
    core = _ELLIPSIS_END.sub("", core).strip()
    pronoun = _PRONOUN.search(core) or _BARE_PRONOUN.match(core)
    if not core or not previous or (not pronoun and not elliptical):
        return Rewrite(turn, turn, "standalone")
    if pronoun:
        core = _resolve_pronoun(core, previous, previous_answer)
        if not elliptical:
            return Rewrite(turn, _with_time(_punctuate(core, turn), previous), "pronoun")
        rule = "pronoun"
    else:
        rule = ""
    if _TIME_ONLY.match(core):
        return Rewrite(turn, _replace_time(previous, core), "time")
    if "的" in core or rule == "pronoun":
        return Rewrite(turn, _with_time(core + _predicate(previous, core), previous), rule or "phrase")
    for name, finder in (("suffix", _suffix_span), ("prefix", _prefix_span)):
        span = finder(previous, core)
        if span is not None:
            start, end = span
            return Rewrite(turn, previous[:start] + core + previous[end:], name)
    return Rewrite(turn, _with_time(core + _predicate(previous, core), previous), "append")


def _punctuate(core: str, turn: str) -> str:
    tail = _TRAILING.search(turn)
    return core + (tail.group(0).strip() if tail else "")


def _predicate(question: str, fragment: str = "") -> str:
    """「…是多少？」: the part of a question from its question word (with copula) to the end."""
    if _QUANTITY_NOUN.search(fragment):
        return "是多少？"
    match = _PREDICATE.search(question)
    return question[match.start():] if match else "是什么？"


def _with_time(question: str, previous: str) -> str:
    """Carry the previous question's time expression over, if the new one names none."""
    if _TIME.search(question):
        return question
    time = _TIME.search(previous)
    return f"{time.group(0)}{'' if time.group(0).endswith(('年', '末', '底')) else ','}{question}" \
        if time else question


def _replace_time(previous: str, time: str) -> str:
    match = _TIME.search(previous)
    if match is None:
        return f"{time}{previous}"
    old = match.group(0)
    # Keep a leading 截至 of the previous question when the new one gives only the year.
    lead = re.match(r"截至|截止|到", old)
    if lead and not re.match(r"截至|截止|到", time):
        time = lead.group(0) + time
    return previous[:match.start()] + time + previous[match.end():]


def _words(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) for each jieba word of `text`; 「第0426号」 stays one word."""
    out, pos = [], 0
    for word in cut(text):
        out.append((pos, pos + len(word), word))
        pos += len(word)
    for m in _DOC_NO.finditer(text):
        inside = [w for w in out if m.start() <= w[0] and w[1] <= m.end()]
        if inside:
            first = out.index(inside[0])
            out[first:first + len(inside)] = [(inside[0][0], inside[-1][1],
                                               text[inside[0][0]:inside[-1][1]])]
    return out


def _is_boundary(word: str) -> bool:
    return (word in _BOUNDARY_WORDS or not CJK.search(word) or word.isdigit()
            or bool(_TIME_ONLY.match(word)) or bool(_COUNT.match(word)))


def _widen_left(words: list[tuple[int, int, str]], last: int) -> int:
    """Start of the noun phrase whose last word is words[last]."""
    first = last
    while first > 0 and not _is_boundary(words[first - 1][2]):
        first -= 1
    return words[first][0]


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n] and CJK.match(a[-1 - n]):
        n += 1
    return n


def _suffix_span(previous: str, core: str) -> tuple[int, int] | None:
    """The phrase of `previous` that ends like `core` (the same head noun), widened left."""
    words = _words(previous)
    best, best_len = None, 0
    for i, (_, end, word) in enumerate(words):
        if _is_boundary(word):
            continue
        n = _common_suffix(previous[:end], core)
        if n >= best_len and n > 0:  # ties go to the later phrase, nearer the question word
            best, best_len = i, n
    if best is None:
        return None
    start = _widen_left(words, best)
    end = words[best][1]
    return (start, end) if previous[start:end] != core else None


def _prefix_span(previous: str, core: str) -> tuple[int, int] | None:
    """The phrase of `previous` that starts with `core`'s first word, widened right."""
    first = cut(core)[0] if core else ""
    if len(first) < 2 or not CJK.search(first):
        return None
    words = _words(previous)
    for i, (start, _, word) in enumerate(words):
        if word == first:
            last = i
            while last + 1 < len(words) and not _is_boundary(words[last + 1][2]):
                last += 1
            return start, words[last][1]
    return None


def _resolve_pronoun(core: str, previous: str, previous_answer: str) -> str:
    """Replace 「这个基金」 by the phrase of the previous question (or answer) ending in 基金."""
    bare = _BARE_PRONOUN.match(core)
    if bare:
        rest = core[bare.end():]
        # 其/它的 are possessive: 「其规模」 is 「X的规模」; 它 alone is the subject.
        joiner = "的" if bare.group(0) == "其" or bare.group(0).endswith("的") else ""
        return f"{topic(previous)}{joiner}{rest}"
    match = _PRONOUN.search(core)
    rest = core[match.end():]
    noun_words = _words(rest)
    # The noun after the pronoun: its first word, or two when the first is a measure word.
    noun = noun_words[0][2] if noun_words else ""
    if noun in {"个", "项", "家", "支", "条", "份"} and len(noun_words) > 1:
        rest, noun = rest[len(noun):], noun_words[1][2]
    for source in (previous, previous_answer):
        phrase = _phrase_ending_in(source, noun) if source and noun else None
        if phrase:
            return core[:match.start()] + phrase + rest[len(noun):]
    return core[:match.start()] + rest


def _phrase_ending_in(text: str, noun: str) -> str | None:
    words = _words(text)
    for i, (_, end, word) in enumerate(words):
        if word.endswith(noun) and not _is_boundary(word):
            return text[_widen_left(words, i):end]
    return None


def topic(question: str) -> str:
    """What a question is about: its last phrase that ends in an entity noun (…基金, …企业)."""
    words = _words(question)
    for i in range(len(words) - 1, -1, -1):
        if words[i][2].endswith(_ENTITY_HEADS) and not _is_boundary(words[i][2]):
            return question[_widen_left(words, i):words[i][1]]
    return ""
