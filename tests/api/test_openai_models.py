"""What OpenAI tools ask besides a chat, through the official client: the model list, and
`usage`."""
from __future__ import annotations

import openai
import pytest

from api_helpers import API_KEY, QUESTION

MESSAGES = [{"role": "system", "content": "Answer from the documents."},
            {"role": "user", "content": QUESTION}]
PROMPT_CHARS = len(MESSAGES[0]["content"]) + len(QUESTION)


@pytest.fixture(scope="module")
def client(api):
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key=API_KEY, max_retries=0, timeout=60)


def test_models_list_names_the_model_that_chat_completions_report(client):
    models = list(client.models.list())
    assert [(m.id, m.object, m.owned_by) for m in models] == [("cq-rag", "model", "cq-rag")]
    assert models[0].created > 1_600_000_000  # when the live index generation was built
    assert client.models.retrieve("cq-rag").id == "cq-rag"
    # A tool's own default model name is accepted; the reply names the model that answered.
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.model == models[0].id


def test_an_unknown_model_is_a_404_in_openais_error_shape(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("gpt-4o-mini")
    assert info.value.status_code == 404
    assert info.value.body == {
        "message": "the model 'gpt-4o-mini' does not exist; this server serves 'cq-rag'",
        "type": "invalid_request_error", "param": "model", "code": "model_not_found"}


def test_usage_counts_characters_of_the_messages_and_of_the_reply(client):
    completion = client.chat.completions.create(model="cq-rag", messages=MESSAGES)
    content = completion.choices[0].message.content
    assert "4222" in content
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        PROMPT_CHARS, len(content), PROMPT_CHARS + len(content))


def test_a_stream_sends_usage_last_when_asked_as_openai_does(client):
    plain = client.chat.completions.create(model="cq-rag", messages=MESSAGES)
    chunks = list(client.chat.completions.create(
        model="cq-rag", messages=MESSAGES, stream=True,
        stream_options={"include_usage": True}))
    *answer, last = chunks
    assert last.choices == [] and last.usage == plain.usage
    assert all(c.usage is None for c in answer)
    assert answer[-1].choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].delta.content or "" for c in answer)
    assert streamed == plain.choices[0].message.content


def test_a_stream_sends_no_usage_unless_asked(client):
    chunks = list(client.chat.completions.create(model="cq-rag", messages=MESSAGES,
                                                 stream=True))
    assert all(c.choices and c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
