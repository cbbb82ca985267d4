"""`GET /`: the chat page (static HTML and JS, no build step)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


# Defence in depth against XSS through document text: the page's script sets text only through
# textContent, and this policy would refuse any script or style that was not a file of our own.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@router.get("/")
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)
