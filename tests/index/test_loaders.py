"""index.loaders: discovery, decoding (UTF-8 with/without BOM, GB18030), doc ids, per-file errors."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from idx_helpers import CORPUS, CORPUS_FILES, CQ_STI, DOC_004, read
from index.loaders import (SUPPORTED_SUFFIXES, FileError, LoadError, SourceFile, content_hash,
                           decode, discover, load_file, load_paths)

CHINESE = "重庆市科学技术局关于支持区县科技创新发展的指导意见\n日期:2022-11-04\n累计培育高新技术企业4222家。\n"
CORPUS_IDS = ["cq-sti/" + p.name for p in CORPUS_FILES]


def _load_one(path: Path):
    return load_file(SourceFile(path, path.name))


# --- decoding -------------------------------------------------------------------------------

def test_utf8_bom_is_stripped(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + CHINESE.encode("utf-8"))
    doc = _load_one(path)
    assert doc.text == CHINESE
    assert not doc.text.startswith("\ufeff")
    assert doc.meta["title"] == "重庆市科学技术局关于支持区县科技创新发展的指导意见"


def test_gb18030_file_decodes_to_the_same_text(tmp_path):
    data = CHINESE.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # precondition: the bytes really are not UTF-8
    path = tmp_path / "gbk.txt"
    path.write_bytes(data)
    doc = _load_one(path)
    assert doc.text == CHINESE
    assert doc.meta["content_hash"] == hashlib.sha256(CHINESE.encode("utf-8")).hexdigest()


def test_gb18030_only_characters_round_trip():
    # U+20000 is a four-byte GB18030 sequence, outside GBK and GB2312.
    text = "渝科局函〔2024〕300号 𠀀"
    assert decode(text.encode("gb18030")) == text


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n"], ids=["empty", "whitespace-only"])
def test_empty_file_is_refused(tmp_path, data):
    path = tmp_path / "empty.txt"
    path.write_bytes(data)
    with pytest.raises(LoadError, match=r"^file is empty$"):
        _load_one(path)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    with pytest.raises(LoadError, match=r"^file looks binary \(contains NUL bytes\)$"):
        _load_one(path)


def test_undecodable_bytes_are_refused():
    with pytest.raises(LoadError, match=r"^not valid UTF-8 or GB18030 text$"):
        decode(b"\xff\xfe\xfd\xff")


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"], ids=["bom", "bom+space"])
def test_bom_only_file_is_empty(data):
    with pytest.raises(LoadError, match="file is empty"):
        decode(data)


def test_load_errors_are_reported_per_file_not_raised(tmp_path):
    (tmp_path / "good.txt").write_text(CHINESE, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.md").write_bytes(b"abc\x00def")
    docs, errors = load_paths([tmp_path])
    assert [d.id for d in docs] == ["good.txt"]
    assert sorted(errors, key=lambda e: e.path) == [
        FileError(str(tmp_path / "bin.md"), "file looks binary (contains NUL bytes)"),
        FileError(str(tmp_path / "empty.txt"), "file is empty"),
    ]


# --- text and metadata stored -----------------------------------------------------------------

@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_stored_text_equals_decoded_file_exactly(path):
    doc = _load_one(path)
    raw = path.read_bytes()
    assert doc.text == raw.decode("utf-8")
    assert len(doc.text) == len(raw.decode("utf-8"))
    assert doc.meta["content_hash"] == hashlib.sha256(raw).hexdigest()  # corpus has no BOM
    assert doc.meta["source_path"] == str(path)


def test_line_endings_and_odd_whitespace_are_kept(tmp_path):
    text = "标题\r\n\r\n\u3000\u3000正文第一段。\u2002\r\n第二段\t结束。  \n"
    path = tmp_path / "crlf.txt"
    path.write_bytes(text.encode("utf-8"))
    assert _load_one(path).text == text


def test_content_hash_is_sha256_of_utf8_text():
    assert content_hash("重庆") == hashlib.sha256("重庆".encode("utf-8")).hexdigest()
    assert content_hash("重庆") != content_hash("重庆 ")


# --- discovery and doc ids --------------------------------------------------------------------

def test_doc_id_is_path_relative_to_the_ingested_folder():
    docs, errors = load_paths([CORPUS])
    assert errors == []
    assert sorted(d.id for d in docs) == CORPUS_IDS
    by_id = {d.id: d for d in docs}
    assert by_id["cq-sti/004_f07454981927e40f.txt"].text == read(DOC_004)


def test_doc_id_of_a_deeper_folder_and_of_a_named_file():
    sources, errors = discover([CQ_STI])
    assert errors == []
    assert [s.doc_id for s in sources] == [p.name for p in CORPUS_FILES]
    sources, errors = discover([DOC_004])
    assert errors == []
    assert sources == [SourceFile(DOC_004, "004_f07454981927e40f.txt")]


def test_discover_takes_supported_formats_and_ignores_other_files(tmp_path):
    for name in ["a.txt", "b.md", "C.TXT", "D.Md", "sub/deeper/e.txt", "x.pdf", "y.docx",
                 "z.html", "w.HTM", "noext", "t.txt.bak", "old.pptx", "sheet.numbers", "COPYRIGHT",
                 ".hidden.txt", ".git/config.md", "sub/.cache/f.txt"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("内容", encoding="utf-8")
    sources, errors = discover([tmp_path])
    assert errors == []  # unsupported files inside a folder are skipped silently
    assert sorted(s.doc_id for s in sources) == ["C.TXT", "D.Md", "a.txt", "b.md",
                                                 "sub/deeper/e.txt", "w.HTM", "x.pdf", "y.docx",
                                                 "z.html"]
    assert all(s.path == tmp_path / s.doc_id for s in sources)
    assert {".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".doc", ".wps", ".rtf", ".ofd",
            ".xlsx", ".csv"} <= set(SUPPORTED_SUFFIXES)


def test_discover_reports_missing_paths_and_unsupported_named_files(tmp_path):
    doc = tmp_path / "report.pptx"
    doc.write_bytes(b"PK\x03\x04")
    bare = tmp_path / "README"
    bare.write_text("x", encoding="utf-8")
    missing = tmp_path / "nope"
    sources, errors = discover([doc, bare, missing])
    assert sources == []
    supported = ", ".join(SUPPORTED_SUFFIXES)
    assert errors == [
        FileError(str(doc), f"unsupported file type '.pptx'; supported: {supported}"),
        FileError(str(bare), f"unsupported file type '(none)'; supported: {supported}"),
        FileError(str(missing), "no such file or directory"),
    ]


def test_discover_deduplicates_the_same_file_named_twice():
    sources, errors = discover([CQ_STI, CQ_STI])
    assert errors == []
    assert [s.doc_id for s in sources] == [p.name for p in CORPUS_FILES]


def test_two_different_files_with_the_same_doc_id_are_not_silently_dropped(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_text("第一个文件", encoding="utf-8")
    (tmp_path / "b" / "x.txt").write_text("第二个文件", encoding="utf-8")
    docs, errors = load_paths([tmp_path / "a", tmp_path / "b"])
    texts = sorted(d.text for d in docs)
    # Either both are kept (under distinct ids) or the clash is reported.
    assert texts == ["第一个文件", "第二个文件"] or any("x.txt" in e.path for e in errors)
