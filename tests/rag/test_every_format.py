"""One `rag ingest` of a folder holding every format a government-document folder comes in:
a scanned PDF, OFD, .doc, .wps, .rtf, .xlsx, .csv, .txt, .html and .docx. Every file is indexed
or named with its reason, and the scan's citation carries its page.

The files are the small ones the format tests vendor or write (tests/data/ocr, tests/data/formats,
tests/index/make_formats.py, tests/index/make_files.py).
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from test_cli import run

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "index"))
from make_files import make_docx  # noqa: E402
from make_formats import make_ofd, make_xlsx  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("soffice") is None,
                       reason="LibreOffice is not installed (apt-get install "
                              "libreoffice-writer-nogui; `make test` does so as root)"),
    pytest.mark.skipif(importlib.util.find_spec("rapidocr") is None,
                       reason="the extra 'ocr' is not installed: pip install -e '.[ocr]'"),
]


def test_a_folder_of_every_format_ingests_in_one_command(tmp_path):
    src = tmp_path / "folder"
    src.mkdir()
    shutil.copy(TESTS / "data" / "ocr" / "mixed.pdf", src / "scan.pdf")  # page 2 is a scan
    formats = TESTS / "data" / "formats"
    shutil.copy(formats / "notice.wps", src / "notice.wps")  # Kingsoft: Word's binary format
    shutil.copy(formats / "locked.doc", src / "locked.doc")  # a password: named, not indexed
    shutil.copy(formats / "notice-gbk.rtf", src / "notice.rtf")  # the notice as Chinese Word writes RTF
    make_ofd(src / "letter.ofd")
    make_xlsx(src / "projects.xlsx")
    (src / "companies.csv").write_text("区县,企业数\n渝北区,120\n", encoding="utf-8")
    (src / "note.txt").write_text("关于某事的复函\n正文。\n", encoding="utf-8")
    (src / "page.html").write_text("<html><body><h1>科技创新券</h1><p>申报说明。</p></body></html>",
                                   encoding="utf-8")
    make_docx(src / "opinion.docx", [("Title", "指导意见"), ("Normal", "加强组织领导。")])
    index = tmp_path / "index"
    env = {"RAG_HOME": str(tmp_path / "home")}  # its own OCR cache
    result = run("ingest", str(src), "--index", str(index), "--json", env=env)
    report = json.loads(result.stdout)
    # One reason for the one file that cannot be read (a password), nothing silently left out.
    assert [Path(e["path"]).name for e in report["errors"]] == ["locked.doc"], report["errors"]
    assert "password" in report["errors"][0]["reason"]
    assert result.returncode == 1 and report["ignored"] == []
    assert report["documents"] == 9 and report["ocr_pages"] == 1
    listed = run("docs", "list", "--index", str(index), "--json", env=env)
    assert {d["doc_id"] for d in json.loads(listed.stdout)} == {
        "scan.pdf", "notice.wps", "notice.rtf", "letter.ofd", "projects.xlsx", "companies.csv",
        "note.txt", "page.html", "opinion.docx"}
    # The scanned page answers, cited with its page.
    answer = json.loads(run("ask", "2020年重庆累计培育高新技术企业多少家？", "--index", str(index),
                            "--json", env=env).stdout)
    assert answer["answerable"] and "4222" in answer["answer"], answer["answer"]
    cited = answer["citations"][0]
    assert cited["doc_id"] == "scan.pdf" and cited["page"] == 2
