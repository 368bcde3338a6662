"""Well-formed RSS 2.0, RSS 1.0 and Atom 1.0 read straight from an lxml tree.

feedparser stays the reference, but most of its time goes into its SAX callbacks and a
second HTML pass over every body. :func:`read` builds the same entry dicts ``feed._item``
reads from feedparser (same keys, same values, feedparser's own helpers for dates and URI
joining) for the documents it fully understands. For anything else it returns None and the
caller uses feedparser: XML errors, a DOCTYPE or entities, another encoding, ``xml:base``,
unknown elements inside an entry, repeated fields, nested markup, xhtml or base64 content.

With a document URL, feedparser rewrites relative URIs in HTML bodies through its sgmllib
processor. A body in plain markup (see :data:`_PLAIN_TAG`) comes out of that processor
as the same tree with sorted, resolved attributes, so it is returned as :class:`RawHTML`
and :func:`resolve_uris` does that on the tree ``feed._item`` parses anyway. Other markup
still goes through feedparser's processor.
"""

from __future__ import annotations

import re
from functools import lru_cache

from feedparser.datetimes import _date_handlers, _parse_date, registerDateHandler
from feedparser.datetimes.iso8601 import _parse_date_iso8601
from feedparser.datetimes.w3dtf import _parse_date_w3dtf
from feedparser.html import _BaseHTMLProcessor, _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import (
    RelativeURIResolver,
    _urljoin,
    make_safe_absolute_uri,
    resolve_relative_uris,
)
from feedparser.util import FeedParserDict
from lxml import etree

from monitor.parsers import dates
from monitor.parsers.html import SETTLED_URL
from monitor.parsers.sanitized import Prediction, predict

# Year-first dates are read by dates.feed_date alone, here and in feedparser (the fallback
# path): feedparser's own readers for them guess what they cannot read.
_date_handlers[:] = [h for h in _date_handlers if h not in (_parse_date_iso8601, _parse_date_w3dtf)]
registerDateHandler(dates.feed_date)
_date_handlers.append(dates.zone_less_date)  # after every reader of feedparser's own

ATOM = "http://www.w3.org/2005/Atom"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"

# feedparser's prefix for each namespace it knows ("" for the feed formats' own).
_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_HTML_TYPES = _FeedParserMixin.html_types
_looks_like_html = _FeedParserMixin.looks_like_html
_content_type = _FeedParserMixin.map_content_type
_RELATIVE = RelativeURIResolver.relative_uris
_HTML_VOID = "|".join(sorted(_BaseHTMLProcessor.elements_no_end_tag))

# Entry keys feed._item reads: an unknown element stored under one of them is not harmless.
_READ_KEYS = {"link", "links", "content", "summary", "summary_detail", "title", "title_detail",
              "id", "author", "published_parsed", "updated_parsed", "media_content",
              "media_thumbnail", "tags", "enclosures"}  # fmt: skip
_TITLE = {"title", "dc:title"}
_DESCRIPTION = {"description", "dc:description"}
_PUBLISHED = {"pubdate", "published", "issued", "dcterms:issued"}
_UPDATED = {"updated", "modified", "lastbuilddate", "dc:date", "dcterms:modified"}
_TEXT_AUTHOR = {"author", "dc:creator", "dc:author"}
_CATEGORY = {"category", "dc:subject"}
# Handled by feedparser, but they only fill keys nobody here reads.
_HARMLESS = {"created", "dcterms:created", "rights", "copyright", "dc:rights", "language",
             "dc:language", "dc:publisher"}  # fmt: skip
_PERSON_PARTS = {"name", "email", "uri", "url", "homepage"}
# Outside an entry these set a flag that feedparser only clears at the end of an entry.
_SETS_HAS_CONTENT = {"content", "content:encoded", "fullitem"}

_WS = "[ \\t\\n\\r\\f]"  # HTML whitespace; \s would also take U+3000, which HTML does not


