"""A document's life as a user drives it: ingest, edit and re-ingest, filter, delete."""
from __future__ import annotations

import json

from test_cli import SHORT_DOC, assert_clean_error, run

OTHER = ("重庆市科学技术局关于科技金融的通知\n\n一、总体情况\n"
         "2022年,全市知识价值信用贷款发放金额达到60亿元。\n")
ADDED = "2021年,全市新增国家级科技企业孵化器5家。\n"


def ask(index, question, *flags):
    result = run("ask", question, "--index", str(index), "--json", *flags)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_edit_reingest_filter_and_delete(tmp_path):
    src, index = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    (src / "letter.txt").write_text(SHORT_DOC, encoding="utf-8")
    (src / "notice.txt").write_text(OTHER, encoding="utf-8")
    assert run("ingest", str(src), "--index", str(index)).returncode == 0

    # Edit one document: only its chunks are embedded again, and the count is printed.
    (src / "letter.txt").write_text(SHORT_DOC + ADDED, encoding="utf-8")
    again = run("ingest", str(src), "--index", str(index), "--json")
    report = json.loads(again.stdout)
    assert report["replaced"] == ["letter.txt"] and report["unchanged"] == ["notice.txt"]
    assert 0 < report["embedded"] < report["chunks"] and report["reused"] > 0
    plain = run("ingest", str(src), "--index", str(index))
    assert "0 chunks embedded" in plain.stdout  # nothing changed since

    # The edited document answers its new fact and its old one.
    new = ask(index, "2021年全市新增国家级科技企业孵化器多少家？")
    assert new["answerable"] and "5家" in new["answer"]
    assert new["citations"][0]["doc_id"] == "letter.txt"
    old = ask(index, "截至2020年底全市累计培育高新技术企业多少家？")
    assert old["answerable"] and "4222" in old["answer"]

    # Filters narrow retrieval; a malformed one is a clear error.
    only_notice = ask(index, "截至2020年底全市累计培育高新技术企业多少家？", "--kind", "通知")
    assert {p["doc_id"] for p in only_notice["passages"]} == {"notice.txt"}
    assert not only_notice["answerable"]
    assert_clean_error(run("ask", "问题", "--index", str(index), "--since", "2020/1"), 2, "YYYY")

    # After a delete, the document is never cited, and an unknown id deletes nothing.
    assert_clean_error(run("docs", "delete", "nope.txt", "--index", str(index)), 2, "nope.txt")
    deleted = run("docs", "delete", "letter.txt", "--index", str(index))
    assert deleted.returncode == 0 and "1 documents, " in deleted.stdout
    listing = json.loads(run("docs", "list", "--index", str(index), "--json").stdout)
    assert [d["doc_id"] for d in listing] == ["notice.txt"]
    for question in ("截至2020年底全市累计培育高新技术企业多少家？",
                     "2021年全市新增国家级科技企业孵化器多少家？"):
        record = ask(index, question)
        assert all(c["doc_id"] != "letter.txt" for c in record["citations"])
        assert all(p["doc_id"] != "letter.txt" for p in record["passages"])


def test_the_embedding_cache_makes_a_chunker_tweak_undone_and_a_second_index_free(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "letter.txt").write_text(SHORT_DOC, encoding="utf-8")
    (src / "notice.txt").write_text(OTHER, encoding="utf-8")
    cache_on = {"RAG_EMBED_CACHE": "true", "RAG_HOME": str(tmp_path / "home")}

    def ingest(index, **env):
        result = run("ingest", str(src), "--index", str(tmp_path / index), "--json",
                     env={**cache_on, **env})
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    first = ingest("a")
    assert first["embedded"] == first["chunks"] > 0 and first["cached"] == 0
    assert (tmp_path / "home" / "embeddings.sqlite").is_file()
    # Another index of the same files computes nothing.
    second = ingest("b")
    assert (second["embedded"], second["cached"]) == (0, second["chunks"])
    # A chunker tweak embeds the new cuts; undoing it finds every old vector again.
    tweaked = ingest("a", RAG_CHUNK_SIZE="30", RAG_CHUNK_OVERLAP="5")
    assert tweaked["embedded"] > 0
    undone = ingest("a")
    assert undone["embedded"] == 0 and undone["cached"] + undone["reused"] == undone["chunks"]
    # The cached vectors are the computed ones: both indexes answer alike.
    answers = [ask(tmp_path / name, "截至2020年底全市累计培育高新技术企业多少家？")
               for name in ("a", "b")]
    assert answers[0]["citations"] == answers[1]["citations"] and "4222" in answers[0]["answer"]
    # Off means off.
    off = ingest("c", RAG_EMBED_CACHE="false")
    assert off["embedded"] == off["chunks"] and off["cached"] == 0
