"""Question analysis: language, content terms, and the numbers, years and document numbers asked for."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index.lexical import STOPWORDS, normalise, tokenize, words
# Shared with the reader's analysis, so that both read years, terms and ordinals alike.
from rag.query import (_IDENTIFIER, _LATIN, _LATIN_NAME, _YEAR, CJK, FRAMING_WORDS, NUMBER,
                       THOUSANDS, asking_words, chinese_amounts, ordinals_named)

# 2000万元 is an amount, not a year: a year is followed by 年, or by nothing that makes it one.
# 1,279 in an English question is 1279, as the documents write it (not 1 and 279).
# In an English question, the words written as identifiers name something exactly: an inner
# capital (PermitRootLogin), an underscore (KERN_ERR, sshd_config) or letters with digits
# (iproute2, ext4; not Q1). Ordinary words are translated instead and may be paraphrased.
_DOC_NO = re.compile(r"第?\s*(\d{3,4})\s*号")
# 第二期, 第8批, 第六次: an ordinal names one of a series; a text that never states it is
# about another one (a fund's first tranche, not its second).
# Words that frame a question rather than name its topic ("according to the document, what does
# it require…"); they would otherwise weigh as much as the facts asked about.
# Words that make up the asking itself: 哪几个 / 几所 / 哪 两个 / 多少 家. Their counters and
# numbers say what kind of answer is wanted (checked by the unit), not what it is about.
# "多少家" / "几个": the unit a numeric answer must carry.
# 哪几个 asks which ones, not how many.
_UNIT = re.compile(r"(?:多少|(?<!哪)几)(亿元|万元|元|万人|人次|家|个|项|所|名|人|位|次|倍|支|条|件|亿|万|平方米|亩|座)")
# The copulas of "X是多少": only there is X surely the thing measured (超过多少, 涨了多少 and 占几成
# put a verb before the question word). 科研单位(一共有)几家.
_COPULAS = frozenset("是 为 有 共有 一共有".split())
_LINKS = _COPULAS | frozenset("一共 共 约 大约 累计".split())
# Heads that a number with its unit already states (规模 of a fund is "20亿元"): not required.
_GENERIC_HEADS = frozenset("规模 数量 数目 金额 总额 总数 总量 数 人数 个数 多少 目标 数字 情况".split())
# A question asking what something is called, or what kind it is: policy texts coin such names
# in quotation marks (“一网通”, “小而精”), so a sentence quoting a new term is likelier the answer.
_ASKS_NAME = re.compile(r"(?:叫|称|名为|称为)什么|(?:题目|标题|名称|名字)(?:是|为)什么|"
                        r"什么(?:名字|名称|原则|类型|模式|样|方式|机制|理念)|哪种|哪类|"
                        r"怎样的|\b(?:called|named|what kind|what type|which kind|which type)\b", re.I)
# Units an English question asks its amount in ("in square kilometres", "how many yuan"): the
# Chinese unit the answer must carry, as 多少平方公里 would ask. Only after "in" or "how many":
# "with their 20 million yuan" names an amount the question gives, not the one it asks.
_ENGLISH_UNITS = tuple((re.compile(r"\b(?:in|how many)\s+(?:" + words_ + r")\b", re.I), unit)
                       for words_, unit in (
    (r"square kilomet(?:re|er)s?|km2|sq\.? ?km", "平方公里"),
    (r"square met(?:re|er)s?|m2|sq\.? ?m", "平方米"),
    (r"hectares?", "公顷"),
    (r"yuan|rmb", "元"),
    (r"tonnes?|tons?", "吨"),
))
_ASKS_QUANTITY = re.compile(r"^(?:多少|几)")
# English asks for an amount in so many words; Chinese 多少家 has its unit checked instead.
_ASKS_AMOUNT = re.compile(r"\bhow (?:many|much)\b", re.I)
_UNIT_WORD = re.compile(r"^(?:[亿万千百]?元|[万亿]?人次?|[家个项所名位次倍支条件座亩]|[万亿]|平方(?:公里|米)|公里|米|吨)$")
# A question about a change or a share: then a growth rate (同比增长15.4%) may be its answer.
_ASKS_CHANGE = re.compile(r"增长|增幅|增速|增加|提高|提升|上升|下降|减少|同比|比例|占比|比重|百分|%|倍|"
                          r"\b(?:grow|grew|grown|growth|increase|increased|rise|rose|risen|decline|"
                          r"declined|fall|fell|drop|dropped|share|percent|percentage|rate|ratio|"
                          r"proportion|times)\b", re.I)
_DOCUMENT_YEAR = re.compile(r"((?:19|20)\d{2})\s*年?\s*(?:的|那份|这份|份|发布的|印发的)?\s*(?:指导意见|意见|"
                            r"文件|工作报告|报告|复函|答复|函|\b(?:guidance|guideline|opinion|"
                            r"report|reply|replies|letter|document|work report)\b)")
_ASKS_CAUSE = re.compile(r"原因|为什么|为何|\bwhy\b|\bwhat (?:is|was|are|were) the (?:main )?"
                         r"(?:reasons?|causes?)\b", re.I)
_RATE = re.compile(r"人均|户均|亩均|每万人|每千人|每百人|万人|年均")
_TITLE = re.compile(r"《[^》]*》")
_ASKS_RANK = re.compile(r"第几|(?:排名|排|位居|名列)第一|\brank(?:ed|s|ing)?\b", re.I)
# 哪一天 / on what date: a day, not a year (2022年第19次局长办公会 dates no meeting).
_DAY_ASKED = r"哪一天|哪天|几月几日|什么日期|\b(?:what|which) (?:date|day)\b"
_ASKS_DAY = re.compile(_DAY_ASKED, re.I)
# 几点钟 / at what time: a time of day, not a date or "daily"; 几点建议 counts points made.
_ASKS_TIME = re.compile(r"几点钟|几点几分|几点(?=开始|执行|运行|启动|结束|召开|举行|发布|上班|下班)"
                        r"|什么时刻|哪个时刻|\bwhat time\b|\bat what hour\b", re.I)
# 哪个区县 / 在哪里召开: the answer names a district or county of Chongqing.
_ASKS_DISTRICT = re.compile(r"哪(?:个|些|两个|几个)?区县|哪个区(?!域)|哪个县(?!域|级)"
                            r"|在哪里?召开|在哪里?举办|选址|落户(?:在)?哪")
# 担任什么职务 / what position: the answer names a post (局长, 主任).
_ASKS_POST = re.compile(r"什么职务|何种职务|哪个职务|担任什么|职务是什么"
                        r"|\bwhat (?:position|post|title|job)\b", re.I)
# 多久一次 / how often: the answer states a frequency (每年, 年度, 每季度).
_ASKS_FREQUENCY = re.compile(r"多久一次|多长时间一次|每隔多久|频次|频率"
                             r"|\bhow often\b|\bhow frequently\b", re.I)
# 增长了百分之多少 / what percentage: the answer states a percentage.
_ASKS_PERCENT = re.compile(r"百分之(?:多少|几)|多少\s*%|百分比|百分点|\b(?:percentage|percent)\b", re.I)
# 投入了多少资金 / how much money: the answer states an amount of money.
_ASKS_MONEY = re.compile(r"多少(?:财政)?(?:资金|经费|钱|款)|(?:投入|出资|拨付|安排)了?多少(?!项|个|家|名|人)|"
                         r"\bhow much (?:money|funding)\b", re.I)
# 哪一年 / when, or a day: the answer holds a date.
_ASKS_YEAR = re.compile(r"哪一年|哪年|何年|什么时候|何时|什么时间|\b(?:which|what) year\b|^when\b|"
                        + _DAY_ASKED, re.I)
# Classifiers of a count (多少家): the count's unit is checked instead of a focus.
COUNTERS = frozenset("家 个 项 所 名 人 位 次 支 条 件 座 倍".split())
# English words whole: "count" is in "counties", which asks for no quantity.
_QUANTITY = re.compile(r"多少|(?<!哪)几|数量|规模|金额|比例|占比|增长|\b(?:how many|how much|"
                       r"number of|amount|percentage|share of|proportion|total|count)\b", re.I)


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
    # Every token of the question itself, framing words included (复函 and 指导意见 frame a
    # question, yet name a document by its title). Not replaced by translations.
    tokens: tuple[str, ...] = ()
    unit: str = ""  # the unit of the quantity asked for ("家" in 多少家), "" if none
    # The noun the unit counts (字符 in 多少个字符): a number right before it (30 字符) counts it
    # too, with no classifier between. "" if none.
    unit_noun: str = ""
    # The word naming the quantity asked for (总投资 in 超瞬态实验装置的总投资是多少): an answer
    # sentence must name it too, or it states some other quantity. "" if none.
    focus: str = ""
    asks_year: bool = False  # 哪一年 / when: an answer sentence must hold a date
    asks_name: bool = False  # 叫什么 / 什么样的: the answer is likely a quoted coined term
    asks_amount: bool = False  # how many / how much: the answer states a number
    asks_change: bool = False  # 增长了多少 / what share: a growth rate or share may answer
    asks_cause: bool = False  # 原因是什么 / why: the answer must state a cause
    asks_rank: bool = False  # 排第几 / what rank: the answer must state an ordinal (第79位)
    asks_percent: bool = False  # 百分之多少 / what percentage: the answer states one (26.2%)
    asks_money: bool = False  # 投入了多少资金: the answer states an amount in 元
    asks_post: bool = False  # 担任什么职务 / what position: the answer names a post (局长)
    asks_day: bool = False  # 哪一天 / on what date: the answer states a day (11月4日)
    asks_time: bool = False  # 几点钟 / at what time: the answer states a time of day (6:25, 凌晨)
    asks_frequency: bool = False  # 多久一次 / how often: the answer states one (每年, 年度)
    asks_district: bool = False  # 哪个区县 / 在哪召开: the answer names one of Chongqing's
    # 获批 in 是否已正式获批, 满意 in 是否满意: what a yes-no question asks happened; a sentence
    # without it (择优推荐…申报) says nothing either way. "" if none.
    whether: str = ""
    # Years that name a document (2022年的指导意见, the 2019 reply), not the year of a fact.
    document_years: tuple[str, ...] = ()
    places: tuple[str, ...] = ()  # 成都 for 成都市: the passage must be about that city
    # 主任 in 实验室的主任是谁: the person asked for is named by this role; a sentence without it
    # names no such person. "" if none.
    role: str = ""
    # 由哪家单位负责运营 / which organisation chairs: a body asked for by what it does; a sentence
    # naming no such role (运营, 牵头, 依托) names no such body.
    operator: tuple[str, ...] = ()
    # Latin names a mostly Chinese question asks about (pct, gdp): documents that never write
    # them do not answer. () in English questions.
    latin_names: tuple[str, ...] = ()
    # 首期 in 首期规模是多少: the clause giving it a number (首期10亿元) leads. "" if none.
    modifier: str = ""
    # The part of a stated whole a count asks about (重庆 in 重庆方面出了多少): the answer names it.
    part: tuple[str, ...] = ()
    # English "Of the 1,279 investments, how many were made by the angel fund": the part's
    # words ("angel fund"), translated into `part_groups` where the vocabulary is known.
    english_part: str = ""
    part_groups: tuple[tuple[str, ...], ...] = ()
    # 重庆, 四川 in 重庆和四川各出资多少: an answer gives each its amount, or says 各 itself.
    parties: tuple[str, ...] = ()
    # 5个联合共建重点实验室分别叫什么名字: the question gives the count and asks which ones, so
    # a sentence restating the count (评审通过5个…) names none of them.
    names_counted: str = ""  # the count so stated, with what it counts ("5个联合共建重点实验室")
    # Provinces and large cities a Chinese question names (湖北; 重庆 is the documents' own).
    regions: tuple[str, ...] = ()
    # What a count asks for (试验示范基地 in 多少个试验示范基地): a clause naming it all leads.
    counted: tuple[str, ...] = ()
    # Each ordinal the question names, in both spellings: (第二期, 第2期).
    ordinals: tuple[tuple[str, ...], ...] = ()
    # 人均 / 每万人 / 年均 in the question: it asks a rate, which a total (累计340.6亿元) is not.
    rates: tuple[str, ...] = ()


def quantity_focus(question: str, tokens: list[str] | None = None) -> str:
    """X in a question ending "X是多少" (or 为/有/一共有, perhaps with a unit), when X names a thing.

    Then X is the thing measured, and a sentence stating some other quantity does not answer. Chinese noun phrases end in their head, so its last word is taken;
    a one-character head (率 in 不良贷款率) keeps the word before it. `tokens`: the question's
    `words`, when the caller has them already.
    """
    tokens = words(question) if tokens is None else tokens
    j = _measured(tokens)
    if j < 0 or tokens[j] in _GENERIC_HEADS:
        return ""
    head = tokens[j]
    if len(head) == 1 and j > 0 and CJK.search(tokens[j - 1]):
        head = tokens[j - 1] + head
    return head


def measure_modifier(tokens: list[str]) -> str:
    """The word before a generic head in "X是多少": 首期 in 首期规模是多少, 总 in 总规模是多少.
    Not a check (规模 alone is stated by any 亿元), but it tells which clause states the fact."""
    j = _measured(tokens)
    if j < 1 or tokens[j] not in _GENERIC_HEADS:
        return ""
    word = tokens[j - 1]
    return word if CJK.match(word) and word not in STOPWORDS and word not in FRAMING_WORDS else ""


def _measured(tokens: list[str]) -> int:
    """Index of the word X in a question ending "X是多少" (perhaps with a unit), or -1."""
    for i, tok in enumerate(tokens):
        rest = tokens[i + 1:]
        if not _ASKS_QUANTITY.match(tok) or len(rest) > 1 or (rest and not _UNIT_WORD.match(rest[0])):
            continue
        j = i - 1
        while j >= 0 and tokens[j] in _LINKS:
            j -= 1
        linked = any(t in _COPULAS for t in tokens[j + 1:i])
        if j < 0 or not linked or not CJK.search(tokens[j]) or tokens[j] in FRAMING_WORDS \
                or tokens[j] in STOPWORDS:
            return -1
        return j
    return -1


def counted_noun(ws: list[str]) -> tuple[str, ...]:
    """The words of what a count asks for, after its question word and classifier: 试验, 示范,
    基地 in 建了多少个试验示范基地. () if the question names nothing there."""
    for i, w in enumerate(ws[:-2]):
        if _ASKS_QUANTITY.match(w) and (_UNIT_WORD.match(ws[i + 1]) or w[-1] in COUNTERS):
            start = i + 1 if w[-1] in COUNTERS and len(w) > 1 else i + 2
            return _noun_run(ws[start:], also_stop=_COPULAS)
    return ()


def _noun_run(ws: list[str], also_stop: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The Chinese words at the start of `ws`, up to the first that is not Chinese, is a stopword
    or is in `also_stop`: the noun phrase a question word is followed by."""
    run = []
    for word in ws:
        if not CJK.match(word) or word in STOPWORDS or word in also_stop:
            break
        run.append(word)
    return tuple(run)