# Possessive quantifiers (*+, ++): every piece here has one way to match (a name stops where
# blanks or "=" start, a value at its closing quote), so giving characters back can never
# help; without them a self-closing <img …/> backtracked through every attribute value
# before the "/>" branch was tried (~3x the time).
_ATTR = rf'{_WS}++([a-zA-Z_][-a-zA-Z0-9_:.]*+){_WS}*+={_WS}*+"[^"<>&]*+(?:&amp;[^"<>&]*+)*+"'
_VOID = f"(?i:{_HTML_VOID})"
# Markup feedparser's sgmllib pass leaves as the same tree: a plain tag with double-quoted
# attributes, none named again later in the tag (:func:`_plain_tag`), no end tag for a
# void element. Whether a "<" opens one depends only on the text up to the next ">" or
# "<": :data:`_MARKUP` cuts that piece out.
_PLAIN_TAG = re.compile(
    rf"""<(?:
      /(?!{_VOID}{_WS}*>)[a-zA-Z][a-zA-Z0-9]*+{_WS}*+>
    | [a-zA-Z][a-zA-Z0-9]*+(?:{_ATTR})*+{_WS}*+>
    | [a-zA-Z][a-zA-Z0-9]*+(?:{_ATTR})++{_WS}*+/>
    | {_VOID}{_WS}*+/>
    )""",
    re.X,
)
_ATTR_NAME = re.compile(_ATTR)
_MARKUP = re.compile("<[^<>]*>?")
# "&" that is not one of a few named entities.
_NOT_PLAIN_REF = re.compile("&(?!(?:amp|lt|gt|quot|nbsp);)")
_C1 = re.compile("[\x80-\x9f]")
_REF = re.compile("&([A-Za-z0-9_]+);")  # what feedparser's link handling unescapes
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")  # such a string cannot be UTF-8 read as Latin-1
_BASE_ATTR = re.compile(rb"[\s:]base\s*=")  # xml:base (or feedparser's bare "base")
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
# Short literals looked for in a whole feed. The regex engine finds them 2-3x faster than
# ``in`` does in Chinese UTF-8, where ``in``'s skip table hardly ever skips (~0.2 ms a feed).
_BASE = re.compile(rb"base")
_CHAR_REF = re.compile(rb"&#")


class Fallback(Exception):
    """The document needs feedparser."""


class RawHTML(str):
    """An HTML body whose relative URIs are still to be resolved against ``base``;
    ``plain`` is :func:`~monitor.parsers.sanitized.predict`'s answer for it (False: it
    cannot be told, so the reader of the body need not ask again)."""

    base: str
    plain: Prediction = None


def read(data: bytes, url: str | None = None) -> tuple[str, dict, list[dict], list[dict]] | None:
    """``(format, feed title, entries, feed links)`` as feedparser would give them, or None;
    the title as its ``title`` and ``title_detail`` keys.

    The feed's own links (``feed.links``) are read only without a ``url``: they are the
    base for the relative links of a feed read from a file."""
    if _BASE.search(data) and _BASE_ATTR.search(data):
        return None
    try:
        return _Reader(url).read(data)
    except (Fallback, etree.LxmlError, ValueError):
        return None


def resolve_uris(root: etree._Element, base: str) -> None:
    """What feedparser's relative-URI pass does to each tag, done on a parsed tree:
    attributes sorted, ``rel``/``type`` values lowercased, link-like values made absolute
    (a value that would not be safe is left as it was)."""
    for el in root.iter(etree.Element):
        items = el.attrib.items()
        if not items:
            continue
        new = sorted((k, _resolved(el.tag, k, v, base)) for k, v in items)
        if new != items:
            el.attrib.clear()
            for k, v in new:
                el.set(k, v)


def _resolved(tag: str, key: str, value: str, base: str) -> str:
    if (tag, key) in _RELATIVE:
        return _absolute(base, value) or value
    return value.lower() if key in ("rel", "type") else value


def _join(base: str, uri: str) -> str:
    """feedparser's ``_urljoin``, quick for settled http(s) URLs (it returns them as given)."""
    return uri if SETTLED_URL.match(uri) else _urljoin(base, uri)


def _absolute(base: str, value: str) -> str:
    """``make_safe_absolute_uri(base, value.strip())``, quick for settled http(s) URLs."""
    value = value.strip()
    return value if SETTLED_URL.match(value) else make_safe_absolute_uri(base, value)


def _fix(s: str) -> str:
    """feedparser's last touches on every value: UTF-8 read as Latin-1 is repaired and
    C1 control characters become their cp1252 letters."""
    s = _repair(s)
    return s.translate(_cp1252) if _C1.search(s) else s


def _repair(s: str) -> str:
    """The first half of :func:`_fix`, enough for a document without C1 characters."""
    if s.isascii() or _BEYOND_LATIN1.search(s):  # Chinese text: no exception raised
        return s
    try:
        return s.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return s


