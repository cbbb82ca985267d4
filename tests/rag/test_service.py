"""The query service end to end over the real bundled-corpus index."""
from __future__ import annotations

import re

import pytest

from rag.service import QuestionError


def test_answers_the_readme_question_with_a_cited_4222(service):
    answer = service.ask("2020年重庆累计培育高新技术企业多少家？")
    assert answer.answerable
    assert "4222" in answer.text
    assert any("4222" in c.quote for c in answer.citations)
    assert answer.citations[0].doc_id == "cq-sti/004_f07454981927e40f.txt"


def test_every_sentence_of_an_answer_carries_a_marker(service):
    answer = service.ask("截至2021年复函时,重庆累计为多少家科技型企业发放知识价值信用贷款？")
    assert answer.answerable
    # The text is the quotes in order, each followed by its marker; only a full stop is added,
    # after a clause quoted on its own.
    parts = re.split(r"\[(\d+)\]", answer.text)
    said = [p.removeprefix("。") if i else p for i, p in enumerate(parts[0::2])]
    assert said[:-1] == [c.quote for c in answer.citations] and said[-1] in ("", "。")
    assert parts[1::2] == [str(c.n) for c in answer.citations]


def test_the_fact_comes_first_then_its_sentence_as_context(service):
    answer = service.ask("2020年重庆累计培育高新技术企业多少家？")
    fact, context = answer.citations[:2]
    assert fact.quote == "累计培育科技型企业26371家、高新技术企业4222家"
    assert answer.text.startswith(fact.quote + "[1]。")
    assert context.doc_id == fact.doc_id and context.start < fact.start and fact.end < context.end
    assert context.quote.startswith("实施科技企业成长工程") and context.quote.endswith("4222家。")
    # A named fact (no quantity asked) keeps its whole sentence as the lead.
    named = service.ask("指导意见提出的三条基本原则是什么？")
    assert named.text.startswith(named.citations[0].quote)
    assert not any(c.start < named.citations[0].start < named.citations[0].end < c.end
                   for c in named.citations[1:])


@pytest.mark.parametrize("question", [
    "2020年重庆累计培育高新技术企业多少家？",
    "指导意见提出的三条基本原则是什么？",
    "What kind of bank branch does the guidance opinion encourage districts and counties to "
    "support banks in setting up?",
    "荣昌国家畜牧科技城的规划面积是多少？",
])
def test_citations_and_passages_are_exact_spans(service, question):
    answer = service.ask(question)
    docs = service.index.documents
    for c in answer.citations:
        assert docs[c.doc_id].text[c.start:c.end] == c.quote
        assert c.title == docs[c.doc_id].meta["title"]
    for h in answer.hits:
        assert docs[h.chunk.doc_id].text[h.chunk.start:h.chunk.end] == h.chunk.text
    assert [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))
    # Best first: the cited passages lead (rag/retrieve.py cited_first), the rest by score.
    cited = {h.chunk.id for h in answer.hits
             if any(c.doc_id == h.chunk.doc_id and h.chunk.start <= c.start <= c.end <= h.chunk.end
                    for c in answer.citations)}
    rest = [h.score for h in answer.hits if h.chunk.id not in cited]
    assert rest == sorted(rest, reverse=True)
    assert all(h.chunk.id in cited for h in answer.hits[:len(cited)])


@pytest.mark.parametrize("question", [
    "重庆知识价值信用贷款的不良贷款率是多少？",  # same loan; the ratio is never given
    "超瞬态实验装置的总投资是多少？",  # the facility is named; its investment is not
    "成都市2020年累计培育高新技术企业多少家？",  # Chongqing's count, not Chengdu's
    "金凤实验室是哪一年揭牌成立的？",  # named, but no date of founding
])
def test_near_miss_questions_are_refused(service, question):
    assert not service.ask(question).answerable


