"""Error messages a person understands, over a real server: bad JSON, a wrong Content-Type, and a
filter that admits no document."""
from __future__ import annotations

import pytest

from api_helpers import QUESTION


@pytest.fixture(scope="module")
def http(api):
    with api.client() as client:
        yield client


@pytest.mark.parametrize("body, where", [
    ('{"question": "x" "k": 3}', "line 1, column 18): Expecting ',' delimiter"),
    ('{\n  "question": "x",\n  "k": }', "line 3, column 8): Expecting value"),
])
def test_malformed_json_says_where_not_json_decode_error(http, body, where):
    for path in ("/v1/ask", "/v1/chat/completions"):
        response = http.post(path, content=body.encode(),
                             headers={"Content-Type": "application/json"})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["message"] == f"the request body is not valid JSON ({where}"
        assert error["code"] == "invalid_json"


@pytest.mark.parametrize("content_type, named", [
    ("text/plain", "Content-Type text/plain is not accepted here"),
    ("application/x-www-form-urlencoded; charset=utf-8",  # curl -d without -H
     "Content-Type application/x-www-form-urlencoded is not accepted here"),
    (None, "the request has no Content-Type header"),
])
def test_a_wrong_content_type_is_named(http, content_type, named):
    request = http.build_request("POST", "/v1/ask", content=b'{"question": "x"}')
    request.headers.pop("Content-Type", None)
    if content_type is not None:
        request.headers["Content-Type"] = content_type
    response = http.send(request)
    assert response.status_code == 415, response.text
    assert response.json()["error"]["message"] == \
        f"{named}: send the body as application/json"


def test_an_upload_sent_as_json_is_told_to_use_multipart(http):
    response = http.post("/v1/documents", json={"file": "a.txt"})
    assert response.status_code == 415
    assert response.json()["error"]["message"] == ("Content-Type application/json is not "
                                                   "accepted here: send the body as "
                                                   "multipart/form-data")


def test_a_valid_body_with_wrong_fields_is_still_a_422(http):
    response = http.post("/v1/ask", json={"question": QUESTION, "k": 0})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("k: ")


@pytest.mark.parametrize("question, message", [
    (QUESTION, "没有文档符合筛选条件（since=2030-01-01）。"),
    ("How many high-tech enterprises were there?",
     "no document matches the filter (since=2030-01-01)"),
])
def test_a_filter_that_admits_no_document_says_so(http, question, message):
    record = http.post("/v1/ask", json={"question": question,
                                        "filters": {"since": "2030-01-01"}}).json()
    assert record["answer"] == message
    assert record["answerable"] is False and record["passages"] == []
    # A filter that admits some documents keeps the usual refusal or answer.
    some = http.post("/v1/ask", json={"question": question,
                                      "filters": {"since": "2020"}}).json()
    assert "filter" not in some["answer"] and some["passages"]
