"""The chat page and /docs in Debian's headless Chromium (selenium + /usr/bin/chromedriver, no
downloads), against a real `rag serve`.

The start page lists the documents and offers example questions made from them; a question
streams in with [n] links and source cards (title, publisher, date), and a click on [1]
highlights exactly the citation's quote; a follow-up shows how it was rewritten; labels follow
the question's language; a document is uploaded and deleted from the page; the layout holds at
390 and 1280 px (screenshots under pytest's tmp folder, paths printed); and /docs renders its
operations with the network closed, from assets the server ships.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import httpx
import pytest

from api_helpers import API_KEY, QUESTION

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
DONE = "#messages li.assistant[data-done='true']"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                       reason="Debian's chromium and chromium-driver are not installed "
                              "(`apt-get install -y chromium chromium-driver`; .ci/run does it)"),
]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The network is closed here: without these, Chromium waits on connections of its own.
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--window-size=1280,900", "--lang=en-US"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(browser, seconds: int = 90):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds)


def _css(browser, selector: str):
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, selector)


def _open(browser, server, key: str | None = None) -> None:
    """Load the page (typing the key, if any) and wait for its document list."""
    from selenium.webdriver.common.by import By

    browser.get(f"{server.url}/")
    if key:
        browser.find_element(By.ID, "api-key").send_keys(key)
        browser.find_element(By.ID, "question").click()  # the key's change event lists the documents
    _wait(browser, 30).until(lambda b: _css(b, "#doc-list li.doc"))


def _ask(browser, question: str):
    """Type a question, press the button, and return the finished answer's <li>."""
    from selenium.webdriver.common.by import By

    before = len(_css(browser, DONE))
    browser.find_element(By.ID, "question").send_keys(question)
    browser.find_element(By.ID, "send").click()
    _wait(browser).until(lambda b: len(_css(b, DONE)) > before)
    return _css(browser, DONE)[-1]


def _meta_line(meta: dict) -> str:
    """What the page shows under a title: 发文字号 · publisher · date (the fields it has)."""
    date = meta.get("date") or meta.get("published") or meta.get("signed")
    return " · ".join(v for v in (meta.get("doc_number"), meta.get("publisher"), date) if v)


def _documents(server) -> dict[str, dict]:
    with server.client() as http:
        return {d["doc_id"]: d for d in http.get("/v1/documents").json()["documents"]}


