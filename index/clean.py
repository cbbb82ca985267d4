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

# Header-block labels, as they appear in `[ 标签 ] 值` or `标签：值`, to metadata keys.
HEADER_FIELDS = {
    "索引号": "index_no",
    "发文字号": "doc_number",
    "主题分类": "topic",
    "体裁分类": "genre",
    "发布机构": "publisher",
    "发文机关": "publisher",
    "成文日期": "date",
    "发布日期": "published",
}
_LABELS = "|".join(HEADER_FIELDS)
# OCR reads a scan's `[` as `【` or `［` about as often as not, and mixes them in one pair.
_OPEN, _CLOSE = r"[\[【［]", r"[\]】］]"
_HEADER_LINE = re.compile(r"^[ \t\u3000]*(?:" + _OPEN + r"\s*[\u4e00-\u9fff]{2,6}\s*"
                          + _CLOSE + r"|(?:" + _LABELS
                          + r")[ \t\u3000]*[:：]).*$", re.M)
HEADER_FIELD = re.compile(_OPEN + r"\s*(" + _LABELS + r")\s*" + _CLOSE
                          + r"[ \t\u3000]*([^\[【［\n]*)")
# `索引号：… 主题分类：…`, as header tables of web pages read once extracted: a line that
# starts with a label, one value per label, each running to the next label.
_COLON_FIELD = re.compile(r"(" + _LABELS + r")[ \t\u3000]*[:：][ \t\u3000]*(.*?)(?=[ \t\u3000]*(?:"
                          + _LABELS + r")[ \t\u3000]*[:：]|$)", re.M)
