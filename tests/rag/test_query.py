"""The answer rules (rag/rules/): question analysis, answer checks, and the English → Chinese term groups."""
from __future__ import annotations

import pytest

from index.types import Chunk, Document
from rag.rules.answer import Assembler, AssemblyParams, has_quantity, list_after, quotes_new_term, \
    names_listed, stated_counts, states_measure
from rag.crosslingual import expand_english, reader_question
from rag.rules.query import CJK, analyse, chinese_amounts, counted_noun, measure_modifier, \
    ordinals_named, part_asked, parties_asked, quantity_focus, with_groups
from rag.types import Hit


def test_analyse_finds_years_numbers_doc_numbers_and_unit():
    q = analyse("2019年第0099号建议复函提到,截至一季度累计培育多少家科技型企业？")
    assert not q.english
    assert q.years == ("2019",)
    assert q.doc_numbers == ("0099",)
    assert q.unit == "家" and q.wants_quantity
    assert "复函" not in q.terms and "科技型" in q.terms  # framing words carry no evidence


@pytest.mark.parametrize("question, unit, asking", [
    # 哪几个 asks which ones: no count is wanted, and 几个 is not evidence to look for.
    ("川渝联合攻关瞄准了哪几个领域？", "", {"哪几", "几个", "哪几个"}),
    ("重庆有哪两个地方和安岳联手？", "", {"两个"}),
    ("依托哪所高校建设？", "", {"哪所"}),
    # 几所 asks how many: the unit is checked, so the counter need not be found as a term too.
    ("重庆的双一流高校有几所？", "所", {"几所"}),
    ("累计培育了多少家企业？", "家", {"家"}),
])
def test_the_words_that_ask_are_not_terms(question, unit, asking):
    q = analyse(question)
    assert q.unit == unit
    assert q.wants_quantity == bool(unit)
    assert asking and not asking & set(q.terms)


def test_an_amount_is_not_a_year():
    q = analyse("2021年川渝双方各出资2000万元开展联合攻关,2020-2025年呢？")
    assert q.years == ("2021", "2020", "2025")
    assert "2000" in q.numbers


def test_english_detection():
    assert analyse("How many R&D personnel did Chongqing have?").english
    assert not analyse("2020年R&D人员有多少？").english


def test_has_quantity_needs_the_unit():
    assert has_quantity("高新技术企业4222家", "家")
    assert has_quantity("科技型企业4.5万家", "家")
    assert not has_quantity("研发投入强度2.1%", "家")
    assert has_quantity("提供咨询服务1000余人次", "人次") and has_quantity("160多项", "项")
    assert has_quantity("集聚创业团队1.5万余个", "支")  # 个 answers any count
    assert not has_quantity("营业收入120亿元", "支")
    # A share may be written as a ratio: in what ratio … 按4:6的出资比例.
    assert has_quantity("与区县政府按4:6的出资比例设立", "%") and not has_quantity("规模2亿元", "%")


def test_has_quantity_reads_chinese_numerals_and_takes_any_counter_for_ge():
    assert has_quantity("从以下六个方面加强", "个")
    assert has_quantity("应急科研项目57项", "个")  # 个 is the general classifier
    assert not has_quantity("应急科研项目57项", "家")


@pytest.mark.parametrize("question, focus", [
    ("超瞬态实验装置的总投资是多少？", "投资"),
    ("重庆知识价值信用贷款的不良贷款率是多少？", "不良贷款率"),  # a 1-character head keeps its word
    ("西部(重庆)科学城的规划面积是多少平方公里？", "面积"),  # a unit may close the question
    ("重庆市科创培育基金的总规模是多少亿元？", ""),  # 规模 is what the number itself states
    ("2020年重庆高新区引进的项目总投资额超过多少亿元？", ""),  # a verb, not a copula, before 多少
    ("指导意见要求区县围绕多少个产业方向构建产业技术创新体系？", ""),  # 多少 mid-question
])
def test_quantity_focus_is_the_head_of_x_shi_duoshao(question, focus):
    assert quantity_focus(question) == focus


def test_a_count_is_checked_by_its_unit_not_a_focus():
    assert analyse("中央在渝的科研单位一共有几家？").focus == ""


def test_states_measure_needs_a_value_after_the_head():
    assert states_measure("项目总投资1200亿元", "投资")
    assert states_measure("对工业增长贡献率分别达到37.9%", "贡献率")
    assert not states_measure("设立20亿元成果转化股权投资基金。", "投资")


def test_analyse_finds_asked_dates_and_places():
    assert analyse("金凤实验室是哪一年揭牌成立的？").asks_year
    assert analyse("In which year was the lab founded?").asks_year
    assert not analyse("2020年重庆有多少家高新技术企业？").asks_year
    assert analyse("成都市2020年累计培育高新技术企业多少家？").places == ("成都",)


def _doc(text: str) -> Document:
    return Document(id="d", text=text, meta={})


def test_list_after_a_colon_takes_the_first_sentence_of_each_item():
    text = "主要表现为“四缺”:\n\n(一)缺人才。说明一。\n\n(二)缺平台。说明二。\n\n二、下一节\n"
    doc = _doc(text)
    items = list_after(doc, text.index(":") + 1)
    assert [text[s:e] for s, e in items] == ["(一)缺人才。", "(二)缺平台。"]