class _Reader:
    def __init__(self, url: str | None):
        self.url = url
        base = url or ""
        for _ in range(3):  # feedparser re-checks its base at every start tag
            base = make_safe_absolute_uri(base, base) or base
        self.base = base

    def read(self, data: bytes) -> tuple[str, dict, list[dict], list[dict]]:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        root = etree.fromstring(data, parser)
        c1 = _CHAR_REF.search(data) or (b"\xc2" in data and _C1_UTF8.search(data))
        self.fix = _fix if c1 else _repair  # scanning each value for C1 costs more
        info = root.getroottree().docinfo
        if parser.error_log or info.doctype or (info.encoding or "").lower() != "utf-8":
            raise Fallback
        name = _name(root)
        self.atom = root.tag == f"{{{ATOM}}}feed"
        if name == "rss":
            channels = [c for c in root if _name(c) == "channel"]
            if len(channels) != 1:
                raise Fallback
            entries, feed = _split(channels[0], "item")
            _check_feed_level([c for c in root if c is not channels[0]], titles_allowed=False)
        elif name == "rdf:rdf":
            if ATOM.encode() in data:
                raise Fallback  # its namespace declarations could make feedparser call it Atom
            entries, others = _split(root, "item")
            channels = [c for c in others if _name(c) == "channel"]
            if len(channels) != 1 or (entries and root.index(channels[0]) > root.index(entries[0])):
                raise Fallback  # an entry's title before the channel's hides the latter
            feed = list(channels[0])
            _check_feed_level([c for c in others if c is not channels[0]], titles_allowed=False)
        elif self.atom:
            if RSS10.encode() in data or RSS090.encode() in data:
                raise Fallback  # declared first, it would make feedparser call this RSS
            entries, feed = _split(root, "entry")
        else:
            raise Fallback
        title = self._feed_title(feed)
        links: list[dict] = []
        if self.url is None:
            for el in feed:
                if _name(el) == "link":
                    self._link(el, {}, links)
        return ("atom" if self.atom else "rss"), title, [self._entry(e) for e in entries], links

    def _feed_title(self, feed: list) -> dict:
        """``{"title", "title_detail"}`` as in feedparser's ``feed``; empty without a title."""
        _check_feed_level(feed, titles_allowed=True)
        titles = [el for el in feed if _name(el) in _TITLE or _name(el) == "media:title"]
        if not titles:
            return {}
        if len(titles) > 1 or _name(titles[0]) == "media:title":
            raise Fallback
        value, ctype = self._text_field(titles[0], "text/plain", exact=True)
        return {"title": value, "title_detail": {"type": ctype}}

    # --- one entry ----------------------------------------------------------------------

    def _entry(self, item) -> dict:
        e: dict = {}
        links: list[dict] = []
        if item.get(f"{{{RDF}}}about") is not None:
            e["id"] = item.get(f"{{{RDF}}}about")
        if set(_attrs(item)) & {"href", "lastmod"}:
            raise Fallback
        has_content = False
        titles = authors = 0
        for child in item:
            name = _name(child)
            if name in _TITLE:
                titles += 1
                if titles > 1:
                    raise Fallback
                e["title"], ctype = self._text_field(child, "text/plain")
                e["title_detail"] = {"type": ctype}
            elif name == "link":
                self._link(child, e, links)
            elif name in ("guid", "id"):
                a = _attrs(child)
                is_link = a.get("ispermalink", "true") == "true"
                value = _strip(child)
                if value and is_link:
                    value = _join(self.base, value)
                e["id"] = value = self.fix(value)
                if is_link:
                    e.setdefault("link", value)
            elif name in _DESCRIPTION or name == "summary":
                if "summary" in e and not has_content:
                    raise Fallback  # feedparser would take this one as content
                default = "text/html" if name in _DESCRIPTION else "text/plain"
                e["summary"], ctype = self._text_field(child, default, body=True)
                e["summary_detail"] = {"type": ctype}
            elif name == "content:encoded" or (name == "content" and self.atom):
                has_content = True
                default = "text/html" if name == "content:encoded" else "text/plain"
                value, ctype = self._text_field(child, default, body=True)
                e.setdefault("content", []).append({"type": ctype, "value": value})
                e.setdefault("summary", value)
            elif name in _PUBLISHED:
                e["published_parsed"] = _parse_date(self.fix(_strip(child)))
            elif name in _UPDATED:
                e["updated_parsed"] = _parse_date(self.fix(_strip(child)))
            elif name in _TEXT_AUTHOR and not len(child) and not self.atom:
                e["author"] = self.fix(_strip(child))
            elif name == "author" and self.atom:
                authors += 1
                if authors > 1:
                    raise Fallback
                self._atom_author(child, e)
            elif name in _CATEGORY:
                self._category(child, e)
            elif name == "enclosure":
                a = _enforce_href(_attrs(child))
                a["rel"] = "enclosure"
                links.append(a)
            elif name == "media:content":
                if len(child):
                    raise Fallback
                e.setdefault("media_content", []).append(_attrs(child))
            elif name == "media:thumbnail":
                a = _attrs(child)
                if len(child):
                    raise Fallback
                text = _strip(child)
                if text and "url" not in a:
                    a["url"] = self.fix(_join(self.base, text))
                e.setdefault("media_thumbnail", []).append(a)
            elif name in _HARMLESS or (name == "source" and not self.atom):
                if len(child):
                    raise Fallback
            elif name == "contributor":
                if any(_name(sub) not in _PERSON_PARTS or len(sub) for sub in child):
                    raise Fallback
            elif not _ignorable(child, name):
                raise Fallback
        if links:
            e["links"] = links
            e["enclosures"] = [
                {k: v for k, v in link.items() if k != "rel"}
                for link in links
                if link["rel"] == "enclosure"
            ]
        return e

    def _text_field(self, el, default_type: str, *, body: bool = False, exact: bool = False):
        """A text or HTML element as feedparser's pop() leaves it: ``(value, type)``.

        ``body``: the HTML may become the item's body tree (resolve URIs there);
        ``exact``: the string itself is used, so it must be feedparser's to the byte
        (otherwise only its text is read, which feedparser's URI pass leaves alone).
        """
        a = _attrs(el)
        if "mode" in a or "src" in a:
            raise Fallback  # base64 or out-of-line content
        ctype = _content_type(a.get("type", default_type))
        if ctype not in ("text/plain", "text/html"):
            raise Fallback
        value = _strip(el)
        if ctype == "text/plain" and not self.atom and _looks_like_html(value):
            ctype = "text/html"
        if ctype != "text/html" or not self.url:
            return self.fix(value), ctype
        if body:  # the body's tags are read once, for this check and for the sanitizer
            plain = predict(value, sort_attributes=True)
            if plain is None:
                is_plain = self._plain_html(value)
            else:  # only plain references, and plain tags if they are written plainly;
                # a predicted body holds no C1 character, so only _repair could change it
                is_plain = plain.simple and _repair(value) == value
            if is_plain:
                value = RawHTML(value)
                value.base, value.plain = self.base, False if plain is None else plain
                return value, ctype
        elif not exact and self._plain_html(value):
            return value, ctype
        return self.fix(resolve_relative_uris(value, self.base, "utf-8", ctype)), ctype

    def _plain_html(self, s: str) -> bool:
        # A body repeats a few tags many times (<p>, </p>): each distinct one is matched once.
        tags_plain = all(map(_plain_tag, set(_MARKUP.findall(s))))
        return tags_plain and not _NOT_PLAIN_REF.search(s) and self.fix(s) == s

    def _link(self, el, e: dict, links: list) -> None:
        a = _attrs(el)
        if not a.keys() & {"href", "url", "uri"}:
            if a:
                raise Fallback
            value = _strip(el)
            value = self.fix(_join(self.base, value) if value else value)
            if "&" in value:
                value = _REF.sub(r"&\g<1>", value.replace("&amp;", "&"))
            e["link"] = value
            links.append(
                {"rel": "alternate", "type": "text/html", **({"href": value} if value else {})}
            )
            return
        a.setdefault("rel", "alternate")
        a.setdefault("type", "application/atom+xml" if a["rel"] == "self" else "text/html")
        a = _enforce_href(a)
        if "href" in a:
            a["href"] = _join(self.base, a["href"])
        links.append(a)
        if "href" in a and a["rel"] == "alternate" and _content_type(a["type"]) in _HTML_TYPES:
            e["link"] = a["href"]

    def _atom_author(self, el, e: dict) -> None:
        detail = {}
        for sub in el:
            part = _name(sub)
            if part not in _PERSON_PARTS:
                raise Fallback
            if part in ("name", "email"):
                detail[part] = _strip(sub)  # feedparser does not repair these two
            else:
                _strip(sub)  # no markup inside
                detail["href"] = True
        e["author"] = self.fix("".join([el.text or "", *(sub.tail or "" for sub in el)]).strip())
        name, email = detail.get("name"), detail.get("email")
        if name and email:
            e["author"] = f"{name} ({email})"
        elif name or email:
            e["author"] = name or email

    def _category(self, el, e: dict) -> None:
        a = _attrs(el)
        tags = e.setdefault("tags", [])
        _add_tag(tags, a.get("term"), a.get("scheme", a.get("domain")), a.get("label"))
        value = self.fix(_strip(el))
        if value:
            if tags and not tags[-1]["term"]:
                tags[-1]["term"] = value
            else:
                _add_tag(tags, value, None, None)


