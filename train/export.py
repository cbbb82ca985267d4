"""Writes the trained reader for shipping: int8 weights, their sha256, the calibrated threshold,
the validation figures and a model card.

Run by `train/reader.py` at the end of training, or on its own from the last checkpoint:

    python -m train.export --work train/out/stage3 --out rag/models --layers 12
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

STRIDE = 64  # tokens shared by consecutive windows of a long passage


def quantised(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Matrices of the encoder as int8 per output row with float32 scales; the rest float32."""
    out = {}
    for name, w in state.items():
        if w.ndim == 2 and not name.startswith("qa."):
            scale = np.maximum(np.abs(w).max(axis=1), 1e-12) / 127.0
            out[name] = np.clip(np.round(w / scale[:, None]), -127, 127).astype(np.int8)
            out[f"{name}.scale"] = scale.astype(np.float32)
        else:
            out[name] = np.ascontiguousarray(w, np.float32)
    return out


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_weights(state: dict[str, np.ndarray], out: Path, meta: dict) -> Path:
    """reader.safetensors and a first reader.json (sha256, shapes, threshold 0)."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    weights = out / "reader.safetensors"
    tmp = weights.with_suffix(".tmp")
    save_file(quantised(state), str(tmp))
    tmp.replace(weights)
    card = {**meta, "sha256": _sha256(weights), "bytes": weights.stat().st_size, "threshold": 0.0}
    (out / "reader.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return weights


def export(model, args, losses: list[float], step: int, total: int, n_train: int) -> None:
    """Weights, calibration on the validation split, figures and the model card."""
    from train.reader import SEED, trained_state

    meta = {
        "format": "cq-rag-reader-1", "max_len": args.max_len, "stride": STRIDE,
        "layers_trained": args.layers, "seed": SEED, "steps": step, "steps_planned": total,
        "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
        "head_lr_mult": args.head_lr_mult, "bf16": args.bf16, "train_examples": n_train,
        "final_loss": round(float(np.mean(losses[-50:])), 4) if losses else None,
        "data_sha256": {p.name: _sha256(p) for p in sorted(args.data.glob("*.jsonl"))},
        "written": time.strftime("%Y-%m-%d"),
    }
    write_weights(trained_state(model), args.out, meta)
    calibrate_and_report(args.out, args.data / "val.jsonl", args.models_dir, args.val_limit)


def calibrate_and_report(out: Path, val: Path, models_dir: Path, limit: int = 0) -> dict:
    """Read the validation split with the shipped weights, set the threshold, record figures."""
    from eval import mrc
    from rag.reader import TrainedReader

    card_path = out / "reader.json"
    card = json.loads(card_path.read_text())
    reader = TrainedReader(models_dir, weights=out / "reader.safetensors", card=card_path)
    examples = mrc.load(val, limit)
    readings = mrc.read_all(reader, examples, progress=lambda m: print(m, file=sys.stderr))
    threshold = mrc.calibrate([r["margin"] for r in readings], [ex["start"] >= 0 for ex in examples])
    report = mrc.score(examples, readings, threshold)
    report["refusal_by_kind"] = mrc.by_kind(examples, readings, threshold)
    card.update(threshold=threshold, validation=report)
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    if val.resolve() != mrc.VAL.resolve():
        mrc.VAL.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(val, mrc.VAL)  # what `rag eval` reports on
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return report


def main(argv: list[str] | None = None) -> None:
    from train.reader import SpanModel, parse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calibrate-only", action="store_true",
                    help="keep the weights, only read the validation split again")
    own, rest = ap.parse_known_args(argv)
    args = parse(rest)
    if own.calibrate_only:
        calibrate_and_report(args.out, args.data / "val.jsonl", args.models_dir, args.val_limit)
        return
    import torch

    from index.e5_convert import convert

    state = torch.load(args.work / "checkpoint.pt", weights_only=False)
    model = SpanModel(convert(args.models_dir), args.layers)
    model.load_state_dict(state["model"], strict=False)
    steps_per_epoch = -(-len(open(args.data / "train.jsonl").readlines()) // args.batch_size)
    export(model, args, state["losses"], state["step"], steps_per_epoch * args.epochs,
           steps_per_epoch * args.batch_size)


if __name__ == "__main__":
    main()
