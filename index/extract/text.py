"""Plain text and Markdown: decoding (UTF-8, GB18030) and Markdown's own headings."""
from __future__ import annotations

import re

from index.extract import Extracted, LoadError

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def decode(data: bytes) -> str:
    """Decode UTF-8 (BOM stripped) or GB18030/GBK; refuse binary and empty content."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise LoadError("file is empty")
    if b"\x00" in data[:8192]:
        raise LoadError("file looks binary (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK and GB2312, so one attempt covers all three.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise LoadError("not valid UTF-8 or GB18030 text") from None


def extract_text(data: bytes) -> Extracted:
    """A .txt file: the decoded text; headings are left to the official-document patterns."""
    return Extracted(decode(data))


def markdown_headings(text: str) -> list[tuple[int, int, str]]:
    """(line offset, level, text) of ATX (`## 二、…`) and setext headings outside code fences."""
    marks: list[tuple[int, int, str]] = []
    offset, fenced = 0, False
    prev: tuple[int, str] | None = None  # the previous line, a setext heading candidate
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if _FENCE.match(bare):
            fenced, prev = not fenced, None
        elif not fenced:
            atx = _ATX.match(bare)
            setext = _SETEXT.match(bare)
            if atx and atx.group(2):
                marks.append((offset, len(atx.group(1)), atx.group(2)))
            elif setext and prev is not None and prev[1].strip():
                level = 1 if setext.group(1).startswith("=") else 2
                marks.append((prev[0], level, prev[1].strip()))
            prev = (offset, bare) if bare.strip() and not atx else None
        offset += len(line)
    return marks


def extract_markdown(data: bytes) -> Extracted:
    """A .md file: the Markdown source as it is (citations index into it), and its headings."""
    text = decode(data)
    return Extracted(text, markdown_headings(text))
