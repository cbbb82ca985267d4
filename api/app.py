"""The HTTP service: `create_app(service=None)` builds the FastAPI app over one `RagService`.

The service (embedder and index) is loaded once, in the lifespan, unless a test passes one in.
Errors become JSON in api/errors.py alone; key, size limits and metrics are ASGI middleware.
"""
from __future__ import annotations

import contextlib

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api import errors
from api.metrics import Metrics
from api.middleware import ApiKey, BodyLimit, RecordMetrics
from api.routes import ask, chat, documents, health, models, page
from rag.config import Settings
from rag.service import RagService


def load_service(settings: Settings) -> RagService:
    """The service over the configured index; builds the bundled-corpus index on first use."""
    from rag.service import embedder_from, ensure_sample_index

    embedder = embedder_from(settings)
    if settings.uses_sample_index:
        ensure_sample_index(settings, embedder)
    return RagService(settings, embedder)


def create_app(service: RagService | None = None, settings: Settings | None = None) -> FastAPI:
    """The app; `service` is loaded from `settings` (default: the environment) at startup."""
    settings = service.settings if service is not None else (settings or Settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "service", None) is None:
            app.state.service = load_service(settings)
            app.state.service.warm()
        yield

    # /docs and /redoc are page routes whose assets are served here, not from a CDN.
    app = FastAPI(title="cq-rag", version="0.1.0", lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Cited answers from Chinese policy documents: an OpenAI-compatible "
                  "chat endpoint, a native API and document management.")
    app.state.service = service
    app.state.metrics = Metrics(lambda: _sizes(app))
    errors.install(app)
    for module in (chat, models, ask, documents, health, page):
        app.include_router(module.router)
    # Before /static, which would otherwise take these paths too.
    app.mount(page.DOCS_ASSETS_URL, StaticFiles(directory=page.docs_assets()), name="docs-assets")
    app.mount("/static", StaticFiles(directory=page.STATIC), name="static")

    # add_middleware wraps what is there, so the last one added runs first: metrics see every
    # response (401 and 413 included), and CORS answers preflights before the key is asked for.
    app.add_middleware(BodyLimit, json_limit=settings.max_body_bytes,
                       upload_limit=settings.max_upload_bytes, upload_path="/v1/documents")
    key = settings.api_key.get_secret_value() if settings.api_key else None
    app.add_middleware(ApiKey, key=key)
    if settings.cors_origins:  # off unless configured
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(RecordMetrics, metrics=app.state.metrics)
    return app


def _sizes(app: FastAPI) -> tuple[int, int] | None:
    service = getattr(app.state, "service", None)
    if service is None:
        return None
    index = service.index
    return len(index.documents), len(index.chunks)