def part_asked(ws: list[str]) -> tuple[str, ...]:
    """The part of a whole a count asks about: 重庆 in …2000万元资金中,重庆方面出了多少, 众创空间 in
    14家孵化平台中,有多少家是众创空间, 国家级人才 in 904名…人才中,国家级人才有多少名. A sentence
    stating only the whole does not name it."""
    asks = [i for i, w in enumerate(ws) if _ASKS_QUANTITY.match(w)]
    if not asks:
        return ()
    for i, w in enumerate(ws[1:], start=1):
        if w == "方面" and i < asks[-1] and CJK.match(ws[i - 1]) and ws[i - 1] not in STOPWORDS:
            return (ws[i - 1],)  # 重庆方面…多少
    for i in asks:  # 多少家是众创空间
        rest = ws[i + 1:]
        if rest and rest[0] in COUNTERS:
            rest = rest[1:]
        if rest and rest[0] == "是":
            return _noun_run(rest[1:])
    # 904名…人才中,国家级人才有多少名: after a counted whole and its 中 (里), the words before 有多少.
    within = [j for j, w in enumerate(ws[:asks[-1]]) if w in ("中", "当中", "其中", "里")
              and any(NUMBER.fullmatch(t) and ws[k + 1] in COUNTERS for k, t in enumerate(ws[:j]))]
    if within:
        between = [w for w in ws[within[-1] + 1:asks[-1]] if w not in (",", "，", "有")]
        if between and all(CJK.match(w) and w not in STOPWORDS for w in between):
            return tuple(between)
    return ()


