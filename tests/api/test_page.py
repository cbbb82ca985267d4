"""The chat page's files over HTTP: the favicon, and /docs and /redoc with no CDN in them.

The browser tests (test_browser.py) render these; these checks run without Chromium.
"""
from __future__ import annotations

import re

import httpx


def test_the_favicon_is_served_and_linked(writable_http):
    icon = writable_http.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.lstrip().startswith("<svg")
    assert writable_http.get("/static/favicon.svg").content == icon.content
    assert '<link rel="icon" href="/static/favicon.svg"' in writable_http.get("/").text


def test_the_page_needs_no_key_for_its_files(api):
    for path in ("/", "/favicon.ico", "/static/chat.js", "/static/chat.css", "/static/favicon.svg",
                 "/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css"):
        assert httpx.get(f"{api.url}{path}").status_code == 200, path


def test_docs_and_redoc_load_only_assets_the_server_ships(writable_http):
    for path in ("/docs", "/redoc"):
        page = writable_http.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert urls and all(url.startswith("/") for url in urls), (path, urls)
        assert "cdn." not in page.text and "fonts.googleapis" not in page.text
        for url in urls:
            asset = writable_http.get(url)
            assert asset.status_code == 200 and len(asset.content) > 300, url
    bundle = writable_http.get("/static/docs/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in bundle.text
