"""Official-document structure: boilerplate spans, header-block metadata and headings.

Nothing here rewrites text: boilerplate is reported as spans to exclude from chunks, and
metadata is read off the text.
"""
from __future__ import annotations

import re
from typing import Any

from index.types import Span

_NAV_LINE = re.compile(r"^[ \t\u3000]*您当前的位置.*$", re.M)
_FOOTER_LINE = re.compile(r"^[ \t\u3000]*扫一扫(?:在手机打开当前页|[,，]?\s*分享到手机).*$", re.M)
_HEADER_LINE = re.compile(r"^[ \t\u3000]*\[\s*[\u4e00-\u9fff]{2,6}\s*\].*$", re.M)

# Header-block labels, as they appear in `[ 标签 ] 值`, to metadata keys.
HEADER_FIELDS = {
    "索引号": "index_no",
    "发文字号": "doc_number",
    "主题分类": "topic",
    "体裁分类": "genre",
    "发布机构": "publisher",
    "成文日期": "date",
    "发布日期": "published",
}
_HEADER_FIELD = re.compile(r"\[\s*(" + "|".join(HEADER_FIELDS) + r")\s*\][ \t\u3000]*([^\[\n]*)")
_DATE_LINE = re.compile(r"^[ \t\u3000]*日期[:：]\s*(\S+)(?:\s+来源[:：]\s*(\S+))?", re.M)
_DATE = re.compile(r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")

_HEADING_PATTERNS = (
    re.compile(r"^[ \t\u3000]*[一二三四五六七八九十百]+、"),
    re.compile(r"^[ \t\u3000]*[（(][一二三四五六七八九十百]+[）)]"),
    re.compile(r"^[ \t\u3000]*\d{1,2}[.．、](?!\d)"),
)
MAX_HEADING_CHARS = 40


def iso_date(value: str) -> str | None:
    """`2019-10-23`, `2021年06月11日` or `2022/11/4` to `YYYY-MM-DD`; None if no date."""
    m = _DATE.search(value)
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1].end + 1:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def boilerplate_spans(text: str) -> list[Span]:
    """Spans of navigation crumbs, the header block (both copies) and footers."""
    spans = [Span(m.start(), m.end()) for m in _NAV_LINE.finditer(text)]
    spans += [Span(m.start(), m.end()) for m in _FOOTER_LINE.finditer(text)]
    spans += [Span(m.start(), m.end()) for m in _HEADER_LINE.finditer(text)]
    return _merge(spans)


def body_spans(text: str) -> list[Span]:
    """The complement of `boilerplate_spans`: the parts of the text worth chunking."""
    spans, cursor = [], 0
    for bp in boilerplate_spans(text):
        if bp.start > cursor:
            spans.append(Span(cursor, bp.start))
        cursor = max(cursor, bp.end)
    if cursor < len(text):
        spans.append(Span(cursor, len(text)))
    return [s for s in spans if text[s.start:s.end].strip()]


def _title(text: str) -> str:
    for span in body_spans(text):
        for line in text[span.start:span.end].splitlines():
            line = line.strip()
            if line and not _DATE_LINE.match(line):
                return line[:200]
    return ""


def extract_metadata(text: str) -> dict[str, Any]:
    """Title and header-block fields (dates as ISO), falling back to the `日期:` line."""
    meta: dict[str, Any] = {"title": _title(text)}
    for label, value in _HEADER_FIELD.findall(text):
        key, value = HEADER_FIELDS[label], value.strip()
        if value and key not in meta:
            meta[key] = iso_date(value) if key in ("date", "published") else value
    date_line = _DATE_LINE.search(text)
    if date_line:
        if "published" not in meta and iso_date(date_line.group(1)):
            meta["published"] = iso_date(date_line.group(1))
        if date_line.group(2):
            meta.setdefault("source", date_line.group(2))
    return {k: v for k, v in meta.items() if v}


def heading_level(line: str) -> int | None:
    """1 for `一、`, 2 for `(一)`, 3 for `1.`; None for a line that is no heading."""
    for level, pattern in enumerate(_HEADING_PATTERNS, start=1):
        if pattern.match(line):
            return level
    return None


def heading_marks(text: str) -> list[tuple[int, int, str]]:
    """(offset, level, heading text) for every heading line, in order."""
    marks = []
    offset = 0
    for line in text.splitlines(keepends=True):
        level = heading_level(line)
        if level is not None:
            heading = line.strip()
            # A heading often runs on into its paragraph: `(一)指导思想。坚持…`.
            cut = heading.find("。")
            if cut > 0:
                heading = heading[:cut]
            marks.append((offset, level, heading[:MAX_HEADING_CHARS]))
        offset += len(line)
    return marks


def heading_path_at(marks: list[tuple[int, int, str]], offset: int) -> list[str]:
    """The headings in force at `offset`: the latest of each level, outer first."""
    path: dict[int, str] = {}
    for pos, level, heading in marks:
        if pos > offset:
            break
        path[level] = heading
        for deeper in [lv for lv in path if lv > level]:
            del path[deeper]
    return [path[lv] for lv in sorted(path)]
