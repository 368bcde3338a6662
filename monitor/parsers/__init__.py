"""Turn one fetched document into Items, whatever shape the source publishes.

The format is read from the content, never the file name or URL: mirrors serve every
format under ``.txt``/``.md`` names, and a feed URL can start returning an HTML page.
"""

from __future__ import annotations

import codecs
import re

from monitor.charset import WIDE_BOMS, document_text, utf8_document
from monitor.models import Item, ParseError
from monitor.parsers import (
    dates,
    epoch_mirror,
    feed,
    feed_archive,
    hexo,
    html_page,
    markdown_page,
)
from monitor.parsers.html import visible

__all__ = ["FORMATS", "detect", "parse"]

FORMATS = ("epoch-mirror", "hexo", "feed-archive", "markdown", "html-page", "rss", "atom")

# The parsers' version, recorded with every document they reject (``source_entries``): a
# dir file or mirror page rejected by an older version is read once more, so an upgrade
# reads what it has learned to read without the file changing or the page being listed anew.
# Bump it when detection or a parser learns to read documents it refused before.
PARSER_VERSION = 5  # 2: a rule over a Markdown title, HTML headings; 3: headings over lines;
# 4: UTF-16 and UTF-32 documents with a byte-order mark; 5: Markdown digest pages, one item
# per article

_SNIFF = 65536
# A quoted literal, a comment, or another declaration: the pieces of a DOCTYPE's internal
# subset (``[<!ENTITY nbsp "&#160;">]``) that may hold a ">" or "]" of their own.
_QUOTED = r""""[^"]*+"|'[^']*+'"""
_SUBSET = rf"""\[(?:[^]"'<]++|{_QUOTED}|<!--.*?-->|<(?:[^>"']++|{_QUOTED})*+>)*+\]"""
# XML prolog pieces that may precede a feed's root element.
_PROLOG = re.compile(
    rf"""\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^>"'[]++|{_QUOTED})*+(?:{_SUBSET}\s*)?>)*""",
    re.S | re.I,
)
_ROOT = re.compile(r"<(?:[\w.-]+:)?(?P<name>rss|feed|RDF)\b")


def decode(data: bytes) -> str:
    """The text as :mod:`monitor.charset` reads any document, with LF line ends."""
    if b"\x00" in data[:4096]:
        raise ParseError("binary data (NUL bytes), not a text document")
    return lf_lines(document_text(data))


def utf8_if_wide(data: bytes) -> bytes:
    """A UTF-16 or UTF-32 document with a BOM as UTF-8, its declared charset relabelled:
    the detection and the parsers read bytes as UTF-8 (or a legacy Chinese charset), and
    refuse NUL bytes as binary data. Other documents are returned as they are."""
    return utf8_document(data) if data.startswith(WIDE_BOMS) else data


