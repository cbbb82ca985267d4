"""The boosts for chunks of the document a question names: by number, year or title word."""
from __future__ import annotations

from dataclasses import replace

from rag.query import analyse
from rag.retrieve import _boost_titled, _names


def test_names_matches_document_number_in_the_header_and_year_in_text_or_dates(service):
    index = service.index
    rows = {c.doc_id: row for row, c in enumerate(index.chunks)}
    letter_0426 = rows["cq-sti/001_9e415571a82dd196.txt"]
    report = rows["cq-sti/004_f07454981927e40f.txt"]  # published 2021-06-11
    assert _names(index, letter_0426, analyse("第0426号提案提了什么？"))
    assert not _names(index, report, analyse("第0426号提案提了什么？"))
    assert _names(index, report, analyse("2021年的报告说了什么？"))
    assert not _names(index, letter_0426, analyse("2023年的情况如何？"))


def test_a_year_in_the_title_or_headings_names_the_chunk(service):
    index = service.index
    report = "cq-sti/004_f07454981927e40f.txt"  # 市科技局2020年工作情况报告, published 2021
    rows = [row for row, c in enumerate(index.chunks)
            if c.doc_id == report and "2020" not in c.text]
    assert rows  # chunks that state no year, yet belong to the 2020 report
    assert all(_names(index, row, analyse("2020年培育了多少家企业？")) for row in rows)
    assert not any(_names(index, row, analyse("2019年培育了多少家企业？")) for row in rows)


def test_the_year_boost_brings_the_named_years_report_first(service):
    # On terms alone a 2019 letter's count (截至今年一季度…累计培育科技型企业) wins; the 2020
    # work report names 2020 in its title and headings.
    question = "2020年重庆累计培育科技型企业多少家？"
    report = "cq-sti/004_f07454981927e40f.txt"
    plain = service.search(question, k=3, fusion=replace(service.fusion, named_boost=0.0))[0]
    boosted = service.search(question, k=3)[0]
    assert plain[0].chunk.doc_id != report
    assert boosted[0].chunk.doc_id == report


def test_only_title_words_that_tell_candidates_apart_boost(service):
    index = service.index
    by_doc = {}
    for row, c in enumerate(index.chunks):
        by_doc.setdefault(c.doc_id, row)
    ranked = [(row, 1.0) for row in by_doc.values()]
    guidance = "cq-sti/002_38e28bd9a1a18c0a.txt"  # 关于支持区县科技创新发展的指导意见
    boosted = dict(_boost_titled(index, analyse("指导意见提出了哪些举措？"), ranked, 0.2))
    assert {index.chunks[r].doc_id for r, s in boosted.items() if s > 1.0} == {guidance}
    # 科学技术局 is in the official title of the three letters and of the guidance opinion:
    # among them it names none.
    letters = [(row, 1.0) for row in by_doc.values()
               if "科学技术局" in index.chunks[row].meta.get("title", "")]
    assert len(letters) == 4
    assert dict(_boost_titled(index, analyse("科学技术局有哪些举措？"), letters, 0.2)) \
        == dict(letters)


def test_the_title_boost_brings_the_named_documents_chunks_forward(service):
    # "the guidance opinion" names 关于支持区县科技创新发展的指导意见 (translated to 指导意见):
    # without the boost, chunks of a work report and a letter sit among its top five.
    question = ("Which reform and innovation models does the guidance opinion ask districts and "
                "counties to replicate and promote?")
    guidance = "cq-sti/002_38e28bd9a1a18c0a.txt"

    def from_guidance(fusion) -> int:
        hits = service.search(question, k=5, fusion=fusion)[0]
        return sum(h.chunk.doc_id == guidance for h in hits)

    assert from_guidance(replace(service.fusion, title_boost=0.0)) < 5
    assert from_guidance(service.fusion) == 5
