"""HTML main content to text, keeping headings (the only importer of selectolax).

The main content is `<main>`, `[role=main]` or `<article>` when the page has one, else `<body>`.
Scripts, styles, navigation (`<nav>`, breadcrumbs, DocBook's navheader/navfooter and tables of
contents), asides and forms are dropped. Each block element starts a new line and each heading
is recorded with its offset, so the chunker can give every chunk its heading path.
"""
from __future__ import annotations

import re

from index.extract import Extracted, LoadError, TextBuilder
from index.extract.text import decode

_MAIN = ("main", "[role=main]", "article")
_DROP = ("script", "style", "noscript", "template", "iframe", "object", "svg", "canvas", "form",
         "nav", "aside", "[role=navigation]", "[hidden]",
         ".breadcrumb", ".breadcrumbs", "#breadcrumb", ".navheader", ".navfooter", ".toc",
         ".list-of-tables", ".list-of-figures", ".list-of-examples")
_DROP_OUTSIDE_MAIN = ("header", "footer")  # page banners; inside an <article> they hold its title
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "header", "hr",
    "li", "main", "ol", "p", "section", "summary", "table", "tbody", "thead", "tfoot", "tr", "ul",
    *_HEADINGS})
_CELLS = frozenset({"td", "th"})
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
# A line break inside Chinese text is an artefact of the HTML source's wrapping, not a space.
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t\r\f\v]*\n\s*(?=[{_CJK}])")
_SPACE = re.compile(r"\s+")
_CELL_GAP = "\ue000"  # a private-use mark between table cells; becomes one space


def _flow(raw: str) -> str:
    """Collapse HTML whitespace the way a browser shows it, minus breaks between CJK."""
    text = _SPACE.sub(" ", _CJK_BREAK.sub("", raw))
    return re.sub(rf"\s*{_CELL_GAP}\s*", " ", text).strip()


class _Walker:
    """Depth-first walk that turns blocks into lines and keeps `<pre>` as it is."""

    def __init__(self, skip: set[int]) -> None:
        self.out = TextBuilder()
        self._skip = skip  # mem_ids of dropped elements: skipped, never freed mid-walk
        self._inline: list[str] = []
        self._heading: int | None = None

    def flush(self) -> None:
        text = _flow("".join(self._inline))
        self._inline.clear()
        if not text:
            return
        if self._heading is not None:
            self.out.heading(text, self._heading, sep="\n\n")
        else:
            self.out.block(text)

    def walk(self, root) -> None:
        # An explicit stack, not recursion: deeply nested pages must not hit Python's limit.
        stack: list[tuple[object, bool]] = [(root, True)]
        while stack:
            node, entering = stack.pop()
            tag = node.tag
            if tag == "-text":
                if entering:
                    self._inline.append(node.text_content or "")
                continue
            if tag.startswith(("-", "_", "!")) or node.mem_id in self._skip:
                continue  # comments, the doctype, dropped elements
            if not entering:
                self._leave(tag)
                continue
            if tag == "pre":
                self.flush()
                text = (node.text(deep=True) or "").strip("\n")
                if text.strip():
                    self.out.block(text)
                continue
            if tag == "br":
                self.flush()
                continue
            if tag in _BLOCKS or tag in _CELLS:
                self._enter(tag)
            stack.append((node, False))
            stack.extend((child, True) for child in reversed(list(node.iter(include_text=True))))

    def _enter(self, tag: str) -> None:
        if tag in _CELLS:
            if self._inline:  # keep neighbouring cells apart, even Chinese ones
                self._inline.append(_CELL_GAP)
            return
        self.flush()
        if tag in _HEADINGS:
            self._heading = _HEADINGS[tag]

    def _leave(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.flush()
            if tag in _HEADINGS:
                self._heading = None


def _main_content(tree):
    for selector in _MAIN:
        node = tree.css_first(selector)
        if node is not None:
            return node, True
    return tree.body, False


def extract_html(data: bytes) -> Extracted:
    """The main content of an HTML page as text, with its headings."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(decode(data))
    root, is_main = _main_content(tree)
    if root is None:
        raise LoadError("HTML has no body")
    skip = {node.mem_id for selector in _DROP + (() if is_main else _DROP_OUTSIDE_MAIN)
            for node in root.css(selector)}
    walker = _Walker(skip)
    walker.walk(root)
    walker.flush()
    result = walker.out.build()
    if not result.text.strip():
        raise LoadError("HTML has no text outside navigation and scripts")
    return result
