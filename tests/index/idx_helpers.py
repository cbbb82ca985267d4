"""Paths and text slices of the bundled corpus, shared by the `index/` tests."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"
CQ_STI = CORPUS / "cq-sti"
DOC_000 = CQ_STI / "000_b83b481c8bc78ed7.txt"
DOC_001 = CQ_STI / "001_9e415571a82dd196.txt"
DOC_002 = CQ_STI / "002_38e28bd9a1a18c0a.txt"
DOC_003 = CQ_STI / "003_1d42ce4afed50ab6.txt"
DOC_004 = CQ_STI / "004_f07454981927e40f.txt"
CORPUS_FILES = [DOC_000, DOC_001, DOC_002, DOC_003, DOC_004]


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def slice_a() -> str:
    """Doc 004 up to its second paragraph under `(一)`: title, date line, two headings."""
    text = read(DOC_004)
    return text[:text.index("加快建设两江协同创新区")]


def slice_b() -> str:
    """Doc 003 with its nav line and header blocks, up to the start of its `(一)` section."""
    text = read(DOC_003)
    return text[:text.index("(一)实施科技服务能级提升行动")]
