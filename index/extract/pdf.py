"""PDF text layer to text with page boundaries (the only importer of pypdf).

Pages are joined by a blank line and `page_starts` records where each begins, so every chunk
can carry its page number (第N页). Scanned PDFs have no text layer; they are refused, not OCRed.
"""
from __future__ import annotations

import io
import logging

from index.extract import Extracted, LoadError, TextBuilder

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


def extract_pdf(data: bytes) -> Extracted:
    """The text of every page, in order, with the offset where each page starts."""
    reader, count = _reader(data)
    out = TextBuilder()
    starts: list[int] = []
    for number in range(count):
        try:
            text = reader.pages[number].extract_text() or ""
        except Exception as exc:  # one bad page spoils the file: a gap would misplace pages
            raise LoadError(f"unreadable PDF page {number + 1} "
                            f"({type(exc).__name__}: {exc})") from None
        starts.append(out.block(text.strip("\n"), sep=PAGE_SEP))
    result = out.build(page_starts=starts)
    if not result.text.strip():
        raise LoadError("PDF has no text layer (scanned pages need OCR, which is not supported)")
    return result
