"""Mirror index pages → the page links they list (HTML, Markdown, or CSV such as ``id,title``).

A mirror source diffs this listing against the store, so only links that look like pages
are kept: no fragments, no ``mailto:``/``javascript:``, no link back to the index itself.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

import lxml.html

from monitor.parsers.html import without_xml_declaration

from ..models import ParseError


@dataclass(frozen=True)
class Entry:
    url: str
    title: str | None = None


# A Markdown link, not an image (``![alt](src)``) or a link around one: a README's badges
# and pictures are no pages. Its text holds no "[": from each "[" of a line of them,
# "[^\]]*" read on to the next "]", quadratic.
_MD_LINK = re.compile(r"(?<!!)\[([^\[\]\n]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SKIP = ("mailto:", "javascript:", "tel:", "data:", "#")


def detect_listing(text: str) -> str:
    head = text.lstrip()[:2000]
    if head.startswith("<") or re.search(r"<(a|html|body|ul|table)\b", head, re.I):
        return "html"
    first = head.splitlines()[0] if head else ""
    if "," in first and "](" not in head and re.search(r"\b(id|url|link|href)\b", first, re.I):
        return "csv"
    return "markdown"


def parse_listing(
    text: str, *, base_url: str, fmt: str = "auto", page_url: str | None = None
) -> list[Entry]:
    """Links in listing order, deduplicated, absolute. ``page_url`` (with ``{id}``) turns a
    CSV row's id into a page URL."""
    fmt = detect_listing(text) if fmt == "auto" else fmt
    if fmt == "csv":
        raw = _csv(text, page_url)
    elif fmt == "html":
        raw = _html(text)
    elif fmt == "markdown":
        raw = [(m.group(2), m.group(1).strip() or None) for m in _MD_LINK.finditer(text)]
    else:
        raise ParseError(f"unknown index format {fmt!r}")
    seen = {urldefrag(base_url)[0]}
    out = []
    for href, title in raw:
        href = href.strip()
        if not href or href.lower().startswith(_SKIP):
            continue
        url = urldefrag(urljoin(base_url, href))[0]
        if not url.startswith(("http://", "https://")) or url in seen:
            continue
        seen.add(url)
        out.append(Entry(url, title))
    return out


def _html(text: str) -> list[tuple[str, str | None]]:
    try:
        doc = lxml.html.fromstring(without_xml_declaration(text))
    except (ValueError, lxml.etree.ParserError) as e:
        raise ParseError(f"index is not readable HTML: {e}") from None
    return [
        (a.get("href", ""), (a.text_content() or "").strip() or None)
        for a in doc.iter("a")
        if a.get("href")
    ]


def _csv(text: str, page_url: str | None) -> list[tuple[str, str | None]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        return []
    fields = {k.strip().lower(): k for k in rows[0] if k}
    link = next((fields[k] for k in ("url", "link", "href") if k in fields), None)
    ident = fields.get("id")
    title = fields.get("title")
    if link is None and ident is None:
        raise ParseError("CSV index has no 'url', 'link' or 'id' column")
    if link is None and not page_url:
        raise ParseError("CSV index lists ids; set the source's page_url (with {id})")
    out = []
    for row in rows:
        href = row.get(link) if link else page_url.format(id=(row.get(ident) or "").strip())
        out.append((href or "", (row.get(title) or "").strip() or None if title else None))
    return out
