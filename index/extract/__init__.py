"""Text extraction per file format: bytes in, the text citations will index into, out.

Each heavy library has one module here (`html` selectolax, `pdf` pypdf, `docx` python-docx,
`sheet` openpyxl, `ofd` defusedxml), imported only when a file of its format is loaded. Every
extractor raises `LoadError` with a message a user can act on, never a library's own exception.
"""
from __future__ import annotations

from dataclasses import dataclass, field


class LoadError(Exception):
    """A file that cannot become a document; the message says why."""


@dataclass(frozen=True, slots=True)
class Extracted:
    """A file's text and the structure the format itself declares.

    `headings` are (offset, level, text) of headings the format marks up (HTML `<h1>`, Word
    heading styles, Markdown `#`); `page_starts[i]` is the offset where page i + 1 begins (PDF,
    OFD); `row_headers` are (start, end, header row) of a table's data rows (spreadsheets), so a
    chunk of rows carries its columns' names as context.
    """

    text: str
    headings: list[tuple[int, int, str]] = field(default_factory=list)
    page_starts: list[int] = field(default_factory=list)
    row_headers: list[tuple[int, int, str]] = field(default_factory=list)
    # OCR'd lines as [page, start, end, x0, y0, x1, y1]: offsets into `text`, the box in pixels
    # of the page image the OCR read (index/extract/ocr.py RENDER_DPI for PDF pages).
    ocr_lines: list[list[int]] = field(default_factory=list)


class TextBuilder:
    """Appends blocks of text with their offsets, so headings and pages can point into it."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.headings: list[tuple[int, int, str]] = []

    def block(self, text: str, sep: str = "\n") -> int:
        """Add `text` as a new block after `sep` (none before the first); returns its offset."""
        if self._parts and sep:
            self._parts.append(sep)
            self._length += len(sep)
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        return start

    def heading(self, text: str, level: int, sep: str = "\n") -> None:
        """Add a heading block and record it."""
        self.headings.append((self.block(text, sep), level, text))

    def build(self, page_starts: list[int] | None = None) -> Extracted:
        return Extracted("".join(self._parts), self.headings, page_starts or [])