@pytest.mark.parametrize("refused, answered, fact", [
    # A district named with its suffix must be what the passage is about (万州 is, 渝北 is not).
    ("截至2019年一季度,渝北区累计培育了多少家科技型企业？",
     "截至2019年一季度,万州区累计培育了多少家科技型企业？", "228家"),
    # A Latin name the documents never write (GDP) is not what they count; ESI they do.
    ("2020年重庆的GDP是多少亿元？", "2020年重庆的ESI前1%学科有多少个？", "42个"),
    # 主任是谁 wants a person in that role; 哪位政协委员 is answered by 易小光委员.
    ("金凤实验室的主任是谁？", "第0426号提案是哪位政协委员提出的？", "易小光"),
    # A letter named by its number answers from itself: the 0426 reply was signed by "局主要
    # 领导", and the 0099 reply's 许洪斌局长 is not its signer.
    ("第0426号提案的复函由哪位局长审签？", "第0099号建议的复函由哪位局长审签？", "许洪斌"),
    # A part of a stated whole must be named: the platforms are counted, their 众创空间 are not.
    ("2020年新增的国家级孵化平台中,有多少家是众创空间？", "2020年新增的国家级孵化平台有多少家？", "14家"),
    # A sentence comparing other provinces (上海, 四川, 陕西) does not answer for 湖北.
    ("2020年工作报告里,湖北的国家重点实验室有多少个？", "2020年工作报告里,四川的国家重点实验室有多少个？",
     "四川的14个"),
    # Each party's amount is asked: the fund's total is no answer, 双方各出资2000万元 is.
    ("成渝双城经济圈科创母基金里,重庆和四川各出资多少亿元？", "开展联合攻关时,重庆和四川各出资多少万元？",
     "各出资2000万元"),
    # An ordinal the documents never state is another one (a ninth batch), in either spelling.
    ("重庆哪些区县获批第9批国家农业科技园区？", "重庆哪些区县获批第8批国家农业科技园区？", "酉阳"),
    # A growth rate is no level: the revenue's growth is given, the revenue is not.
    ("2023年全市科技服务业规上企业营业收入是多少？",
     "2023年全市科技服务业规上企业营业收入同比增长了多少？", "15.4%"),
    # A heading naming a year (一、2020年工作情况) dates its section; the report's publication
    # date (2021年06月11日) does not.
    # A section setting a target year (到2025年) is not dated by its document (2022): a 2022
    # figure is not a 2025 target, unless the year names the document (2022年的指导意见).
    ("2022年高新区对全市工业总产值的贡献是多少？", "按2022年的指导意见,高新区对全市工业总产值的贡献要超过多少？",
     "30%"),
    # A cause asked (为什么) needs one stated: 重庆仍是空白 states none.
    ("为什么重庆还没有国家制造业创新中心？", "国家制造业创新中心全国已落地多少家？", "13家"),
    # The part of a counted whole (904名…中,院士) needs its own number.
    ("2020年新增的904名省部级以上高层次人才中,院士有多少名？",
     "2020年新增了多少名省部级以上高层次人才？", "904名"),
    # A sentence naming 重庆 (西部(重庆)科学城) does not answer for 成都, the region asked.
    ("西部(成都)科学城集聚了多少个高端研发机构？", "西部(重庆)科学城集聚了多少个高端研发机构？", "43个"),
    ("2021年组织实施新冠肺炎疫情防控应急科研项目多少项？",
     "2020年组织实施新冠肺炎疫情防控应急科研项目多少项？", "57项"),
])
def test_a_near_miss_is_refused_where_its_twin_is_answered(service, refused, answered, fact):
    assert not service.ask(refused).answerable
    answer = service.ask(answered)
    assert answer.answerable and fact in answer.text


def test_a_comparison_cites_each_year_from_its_own_document(service):
    # The 2020 report counts 30家, the 2021 letter 37家; neither sentence states both years.
    answer = service.ask("两江协同创新区引进的研发机构:2020年工作报告称累计多少家,"
                         "2021年政协提案复函称新建多少家？")
    assert answer.answerable and "30家" in answer.text and "37家" in answer.text


def test_the_clause_counting_what_is_asked_leads(service):
    # The sentence counts projects (143项) and bases (90个); the question counts bases. Its year
    # is in the projects' clause, and does not make that clause the fact.
    answer = service.ask("2018年实施涉农技术创新与应用示范项目,建立了多少个试验示范基地？")
    assert answer.answerable and answer.citations[0].quote == "建立试验示范基地90个"


