"""Bad input (issue 7.4): any question, and damaged HTML, PDF and DOCX files.

Questions: whatever the text (any Unicode, lone surrogates, control characters, nothing, 100k
characters, mixed scripts), the service either refuses it with QuestionError or returns an answer
whose every citation is an exact span of its document and which serialises as UTF-8 JSON.
Loaders: mutations of small valid files give a Document or LoadError, never another exception.
(Chunk invariants over generated Chinese text, numbers like 211.62亿元 included, are property
tests in tests/index/test_chunking.py.)
"""
from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rel_helpers import FACT_QUESTION, assert_one_line_error

sys.path.insert(0, str(Path(__file__).parents[1] / "index"))
from make_files import make_docx, make_pdf  # noqa: E402

WORDS = ["2024年", "全市", "新建", "揭榜挂帅", "攻关项目", "多少项", "科技", "How many", "projects",
         "重慶", "연구", "исследование", "بحث", "？", "。", "211.62亿元"]
questions = st.lists(st.one_of(
    st.sampled_from(WORDS),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=8),  # surrogates too
    st.sampled_from(["\x00", "\x1b[31m", "\u202e", "\ufeff", "\u200b", "\r\n", "\t", "\x7f"]),
), max_size=12).map("".join)


@pytest.fixture(scope="module")
def fact_service(fact_index, embedder):
    from rag.config import Settings
    from rag.service import RagService

    return RagService(Settings(index=fact_index.index_dir, index_poll_ms=0), embedder)


def check_answer_or_refusal(service, question: str) -> None:
    from rag.service import QuestionError

    try:
        answer = service.ask(question)
    except QuestionError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    docs = service.index.documents
    for c in answer.citations:
        assert docs[c.doc_id].text[c.start:c.end] == c.quote
        assert f"[{c.n}]" in answer.text
    assert sorted(int(n) for n in re.findall(r"\[(\d+)\]", answer.text)) == \
        sorted(c.n for c in answer.citations)
    if not answer.answerable:
        assert answer.citations == []
    for hit in answer.hits:
        assert docs[hit.chunk.doc_id].text[hit.chunk.start:hit.chunk.end] == hit.chunk.text
    json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(question=questions)
@example(question="")
@example(question=" \u3000\n")
@example(question="\ud800\udc00 orphan \udfff")
@example(question="🙂" * 10)
@example(question="x" * 100_000)
@example(question=FACT_QUESTION)
@example(question=FACT_QUESTION + "\x00\x1b")
def test_any_question_is_answered_with_exact_citations_or_refused(fact_service, question):
    check_answer_or_refusal(fact_service, question)


@pytest.mark.parametrize("question, words", [
    ("", "empty"), ("\u3000 ", "empty"), ("🙂🙂", "no letters or digits"),
    ("\x01\x02", "no letters or digits"), ("问" * 2001, "limit is 2000"),
])
def test_bad_questions_get_exit_2_from_the_cli(cli, fact_index, question, words):
    result = cli.run("ask", question, "--index", str(fact_index.index_dir))
    assert_one_line_error(result, 2, words)


def test_undecodable_bytes_in_argv_get_exit_2(fact_index, tmp_path):
    import os
    import subprocess

    rag = str(Path(sys.executable).with_name("rag"))
    result = subprocess.run([rag.encode(), b"ask", b"\xff\xfe\xe9t\xe9?",
                             b"--index", str(fact_index.index_dir).encode()],
                            capture_output=True, timeout=120,
                            env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2 and "Traceback" not in stderr, stderr
    assert "not valid Unicode text" in stderr


# --- loaders ------------------------------------------------------------------------------------

HTML = ("<html><head><title>t</title><script>var x=1;</script></head><body><nav>首页</nav>"
        "<main><h1>关于科技创新券的通知</h1><p>科技创新券每家企业每年最高10万元。</p>"
        "<table><tr><td>项目</td><td>211.62亿元</td></tr></table><pre>a  b</pre></main>"
        "</body></html>").encode("utf-8")


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("fuzz")
    pdf = make_pdf(root / "s.pdf", [["重庆市科学技术局关于研发投入的报告", "一、总体情况"],
                                    ["研发经费投入强度达到2.36%。"]])
    docx = make_docx(root / "s.docx", [("Title", "关于科技创新券的通知"), ("Heading 1", "一、总体要求"),
                                       ("Normal", "每家企业每年最高10万元。"), ("table", "a;b|c;d")])
    return {".html": HTML, ".pdf": pdf.read_bytes(), ".docx": docx.read_bytes()}


mutations = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                     min_size=1, max_size=6)


def _mutate(data: bytes, edits, cut: float | None) -> bytes:
    out = bytearray(data)
    for where, byte in edits:
        out[int(where * len(out))] = byte
    return bytes(out[:int(cut * len(out))] if cut is not None else out)


def _load_or_refuse(data: bytes, suffix: str) -> None:
    from index.chunking import ChunkerParams, chunk_document
    from index.loaders import LoadError, document_from_bytes

    try:
        doc = document_from_bytes(data, f"fuzz{suffix}", source="fuzz")
    except LoadError as exc:
        assert str(exc)
        return
    assert doc.text.strip() and doc.meta["format"] == suffix[1:]
    for chunk in chunk_document(doc, ChunkerParams()):
        assert doc.text[chunk.start:chunk.end] == chunk.text


@pytest.mark.parametrize("suffix", [".html", ".pdf", ".docx"])
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(edits=mutations, cut=st.one_of(st.none(), st.floats(0, 1)))
def test_damaged_files_load_or_are_refused_with_load_error(samples, suffix, edits, cut):
    _load_or_refuse(_mutate(samples[suffix], edits, cut), suffix)


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(member=st.sampled_from(["word/document.xml", "[Content_Types].xml",
                               "word/_rels/document.xml.rels"]),
       edits=mutations, cut=st.one_of(st.none(), st.floats(0, 1)))
def test_a_docx_with_a_damaged_part_inside_an_intact_zip_is_refused_or_read(samples, member,
                                                                          edits, cut):
    """Byte mutations mostly break the zip's CRC; this reaches python-docx's XML parsing."""
    source = zipfile.ZipFile(io.BytesIO(samples[".docx"]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, _mutate(data, edits, cut) if item.filename == member else data)
    _load_or_refuse(out.getvalue(), ".docx")


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(markup=st.lists(st.sampled_from(["<p>", "</p>", "<div>", "<h2>", "</h1>", "<!--", "-->",
                                        "<script>", "</script>", "<pre>", "<main>", "<nav>", "&",
                                        "&#0;", "&#xD800;", "<![CDATA[", "\x00", "科技", "<",
                                        ">", "\"", "重庆市2024年", "\ud7ff"]), max_size=40))
def test_arbitrary_tag_soup_loads_or_is_refused(markup):
    _load_or_refuse("".join(markup).encode("utf-8", "surrogatepass"), ".html")
