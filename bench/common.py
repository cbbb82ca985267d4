"""What the bench scripts share: the index they measure, and how they quote percentiles."""
from __future__ import annotations

from pathlib import Path


def bundled_index(index: Path | None) -> Path:
    """`index` if given, else the bundled-corpus index of the configured embedder (built or
    refreshed first)."""
    if index is not None:
        return index
    from rag.config import Settings
    from rag.service import embedder_from, ensure_sample_index

    settings = Settings()
    embedder = embedder_from(settings)
    ensure_sample_index(settings, embedder)
    return settings.index_dir(embedder.id)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1), to three decimals."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 3)