def test_a_table_caption_or_a_sentence_above_one_introduces_the_tables_rows():
    text = ("GNU/Linux 文件有三种类型的时间戳。\n表 1.9. 时间戳类型列表\n类型 含义\n"
            "mtime 文件修改时间\nctime 文件状态修改时间\n  atime 文件最后被访问的时间  \n"
            "注意到 atime 可能不准。\n")
    doc = _doc(text)
    quoted = lambda spans: [text[s:e] for s, e in spans]  # noqa: E731
    rows = ["类型 含义", "mtime 文件修改时间", "ctime 文件状态修改时间", "atime 文件最后被访问的时间"]
    # The caption as the lead: its rows, stripped, up to the prose that follows the table.
    assert quoted(list_after(doc, text.index("时间戳类型列表") + 7)) == rows
    # The sentence a caption follows: the caption, then the rows.
    assert quoted(list_after(doc, text.index("。") + 1)) == ["表 1.9. 时间戳类型列表", *rows]
    # A sentence with more text on its line introduces nothing.
    other = _doc("文件有三种时间戳。见下表\n表 1.9. 时间戳类型列表\nmtime 修改时间\n")
    assert list_after(other, other.text.index("。") + 1) == []
    long = _doc("表 2. 很多行\n" + "".join(f"第{i}行 值\n" for i in range(10)))
    assert len(list_after(long, long.text.index("\n"))) == 6  # TABLE_ROWS


def test_list_after_a_heading_stops_at_the_next_heading_and_a_plain_sentence_has_none():
    text = "(二)基本原则。\n统筹规划。坚持。\n需求导向。\n(三)工作目标。\n到2025年。\n"
    doc = _doc(text)
    items = list_after(doc, text.index("。") + 1)
    assert [text[s:e] for s, e in items] == ["统筹规划。", "需求导向。"]
    assert list_after(doc, text.index("坚持。") + 3) == []


def test_english_words_become_chinese_terms_the_index_knows():
    vocab = {"银行": 0, "分支": 1, "实验室": 2, "人员": 3, "两": 4, "群": 5}
    groups = expand_english("Which bank branch and laboratories? (两群)", vocab)
    flat = {t for g in groups for t in g}
    assert {"银行", "分支", "实验室", "两", "群"} <= flat
    assert ("实验室",) in groups  # "laboratories" → laboratory
    assert flat <= set(vocab), "only terms BM25 can match are kept"
    assert expand_english("the of and", vocab) == []


def test_the_reader_reads_an_english_question_as_a_chinese_gloss():
    groups = [("外国", "对外"), ("高端",), ("人才",), ("新增", "着"), ("2020",)]
    idf = {"对外": 3.1, "外国": 2.0, "高端": 4.0, "人才": 1.0, "新增": 1.5, "着": 6.0, "2020": 2.2}
    # Each word by the translation the documents use most, in order, then the asking word.
    assert reader_question("How many foreign high-end talents did it add in 2020?", groups, idf) \
        == "外国高端人才新增2020多少？"
    assert reader_question("Who signed the reply?", [("签署",), ("答复",)]) == "签署答复谁？"
    assert reader_question("In which year was it approved?", [("批准",)]).endswith("哪一年？")
    assert reader_question("What share of firms were new?", [("企业",)]).endswith("百分之多少？")
    assert reader_question("Describe it", []) == "什么？"


def test_english_words_the_documents_write_in_latin_letters_are_their_own_evidence():
    # A manual writes systemctl and init as they are; CC-CEDICT has no entry for them.
    vocab = {"systemctl": 0, "命令": 1, "失败": 2, "command": 3}
    groups = expand_english("Which systemctl command checks failed units?", vocab)
    assert ("systemctl",) in groups
    assert ("command", "命令") in groups  # the word beside its translation, either one counts
    assert ("失败",) in groups  # a word the documents write in Chinese only: as before


def test_identifiers_in_an_english_question_are_names_the_documents_must_hold():
    assert analyse("What is the default of PermitRootLogin in sshd_config?").latin_names == (
        "permitrootlogin", "sshd_config")
    assert analyse("Which iproute2 command sets the ext4 KERN_ERR level?").latin_names == (
        "iproute2", "ext4", "kern_err")
    # Ordinary words are translated, not names; nor is a quarter (Q1) or 5G.
    assert analyse("As of Q1 2019, how many 5G base stations were built?").latin_names == ()
    doc = Document(id="d", text="/etc/ssh/sshd_config 是 SSH 服务端的配置文件。", meta={})
    hits = [Hit(chunk=Chunk(id="d#0", doc_id="d", text=doc.text, start=0, end=len(doc.text)),
                score=1.0, rank=1, source="bm25")]
    missing = Assembler()._names_missing
    assert missing(analyse("What is the default of PermitRootLogin in sshd_config?"), hits,
                   {"d": doc})
    assert not missing(analyse("Which file is sshd_config?"), hits, {"d": doc})


def test_english_framing_verbs_are_not_asked_terms():
    # "say" has translations (云, 倾诉, 再说) that no answer holds: counted, they refuse answers.
    vocab = {"云": 0, "倾诉": 1, "再说": 2, "实验室": 3}
    groups = expand_english("Which laboratories does the opinion say should be built?", vocab)
    assert ("实验室",) in groups
    assert not {"云", "倾诉", "再说"} & {t for g in groups for t in g}
    from rag.crosslingual import _dictionary
    assert {"云", "倾诉", "再说"} <= _dictionary()["say"]  # what the stopword keeps out


