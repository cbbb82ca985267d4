"""Ingest throughput: `rag ingest FOLDER --json` into a fresh index, as a user runs it.

Writes a JSON report (default bench/out/ingest_<folder>.json): documents, chunks, characters,
wall seconds, chunks per second (whole run and embedding alone), the stage timings the ingest
reports, the index size on disk, skipped files, and the machine's state. The progress bar is
shown on stderr as the command draws it.

    .venv/bin/python bench/ingest_corpus.py FOLDER [--index DIR] [--out FILE]

Without --index the index goes to a temporary folder that is removed afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from index.store import index_stats


def run_ingest(folder: Path, index: Path) -> tuple[dict, float, int]:
    """(the ingest's --json report, wall seconds, exit code); stderr (the bar) passes through."""
    rag = str(Path(sys.executable).with_name("rag"))
    t0 = time.perf_counter()
    proc = subprocess.run([rag, "ingest", str(folder), "--index", str(index), "--json"],
                          stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # 1: some files skipped, the rest ingested
        sys.exit(f"rag ingest failed with exit code {proc.returncode}")
    return json.loads(proc.stdout), wall, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--index", type=Path, help="index dir (default: a temporary one)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or Path(f"bench/out/ingest_{args.folder.resolve().name}.json")

    tmp = None if args.index else Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    index = args.index or tmp / "index"
    if index.exists() and any(index.iterdir()):
        sys.exit(f"{index} is not empty: the figures would be of an incremental ingest")
    load_before = os.getloadavg()[0]
    try:
        report, wall, code = run_ingest(args.folder, index)
        stats = index_stats(index)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    timings = report["timings_ms"]
    result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_avg_1m_before": load_before,
                    "load_avg_1m_after": os.getloadavg()[0]},
        "command": f"rag ingest {args.folder} --index {index} --json",
        "exit_code": code,
        "documents": report["documents"],
        "chunks": report["chunks"],
        "characters": stats["characters"],
        "embedded": report["embedded"],
        "wall_s": round(wall, 2),
        "chunks_per_s": round(report["chunks"] / wall, 2),
        "embed_chunks_per_s": round(report["embedded"] / (timings["embed"] / 1000), 2)
        if timings.get("embed") else None,
        "timings_s": {k: round(v / 1000, 2) for k, v in timings.items()},
        "index_bytes": stats["total_bytes"],
        "formats": stats["formats"],
        "embedder": stats["embedder"],
        "chunker": stats["chunker"],
        "errors": report["errors"],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
