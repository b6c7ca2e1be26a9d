"""HTML mail bodies → plain text, with the standard library's ``html.parser``.

Enough for support mail: paragraphs and line breaks survive, lists get bullets, links keep
their target, scripts/styles/heads vanish, and quoted history (``<blockquote>``, Gmail's
``gmail_quote``, Outlook's reply header block) is marked with ``> `` so the quote stripper
removes it like plain-text quotes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_BLOCK = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "table",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "pre",
        "address",
        "center",
    ]
)
_SKIP = frozenset({"script", "style", "head", "title", "template"})
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote")
_QUOTE_IDS = ("divRplyFwdMsg", "appendonsend", "mail-editor-reference-message-container")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []  # (quote depth, text)
        self._line: list[str] = []
        self._skip = 0
        self._quote = 0
        self._quote_stack: list[bool] = []
        self._href: list[str | None] = []
        self._quoted_rest = False  # Outlook: everything after the reply header block is history

    def _flush(self) -> None:
        text = re.sub(r"[ \t\r\f\v\u00a0]+", " ", "".join(self._line)).strip()
        depth = self._quote + (1 if self._quoted_rest else 0)
        self.lines.append((depth, text))
        self._line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in _SKIP:
            self._skip += 1
            return
        quoting = tag == "blockquote" or any(c in a.get("class", "") for c in _QUOTE_CLASSES)
        if a.get("id", "") in _QUOTE_IDS:
            self._quoted_rest = True
        if tag in _BLOCK or tag in {"blockquote", "li", "br", "hr"}:
            self._flush()
        if tag == "li":
            self._line.append("- ")
        if tag in {"div", "blockquote", "span", "section"}:
            self._quote_stack.append(quoting)
            if quoting:
                self._quote += 1
        if tag == "a":
            self._href.append(a.get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if tag == "a" and self._href:
            href = self._href.pop()
            current = "".join(self._line)
            if href and href.startswith(("http://", "https://")) and href not in current:
                self._line.append(f" ({href})")
        if tag in {"div", "blockquote", "span", "section"} and self._quote_stack and self._quote_stack.pop():
            self._flush()
            self._quote = max(0, self._quote - 1)
        if tag in _BLOCK or tag in {"blockquote", "li"}:
            self._flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "hr"}:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._line.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # hopeless markup: keep what was read
        pass
    parser._flush()
    out: list[str] = []
    for depth, text in parser.lines:
        if not text:
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(("> " * depth) + text)
    return "\n".join(out).strip()
