"""Writes the small scans tests/index/test_ocr.py reads (run once; the outputs are committed).

    .venv/bin/python tests/data/ocr/make_scans.py

letter.png: the top of corpus/cq-sti/001's first page (header block, title, addressee), drawn
at 200 dpi with fonts-wqy-microhei and turned 1°, as a scanner would leave it; letter.txt: the
lines it shows. mixed.pdf: page 1 with a text layer, page 2 a scan (an image only) of the
lines of corpus/cq-sti/004 that give 4222家.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from ocr import layout, render


def crop(image, lines: int, dpi: int):
    """The page cut below its last line, and made 1-bit (small PNGs)."""
    from ocr import FONT_PT, LINE_SPACING, MARGIN_IN

    bottom = int(MARGIN_IN * dpi + (lines + 1) * FONT_PT / 72 * dpi * LINE_SPACING)
    return image.crop((0, 0, image.width, bottom)).convert("1")


def main() -> None:
    letter = next((ROOT / "corpus" / "cq-sti").glob("001_*.txt")).read_text("utf-8")
    lines = layout(letter)[0][:17]
    crop(render(lines, 200, rotate=1.0), len(lines), 200).save(HERE / "letter.png",
                                                                optimize=True)
    (HERE / "letter.txt").write_text("\n".join(lines) + "\n", "utf-8")

    report = next((ROOT / "corpus" / "cq-sti").glob("004_*.txt")).read_text("utf-8")
    flat = [line for page in layout(report) for line in page]
    at = next(i for i, line in enumerate(flat) if "科技企业蓬勃发展" in line)
    scanned = flat[at:at + 4]
    image = crop(render(scanned, 150), len(scanned), 150)
    png = io.BytesIO()
    image.save(png, format="PNG", optimize=True)

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(HERE / "mixed.pdf"), pagesize=A4)
    pdf.setFont("STSong-Light", 12)
    pdf.drawString(72, A4[1] - 72, "市科技局2020年工作情况报告（节选）")
    pdf.drawString(72, A4[1] - 96, "第2页为扫描件。")
    pdf.showPage()
    width = A4[0]
    height = width * image.height / image.width
    pdf.drawImage(ImageReader(io.BytesIO(png.getvalue())), 0, A4[1] - height, width, height)
    pdf.showPage()
    pdf.save()
    (HERE / "mixed-page2.txt").write_text("\n".join(scanned) + "\n", "utf-8")
    for path in sorted(HERE.iterdir()):
        print(path.name, path.stat().st_size)


if __name__ == "__main__":
    main()