def _plain_tag(tag: str) -> bool:
    """A piece of :data:`_MARKUP` is one plain tag whose attribute names do not come
    again after them, as ``WS name WS* =``, anywhere in the tag (values included)."""
    if _PLAIN_TAG.match(tag) is None:
        return False
    if "=" not in tag:
        return True
    # As the case-blind comparison of the pattern this replaced: each character's simple
    # lower case, which str.lower() also gives, but for "İ" (it gives two characters).
    low = (tag.replace("\u0130", "i") if "\u0130" in tag else tag).lower()
    if len(low) != len(tag):
        return False
    return not any(
        _named_again(m[1].lower()).search(low, m.end(1)) for m in _ATTR_NAME.finditer(tag)
    )


@lru_cache(maxsize=256)
def _named_again(name: str) -> re.Pattern[str]:
    return re.compile(f"{_WS}{re.escape(name)}{_WS}*=")


def _name(el) -> str:
    """The element's name as feedparser dispatches on it: ``dc:creator``, ``pubdate``."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    name = _known_name(tag)
    if name is None:  # unknown namespace: feedparser uses the prefix the document gave it
        local = tag.split("}", 1)[1]
        name = f"{el.prefix}:{local}".lower() if el.prefix else local.lower()
    return name


@lru_cache(maxsize=1024)
def _known_name(tag: str) -> str | None:
    if tag[0] != "{":
        return tag.lower()
    uri, local = tag[1:].split("}", 1)
    uri = uri.lower()
    if "backend.userland.com/rss" in uri:
        uri = "http://backend.userland.com/rss"
    prefix = _NAMESPACES.get(uri)
    if prefix is None:
        return None
    return f"{prefix}:{local}".lower() if prefix else local.lower()


def _attrs(el) -> dict:
    """Attributes keyed the way feedparser keys them, ``rel``/``type`` values lowercased."""
    out = {}
    for key, value in el.items():
        if key[0] == "{":
            uri, local = key[1:].split("}", 1)
            prefix = _NAMESPACES.get(uri.lower(), "")
            key = f"{prefix}:{local}" if prefix else local
        key = key.lower()
        if key in out:
            raise Fallback
        out[key] = value.lower() if key in ("rel", "type") else value
    return out


def _strip(el) -> str:
    """The element's text as feedparser collects it; markup inside is not ours to read."""
    if len(el):
        raise Fallback
    return (el.text or "").strip()


