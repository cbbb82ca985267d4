"""Real servers for the API tests: `rag serve` in a subprocess, uvicorn on 127.0.0.1, free ports.

Two servers per session: `api` on the bundled-corpus index with an API key (read-only tests, the
openai client, the browser), and `writable` without a key on a copy of that index (uploads,
deletes, concurrency, schemathesis), so that writes never change what the read-only tests see.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

# The test modules import `api_helpers` from this folder; make that work in every import mode.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from api_helpers import API_KEY, start_server, stop_server  # noqa: E402


@pytest.fixture(scope="session")
def api(sample_index, tmp_path_factory):
    """The read-only server, with RAG_API_KEY set."""
    server = start_server(sample_index, tmp_path_factory.mktemp("api") / "serve.log",
                          {"RAG_API_KEY": API_KEY})
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def writable(sample_index, tmp_path_factory):
    """A server without a key on its own copy of the sample index."""
    root = tmp_path_factory.mktemp("writable")
    index = root / "index"
    shutil.copytree(sample_index, index)
    server = start_server(index, root / "serve.log")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def writable_http(writable):
    """An HTTP client of the writable server."""
    with writable.client() as client:
        yield client
