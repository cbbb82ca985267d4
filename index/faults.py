"""Deliberate crash points for the crash-safety tests; inert unless a test arms one.

`rag ingest` arms the point named by `RAG_TEST_CRASH_POINT` (read once, in rag/config.py). When
execution reaches that point the process sends itself SIGKILL: no exception handler, `finally`
or atexit runs, exactly as when the machine loses power or the OOM killer strikes. Nothing sets
it outside the tests (tests/reliability/test_crash.py); unarmed, `crash_point` is one comparison.
"""
from __future__ import annotations

import os
import signal

POINTS = ("mid_embed", "mid_save", "before_current", "after_current")
_armed = ""


def arm(point: str) -> None:
    """Kill this process when it reaches `point` (one of POINTS); "" disarms."""
    global _armed
    if point and point not in POINTS:
        raise ValueError(f"unknown crash point {point!r}; choose from {', '.join(POINTS)}")
    _armed = point


def crash_point(point: str) -> None:
    """SIGKILL this process if `point` is the armed one."""
    if _armed == point:
        os.kill(os.getpid(), signal.SIGKILL)
