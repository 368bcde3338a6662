"""RSS and Atom feeds, one Item per entry.

Well-formed feeds are read by :mod:`fastfeed` straight from an lxml tree; everything else
(and anything that reader is unsure of) goes through feedparser, which is the reference
for what an entry holds. Both hand ``_item`` the same entry dicts.

feedparser's own HTML sanitizer is switched off: bodies go through the same sanitizer as
every other format, and skipping the second pass is most of feedparser's cost. Text and
images are read off the sanitizer's output (:mod:`monitor.parsers.body`), not a tree.
Times are converted with ``calendar.timegm`` because feedparser's ``*_parsed`` values are
UTC struct_times; ``time.mktime`` would shift them by the machine's zone.
"""

from __future__ import annotations

import calendar
import re
import time
from html import escape, unescape

import feedparser

from monitor.charset import utf8_document
from monitor.models import Image, Item, ParseError
from monitor.parsers import body, fastfeed
from monitor.parsers.body import text as body_text
from monitor.parsers.html import (
    ALLOWED_TAGS,
    BLOCKS,
    DROPPED,
    clean_html,
    dedupe_images,
    fragment,
    html_to_line,
    html_to_text,
    images_in,
    join_url,
    summarize,
)
from monitor.text import detect_lang

IMAGE_TYPES = ("image/",)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_HTTP_URL = re.compile(r"https?://[^/?#\s]", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# An author with an address: RSS writes "email (name)", feedparser an Atom author with both
# as "name (email)".
_EMAIL = r"[^\s()]+@[^\s()]+"
_NAME_AND_EMAIL = re.compile(rf"{_EMAIL} \((?P<after>[^()]+)\)|(?P<before>[^()]+) \({_EMAIL}\)")
# A tag that shows text is markup: an end tag, or a start tag of an element CMSs write
# without one (lines cut by ``<br>``, unclosed paragraphs, an image).
_MARKUP_TAG = re.compile(r"</\w+>|<(?:br|hr|p|img)\b[^<>]*>", re.IGNORECASE)
_TAG_NAME = re.compile(r"</?(\w+)")
# Elements the sanitizer keeps or drops by name: a text whose "tags" all have these names
# is markup.
_HTML_ELEMENTS = frozenset(
    ALLOWED_TAGS | DROPPED | BLOCKS | {"font", "center", "big", "strike", "tt", "mark", "time"}
)


def parse(data: bytes, *, url: str | None = None, site: str | None = None) -> list[Item]:
    if data[:1].isspace():  # a stray line before the prolog (PHP): no XML, feedparser reads it
        data = data.lstrip()
    fast = fastfeed.read(data, url)
    if fast is None:
        utf8 = utf8_document(data)  # fastfeed reads UTF-8 only; feedparser guesses otherwise
        if utf8 is not data:  # a GBK or Big5 feed, now UTF-8: read at the fast path's speed
            fast = fastfeed.read(utf8, url)
        data = utf8
    fmt, head, entries, links, error = (*fast, None) if fast else _read_with_feedparser(data, url)
    outlet = site or _clean_line(_title(head)) or None
    home = None if url else _home_page(links)
    items = [_item(e, fmt, outlet, url, home) for e in entries]
    items = [it for it in items if it.title or it.url or it.text]  # debris of a broken feed
    if error and not items:
        raise ParseError(f"unreadable feed, no entries: {error}")
    return items


def _read_with_feedparser(data: bytes, url: str | None) -> tuple[str, dict, list, list, object]:
    """``(format, feed, entries, feed links, reason the feed is broken or None)``: the feed's
    title is read off ``feed``."""
    headers = {"content-location": url} if url else None
    d = feedparser.parse(
        data, sanitize_html=False, resolve_relative_uris=bool(url), response_headers=headers
    )
    fmt = "atom" if d.get("version", "").startswith("atom") else "rss"
    error = (d.get("bozo_exception") or "no readable entries") if d.bozo else None
    return fmt, d.feed, d.entries, d.feed.get("links", []), error


def _home_page(links: list[dict]) -> str | None:
    """The feed's own web page (RSS ``<link>``, Atom ``rel="alternate"``) when it is an
    absolute http(s) URL: the base of the relative links of a feed read without its URL."""
    for link in links:
        if link.get("rel") == "alternate" and link.get("type") in _HTML_TYPES:
            href = link.get("href") or ""
            if _HTTP_URL.match(href):
                return href
    return None


def _item(entry, fmt: str, site: str | None, base: str | None, home: str | None = None) -> Item:
    """``base``: the document URL; ``home``: without one, the feed's page (:func:`_home_page`)."""
    guid = entry.get("id") or ""
    guid_url = _article_url(guid, base) if guid.startswith(("http://", "https://")) else None
    link = entry.get("link")
    if link is not None:
        # A placeholder link sits where the page's address belongs: an http(s) guid is the
        # better address. (Without a link, the readers already took a permalink guid.)
        link = _article_url(link, base) or guid_url
    if link is None:
        # A podcast episode is its audio: episodes of a show share a title ("每日新闻")
        # and often have no text, so only their enclosures tell them apart.
        link = _media_enclosure(entry, base)
    if not base and link and not _SCHEME.match(link):
        # Read from a file: a relative link is made absolute on the feed's page, as the
        # feed's URL does when it is fetched; else an absolute guid is an address that opens.
        link = join_url(home, link) if home else guid_url or link
    content = entry["content"][0] if entry.get("content") else None
    body = _html_of(content.get("value", ""), content.get("type"), fmt) if content else ""
    # A summary copied from the content has no detail of its own: it is the content's type.
    detail = entry.get("summary_detail") or content or {}
    summary_html = _html_of(entry.get("summary", ""), detail.get("type"), fmt)
    main_html = body or summary_html
    text, images, html = _body(main_html, base, link)
    # A separate description is the outlet's own abstract: better than a cut of the text.
    # (Without one, feeds repeat the body as the summary: its text is the text above.)
    separate = body and summary_html and summary_html != body
    summary = body_text(summary_html, plain=_prediction(summary_html)) if separate else ""
    images += _media_images(entry, base or link)
    title = _clean_line(_title(entry)) or text[:60]
    return Item(
        title=title,
        format=fmt,
        url=link,
        site=site,
        author=_author(entry.get("author", "")),
        published=_published(entry),
        summary=summarize(summary or text),
        text=text,
        html=html,
        images=dedupe_images(images),
        tags=_tags(entry),
        lang=detect_lang(title + "\n" + text),
        alt_urls=[guid_url] if guid_url and guid_url != link else [],
        entry_id=_entry_id(guid, site, base) if link is None and not guid_url else None,
    )


def _title(entry) -> str:
    """An entry's or the feed's title as text: an HTML title (escaped markup, entities)
    without its tags and references."""
    title = entry.get("title", "")
    if "html" in entry.get("title_detail", {}).get("type", ""):
        title = html_to_line(title)
    return title


def _html_of(body: str, ctype: str | None, fmt: str) -> str:
    """A body as HTML. Text is one paragraph a line: Chinese CMSs separate paragraphs
    with a line break (and a "　　" indent, dropped as from a ``<p>``), which HTML would
    run together. Text is what Atom says is text (``type="text"``, a summary's default)
    and an RSS body with no "<" at all: RSS bodies are HTML, and say nothing."""
    if ctype == "text/plain":
        body = escape(body, quote=False)
        # One line (most summaries) is one paragraph as it is: no tags to read again.
        return _paragraphs(body) if "\n" in body else body
    if "<" in body:
        return body
    if "&lt;" in body and (markup := _markup(body)) is not body:
        return markup
    return _paragraphs(body) if fmt == "rss" and "\n" in body else body


def _paragraphs(text: str) -> str:
    """Each non-blank line a ``<p>``, its edges' whitespace gone (as tidy would drop it)."""
    return "".join(f"<p>{p}</p>" for line in text.splitlines() if (p := line.strip()))


def _markup(html: str) -> str:
    """A body escaped twice (``&amp;lt;p&amp;gt;`` in the feed, or ``&lt;p&gt;`` in CDATA)
    as the markup it stands for: read once, its tags would be the text. ``html`` holds
    no "<" and a "&lt;"."""
    markup = unescape(html)
    if not _MARKUP_TAG.search(markup):
        return html
    names = {name.lower() for name in _TAG_NAME.findall(markup)}
    return markup if names <= _HTML_ELEMENTS else html


def _media_enclosure(entry, base: str | None) -> str | None:
    """The first http(s) enclosure that is not an image (an image illustrates the entry)."""
    for enc in entry.get("enclosures", []):
        if enc.get("type", "").startswith(IMAGE_TYPES):
            continue
        if url := _article_url((enc.get("href") or "").strip(), base):
            return url
    return None


def _entry_id(guid: str, site: str | None, feed_url: str | None) -> str | None:
    """A link-less entry's id, named by its feed (or, for a saved file, its outlet)."""
    guid = guid.strip()
    where = (feed_url or "").partition("#")[0].strip() or site
    return f"{where}#{guid}" if guid and where else None


def _article_url(link: str | None, feed_url: str | None) -> str | None:
    """``link`` unless it names no article page: ``javascript:void(0)``, ``mailto:``,
    ``#``, an empty link or the feed's own address. Items without a page of their own
    carry such placeholders, and keying them by one would file different stories as one
    (``url:void(0)`` for all); without a link they are keyed by outlet and title.

    Scheme-less links stay: they are relative links of a feed read without its URL
    (an imported file), which ``_item`` resolves on the feed's page when it names one;
    else still an article's path that site rules can key.
    """
    target = (link or "").strip().partition("#")[0]
    scheme = _SCHEME.match(target)
    if not target or (scheme and scheme[1].lower() not in ("http", "https")):
        return None
    if feed_url and target == feed_url.strip().partition("#")[0]:
        return None
    return link


def _body(html: str, base: str | None, link: str | None) -> tuple[str, list[Image], str]:
    """Text, images and stored HTML: off the sanitizer's output, or from a tree when the
    body needs one (see :mod:`monitor.parsers.body`)."""
    raw = isinstance(html, fastfeed.RawHTML)  # URIs feedparser would have resolved
    if raw:
        base = html.base
    plain = _prediction(html)
    got = body.read(html, base=base, image_base=link or base, sort_attributes=raw, plain=plain)
    if got is not None:
        return got
    root = fragment(html)
    if raw:
        fastfeed.resolve_uris(root, base)
    return html_to_text(root), images_in(root, base=link or base), clean_html(root, base=base)


def _prediction(html: str):
    """What fastfeed already predicted of the sanitizer's output for ``html``, if it tried."""
    return html.plain if isinstance(html, fastfeed.RawHTML) else None


def _published(entry) -> str | None:
    # ``in`` rather than .get(): .get("updated_parsed") silently returns published_parsed.
    for key in ("published_parsed", "updated_parsed"):
        if key in entry and entry[key]:
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm(entry[key])))
    return None


