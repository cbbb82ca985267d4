"""Files on disk to `Document`s: discovery, decoding, and per-file errors."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from index.clean import extract_metadata
from index.types import Document

SUPPORTED_SUFFIXES = (".txt", ".md")


class LoadError(Exception):
    """A file that cannot become a document; the message says why."""


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


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[FileError]]:
    """Expand files and folders into source files.

    A file inside an ingested folder gets the doc_id of its path relative to that folder
    (posix separators); a file named directly gets its file name.
    """
    found: dict[str, SourceFile] = {}
    errors: list[FileError] = []
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
        elif root.suffix.lower() in SUPPORTED_SUFFIXES:
            _add(found, errors, SourceFile(root, root.name))
        else:
            errors.append(FileError(str(root), f"unsupported file type {root.suffix or '(none)'!r}; "
                                    f"supported: {', '.join(SUPPORTED_SUFFIXES)}"))
    return list(found.values()), errors


def _add(found: dict[str, SourceFile], errors: list[FileError], source: SourceFile) -> None:
    """Record a file under its doc_id; a second, different file with the same id is an error."""
    first = found.get(source.doc_id)
    if first is not None and first.path.resolve() != source.path.resolve():
        errors.append(FileError(str(source.path), f"doc_id {source.doc_id!r} is already taken by "
                                f"{first.path}; ingest the common parent folder instead"))
        return
    found[source.doc_id] = source


def decode(data: bytes) -> str:
    """Decode UTF-8 (BOM stripped) or GB18030/GBK; refuse binary and empty content."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise LoadError("file is empty")
    if b"\x00" in data[:8192]:
        raise LoadError("file looks binary (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK and GB2312, so one attempt covers all three.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise LoadError("not valid UTF-8 or GB18030 text") from None


def content_hash(text: str) -> str:
    """Stable hash of a document's text, used to detect changed files."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_from_bytes(data: bytes, doc_id: str, source: str) -> Document:
    """Decode a file's bytes into a Document with extracted metadata; LoadError if not text.

    `source` is recorded as `meta["source_path"]`: a path for files on disk, a label for uploads.
    """
    text = decode(data)
    meta = extract_metadata(text)
    meta["source_path"] = source
    meta["content_hash"] = content_hash(text)
    return Document(id=doc_id, text=text, meta=meta)


def load_file(source: SourceFile) -> Document:
    """Read and decode one file into a Document with extracted metadata."""
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from None
    return document_from_bytes(data, source.doc_id, str(source.path))


def load_paths(paths: list[Path]) -> tuple[list[Document], list[FileError]]:
    """Load every supported file under `paths`; failures are reported, not raised."""
    sources, errors = discover(paths)
    docs: list[Document] = []
    for source in sources:
        try:
            docs.append(load_file(source))
        except LoadError as exc:
            errors.append(FileError(str(source.path), str(exc)))
    return docs, errors
