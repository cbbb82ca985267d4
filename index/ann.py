"""Which FAISS index a vector set gets, by its size, and how to search it (exact or approximate).

Up to `FLAT_MAX` vectors an exact `IndexFlatIP`; above it IVF over the exact vectors
(`IVF{nlist},Flat`). On the scale curve (bench/results.md, idle 2-core machine, synthetic vectors
shaped like e5's, real gold-question queries) Flat took 15 ms a search at 100k and 169 ms at 1M.
HNSW (M=32, efConstruction=80) was fastest at 100k (recall@10 0.978 in 0.7 ms at efSearch 512)
but fell to recall 0.81 at 1M (efSearch 512), and a build took 16 s at 100k and 194 s at 1M:
every write rebuilds the vector index (generations are immutable), so that is paid per ingest.
IVF reached recall 0.959 in 3 ms at 100k (1,024 lists, 64 probed) and 0.974-1.0 in 19-26 ms
at 1M (4,096 lists, 128-256 probed), and builds in 5 s and 103 s. IVF keeps the exact vectors
(with a direct map), so `reconstruct_n` returns them unchanged and a delete can rebuild without
re-embedding. HNSW and IVF-PQ (with a flat refine step, exact vectors too) are built on request
by `kind`, for the scale curve and for callers that prefer them.

faiss is imported inside the functions: `rag --help` and cold starts must not pay for it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

FLAT_MAX = 20_000  # vectors; above this an approximate index (see module docstring)
# A filter admitting at most this many rows is searched exactly over those rows' vectors:
# cheap (≤ 20k dot products), and a graph search restricted to a few rows can miss some.
EXACT_FILTER_MAX = 20_000

# efSearch 256: recall@10 0.96 against Flat at 100k on the scale curve (0.92 at 128), 1.5 ms.
HNSW = {"M": 32, "efConstruction": 80, "efSearch": 256}
# 96 sub-quantizers of 4 dims for 384-d vectors, 4-bit codes scanned with SIMD ("fast scan"):
# 8-bit codebooks take minutes to train here. With 48 sub-quantizers and 8·k candidates
# re-scored, recall@10 stayed near 0.6 on the scale curve's clustered vectors; 96 and 16·k
# reached 0.97 on a 30k sample (bench/scale.py).
IVFPQ = {"nbits": 4, "m": 96, "k_factor": 16}
# IVF over exact vectors: about 4·√n k-means lists; a query scans a 16th of them and at least
# IVF_MIN_SCAN vectors. Measured (bench/scale.py; 2 threads, probes in parallel): 30k with 512
# lists needed 64 probes (~3,750 vectors) for recall@10 0.95; 100k with 1,024 lists 64 probes
# for 0.959; 1M with 4,096 lists 128 probes for 0.974 and 256 for 1.0 (26 ms).
IVF_LISTS_PER_ROOT, IVF_PROBE_SHARE, IVF_MIN_PROBES, IVF_MIN_SCAN = 4, 16, 8, 6_000
# k-means wants ~39 points per list; fewer vectors get fewer lists.
IVF_MIN_POINTS_PER_LIST = 39


def ivf_nlist(n: int, per_root: int = IVF_LISTS_PER_ROOT) -> int:
    """Number of IVF lists: about per_root·√n, a power of two, at least 16, at most what
    k-means can train from n points."""
    lists = max(16, 2 ** round(math.log2(per_root * math.sqrt(max(n, 1)))))
    return max(1, min(lists, n // IVF_MIN_POINTS_PER_LIST))


def ivf_nprobe(nlist: int, n: int) -> int:
    """Lists scanned per query: a 16th of them, enough to cover IVF_MIN_SCAN vectors, at least 8."""
    cover = math.ceil(IVF_MIN_SCAN * nlist / max(n, 1))
    return min(nlist, max(IVF_MIN_PROBES, nlist // IVF_PROBE_SHARE, cover))


def choose(n: int, flat_max: int | None = None) -> str:
    """The index kind for `n` vectors: "flat" up to the threshold, then "ivf"."""
    return "flat" if n <= (FLAT_MAX if flat_max is None else flat_max) else "ivf"


def prepare(index) -> None:
    """Search settings that an index file does not keep: an IVF index searches its probed
    lists in parallel (faiss's default parallelises over queries, and we send one at a time;
    1.4-2x faster here)."""
    import faiss

    if isinstance(index, faiss.IndexIVF):
        index.parallel_mode = 1


def make_index(vectors: np.ndarray, dim: int, kind: str = "auto",
               flat_max: int | None = None, params: dict[str, Any] | None = None):
    """(faiss index holding `vectors`, description for the manifest).

    `kind`: "auto" (by size), "flat", "ivf", "hnsw" or "ivfpq"; `params` overrides that kind's
    defaults.
    Vectors are inner-product over L2-normalised float32, as everywhere in the index.
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    kind = choose(n, flat_max) if kind == "auto" else kind
    if kind == "flat":
        index, used = faiss.IndexFlatIP(dim), {}
    elif kind == "hnsw":
        used = {**HNSW, **(params or {})}
        index = faiss.index_factory(dim, f"HNSW{used['M']},Flat", faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = used["efConstruction"]
        index.hnsw.efSearch = used["efSearch"]
    elif kind == "ivf":
        used = {"nlist": ivf_nlist(n), **(params or {})}
        used.setdefault("nprobe", ivf_nprobe(used["nlist"], n))
        index = faiss.index_factory(dim, f"IVF{used['nlist']},Flat", faiss.METRIC_INNER_PRODUCT)
        index.nprobe = used["nprobe"]
        _train(index, vectors, used["nlist"])
    elif kind == "ivfpq":
        used = {"nlist": ivf_nlist(n, per_root=1), **IVFPQ, **(params or {})}
        used.setdefault("nprobe", max(8, used["nlist"] // 32))
        # PQ codes alone lose recall@10 (~0.6); re-scoring k_factor·k candidates against the
        # exact vectors (RFlat) brings it back, and those vectors make reconstruction exact.
        fast = "fs" if used["nbits"] == 4 else ""
        index = faiss.index_factory(
            dim, f"IVF{used['nlist']},PQ{used['m']}x{used['nbits']}{fast},RFlat",
            faiss.METRIC_INNER_PRODUCT)
        index.k_factor = used["k_factor"]
        faiss.extract_index_ivf(index).nprobe = used["nprobe"]
        _train(index, vectors, used["nlist"])
    else:
        raise ValueError(f"unknown index kind {kind!r}; use auto, flat, hnsw, ivf or ivfpq")
    if n:
        index.add(vectors)
    if kind == "ivf":
        index.make_direct_map()  # row -> list position: reconstruct() for rebuilds and filters
    prepare(index)
    return index, {"kind": kind, "params": used, "flat_max": FLAT_MAX if flat_max is None
                   else flat_max}


def _train(index, vectors: np.ndarray, nlist: int) -> None:
    # 64 points per list is enough for k-means and 10k for PQ codebooks; training on all of 1M
    # costs minutes.
    sample = max(64 * nlist, 10_000)
    index.train(vectors[np.random.default_rng(0).permutation(len(vectors))[:sample]])


def describe(index) -> dict[str, Any]:
    """The kind and search parameters of a loaded index (what the manifest records)."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return {"kind": "hnsw", "params": {"M": _hnsw_m(index),
                                           "efConstruction": int(index.hnsw.efConstruction),
                                           "efSearch": int(index.hnsw.efSearch)}}
    if isinstance(index, faiss.IndexIVFFlat):
        return {"kind": "ivf", "params": {"nlist": int(index.nlist), "nprobe": int(index.nprobe)}}
    if isinstance(index, faiss.IndexRefine):
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        return {"kind": "ivfpq", "params": {"nlist": int(ivf.nlist), "m": int(ivf.pq.M),
                                            "nbits": int(ivf.pq.nbits),
                                            "nprobe": int(ivf.nprobe),
                                            "k_factor": float(index.k_factor)}}
    return {"kind": "flat", "params": {}}


def _hnsw_m(index) -> int:
    # Level 0 holds 2·M neighbours per node; faiss keeps no M field of its own.
    import faiss

    return int(faiss.vector_to_array(index.hnsw.cum_nneighbor_per_level)[1] // 2)


def search(index, query: np.ndarray, k: int,
           allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the k best rows for one query vector, best first, among `allowed`.

    A flat index, or an approximate one under a filter admitting few rows, is searched exactly;
    otherwise the filter travels into FAISS as an ID selector in SearchParameters of the
    index's own type (faiss rejects plain ones on IVF, and would drop efSearch on HNSW).
    """
    import faiss

    query = np.ascontiguousarray(query.reshape(1, -1), np.float32)
    if allowed is not None and not isinstance(index, faiss.IndexFlat) \
            and len(allowed) <= EXACT_FILTER_MAX:
        rows = np.asarray(allowed, np.int64)
        scores = index.reconstruct_batch(rows) @ query[0]
        top = np.argsort(-scores, kind="stable")[:k]
        return scores[top].astype(np.float32), rows[top]
    params = None
    if allowed is not None:
        selector = faiss.IDSelectorBatch(np.asarray(allowed, np.int64))
        params = _params(index, selector, k, len(allowed))
    scores, rows = index.search(query, k, params=params)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]


def _params(index, selector, k: int, admitted: int):
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(int(index.hnsw.efSearch), k))
    if isinstance(index, faiss.IndexIVFFlat):
        # The lists scanned must hold about as many admitted rows as unfiltered ones would:
        # probe more lists as the filter admits fewer rows (skipped rows cost no distance).
        scale = index.ntotal / max(admitted, 1)
        nprobe = min(int(index.nlist), math.ceil(int(index.nprobe) * scale))
        params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        params.keep = selector  # the C++ side holds a raw pointer to it
        return params
    if isinstance(index, faiss.IndexRefine):
        base = faiss.SearchParametersIVF(sel=selector,
                                         nprobe=int(faiss.extract_index_ivf(index).nprobe))
        params = faiss.IndexRefineSearchParameters(k_factor=float(index.k_factor),
                                                   base_index_params=base)
        params.sel = selector
        params.keep = (base, selector)  # the C++ side holds raw pointers to both
        return params
    return faiss.SearchParameters(sel=selector)
