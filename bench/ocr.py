"""OCR engines compared on scans made here: RapidOCR (PP-OCR, ONNX Runtime) against Tesseract
(Debian's chi_sim), by character accuracy and seconds per page. Writes bench/ocr.json.

The scans are the bundled documents (corpus/cq-sti/*.txt) drawn onto A4 pages with a CJK font
(Debian's fonts-wqy-microhei) at 150 and 300 dpi, clean and "scanned" (rotated 1.5°, speckled,
grey). Accuracy is 1 - edit distance / length of the page's true text, both NFKC-normalised and
stripped of whitespace (full- and half-width punctuation both occur in the sources).

    nice -n 10 .venv/bin/python bench/ocr.py [--pages-per-doc 1] [--engines rapidocr,tesseract]

Needs the extra `ocr` (`pip install -e '.[ocr]'`) plus rapidfuzz, pytesseract and Debian's
tesseract-ocr and tesseract-ocr-chi-sim for the comparison.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FONT_PATHS = ["/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"]
A4_IN = (8.27, 11.69)
MARGIN_IN = 1.0
FONT_PT = 12
LINE_SPACING = 1.6


def font_path() -> str:
    for path in FONT_PATHS:
        if Path(path).exists():
            return path
    raise SystemExit("no CJK font: apt-get install fonts-wqy-microhei")


def layout(text: str, chars_per_line_pt: float = (A4_IN[0] - 2 * MARGIN_IN) * 72,
           lines_per_page: int | None = None) -> list[list[str]]:
    """The text as pages of lines, wrapped by the font's advance at FONT_PT (dpi-independent)."""
    from PIL import ImageFont

    font = ImageFont.truetype(font_path(), 100)
    scale = FONT_PT / 100
    if lines_per_page is None:
        lines_per_page = int((A4_IN[1] - 2 * MARGIN_IN) * 72 / (FONT_PT * LINE_SPACING))
    lines: list[str] = []
    for para in text.splitlines():
        para = para.strip()
        if not para:
            continue
        line = ""
        for ch in para:
            if font.getlength(line + ch) * scale > chars_per_line_pt:
                lines.append(line)
                line = ch
            else:
                line += ch
        lines.append(line)
    return [lines[i:i + lines_per_page] for i in range(0, len(lines), lines_per_page)]


def render(lines: list[str], dpi: int, rotate: float = 0.0, noise: float = 0.0,
           seed: int = 0):
    """One page image (greyscale PIL image) of `lines`; rotated by `rotate` degrees and with a
    `noise` share of pixels speckled, as a cheap scanner would."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = int(A4_IN[0] * dpi), int(A4_IN[1] * dpi)
    size = round(FONT_PT / 72 * dpi)
    font = ImageFont.truetype(font_path(), size)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    x = y = int(MARGIN_IN * dpi)
    for line in lines:
        draw.text((x, y), line, fill=0, font=font)
        y += round(size * LINE_SPACING)
    if rotate:
        page = page.rotate(rotate, resample=Image.BICUBIC, fillcolor=255, expand=False)
    if noise:
        rng = random.Random(seed)
        px = page.load()
        for _ in range(int(width * height * noise)):
            px[rng.randrange(width), rng.randrange(height)] = rng.choice((0, 90, 180))
        # a grey cast, as paper has
        page = page.point(lambda v: int(v * 0.9 + 10))
    return page


def normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def accuracy(truth: str, got: str) -> float:
    from rapidfuzz.distance import Levenshtein

    truth, got = normalise(truth), normalise(got)
    return max(0.0, 1 - Levenshtein.distance(truth, got) / max(1, len(truth)))


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def tesseract_engine():
    import pytesseract

    def run(image) -> str:
        # psm 6: one uniform block of text, which a page of a letter is
        return pytesseract.image_to_string(image, lang="chi_sim", config="--psm 6")

    return run


def rapidocr_engine():
    from index.extract.ocr import ocr_image

    def run(image) -> str:
        return ocr_image(png_bytes(image), timeout_s=0).text

    return run


VARIANTS = [  # (name, dpi, rotate, noise)
    ("150dpi", 150, 0.0, 0.0),
    ("300dpi", 300, 0.0, 0.0),
    ("150dpi-scanned", 150, 1.5, 0.002),
    ("300dpi-scanned", 300, -1.5, 0.002),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages-per-doc", type=int, default=1)
    parser.add_argument("--engines", default="rapidocr,tesseract")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "ocr.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    engines = {"rapidocr": rapidocr_engine, "tesseract": tesseract_engine}
    pages = []
    for path in sorted((ROOT / "corpus" / "cq-sti").glob("*.txt")):
        for number, lines in enumerate(layout(path.read_text("utf-8"))[:args.pages_per_doc]):
            pages.append((path.name, number + 1, lines))
    load_before = os.getloadavg()
    runs = {name: engines[name]() for name in args.engines.split(",")}
    for run in runs.values():
        run(render(pages[0][2][:3], 150))  # load the models outside the timing
    results: dict = {}
    loads: list[float] = []
    # Engines take turns on each page, so a change in the machine's load (a training job shares
    # it) weighs on both alike.
    for variant, dpi, rotate, noise in VARIANTS:
        rows: dict[str, list[dict]] = {name: [] for name in runs}
        for seed, (doc, number, lines) in enumerate(pages):
            image = render(lines, dpi, rotate, noise, seed)
            for engine_name, run in runs.items():
                t0 = time.perf_counter()
                got = run(image)
                dt = time.perf_counter() - t0
                acc = accuracy("".join(lines), got)
                loads.append(os.getloadavg()[0])
                rows[engine_name].append({"doc": doc, "page": number, "accuracy": round(acc, 4),
                                          "seconds": round(dt, 2)})
                print(f"{engine_name} {variant} {doc} p{number}: {acc:.4f} {dt:.1f}s",
                      file=sys.stderr, flush=True)
        for engine_name, engine_rows in rows.items():
            accs = [r["accuracy"] for r in engine_rows]
            secs = [r["seconds"] for r in engine_rows]
            results.setdefault(engine_name, {})[variant] = {
                "pages": len(engine_rows),
                "char_accuracy_mean": round(sum(accs) / len(accs), 4),
                "char_accuracy_min": round(min(accs), 4),
                "seconds_per_page": round(sum(secs) / len(secs), 2),
                "per_page": engine_rows,
            }
    report = {
        "what": "character accuracy (1 - Levenshtein / length, NFKC, no whitespace) and "
                "seconds per page of each OCR engine on A4 pages rendered from corpus/cq-sti "
                f"with {Path(font_path()).name} at {FONT_PT} pt",
        "command": "nice -n 10 .venv/bin/python bench/ocr.py " + " ".join(argv or sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_before": [round(v, 2) for v in load_before],
                    "loadavg_after": [round(v, 2) for v in os.getloadavg()],
                    "loadavg_1min_during": {"min": round(min(loads), 2),
                                            "mean": round(sum(loads) / len(loads), 2),
                                            "max": round(max(loads), 2)},
                    "note": "run at nice 10 beside a training job on the same 2 cores: "
                            "the seconds are upper bounds for an idle machine"},
        "variants": {name: {"dpi": dpi, "rotate_deg": rot, "speckle": noise}
                     for name, dpi, rot, noise in VARIANTS},
        "results": results,
    }
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(json.dumps({e: {v: (r["char_accuracy_mean"], r["seconds_per_page"])
                          for v, r in vs.items()} for e, vs in results.items()}, indent=1))


if __name__ == "__main__":
    main()
