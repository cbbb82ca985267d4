"""Scans to text: RapidOCR's PP-OCR models on ONNX Runtime (the only importer of rapidocr, and of
pypdfium2, which rasterises the PDF pages that have no text layer).

RapidOCR was chosen over Tesseract (chi_sim) on pages rendered from the bundled corpus; the
figures are in bench/ocr.json (bench/ocr.py). Its wheel carries the Chinese detection and
recognition models, so nothing is fetched at run time. It is the extra `ocr`; without it a scan
is refused with a reason that names the extra.

A page's recognised lines are joined into paragraphs (a line that runs to the right margin
continues on the next one: `42` / `22家` reads `4222家`), so the stored text reads as the
letter does. Each line's box is kept beside its offsets, for highlighting a cited span on the
page image later.

Every page is bounded: OCR runs in a worker process that is killed when a page takes longer
than `page_timeout_s`, and a file with more than `max_pages` pages to OCR is refused before any
work. Results are cached by (file hash, page, engine) in one SQLite file, so re-ingesting an
unchanged scan OCRs nothing.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import select
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.extract import Extracted, LoadError, TextBuilder

INSTALL_HINT = "pip install 'cq-rag[ocr]'"
# Part of the cache key: another engine, or another way of reading its output, is other text.
ENGINE_ID = "rapidocr-3/PP-OCRv6-small/rows-1"
PAGE_TIMEOUT_S = 120.0  # one A4 page at 300 dpi takes 5-25 s on two busy cores (bench/ocr.json)
MAX_PAGES = 100  # pages to OCR in one file; past this a file is refused, not read for hours
RENDER_DPI = 300
MAX_PIXELS = 60_000_000  # a decompression bomb, or a poster, is refused before decoding
MIN_SCORE = 0.5  # lines recognised with less confidence than this are noise (specks, stamps)


class OcrUnavailable(LoadError):
    """The OCR extra is not installed."""


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One recognised line: its text, its box on the page image (pixels: x0, y0, x1, y1)."""

    text: str
    box: tuple[int, int, int, int]
    score: float


@dataclass(frozen=True, slots=True)
class OcrPage:
    """The lines of one page image, top to bottom, and the image's size in pixels."""

    lines: tuple[OcrLine, ...]
    width: int
    height: int

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_json(self) -> str:
        return json.dumps({"w": self.width, "h": self.height,
                           "lines": [[x.text, list(x.box), x.score] for x in self.lines]},
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> OcrPage:
        d = json.loads(raw)
        return cls(tuple(OcrLine(t, tuple(b), s) for t, b, s in d["lines"]), d["w"], d["h"])


def require() -> None:
    """OcrUnavailable unless the engine and the page rasteriser are installed."""
    try:
        import pypdfium2  # noqa: F401
        import rapidocr  # noqa: F401
    except ImportError as exc:
        raise OcrUnavailable(f"scanned pages need OCR: {INSTALL_HINT} "
                             f"(missing {exc.name})") from None


# --- the engine (in whichever process runs it) ---------------------------------------------

_ENGINE = None


def _engine():
    global _ENGINE  # one engine per process: loading the models costs a second
    if _ENGINE is None:
        from rapidocr import RapidOCR

        # No angle classifier: scans are upright (a 1-2° skew is read without it), and it
        # costs a tenth of the time. Quiet logs: the ingest reports per file.
        _ENGINE = RapidOCR(params={"Global.use_cls": False, "Global.log_level": "error"})
    return _ENGINE


def _recognise(png: bytes) -> OcrPage:
    """OCR one page image (PNG bytes); the lines in reading order."""
    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    result = _engine()(np.asarray(image)[:, :, ::-1])  # RapidOCR takes BGR, as OpenCV does
    lines = []
    if result.boxes is not None and result.txts:
        for box, text, score in zip(result.boxes, result.txts, result.scores):
            text = text.strip()
            if not text or score < MIN_SCORE:
                continue
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            lines.append(OcrLine(text, (int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))),
                                 round(float(score), 4)))
    return OcrPage(tuple(rows(lines)), image.width, image.height)