_DATE_LINE = re.compile(r"^[ \t\u3000]*日期[:：]\s*(\S+)(?:\s+来源[:：]\s*(\S+))?", re.M)
_DATE = re.compile(r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_H = r"[^\S\n]*"  # horizontal whitespace: the corpus indents with spaces, U+3000 and U+2002
# A signature: the issuing body on one line, then (blank lines allowed) the date alone.
_SIGNATURE = re.compile(rf"^{_H}(?:([^\s。，,：:；;]{{2,30}}){_H}\n(?:{_H}\n)*)?"
                        rf"{_H}(\d{{4}}年\d{{1,2}}月\d{{1,2}}日){_H}$", re.M)
_DOC_NUMBER_LINE = re.compile(rf"^{_H}([\u4e00-\u9fff]{{1,15}}[〔\[［(（]\d{{4}}[〕\]］)）]"
                              rf"{_H}\d+{_H}号){_H}$")
_ORG = r"(?:局|委员会|委|厅|政府|办公室|院|部|中心)"
# The 发文机关标志 over a letter: the body's name alone, often followed by 文件.
_MASTHEAD = re.compile(rf"^[^\s。，,：:；;]{{2,30}}{_ORG}(?:文件)?$")
_ORG_PREFIX = re.compile(rf"^(.{{2,30}}?{_ORG})(?:关于|\d{{4}}年)")
# Document kinds by the title's last words, longer first so that 复函 is not read as 函.
KINDS = ("复函", "批复", "意见", "通知", "通报", "报告", "决定", "公告", "通告", "办法", "规定",
         "方案", "规划", "纪要", "请示", "函")
_TRAILING_NOTE = re.compile(r"[（(][^（()）]*[）)]$")  # `…办法（试行）`
MAX_ADDRESSEE_CHARS = 80

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


def _body_lines(text: str) -> list[str]:
    """The non-empty lines of the body, stripped, in order."""
    return [line.strip() for span in body_spans(text)
            for line in text[span.start:span.end].splitlines() if line.strip()]


def _title(lines: list[str]) -> tuple[int, str]:
    """(line number, title): the first line that is no date line, 发文字号 or masthead."""
    for i, line in enumerate(lines):
        if not (_DATE_LINE.match(line) or _DOC_NUMBER_LINE.match(line) or _MASTHEAD.match(line)):
            return i, re.sub(r"^#{1,6}\s+", "", line)[:200]  # a Markdown title keeps no `#`
    return len(lines), ""


# A web page's title line wraps the official title: `重庆:关于…`, `关于… - 重庆市科学技术局`.
_PAGE_TITLE_PREFIX = re.compile(r"^[^:：]{1,12}[:：]\s*")
_PAGE_TITLE_SUFFIX = re.compile(r"\s*[-_|–—]\s*[^-_|–—]{2,30}$")
MAX_TITLE_CHARS = 100


def _official_title(lines: list[str], title_at: int, title: str) -> str:
    """The document's own title line (发文机关 + 关于 + 事由 + 文种) where the first line is a web
    page's wrapping of it: a later line near the top that ends with the first line's core."""
    core = _PAGE_TITLE_SUFFIX.sub("", _PAGE_TITLE_PREFIX.sub("", title)).strip()
    if len(core) < 6:
        return title
    for line in lines[title_at + 1:title_at + 40]:
        if (line != title and line.endswith(core) and len(line) <= MAX_TITLE_CHARS
                and not any(mark in line for mark in "。，,《")):
            return line
    return title


def _header_fields(text: str) -> dict[str, str]:
    """Fields of the header block, either form; the first value of a label wins."""
    found: list[tuple[str, str]] = HEADER_FIELD.findall(text)
    for line in _HEADER_LINE.finditer(text):
        found += _COLON_FIELD.findall(line.group())
    meta: dict[str, str] = {}
    for label, value in found:
        key = HEADER_FIELDS[label]
        value = (iso_date(value) or "") if key in ("date", "published") else value.strip()
        if value and key not in meta:
            meta[key] = value
    return meta


def _addressee(after_title: list[str]) -> str:
    """主送: the short line ending in a colon that opens the letter, right after the title."""
    for line in after_title[:3]:
        if _DATE_LINE.match(line) or _DOC_NUMBER_LINE.match(line):
            continue
        if line[-1] in ":：" and len(line) <= MAX_ADDRESSEE_CHARS and "。" not in line:
            return line[:-1].strip()
        return ""
    return ""


def _kind(title: str) -> str:
    bare = _TRAILING_NOTE.sub("", title).strip()
    return next((kind for kind in KINDS if bare.endswith(kind)), "")


def extract_metadata(text: str) -> dict[str, Any]:
    """Official-document fields, from the header block where there is one.

    Otherwise: the title line, the `日期:… 来源:…` line, the signature at the end (issuing body
    and date, e.g. 2022年11月4日), a standalone 发文字号 line under the title, and the opening
    `主送:` line. Dates are ISO. Keys: title, index_no, doc_number, topic, genre, publisher,
    date, published, signed (the signature's date), addressee, source, kind; empty ones are left out.
    """
    lines = _body_lines(text)
    title_at, title = _title(lines)
    meta: dict[str, Any] = {"title": _official_title(lines, title_at, title)}
    meta.update(_header_fields(text))
    date_line = _DATE_LINE.search(text)
    if date_line:
        meta.setdefault("published", iso_date(date_line.group(1)))
        if date_line.group(2):
            meta.setdefault("source", date_line.group(2))
    signatures = list(_SIGNATURE.finditer(text))
    if signatures:
        org, signed = signatures[-1].groups()
        meta["signed"] = iso_date(signed)
        meta.setdefault("date", meta["signed"])
        if org:
            meta.setdefault("publisher", org)
    if "publisher" not in meta and (org_prefix := _ORG_PREFIX.match(meta["title"])):
        meta["publisher"] = org_prefix.group(1)
    if "doc_number" not in meta:
        meta["doc_number"] = next((m.group(1) for line in lines[:12]
                                   if (m := _DOC_NUMBER_LINE.match(line))), "")
    meta["addressee"] = _addressee(lines[title_at + 1:])
    meta["kind"] = _kind(meta["title"])
    return {k: v for k, v in meta.items() if v}


def field_span(text: str, meta: dict[str, Any], key: str) -> tuple[int, int] | None:
    """Where `text` writes the metadata field `key` (title, addressee, doc_number, signed, date,
    ...): the signature's date for `signed`, a header label's value for the header's fields,
    else the field's value where it first occurs. None where the text does not write it."""
    value = meta.get(key)
    if not isinstance(value, str) or not value:
        return None
    if key == "signed":
        found = [m.span(2) for m in _SIGNATURE.finditer(text)]
        return found[-1] if found else None
    labels = [label for label, k in HEADER_FIELDS.items() if k == key]
    for label in labels:
        for pattern in (HEADER_FIELD, _COLON_FIELD):
            for m in pattern.finditer(text):
                if m.group(1) == label and m.group(2).strip():
                    start = m.start(2) + len(m.group(2)) - len(m.group(2).lstrip())
                    return start, start + len(m.group(2).strip())
    at = text.find(value)
    return (at, at + len(value)) if at >= 0 else None


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


def merged_marks(text: str, declared: list | None) -> list[tuple[int, int, str]]:
    """Headings the format declares (HTML `<h2>`, Word styles, Markdown `#`) with the numbered
    headings of official documents (`一、`, `(一)`, `1.`) nested below the deepest declared level.

    A web page often marks up only its title and writes `一、总体要求` as a plain paragraph, so
    both kinds count; a numbered line that is itself a declared heading is counted once.
    """
    declared_marks = [(int(o), int(lv), str(h)[:MAX_HEADING_CHARS]) for o, lv, h in declared or []]
    if not declared_marks:
        return heading_marks(text)
    depth = max(lv for _, lv, _ in declared_marks)
    taken = {o for o, _, _ in declared_marks}
    numbered = [(o, lv + depth, h) for o, lv, h in heading_marks(text) if o not in taken]
    return sorted(declared_marks + numbered)
