"""`POST /v1/ask` (the `rag ask --json` contract) and `GET /v1/search` (passages only)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from api.deps import get_service
from api.schemas import AskRequest, AskResponse, ErrorResponse, SearchResponse
from rag.service import RagService

router = APIRouter(prefix="/v1", tags=["ask"],
                   responses={400: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, service: RagService = Depends(get_service)):
    """A cited answer, or a refusal with the closest passages; `filters` narrow the documents."""
    filters = body.filters.to_filters() if body.filters else None
    return service.ask(body.question, k=body.k, filters=filters).to_dict()


@router.get("/search", response_model=SearchResponse)
def search(q: str = Query(..., max_length=100_000, description="search text"),
           k: int | None = Query(None, ge=1, le=100),
           service: RagService = Depends(get_service)):
    """Passages only, best first."""
    hits, timings = service.search(q, k=k)
    return {"query": q, "passages": [h.to_dict() for h in hits],
            "timings_ms": {name: round(ms, 3) for name, ms in timings.items()}}
