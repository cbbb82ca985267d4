"""The `rag` command as a user runs it: a real subprocess, real index, real exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RAG = str(Path(sys.executable).with_name("rag"))
QUESTION = "2020年重庆累计培育高新技术企业多少家？"
SHORT_DOC = ("重庆市科学技术局关于测试的复函\n\n一、总体情况\n"
             "截至2020年底，全市累计培育科技型企业26371家、高新技术企业4222家。"
             "种子基金按4:6的出资比例设立，规模211.62亿元。\n")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([RAG, *args], capture_output=True, text=True, env=full_env,
                          timeout=300)


def assert_clean_error(result: subprocess.CompletedProcess, code: int, words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("rag: ") and words in lines[0], lines


def test_ask_json_prints_exactly_the_contract(sample_index):
    result = run("ask", QUESTION, "--index", str(sample_index), "--json", "-k", "4")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)  # exactly one object, nothing else on stdout
    assert record["question"] == QUESTION and record["answerable"] is True
    assert "4222" in record["answer"]
    assert any("4222" in c["quote"] for c in record["citations"])
    assert len(record["passages"]) == 4
    assert set(record["timings_ms"]) == {"embed", "retrieve", "assemble", "total"}


def test_ask_plain_output_lists_numbered_sources(sample_index):
    result = run("ask", QUESTION, "--index", str(sample_index))
    assert result.returncode == 0, result.stderr
    answer, sources = result.stdout.split("\nSources:\n")
    assert "4222" in answer and "[1]" in answer
    assert "[1] " in sources and "cq-sti/004_f07454981927e40f.txt [" in sources


def test_search_json_returns_passages_only(sample_index):
    result = run("search", "知识价值信用贷款", "--index", str(sample_index), "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert set(record) == {"query", "passages", "timings_ms"}
    assert "知识价值信用贷款" in record["passages"][0]["text"]


@pytest.mark.parametrize("question, words", [("", "empty"), ("问" * 2001, "limit is 2000")])
def test_bad_questions_exit_2_with_one_line(sample_index, question, words):
    assert_clean_error(run("ask", question, "--index", str(sample_index)), 2, words)


def test_an_empty_question_is_refused_before_the_default_index_is_built(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    for command in ("ask", "search"):
        assert_clean_error(run(command, "  ", env=env), 2, "empty")
    assert not (tmp_path / "cache").exists()


def test_missing_index_exits_3_with_one_line(tmp_path):
    assert_clean_error(run("ask", QUESTION, "--index", str(tmp_path / "nope")), 3,
                       str(tmp_path / "nope"))


def test_ingest_reports_embeds_nothing_twice_and_skips_unreadable_files(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(SHORT_DOC, encoding="utf-8")
    index = tmp_path / "index"
    first = run("ingest", str(docs), "--index", str(index), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["documents"] == 1 and report["embedded"] == report["chunks"] > 0
    assert "Ingesting" in first.stderr  # the progress bar

    second = run("ingest", str(docs), "--index", str(index))
    assert second.returncode == 0, second.stderr
    assert "0 chunks embedded" in second.stdout

    (docs / "b.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe" * 20)
    third = run("ingest", str(docs), "--index", str(index), "--json")
    assert third.returncode == 1
    assert "skipped" in third.stderr and "b.txt" in third.stderr
    assert "Traceback" not in third.stderr
    assert json.loads(third.stdout)["documents"] == 1, "the good document is kept"


def test_ask_without_index_builds_the_default_one_with_progress(tmp_path):
    corpus = tmp_path / "corpus" / "cq-sti"
    corpus.mkdir(parents=True)
    (corpus / "a.txt").write_text(SHORT_DOC, encoding="utf-8")
    env = {"RAG_HOME": str(tmp_path / "home"), "RAG_SAMPLE_CORPUS": str(corpus.parent)}
    env_no_index = {k: v for k, v in os.environ.items() if k != "RAG_INDEX"}
    result = subprocess.run([RAG, "ask", QUESTION, "--json"], capture_output=True, text=True,
                            env={**env_no_index, **env}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Building the bundled-corpus index" in result.stderr
    record = json.loads(result.stdout)
    assert "4222" in record["answer"]
    assert record["citations"][0]["doc_id"] == "cq-sti/a.txt"
    assert list((tmp_path / "home" / "indexes").iterdir()), "built under RAG_HOME"


def test_the_source_list_says_what_its_offsets_index(sample_index):
    result = run("ask", QUESTION, "--index", str(sample_index))
    assert result.stdout.rstrip().endswith(
        "(offsets index each document's stored text: rag docs show DOC_ID --span START:END)")
