"""`GET /v1/models` and `GET /v1/models/{id}`: the one model, for chat tools that list models
first."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path

from api.deps import get_service
from api.schemas import MODEL_ID, ErrorResponse, Model, ModelList
from rag.service import RagService

router = APIRouter(prefix="/v1/models", tags=["chat"],
                   responses={404: {"model": ErrorResponse}})


class UnknownModel(LookupError):
    """A model id this server does not serve; api/errors.py answers it as OpenAI does."""

    error_type, param = "invalid_request_error", "model"

    def __init__(self, model_id: str):
        super().__init__(f"the model {model_id!r} does not exist; this server serves "
                         f"{MODEL_ID!r}")


def _model(service: RagService) -> dict:
    return {"id": MODEL_ID, "object": "model", "created": _built(service),
            "owned_by": "cq-rag"}


def _built(service: RagService) -> int:
    """When the live generation was written (Unix time), 0 if its manifest does not say."""
    try:
        return int(datetime.fromisoformat(service.index.manifest["created_at"]).timestamp())
    except (KeyError, TypeError, ValueError):
        return 0


@router.get("", response_model=ModelList)
def list_models(service: RagService = Depends(get_service)):
    """The models a chat completion may name: there is one."""
    return {"object": "list", "data": [_model(service)]}


@router.get("/{model_id:path}", response_model=Model)
def get_model(model_id: str = Path(..., max_length=200),
              service: RagService = Depends(get_service)):
    """The model, or a 404 with code `model_not_found`."""
    if model_id != MODEL_ID:
        raise UnknownModel(model_id)
    return _model(service)
