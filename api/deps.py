"""What routes take from the app: the service that the lifespan loaded."""
from __future__ import annotations

from fastapi import Request

from rag.service import RagService


def get_service(request: Request) -> RagService:
    """The app's one RagService."""
    return request.app.state.service
