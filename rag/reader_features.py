"""Token windows for the extractive reader, and spans decoded from its logits (numpy only).

Shared by the trained reader (`rag/reader.py`) and its training loop (`train/reader.py`), so
training and inference cut windows and decode spans the same way. An input is
`<s> question </s></s> context </s>`; position 0 (`<s>`) holds the no-answer score, as in
SQuAD 2.0 readers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 40


@dataclass(frozen=True, slots=True)
class Window:
    """One encoder input: a question with a slice of one passage."""

    passage: int  # which passage of the call
    ids: list[int]
    context_from: int  # position of the first context token in `ids`
    offsets: list[tuple[int, int]]  # character span in the passage of each context token


@dataclass(frozen=True, slots=True)
class Tokens:
    """A text's token ids with their character spans."""

    ids: list[int]
    offsets: list[tuple[int, int]]


def tokens(tokenizer, texts: list[str]) -> list[Tokens]:
    """Token ids and character offsets of each text (no special tokens)."""
    return [Tokens(list(e.ids), [tuple(o) for o in e.offsets])
            for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


def window_ids(bos: int, eos: int, question: Tokens, context: Tokens, lo: int, hi: int,
               passage: int = 0) -> Window:
    """The input for context tokens [lo, hi) after the question."""
    q = question.ids[:MAX_QUESTION_TOKENS]
    ids = [bos, *q, eos, eos, *context.ids[lo:hi], eos]
    return Window(passage, ids, len(q) + 3, context.offsets[lo:hi])


def windows(bos: int, eos: int, question: Tokens, contexts: list[Tokens], max_len: int,
            stride: int) -> list[Window]:
    """Every passage cut into windows of at most `max_len` tokens, overlapping by `stride`."""
    room = max_len - min(len(question.ids), MAX_QUESTION_TOKENS) - 4
    out = []
    for p, ctx in enumerate(contexts):
        lo = 0
        while True:
            hi = min(len(ctx.ids), lo + room)
            out.append(window_ids(bos, eos, question, ctx, lo, hi, p))
            if hi >= len(ctx.ids):
                break
            lo = max(lo + 1, hi - stride)
    return out


def best_spans(start: np.ndarray, end: np.ndarray, window: Window, top_n: int = 3,
               max_answer_tokens: int = MAX_ANSWER_TOKENS) -> tuple[list[tuple[float, int, int]], float]:
    """(the best spans as (score, char start, char end) in the passage, the no-answer score).

    A span's score is start + end logit, on its own: nothing is normalised across windows or
    passages, so scores of different passages compare directly.
    """
    n = len(window.offsets)
    c0 = window.context_from
    s = np.asarray(start[c0:c0 + n], np.float32)
    e = np.asarray(end[c0:c0 + n], np.float32)
    valid = np.array([b > a for a, b in window.offsets], bool)
    s = np.where(valid, s, -1e9)
    e = np.where(valid, e, -1e9)
    pair = s[:, None] + e[None, :]
    i, j = np.indices(pair.shape)
    pair[(j < i) | (j - i >= max_answer_tokens)] = -1e9
    flat = np.argsort(pair, axis=None)[::-1][:top_n]
    spans = []
    for f in flat:
        a, b = divmod(int(f), n)
        if pair[a, b] <= -1e8:
            break
        spans.append((float(pair[a, b]), window.offsets[a][0], window.offsets[b][1]))
    return spans, float(start[0] + end[0])
