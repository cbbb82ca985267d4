"""Follow-ups rewritten into standalone questions, then answered over the bundled corpus."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rag.conversation import follow_up, standalone

# (first question, follow-up, the standalone question expected, the rule, a string the answer
# must hold). Every expected fact was read off corpus/cq-sti.
DIALOGUES = [
    ("2020年重庆累计培育高新技术企业多少家？", "那科技型企业呢？",
     "2020年重庆累计培育科技型企业多少家？", "suffix", "26371"),
    ("成渝双城经济圈科创母基金的总规模是多少？", "这个基金的首期规模呢？",
     "成渝双城经济圈科创母基金的首期规模是多少？", "pronoun", "首期10亿元"),
    ("万州区设立的种子基金规模是多少？", "那知识价值信用风险补偿基金呢？",
     "万州区设立的知识价值信用风险补偿基金规模是多少？", "suffix", "规模2亿元"),
    ("截至2020年,重庆累计培育了多少家科技型企业？", "2019年呢？",
     "截至2019年,重庆累计培育了多少家科技型企业？", "time", "11726"),
    ("第0426号提案是哪位政协委员提出的？", "那第0798号提案呢？",
     "第0798号提案是哪位政协委员提出的？", "suffix", "0798"),
    ("2023年重庆技术经纪人数量同比增长了多少？", "那技术合同交易额呢？",
     "2023年重庆技术合同交易额同比增长了多少？", "prefix", "54.3%"),
    ("截至2019年,重庆各区县建立的种子基金总规模是多少？", "这些基金累计支持了多少家企业？",
     "截至2019年种子基金累计支持了多少家企业？", "pronoun", "499家"),
    ("第0099号建议是哪位人大代表提出的？", "这个建议的复函经哪位局长审签？",
     "第0099号建议的复函经哪位局长审签？", "pronoun", "许洪斌"),
    ("按照2022年的指导意见,到2025年各区县共同培育科技型企业的目标是多少家？", "那高新技术企业呢？",
     "按照2022年的指导意见,到2025年各区县共同培育高新技术企业的目标是多少家？", "suffix",
     "8000家"),
    ("2020年重庆新增了哪两个市级高新区？", "国家农业科技园区呢？",
     "2020年重庆新增了哪两个国家农业科技园区？", "suffix", "梁平、武隆"),
    ("在高新区设立的重庆科技成果转化股权投资基金规模是多少？", "它投向哪里？",
     "重庆科技成果转化股权投资基金投向哪里？", "pronoun", "西部科学城"),
    ("2023年重庆技术合同交易额同比增长了多少？", "孵化载体面积呢？",
     "2023年孵化载体面积是多少？", "append", "600万平方米"),
]


@pytest.mark.parametrize("first, second, expected, rule, key", DIALOGUES,
                         ids=[d[1] for d in DIALOGUES])
def test_two_turn_dialogue_is_rewritten_and_answered(service, first, second, expected, rule, key):
    rewrite = standalone([first, second])
    assert (rewrite.question, rewrite.rule) == (expected, rule)
    turns_rewrite, answer = service.converse([first, second])
    assert turns_rewrite == rewrite
    assert answer.answerable and key in answer.text, answer.text


@pytest.mark.parametrize("turn", ["2020年重庆综合科技创新水平指数在全国排第几位？",
                                  "指导意见提出的三条基本原则是什么？",
                                  "How many R&D personnel did Chongqing have in 2020?"])
def test_a_standalone_question_is_asked_as_written(turn):
    rewrite = follow_up("2020年重庆累计培育高新技术企业多少家？", turn)
    assert (rewrite.question, rewrite.rule) == (turn, "standalone")


def test_a_chain_of_follow_ups_keeps_the_context():
    rewrite = standalone(["截至2020年,重庆累计培育了多少家科技型企业？", "那高新技术企业呢？",
                          "2019年呢？"])
    assert rewrite.question == "截至2019年,重庆累计培育了多少家高新技术企业？"


def test_a_pronoun_falls_back_to_the_previous_answer():
    rewrite = follow_up("2020年西部(重庆)科学城设立了什么？", "这个基金的规模呢？",
                        previous_answer="设立300亿元双城经济圈发展基金、20亿元成果转化股权投资基金。")
    assert rewrite.question == "2020年双城经济圈发展基金的规模是多少？"


def test_the_first_turn_alone_is_the_question():
    assert standalone(["  那科技型企业呢？ "]).question == "那科技型企业呢？"


def test_rag_chat_streams_answers_rewrites_follow_ups_and_lists_sources(sample_index):
    rag = str(Path(sys.executable).with_name("rag"))
    result = subprocess.run([rag, "chat", "--index", str(sample_index)], text=True,
                            input="2020年重庆累计培育高新技术企业多少家？\n那科技型企业呢？\n\n",
                            capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "4222" in result.stdout and "26371" in result.stdout
    assert "(2020年重庆累计培育科技型企业多少家？)" in result.stdout
    assert result.stdout.count("Sources:\n  [1] 市科技局2020年工作情况报告") == 2
