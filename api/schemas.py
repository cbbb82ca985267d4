"""Request and response bodies of the HTTP API (pydantic), as the OpenAPI document shows them."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

# Hard ceilings in the schema keep absurd inputs out before any work; the configured limits
# (rag/config.py: question length, message count) are checked by the routes.
MAX_TEXT = 100_000
MODEL_ID = "cq-rag"  # the one model `GET /v1/models` lists and chat completions report

# Said once, for every offset the API returns.
_OFFSETS = ("an offset into the document's stored text (`text` of GET /v1/documents/{doc_id}, "
            "what `rag docs show` prints), not into the original file's bytes")


class ErrorBody(BaseModel):
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """Every error, 4xx or 5xx: the shape OpenAI clients read."""

    error: ErrorBody


# --- native API ---------------------------------------------------------------------------------

_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"


class Filters(BaseModel):
    """Which documents may answer; applied inside retrieval (rag/filters.py). Unset = no filter."""

    model_config = ConfigDict(extra="forbid")
    since: str | None = Field(None, pattern=_DATE, description="dated on or after YYYY[-MM[-DD]]")
    until: str | None = Field(None, pattern=_DATE, description="dated on or before YYYY[-MM[-DD]]")
    publisher: str | None = Field(None, max_length=200, description="publisher contains this")
    kind: str | None = Field(None, max_length=20, description="复函, 函, 意见, 通知, 报告…")
    doc_id_prefix: str | None = Field(None, max_length=300, description="doc_id starts so")

    def to_filters(self):
        from rag.filters import Filters as RagFilters

        return RagFilters(since=self.since or "", until=self.until or "",
                          publisher=self.publisher or "", kind=self.kind or "",
                          doc_prefix=self.doc_id_prefix or "")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(..., max_length=MAX_TEXT)
    k: int | None = Field(None, ge=1, le=100, description="passages to return")
    filters: Filters | None = Field(None, description="only documents these admit may answer")


class _PagedOut(BaseModel):
    """Leaves `page` and `instruction_like` out unless set, so the objects equal
    `rag ask --json`'s."""

    instruction_like: bool | None = Field(None, description="present (true) when the text reads "
                                          "like an instruction to a model: prompt injection; "
                                          "see rag/injection.py")

    @model_serializer(mode="wrap")
    def _drop_empty_page(self, handler):
        data = handler(self)
        for key in ("page", "instruction_like"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class CitationOut(_PagedOut):
    """A cited span: `text[start:end] == quote`, where `text` is the document's stored text."""

    n: int
    doc_id: str
    title: str
    start: int = Field(..., description=f"where the quote starts: {_OFFSETS}")
    end: int = Field(..., description=f"where the quote ends (exclusive): {_OFFSETS}")
    quote: str
    page: int | None = Field(None, description="paged documents (PDF) only: 第N页 of the span")


class PassageOut(_PagedOut):
    """A retrieved passage: `text[start:end]` of the document's stored text."""

    doc_id: str
    chunk_id: str
    start: int = Field(..., description=f"where the passage starts: {_OFFSETS}")
    end: int = Field(..., description=f"where the passage ends (exclusive): {_OFFSETS}")
    score: float
    text: str
    page: int | None = Field(None, description="paged documents (PDF) only")


class AskResponse(BaseModel):
    """The `rag ask --json` contract."""

    question: str
    answer: str
    answerable: bool
    citations: list[CitationOut]
    passages: list[PassageOut]
    timings_ms: dict[str, float]


class SearchResponse(BaseModel):
    query: str
    passages: list[PassageOut]
    timings_ms: dict[str, float]


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    chars: int
    meta: dict[str, Any]


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class DocumentOut(BaseModel):
    """A whole document: `text[start:end]` of any citation is its quote.

    `text` is the stored text (extracted from HTML, PDF or Word, decoded from GB18030…): the
    text every offset indexes, not the original file's bytes."""

    doc_id: str
    title: str
    text: str
    meta: dict[str, Any]


class UploadResult(BaseModel):
    doc_id: str
    status: Literal["added", "replaced", "unchanged"]
    documents: int
    chunks: int
    embedded: int


class DeleteResult(BaseModel):
    doc_id: str
    deleted: bool
    documents: int
    chunks: int


# --- OpenAI chat completions --------------------------------------------------------------------

class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = Field(..., max_length=50)
    text: str | None = Field(None, max_length=MAX_TEXT)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_calls, … are accepted and ignored
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[str, Field(max_length=MAX_TEXT)] | \
        Annotated[list[ContentPart], Field(max_length=100)] | None = None

    def text(self) -> str:
        """The message's text; the text parts of a multi-part message, joined."""
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = Field(False, description="end the stream with a chunk that carries "
                                "`usage` (and no choices), as OpenAI does")


class ChatRequest(BaseModel):
    """The OpenAI chat schema; sampling fields (temperature, top_p, …) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(MODEL_ID, max_length=200, description=f"any name is accepted; the "
                       f"reply names the one model there is, {MODEL_ID!r}")
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=1000)
    stream: bool = False
    stream_options: StreamOptions | None = None


class Usage(BaseModel):
    """Sizes in characters (Unicode code points), not tokens: the answer is extracted from the
    documents, so no tokenizer is involved."""

    prompt_tokens: int = Field(..., description="characters of the text of every message sent")
    completion_tokens: int = Field(..., description="characters of the reply's `content`")
    total_tokens: int = Field(..., description="the sum of the two")


class RagInfo(BaseModel):
    answerable: bool
    passages: list[PassageOut]
    rewritten_question: str
    rewrite_rule: str


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[CitationOut]
    rag: RagInfo


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(..., description="when the live index generation was built (Unix "
                         "time): the answers change when it does")
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]