# A partitive English question (how many of…, of the N…, how many) and the part it asks about,
# after its last verb's preposition: "…how much of the first tranche was allocated to biomedicine".
_EN_PARTITIVE = re.compile(r"\bhow (?:many|much) of\b|^of the\b.*\bhow (?:many|much)\b")
_EN_PART = re.compile(r"\b(?:were|was|went|are|is)\b(?:\s+[a-z]+)?\s+(?:to|by|for|on|into|in)"
                      r"\s+(?:the\s+)?([a-z][a-z -]*?)\s*\??$")


def english_part(norm: str) -> str:
    """The part an English partitive question asks a number of ("angel fund"), else the thing a
    "how many" counts (companies in "how many companies has the fund invested in"), or ""."""
    if not _EN_PARTITIVE.search(norm):
        counted = _EN_COUNTED.search(norm)
        return counted.group(1) if counted and counted.group(1) not in _EN_UNIT_NOUNS else ""
    found = _EN_PART.search(norm)
    return found.group(1) if found else ""


# "how many member universities does": the head noun before the verb; people, times and units
# are checked by the unit instead.
_EN_COUNTED = re.compile(r"\bhow many\s+(?:[a-z'-]+\s+){0,3}?([a-z'-]+?)\s+(?:does|do|did|is|are|"
                         r"was|were|has|have|had|will|would|can|could|should)\b")
