"""`GET /`: the chat page (static HTML and JS, no build step); its favicon; and `/docs`, `/redoc`
with their assets served from here, so that the API reference renders with no network."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
# Under /static/, which needs no key: the assets hold no data (the OpenAPI document does).
DOCS_ASSETS_URL = "/static/docs"
router = APIRouter(include_in_schema=False)


def docs_assets() -> Path:
    """The folder of Swagger UI and ReDoc as the fastapi-offline package ships them."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


# Defence in depth against XSS through document text: the page's script sets text only through
# textContent, and this policy would refuse any script or style that was not a file of our own.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@router.get("/")
def page() -> FileResponse:
    """The chat page."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The page's icon, for browsers and tools that ask for /favicon.ico."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over /openapi.json, its script and style sheet from /static/docs/."""
    app, root = request.app, request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=root + app.openapi_url, title=f"{app.title} · API",
        swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}/static/favicon.svg", oauth2_redirect_url=None,
        swagger_ui_parameters=app.swagger_ui_parameters)


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over /openapi.json, its script from /static/docs/ and no web fonts."""
    app, root = request.app, request.scope.get("root_path", "")
    return get_redoc_html(openapi_url=root + app.openapi_url, title=f"{app.title} · API",
                          redoc_js_url=f"{root}{DOCS_ASSETS_URL}/redoc.standalone.js",
                          redoc_favicon_url=f"{root}/static/favicon.svg", with_google_fonts=False)