def rows(lines: list[OcrLine]) -> list[OcrLine]:
    """Boxes in reading order, those on one row (vertical centres within half a line's height)
    merged left to right into one line, their texts joined by a space."""
    def centre(x: OcrLine) -> float:
        return (x.box[1] + x.box[3]) / 2

    out: list[list[OcrLine]] = []
    for line in sorted(lines, key=centre):
        row = out[-1] if out else None
        if row and abs(centre(line) - centre(row[0])) < (row[0].box[3] - row[0].box[1]) / 2:
            row.append(line)
        else:
            out.append([line])
    merged = []
    for row in out:
        row.sort(key=lambda x: x.box[0])
        merged.append(row[0] if len(row) == 1 else OcrLine(
            " ".join(x.text for x in row),
            (min(x.box[0] for x in row), min(x.box[1] for x in row),
             max(x.box[2] for x in row), max(x.box[3] for x in row)),
            min(x.score for x in row)))
    return merged


# --- bounded runs ---------------------------------------------------------------------------

class _Worker:
    """A child process (`python -m index.extract.ocr`) that runs OCR, killed and started afresh
    when a page overruns its time. A plain subprocess rather than multiprocessing: a spawned
    multiprocessing child re-imports the caller's main script, which a script without a
    `__main__` guard turns into a loop of crashing workers."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None

    def run(self, png: bytes, timeout_s: float) -> OcrPage:
        if timeout_s <= 0:  # unbounded: in this process (benchmarks)
            return _recognise(png)
        if self._proc is None or self._proc.poll() is not None:
            root = str(Path(__file__).resolve().parents[2])
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                filter(None, [root, os.environ.get("PYTHONPATH", "")]))}
            self._proc = subprocess.Popen([sys.executable, "-m", "index.extract.ocr"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, env=env)
        proc = self._proc
        deadline = time.monotonic() + timeout_s
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(struct.pack(">Q", len(png)) + png)
            proc.stdin.flush()
            size = struct.unpack(">Q", _read(proc.stdout.fileno(), 8, deadline))[0]
            reply = json.loads(_read(proc.stdout.fileno(), size, deadline).decode("utf-8"))
        except TimeoutError:
            self.close()
            raise LoadError(f"OCR took longer than {timeout_s:g} s on one page; "
                            "the file was not indexed") from None
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            raise LoadError(f"the OCR engine failed ({type(exc).__name__}: {exc})") from None
        if "error" in reply:
            raise LoadError(f"OCR failed on a page: {reply['error']}")
        return OcrPage.from_json(reply["page"])

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream is not None:
                    stream.close()
            self._proc = None


def _read(fd: int, size: int, deadline: float) -> bytes:
    """Exactly `size` bytes from `fd` before `deadline` (TimeoutError), EOFError if it closes."""
    parts, got = [], 0
    while got < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        part = os.read(fd, min(size - got, 1 << 20))
        if not part:
            raise EOFError("the OCR worker exited")
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _serve() -> None:
    """The worker's loop: length-prefixed PNGs in on stdin, length-prefixed JSON out."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = inp.read(8)
        if len(head) < 8:
            return
        png = inp.read(struct.unpack(">Q", head)[0])
        try:
            reply = {"page": _recognise(png).to_json()}
        except Exception as exc:  # reported to the parent as the page's reason
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(reply, ensure_ascii=False).encode("utf-8")
        out.write(struct.pack(">Q", len(data)) + data)
        out.flush()