def _media_images(entry, base: str | None) -> list[Image]:
    """Media and enclosure images; a relative address (``/uploads/1.jpg``) made absolute
    on ``base``, as the body's images are."""
    found = []
    for media in entry.get("media_content", []):
        is_image = media.get("medium") == "image" or media.get("type", "").startswith(IMAGE_TYPES)
        if media.get("url") and is_image:
            found.append(media["url"])
    found += [t["url"] for t in entry.get("media_thumbnail", []) if t.get("url")]
    for enc in entry.get("enclosures", []):
        if enc.get("href") and enc.get("type", "").startswith(IMAGE_TYPES):
            found.append(enc["href"])
    return [Image(join_url(base, url.strip())) for url in found]


def _author(author: str) -> str | None:
    """The author's name, without the email address beside it: the name is who wrote the
    story, and what a reader searches for."""
    author = _clean_line(author)
    if "@" in author and (m := _NAME_AND_EMAIL.fullmatch(author)):
        author = (m["after"] or m["before"]).strip()
    return author or None


def _tags(entry) -> list[str]:
    terms = (_clean_line(t.get("term") or t.get("label") or "") for t in entry.get("tags", []))
    return list(dict.fromkeys(t for t in terms if t))


def _clean_line(s: str) -> str:
    return " ".join(s.split())