def _split(parent, entry_name: str) -> tuple[list, list]:
    """The entries among ``parent``'s children, and the other children."""
    entries, others = [], []
    for child in parent:
        (entries if _name(child) == entry_name else others).append(child)
    return entries, others


def _check_feed_level(elements: list, *, titles_allowed: bool) -> None:
    """Nothing outside the entries may add an entry, leak state into one, or bring in a
    feed title that feedparser would read differently."""
    for el in elements:
        for sub in el.iter():
            name = _name(sub)
            if name in ("item", "entry") or name in _SETS_HAS_CONTENT:
                raise Fallback
            if name in _TITLE and not (
                (titles_allowed and sub is el) or _name(sub.getparent()) in ("image", "textinput")
            ):
                raise Fallback


def _enforce_href(a: dict) -> dict:
    href = a.get("url", a.get("uri", a.get("href")))
    if href:
        a.pop("url", None)
        a.pop("uri", None)
        a["href"] = href
    return a


def _add_tag(tags: list, term, scheme, label) -> None:
    if not (term or scheme or label):
        return
    tag = {"term": term, "scheme": scheme, "label": label}
    if tag not in tags:
        tags.append(tag)


def _ignorable(el, name: str) -> bool:
    """An element feedparser has no handler for, stored under a key nothing here reads."""
    if len(el):
        return False
    method = name.replace(":", "_")
    if hasattr(_FeedParserMixin, "_start_" + method) or hasattr(_FeedParserMixin, "_end_" + method):
        return False
    key = FeedParserDict.keymap.get(method, method)
    return (key[0] if isinstance(key, list) else key) not in _READ_KEYS
