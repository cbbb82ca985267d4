"""`GET /healthz` (liveness, no key needed) and `GET /metrics` (Prometheus text format)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(request: Request) -> dict:
    """`ok` once the index is loaded, with its size and the engine that embeds questions."""
    service = request.app.state.service
    index = service.index
    return {"status": "ok", "documents": len(index.documents), "chunks": len(index.chunks),
            "embedding_engine": getattr(service.embedder, "loaded", "unknown")}


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Request counts, latency histograms, documents and chunks in the index."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