_EN_UNIT_NOUNS = frozenset("people persons talents researchers staff times yuan them".split())


_WHICH_ONES = re.compile(r"分别(?:叫什么|是什么|是哪)|具体是哪|具体包括哪|是哪几|有哪些|是哪些|叫什么名字")
STATED_COUNT = re.compile(r"(?<![哪几])(?:\d+|[两二三四五六七八九十]+)[个家项所支条批类点件种]")


def names_counted(norm: str) -> str:
    """The count a Chinese question states before asking which ones, with the words between it
    and the asking ("6个" in 通过国家级备案的6个具体是哪几个, "三条基本原则" in 三条基本原则分别是
    什么; not 哪两个领域, where the count is part of the asking), or ""."""
    ask = _WHICH_ONES.search(norm)
    stated = list(STATED_COUNT.finditer(norm, 0, ask.start())) if ask else []
    return norm[stated[-1].start():ask.start()] if stated else ""


def parties_asked(ws: list[str]) -> tuple[str, ...]:
    """The parties of "X和Y各出资多少": each is asked its own amount. () if the question asks no
    such thing."""
    for i, w in enumerate(ws):
        if w != "各" or not any(_ASKS_QUANTITY.match(t) for t in ws[i + 1:i + 4]):
            continue
        parties, j = [], i - 1
        while j >= 0 and CJK.match(ws[j]) and ws[j] not in STOPWORDS:
            parties.append(ws[j])
            if j == 0 or ws[j - 1] not in ("和", "与", "、", "及"):
                break
            j -= 2
        return tuple(reversed(parties)) if len(parties) > 1 else ()
    return ()


