"""The one place where exceptions become HTTP statuses: every error is `{"error": {...}}` JSON.

A request a client got wrong is a 4xx with a message that says what to change; only a fault of
the server gives a 5xx, and then without a traceback.
"""
from __future__ import annotations

import email.message
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.routes.models import UnknownModel
from index.build import UnknownDocument
from index.store import IndexError_, IndexLocked, NothingToIndex
from rag.service import QuestionError, UploadError

log = logging.getLogger("cq-rag.api")

# exception, status, code; the most specific class first (handlers match by class hierarchy).
_MAPPED: list[tuple[type[Exception], int, str]] = [
    (QuestionError, 400, "bad_question"),
    (UploadError, 400, "bad_upload"),
    (UnknownDocument, 404, "unknown_document"),
    (UnknownModel, 404, "model_not_found"),
    (NothingToIndex, 409, "index_would_be_empty"),
    (IndexLocked, 503, "index_busy"),
    (IndexError_, 503, "index_error"),
]
_TYPES = {401: "authentication_error", 404: "not_found_error", 409: "conflict_error",
          413: "request_too_large", 415: "invalid_request_error"}


def error_response(status: int, message: str, code: str | None = None,
                   headers: dict[str, str] | None = None, *, type_: str | None = None,
                   param: str | None = None) -> JSONResponse:
    """The error body every route and middleware returns: OpenAI's shape."""
    type_ = type_ or _TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    return JSONResponse({"error": {"message": message, "type": type_, "param": param,
                                   "code": code}}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _json_error(exc: RequestValidationError) -> str | None:
    """Where and why the body failed to parse as JSON, as a person reads it; None if it parsed.

    FastAPI reports only the character offset (`17: JSON decode error`); the text it keeps
    gives the line and column, counted from 1 as Python's JSONDecodeError counts them."""
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            pos = err["loc"][-1] if isinstance(err["loc"][-1], int) else 0
            doc = exc.body if isinstance(exc.body, str) else ""
            line = doc.count("\n", 0, pos) + 1
            column = pos - doc.rfind("\n", 0, pos)
            reason = (err.get("ctx") or {}).get("error", "")
            return (f"the request body is not valid JSON (line {line}, column {column})"
                    + (f": {reason}" if reason else ""))
    return None


def _media_type(value: str) -> str:
    message = email.message.Message()
    message["content-type"] = value
    return message.get_content_type() if value else ""


def _wrong_content_type(request: Request, exc: RequestValidationError) -> str | None:
    """The message when the body failed because it was sent as another media type than the route
    reads (FastAPI then validates the raw bytes, and says only `Input should be a valid
    dictionary`); None when the media type was right."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    if body_field is None or not any(e.get("loc", ())[:1] == ("body",) for e in exc.errors()):
        return None
    expected = getattr(body_field.field_info, "media_type", "application/json")
    sent = _media_type(request.headers.get("content-type", ""))
    forms = ("multipart/form-data", "application/x-www-form-urlencoded")
    # A form route parses either encoding; a missing file field is then the field's own 422.
    if (sent == expected or (expected == "application/json" and sent.endswith("+json"))
            or (expected in forms and sent in forms)):
        return None
    if not sent:
        return f"the request has no Content-Type header: send the body as {expected}"
    return f"Content-Type {sent} is not accepted here: send the body as {expected}"


def install(app: FastAPI) -> None:
    """Register the exception handlers on `app`."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        media = _wrong_content_type(request, exc)
        if media is not None:
            return error_response(415, media, "unsupported_media_type")
        invalid_json = _json_error(exc)
        if invalid_json is not None:  # 422, as FastAPI answered it before: clients rely on it
            return error_response(422, invalid_json, "invalid_json")
        return error_response(422, _validation_message(exc), "validation_error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail), None,
                              getattr(exc, "headers", None))

    for cls, status, code in _MAPPED:
        def handler(_: Request, exc: Exception, status=status, code=code):
            # An exception may name OpenAI's error type and the parameter at fault.
            return error_response(status, str(exc), code, type_=getattr(exc, "error_type", None),
                                  param=getattr(exc, "param", None))
        app.add_exception_handler(cls, handler)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details", "internal")
