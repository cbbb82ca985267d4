"""Concurrency (issue 7.3): two writers of one index never interleave, and a running `rag serve`
picks up generations that a separate `rag ingest` process writes, answering every query from one
whole generation meanwhile."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rel_helpers import (FACT_QUESTION, assert_one_line_error, copy_fact_index, fact_text,
                         live_version, wait_until)

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
from api_helpers import start_server, stop_server  # noqa: E402

NOTE = "重庆市科学技术局关于{name}的通知\n\n一、总体情况\n2024年,{name}专项共支持{n}家单位。\n"


def test_two_writers_at_once_both_land_one_after_the_other(cli, fact_index, tmp_path, embedder):
    copy = copy_fact_index(fact_index, tmp_path)
    folders = []
    for name, n in (("人工智能", 17), ("生物医药", 29)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text(NOTE.format(name=name, n=n), encoding="utf-8")
        folders.append(folder)
    running = [cli.start("ingest", str(f), "--index", str(copy.index_dir), "--json")
               for f in folders]
    results = [cli.finish(p) for p in running]
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    # Each writer read the index the other had finished: the second one's report counts both.
    counts = sorted(r.json()["documents"] for r in results)
    assert counts == [4, 5], counts
    assert sorted(p.name for p in copy.index_dir.glob("gen-*")) == ["gen-000002", "gen-000003"]
    assert cli.run("index", "verify", "--index", str(copy.index_dir)).returncode == 0
    docs = cli.run("docs", "list", "--index", str(copy.index_dir), "--json").json()
    assert {d["doc_id"] for d in docs} == {"a.txt", "b.txt", "fact.txt", "人工智能.txt",
                                            "生物医药.txt"}


def _hold_lock(index_dir: Path, seconds: float) -> subprocess.Popen:
    script = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        from index.store import writer_lock
        with writer_lock(Path(sys.argv[1])):
            print("locked", flush=True)
            time.sleep(float(sys.argv[2]))
    """)
    holder = subprocess.Popen([sys.executable, "-c", script, str(index_dir), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_writer_that_cannot_get_the_lock_in_time_fails_clearly_and_changes_nothing(
        cli, fact_index, tmp_path):
    copy = copy_fact_index(fact_index, tmp_path)
    (copy.src / "fact.txt").write_text(fact_text(555), encoding="utf-8")
    holder = _hold_lock(copy.index_dir, 30)
    try:
        t0 = time.monotonic()
        result = cli.run("ingest", str(copy.src), "--index", str(copy.index_dir),
                         env={"RAG_LOCK_WAIT_S": "0.5"})
        assert time.monotonic() - t0 < 20
        assert_one_line_error(result, 3, "is being written by another process")
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in copy.index_dir.glob("gen-*")) == ["gen-000001"]
    # The default wait outlasts a short writer.
    holder = _hold_lock(copy.index_dir, 1.0)
    t0 = time.monotonic()
    result = cli.run("ingest", str(copy.src), "--index", str(copy.index_dir))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - t0 >= 0.5
    holder.wait()


def test_a_service_in_process_waits_for_the_lock_as_long_as_its_settings_say(
        fact_index, tmp_path, embedder):
    # No CLI in between: the wait reaches index/ as an argument, not through a module global.
    from index.store import IndexLocked
    from rag.config import Settings
    from rag.service import RagService

    copy = copy_fact_index(fact_index, tmp_path)
    service = RagService(Settings(index=copy.index_dir, index_poll_ms=0, lock_wait_s=0.5),
                         embedder)
    holder = _hold_lock(copy.index_dir, 30)
    try:
        t0 = time.monotonic()
        with pytest.raises(IndexLocked, match="is being written by another process"):
            service.add_document("new.txt", fact_text(777).encode())
        assert time.monotonic() - t0 < 10  # the default wait is 30 s
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in copy.index_dir.glob("gen-*")) == ["gen-000001"]


def test_a_running_server_switches_to_what_rag_ingest_writes_and_queries_stay_consistent(
        cli, fact_index, tmp_path, embedder):
    copy = copy_fact_index(fact_index, tmp_path)
    server = start_server(copy.index_dir, tmp_path / "serve.log",
                          {"RAG_INDEX_POLL_MS": "200", "OMP_WAIT_POLICY": "PASSIVE"})
    seen: list[list[int]] = [[], []]
    problems: list[str] = []
    stop = threading.Event()

    def reader(log: list[int]) -> None:
        with server.client() as client:
            while not stop.is_set():
                r = client.post("/v1/ask", json={"question": FACT_QUESTION})
                if r.status_code != 200:
                    problems.append(f"{r.status_code} {r.text[:200]}")
                    continue
                body = r.json()
                numbers = {int(n) for text in [body["answer"]] + [
                    p["text"] for p in body["passages"] if p["doc_id"] == "fact.txt"]
                    for n in re.findall(r"攻关项目(\d+)项", text)}
                if len(numbers) != 1:
                    problems.append(f"mixed generations in one response: {numbers}")
                    continue
                log.append(numbers.pop())

    threads = [threading.Thread(target=reader, args=(log,)) for log in seen]
    for t in threads:
        t.start()
    try:
        for version in (101, 102, 103):
            (copy.src / "fact.txt").write_text(fact_text(version), encoding="utf-8")
            result = cli.run("ingest", str(copy.src), "--index", str(copy.index_dir))
            assert result.returncode == 0, result.stderr
            assert wait_until(lambda: any(log and log[-1] == version for log in seen), 15), \
                (version, [log[-3:] for log in seen], server.log_tail())
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        stop_server(server)
    assert not problems, problems[:5]
    for log in seen:
        assert log == sorted(log), "a reader went back to an older generation"
        assert log[0] == 100 and log[-1] == 103
    assert live_version(copy.index_dir, embedder)[1] == 103