def role_asked(tokens: list[str]) -> str:
    """The role of the person asked for, from a question's `words`: X in "X是谁" / "X由谁担任" /
    "X是哪位", or in "哪位X"."""
    for i, tok in enumerate(tokens):
        if tok not in ("谁", "哪位"):
            continue
        if tok == "哪位" and i + 1 < len(tokens):
            following = tokens[i + 1]  # 哪位人大代表 (jieba: 人大代表 or 人大, 代表)
            return following if CJK.search(following) else ""
        # 由谁担任负责人: the role follows the verb (the word before 由 is the body led).
        if i + 2 < len(tokens) and tokens[i + 1] in ("担任", "出任", "任") \
                and CJK.search(tokens[i + 2]) and tokens[i + 2] not in STOPWORDS:
            return tokens[i + 2]
        if i >= 2 and tokens[i - 1] in ("是", "为", "由") and CJK.search(tokens[i - 2]) \
                and tokens[i - 2] not in STOPWORDS:
            return tokens[i - 2]
    return ""


# The verbs of running something, any of which answers a question asking who runs it: a passage
# may say 牵头 where the question says 负责.
_OPERATING = ("负责", "牵头", "承担", "运营", "运行", "管理", "主办", "承办", "主管")
_OPERATOR_ZH = re.compile(r"哪(?:一)?[家个些所位][^，,。？?]{0,12}?(?:" + "|".join(_OPERATING) + ")")
_OPERATOR_EN = re.compile(r"\b(?:which|what|who)\b[^?]{0,40}?\b(?:runs?|operates?|manages?|"
                          r"chairs?|hosts?|leads?|oversees?|"
                          r"(?:is|are|was|were) (?:responsible|in charge))\b")


