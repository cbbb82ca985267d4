"""What the format tests share: a file loaded as `rag ingest` loads it, and its chunks checked
to be exact slices of the document's text (the offsets every citation relies on)."""
from __future__ import annotations

from pathlib import Path

from index.chunking import ChunkerParams, chunk_document
from index.loaders import SourceFile, load_file


def load(path: Path):
    """The one document of `path`, named by its file name."""
    return load_file(SourceFile(path, path.name))


def chunk_slices(doc, params: ChunkerParams) -> list:
    """The document's chunks, after checking there are some and each is text[start:end]."""
    chunks = chunk_document(doc, params)
    assert chunks
    for chunk in chunks:
        assert chunk.text == doc.text[chunk.start:chunk.end]
    return chunks
