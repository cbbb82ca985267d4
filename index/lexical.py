"""BM25 over Chinese tokens (the only importer of jieba and bm25s).

Text is NFKC-normalised and lower-cased, then cut by jieba in search mode, which also emits the
shorter words inside long ones (`高新技术企业` → `高新`, `技术`, `企业`, `高新技术企业`).
"""
from __future__ import annotations

import logging
import re
import shutil
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.atomic_dir import build_once

# Tokens that carry no topic: punctuation, whitespace, and question or function words.
STOPWORDS = frozenset("""
的 了 和 与 及 或 是 在 有 为 对 把 被 从 将 等 也 都 而 并 其 之 以 于 上 中 下 个 这 那 哪 什么 多少 几 吗 呢 吧 啊
哪些 哪个 哪里 如何 怎么 怎样 怎么样 为什么 是否 请问 请 问 一下 我 你 他 们 我们 您 是不是 有没有 有无 多 少
what which who whom when where why how many much is are was were the a an of in on to for by and or does do did
""".split())
_WORD = re.compile(r"\w", re.U)


def normalise(text: str) -> str:
    """NFKC and lower case, so full- and half-width forms compare equal."""
    return unicodedata.normalize("NFKC", text).lower()


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    _load_prefix_dict(jieba.dt)
    return jieba


def _load_prefix_dict(tokenizer) -> None:
    """jieba's prefix dictionary (word -> frequency, 0 for a bare prefix) from a fast cache.

    jieba caches the dictionary with `marshal`, which took 0.85 s of a 1.5 s cold `rag ask`
    here; the same pairs as a word list and a numpy array load in 0.25 s. The cache lies where
    jieba keeps its own (its temp dir), is keyed by jieba's version and dictionary file, and is
    written whole or not at all (`build_once`); any trouble reading it falls back to jieba's own
    loading. Nothing in it is executable (no pickle), as with jieba's file.
    """
    import hashlib
    import tempfile

    import jieba

    dictionary = Path(tokenizer.dictionary or jieba.DEFAULT_DICT_NAME)
    if not dictionary.is_absolute():
        dictionary = Path(jieba.__file__).parent / dictionary
    stat = dictionary.stat()
    key = hashlib.sha256(f"{jieba.__version__}|{dictionary}|{stat.st_size}|{stat.st_mtime_ns}"
                         .encode()).hexdigest()[:16]
    folder = Path(tokenizer.tmp_dir or tempfile.gettempdir()) / f"cq-rag-jieba-{key}"
    try:
        words = (folder / "words.txt").read_text(encoding="utf-8").split("\n")
        freqs = np.load(folder / "freqs.npy", allow_pickle=False)
        if len(words) + 1 != len(freqs):
            raise ValueError("word list and frequencies differ in length")
    except (OSError, ValueError):
        tokenizer.initialize()
        shutil.rmtree(folder, ignore_errors=True)  # a damaged copy would be read every time
        try:
            build_once(folder, "freqs.npy",
                       lambda out: _write_prefix_dict(tokenizer.FREQ, tokenizer.total, out))
        except OSError as exc:  # a read-only temp dir costs speed, not correctness
            logging.getLogger(__name__).debug("jieba dictionary cache not written: %s", exc)
        return
    with tokenizer.lock:
        tokenizer.FREQ = dict(zip(words, freqs[:-1].tolist()))
        # jieba's total counts a word listed twice twice: it is stored, not summed
        tokenizer.total = int(freqs[-1])
        tokenizer.initialized = True


def _write_prefix_dict(freq: dict[str, int], total: int, out: Path) -> None:
    """The words, newline-separated, and their frequencies with jieba's total appended."""
    out.mkdir()
    (out / "words.txt").write_text("\n".join(freq), encoding="utf-8")
    np.save(out / "freqs.npy", np.append(np.fromiter(freq.values(), np.int64, len(freq)),
                                         np.int64(total)))


def cut(text: str) -> list[str]:
    """jieba's precise-mode words of `text` as written: they concatenate back to `text`."""
    return _jieba().lcut(text)


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens of the normalised text, without stopwords and punctuation."""
    tokens = _jieba().lcut_for_search(normalise(text))
    return [t for t in (tok.strip() for tok in tokens)
            if t and _WORD.search(t) and t not in STOPWORDS]


def words(text: str) -> list[str]:
    """Precise-mode jieba words of the normalised text, punctuation kept out: the reading order
    that phrase rules (what a question asks about) need, where search mode would add sub-words."""
    return [t for t in (tok.strip() for tok in _jieba().lcut(normalise(text)))
            if t and _WORD.search(t)]


def _bm25s():
    """bm25s, imported without numba and scipy.

    bm25s imports numba and scipy.sparse whenever they are installed (as in the dev extras),
    which cost 0.8 s and 0.4 s of every cold start; this module only uses bm25s's numpy
    backends (its defaults), so both are hidden from that one import and bm25s falls back as it
    does when they are not installed.
    """
    if "bm25s" not in sys.modules:
        hidden = [m for m in ("numba", "scipy") if m not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
        try:
            import bm25s
        finally:
            for name in hidden:
                del sys.modules[name]
    import bm25s

    return bm25s


class BM25Index:
    """A bm25s index over chunk texts; row i scores chunk i."""

    def __init__(self, retriever) -> None:
        self._retriever = retriever

    @classmethod
    def build(cls, texts: list[str]) -> "BM25Index":
        retriever = _bm25s().BM25()
        corpus_tokens = [tokenize(t) or [""] for t in texts]
        retriever.index(corpus_tokens, show_progress=False)
        return cls(retriever)

    def save(self, directory: Path) -> None:
        self._retriever.save(str(directory))

    @classmethod
    def load(cls, directory: Path, mmap: bool = False) -> "BM25Index":
        return cls(_bm25s().BM25.load(str(directory), mmap=mmap))

    @property
    def size(self) -> int:
        return int(self._retriever.scores["num_docs"])

    @property
    def vocabulary(self) -> dict[str, int]:
        """Every token the index knows, mapped to its id."""
        return self._retriever.vocab_dict

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query tokens (zeros when none is known)."""
        known = self._retriever.get_tokens_ids(query_tokens)
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def group_scores(self, groups: list[tuple[str, ...]]) -> np.ndarray:
        """BM25 of every chunk when each group of alternatives (an English word's translations)
        counts once, by its best-scoring member: a word with six translations otherwise weighs
        up to six times one with a single translation.

        One bm25s call per translation, kept as a running maximum: 2.5 ms for an English
        question at 100k chunks, faster than merging the tokens' postings (bench/lexical_scale.py).
        """
        total = np.zeros(self.size, dtype=np.float32)
        best = np.empty(self.size, dtype=np.float32)
        for group in groups:
            ids = self._retriever.get_tokens_ids(list(group))
            if not ids:
                continue
            best[:] = self._retriever.get_scores([ids[0]])
            for token in ids[1:]:
                np.maximum(best, self._retriever.get_scores([token]), out=best)
            total += best
        return total

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency of each token over the indexed chunks (0 if unknown).

        Read from the BM25 matrix itself (one column per token), so no second pass over the
        corpus is needed.
        """
        vocab = self._retriever.vocab_dict
        indptr = self._retriever.scores["indptr"]
        n = self.size
        out = {}
        for tok in tokens:
            tid = vocab.get(tok)
            df = int(indptr[tid + 1] - indptr[tid]) if tid is not None else 0
            out[tok] = float(np.log(1 + (n - df + 0.5) / (df + 0.5))) if df else 0.0
        return out
