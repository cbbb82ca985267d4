"""Word .docx to text, keeping heading styles (the only importer of python-docx).

Paragraphs and tables are read in document order; a table row becomes one line with its cells
separated by tabs. Paragraphs styled `Title` or `Heading N` are recorded as headings.
"""
from __future__ import annotations

import io
import re

from index.extract import Extracted, LoadError, TextBuilder

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.I)


def _level(paragraph) -> int | None:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name.lower() == "title":
        return 1
    m = _HEADING_STYLE.match(name.strip())
    return int(m.group(1)) + 1 if m else None  # Heading 1 sits under the Title


def _row_text(row) -> str:
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) in seen:  # a merged cell is returned once per grid column it spans
            continue
        seen.add(id(cell._tc))
        cells.append(" ".join(cell.text.split()))
    return "\t".join(cells)


def extract_docx(data: bytes) -> Extracted:
    """The paragraphs and tables of a .docx, in order, with its headings."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # zipfile, lxml and python-docx each raise their own types
        raise LoadError(f"not a readable .docx file ({type(exc).__name__}: {exc})") from None
    out = TextBuilder()
    for block in blocks:
        if isinstance(block, Table):
            for row in block.rows:
                out.block(_row_text(row))
            continue
        level = _level(block)
        if level is not None and block.text.strip():
            out.heading(block.text, level)
        else:
            out.block(block.text)
    result = out.build()
    if not result.text.strip():
        raise LoadError("the .docx has no text")
    return result
