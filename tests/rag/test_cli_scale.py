"""`rag` with RAG_VECTOR_STORE=milvus and `rag ingest --workers ray`, as a user runs them."""
from __future__ import annotations

import json
import sys

import pytest

from test_cli import SHORT_DOC, assert_clean_error, run


def _without(module: str, *args: str, env: dict) -> object:
    """`rag ARGS` in a Python where `module` cannot be imported (the extra not installed)."""
    import os
    import subprocess

    code = (f"import sys; sys.modules[{module!r}] = None; from rag.cli import main; "
            f"sys.argv = ['rag', *{list(args)!r}]; main()")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_milvus_without_pymilvus_is_one_line_naming_the_extra(tmp_path):
    result = _without("pymilvus", "ingest", str(tmp_path), "--index", str(tmp_path / "i"),
                      env={"RAG_VECTOR_STORE": "milvus", "RAG_MILVUS_URI": str(tmp_path / "m.db")})
    assert_clean_error(result, 2, "pip install '.[milvus]'")


def test_ray_without_ray_is_one_line_naming_the_extra(tmp_path):
    result = _without("ray", "ingest", str(tmp_path), "--index", str(tmp_path / "i"),
                      "--workers", "ray", env={})
    assert_clean_error(result, 2, "pip install '.[ray]'")


@pytest.mark.parametrize("env, args, words", [
    ({}, ["--workers", "spark"], "--workers must be 'local' or 'ray'"),
    ({"RAG_VECTOR_STORE": "milvus", "RAG_MILVUS_URI": "/tmp/no-suffix"}, [], "ending in .db"),
    ({"RAG_VECTOR_STORE": "milvus", "RAG_MILVUS_COLLECTION": "9bad-name"}, [], "must be a letter"),
])
def test_bad_scale_settings_exit_2(tmp_path, env, args, words):
    result = run("ingest", str(tmp_path), "--index", str(tmp_path / "i"), *args, env=env)
    assert_clean_error(result, 2, words)


def test_ingest_into_milvus_then_search(tmp_path, milvus_uri):
    src = tmp_path / "src"
    src.mkdir()
    (src / "doc.txt").write_text(SHORT_DOC, encoding="utf-8")
    index = str(tmp_path / "index")
    # Its own Lite folder: the session's is held by the test process.
    env = {"RAG_VECTOR_STORE": "milvus", "RAG_MILVUS_URI": str(tmp_path / "cli.db")}
    result = run("ingest", str(src), "--index", index, "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["embedded"] == report["chunks"] >= 1

    result = run("search", "高新技术企业多少家", "--index", index, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert "4222" in json.loads(result.stdout)["passages"][0]["text"]


def test_a_milvus_lite_folder_held_by_another_process_is_one_line(tmp_path, milvus_uri):
    from index.milvus_store import _client

    _client(milvus_uri)  # this test process holds the session's Lite folder
    (tmp_path / "doc.txt").write_text(SHORT_DOC, encoding="utf-8")
    result = run("ingest", str(tmp_path / "doc.txt"), "--index", str(tmp_path / "index"),
                 env={"RAG_VECTOR_STORE": "milvus", "RAG_MILVUS_URI": milvus_uri})
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("rag: ")]
    assert len(errors) == 1 and "one process at a time" in errors[0]  # after the embed bar
