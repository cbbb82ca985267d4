"""Helpers for the reliability tests: a small corpus with a fact that changes per version, and
`rag` CLI processes forked from a warmed forkserver.

Why forked: an exec'd `rag ingest` spends ~2-3 s of its ~5 s on imports and jieba's dictionary
on this two-core machine, so 20 crash trials would take minutes. A forkserver that has imported
the project and initialised jieba once forks each `rag` process in milliseconds. Each child is a
separate, real process running `rag.cli.app` (the console script's own entry) with its own
environment, so RAG_TEST_CRASH_POINT and SIGKILL act on it exactly as on an exec'd one.
`make soak` runs the same trials with exec'd `rag` processes (bench/crash_soak.py).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "index"))
from idx_helpers import slice_a, slice_b  # noqa: E402

FACT_QUESTION = "2024年全市新建揭榜挂帅攻关项目多少项？"


def fact_text(version: int) -> str:
    """The fact document at `version`: the answer to FACT_QUESTION is `{version}项`."""
    return ("重庆市科学技术局关于揭榜挂帅项目的通知\n\n一、总体情况\n"
            f"2024年,全市新建揭榜挂帅攻关项目{version}项,带动社会投入9.5亿元。\n")


def write_corpus(src: Path, version: int) -> None:
    src.mkdir(parents=True, exist_ok=True)
    (src / "a.txt").write_text(slice_a(), encoding="utf-8")
    (src / "b.txt").write_text(slice_b(), encoding="utf-8")
    (src / "fact.txt").write_text(fact_text(version), encoding="utf-8")


@dataclass(frozen=True)
class FactIndex:
    src: Path
    index_dir: Path
    version: int


def build_fact_index(root: Path, embedder, version: int = 100) -> FactIndex:
    from index.build import ingest
    from index.chunking import ChunkerParams

    write_corpus(root / "src", version)
    ingest([root / "src"], root / "index", embedder, ChunkerParams())  # the CLI's defaults
    return FactIndex(root / "src", root / "index", version)


def copy_fact_index(fact: FactIndex, root: Path) -> FactIndex:
    shutil.copytree(fact.src, root / "src")
    shutil.copytree(fact.index_dir, root / "index")
    return FactIndex(root / "src", root / "index", fact.version)


def live_version(index_dir: Path, embedder) -> tuple[str, int]:
    """(generation, fact version) of the live index, after checking it the way a user would:
    every checksum, an answer to FACT_QUESTION, and every citation against its document."""
    import re

    from rag.config import Settings
    from rag.service import RagService

    service = RagService(Settings(index=index_dir, index_poll_ms=0), embedder)
    answer = service.ask(FACT_QUESTION)
    assert answer.answerable, answer.text
    docs = service.index.documents
    for c in answer.citations:
        assert docs[c.doc_id].text[c.start:c.end] == c.quote
    found = re.search(r"攻关项目(\d+)项", answer.text)
    assert found, answer.text
    in_doc = re.search(r"攻关项目(\d+)项", docs["fact.txt"].text).group(1)
    assert found.group(1) == in_doc, "the answer and the document come from one generation"
    return service.index.path.name, int(found.group(1))


# --- rag processes forked from a warmed server ---------------------------------------------------

FORKSERVER = Path(__file__).with_name("rel_forkserver.py")


@dataclass
class Result:
    returncode: int  # -9 when killed
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@dataclass
class Running:
    pid: int
    out: Path
    err: Path

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class CliPool:
    """Starts `rag` processes by asking rel_forkserver.py (imports done, jieba loaded) to fork."""

    def __init__(self) -> None:
        self._server = subprocess.Popen([sys.executable, str(FORKSERVER)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self._ask({"ping": True}) == {"ready": True}
        self._dir = Path(tempfile.mkdtemp(prefix="rag-cli-"))
        self._n = 0

    def _ask(self, request: dict) -> dict:
        self._server.stdin.write(json.dumps(request) + "\n")
        self._server.stdin.flush()
        return json.loads(self._server.stdout.readline())

    def start(self, *argv: str, env: dict | None = None) -> Running:
        self._n += 1
        out, err = self._dir / f"{self._n}.out", self._dir / f"{self._n}.err"
        out.touch()  # here, not in the child: a kill may come before the child opens them
        err.touch()
        reply = self._ask({"argv": list(argv), "env": env or {}, "out": str(out),
                           "err": str(err)})
        return Running(reply["pid"], out, err)

    def finish(self, proc: Running, timeout: float = 120) -> Result:
        timer = threading.Timer(timeout, proc.kill)  # a hung command fails instead of hanging
        timer.start()
        try:
            status = self._ask({"wait": proc.pid})["status"]
        finally:
            timer.cancel()
        return Result(status, proc.out.read_text(encoding="utf-8", errors="replace"),
                      proc.err.read_text(encoding="utf-8", errors="replace"))

    def run(self, *argv: str, env: dict | None = None, timeout: float = 120) -> Result:
        return self.finish(self.start(*argv, env=env), timeout)

    def close(self) -> None:
        self._server.stdin.close()
        self._server.wait(timeout=30)
        shutil.rmtree(self._dir, ignore_errors=True)


class ExecCli(CliPool):
    """The same interface, with every `rag` exec'd from the console script (`make soak`)."""

    RAG = str(Path(sys.executable).with_name("rag"))

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="rag-cli-"))
        self._n = 0

    def start(self, *argv: str, env: dict | None = None) -> Running:
        self._n += 1
        out, err = self._dir / f"{self._n}.out", self._dir / f"{self._n}.err"
        with out.open("w") as o, err.open("w") as e:
            proc = subprocess.Popen([self.RAG, *argv], stdout=o, stderr=e,
                                    env={**os.environ, **(env or {})})
        running = Running(proc.pid, out, err)
        running.popen = proc
        return running

    def finish(self, proc: Running, timeout: float = 120) -> Result:
        try:
            code = proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        return Result(code, proc.out.read_text(encoding="utf-8", errors="replace"),
                      proc.err.read_text(encoding="utf-8", errors="replace"))

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def assert_one_line_error(result: Result, code: int, words: str) -> str:
    """Exit `code`, one stderr line `rag: ...` containing `words`, no traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("rag: ") and words in lines[0], lines
    return lines[0]


def wait_until(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