def test_policy_phrases_are_read_from_the_glossary_before_word_by_word():
    vocab = {"高新": 0, "新区": 1, "高新区": 2, "中区": 3, "开发区": 4, "川": 5, "渝": 6,
             "发明": 7, "专利": 8, "发明专利": 9, "高标准": 10, "高质量": 11}
    groups = expand_english("Which high-tech zones did Sichuan and Chongqing link?", vocab)
    flat = {t for g in groups for t in g}
    assert ("高新区",) in groups  # the one form of 高新区|高新技术产业开发区 BM25 knows
    assert "中区" not in flat  # CC-CEDICT's "zone", replaced by the phrase
    # A one-form phrase counts as if typed: each word BM25 cuts it into is asked for.
    assert ("川",) in groups and ("渝",) in groups  # 川渝, though "chongqing" is a stopword
    assert expand_english("invention patents", vocab) == [("发明",), ("专利",), ("发明专利",)]
    # Forms of one line are alternatives of one group.
    assert expand_english("to a high standard", vocab) == [("高标准", "高质量")]
    word_by_word = expand_english("Which high-tech zones did Sichuan and Chongqing link?", vocab,
                                  glossary=False)
    assert "中区" in {t for g in word_by_word for t in g}


def test_a_one_word_glossary_line_adds_to_the_dictionary():
    vocab = {"模式": 0, "模型": 1}
    assert expand_english("Which model?", vocab) == [("模式", "模型")]
    assert expand_english("Which model?", vocab, glossary=False) == [("模型",)]


def test_a_question_frame_is_not_translated():
    # "how many" → 几个, "number" → 号 and "share" → 共享 would pose as evidence no answer holds.
    vocab = {"几个": 0, "若干": 1, "号": 2, "共享": 3, "实验室": 4}
    for question in ("How many laboratories?", "What number of laboratories?",
                     "What share of laboratories?"):
        assert expand_english(question, vocab) == [("实验室",)], question


def test_irregular_past_forms_and_the_count_of_a_list():
    vocab = {"两": 0, "实验室": 1, "建设": 2, "新建": 3}
    groups = expand_english("Which two laboratories were built?", vocab)
    assert groups == [("实验室",), ("建设", "新建")]  # built → build; 哪两个 is a frame too
    assert ("两",) in expand_english("The two laboratories", vocab)


@pytest.mark.parametrize("question, wants", [
    ("Which models do districts and counties promote?", False),  # "count" in "counties"
    ("How many districts and counties?", True),
    ("What is the total count of laboratories?", True),
    ("What share of output do high-tech zones contribute?", True),
])
def test_english_words_asking_for_a_quantity_are_whole_words(question, wants):
    assert analyse(question).wants_quantity is wants


def test_an_english_question_asking_how_much_needs_a_number():
    query = with_groups(analyse("How much is a Debian developer paid per year?"),
                        [("debian",), ("开发者",), ("付", "薪", "补助"), ("年",)])
    assert query.asks_amount and not analyse("Which laboratories were built?").asks_amount
    assembler = Assembler()
    assert not assembler._states_what_is_asked(query, "有经验的开发者会乐意付出一定的努力。")
    assert assembler._states_what_is_asked(query, "开发者年薪为12万元。")
    assert assembler._states_what_is_asked(query, "每年补助两次。")
    lenient = Assembler(AssemblyParams(checks=("focus", "date")))  # RAG_ANSWER_CHECKS without unit
    assert lenient._states_what_is_asked(query, "有经验的开发者会乐意付出一定的努力。")


