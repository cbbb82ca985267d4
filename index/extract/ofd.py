"""OFD (GB/T 33190) to text in reading order, with page boundaries (stdlib zipfile + defusedxml).

An OFD is a zip of XML: `OFD.xml` names each document's `Document.xml` (DocBody/DocRoot), which
lists its pages (Pages/Page/@BaseLoc, relative to the document's folder or, with a leading `/`,
to the package) and the template pages they draw on. A page's `Content.xml` holds TextObjects:
a Boundary (x y w h, millimetres, y down) and TextCodes placed at X/Y (the baseline) inside it.
Text is ordered by position, top to bottom and left to right; pieces on one baseline make one
line, a gap wider than a character between them becomes a space, and text drawn twice a hair
apart (a fake bold) is read once. Pages are joined by a blank line and `page_starts` records
where each begins, as for PDF. Images (a scanned OFD), seals and annotations are not read.
The maintained OFD library on PyPI, easyofd, renders pages and pulls in PyMuPDF (AGPL),
reportlab, fontTools and loguru for it; text extraction needs only the XML.
"""
from __future__ import annotations

import itertools
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from index.extract import Extracted, LoadError, TextBuilder
from index.extract.archive import open_zip, read_part

PAGE_SEP = "\n\n"  # as for PDF
DEFAULT_SIZE = 3.5  # mm, about 10 pt, where a TextObject gives no Size
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True, slots=True)
class _Piece:
    """One TextCode's text at its page position (baseline), with its font size and width."""

    x: float
    y: float
    size: float
    width: float
    text: str


def _local(tag: object) -> str:
    """An element's name without its namespace (producers use `ofd:` or none at all)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: Element, name: str) -> Element | None:
    return next((c for c in element.iter() if _local(c.tag) == name), None)


def _parse(archive: zipfile.ZipFile, name: str) -> Element:
    try:
        import defusedxml
        import defusedxml.ElementTree as safe_et
    except ImportError:
        raise LoadError("reading .ofd needs defusedxml: pip install defusedxml") from None
    data = read_part(archive, name, "OFD")
    try:
        return safe_et.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise LoadError(f"OFD part {name} declares a DTD or entities, which are refused") from None
    except safe_et.ParseError as exc:
        raise LoadError(f"malformed XML in OFD part {name} ({exc})") from None


def _resolve(archive: zipfile.ZipFile, base_dir: str, loc: str | None, what: str) -> str:
    """The package path of `loc`, read relative to `base_dir` (a leading `/`: to the package)."""
    loc = (loc or "").strip().replace("\\", "/")
    if not loc:
        raise LoadError(f"OFD names no location for its {what}")
    candidates = [posixpath.normpath(loc.lstrip("/"))] if loc.startswith("/") else [
        posixpath.normpath(posixpath.join(base_dir, loc)), posixpath.normpath(loc)]
    names = set(archive.namelist())
    for path in candidates:
        if path in names:
            return path
    raise LoadError(f"OFD is missing its {what} {candidates[0]}")


def _numbers(value: str | None) -> list[float]:
    return [float(n) for n in _NUMBER.findall(value or "")]


def _deltas(value: str | None) -> list[float]:
    """DeltaX: numbers, where `g N D` stands for N times D."""
    tokens = (value or "").split()
    out: list[float] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == "g" and i + 2 < len(tokens):
            try:
                out += [float(tokens[i + 2])] * min(int(tokens[i + 1]), 10_000)
            except ValueError:
                pass
            i += 3
            continue
        try:
            out.append(float(tokens[i]))
        except ValueError:
            pass
        i += 1
    return out


def _advance(char: str, size: float) -> float:
    return size if unicodedata.east_asian_width(char) in "WF" else size / 2


def _pieces(root: Element) -> list[_Piece]:
    """Every visible TextCode on a page or template, in page coordinates."""
    pieces: list[_Piece] = []
    for obj in root.iter():
        if _local(obj.tag) != "TextObject" or obj.get("Visible", "true").lower() == "false":
            continue
        box = _numbers(obj.get("Boundary"))
        bx, by = (box[0], box[1]) if len(box) >= 2 else (0.0, 0.0)
        ctm = _numbers(obj.get("CTM"))
        a, b, c, d, e, f = ctm if len(ctm) == 6 else (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        scale = abs(d) or 1.0
        size = (_numbers(obj.get("Size")) or [DEFAULT_SIZE])[0] * scale
        x = y = 0.0
        for code in obj:
            if _local(code.tag) != "TextCode":
                continue
            # X and Y may be left out: they carry over from the previous TextCode.
            x = (_numbers(code.get("X")) or [x])[0]
            y = (_numbers(code.get("Y")) or [y])[0]
            text = code.text or ""
            if not text.strip():
                continue
            deltas = [dx * (abs(a) or 1.0) for dx in _deltas(code.get("DeltaX"))]
            # Each glyph advances by its DeltaX where given, else by its own width.
            width = sum(deltas[i] if i < len(deltas) else _advance(text[i], size)
                        for i in range(len(text) - 1)) + _advance(text[-1], size)
            pieces.append(_Piece(bx + a * x + c * y + e, by + b * x + d * y + f, size, width, text))
    return pieces


def _lines(pieces: list[_Piece]) -> list[str]:
    """Pieces grouped by baseline, top to bottom, each line's pieces left to right."""
    rows: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: (p.y, p.x)):
        if rows and abs(piece.y - rows[-1][0].y) <= 0.4 * min(piece.size, rows[-1][0].size):
            rows[-1].append(piece)
        else:
            rows.append([piece])
    lines = []
    for row in rows:
        row.sort(key=lambda p: p.x)
        parts = [row[0].text]
        for prev, piece in itertools.pairwise(row):
            if piece.text == prev.text and abs(piece.x - prev.x) < piece.size / 4:
                continue  # the same text drawn twice, a hair apart: a producer's fake bold
            if piece.x - (prev.x + prev.width) > max(prev.size, piece.size):
                parts.append(" ")  # two fields on one line, such as 联系人 and 联系电话
            parts.append(piece.text)
        lines.append("".join(parts).strip())
    return [line for line in lines if line]