def operator_asked(norm: str) -> tuple[str, ...]:
    """The verbs one of which a sentence must hold to name the body a question asks for by its
    role (由哪家单位负责运营, 依托哪所高校, which organisation chairs); () if none is asked."""
    if "依托哪" in norm:
        return ("依托",)
    return _OPERATING if _OPERATOR_ZH.search(norm) or _OPERATOR_EN.search(norm) else ()


_PLACE_SUFFIX = "市省区县"
# Kinds of area, not places, though they end like one: 高新区 is any high-tech zone, and a
# passage about 綦江's zone need not write 高新 again.
_AREA_KINDS = frozenset("""
高新区 开发区 示范区 试验区 自贸区 保税区 核心区 承载区 功能区 集聚区 先行区 合作区 经济区 实验区 园区 新区
城区 主城区 市区 郊区 景区 社区 辖区 片区 库区 山区 老区 牧区 矿区 校区 厂区 街区 城市 直辖市 自治县 自治区 区县
""".split())


def places_named(ws: list[str]) -> tuple[str, ...]:
    """Places among a question's `words` named with their administrative suffix, as one word:
    成都市 → 成都, 渝北区 → 渝北. (Where jieba cuts the suffix off, 永川 / 区, the word is not
    taken: on dev that form more often named a kind of area the passage calls otherwise.)"""
    return tuple(dict.fromkeys(w[:-1] for w in ws
                               if len(w) in (3, 4) and w[-1] in _PLACE_SUFFIX and CJK.match(w)
                               and w not in _AREA_KINDS))




# China's provinces and largest cities, by the names questions and documents use. A sentence
# comparing some of them (上海的44个、四川的14个) does not answer for another (湖北). 重庆 is left
# out: the documents are Chongqing's own, and call it 全市 as often as 重庆; a question asking
# about one of these is still not answered by a sentence naming 重庆 (rag/answer.py).
REGIONS = frozenset("""
北京 天津 上海 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南
陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 石家庄 太原 沈阳 长春 哈尔滨 南京 杭州 合肥 福州 南昌 济南
郑州 武汉 长沙 广州 海口 成都 贵阳 昆明 西安 兰州 西宁 呼和浩特 南宁 拉萨 银川 乌鲁木齐 深圳 苏州 青岛 大连 宁波 厦门
""".split())
_REGION = re.compile("|".join(sorted(REGIONS, key=len, reverse=True)))


