"""`POST /v1/chat/completions`: the OpenAI chat protocol over cited, extractive answers.

The last user message, rewritten against the earlier ones (rag/conversation.py), is answered by
`RagService`. The answer is extracted in one step, so `stream: true` sends it sentence by
sentence once it is ready: each piece ends at a `[n]` marker, so a marker never arrives split.
`usage` counts characters, not tokens (api/schemas.py `Usage`).
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Iterator

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import get_service
from api.schemas import MODEL_ID, ChatCompletion, ChatRequest, ErrorResponse
from rag.conversation import Rewrite
from rag.render import answer_pieces, answer_text, sources_text
from rag.service import RagService
from rag.types import Answer

router = APIRouter(prefix="/v1", tags=["chat"],
                   responses={400: {"model": ErrorResponse}, 415: {"model": ErrorResponse},
                              422: {"model": ErrorResponse}})


def _turns(body: ChatRequest, max_messages: int) -> tuple[list[str], list[str]]:
    """User turns and the assistant replies that followed each; 400 if they cannot be answered."""
    if len(body.messages) > max_messages:
        raise HTTPException(400, f"{len(body.messages)} messages; the limit is {max_messages}")
    if body.messages[-1].role != "user":
        raise HTTPException(400, "the last message must have role 'user'")
    turns, answers = [], []
    for message in body.messages:
        if message.role == "user":
            turns.append(message.text())
            answers.append("")
        elif message.role == "assistant" and answers:
            answers[-1] = message.text()
    return turns, answers[:-1]


def _rag_info(rewrite: Rewrite, answer: Answer) -> dict:
    return {"answerable": answer.answerable, "passages": [h.to_dict() for h in answer.hits],
            "rewritten_question": rewrite.question, "rewrite_rule": rewrite.rule}


@router.post("/chat/completions", response_model=ChatCompletion,
             responses={200: {"content": {"text/event-stream": {}}}})
async def chat_completions(body: ChatRequest, service: RagService = Depends(get_service)):
    """A `chat.completion` (or, with `stream`, `chat.completion.chunk` events and `[DONE]`)."""
    turns, answers = _turns(body, service.settings.max_messages)
    rewrite, answer = await run_in_threadpool(service.converse, turns, answers)
    # Any model name is accepted (tools send their own default); the reply names the real one.
    meta = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()),
            "model": MODEL_ID}
    citations = [c.to_dict() for c in answer.citations]
    content = answer_text(answer)
    usage = _usage(body, content)
    if not body.stream:
        return {**meta, "object": "chat.completion",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": usage, "citations": citations, "rag": _rag_info(rewrite, answer)}
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    return StreamingResponse(_events(meta, answer, rewrite, citations,
                                     usage if include_usage else None),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _usage(body: ChatRequest, content: str) -> dict:
    """Characters, not tokens: no tokenizer takes part in an extracted answer, and a character
    count is the same whichever model a client has in mind."""
    prompt = sum(len(m.text()) for m in body.messages)
    return {"prompt_tokens": prompt, "completion_tokens": len(content),
            "total_tokens": prompt + len(content)}


def _events(meta: dict, answer: Answer, rewrite: Rewrite, citations: list[dict],
            usage: dict | None) -> Iterator[str]:
    """The chunks; with `usage` (stream_options.include_usage), every chunk has `usage: null`
    and a last chunk without choices carries it, as OpenAI streams it."""
    extra_usage = {} if usage is None else {"usage": None}

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {**meta, "object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                 **extra_usage, **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in answer_pieces(answer.text):
        yield event({"content": piece})
    yield event({"content": f"\n\n{sources_text(answer)}"})
    yield event({}, "stop", citations=citations, rag=_rag_info(rewrite, answer))
    if usage is not None:
        chunk = {**meta, "object": "chat.completion.chunk", "choices": [], "usage": usage}
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