def _document_pages(archive: zipfile.ZipFile, doc_path: str) -> list[list[_Piece]]:
    root = _parse(archive, doc_path)
    base = posixpath.dirname(doc_path)
    templates: dict[str, str] = {}
    for tpl in root.iter():
        if _local(tpl.tag) == "TemplatePage" and tpl.get("ID"):
            templates[tpl.get("ID", "")] = tpl.get("BaseLoc", "")
    pages_el = _child(root, "Pages")
    pages = [p for p in (pages_el if pages_el is not None else []) if _local(p.tag) == "Page"]
    if not pages:
        raise LoadError(f"OFD document {doc_path} lists no pages")
    parsed: dict[str, list[_Piece]] = {}
    out: list[list[_Piece]] = []
    for number, page in enumerate(pages, start=1):
        path = _resolve(archive, base, page.get("BaseLoc"), f"page {number}")
        content = _parse(archive, path)
        pieces = _pieces(content)
        for ref in content.iter():
            tpl_id = ref.get("TemplateID") if _local(ref.tag) == "Template" else None
            if tpl_id and tpl_id in templates:
                if tpl_id not in parsed:
                    tpl_path = _resolve(archive, base, templates[tpl_id], f"template {tpl_id}")
                    parsed[tpl_id] = _pieces(_parse(archive, tpl_path))
                pieces = pieces + parsed[tpl_id]
        out.append(pieces)
    return out


def extract_ofd(data: bytes) -> Extracted:
    """The text of every page of every document in the package, with where each page starts."""
    archive = open_zip(data, "OFD")
    if "OFD.xml" not in archive.namelist():
        raise LoadError("not an OFD file (no OFD.xml in the zip archive)")
    roots = [el.text for el in _parse(archive, "OFD.xml").iter()
             if _local(el.tag) == "DocRoot" and el.text and el.text.strip()]
    if not roots:
        raise LoadError("OFD.xml names no document (DocBody/DocRoot)")
    out = TextBuilder()
    starts: list[int] = []
    for loc in roots:
        doc_path = _resolve(archive, "", loc, "document")
        for pieces in _document_pages(archive, doc_path):
            starts.append(out.block("\n".join(_lines(pieces)), sep=PAGE_SEP))
    result = out.build(page_starts=starts)
    if not result.text.strip():
        raise LoadError("OFD has no text (its pages hold only images; OCR is not supported)")
    return result