class OcrCache:
    """OCR'd pages by (file hash, page number, engine), in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS pages (key TEXT PRIMARY KEY, page TEXT)")
        self._db.commit()

    @staticmethod
    def key(file_hash: str, number: int) -> str:
        return f"{ENGINE_ID}\x00{file_hash}\x00{number}"

    def get(self, key: str) -> OcrPage | None:
        row = self._db.execute("SELECT page FROM pages WHERE key = ?", (key,)).fetchone()
        return OcrPage.from_json(row[0]) if row else None

    def put(self, key: str, page: OcrPage) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO pages (key, page) VALUES (?, ?)",
                             (key, page.to_json()))

    def close(self) -> None:
        self._db.close()


class Ocr:
    """OCR for one ingest: the cache, the time and page bounds, progress, and counts.

    `progress(done, total)` is called after each page of a file. `ocr_pages` counts the pages
    the engine read in this run, `cached_pages` those the cache answered.
    """

    def __init__(self, cache_path: Path | None = None, page_timeout_s: float = PAGE_TIMEOUT_S,
                 max_pages: int = MAX_PAGES,
                 progress: Callable[[int, int], None] | None = None) -> None:
        if page_timeout_s < 0 or max_pages < 1:
            raise ValueError(f"page_timeout_s must be >= 0 and max_pages >= 1, got "
                             f"{page_timeout_s!r}, {max_pages!r}")
        self.cache_path = cache_path
        self.page_timeout_s = page_timeout_s
        self.max_pages = max_pages
        self.progress = progress
        self.ocr_pages = 0
        self.cached_pages = 0
        self.seconds = 0.0
        self._cache: OcrCache | None = None
        self._worker = _Worker()

    def pages(self, data: bytes, numbers: list[int], render: Callable[[int], bytes],
              what: str = "scan") -> list[OcrPage]:
        """OCR the pages `numbers` (0-based) of a file whose bytes are `data` (hashed for the
        cache key); `render(i)` gives page i's image as PNG bytes."""
        count = len(numbers)
        if count > self.max_pages:
            raise LoadError(f"{what} has {count} pages to OCR, more than the {self.max_pages} "
                            "read from one file; split it into smaller files")
        file_hash = hashlib.sha256(data).hexdigest()
        cache = self._open_cache()
        if self.progress:
            self.progress(0, count)  # the bar shows before the first page's long wait
        out = []
        for done, i in enumerate(numbers):
            key = OcrCache.key(file_hash, i)
            page = cache.get(key) if cache is not None else None
            if page is None:
                t0 = time.perf_counter()
                page = self._worker.run(render(i), self.page_timeout_s)
                self.seconds += time.perf_counter() - t0
                self.ocr_pages += 1
                if cache is not None:
                    cache.put(key, page)
            else:
                self.cached_pages += 1
            out.append(page)
            if self.progress:
                self.progress(done + 1, count)
        return out

    def _open_cache(self) -> OcrCache | None:
        if self._cache is None and self.cache_path is not None:
            self._cache = OcrCache(self.cache_path)
        return self._cache

    def close(self) -> None:
        self._worker.close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __enter__(self) -> Ocr:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- pages to text --------------------------------------------------------------------------

_SENTENCE_END = tuple("。！？；：!?;:")


def page_text(page: OcrPage) -> tuple[str, list[tuple[int, int, OcrLine]]]:
    """The page's text, wrapped lines joined into paragraphs, and each line's (start, end) in it.

    A line continues on the next when it reaches the right edge of the text block (within two
    characters' width) and does not end a sentence; anything else ends a paragraph (newline).
    """
    if not page.lines:
        return "", []
    right = max(line.box[2] for line in page.lines)
    parts: list[str] = []
    spans: list[tuple[int, int, OcrLine]] = []
    length = 0
    previous: OcrLine | None = None
    for line in page.lines:
        if previous is not None:
            height = max(1, previous.box[3] - previous.box[1])
            wraps = (previous.box[2] >= right - 2 * height
                     and not previous.text.endswith(_SENTENCE_END))
            sep = "\n"
            if wraps:
                # Latin words are separated by a space; Chinese and digits run on.
                sep = " " if previous.text[-1:].isascii() and previous.text[-1:].isalpha() \
                    and line.text[:1].isascii() and line.text[:1].isalpha() else ""
            parts.append(sep)
            length += len(sep)
        spans.append((length, length + len(line.text), line))
        parts.append(line.text)
        length += len(line.text)
        previous = line
    return "".join(parts), spans


