"""An article saved as the outlet's own web page: mirrors and archive repositories keep
blocked outlets' pages whole, ``<head>`` and all.

The page says what it is in its ``<head>``: ``rel=canonical`` (else ``og:url``) for the
address, ``og:title`` (else the article's ``<h1>``, else ``<title>``), the publication time
(``article:published_time``, ``itemprop=datePublished``, else a ``<time datetime>`` in the
article), the author and the outlet's name (``og:site_name``; a site rule matching the
address names it instead, see :func:`monitor.canonical.assign_keys`). The text is the article's
own element: the one ``<article>`` not inside another (comments may be articles too), or of
several the one holding the ``<h1>`` (the others are teasers), else the one
``itemprop=articleBody``, else ``<main>`` of a page that calls itself an article
(``og:type``). A page with none of these, a front page of teasers, or a page whose
``og:type`` says it is something else (``website``) is not an article: its navigation and
lists would become the story. Comments inside the article are left out.
"""

from __future__ import annotations

import re

from lxml import etree

from monitor.models import Image, Item, NotAnArticle, ParseError
from monitor.parsers import dates
from monitor.parsers.html import (
    clean_html,
    dedupe_images,
    drop_tree,
    html_to_line,
    html_to_text,
    images_in,
    join_url,
    summarize,
    without_xml_declaration,
)
from monitor.text import detect_lang

FORMAT = "html-page"

# A document that opens as a web page (after a BOM, blanks and comments).
START = re.compile(
    r"\A\ufeff?(?:\s+|<!--.*?-->|<\?xml[^>]*>)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
# A comment thread inside an article, by the names sites give it ("comments",
# "comment-list", "comments-area"), not a commentary.
_COMMENT_NAME = re.compile(r"(?<![\w-])comment(?!ary)", re.I)
# Inside the article, but not its text.
_NOT_TEXT = ("header", "footer", "nav", "aside")
_PARSER = etree.HTMLParser(collect_ids=False, remove_comments=True)
_ABSOLUTE = re.compile(r"https?://", re.I)
_PUBLISHED = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "date",
)


def parse(text: str, *, url: str | None = None, site: str | None = None) -> Item:
    text = without_xml_declaration(text)
    root = etree.fromstring(text, _PARSER) if text.strip() else None
    if root is None:
        raise ParseError("empty HTML page")
    meta = _meta(root)
    given_base = root.find(".//base[@href]")
    page = join_url(url, given_base.get("href").strip()) if given_base is not None else url
    canonical = _link(root, "canonical") or meta.get("og:url")
    address = join_url(page, canonical) if canonical else None
    body = _article(root, meta)
    title = _title(root, body, meta)
    if not title:
        raise NotAnArticle("HTML page without a title")
    kind = meta.get("og:type", "article").lower()
    if kind != "article" and not any(meta.get(k) for k in _PUBLISHED):
        raise NotAnArticle(f"HTML page {title!r} is a {kind}, not an article (og:type)")
    if body is None:
        raise NotAnArticle(f"HTML page {title!r} holds no one article (<article>, <main>)")
    published = next((meta[k] for k in _PUBLISHED if meta.get(k)), None)
    if published is None:
        stamps = body.findall(".//time[@datetime]")
        # A dateline before a date some sentence mentions.
        stamps.sort(key=lambda t: any(a.tag == "p" for a in t.iterancestors()))
        published = stamps[0].get("datetime") if stamps else None
    for el in [el for path in _NOT_TEXT for el in body.iterfind(f".//{path}")]:
        drop_tree(el)
    threads = [
        el
        for el in body.iter(etree.Element)
        if _COMMENT_NAME.search(f"{el.get('id', '')} {el.get('class', '')}")
    ]
    for el in threads:
        if any(a is body for a in el.iterancestors()):  # not inside a thread dropped before
            drop_tree(el)
    for el in body.findall(".//article"):  # comments written as articles
        drop_tree(el)
    for el in body.findall("time"):  # a dateline of its own, not a date inside a sentence
        drop_tree(el)
    for h1 in body.findall(".//h1"):  # the title, not the text
        if html_to_line(h1) == title:
            drop_tree(h1)
    # Links and images resolve against the article's address; the cleaner needs one that
    # is absolute (a saved file's relative canonical link is none).
    base = next((b for b in (address, page) if b and _ABSOLUTE.match(b)), None)
    text_body = html_to_text(body)
    if not text_body:
        raise NotAnArticle(f"HTML page {title!r} has no article text")
    images = images_in(body, base=base)
    if lead := meta.get("og:image"):  # the page's own choice of lead image comes first
        images = dedupe_images([Image(join_url(base, lead)), *images])
    return Item(
        title=title,
        format=FORMAT,
        url=address,
        site=meta.get("og:site_name") or site,
        author=_author(meta),
        published=dates.parse_when(published),
        summary=summarize(meta.get("description") or text_body),
        text=text_body,
        html=clean_html(body, base=base),
        images=images,
        tags=_keywords(meta.get("keywords") or meta.get("news_keywords")),
        lang=detect_lang(title + "\n" + text_body),
    )


def _meta(root: etree._Element) -> dict[str, str]:
    """``<meta>`` values by ``property``, ``name`` or ``itemprop``; the first one wins."""
    out: dict[str, str] = {}
    for el in root.iter("meta"):
        key = el.get("property") or el.get("name") or el.get("itemprop")
        value = " ".join((el.get("content") or "").split())
        if key and value:
            out.setdefault(key.strip().lower(), value)
    for el in root.iterfind(".//*[@itemprop='datePublished']"):
        value = el.get("datetime") or el.get("content")
        if value:
            out.setdefault("datepublished", value)
    return out


def _link(root: etree._Element, rel: str) -> str | None:
    for el in root.iter("link"):
        if rel in (el.get("rel") or "").lower().split() and (href := el.get("href", "").strip()):
            return href
    return None


def _article(root: etree._Element, meta: dict[str, str]) -> etree._Element | None:
    articles = [a for a in root.iter("article") if next(a.iterancestors("article"), None) is None]
    if len(articles) == 1:
        return articles[0]
    if len(articles) > 1:  # the story and teasers of others: the story has the <h1>
        titled = [a for a in articles if a.find(".//h1") is not None]
        return titled[0] if len(titled) == 1 else None
    bodies = root.findall(".//*[@itemprop='articleBody']")
    if len(bodies) == 1:
        return bodies[0]
    mains = root.findall(".//main")
    if len(mains) == 1 and meta.get("og:type", "").lower() == "article":
        return mains[0]
    return None


def _title(root: etree._Element, body: etree._Element | None, meta: dict[str, str]) -> str:
    if meta.get("og:title"):
        return meta["og:title"]
    h1 = (body if body is not None else root).find(".//h1")
    if h1 is not None and (line := html_to_line(h1)):
        return line
    title = root.find(".//title")
    return " ".join((title.text or "").split()) if title is not None else ""


def _author(meta: dict[str, str]) -> str | None:
    """``author``, else ``article:author`` unless that is a profile's address."""
    for value in (meta.get("author"), meta.get("article:author")):
        if value and not value.startswith(("http://", "https://")):
            return value
    return None


def _keywords(value: str | None) -> list[str]:
    words = re.split(r"[,，、;；]", value or "")
    return list(dict.fromkeys(w.strip() for w in words if w.strip()))
