"""Small real PDF and DOCX files for the loader tests, written with reportlab and python-docx."""
from __future__ import annotations

from pathlib import Path


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A PDF whose page i holds the lines `pages[i]`, in a CJK font every reader knows."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # built in: no font file needed
    pdf = canvas.Canvas(str(path))
    for lines in pages:
        pdf.setFont("STSong-Light", 11)
        for i, line in enumerate(lines):
            pdf.drawString(60, 790 - 16 * i, line)
        pdf.showPage()
    pdf.save()
    return path


def make_docx(path: Path, blocks: list[tuple[str, str]]) -> Path:
    """A .docx of (style, text) blocks; style "table" takes rows separated by `|` and cells by `;`."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        if style == "table":
            rows = [row.split(";") for row in text.split("|")]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            document.add_paragraph(text, style=style)
    document.save(str(path))
    return path
