"""Request and response bodies of the HTTP API (pydantic), as the OpenAPI document shows them."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

# Hard ceilings in the schema keep absurd inputs out before any work; the configured limits
# (rag/config.py: question length, message count) are checked by the routes.
MAX_TEXT = 100_000


class ErrorBody(BaseModel):
    message: str
    type: str = "invalid_request_error"
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
    n: int
    doc_id: str
    title: str
    start: int
    end: int
    quote: str
    page: int | None = Field(None, description="paged documents (PDF) only: 第N页 of the span")


class PassageOut(_PagedOut):
    doc_id: str
    chunk_id: str
    start: int
    end: int
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
    """A whole document: `text[start:end]` of any citation is its quote."""

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


class ChatRequest(BaseModel):
    """The OpenAI chat schema; sampling fields (temperature, top_p, …) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field("cq-rag", max_length=200)
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=1000)
    stream: bool = False


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
    citations: list[CitationOut]
    rag: RagInfo