def regions_in(text: str) -> set[str]:
    """The provinces and large cities a text names."""
    return set(_REGION.findall(text))


# What interest rate / what share / by what percentage: a rate is asked, and only a % answers.
_EN_RATE = re.compile(r"\bwhat (?:[a-z-]+ ){0,2}(?:rates?|percentage|share|proportion|ratio)\b|"
                      r"\bpercentage\b", re.I)


# How many (foreign) talents / people / researchers: a head count, written 38人, 904名 or 3位.
_EN_HEADCOUNT = re.compile(r"\bhow many (?:[a-z-]+ ){0,3}?(?:people|persons|staff|employees|"
                           r"workers|talents|researchers|experts|scientists|academicians|"
                           r"members)\b", re.I)


def unit_asked(norm: str) -> re.Match | None:
    """The 多少家 / 几个 match whose classifier is not the first character of a noun: 多少支出 asks
    for an expenditure, not for so many 支; 多少项目 for projects, in any unit."""
    for match in _UNIT.finditer(norm):
        after = norm[match.end(1):match.end(1) + 1]
        # 几个协同创新中心里,…全称是什么: "among the several" frames the question, asks no count.
        among = _AMONG.match(norm, match.end(1))
        if not (after and after in _NOUN_AFTER.get(match.group(1), "")) and not among:
            return match
    return None


_AMONG = re.compile(r"[^,，。？?、；;]{0,12}?(?:里|当中|之中|中)[,，]")
# The second characters that make a classifier the start of a noun (支出, 项目, 人才, 名单, 条件).
# A list, not jieba: jieba also cuts across a classifier's end (多少名区县级 → 名区, 县级).
_NOUN_AFTER = {"支": "出持撑", "项": "目", "人": "才员", "名": "单称额录", "条": "件例",
               "次": "数", "个": "人体", "位": "置于", "家": "庭", "件": "数"}


def noun_after(norm: str, at: int) -> str:
    """The Chinese word of two or more characters starting at `at` (字符 in 多少个字符以内), or ""."""
    first = next(iter(words(norm[at:at + 12])), "")
    return first if len(first) > 1 and CJK.match(first) and first not in STOPWORDS else ""


def whether_asked(ws: list[str]) -> str:
    """The verb a Chinese yes-no question (是否 / 有没有 / 是不是) asks about: 获批 in 后来是否已
    正式获批, past the adverbs before it; "" if none, or if the 是否 clause only describes what a
    question word asks for (检查脚本是否含有bash语法的工具叫什么 asks a tool's name)."""
    if any(_WH_WORD.search(w) for w in ws):
        return ""
    for i, w in enumerate(ws):
        if w in ("是否", "有没有", "是不是"):
            rest = [v for v in ws[i + 1:] if v not in _WHETHER_ADVERBS]
            return rest[0] if rest and CJK.match(rest[0]) and len(rest[0]) > 1 else ""
    return ""


_WH_WORD = re.compile(r"什么|哪|谁|多少|几|怎|如何|为何")
_WHETHER_ADVERBS = frozenset("已 已经 正式 曾 曾经 真正 真的 都 也 还 最终 后来 顺利 如期 按期".split())


def english_unit(text: str) -> str:
    """The Chinese unit an English question asks its amount in ("in yuan" → 元, "what rate" →
    %, "how many people" → 人), or ""."""
    return next((unit for pattern, unit in _ENGLISH_UNITS if pattern.search(text)),
                "%" if _EN_RATE.search(text) else "人" if _EN_HEADCOUNT.search(text) else "")


