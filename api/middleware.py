"""ASGI middleware around every route: API key, request size, and Prometheus metrics."""
from __future__ import annotations

import hmac
import time

from fastapi import HTTPException

from api.errors import error_response
from api.metrics import Metrics

# Routes that need no key: liveness, and the chat page's static files (they hold no data; the
# page asks for the key and sends it with every API call).
OPEN_PATHS = ("/healthz", "/favicon.ico")  # a browser asks for the icon without the key
OPEN_PREFIXES = ("/static/",)
PAGE = "/"


class ApiKey:
    """With a key configured, every route but /healthz and the page needs `Bearer <key>`."""

    def __init__(self, app, key: str | None):
        self.app, self.key = app, key

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.key or self._open(scope["path"]):
            return await self.app(scope, receive, send)
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), self.key):
            response = error_response(401, "missing or wrong API key: send "
                                      "`Authorization: Bearer <RAG_API_KEY>`", "invalid_api_key",
                                      {"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)

    @staticmethod
    def _open(path: str) -> bool:
        return path in OPEN_PATHS or path == PAGE or path.startswith(OPEN_PREFIXES)


class _TooLarge(HTTPException):
    """Raised from `receive`, so that FastAPI's body parsing passes it on as a 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is over the limit of {limit} bytes")


class BodyLimit:
    """413 for a body over the limit, whether it declares its length or streams it in chunks."""

    def __init__(self, app, json_limit: int, upload_limit: int, upload_path: str):
        self.app, self.json_limit, self.upload_limit = app, json_limit, upload_limit
        self.upload_path = upload_path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # Multipart framing adds a little to the file itself.
        limit = (self.upload_limit + 64 * 1024 if scope["path"] == self.upload_path
                 else self.json_limit)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await self._reject(scope, receive, send, limit)
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, receive, send, limit)

    @staticmethod
    async def _reject(scope, receive, send, limit: int):
        response = error_response(413, f"the request body is over the limit of {limit} bytes",
                                  "body_too_large")
        await response(scope, receive, send)


class RecordMetrics:
    """Count requests and time them by route template (not raw path, to bound label values)."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = [500]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status[0], time.perf_counter() - t0)