def test_the_glossary_is_well_formed():
    from rag.crosslingual import GLOSSARY, _glossary
    lines = [line for line in GLOSSARY.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    phrases = [line.split("\t")[0] for line in lines]
    assert len(set(phrases)) == len(phrases), "a phrase listed twice"
    assert all(p == p.lower().strip() for p in phrases)
    assert len(_glossary()) == len(lines)
    for chinese in _glossary().values():
        assert all(CJK.search(form) for form in chinese), chinese


@pytest.mark.parametrize("question, asks", [
    ("市科技局计划启动的科技成果转化管理系统叫什么？", True),
    ("指导意见要求区县按照什么原则打造特色科技平台？", True),
    ("文件希望大、小企业分别呈现怎样的发展局面？", True),
    ("What is the platform called?", True),
    ("2020年重庆累计培育高新技术企业多少家？", False),
    ("金凤实验室是哪一年揭牌成立的？", False),
])
def test_analyse_finds_questions_asking_for_a_name(question, asks):
    assert analyse(question).asks_name is asks


def test_a_quoted_term_the_question_lacks_is_a_new_name():
    assert quotes_new_term("二是启动科技成果转化管理“一网通”。", "管理系统叫什么？")
    assert not quotes_new_term("启动“一网通”。", "“一网通”是什么？")
    assert not quotes_new_term("建立全流程智慧管理系统。", "管理系统叫什么？")
    assert not quotes_new_term("第二项曾经保存在 “/etc/passwd”。", "哪种加密？")  # a literal


def test_a_name_written_in_pinyin_finds_the_corpus_word_it_spells():
    # CC-CEDICT defines 万州 in a long sentence, so no English word maps to it; its pinyin does.
    # 明月湖 is no CC-CEDICT word: its characters' readings spell it.
    vocab = {"万州": 0, "明月湖": 1, "园区": 2, "斯特": 3}
    assert ("万州",) in expand_english("Which Wanzhou park is cited?", vocab)
    assert ("明月湖",) in expand_english("Who runs the Mingyuehu lab?", vocab)
    # A lower-case word the dictionary knows is read as English, not as pinyin (si-te).
    assert not any("斯特" in g for g in expand_english("Which site is it?", vocab))
    assert ("斯特",) in expand_english("Which Site is it?", vocab)  # as a name it is pinyin


@pytest.mark.parametrize("question, role, places", [
    ("明月湖实验室的主任是谁？", "主任", ()),
    ("第0099号建议是哪位人大代表提出的？", "人大代表", ()),
    ("截至2019年,渝北区和成都市各有多少家企业？", "", ("渝北", "成都")),
    ("2020年新增的市级高新区里,哪一个在2022年被支持创建国家高新区？", "", ()),  # a kind of area
])
def test_the_role_and_places_a_question_names(question, role, places):
    q = analyse(question)
    assert (q.role, q.places) == (role, places)


def _assemble(query, doc: Document, weights: dict[str, float]):
    chunk = Chunk(id="c", doc_id=doc.id, text=doc.text, start=0, end=len(doc.text), meta={})
    hit = Hit(chunk=chunk, score=1.0, rank=1, source="bm25")
    return Assembler().assemble(query, [hit], {doc.id: doc}, weights, None, 0.0)


def test_a_decimal_the_question_states_must_be_in_the_document_answering():
    query = analyse("Meson 构建系统的 1.0 版本是哪一年发布的？")
    weights = {t: 1.0 for t in query.terms}
    other = _doc("Meson 构建系统在 2013 年初始发布。另见 hello-sh-1.0.3 示例。")
    assert _assemble(query, other, weights)[1]  # 1.0.3 is a 1.0: stated in the document
    first = _doc("Meson 构建系统在 2013 年初始发布,是新的构建系统。")
    assert not _assemble(query, first, weights)[1]  # about its first release, not 1.0
    assert _assemble(query, _doc("Meson 构建系统的 1.0 版本于 2022 年发布。"), weights)[1]


def test_a_year_found_in_the_passages_scope_counts_as_covered():
    # The report is dated 2021; its goals sentence names no year. Without the year the sentence
    # covers 5.5 of the question's 13.5 (科技, 科技型, 企业, 突破); with it, 8.5.
    doc = Document(id="d", text="实施成长工程,力争科技型企业突破30000家。", meta={"date": "2021-06-11"})
    weights = {"2021": 3.0, "年": 1.0, "科技": 0.5, "科技型": 2.0, "企业": 1.0, "突破": 2.0,
               "发展": 4.0}
    text, answerable, _ = _assemble(analyse("2021年科技型企业的发展目标是突破多少家？"), doc, weights)
    assert answerable and "30000家" in text
    # An English question's year does not count: its other terms are dictionary guesses.
    english = with_groups(analyse("What development target for 2021 did tech firms set?"),
                          [("2021",), ("发展",), ("科技型",), ("突破",), ("企业",)])
    assert not _assemble(english, doc, weights)[1]


def test_a_clause_repeating_only_the_questions_year_is_not_cited_as_the_fact():
    doc = Document(id="d", text="2023年,全市技术合同交易额同比增长54.3%,技术经纪人同比增长102%,"
                                "全市孵化载体面积达到600万平方米。", meta={})
    weights = {"2023": 3.0, "年": 1.0, "技术": 1.0, "合同": 2.0, "交易": 2.0, "交易额": 3.0,
               "增长": 1.0}
    _, answerable, citations = _assemble(analyse("2023年技术合同交易额增长了多少？"), doc, weights)
    assert answerable and citations[0].quote != "2023年"
    assert "54.3%" in citations[0].quote


def test_a_growth_rate_states_no_amount_unless_a_change_is_asked():
    assembler, grew = Assembler(), "2023年,全市营业收入同比增长15.4%。"
    assert not assembler._states_what_is_asked(analyse("2023年全市营业收入是多少？"), grew)
    assert assembler._states_what_is_asked(analyse("2023年全市营业收入是多少？"),
                                           "2023年,全市营业收入达到120亿元。")
    assert assembler._states_what_is_asked(analyse("2023年全市营业收入增长了多少？"), grew)
    english = analyse("What was the total operating revenue in 2023?")
    assert not english.asks_change and not assembler._states_what_is_asked(english, grew)
    assert assembler._states_what_is_asked(analyse("By what share did revenue grow in 2023?"), grew)


@pytest.mark.parametrize("text, forms", [
    ("母基金的第二期规模", (("第2期", "第二期"),)),
    ("第8批国家农业科技园区", (("第8批", "第八批"),)),
    ("第十二届和第21次", (("第12届", "第十二届"), ("第21次", "第二十一次"))),
    ("首期10亿元", ()),  # 首期 is the first of any series, and 首次 is mostly "for the first time"
])
def test_ordinals_are_read_in_both_spellings(text, forms):
    assert ordinals_named(text) == forms


def test_an_english_count_needs_its_number_beside_a_word_asked_about():
    assembler = Assembler()
    query = with_groups(analyse("How many technology brokers did Chongqing have in 2023?"),
                        [("技术经纪人",), ("重庆",), ("2023",)])
    assert not assembler._states_what_is_asked(
        query, "2023年,全市技术经纪人同比增长102%,全市孵化载体面积达到600万平方米。")
    assert assembler._states_what_is_asked(query, "2023年,全市登记技术经纪人1200名。")
    assert assembler._states_what_is_asked(query, "全市有1200名技术经纪人。")


@pytest.mark.parametrize("question, unit", [
    ("What is the planned area, in square kilometres, of the eco-city?", "平方公里"),
    ("How large is the incubation space in square meters?", "平方米"),
    ("What was the R&D spending in yuan?", "元"),
    ("How many firms were founded?", ""),
    ("How many projects did their 20 million yuan fund?", ""),  # an amount given, not asked
])
def test_a_unit_named_in_english_is_the_unit_the_answer_needs(question, unit):
    assert analyse(question).unit == unit
    if unit == "平方公里":
        assert not Assembler()._states_what_is_asked(analyse(question), "孵化载体面积达到600万平方米。")


@pytest.mark.parametrize("question, counted", [
    ("2018年建了多少个试验示范基地？", ("试验", "示范", "基地")),
    ("重庆有多少家高新技术企业？", ("高新技术", "企业")),
    ("川渝国家级高新区有多少家？", ()),  # the thing counted comes first: nothing after the count
])
def test_the_words_a_count_asks_for(question, counted):
    from index.lexical import words
    assert counted_noun(words(question)) == counted


def test_the_word_before_a_generic_measure():
    from index.lexical import words
    assert measure_modifier(words("科创母基金的首期规模是多少？")) == "首期"
    assert measure_modifier(words("超瞬态实验装置的总投资是多少？")) == ""  # 投资 is a focus
    assert quantity_focus("超瞬态实验装置的总投资是多少？") == "投资"


def test_english_amounts_are_read_in_the_chinese_units_the_documents_use():
    assert chinese_amounts("with their 20 million yuan") == ("2000",)  # 2000万元
    assert chinese_amounts("a 1.5 billion yuan fund") == ("150000", "15")  # 15亿元
    assert chinese_amounts("178 million yuan") == ("17800", "1.78")  # 1.78亿元
    assert "2000" in analyse("What did the 20 million yuan fund?").numbers
    assert ("2000",) in expand_english("What did the 20 million yuan fund?", {"2000": 0})


@pytest.mark.parametrize("question, part", [
    ("川渝共同出资的2000万元研发资金中,重庆方面具体出了多少？", ("重庆",)),
    ("新增的14家国家级孵化平台中,有多少家是众创空间？", ("众创", "空间")),
    ("评价成果转化方面的人才时,以什么为主要依据？", ()),  # 方面 there asks no count
    ("重庆有多少家高新技术企业？", ()),
])
def test_the_part_of_a_whole_a_count_asks_about(question, part):
    from index.lexical import words
    assert part_asked(words(question)) == part


def test_the_questions_own_numbers_are_set_aside_whole():
    assembler = Assembler()
    query = with_groups(analyse("How many projects were funded with the 20 million yuan?"),
                        [("项目",), ("2000",), ("20",)])
    assert assembler._states_what_is_asked(query, "共同出资2000万元,联合实施重点研发项目15个。")
    assert not assembler._states_what_is_asked(query, "共同出资2000万元,联合实施重点研发项目。")
    assert assembler._states_what_is_asked(query, "实施项目2020个。")  # 20 is not cut out of 2020


def test_the_parties_each_asked_their_amount():
    from index.lexical import words
    assert parties_asked(words("母基金中,重庆和四川各出资多少亿元？")) == ("重庆", "四川")
    assert parties_asked(words("四川和重庆各自发放的人才卡,有多少项服务互认？")) == ()
    assert parties_asked(words("各区县的支持金额是多少？")) == ()


@pytest.mark.parametrize("english, region", [
    ("Shaanxi", "陕西"), ("Shanxi", "山西"), ("Guangzhou", "广州"), ("Nanjing", "南京"),
    ("Hubei", "湖北"), ("Xi'an", "西安"), ("Inner Mongolia", "内蒙古"),
])
def test_an_english_region_is_the_region_the_place_check_reads(service, english, region):
    from rag.crosslingual import expand_english, reader_question
    from rag.rules.query import REGIONS, analyse, with_groups

    question = f"How many national key laboratories does {english} have?"
    query = with_groups(analyse(question), expand_english(question, service.index.bm25.vocabulary))
    assert query.regions == (region,) and region in REGIONS


def test_an_english_number_with_thousands_separators_is_one_number(service):
    from rag.crosslingual import expand_english, reader_question

    question = "Of the 1,279 investments made by the guidance funds, how many were seed deals?"
    assert analyse(question).numbers == ("1279",)
    groups = expand_english(question, service.index.bm25.vocabulary)
    assert ("1279",) in groups and ("1",) not in groups and ("279",) not in groups
    assert analyse("What was 1,000,000 yuan worth in 2020?").numbers == ("1000000", "2020")


def test_a_word_met_only_by_its_characters_earns_part_of_its_weight():
    groups = [(("治疗",), 2.0), (("成果",), 2.0)]
    text = "18项科研成果用于临床诊断和救治康复"
    assert Assembler._coverage(text, groups) == pytest.approx(0.5)
    # 治疗: one of its two characters (治) is there, worth half of the partial credit.
    assert Assembler._coverage(text, groups, 0.5) == pytest.approx((2.0 + 2.0 * 0.5 * 0.5) / 4.0)
    assert Assembler._coverage(text, [(("ABC",), 1.0)], 0.5) == 0.0  # Chinese words only


@pytest.mark.parametrize("question, part", [
    ("Of the 1,279 investments made by the guidance funds, how many were made by the seed fund?",
     "seed fund"),
    ("How much of the first tranche was allocated to biomedicine?", "biomedicine"),
    # No part of a stated whole: the thing counted, whose translation the number must count.
    ("How many companies were listed on the STAR Market?", "companies"),
    ("How many member universities does the alliance have?", "universities"),
    ("How many people were employed in the sector?", ""),  # a head count: checked by its unit
])
def test_the_part_an_english_partitive_question_asks_about(question, part):
    assert analyse(question).english_part == part


@pytest.mark.parametrize("question, unit", [
    ("What interest rate do banks charge on knowledge-value credit loans?", "%"),
    ("By what percentage did the technology contract turnover grow in 2023?", "%"),
    ("What share of industrial output should high-tech zones contribute?", "%"),
    ("How large is the science city, in square kilometres?", "平方公里"),
    ("How many high-tech enterprises were there in 2020?", ""),
    # A Chinese unit asked stands as a word of its own.
    ("“十三五”期间,一般公共预算给科学技术安排了多少支出？", ""),  # 支出 is a word, not 多少支
    ("多少项目获得了支持？", ""),  # 项目 asks for projects, in any unit
    ("培育了多少支科技特派员团队？", "支"),
    ("选派了多少名区县级科技特派员？", "名"),  # jieba cuts 名区 | 县级; 名 is still the unit
    ("选派科技特派员多少人次？", "人次"),
    # "Among the several centres" frames the question; it asks a name, not a count.
    ("联合组建的几个协同创新中心里,专攻光电材料的那一个全称是什么？", ""),
    ("新增多少家高新技术企业？", "家"),
])
def test_the_unit_a_question_asks_in(question, unit):
    assert analyse(question).unit == unit


def test_hyphenated_english_amounts_and_causes():
    assert "20" in chinese_amounts("the 2-billion-yuan fund")  # 20亿
    assert analyse("市科技局认为主要原因是什么？").asks_cause
    assert analyse("Why has Chongqing no national manufacturing innovation centre?").asks_cause
    assert not analyse("国家制造业创新中心全国已落地多少家？").asks_cause
    assert analyse("2020年新增的904名省部级以上高层次人才中,国家级人才有多少名？").part == (
        "国家级", "人才")
    assert analyse("市科技局在2020年报告里自曝短板时说,重庆一共只有几个国家重点实验室？").part == ()


@pytest.mark.parametrize("question, years", [
    ("Under the 2022 guidance opinion, how many experts are shared?", ("2022",)),
    ("2019年复函提到新备案了多少个星创天地？", ("2019",)),
    ("What share did high-tech zones account for in 2022?", ()),
    ("2021年重庆新增省部级以上高层次人才多少名？", ()),
])
def test_a_year_that_names_a_document(question, years):
    assert analyse(question).document_years == years


def test_a_phrasal_verb_is_read_whole_and_its_particle_not_on_its_own():
    # "draw up to single out": 制定 for "draw up"; "up to" (截至) and "to single" are no terms.
    vocab = {"制定": 0, "拟定": 1, "截至": 2, "到": 3, "名录": 4, "布局": 5, "谋划": 6, "企划": 7}
    groups = expand_english("What list did they draw up to single out?", vocab)
    flat = {t for g in groups for t in g}
    assert "制定" in flat and not {"截至", "到"} & flat
    # A past form finds the phrase too: laid out → lay out.
    assert ("企划",) in expand_english("Which platforms were laid out?", vocab, glossary=False)


def test_a_pair_led_by_a_frame_word_is_not_a_phrase():
    vocab = {"定": 0, "设立": 1, "建设": 2}
    groups = expand_english("Which institute does it plan to set up?", vocab)
    assert ("定",) not in groups  # CC-CEDICT's "to set", led by the frame word "to"
    assert any("设立" in g for g in groups)


def test_english_words_naming_the_document_or_the_wish_are_frame():
    vocab = {"文件": 0, "要": 1, "需要": 2, "意见": 3}
    assert expand_english("What opinion document does it want?", vocab) == [("意见",)]


@pytest.mark.parametrize("question", ["On what date did the bureau sign the notice?",
                                      "这份通知是什么日期签发的？", "大会哪天举办？"])
def test_a_question_asking_a_date_needs_one(question):
    assert analyse(question).asks_year


def test_a_count_the_question_states_must_be_in_the_passage():
    # The 2,780 projects asked about are not the 148 projects of another passage.
    query = with_groups(analyse("What was the total investment of the 2,780 upgrade projects?"),
                        [("投资",), ("总投资额",), ("项目",)])
    other = Document(id="d", text="引进集成电路等项目148个、总投资额超1200亿元。", meta={})
    weights = {"投资": 2.0, "总投资额": 4.0, "项目": 1.0}
    assert not _assemble(query, other, weights)[1]
    same = Document(id="d", text="实施改造项目2780个、总投资额超1200亿元。", meta={})
    assert _assemble(query, same, weights)[1]
    assert stated_counts(analyse("2020年实施的57项应急科研项目投入了多少经费？")) == ["57"]
    assert stated_counts(analyse("How many patents per 10,000 people in the 13th plan?")) == []


@pytest.mark.parametrize("question, operator", [
    ("“易智网”平台由哪家单位负责运营？", True),
    ("Which organisation chairs the high-tech zone alliance?", True),
    ("国家应用数学中心依托哪所高校建设？", True),
    ("指导意见支持区县推进哪些应用场景建设？", False),  # 建设 asks what is built, not by whom
])
def test_a_body_asked_for_by_its_role_needs_a_sentence_naming_such_a_role(question, operator):
    query = analyse(question)
    assert bool(query.operator) is operator
    if operator and not query.english:
        assembler = Assembler()
        assert not assembler._states_what_is_asked(query, "“易智网”建成线上线下成果转化服务平台。")
        assert assembler._states_what_is_asked(
            query, "平台由重庆科技服务大市场牵头运营,依托重庆大学建设。")


def test_a_rank_asked_needs_an_ordinal():
    query, assembler = analyse("按实验室数量算,重庆在全国各省份中排第几？"), Assembler()
    assert query.asks_rank and analyse("Where did Chongqing rank in the Nature Index?").asks_rank
    assert not assembler._states_what_is_asked(query, "新增2个省部共建国家重点实验室。")
    assert assembler._states_what_is_asked(query, "全球科研指数排名第79位。")


def test_a_part_of_a_counted_whole_may_follow_li():
    # 82件建议里,重点建议有几件: the part, like 904名人才中,国家级人才有多少名.
    assert analyse("市科技局承办的82件人大代表建议里,重点建议有几件？").part == ("重点", "建议")


def test_a_letters_salutation_introduces_no_list():
    query = analyse("易小光委员提出的四点建议,具体分别是什么？")
    assert query.names_counted.startswith("四点")
    assert not names_listed("易小光委员:", query.names_counted, query.text)
    assert names_listed("从以下四点建议出发:", query.names_counted, query.text)


def test_cross_references_and_pronouns_translate_to_nothing():
    from rag.crosslingual import _dictionary
    # CC-CEDICT's "see 下功夫" is a pointer, not a definition of "see"; "their" is no term (及其).
    assert "下功夫" not in _dictionary().get("see", ())
    groups = expand_english("What do they want to see in their plan?", {"下功夫": 0, "及其": 1})
    assert not {"下功夫", "及其"} & {t for g in groups for t in g}


def test_a_role_asked_as_who_holds_it():
    assert analyse("川渝协同创新专项工作组的组长由谁担任？").role == "组长"


def test_a_header_field_asked_by_its_label_is_cited_from_the_header():
    # The header block is metadata, in no chunk, yet it is the document's text: citable.
    header = "[ 索引号 ] 115/2024-00099 [ 发文字号 ] 渝科局函〔2024〕300号\n\n"
    body = "重庆市科学技术局关于第0798号提案答复的函\n\n王晓颖委员:\n您提出的提案收悉。"
    doc = Document(id="d", text=header + body,
                   meta={"title": "重庆市科学技术局关于第0798号提案答复的函"})
    chunk = Chunk(id="c", doc_id="d", text=body, start=len(header), end=len(doc.text), meta={})
    hit = Hit(chunk=chunk, score=1.0, rank=1, source="bm25")
    weights = {"0798": 3.0, "提案": 1.0, "答复": 1.0, "函": 0.5, "发": 0.5, "文字": 1.0}
    text, answerable, citations = Assembler().assemble(
        analyse("第0798号提案的答复函,发文字号是什么？"), [hit], {"d": doc}, weights, None, 0.0)
    assert answerable and citations[0].quote == "[ 发文字号 ] 渝科局函〔2024〕300号"
    assert doc.text[citations[0].start:citations[0].end] == citations[0].quote
    # A field the question gives a value for names the document; it is not asked.
    _, _, by_index = Assembler().assemble(analyse("索引号为115/2024-00099的函答复的是第几号提案？"),
                                          [hit], {"d": doc}, {"索引": 1.0, "提案": 1.0}, None, 0.0)
    assert all("索引号" not in c.quote for c in by_index)


def test_an_english_head_count_needs_people_counted():
    query = analyse("How many people were employed in the technology services sector in 2023?")
    assert query.unit == "人" and analyse("How many foreign high-end talents came?").unit == "人"
    query = with_groups(query, [("人才", "人员"), ("科技",), ("服务",), ("2023",)])
    assembler = Assembler()
    assert not assembler._states_what_is_asked(query, "印发实施三年行动计划(2023-2025)。")
    assert assembler._states_what_is_asked(query, "新增外国高端人才38人。")
    assert assembler._states_what_is_asked(query, "新增省部级以上高层次人才904名。")


def test_question_words_and_into_are_frame_or_particle():
    vocab = {"一旦": 0, "什么时候": 1, "评价": 2, "变成": 3, "转型": 4, "交互": 5, "向": 6}
    assert expand_english("When assessing", vocab) == [("评价",)]
    groups = expand_english("institutes turn into", vocab)
    assert not {"交互", "向"} & {t for g in groups for t in g}  # turn into is read whole


def test_a_section_of_plans_is_not_dated_by_the_year_its_title_reports_on():
    # The 2020 report (published 2021) ends with 三、下一步工作打算: targets, not 2020's figures.
    facts, plans = "累计培育高新技术企业4222家。\n", "力争高新技术企业突破4500家。\n"
    text = "一、2020年工作情况\n" + facts + "三、下一步工作打算\n" + plans
    doc = Document(id="d", text=text, meta={"title": "市科技局2020年工作情况报告",
                                            "date": "2021-06-11"})
    def chunk(part, heading):
        start = text.index(part)
        return Chunk(id=heading, doc_id="d", text=part, start=start, end=start + len(part),
                     meta={"title": doc.meta["title"], "headings": [heading]})
    hits = [Hit(chunk=chunk(plans, "三、下一步工作打算"), score=1.0, rank=1, source="bm25"),
            Hit(chunk=chunk(facts, "一、2020年工作情况"), score=0.9, rank=2, source="bm25")]
    weights = {"2020": 2.0, "2021": 2.0, "高新": 1.0, "高新技术": 2.0, "企业": 1.0, "突破": 1.0}
    def answer(question):
        return Assembler().assemble(analyse(question), hits, {"d": doc}, weights, None, 0.0)[0]
    assert "4222家" in answer("截至2020年底,重庆有多少家高新技术企业？").split("[1]")[0]
    assert "4500家" in answer("2021年重庆力争高新技术企业突破多少家？").split("[1]")[0]


def test_a_chinese_amount_asked_needs_a_number_not_the_questions_own():
    query, assembler = analyse("《三年行动计划(2023-2025)》一共安排了多少财政资金？"), Assembler()
    assert query.asks_amount
    # 提升 in the quoted title asks for no change; the title's 三年 and 2023 state no amount.
    assert not analyse("《科技服务业提升三年行动计划》安排了多少资金？").asks_change
    assert not assembler._states_what_is_asked(
        query, "印发实施《三年行动计划(2023-2025)》,推动科技服务业高质量发展。")
    assert assembler._states_what_is_asked(query, "三年行动计划安排财政资金5亿元。")


def test_a_rate_asked_is_not_answered_by_a_total():
    query, assembler = analyse("“十三五”期间重庆人均财政科学技术支出是多少元？"), Assembler()
    assert query.rates == ("人均",)
    assert not assembler._states_what_is_asked(query, "全市累计安排科学技术支出340.6亿元。")
    assert assembler._states_what_is_asked(query, "人均科学技术支出1062元。")


@pytest.mark.parametrize("question, sentence, states", [
    # 排名第一 asks who ranks first: a list of indicators ranks nobody.
    ("在区县创新能力年度监测中,哪个区县排名第一？", "制定发布5大类27项具体指标,对区县创新能力进行年度监测。", False),
    ("在区县创新能力年度监测中,哪个区县排名第一？", "渝北区综合得分排名第一。", True),
    # 百分之多少 asks a percentage: the level (11.35件) is not its growth.
    ("万人发明专利拥有量比2019年增长了百分之多少？", "万人发明专利拥有量提升到11.35件。", False),
    ("万人发明专利拥有量比2019年增长了百分之多少？", "万人发明专利拥有量增长12.5%。", True),
    # 投入了多少资金 asks money: 开发新技术160余项 counts products, not yuan.
    ("示范项目财政一共投入了多少资金？", "开发新技术、新产品、新工艺160余项。", False),
    ("示范项目财政一共投入了多少资金？", "财政投入示范项目资金3000万元。", True),
    # 担任什么职务 asks a post: a contact line names the person, not the post.
    ("联系人沈着在市科技局担任什么职务？", "联 系 人:沈  着   联系电话:67511393", False),
    ("联系人沈着在市科技局担任什么职务？", "沈着任市科技局办公室主任。", True),
    ("What position does the contact person hold?", "王晓颖委员:", False),
    # 是否已正式获批 asks whether it was approved: a sentence on the application says nothing.
    ("该研究站后来是否已正式获批为国家站？", "择优推荐该研究站申报国家野外科学观测研究站。", False),
    ("该研究站后来是否已正式获批为国家站？", "该研究站获批为国家野外科学观测研究站。", True),
    # 多少个字符 is answered by a number right before 字符, with no 个 between; not by none.
    ("软件包名的长度应控制在多少个字符以内？", "把软件包名的长度控制在 30 字符以内是明智之举。", True),
    ("软件包名的长度应控制在多少个字符以内？", "软件包名最短长度两个字符。", True),
    ("软件包名的长度应控制在多少个字符以内？", "软件包名中的字符应为小写字母。", False),
    # …是否含有bash语法的工具叫什么 asks a name: the 是否 clause describes the tool.
    ("用来检查脚本里是否含有 bash 专有语法的工具叫什么？", "用 checkbashisms 检查脚本的 bash 化语法。",
     True),
    # How often asks a frequency: 定期 says regularly, not how often.
    ("How often will the bureau evaluate the policies?", "定期评估政策效果,及时调整策略。", False),
    ("How often will the bureau evaluate the policies?", "每年评估一次政策效果。", True),
    # 哪一天 asks a day: the question's own 2022年 dates no meeting.
    ("2022年第19次局长办公会是哪一天召开的？", "指导意见已经2022年第19次局长办公会审议通过。", False),
    ("2022年第19次局长办公会是哪一天召开的？", "2022年11月4日召开第19次局长办公会。", True),
    # 几点钟 asks a time of day: a sentence on the daily job gives none; 几点建议 counts points.
    ("自动升级默认在每天的几点钟执行？", "/etc/cron.daily/apt 脚本每天运行一次。", False),
    ("自动升级默认在每天的几点钟执行？", "它默认在每天 6:25 由 cron 执行。", True),
    ("自动升级默认在每天的几点钟执行？", "它默认在每天凌晨执行。", True),
    ("第0426号提案一共提出了几点建议？", "提出了加强协同创新等建议。", True),
    # 在哪个区县召开 asks a district: 县域 and 示范县 name none.
    ("专题会是在哪个区县召开的？", "召开县域创新驱动发展专题会,启动创新驱动示范县创建工作。", False),
    ("专题会是在哪个区县召开的？", "在璧山区召开县域创新驱动发展专题会。", True),
    # 由谁担任负责人 asks the role 负责人, not the 中心 it leads.
    ("中科院重庆科学中心由谁担任负责人？", "以建设中科院重庆科学中心为牵引。", False),
])
def test_the_kind_of_fact_asked_must_be_stated(question, sentence, states):
    assert Assembler()._states_what_is_asked(analyse(question), sentence) is states


def test_policy_phrases_translate_as_the_documents_write_them():
    known = {"山东": 0, "鲁": 1, "实施方案": 2, "实施例": 3, "建设方案": 4, "新建": 5, "内设": 6}
    terms = lambda q: {t for g in expand_english(q, known) for t in g}
    assert "鲁" in terms("poverty-alleviation cooperation with Shandong")  # 渝鲁扶贫协作
    assert {"实施方案", "建设方案"} <= terms("the construction plan and the implementation plan")
    assert not {"实施例", "新建"} & terms("the construction plan and the implementation plan")
    assert "内设" in terms("in-house R&D units")  # 企业建设内设研发机构


def test_see_and_alongside_frame_an_english_question():
    known = {"于焉": 0, "偶见": 1, "在旁": 2, "深度": 3}
    terms = {t for g in expand_english("Alongside X, what do they want to see deeply integrated?",
                                       known) for t in g}
    assert "深度" in terms and not {"于焉", "偶见", "在旁"} & terms
    # each and other frame a question too; form an alliance is 组建, not only 形式.
    known = {"交互": 0, "各": 1, "组建": 2, "形式": 3, "解读": 4}
    terms = {t for g in expand_english("Which alliances did they form, and how is each other "
                                       "policy explained?", known) for t in g}
    assert {"组建", "解读"} <= terms and not {"交互", "各"} & terms


def test_a_closing_quotation_mark_is_no_part_of_its_word():
    known = {"链": 0, "行动": 1}
    terms = {t for g in expand_english("What four 'chains' and which 'campaign'?", known) for t in g}
    assert {"链", "行动"} <= terms


