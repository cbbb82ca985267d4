"""The one place where exceptions become HTTP statuses: every error is `{"error": {...}}` JSON.

A request a client got wrong is a 4xx with a message that says what to change; only a fault of
the server gives a 5xx, and then without a traceback.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.build import UnknownDocument
from index.store import IndexError_, IndexLocked, NothingToIndex
from rag.service import QuestionError, UploadError

log = logging.getLogger("cq-rag.api")

# exception, status, code; the most specific class first (handlers match by class hierarchy).
_MAPPED: list[tuple[type[Exception], int, str]] = [
    (QuestionError, 400, "bad_question"),
    (UploadError, 400, "bad_upload"),
    (UnknownDocument, 404, "unknown_document"),
    (NothingToIndex, 409, "index_would_be_empty"),
    (IndexLocked, 503, "index_busy"),
    (IndexError_, 503, "index_error"),
]
_TYPES = {401: "authentication_error", 404: "not_found_error", 409: "conflict_error",
          413: "request_too_large"}


def error_response(status: int, message: str, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The error body every route and middleware returns."""
    return JSONResponse({"error": {"message": message, "type": _TYPES.get(status, "invalid_request_error" if status < 500 else "api_error"),
                                   "code": code}}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the exception handlers on `app`."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError):
        return error_response(422, _validation_message(exc), "validation_error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail), None,
                              getattr(exc, "headers", None))

    for cls, status, code in _MAPPED:
        def handler(_: Request, exc: Exception, status=status, code=code):
            return error_response(status, str(exc), code)
        app.add_exception_handler(cls, handler)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details", "internal")
