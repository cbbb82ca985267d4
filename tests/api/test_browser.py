"""The chat page in Debian's headless Chromium (selenium + /usr/bin/chromedriver, no downloads).

Type a question, watch the answer stream in, click its [1] and check that the highlighted span
of the source document is exactly the citation's quote. The screenshot is saved to
tests/artifacts/chat_page.png (ignored by git) and its path printed.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from api_helpers import API_KEY, QUESTION

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

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
                 "--window-size=1400,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_streamed_answer_links_to_the_highlighted_cited_span(api, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with api.client() as http:
        citation = http.post("/v1/ask", json={"question": QUESTION}).json()["citations"][0]

    browser.get(f"{api.url}/")
    browser.find_element(By.ID, "api-key").send_keys(API_KEY)
    browser.find_element(By.ID, "question").send_keys(QUESTION)
    browser.find_element(By.ID, "send").click()
    wait = WebDriverWait(browser, 60)
    answer = wait.until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, "#messages li.assistant[data-done='true']")))
    assert "4222" in answer.text and "Sources:" in answer.text
    links = answer.find_elements(By.CSS_SELECTOR, "a.cite")
    # the fact [1], then its sentence [2], in the answer and again in its source list
    assert [a.text for a in links] == ["[1]", "[2]", "[1]", "[2]"]

    links[0].click()
    mark = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#source-text mark")))
    assert mark.text == citation["quote"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#source-text *")) == 1, \
        "document text is text, not markup"
    assert browser.find_element(By.ID, "source-title").text == f"[1] {citation['title']}"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "chat_page.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_a_refused_key_shows_the_error(api, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{api.url}/")
    browser.find_element(By.ID, "question").send_keys(QUESTION)
    browser.find_element(By.ID, "send").click()
    error = WebDriverWait(browser, 30).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, "#messages li.error")))
    assert "API key" in error.text
