"""Uploads and deletes over HTTP, and queries running while the index is rewritten."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from api_helpers import QUESTION

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "index"))
from make_files import make_pdf  # noqa: E402  (shared with the index tests)

NOTE = ("重庆市科学技术局关于测试上传的通知\n\n一、总体情况\n"
        "2024年,全市新建揭榜挂帅攻关项目37项,带动社会投入9.5亿元。\n")


@pytest.fixture(scope="module")
def http(writable):
    with writable.client() as client:
        yield client


def _ids(http) -> set[str]:
    return {d["doc_id"] for d in http.get("/v1/documents").json()["documents"]}


def test_upload_indexes_incrementally_and_answers_from_it_then_delete_removes_it(http):
    before = http.get("/healthz").json()
    response = http.post("/v1/documents", files={"file": ("揭榜 挂帅.txt", NOTE.encode())})
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["doc_id"] == "uploads/揭榜_挂帅.txt" and result["status"] == "added"
    assert result["documents"] == before["documents"] + 1
    assert 0 < result["embedded"] < result["chunks"], "only the new document's chunks embedded"

    answer = http.post("/v1/ask", json={"question": "2024年新建揭榜挂帅攻关项目多少项？"}).json()
    assert answer["answerable"] and "37项" in answer["answer"]
    assert answer["citations"][0]["doc_id"] == "uploads/揭榜_挂帅.txt"
    assert http.get("/v1/documents/uploads/揭榜_挂帅.txt").json()["text"] == NOTE

    again = http.post("/v1/documents", files={"file": ("揭榜 挂帅.txt", NOTE.encode())}).json()
    assert again["status"] == "unchanged" and again["embedded"] == 0
    copy = http.post("/v1/documents", files={"file": ("copy.txt", NOTE.encode())})
    assert copy.status_code == 400 and "same text as uploads/揭榜_挂帅.txt" in copy.text
    assert "uploads/copy.txt" not in _ids(http)

    deleted = http.delete("/v1/documents/uploads/揭榜_挂帅.txt")
    assert deleted.status_code == 200 and deleted.json()["documents"] == before["documents"]
    assert http.get("/healthz").json() == before
    assert "uploads/揭榜_挂帅.txt" not in _ids(http)
    assert http.get("/v1/documents/uploads/揭榜_挂帅.txt").status_code == 404


def test_a_pdf_upload_is_answered_with_its_page(http, tmp_path):
    pdf = make_pdf(tmp_path / "pages.pdf", [["重庆市科学技术局关于测试分页的通知"],
                                           ["2024年,全市新建概念验证中心12个。"]])
    response = http.post("/v1/documents", files={"file": ("pages.pdf", pdf.read_bytes())})
    assert response.status_code == 201, response.text
    answer = http.post("/v1/ask", json={"question": "2024年全市新建概念验证中心多少个？"}).json()
    assert answer["answerable"] and "12个" in answer["answer"]
    cited = answer["citations"][0]
    assert cited["doc_id"] == "uploads/pages.pdf" and cited["page"] == 2
    assert http.delete("/v1/documents/uploads/pages.pdf").status_code == 200


def test_a_filename_is_never_a_path(http, writable):
    text = "# x\n\n路径穿越测试文本。\n".encode()
    response = http.post("/v1/documents", files={"file": ("../../../../tmp/evil.md", text)})
    assert response.status_code == 201
    assert response.json()["doc_id"] == "uploads/evil.md"
    assert not list(writable.index.parent.rglob("evil.md")), "the content lives in the index only"
    http.delete("/v1/documents/uploads/evil.md")


@pytest.mark.parametrize("name, data, status, words", [
    ("tool.exe", b"MZ\x90\x00", 400, "unsupported file type '.exe'"),
    ("report.pdf", b"%PDF-1.4", 400, "unreadable PDF"),
    ("noext", b"text", 400, "unsupported file type"),
    ("blob.txt", b"\x00\x01\x02binary" * 10, 400, "binary"),
    ("empty.txt", b"   ", 400, "empty"),
    ("bad.txt", b"\xff\xfe\xfa" * 10, 400, "UTF-8"),
    ("???.txt", b"text", 400, "no usable characters"),
    (".txt", b"text", 400, "unsupported file type"),
])
def test_bad_uploads_are_refused_and_change_nothing(http, name, data, status, words):
    before = _ids(http)
    response = http.post("/v1/documents", files={"file": (name, data)})
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]
    assert _ids(http) == before


def test_an_upload_over_the_limit_is_a_413(http):
    response = http.post("/v1/documents", files={"file": ("big.txt", b"a" * (3 * 1024 * 1024))})
    assert response.status_code == 413


def test_a_missing_file_field_is_a_422(http):
    assert http.post("/v1/documents", data={"x": "y"}).status_code == 422


def test_deleting_an_unknown_document_is_a_404(http):
    response = http.delete("/v1/documents/cq-sti/none.txt")
    assert response.status_code == 404 and "none.txt" in response.json()["error"]["message"]


def test_queries_during_uploads_and_deletes_see_the_old_index_or_the_new(http, writable):
    """Readers hammer the server while a writer adds and removes a document three times."""
    old = _ids(http)
    new = old | {"uploads/concurrent.txt"}
    seen: list[frozenset] = []
    failures: list[str] = []
    stop = threading.Event()

    def reader(kind: str):
        with writable.client() as client:
            while not stop.is_set():
                if kind == "list":
                    r = client.get("/v1/documents")
                    if r.status_code == 200:
                        seen.append(frozenset(d["doc_id"] for d in r.json()["documents"]))
                else:
                    r = client.post("/v1/ask", json={"question": QUESTION})
                    if r.status_code == 200 and "4222" not in r.json()["answer"]:
                        failures.append(f"wrong answer {r.json()['answer'][:60]}")
                if r.status_code != 200:
                    failures.append(f"{kind}: {r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=reader, args=(k,)) for k in ("list", "ask", "ask")]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            up = http.post("/v1/documents", files={"file": ("concurrent.txt", NOTE.encode())})
            assert up.status_code == 201, up.text
            assert http.delete("/v1/documents/uploads/concurrent.txt").status_code == 200
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, failures[:3]
    assert set(seen) == {frozenset(old), frozenset(new)}, "both states seen, nothing else"
    assert _ids(http) == old
