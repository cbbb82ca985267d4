"""PDF text layer to text with page boundaries (the only importer of pypdf).

Pages are joined by a blank line and `page_starts` records where each begins, so every chunk
can carry its page number (第N页). A page is read from its text layer when it has one and is
never OCR'd; a page without one that carries an image is a scan, OCR'd page by page
(index/extract/ocr.py), so a PDF mixing both kinds reads each as it is. The OCR'd lines' boxes
are kept as `ocr_lines`.
"""
from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

from index.extract import Extracted, LoadError, TextBuilder

if TYPE_CHECKING:
    from index.extract.ocr import Ocr

PAGE_SEP = "\n\n"


def _reader(data: bytes):
    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:
        raise LoadError("not a PDF file (no %PDF header)")
    # pypdf logs every repair it makes to a damaged file; the user gets one line from us instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("PDF is encrypted with a password")
        return reader, len(reader.pages)
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; all mean "unreadable"
        raise LoadError(f"unreadable PDF ({type(exc).__name__}: {exc})") from None


def _has_image(page) -> bool:
    """Whether a page draws an image or a form (a scan), read from its resources only."""
    try:
        xobjects = page["/Resources"].get_object().get("/XObject")
        if xobjects is None:
            return False
        return any(xobjects[name].get_object().get("/Subtype") in ("/Image", "/Form")
                   for name in xobjects.get_object())
    except Exception:  # odd resources: treat the page as one that may hold a scan
        return True


def extract_pdf(data: bytes, ocr: Ocr | None = None) -> Extracted:
    """The text of every page, in order, with the offset where each page starts; pages without
    a text layer are OCR'd (`ocr`: its cache and bounds; None = defaults, no cache)."""
    reader, count = _reader(data)
    texts: list[str] = []
    scanned: list[int] = []
    for number in range(count):
        try:
            page = reader.pages[number]
            text = page.extract_text() or ""
        except Exception as exc:  # one bad page spoils the file: a gap would misplace pages
            raise LoadError(f"unreadable PDF page {number + 1} "
                            f"({type(exc).__name__}: {exc})") from None
        texts.append(text.strip("\n"))
        if not text.strip() and _has_image(page):
            scanned.append(number)
    if not scanned:
        result = TextBuilder()
        starts = [result.block(text, sep=PAGE_SEP) for text in texts]
        built = result.build(page_starts=starts)
        if not built.text.strip():
            raise LoadError("PDF has no text layer, and no page holds a scanned image to OCR")
        return built
    return _with_ocr(data, texts, scanned, ocr)


def _with_ocr(data: bytes, texts: list[str], scanned: list[int], ocr: Ocr | None) -> Extracted:
    from index.extract import ocr as ocr_module

    ocr_module.require()  # names the extra before the page bound or any rendering
    own = ocr is None
    engine = ocr if ocr is not None else ocr_module.Ocr()
    try:
        pages = engine.pages(data, scanned, ocr_module.pdf_renderer(data),
                             what=f"PDF ({len(texts)} pages)")
    finally:
        if own:
            engine.close()
    by_number = dict(zip(scanned, pages))
    out = TextBuilder()
    starts: list[int] = []
    lines: list[list] = []
    for number, text in enumerate(texts):
        page = by_number.get(number)
        if page is None:
            starts.append(out.block(text, sep=PAGE_SEP))
            continue
        text, spans = ocr_module.page_text(page)
        start = out.block(text, sep=PAGE_SEP)
        starts.append(start)
        lines.extend([number + 1, start + lo, start + hi, *line.box] for lo, hi, line in spans)
    result = out.build(page_starts=starts)
    if not result.text.strip():
        raise LoadError(f"no text found by OCR on the {len(scanned)} scanned page(s)")
    return Extracted(result.text, result.headings, result.page_starts, ocr_lines=lines)