def test_the_clause_giving_the_asked_part_its_number_leads(service):
    # 首期规模: the fund's first tranche (首期10亿元), not its total (总规模50亿元), is the fact.
    answer = service.ask("川渝科创母基金的首期规模是多少亿元？")
    assert answer.answerable and answer.citations[0].quote.startswith("首期10亿元")


def test_a_question_comparing_years_cites_a_sentence_for_each(service):
    answer = service.ask("重庆累计培育的高新技术企业,2019年一季度末和2020年分别是多少家？")
    assert answer.answerable
    assert "2504" in answer.text and "4222" in answer.text
    assert len({c.doc_id for c in answer.citations}) == 2


def test_a_sentence_introducing_a_list_brings_its_items(service):
    answer = service.ask("指导意见提出的三条基本原则是什么？")
    for principle in ("统筹规划,特色发展", "需求导向,创新发展", "深度协同,联动发展"):
        assert principle in answer.text
    assert all(answer.text.count(f"[{c.n}]") == 1 for c in answer.citations)


def test_a_question_asking_for_a_name_brings_the_sentence_that_quotes_it(service):
    # The sentence that covers the question best (全流程智慧管理系统) leads; the one quoting the
    # system's name (“一网通”) covers less of the question but follows, because a name is asked.
    answer = service.ask("市科技局计划启动的科技成果转化管理系统叫什么？")
    assert answer.answerable and "一网通" in answer.text
    assert "一网通" not in answer.citations[0].quote


def test_a_question_the_documents_do_not_answer_is_refused_with_passages(service):
    answer = service.ask("2020年重庆全社会研发经费投入总额是多少亿元？")
    # The 2020 report gives the R&D intensity (2.1%), never a total in 亿元.
    assert not answer.answerable
    assert answer.text.startswith("文档中没有找到")
    assert answer.citations == []
    assert answer.hits, "the closest passages are still listed"


def test_a_year_no_passage_mentions_is_refused(service):
    answer = service.ask("2031年重庆累计培育高新技术企业多少家？")
    assert not answer.answerable


def test_a_year_leading_a_list_of_goals_holds_for_each_goal(service):
    # 到2025年 opens the guidance opinion's list of goals; the goal sentence itself names no year,
    # yet it answers, ahead of another list's sentence that does name 2025.
    answer = service.ask("到2025年,高新区对全市工业总产值的贡献要超过多少？")
    assert answer.answerable and "30%" in answer.text
    assert "30%" in answer.citations[0].quote


def test_english_policy_phrases_find_their_chinese_terms(service):
    # high-tech zone → 高新区 (word by word: 中区, 开发区); industrial output value → 工业总产值.
    answer = service.ask("What share of industrial output value should high-tech zones "
                         "contribute by 2025?")
    assert answer.answerable and "30%" in answer.text


def test_english_questions_are_answered_in_chinese_spans_and_refused_in_english(service):
    answer = service.ask("How many R&D personnel did Chongqing have in 2020?")
    assert answer.answerable and "16.07万" in answer.text
    refusal = service.ask("Who won the football world cup?")
    assert not refusal.answerable
    assert refusal.text.startswith("The documents do not answer")


def test_to_dict_is_the_json_contract(service):
    record = service.ask("2020年重庆累计培育高新技术企业多少家？", k=3).to_dict()
    assert list(record) == ["question", "answer", "answerable", "citations", "passages",
                            "timings_ms"]
    assert set(record["citations"][0]) == {"n", "doc_id", "title", "start", "end", "quote"}
    assert set(record["passages"][0]) == {"doc_id", "chunk_id", "start", "end", "score", "text"}
    assert len(record["passages"]) == 3
    assert set(record["timings_ms"]) == {"embed", "retrieve", "assemble", "total"}
    assert record["timings_ms"]["total"] >= record["timings_ms"]["retrieve"]


@pytest.mark.parametrize("question, message", [
    ("", "empty"), ("   \n", "empty"), ("问" * 2001, "limit is 2000"),
])
def test_bad_questions_raise_a_clear_error(service, question, message):
    with pytest.raises(QuestionError, match=message):
        service.ask(question)


def test_search_returns_k_passages_best_first(service):
    hits, timings = service.search("知识价值信用贷款", k=4)
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    assert "知识价值信用贷款" in hits[0].chunk.text
    assert set(timings) == {"embed", "retrieve"}