def analyse(question: str) -> Query:
    """Parse a question once; later stages read the result instead of re-parsing."""
    norm = normalise(question)
    digits = THOUSANDS.sub("", norm)  # numbers read whole: 1,279 → 1279
    tokens = tuple(dict.fromkeys(tokenize(question)))
    ws = words(question)  # precise-mode words, cut once for every phrase rule below
    asking = asking_words(ws)
    terms = tuple(t for t in tokens if t not in FRAMING_WORDS and t not in asking)
    english = bool(_LATIN.search(norm)) and not CJK.search(norm)
    # In a mostly Chinese question a Latin word names the thing asked about (PCT, GDP); in an
    # English one every word is Latin and is translated instead.
    mostly_chinese = not english and len(CJK.findall(question)) > len(_LATIN.findall(question))
    # A title the question quotes names a document; its words (《…提升…行动计划》) ask nothing.
    asked = _TITLE.sub("", norm)
    return Query(
        text=question,
        english=english,
        terms=terms,
        tokens=tokens,
        groups=tuple((t,) for t in terms),
        years=tuple(dict.fromkeys(_YEAR.findall(norm))),
        numbers=tuple(dict.fromkeys(NUMBER.findall(digits)
                                    + (list(chinese_amounts(digits)) if english else []))),
        doc_numbers=tuple(dict.fromkeys(_DOC_NO.findall(norm))),
        wants_quantity=bool(_QUANTITY.search(norm)),
        unit=unit.group(1) if (unit := unit_asked(norm))
        else english_unit(norm) if english else "",
        unit_noun=noun_after(norm, unit.end(1)) if unit else "",
        # A count (多少家) is checked by its classifier; the focus is for measures (是多少亿元).
        focus="" if english or (unit and unit.group(1) in COUNTERS) else quantity_focus(question, ws),
        asks_year=bool(_ASKS_YEAR.search(asked)),
        asks_name=bool(_ASKS_NAME.search(norm)),
        asks_amount=bool(_ASKS_AMOUNT.search(norm)) or any(w.startswith("多少") for w in ws),
        asks_change=bool(_ASKS_CHANGE.search(asked)),
        asks_cause=bool(_ASKS_CAUSE.search(asked)),
        asks_rank=bool(_ASKS_RANK.search(asked)),
        asks_percent=bool(_ASKS_PERCENT.search(asked)),
        asks_money=bool(_ASKS_MONEY.search(asked)),
        asks_post=bool(_ASKS_POST.search(asked)),
        asks_day=bool(_ASKS_DAY.search(asked)),
        asks_time=bool(_ASKS_TIME.search(asked)),
        asks_district=bool(_ASKS_DISTRICT.search(asked)),
        whether=whether_asked(ws),
        asks_frequency=bool(_ASKS_FREQUENCY.search(asked)),
        document_years=tuple(dict.fromkeys(_DOCUMENT_YEAR.findall(norm))),
        role=role_asked(ws),
        operator=operator_asked(norm),
        places=places_named(ws),
        latin_names=tuple(t for t in terms if _LATIN_NAME.fullmatch(t)) if mostly_chinese
        else tuple(dict.fromkeys(w.lower() for w in _IDENTIFIER.findall(question))) if english
        else (),
        ordinals=ordinals_named(norm),
        counted=counted_noun(ws) if not english else (),
        part=part_asked(ws) if not english else (),
        english_part=english_part(norm) if english else "",
        parties=parties_asked(ws) if not english else (),
        names_counted=names_counted(norm) if not english else "",
        regions=tuple(sorted(regions_in(norm))) if not english else (),
        modifier=measure_modifier(ws) if not english else "",
        rates=tuple(dict.fromkeys(_RATE.findall(asked))),
    )


def with_groups(query: Query, groups: list[tuple[str, ...]]) -> Query:
    """The query with its terms replaced by groups of alternatives (e.g. translations)."""
    terms = tuple(dict.fromkeys(t for group in groups for t in group))
    # An English question's regions are those its words translate to (Guangdong → 广东).
    regions = tuple(sorted(set(terms) & REGIONS)) if query.english else query.regions
    return replace(query, terms=terms, groups=tuple(groups), regions=regions)
