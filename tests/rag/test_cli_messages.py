"""Messages of the `rag` command a person understands: files an ingest passes over, a port in use,
a filter that admits nothing, `rag docs show --span`, and help texts that say what happens."""
from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from index.loaders import SUPPORTED_SUFFIXES
from test_cli import SHORT_DOC, assert_clean_error, run

SUPPORTED = ", ".join(SUPPORTED_SUFFIXES)
QUESTION = "截至2020年底全市累计培育高新技术企业多少家？"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, Path, dict]:
    """A folder with one letter and two files of other types, ingested: (folder, index, the
    ingest's process result)."""
    root = tmp_path_factory.mktemp("mixed")
    src = root / "src"
    src.mkdir()
    (src / "letter.txt").write_text(SHORT_DOC, encoding="utf-8")
    (src / "slides.pptx").write_bytes(b"PK\x03\x04 not read")
    (src / "README").write_text("notes", encoding="utf-8")
    (src / ".hidden.doc").write_text("x", encoding="utf-8")  # hidden: not looked at
    result = run("ingest", str(src), "--index", str(root / "index"), "--json")
    return src, root / "index", result


def test_files_of_unsupported_types_in_a_folder_are_named_not_errors(mixed):
    src, _, result = mixed
    assert result.returncode == 0, result.stderr  # a warning, as before: not a skipped file
    warnings = [line for line in result.stderr.splitlines() if line.startswith("rag: ")]
    assert warnings == [
        f"rag: ignored {src / 'README'}: unsupported file type '(none)'; supported: {SUPPORTED}",
        f"rag: ignored {src / 'slides.pptx'}: unsupported file type '.pptx'; supported: "
        f"{SUPPORTED}"]
    report = json.loads(result.stdout)
    assert report["documents"] == 1 and report["errors"] == []
    assert report["ignored"] == [str(src / "README"), str(src / "slides.pptx")]


def test_a_folder_without_a_supported_file_lists_suffixes_and_skipped_files(tmp_path):
    src = tmp_path / "scans"
    src.mkdir()
    (src / "a.pptx").write_bytes(b"PK\x03\x04")
    (src / "b.numbers").write_bytes(b"PK\x03\x04")
    result = run("ingest", str(src), "--index", str(tmp_path / "index"))
    assert_clean_error(result, 3, f"no supported file in {src} (supported: {SUPPORTED}); "
                       f"skipped 2 file(s): {src / 'a.pptx'}, {src / 'b.numbers'}")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(run("ingest", str(empty), "--index", str(tmp_path / "index")), 3,
                       f"no supported file in {empty} (supported: {SUPPORTED})")


def test_serve_on_a_port_in_use_says_so_in_one_line(mixed):
    _, index, _ = mixed
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), "--index", str(index))
    assert_clean_error(result, 2, f"port {port} on 127.0.0.1 is already in use")
    assert "serving" not in result.stderr + result.stdout


def test_serve_on_an_unknown_host_says_so_in_one_line(mixed):
    _, index, _ = mixed
    assert_clean_error(run("serve", "--host", "no-such-host.invalid", "--index", str(index)),
                       2, "cannot listen on no-such-host.invalid")


@pytest.mark.parametrize("command", ["ask", "search"])
def test_a_filter_that_admits_no_document_says_that_the_filter_did(mixed, command):
    _, index, _ = mixed
    plain = run(command, QUESTION, "--index", str(index), "--since", "2030-01-01")
    assert plain.returncode == 0, plain.stderr
    as_json = run(command, QUESTION, "--index", str(index), "--since", "2030-01-01",
                  "--kind", "复函", "--json")
    assert as_json.returncode == 0, as_json.stderr
    record = json.loads(as_json.stdout)
    assert record["passages"] == []
    if command == "ask":  # the answer, in the question's language, instead of the refusal
        assert plain.stdout == "没有文档符合筛选条件（since=2030-01-01）。\n"
        assert record["answer"] == "没有文档符合筛选条件（since=2030-01-01, kind=复函）。"
        assert record["answerable"] is False
        english = run("ask", "How many high-tech enterprises?", "--index", str(index),
                      "--since", "2030-01-01")
        assert english.stdout == "no document matches the filter (since=2030-01-01)\n"
    else:  # an empty list on stdout, and why on stderr
        assert plain.stdout == ""
        assert plain.stderr.strip() == "rag: no document matches the filter (since=2030-01-01)"
        assert as_json.stderr.strip() == ("rag: no document matches the filter "
                                          "(since=2030-01-01, kind=复函)")


def test_docs_show_span_prints_a_citation_marked_in_its_context(mixed):
    _, index, _ = mixed
    answer = json.loads(run("ask", QUESTION, "--index", str(index), "--json").stdout)
    cited = answer["citations"][0]
    start, end = cited["start"], cited["end"]
    span = f"{start}:{end}"
    shown = run("docs", "show", cited["doc_id"], "--span", span, "--index", str(index))
    assert shown.returncode == 0, shown.stderr
    head, body = shown.stdout.split("\n", 1)
    assert head == (f"letter.txt [{start}–{end}] of {len(SHORT_DOC)} characters — "
                    "重庆市科学技术局关于测试的复函")
    assert f"【{cited['quote']}】" in body
    assert body.rstrip("\n") == (SHORT_DOC[max(0, start - 80):start] + f"【{cited['quote']}】"
                                 + SHORT_DOC[end:end + 80]).rstrip("\n")

    record = json.loads(run("docs", "show", "letter.txt", "--span", span, "--context", "5",
                            "--index", str(index), "--json").stdout)
    assert record["quote"] == cited["quote"] == SHORT_DOC[start:end]
    assert (record["before"], record["after"]) == (SHORT_DOC[start - 5:start],
                                                   SHORT_DOC[end:end + 5])

    # Context cut short is marked; within the title line, so no line break gets in the way.
    cut = run("docs", "show", "letter.txt", "--span", "3:8", "--context", "2",
              "--index", str(index))
    assert cut.stdout.splitlines()[1] == "…庆市【科学技术局】关于…"


@pytest.mark.parametrize("span, words", [
    ("45:30", "--span 45:30 is empty or reversed: START must be less than END"),
    ("7:7", "--span 7:7 is empty or reversed"),
    ("a:b", "--span must be START:END, two whole numbers such as 829:856, not 'a:b'"),
    ("-1:5", "not '-1:5'"),
    ("1:2:3", "not '1:2:3'"),
    ("10", "not '10'"),
    ("0:99999", f"--span 0:99999 is out of range: letter.txt has {len(SHORT_DOC)} characters, "
                f"so offsets run from 0 to {len(SHORT_DOC)}"),
])
def test_a_bad_span_is_one_clear_line_and_exit_2(mixed, span, words):
    _, index, _ = mixed
    assert_clean_error(run("docs", "show", "letter.txt", f"--span={span}", "--index", str(index)),
                       2, words)


def _help(*command: str) -> str:
    """A command's help as one line of words: rich's boxes and line breaks removed."""
    result = run(*command, "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stdout).split())


def test_serve_help_says_that_new_generations_are_picked_up():
    text = _help("serve")
    assert "loaded once" not in text
    assert "A new index generation that another process writes (`rag ingest`, `rag docs " \
           "delete`) is picked up while serving, without a restart" in text
    assert "RAG_INDEX_POLL_MS" in text


@pytest.mark.parametrize("command", [("ask",), ("docs", "show")])
def test_help_says_that_offsets_index_the_stored_text(command):
    text = _help(*command)
    assert "stored text" in text and "not the original file's bytes" in text
    if command == ("docs", "show"):
        assert "--span START:END" in text and "--context" in text