def lf_lines(text: str) -> str:
    """Windows (CRLF) and old Mac (CR) line ends as LF, as Python's text files read them:
    the parsers' ``^``/``$`` patterns know only LF."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect(data: bytes) -> str:
    """One of :data:`FORMATS`; ParseError when the content matches none."""
    data = utf8_if_wide(data)
    if not data or data.isspace():  # not data.strip(): that copies the whole document
        raise ParseError("empty document")
    head = lf_lines(data[:_SNIFF].decode("utf-8", errors="replace").lstrip("\ufeff"))
    if m := _ROOT.match(head, _PROLOG.match(head).end()):
        return "atom" if m["name"] == "feed" else "rss"

    text = head
    if (found := hexo.split_fences(head)) is not None:
        text = found[1]
        if not _looks_like_archive(text, dashes_next=True):
            return "hexo"
    if _looks_like_archive(text):
        return "feed-archive"
    raw = _first_lines(text, 12)
    lines = [ln for ln in raw if ln.strip()]
    if lines and epoch_mirror.title_of(lines[0]):
        rule = next(
            (i for i in range(1, 4) if i < len(lines) and epoch_mirror.RULE.match(lines[i])), 0
        )
        # The mirror's shell has its rule under the title, then its nav line; a Markdown
        # article may have a rule under its title or the lines saying where it is from.
        if (
            rule
            and not any(markdown_page.metadata_line(ln) for ln in lines[1:rule])
            and epoch_mirror.shell_follows(lines[rule + 1 :], head)
        ):
            return "epoch-mirror"
    if markdown_page.opening(raw) is not None:
        return "markdown"
    if html_page.START.match(head):
        return "html-page"
    raise ParseError(f"unrecognised document format ({_describe_start(data)})")


# Control characters other than whitespace: no text document has them.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _describe_start(data: bytes) -> str:
    """How a rejected document starts, printable: its first words when it reads as text
    (non-printable characters escaped), else its first bytes in hex."""
    head = data[:240]
    for encoding in ("utf-8-sig", "gb18030"):
        try:  # incremental: a character cut by the sample's end is no error
            text = codecs.getincrementaldecoder(encoding)().decode(head)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.search(text):
            return f"starts with {' '.join(text.split())[:60]!r}"
        break
    shown = " ".join(f"{b:02x}" for b in data[:8])
    return f"binary data, starts with bytes {shown}" + ("…" if len(data) > 8 else "")


def _first_lines(text: str, n: int) -> list[str]:
    """``text.splitlines()[:n]`` without splitting the whole document."""
    lines = text[: 256 * n].splitlines()
    return lines[:n] if len(lines) > n else text.splitlines()[:n]


def _looks_like_archive(text: str, *, dashes_next: bool = False) -> bool:
    """An epoch comment, or a ``[title](url)`` line underlined by dashes, opens the text.

    ``dashes_next``: the dashes must be on the very next line, as the bridge writes them.
    Under a front-matter header a link line, a blank line and ``---`` open a Markdown post
    (a link, then a thematic break), not a feed archive."""
    raw = _first_lines(text, 20)
    lines = [i for i, ln in enumerate(raw) if ln.strip()]  # indexes of the non-blank lines
    while lines and (
        feed_archive.DATE_LINE.match(raw[lines[0]]) or feed_archive.EPOCH.match(raw[lines[0]])
    ):
        if feed_archive.EPOCH.match(raw[lines[0]]):
            return True
        lines.pop(0)
    if len(lines) < 2 or feed_archive.link_title(raw[lines[0]]) is None:
        return False
    underline = lines[0] + 1 if dashes_next else lines[1]
    return underline < len(raw) and bool(feed_archive.DASHES.match(raw[underline]))


def parse(
    data: bytes, *, url: str | None = None, site: str | None = None, zone: str | None = None
) -> list[Item]:
    """Items in ``data``: one for an article page, one per entry for a feed, one per
    article for a Markdown digest page.

    ``url`` is where the document was fetched (base for relative links); ``site`` is the
    configured outlet name, used only when the document names none; ``zone`` the time zone
    its times without one are in (else UTC).
    Raises ParseError for unreadable input and NotAnArticle for placeholder pages.
    """
    data = utf8_if_wide(data)
    fmt = detect(data)
    try:
        with dates.source_zone(zone):
            items = _parse_as(fmt, data, url=url, site=site)
    except ParseError:
        raise
    except (ValueError, TypeError, OverflowError, LookupError, AttributeError) as e:
        # A parser's own failure on one odd document must fail that document only (an
        # import goes on, a folder source stores its other files).
        raise ParseError(f"could not read this {fmt} document: {type(e).__name__}: {e}") from e
    for item in items:  # as the text: a zero-width character would hide a word from search
        item.title = visible(item.title)
    return items


def _parse_as(fmt: str, data: bytes, *, url: str | None, site: str | None) -> list[Item]:
    if fmt in ("rss", "atom"):
        return feed.parse(data, url=url, site=site)
    if fmt == "markdown":  # a digest page: one item per article
        return markdown_page.parse(decode(data), url=url, site=site)
    module = {
        "epoch-mirror": epoch_mirror,
        "hexo": hexo,
        "feed-archive": feed_archive,
        "html-page": html_page,
    }[fmt]
    return [module.parse(decode(data), url=url, site=site)]
