"""index.extract.ofd through the loader: OFD files written as their XML (tests/index/make_formats.py).

Checks the exact text in reading order (what citations index into), the page of each line and of
each chunk, the official metadata of a two-page letter, the package's path forms, and a clear
reason for each kind of bad file.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from index.chunking import ChunkerParams
from index.extract import archive
from index.loaders import LoadError
from loading import chunk_slices, load
from make_formats import (LETTER_PAGES, LETTER_TEMPLATE, LETTER_TEXT_PAGES, Text, make_ofd,
                          ofd_parts, write_zip)

PAGE1, PAGE2 = LETTER_TEXT_PAGES
LETTER_TEXT = PAGE1 + "\n\n" + PAGE2


def _ofd(tmp_path: Path, parts: dict[str, str | bytes], name: str = "doc.ofd") -> Path:
    return write_zip(tmp_path / name, parts)


def test_letter_text_in_reading_order_with_pages(tmp_path):
    """Objects written out of order, a title in two TextObjects, a line of one TextCode per
    glyph, two fields on one line and a template masthead on page 1 only."""
    doc = load(make_ofd(tmp_path / "letter.ofd"))
    assert doc.text == LETTER_TEXT
    assert doc.meta["format"] == "ofd"
    assert doc.meta["page_starts"] == [0, len(PAGE1) + 2]
    assert doc.page_at(doc.text.index("1,250万元")) == 1
    assert doc.page_at(doc.text.index("二、工作要求")) == 2
    assert doc.page_at(len(doc.text) - 1) == 2


def test_letter_official_metadata(tmp_path):
    doc = load(make_ofd(tmp_path / "letter.ofd"))
    assert {k: doc.meta.get(k) for k in ("title", "doc_number", "addressee", "date", "signed",
                                         "publisher", "kind")} == {
        "title": "重庆市科学技术局关于做好2024年度科技创新券兑付工作的通知",
        "doc_number": "渝科局函〔2024〕12号", "addressee": "各区县（自治县）科技局，有关单位",
        "date": "2024-03-15", "signed": "2024-03-15", "publisher": "重庆市科学技术局",
        "kind": "通知"}


def test_chunks_are_slices_and_record_their_page(tmp_path):
    doc = load(make_ofd(tmp_path / "letter.ofd"))
    chunks = chunk_slices(doc, ChunkerParams(chunk_size=40, chunk_overlap=0))
    [amount] = [c for c in chunks if "1,250万元" in c.text]
    [deadline] = [c for c in chunks if "4月30日" in c.text]
    assert (amount.meta["page"], amount.meta["headings"]) == (1, ["一、兑付范围"])
    assert (deadline.meta["page"], deadline.meta["headings"]) == (2, ["二、工作要求"])


def test_lines_follow_the_baseline_not_the_xml(tmp_path):
    """Pieces a fraction of a millimetre off one baseline join; a new baseline is a new line;
    a gap of more than a character is a space, a touching piece is not; text drawn twice a
    hair apart is read once."""
    page = [Text(60, 50.3, "第二段"), Text(20, 30, "甲"), Text(24.2, 30, "乙丙"),
            Text(20, 50, "第一段"), Text(100, 50.2, "右栏"),
            Text(20, 70, "加粗标题"), Text(20.3, 70, "加粗标题")]  # drawn twice: fake bold
    doc = load(_ofd(tmp_path, ofd_parts([page])))
    assert doc.text == "甲乙丙\n第一段 第二段 右栏\n加粗标题"


@pytest.mark.parametrize("variant", ["absolute-paths", "no-namespace", "ctm-scaled"])
def test_path_and_namespace_forms(tmp_path, variant):
    parts = ofd_parts([[Text(20, 30, "标题"), Text(20, 40, "正文。")]])
    if variant == "absolute-paths":
        parts["OFD.xml"] = parts["OFD.xml"].replace("<ofd:DocRoot>Doc_0", "<ofd:DocRoot>/Doc_0")
        parts["Doc_0/Document.xml"] = parts["Doc_0/Document.xml"].replace(
            'BaseLoc="Pages', 'BaseLoc="/Doc_0/Pages')
    elif variant == "no-namespace":
        parts = {k: re.sub(r' xmlns:ofd="[^"]*"', "", v).replace("ofd:", "")
                 for k, v in parts.items()}
    else:  # a producer that writes Size 1 and scales the object by its CTM
        content = "Doc_0/Pages/Page_0/Content.xml"
        parts[content] = parts[content].replace('Size="4.2"', 'Size="1" CTM="4.2 0 0 4.2 0 0"')
        parts[content] = parts[content].replace('Y="4.2"', 'Y="1"')
    assert load(_ofd(tmp_path, parts)).text == "标题\n正文。"


def _bomb() -> str:
    return ('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><p>&b;</p>')


@pytest.mark.parametrize("change, reason", [
    (lambda p: b"PK\x03\x04 not really a zip", r"^not a readable OFD file \(not a zip archive"),
    (lambda p: {k: v for k, v in p.items() if k != "OFD.xml"},
     r"^not an OFD file \(no OFD\.xml in the zip archive\)$"),
    (lambda p: {k: v for k, v in p.items() if k != "Doc_0/Document.xml"},
     r"^OFD is missing its document Doc_0/Document\.xml$"),
    (lambda p: {k: v for k, v in p.items() if k != "Doc_0/Pages/Page_1/Content.xml"},
     r"^OFD is missing its page 2 Doc_0/Pages/Page_1/Content\.xml$"),
    (lambda p: {**p, "Doc_0/Pages/Page_0/Content.xml": p["Doc_0/Pages/Page_0/Content.xml"][:-40]},
     r"^malformed XML in OFD part Doc_0/Pages/Page_0/Content\.xml \(.*line 1"),
    (lambda p: {**p, "OFD.xml": p["OFD.xml"].replace("DocRoot", "DocRot")},
     r"^OFD\.xml names no document \(DocBody/DocRoot\)$"),
    (lambda p: {**p, "Doc_0/Pages/Page_0/Content.xml": _bomb()},
     r"^OFD part Doc_0/Pages/Page_0/Content\.xml declares a DTD or entities, which are refused$"),
    (lambda p: {**p, "Doc_0/Document.xml": re.sub(r"<ofd:Pages>.*</ofd:Pages>", "",
                                                  p["Doc_0/Document.xml"])},
     r"^OFD document Doc_0/Document\.xml lists no pages$"),
], ids=["bad-zip", "no-OFD.xml", "no-Document.xml", "no-page", "malformed-xml", "no-DocRoot",
        "entity-bomb", "no-pages"])
def test_corrupt_ofd_gives_a_reason(tmp_path, change, reason):
    changed = change(ofd_parts(LETTER_PAGES, LETTER_TEMPLATE))
    path = tmp_path / "bad.ofd"
    if isinstance(changed, bytes):
        path.write_bytes(changed)
    else:
        write_zip(path, changed)
    with pytest.raises(LoadError, match=reason):
        load(path)


def test_ofd_of_images_only_is_refused(tmp_path):
    parts = ofd_parts([[]])
    parts["Doc_0/Pages/Page_0/Content.xml"] = parts["Doc_0/Pages/Page_0/Content.xml"].replace(
        "</ofd:PageBlock>", '<ofd:ImageObject ID="7" Boundary="0 0 210 297" '
        'ResourceID="8"/></ofd:PageBlock>')
    with pytest.raises(LoadError, match=r"^OFD has no text \(its pages hold only images"):
        load(_ofd(tmp_path, parts))


def test_a_part_that_unpacks_too_large_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_PART_BYTES", 1000)
    parts = ofd_parts([[Text(20, 30 + i, "很长的一行文字" * 4) for i in range(40)]])
    with pytest.raises(LoadError, match=r"^OFD part Doc_0/Pages/Page_0/Content\.xml unpacks to "
                                        r"\d+ MiB, over the limit of \d+ MiB$"):
        load(_ofd(tmp_path, parts))


def test_an_archive_that_unpacks_too_large_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 2000)
    with pytest.raises(LoadError, match=r"^OFD file unpacks to \d+ MiB, over the limit of \d+ MiB$"):
        load(make_ofd(tmp_path / "letter.ofd"))


def test_without_defusedxml_an_ofd_is_skipped_naming_the_package(tmp_path, monkeypatch):
    path = make_ofd(tmp_path / "letter.ofd")
    monkeypatch.setitem(sys.modules, "defusedxml", None)  # as if it were not installed
    with pytest.raises(LoadError, match=r"^reading \.ofd needs defusedxml: pip install defusedxml$"):
        load(path)
