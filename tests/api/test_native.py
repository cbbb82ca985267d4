"""The native API over a real server: contracts, documents, key, limits, metrics, docs."""
from __future__ import annotations

import httpx
import pytest
import requests

from api_helpers import QUESTION

DOC = "cq-sti/004_f07454981927e40f.txt"


@pytest.fixture(scope="module")
def http(api):
    with api.client() as client:
        yield client


def test_ask_returns_the_cli_json_contract(http):
    record = http.post("/v1/ask", json={"question": QUESTION, "k": 3}).json()
    assert list(record) == ["question", "answer", "answerable", "citations", "passages",
                            "timings_ms"]
    assert record["answerable"] and "4222" in record["answer"]
    assert len(record["passages"]) == 3


def test_filters_narrow_the_documents_and_are_validated(http):
    ok = http.post("/v1/ask", json={"question": QUESTION, "k": 10,
                                    "filters": {"kind": "意见", "since": "2022"}}).json()
    assert ok["passages"] and {p["doc_id"] for p in ok["passages"]} == \
        {"cq-sti/002_38e28bd9a1a18c0a.txt"}
    none = http.post("/v1/ask", json={"question": QUESTION,
                                      "filters": {"doc_id_prefix": "elsewhere/"}}).json()
    assert not none["answerable"] and none["passages"] == []
    for filters in ({"year": 2020}, {"since": "2020/01"}):
        bad = http.post("/v1/ask", json={"question": QUESTION, "filters": filters})
        assert bad.status_code == 422 and list(filters)[0] in bad.json()["error"]["message"]


def test_search_returns_k_passages(http):
    record = http.get("/v1/search", params={"q": "知识价值信用贷款", "k": 4}).json()
    assert set(record) == {"query", "passages", "timings_ms"}
    assert len(record["passages"]) == 4
    assert "知识价值信用贷款" in record["passages"][0]["text"]


def test_documents_are_listed_and_every_citation_checks_against_the_full_text(http):
    listing = http.get("/v1/documents").json()["documents"]
    assert len(listing) == 5 and DOC in [d["doc_id"] for d in listing]
    assert all("source_path" not in d["meta"] for d in listing), "no server paths over HTTP"
    answer = http.post("/v1/ask", json={"question": QUESTION}).json()
    for c in answer["citations"]:
        doc = http.get(f"/v1/documents/{c['doc_id']}")  # the doc_id's '/' stays in the path
        assert doc.status_code == 200
        assert doc.json()["text"][c["start"]:c["end"]] == c["quote"]
        assert doc.json()["title"] == c["title"]


def test_an_unknown_document_is_a_json_404(http):
    response = http.get("/v1/documents/cq-sti/nope.txt")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no document 'cq-sti/nope.txt'"


def test_healthz_needs_no_key_and_everything_else_does(api):
    health = httpx.get(f"{api.url}/healthz").json()
    assert health["status"] == "ok"
    # `rag serve` loads the fast engine at start (RAG_EMBED_ENGINE=auto), not on a request
    assert health["embedding_engine"] == "ct2"
    for method, path in [("GET", "/v1/documents"), ("GET", f"/v1/documents/{DOC}"),
                         ("GET", "/v1/search?q=x"), ("POST", "/v1/ask"),
                         ("POST", "/v1/chat/completions"), ("POST", "/v1/documents"),
                         ("DELETE", f"/v1/documents/{DOC}"), ("GET", "/metrics"),
                         ("GET", "/docs"), ("GET", "/openapi.json")]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            response = httpx.request(method, f"{api.url}{path}", headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert "API key" in response.json()["error"]["message"]
    assert httpx.get(f"{api.url}/v1/documents/{DOC}", headers=api.headers).status_code == 200


def test_cors_is_off_by_default(http):
    response = http.options("/v1/ask", headers={"Origin": "https://example.org",
                                                "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("body, status, words", [
    ({"question": "问" * 2001}, 400, "limit is 2000"),
    ({"question": ""}, 400, "empty"),
    ({"question": QUESTION, "k": 0}, 422, "k"),
    ({"question": QUESTION, "extra": 1}, 422, "extra"),
    ({}, 422, "question"),
])
def test_bad_ask_bodies_get_a_4xx_with_a_message(http, body, status, words):
    response = http.post("/v1/ask", json=body)
    assert response.status_code == status
    assert words in response.json()["error"]["message"]


def test_malformed_json_is_a_422(http):
    response = http.post("/v1/ask", content=b"{not json", headers={"Content-Type":
                                                                    "application/json"})
    assert response.status_code == 422


def test_bodies_over_the_limit_are_refused_declared_or_streamed(http):
    big = {"question": QUESTION, "pad": "x" * 300_000}
    assert http.post("/v1/ask", json=big).status_code == 413

    def chunks():  # no Content-Length: the server must count what arrives
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}'
    response = http.post("/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "over the limit" in response.json()["error"]["message"]


@pytest.mark.parametrize("length, status", [(2_001, 400), (100_001, 422)])
def test_long_search_queries_get_a_4xx_not_a_dropped_connection(api, length, status):
    # percent-encoded, 100k colons make a 300 KB request line: over h11's 16 KiB default.
    # requests, as schemathesis uses, because httpx refuses URLs over 64 KiB client-side.
    response = requests.get(f"{api.url}/v1/search", params={"q": ":" * length},
                            headers=api.headers, timeout=60)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


def test_too_many_messages_are_refused(http):
    messages = [{"role": "user", "content": "x"}] * 51
    response = http.post("/v1/chat/completions", json={"model": "m", "messages": messages})
    assert response.status_code == 400 and "limit is 50" in response.json()["error"]["message"]


def test_metrics_count_requests_time_them_and_size_the_index(http):
    http.post("/v1/ask", json={"question": QUESTION})
    text = http.get("/metrics").text
    assert 'rag_http_requests_total{method="POST",route="/v1/ask",status="200"}' in text
    assert 'rag_http_request_duration_seconds_bucket{le="0.5",method="POST",route="/v1/ask"}' \
        in text
    assert "rag_index_documents 5.0" in text
    assert "rag_index_chunks " in text


def test_openapi_and_docs_are_served(http):
    spec = http.get("/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/ask", "/v1/search", "/v1/documents",
            "/v1/documents/{doc_id}", "/healthz", "/metrics"} <= set(spec["paths"])
    assert "swagger" in http.get("/docs").text.lower()


def test_the_chat_page_is_served_without_a_key(api):
    page = httpx.get(f"{api.url}/")
    assert page.status_code == 200 and "chat.js" in page.text
    assert httpx.get(f"{api.url}/static/chat.js").status_code == 200
