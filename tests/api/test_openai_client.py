"""The chat endpoint through the official `openai` client, unchanged, against a real server."""
from __future__ import annotations

import openai
import pytest

from api_helpers import API_KEY, QUESTION


@pytest.fixture(scope="module")
def client(api):
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)


def test_non_streaming_completion_carries_answer_sources_citations_and_rag(client, api):
    completion = client.chat.completions.create(
        model="cq-rag", messages=[{"role": "user", "content": QUESTION}],
        temperature=0.3, top_p=0.9, max_tokens=50)  # sampling fields: accepted, ignored
    assert completion.object == "chat.completion"
    content = completion.choices[0].message.content
    answer, sources = content.split("\n\nSources:\n")
    assert "4222" in answer and answer.startswith(
        "累计培育科技型企业26371家、高新技术企业4222家[1]。") and answer.endswith("[2]")
    assert "[1] 市科技局2020年工作情况报告 — cq-sti/004_f07454981927e40f.txt [" in sources
    extra = completion.model_extra
    cited = extra["citations"][0]
    assert set(cited) == {"n", "doc_id", "title", "start", "end", "quote"}
    with api.client() as http:  # the same objects as `rag ask --json`
        assert http.post("/v1/ask", json={"question": QUESTION}).json()["citations"] == \
            extra["citations"]
    assert extra["rag"]["answerable"] is True
    assert extra["rag"]["rewritten_question"] == QUESTION
    assert extra["rag"]["passages"][0]["text"]


def test_streaming_completion_yields_chunks_and_ends_with_citations(client):
    stream = client.chat.completions.create(
        model="cq-rag", stream=True, messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)  # the client stops at `data: [DONE]`
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "4222" in text and "\n\nSources:\n  [1] " in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "4222" in chunks[-1].model_extra["citations"][0]["quote"]
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_streamed_and_plain_content_are_the_same(client):
    messages = [{"role": "user", "content": "成渝双城经济圈科创母基金的总规模是多少？"}]
    plain = client.chat.completions.create(model="m", messages=messages)
    streamed = "".join(c.choices[0].delta.content or "" for c in
                       client.chat.completions.create(model="m", messages=messages, stream=True))
    assert streamed == plain.choices[0].message.content


def test_a_follow_up_is_rewritten_from_the_conversation(client):
    completion = client.chat.completions.create(model="cq-rag", messages=[
        {"role": "system", "content": "You answer from documents."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "…高新技术企业4222家。[1]"},
        {"role": "user", "content": "那科技型企业呢？"}])
    rag = completion.model_extra["rag"]
    assert rag["rewritten_question"] == "2020年重庆累计培育科技型企业多少家？"
    assert rag["rewrite_rule"] == "suffix"
    assert "26371" in completion.choices[0].message.content


def test_multi_part_content_is_read_as_text(client):
    completion = client.chat.completions.create(model="cq-rag", messages=[
        {"role": "user", "content": [{"type": "text", "text": QUESTION}]}])
    assert "4222" in completion.choices[0].message.content


@pytest.mark.parametrize("messages, status, words", [
    ([], 422, "messages"),
    ([{"role": "assistant", "content": "hi"}], 400, "role 'user'"),
    ([{"role": "user", "content": "   "}], 400, "empty"),
    ([{"role": "user", "content": "问" * 2001}], 400, "limit is 2000"),
    ([{"role": "wizard", "content": "hi"}], 422, "role"),
])
def test_bad_requests_raise_the_clients_status_errors(client, messages, status, words):
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="cq-rag", messages=messages)
    assert info.value.status_code == status
    assert words in info.value.body["message"]


def test_a_wrong_key_is_an_authentication_error(api):
    bad = openai.OpenAI(base_url=f"{api.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="cq-rag", messages=[{"role": "user", "content": "x"}])