def test_streamed_answer_has_source_cards_and_links_to_the_highlighted_cited_span(api, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    with api.client() as http:
        citations = http.post("/v1/ask", json={"question": QUESTION}).json()["citations"]
    meta = _documents(api)[citations[0]["doc_id"]]["meta"]

    _open(browser, api, API_KEY)
    answer = _ask(browser, QUESTION)
    text = answer.find_element(By.CSS_SELECTOR, ".answer-text")
    assert "4222" in text.text
    assert [a.text for a in text.find_elements(By.CSS_SELECTOR, "a.cite")] == ["[1]", "[2]"]

    # The plain-text source list (doc_id and offsets) gives way to one card per citation.
    assert "Sources:" not in answer.text and citations[0]["doc_id"] not in answer.text
    cards = answer.find_elements(By.CSS_SELECTOR, ".source-card")
    assert len(cards) == len(citations)
    for card, citation in zip(cards, citations):
        assert card.find_element(By.CSS_SELECTOR, "a.cite").text == f"[{citation['n']}]"
        assert card.find_element(By.CSS_SELECTOR, ".card-title").text == citation["title"]
        assert card.find_element(By.CSS_SELECTOR, ".card-meta").text == _meta_line(meta)

    text.find_element(By.CSS_SELECTOR, "a.cite").click()
    mark = _wait(browser).until(ec.visibility_of_element_located(
        (By.CSS_SELECTOR, "#source-text mark")))
    assert mark.text == citations[0]["quote"]
    assert len(_css(browser, "#source-text *")) == 1, "document text is text, not markup"
    assert browser.find_element(By.ID, "source-title").text == f"[1] {citations[0]['title']}"
    assert browser.find_element(By.ID, "source-meta").text == _meta_line(meta)

    # A click on the second card shows the second span.
    cards[1].find_element(By.CSS_SELECTOR, ".card-title").click()
    _wait(browser).until(lambda b: b.find_element(By.ID, "source-title").text.startswith("[2]"))
    assert browser.find_element(By.CSS_SELECTOR, "#source-text mark").text == citations[1]["quote"]


def test_a_refused_key_shows_the_error(api, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{api.url}/")
    _wait(browser, 30).until(lambda b: "API key" in b.find_element(By.ID, "library-status").text)
    browser.find_element(By.ID, "question").send_keys(QUESTION)
    browser.find_element(By.ID, "send").click()
    error = _wait(browser, 30).until(lambda b: _css(b, "#messages li.error"))[0]
    assert "API key" in error.text


def test_the_start_page_lists_the_documents_and_offers_questions_about_them(writable, browser):
    from selenium.webdriver.common.by import By

    docs = _documents(writable)
    _open(browser, writable)
    rows = _css(browser, "#doc-list li.doc")
    assert {r.get_attribute("data-doc-id") for r in rows} == set(docs)
    for row in rows:
        doc = docs[row.get_attribute("data-doc-id")]
        assert row.find_element(By.CSS_SELECTOR, ".doc-title").text == doc["title"]
        assert row.find_element(By.CSS_SELECTOR, ".doc-meta").text == _meta_line(doc["meta"])
    assert any("渝科局函〔2024〕300号" in r.text for r in rows), "the 发文字号 is listed"
    assert browser.find_element(By.ID, "doc-count").text == f"({len(docs)})"

    # Example questions name the documents by title; a click asks one.
    examples = [b.text for b in _css(browser, "#examples button.example")]
    assert 2 <= len(examples) <= 4 and len(set(examples)) == len(examples)
    titles = [d["title"] for d in docs.values()]
    assert all(any(q.startswith(t) for t in titles) for q in examples), examples
    _css(browser, "#examples button.example")[0].click()
    answer = _wait(browser).until(lambda b: _css(b, DONE))[0]
    assert _css(browser, "#messages li.user")[0].text == examples[0]
    assert answer.find_elements(By.CSS_SELECTOR, ".source-card")
    assert not browser.find_element(By.ID, "welcome").is_displayed()


def test_a_document_is_uploaded_answered_and_deleted_from_the_page(writable, browser, tmp_path):
    from selenium.webdriver.common.by import By

    name, doc_id = "page_upload.txt", "uploads/page_upload.txt"
    note = tmp_path / name
    note.write_text("重庆市科学技术局关于页面上传测试的通知\n\n一、总体情况\n"
                    "2024年,全市新认定页面测试示范基地23个。\n", encoding="utf-8")
    _open(browser, writable)
    count = len(_css(browser, "#doc-list li.doc"))

    browser.find_element(By.ID, "upload-file").send_keys(str(note))
    browser.find_element(By.ID, "upload").click()
    row = _wait(browser).until(lambda b: _css(b, f"#doc-list li[data-doc-id='{doc_id}']"))[0]
    assert "Added: uploads/page_upload.txt" in browser.find_element(By.ID, "library-status").text
    assert row.find_element(By.CSS_SELECTOR, ".doc-title").text == "重庆市科学技术局关于页面上传测试的通知"
    assert len(_css(browser, "#doc-list li.doc")) == count + 1
    assert doc_id in _documents(writable)

    answer = _ask(browser, "2024年全市新认定页面测试示范基地多少个？")
    assert "23个" in answer.find_element(By.CSS_SELECTOR, ".answer-text").text
    card = answer.find_elements(By.CSS_SELECTOR, ".source-card .card-title")[0]
    assert card.text == "重庆市科学技术局关于页面上传测试的通知"

    try:
        row.find_element(By.CSS_SELECTOR, "button.delete").click()
        alert = _wait(browser, 10).until(lambda b: b.switch_to.alert)
        assert "重庆市科学技术局关于页面上传测试的通知" in alert.text
        alert.accept()
        _wait(browser).until(lambda b: not _css(b, f"#doc-list li[data-doc-id='{doc_id}']"))
        assert "uploads/page_upload.txt" in browser.find_element(By.ID, "library-status").text
        assert len(_css(browser, "#doc-list li.doc")) == count
        assert doc_id not in _documents(writable)
    finally:
        with writable.client() as http:
            http.delete(f"/v1/documents/{doc_id}")  # 404 once the page has deleted it


def test_a_rewritten_follow_up_is_shown_and_labels_follow_the_question_language(api, browser):
    from selenium.webdriver.common.by import By

    _open(browser, api, API_KEY)
    assert browser.find_element(By.ID, "send").text == "Ask"

    answer = _ask(browser, QUESTION)
    assert browser.find_element(By.ID, "send").text == "提问"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert answer.find_element(By.CSS_SELECTOR, ".sources h3").text == "来源"
    assert not answer.find_element(By.CSS_SELECTOR, ".rewrite").is_displayed(), \
        "a question asked as written shows no rewrite"

    follow_up = _ask(browser, "那科技型企业呢？")
    rewrite = follow_up.find_element(By.CSS_SELECTOR, ".rewrite")
    assert rewrite.is_displayed(), "the rewrite is in view, not in a tooltip"
    assert rewrite.find_element(By.CSS_SELECTOR, ".label").text == "理解为："
    assert rewrite.find_element(By.CSS_SELECTOR, "q").text == "2020年重庆累计培育科技型企业多少家？"
    assert "26371" in follow_up.find_element(By.CSS_SELECTOR, ".answer-text").text

    english = _ask(browser, "How many high-tech enterprises did Chongqing have in 2020?")
    assert browser.find_element(By.ID, "send").text == "Ask"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert english.find_element(By.CSS_SELECTOR, ".sources h3").text in (
        "Sources", "Closest passages (no answer found)")
    assert browser.find_element(By.CSS_SELECTOR, "#library h2 span").text == "Documents"
    # The earlier answers keep the labels of their own question.
    assert follow_up.find_element(By.CSS_SELECTOR, ".sources h3").text == "来源"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_fits_the_screen_at_each_width(api, browser, width, tmp_path):
    from selenium.webdriver.common.by import By

    browser.set_window_size(width, 900)
    _open(browser, api, API_KEY)
    assert browser.execute_script("return window.innerWidth") == width
    answer = _ask(browser, QUESTION)
    answer.find_element(By.CSS_SELECTOR, "a.cite").click()
    _wait(browser).until(lambda b: b.find_element(By.ID, "source").is_displayed())
    browser.execute_script("window.scrollTo(0, 0)")

    measure = """
        const box = (id) => document.getElementById(id).getBoundingClientRect().toJSON();
        return {inner: window.innerWidth, innerHeight: window.innerHeight,
                scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth,
                send: box("send"), question: box("question"), chat: box("chat"),
                side: box("side"), upload: box("upload")};"""
    geometry = browser.execute_script(measure)
    assert geometry["scroll"] <= geometry["inner"] and geometry["body"] <= geometry["inner"], \
        f"horizontal overflow at {width} px: {geometry}"
    for name in ("send", "upload", "question"):
        rect = geometry[name]
        assert rect["left"] >= 0 and rect["right"] <= geometry["inner"] and rect["width"] > 30, \
            f"#{name} is clipped at {width} px: {rect}"
    if width < 700:  # one column: the documents and the source panel come under the chat
        assert geometry["side"]["top"] >= geometry["chat"]["bottom"]
    else:
        assert geometry["side"]["left"] >= geometry["chat"]["right"]

    # Scrolled to, the Ask button is wholly in the viewport, not cut by the edge.
    browser.execute_script("document.getElementById('send').scrollIntoView({block: 'center'})")
    at = browser.execute_script(measure)
    send = at["send"]
    assert 0 <= send["left"] and send["right"] <= at["inner"], send
    assert 0 <= send["top"] and send["bottom"] <= at["innerHeight"], send
    assert browser.find_element(By.ID, "send").is_displayed()

    # The favicon is linked from the page, and /favicon.ico answers too.
    assert browser.find_element(By.CSS_SELECTOR, "link[rel='icon']").get_attribute(
        "href").endswith("/static/favicon.svg")
    assert browser.execute_script(
        "return fetch('/static/favicon.svg').then((r) => r.status)") == 200

    shot = tmp_path / f"chat_page_{width}.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_docs_render_offline_from_the_server_s_own_assets(writable, browser):
    spec = httpx.get(f"{writable.url}/openapi.json").json()
    operations = sum(len(item) for item in spec["paths"].values())

    browser.get(f"{writable.url}/docs")
    blocks = _wait(browser, 30).until(lambda b: _css(b, "#swagger-ui .opblock"))
    assert len(blocks) == operations
    assert "cq-rag" in _css(browser, "#swagger-ui .title")[0].text
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)")
    assert loaded and all(url.startswith(writable.url) for url in loaded), loaded

    # ReDoc too; its one outside request is the image of Redocly's footer logo, which fails
    # quietly with no network: scripts, styles and the spec all come from the server.
    browser.get(f"{writable.url}/redoc")
    _wait(browser, 30).until(lambda b: _css(b, "redoc .api-content h1"))
    loaded = browser.execute_script("return performance.getEntriesByType('resource')"
                                    ".filter((e) => e.initiatorType !== 'img').map((e) => e.name)")
    assert loaded and all(url.startswith(writable.url) for url in loaded), loaded