# --- sources of page images -----------------------------------------------------------------

def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def image_pages(data: bytes):
    """(page count, render) for an image file; a multi-page TIFF has one page per frame."""
    require()
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        if image.width * image.height > MAX_PIXELS:
            raise LoadError(f"image of {image.width}x{image.height} pixels is over the limit of "
                            f"{MAX_PIXELS:,} for OCR; scan it at 300 dpi or less")
        image.verify()  # reads the whole file: a truncated or corrupt one fails here
        image = Image.open(io.BytesIO(data))
        frames = getattr(image, "n_frames", 1)
        image.seek(0)
        image.load()
    except LoadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise LoadError(f"not a readable image ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # PIL raises OSError, SyntaxError, struct.error... on bad files
        raise LoadError(f"corrupt image ({type(exc).__name__}: {exc})") from None

    def render(i: int) -> bytes:
        try:
            image.seek(i)
            return _png(image.convert("RGB"))
        except Exception as exc:
            raise LoadError(f"corrupt image frame {i + 1} ({type(exc).__name__}: {exc})") from None

    return frames, render


def pdf_renderer(data: bytes) -> Callable[[int], bytes]:
    """render(i): page i of a PDF as a PNG at RENDER_DPI (for pages without a text layer)."""
    require()
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception as exc:
        raise LoadError(f"cannot render the PDF's pages for OCR ({type(exc).__name__}: {exc})") \
            from None

    def render(i: int) -> bytes:
        try:
            page = pdf[i]
            width, height = page.get_size()  # points
            # A poster-sized page is rendered smaller, so its bitmap stays within MAX_PIXELS.
            scale = min(RENDER_DPI / 72, (MAX_PIXELS / max(1.0, width * height)) ** 0.5)
            bitmap = page.render(scale=scale, grayscale=True)
            return _png(bitmap.to_pil())
        except Exception as exc:
            raise LoadError(f"cannot render PDF page {i + 1} for OCR "
                            f"({type(exc).__name__}: {exc})") from None

    return render


def ocr_image(data: bytes, timeout_s: float = PAGE_TIMEOUT_S) -> OcrPage:
    """OCR a one-page image (any format PIL reads); for benchmarks and one-off use."""
    with Ocr(page_timeout_s=timeout_s) as ocr:
        _, render = image_pages(data)
        return ocr.pages(data, [0], render)[0]


def extract_image(data: bytes, ocr: Ocr | None = None) -> Extracted:
    """The text of an image file (.png, .jpg, .tif; each frame of a TIFF a page), by OCR."""
    from index.extract.pdf import PAGE_SEP

    count, render = image_pages(data)
    own = ocr is None
    engine = ocr if ocr is not None else Ocr()
    try:
        pages = engine.pages(data, list(range(count)), render, what=f"image ({count} frames)")
    finally:
        if own:
            engine.close()
    out = TextBuilder()
    starts: list[int] = []
    lines: list[list[int]] = []
    for number, page in enumerate(pages):
        text, spans = page_text(page)
        start = out.block(text, sep=PAGE_SEP)
        starts.append(start)
        lines.extend([number + 1, start + lo, start + hi, *line.box] for lo, hi, line in spans)
    result = out.build(page_starts=starts)
    if not result.text.strip():
        raise LoadError("no text found in the image by OCR")
    return Extracted(result.text, result.headings, result.page_starts, ocr_lines=lines)


if __name__ == "__main__":
    _serve()
