"""Corruption (issue 7.2): any file of the index truncated, altered or deleted is named in a
one-line error (exit 3) by `rag ask` and `rag index verify`, and `rag serve` refuses to start;
never a traceback, never an answer from damaged data."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rel_helpers import FACT_QUESTION, assert_one_line_error, copy_fact_index

MODES = ["truncate", "flip", "delete"]


def _files(index_dir: Path) -> list[str]:
    gen = index_dir / (index_dir / "CURRENT").read_text(encoding="utf-8")
    return ["CURRENT"] + sorted(p.relative_to(index_dir).as_posix()
                                for p in gen.rglob("*") if p.is_file())


def damage(path: Path, mode: str, at: float = 0.5) -> None:
    data = path.read_bytes()
    if mode == "truncate":
        path.write_bytes(data[:int(len(data) * at)])
    elif mode == "flip":
        i = min(int(len(data) * at), len(data) - 1)
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:])
    else:
        path.unlink()


@pytest.fixture(scope="module")
def damaged_copies(fact_index, tmp_path_factory):
    """One copy of the index per (file, mode), each with that one file damaged."""
    names = _files(fact_index.index_dir)
    assert {"CURRENT", "gen-000001/manifest.json", "gen-000001/documents.jsonl",
            "gen-000001/chunks.jsonl", "gen-000001/dense.faiss"} <= set(names)
    assert any(n.startswith("gen-000001/bm25/") for n in names)
    copies = {}
    for name in names:
        for mode in MODES:
            root = tmp_path_factory.mktemp("damaged")
            copy = copy_fact_index(fact_index, root)
            damage(copy.index_dir / name, mode)
            copies[name, mode] = copy.index_dir
    return copies


def test_every_file_and_every_kind_of_damage_is_named_by_ask_and_verify(cli, damaged_copies):
    for (name, mode), index_dir in damaged_copies.items():
        file_name = Path(name).name
        asked = cli.run("ask", FACT_QUESTION, "--index", str(index_dir), "--json")
        line = assert_one_line_error(asked, 3, file_name)
        assert asked.stdout == "", (name, mode)
        verified = cli.run("index", "verify", "--index", str(index_dir))
        assert assert_one_line_error(verified, 3, file_name) == line, (name, mode)


def test_any_single_byte_change_to_the_pointer_or_the_manifest_is_refused(fact_index, tmp_path):
    """In process, so every byte can be tried: the manifest holds the other files' checksums,
    so it must not be alterable unnoticed itself."""
    from index.store import IndexError_, load_index

    copy = copy_fact_index(fact_index, tmp_path)
    for name in ("CURRENT", "gen-000001/manifest.json"):
        path = copy.index_dir / name
        original = path.read_bytes()
        step = max(1, len(original) // 300)  # every byte of CURRENT, ~300 of the manifest
        for i in range(0, len(original), step):
            path.write_bytes(original[:i] + bytes([original[i] ^ 0x01]) + original[i + 1:])
            with pytest.raises(IndexError_) as err:
                load_index(copy.index_dir)
            message = str(err.value)
            assert path.name in message or "index format" in message, (name, i, message)
        path.write_bytes(original)
    load_index(copy.index_dir)  # restored: loads again


def test_the_server_refuses_to_start_on_a_damaged_index(damaged_copies):
    index_dir = damaged_copies["gen-000001/dense.faiss", "flip"]
    rag = str(Path(sys.executable).with_name("rag"))
    sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
    from api_helpers import free_port

    result = subprocess.run([rag, "serve", "--index", str(index_dir), "--port", str(free_port())],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert result.returncode == 3 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "dense.faiss does not match its checksum" in lines[0], lines


def test_a_damaged_generation_written_while_serving_is_not_switched_to(fact_index, tmp_path,
                                                                       embedder):
    """The reload check of `rag serve`: a new generation that fails its checksums is refused and
    the service keeps answering from the one it has."""
    from index.store import load_index, save_index
    from rag.config import Settings
    from rag.service import RagService

    copy = copy_fact_index(fact_index, tmp_path)
    service = RagService(Settings(index=copy.index_dir, index_poll_ms=1), embedder)
    idx = load_index(copy.index_dir)
    gen = save_index(copy.index_dir, manifest=dict(idx.manifest),
                     documents=list(idx.documents.values()), chunks=idx.chunks,
                     embed_hashes=idx.embed_hashes, dense=idx.dense, bm25=idx.bm25)
    damage(gen / "documents.jsonl", "flip", at=0.7)
    for _ in range(20):
        assert service.ask(FACT_QUESTION).answerable
        assert service.index.path.name == "gen-000001"
    shutil.rmtree(gen)


def test_compact_refuses_when_the_live_generation_is_damaged(cli, damaged_copies):
    """The older generations may then be the only sound copy: compact deletes nothing."""
    index_dir = damaged_copies["gen-000001/chunks.jsonl", "flip"]
    (index_dir / "gen-000000").mkdir()  # stands for an older generation
    (index_dir / ".tmp-gen-x").mkdir()
    before = sorted(p.name for p in index_dir.iterdir())
    assert_one_line_error(cli.run("index", "compact", "--index", str(index_dir)), 3,
                          "chunks.jsonl does not match its checksum")
    assert sorted(p.name for p in index_dir.iterdir()) == before


def test_compact_keeps_the_live_generation_and_says_what_it_freed(cli, fact_index, tmp_path):
    copy = copy_fact_index(fact_index, tmp_path)
    shutil.copytree(copy.index_dir / "gen-000001", copy.index_dir / "gen-000000")
    (copy.index_dir / ".tmp-gen-abc").mkdir()
    result = cli.run("index", "compact", "--index", str(copy.index_dir))
    assert result.returncode == 0, result.stderr
    assert "kept gen-000001; removed .tmp-gen-abc, gen-000000;" in result.stdout
    assert sorted(p.name for p in copy.index_dir.iterdir()) == [".lock", "CURRENT", "gen-000001"]
    again = cli.run("index", "compact", "--index", str(copy.index_dir), "--json").json()
    assert again["removed"] == [] and again["bytes_freed"] == 0
