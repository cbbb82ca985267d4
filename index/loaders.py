"""Files on disk to `Document`s: discovery, format dispatch, metadata, and per-file errors."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from index.clean import extract_metadata
from index.extract import Extracted, LoadError
from index.extract.text import decode, extract_markdown, extract_text
from index.types import Document

__all__ = ["LoadError", "decode", "discover", "load_file", "load_paths", "scan",
           "SUPPORTED_SUFFIXES"]


def _html(data: bytes) -> Extracted:
    from index.extract.html import extract_html  # selectolax, only when a page is loaded

    return extract_html(data)


def _pdf(data: bytes, ocr=None) -> Extracted:
    from index.extract.pdf import extract_pdf

    return extract_pdf(data, ocr)


def _image(data: bytes, ocr=None) -> Extracted:
    from index.extract.ocr import extract_image  # the extra `ocr`, only when a scan is loaded

    return extract_image(data, ocr)


def _docx(data: bytes) -> Extracted:
    from index.extract.docx import extract_docx

    return extract_docx(data)


def _doc(data: bytes) -> Extracted:
    from index.extract.office import extract_office  # runs LibreOffice, only for these formats

    return extract_office(data, ".doc")


def _wps(data: bytes) -> Extracted:
    from index.extract.office import extract_office

    return extract_office(data, ".wps")


def _rtf(data: bytes) -> Extracted:
    from index.extract.office import extract_office

    return extract_office(data, ".rtf")


def _ofd(data: bytes) -> Extracted:
    from index.extract.ofd import extract_ofd

    return extract_ofd(data)


def _xlsx(data: bytes) -> Extracted:
    from index.extract.sheet import extract_xlsx  # openpyxl, only when a workbook is loaded

    return extract_xlsx(data)


def _csv(data: bytes) -> Extracted:
    from index.extract.sheet import extract_csv

    return extract_csv(data)


# Suffix to (format recorded in meta["format"], extractor).
FORMATS: dict[str, tuple[str, Callable[[bytes], Extracted]]] = {
    ".txt": ("txt", extract_text), ".md": ("md", extract_markdown),
    ".html": ("html", _html), ".htm": ("html", _html),
    ".pdf": ("pdf", _pdf), ".docx": ("docx", _docx),
    ".png": ("image", _image), ".jpg": ("image", _image), ".jpeg": ("image", _image),
    ".tif": ("image", _image), ".tiff": ("image", _image),
    ".ofd": ("ofd", _ofd), ".xlsx": ("xlsx", _xlsx), ".csv": ("csv", _csv),
    ".doc": ("doc", _doc), ".wps": ("wps", _wps), ".rtf": ("rtf", _rtf),
}
SUPPORTED_SUFFIXES = tuple(FORMATS)
_OCR_ABLE = (_pdf, _image)  # extractors that take the ingest's `Ocr` (cache, bounds, progress)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to load and the doc_id it will have."""

    path: Path
    doc_id: str


