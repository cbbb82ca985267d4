"""`rag docs list|show` and `rag index stats|verify` as a user runs them, over a real index of a
PDF, a web page and a text letter built with `rag ingest`; plus 第N页 in answers from a PDF."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from test_cli import SHORT_DOC, assert_clean_error, run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "index"))
from make_files import make_pdf  # noqa: E402  (shared with the index tests)

PDF_PAGES = [["重庆市科学技术局关于研发投入的报告", "一、总体情况", "全社会研发经费投入强度达到2.36%。"],
             ["二、下一步工作", "力争2025年新增市级新型研发机构120家。", "重庆市科学技术局",
              "2024年1月5日"]]
PAGE = ("<html><body><nav>首页 政务公开</nav><article><h1>关于科技创新券的通知</h1>"
        "<p>各区县科技局：</p><p>科技创新券每家企业每年最高10万元。</p></article></body></html>")


@pytest.fixture(scope="module")
def docs_index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    src = root / "src"
    (src / "sub").mkdir(parents=True)
    (src / "letter.txt").write_text(SHORT_DOC, encoding="utf-8")
    (src / "sub" / "notice.html").write_text(PAGE, encoding="utf-8")
    make_pdf(src / "report.pdf", PDF_PAGES)
    result = run("ingest", str(src), "--index", str(root / "index"))
    assert result.returncode == 0, result.stderr
    return root / "index"


def test_docs_list_json_is_an_array_of_id_title_meta(docs_index):
    result = run("docs", "list", "--index", str(docs_index), "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert [(d["doc_id"], d["title"]) for d in listing] == [
        ("letter.txt", "重庆市科学技术局关于测试的复函"),
        ("report.pdf", "重庆市科学技术局关于研发投入的报告"),
        ("sub/notice.html", "关于科技创新券的通知")]
    assert all(set(d) == {"doc_id", "title", "meta"} for d in listing)
    pdf = listing[1]["meta"]
    assert (pdf["format"], pdf["kind"], pdf["publisher"], pdf["date"]) == (
        "pdf", "报告", "重庆市科学技术局", "2024-01-05")
    assert listing[2]["meta"]["addressee"] == "各区县科技局"


def test_docs_list_plain_has_one_line_per_document(docs_index):
    result = run("docs", "list", "--index", str(docs_index))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "letter.txt\t重庆市科学技术局关于测试的复函\t复函 · 重庆市科学技术局",
        "report.pdf\t重庆市科学技术局关于研发投入的报告\t报告 · 重庆市科学技术局 · 2024-01-05",
        "sub/notice.html\t关于科技创新券的通知\t通知"]


def test_docs_show_json_gives_text_meta_and_chunks_with_pages(docs_index):
    result = run("docs", "show", "report.pdf", "--index", str(docs_index), "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    text = "\n".join(PDF_PAGES[0]) + "\n\n" + "\n".join(PDF_PAGES[1])
    assert (shown["doc_id"], shown["text"], shown["characters"]) == ("report.pdf", text, len(text))
    assert shown["meta"]["page_starts"] == [0, len("\n".join(PDF_PAGES[0])) + 2]
    for chunk in shown["chunks"]:
        assert chunk["page"] == (1 if chunk["start"] < shown["meta"]["page_starts"][1] else 2)
        assert text[chunk["start"]:chunk["end"]].strip()


def test_docs_show_plain_lists_fields_and_headings(docs_index):
    result = run("docs", "show", "sub/notice.html", "--index", str(docs_index))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "sub/notice.html"
    assert "  kind: 通知" in lines and "  format: html" in lines
    assert lines[-1] == "    关于科技创新券的通知"  # the <h1>, indented by its level


def test_docs_show_of_an_unknown_id_exits_2(docs_index):
    assert_clean_error(run("docs", "show", "nope.txt", "--index", str(docs_index)), 2,
                       "no document 'nope.txt'")


def test_index_stats(docs_index):
    result = run("index", "stats", "--index", str(docs_index), "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert (stats["documents"], stats["formats"], stats["generation"]) == (
        3, {"html": 1, "pdf": 1, "txt": 1}, "gen-000001")
    assert stats["chunks"] >= 3 and stats["characters"] > 100
    assert 0 < stats["generation_bytes"] <= stats["total_bytes"]
    plain = run("index", "stats", "--index", str(docs_index))
    assert "3 documents (1 html, 1 pdf, 1 txt)" in plain.stdout


def test_index_verify_passes_then_catches_a_changed_byte(docs_index, tmp_path):
    ok = run("index", "verify", "--index", str(docs_index))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"ok: {docs_index} gen-000001: 8 files match their checksums")
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(docs_index, copy)
    chunks = copy / "gen-000001" / "chunks.jsonl"
    data = bytearray(chunks.read_bytes())
    data[10] = ord("X") if data[10] != ord("X") else ord("Y")  # same size, other content
    chunks.write_bytes(bytes(data))
    assert_clean_error(run("index", "verify", "--index", str(copy)), 3,
                       "does not match its checksum")


def test_index_commands_on_a_missing_index_exit_3(tmp_path):
    for args in (["docs", "list"], ["index", "stats"], ["index", "verify"]):
        assert_clean_error(run(*args, "--index", str(tmp_path / "none")), 3, "no index at")


def test_answers_from_a_pdf_name_the_page(docs_index):
    question = "2025年新增市级新型研发机构多少家？"
    answer = run("ask", question, "--index", str(docs_index))
    assert answer.returncode == 0, answer.stderr
    assert "120家" in answer.stdout.splitlines()[0]
    # The cited sentence lies on page 2, though its chunk starts on page 1.
    assert "— report.pdf 第2页 [" in answer.stdout
    search = run("search", question, "--index", str(docs_index), "-k", "1", "--json")
    [passage] = json.loads(search.stdout)["passages"]
    assert (passage["doc_id"], passage["page"]) == ("report.pdf", 1)
