"""Question analysis and the English → Chinese term groups."""
from __future__ import annotations

from rag.answer import has_quantity
from rag.crosslingual import expand_english
from rag.query import analyse


def test_analyse_finds_years_numbers_doc_numbers_and_unit():
    q = analyse("2019年第0099号建议复函提到,截至一季度累计培育多少家科技型企业？")
    assert not q.english
    assert q.years == ("2019",)
    assert q.doc_numbers == ("0099",)
    assert q.unit == "家" and q.wants_quantity
    assert "复函" not in q.terms and "科技型" in q.terms  # framing words carry no evidence


def test_english_detection():
    assert analyse("How many R&D personnel did Chongqing have?").english
    assert not analyse("2020年R&D人员有多少？").english


def test_has_quantity_needs_the_unit():
    assert has_quantity("高新技术企业4222家", "家")
    assert has_quantity("科技型企业4.5万家", "家")
    assert not has_quantity("研发投入强度2.1%", "家")


def test_english_words_become_chinese_terms_the_index_knows():
    vocab = {"银行": 0, "分支": 1, "实验室": 2, "人员": 3, "两": 4, "群": 5}
    groups = expand_english("Which bank branch and laboratories? (两群)", vocab)
    flat = {t for g in groups for t in g}
    assert {"银行", "分支", "实验室", "两", "群"} <= flat
    assert ("实验室",) in groups  # "laboratories" → laboratory
    assert flat <= set(vocab), "only terms BM25 can match are kept"
    assert expand_english("the of and", vocab) == []