@dataclass(frozen=True, slots=True)
class FileError:
    """One file that was skipped, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Scan:
    """What discovery found: files to load, paths that failed, and files inside the folders
    that were passed over for their type (named to the user, but not errors)."""

    sources: list[SourceFile]
    errors: list[FileError]
    ignored: list[Path]


def unsupported(suffix: str) -> str:
    """Why a file of this suffix is not loaded, naming the suffixes that are."""
    return (f"unsupported file type {suffix or '(none)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}")


def scan(paths: list[Path]) -> Scan:
    """Expand files and folders into source files.

    A file inside an ingested folder gets the doc_id of its path relative to that folder
    (posix separators); a file named directly gets its file name. Inside a folder, a file of
    an unsupported type is `ignored` and a hidden one is not looked at; named directly, an
    unsupported file is an error.
    """
    found: dict[str, SourceFile] = {}
    errors: list[FileError] = []
    ignored: list[Path] = []
    for root in paths:
        if not root.exists():
            errors.append(FileError(str(root), "no such file or directory"))
        elif root.is_dir():
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                rel = path.relative_to(root)
                if any(part.startswith(".") for part in rel.parts):
                    continue  # hidden files and folders (.git, editor swap files)
                if path.suffix.lower() in SUPPORTED_SUFFIXES:
                    _add(found, errors, SourceFile(path, rel.as_posix()))
                else:
                    ignored.append(path)
        elif root.suffix.lower() in SUPPORTED_SUFFIXES:
            _add(found, errors, SourceFile(root, root.name))
        else:
            errors.append(FileError(str(root), unsupported(root.suffix)))
    return Scan(list(found.values()), errors, ignored)


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[FileError]]:
    """`scan` without the ignored files: (sources, errors)."""
    found = scan(paths)
    return found.sources, found.errors


def _add(found: dict[str, SourceFile], errors: list[FileError], source: SourceFile) -> None:
    """Record a file under its doc_id; a second, different file with the same id is an error."""
    first = found.get(source.doc_id)
    if first is not None and first.path.resolve() != source.path.resolve():
        errors.append(FileError(str(source.path), f"doc_id {source.doc_id!r} is already taken by "
                                f"{first.path}; ingest the common parent folder instead"))
        return
    found[source.doc_id] = source


def content_hash(text: str) -> str:
    """Stable hash of a document's text, used to detect changed files."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_from_bytes(data: bytes, doc_id: str, source: str, ocr=None) -> Document:
    """Extract a file's text by the format its doc_id's suffix names, and attach metadata.

    LoadError if the file is empty, of an unsupported type, or not text. `source` is recorded as
    `meta["source_path"]`: a path for files on disk, a label for uploads.
    """
    suffix = Path(doc_id).suffix.lower()
    if suffix not in FORMATS:
        raise LoadError(unsupported(suffix))
    if not data.strip():
        raise LoadError("file is empty")
    fmt, extract = FORMATS[suffix]
    extracted = extract(data, ocr) if extract in _OCR_ABLE else extract(data)
    text = extracted.text
    meta = extract_metadata(text)
    if "\t" in meta.get("title", ""):
        meta["title"] = Path(doc_id).stem  # a table's row (a CSV's header) is no title
    meta["format"] = fmt
    if extracted.headings:
        meta["heading_marks"] = [list(mark) for mark in extracted.headings]
    if extracted.page_starts:
        meta["page_starts"] = list(extracted.page_starts)
    if extracted.ocr_lines:
        meta["ocr_lines"] = extracted.ocr_lines
    if extracted.row_headers:
        meta["row_headers"] = [list(header) for header in extracted.row_headers]
    meta["source_path"] = source
    meta["content_hash"] = content_hash(text)
    return Document(id=doc_id, text=text, meta=meta)


def load_file(source: SourceFile, ocr=None) -> Document:
    """Read one file, extract its text by format, and attach metadata; `ocr` (an
    index.extract.ocr.Ocr) carries the OCR cache and bounds for scans."""
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from None
    return document_from_bytes(data, source.doc_id, str(source.path), ocr)


def load_paths(paths: list[Path]) -> tuple[list[Document], list[FileError]]:
    """Load every supported file under `paths`; failures are reported, not raised."""
    return load_sources(scan(paths))


def load_sources(found: Scan, ocr=None) -> tuple[list[Document], list[FileError]]:
    """Load the files a scan found; its errors come first, then each file that failed."""
    errors = list(found.errors)
    docs: list[Document] = []
    for source in found.sources:
        try:
            docs.append(load_file(source, ocr))
        except LoadError as exc:
            errors.append(FileError(str(source.path), str(exc)))
        except Exception as exc:  # a parser bug on one odd file must not stop the batch
            errors.append(FileError(str(source.path), f"cannot extract text "
                                    f"({type(exc).__name__}: {exc})"))
    return docs, errors
