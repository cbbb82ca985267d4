"""Crash safety (issue 7.1): `rag ingest` killed with SIGKILL at chosen and at random moments.

Each trial edits the fact document (version n → n+1) and runs an incremental `rag ingest` that
dies: at a named crash point (RAG_TEST_CRASH_POINT, index/faults.py) inside embedding, while the
generation's files are half written, after the generation is complete but before CURRENT moves,
right after CURRENT moves; or killed from outside after a random delay. After every kill
the index must pass `rag index verify`, `rag ask` must answer with version n (or n+1 if the kill
came after the commit) with citations that match the documents, and a re-run must complete and
answer n+1. Leftover temp folders must not disturb later writes; `rag index compact` removes them.
"""
from __future__ import annotations

import os
import random
import re
import time

from rel_helpers import (FACT_QUESTION, copy_fact_index, fact_text, live_version)

POINTS = ["mid_embed", "mid_save", "before_current", "after_current"]
REPEATS = int(os.environ.get("RAG_SOAK_CRASH_REPEATS", "1"))  # `make soak` runs 5 (100 trials)
SCHEDULED = POINTS * 3 * REPEATS  # 12 trials at the dangerous moments
RANDOM_TRIALS = 8 * REPEATS  # and 8 killed from outside after a random delay


def _ask_version(cli, index_dir) -> int:
    result = cli.run("ask", FACT_QUESTION, "--index", str(index_dir), "--json")
    assert result.returncode == 0, result.stderr
    record = result.json()
    found = re.search(r"攻关项目(\d+)项", record["answer"])
    assert record["answerable"] and found, record["answer"]
    return int(found.group(1))


def test_killed_ingest_always_leaves_a_sound_index_and_a_rerun_completes(
        cli, fact_index, embedder, tmp_path):
    fact = copy_fact_index(fact_index, tmp_path)
    index, src = str(fact.index_dir), str(fact.src)
    version = fact.version
    rng = random.Random(7)
    # How long an uncrashed incremental ingest takes here, to spread the random kills over it.
    (fact.src / "fact.txt").write_text(fact_text(version + 1), encoding="utf-8")
    t0 = time.monotonic()
    assert cli.run("ingest", src, "--index", index).returncode == 0
    span = time.monotonic() - t0
    version += 1

    outcomes = {"kept previous": 0, "new committed": 0, "finished before kill": 0}
    trials = [(p, None) for p in SCHEDULED] + [(None, rng.uniform(0.05, span))
                                                for _ in range(RANDOM_TRIALS)]
    for point, delay in trials:
        before_gen, before = live_version(fact.index_dir, embedder)
        assert before == version
        (fact.src / "fact.txt").write_text(fact_text(version + 1), encoding="utf-8")
        env = {"RAG_TEST_CRASH_POINT": point} if point else {}
        proc = cli.start("ingest", src, "--index", index, env=env)
        if delay is not None:
            time.sleep(delay)
            proc.kill()
        result = cli.finish(proc)
        label = point or f"kill after {delay:.2f}s"
        if result.returncode == 0:
            assert delay is not None, f"{label}: the crash point was never reached"
            outcomes["finished before kill"] += 1
        else:
            assert result.returncode == -9, (label, result.returncode, result.stderr[-500:])

        # The live index is whole: every checksum, a user's answer, citations that check.
        verify = cli.run("index", "verify", "--index", index)
        assert verify.returncode == 0, (label, verify.stderr)
        gen, now = live_version(fact.index_dir, embedder)
        assert _ask_version(cli, fact.index_dir) == now
        if gen == before_gen:
            assert now == version, label
            outcomes["kept previous"] += 1
        else:  # killed after CURRENT moved (or not killed): the new generation is complete
            assert now == version + 1 and point in (None, "after_current"), label
            if result.returncode != 0:
                outcomes["new committed"] += 1
        if point in ("mid_embed", "mid_save", "before_current"):
            assert gen == before_gen, f"{label}: CURRENT moved before the commit point"

        # A re-run completes, whatever the kill left behind, and serves the edit.
        rerun = cli.run("ingest", src, "--index", index)
        assert rerun.returncode == 0, (label, rerun.stderr[-800:])
        version += 1
        assert live_version(fact.index_dir, embedder)[1] == version

    assert outcomes["kept previous"] >= 9 * REPEATS, outcomes  # kills before the commit point
    print(f"\ncrash trials: {len(trials)} survived: {outcomes}")

    # What the kills left (orphan generations, temp folders) goes with `rag index compact`.
    compacted = cli.run("index", "compact", "--index", index, "--json")
    assert compacted.returncode == 0, compacted.stderr
    report = compacted.json()
    assert sorted(p.name for p in fact.index_dir.iterdir()) == [".lock", "CURRENT", report["live"]]
    assert report["bytes_freed"] > 0
    assert live_version(fact.index_dir, embedder)[1] == version


def test_a_first_build_killed_midway_leaves_no_index_and_a_clear_error(cli, tmp_path):
    from rel_helpers import assert_one_line_error, write_corpus

    write_corpus(tmp_path / "src", 1)
    index = str(tmp_path / "index")
    for point in ("mid_embed", "before_current"):
        killed = cli.run("ingest", str(tmp_path / "src"), "--index", index,
                         env={"RAG_TEST_CRASH_POINT": point})
        assert killed.returncode == -9, (point, killed.stderr)
        assert_one_line_error(cli.run("ask", FACT_QUESTION, "--index", index), 3, "no index at")
    done = cli.run("ingest", str(tmp_path / "src"), "--index", index, "--json")
    assert done.returncode == 0, done.stderr
    assert done.json()["documents"] == 3
    assert _ask_version(cli, index) == 1
