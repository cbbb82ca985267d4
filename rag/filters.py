"""Filters on document metadata, turned into the set of chunk rows retrieval may return.

Retrieval applies the set inside both retrievers (FAISS searches only allowed rows, BM25 scores of
other rows are zeroed), so a filter never empties a short list that was cut before filtering.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields

import numpy as np

from index.store import LoadedIndex
from index.types import Document

_ISO_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class FilterError(ValueError):
    """A filter that cannot be applied (a malformed date); the message says which."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Which documents may answer. Empty fields do not filter.

    Dates compare with the document's 成文日期 (`date`), else its 发布日期 (`published`), else its
    signature date; `since`/`until` may be a year, a month or a day (2020, 2020-06, 2020-06-30).
    A document with no date is excluded by a date filter.
    """

    since: str = ""
    until: str = ""
    publisher: str = ""  # a substring of 发布机构/发文机关, e.g. 科学技术局
    kind: str = ""  # 复函, 函, 意见, 通知, 报告…
    doc_prefix: str = ""  # a doc_id prefix: the folder, e.g. cq-sti/

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value and not _ISO_DATE.match(value):
                raise FilterError(f"{name} must be YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def admits(self, doc: Document) -> bool:
        """Whether the document passes every filter that is set."""
        meta = doc.meta
        if self.doc_prefix and not doc.id.startswith(self.doc_prefix):
            return False
        if self.kind and meta.get("kind") != self.kind:
            return False
        if self.publisher and self.publisher not in str(meta.get("publisher", "")):
            return False
        if self.since or self.until:
            date = str(meta.get("date") or meta.get("published") or meta.get("signed") or "")
            if not date:
                return False
            # A prefix compares as the whole period: until 2020 admits 2020-12-31.
            if self.since and date[:len(self.since)] < self.since:
                return False
            if self.until and date[:len(self.until)] > self.until:
                return False
        return True


def allowed_rows(index: LoadedIndex, filters: Filters | None) -> np.ndarray | None:
    """Chunk rows of admitted documents, or None when nothing is filtered."""
    if filters is None or not filters.active:
        return None
    admitted = {doc_id for doc_id, doc in index.documents.items() if filters.admits(doc)}
    return np.fromiter((row for row, c in enumerate(index.chunks) if c.doc_id in admitted),
                       dtype=np.int64)