@pytest.mark.parametrize("question, fact", [
    # The letter's own number is in its header, not in any sentence: it still names the letter.
    ("渝科局函〔2024〕300号答复的是哪位委员的提案？", "王晓颖委员"),
    # 标题是什么 asks for a name; the sentence quoting the proposal's 《title》 leads.
    ("渝科局函〔2024〕300号回复的那份提案,标题是什么？", "《关于多措并举 推动我市科技服务业高质量发展的建议的提案》"),
])
def test_a_letter_named_by_its_own_number_answers(service, question, fact):
    answer = service.ask(question)
    assert answer.answerable and fact in answer.citations[0].quote


@pytest.mark.parametrize("question, answerable", [
    # A partitive English question asks the part's own number: 首期10亿元 goes to several fields
    # at once and gives none of them an amount.
    ("How much of the 5 billion yuan Chengdu-Chongqing sci-tech fund of funds was allocated to "
     "artificial intelligence?", False),
    ("How much of the 5 billion yuan Chengdu-Chongqing sci-tech fund of funds went to the first "
     "tranche?", True),
    # The thing a "how many" counts must be what the number counts: 培育国家科技创新基地7个 in
    # the fund's passage counts bases, not the companies the fund invested in.
    ("How many companies has the 2-billion-yuan sci-tech achievement transformation fund "
     "invested in?", False),
])
def test_an_english_part_needs_its_own_number(service, question, answerable):
    answer = service.ask(question)
    assert answer.answerable is answerable
    assert not answerable or "首期10亿元" in answer.citations[0].quote


def test_an_english_count_is_of_the_thing_asked(service):
    answer = service.ask("How many high-tech enterprises did Chongqing have in 2020?")
    assert answer.answerable and "4222家" in answer.text


@pytest.mark.parametrize("question, fact", [
    # The question states the count and asks which ones: 新增…2个省部共建国家重点实验室 restates
    # the count and names none of them.
    ("2020年新增的2个省部共建国家重点实验室分别叫什么名字？", None),
    # Names listed before the count (A、B…等8个方面), or a heading naming what is counted.
    ("科技服务能级提升行动聚焦的8个方面具体包括哪些？", "检验检测认证服务"),
    ("指导意见提出的三条基本原则分别是什么？", "统筹规划"),
])
def test_which_of_a_stated_count_needs_the_names(service, question, fact):
    answer = service.ask(question)
    assert answer.answerable is (fact is not None)
    assert fact is None or fact in answer.text


def test_a_share_asked_as_比例_is_answered_by_a_percentage(service):
    answer = service.ask("截至2019年一季度,主城外区县的高新技术企业占全市的比例是多少？")
    assert answer.answerable and "40.8%" in answer.citations[0].quote


def test_a_comparison_may_name_one_document_by_number_and_the_other_by_year(service):
    # 0426 names the 2021 letter; the 2020 report, named by its year, still gives its figure.
    answer = service.ask("2020年工作报告和2021年第0426号提案复函里,知识价值信用贷款的发放金额各是多少？")
    assert answer.answerable and "146.63亿元" in answer.text and "211.62亿元" in answer.text


def test_a_letters_closing_date_is_the_date_it_was_signed(service):
    # 落款日期: the date on the letter's closing line, not the date it was published (2021-12-06).
    answer = service.ask("第0426号提案复函的落款日期是哪天？")
    assert answer.answerable and answer.citations[0].quote == "2021年11月16日"
    # Asked in English (when did … sign), and one letter's date only: not another letter's too.
    answer = service.ask("When did the science bureau sign the reply to proposal No. 0426?")
    assert answer.answerable and [c.quote for c in answer.citations] == ["2021年11月16日"]


def test_a_year_naming_a_document_does_not_stand_for_the_year_asked(service):
    # 2022 names the guidance; its targets are for 2025, so a 2030 target is not there.
    assert not service.ask("2022年的指导意见为各区县定下的2030年高新技术企业数量目标是多少？").answerable
    assert service.ask("2022年的指导意见为各区县定下的2025年高新技术企业数量目标是多少？").answerable
