"""Digests as Markdown, HTML, JSON, plain text and Atom; email subjects.

Everything a digest shows came from feeds, so all of it is untrusted:

* text is cleaned (control characters dropped, whitespace runs collapsed) before any format
  sees it, and HTML output is autoescaped by Jinja2;
* every link, in every format, goes through :func:`safe_url` — only absolute ``http``/``https``
  URLs survive, anything else (``javascript:``, ``data:``, relative paths) is left out;
* no story HTML is ever copied into a digest, only plain text, and remote images appear in
  HTML only when asked for (``images=True``), as bare ``<img>`` elements.

Times arrive already converted to the watch's zone (see :class:`monitor.models.Digest`);
they are shown as ``2021-12-31 08:00``, and a date-only value stays a date.
"""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from functools import cache
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from monitor import __version__
from monitor.models import Digest, DigestEntry, DigestStory
from monitor.text import detect_lang

__all__ = [
    "FORMATS",
    "SCHEMA",
    "digest_to_dict",
    "entry_id",
    "format_time",
    "render",
    "render_atom",
    "safe_url",
    "subject",
]

FORMATS = ("md", "html", "json", "text")
SCHEMA = "monitor-digest/1"
# Atom ids: tag URIs (RFC 4151) under a fixed authority, so they never change between renders.
TAG_PREFIX = "tag:monitor,2021:"
ATOM_NS = "http://www.w3.org/2005/Atom"

# C0/C1 controls (except tab/newline, which are whitespace anyway), bidi overrides and
# other format characters that could disguise text or break terminals and XML, and the
# noncharacters U+FFFE/U+FFFF, which XML forbids (a feed holding one is no feed).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"
    r"\ufffe\uffff]"
)
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- text and link hygiene ---------------------------------------------------------------


def clean(s: str | None) -> str:
    """One line of display text: control characters removed, whitespace runs collapsed."""
    if not s:
        return ""
    return " ".join(_CONTROL.sub("", s).split())


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL fit for an ``href``, else None.

    Browsers ignore tabs and newlines inside a scheme (``java\\tscript:``), so any control
    character or inner whitespace disqualifies the URL rather than being stripped.
    """
    if not url:
        return None
    url = url.strip()
    if not url or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def format_time(value: str | None) -> str:
    """``2021-12-31T08:00:00+08:00`` → ``2021-12-31 08:00``; ``2021-12-31`` stays as it is.

    The value is shown in the zone it carries (the watch's); unreadable values are shown
    cleaned but otherwise unchanged, and None as an empty string.
    """
    v = clean(value)
    if not v:
        return ""
    try:
        if _DATE_ONLY.fullmatch(v):
            return date.fromisoformat(v).isoformat()
        return datetime.fromisoformat(v).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return v


def _aware(value: str | None, tz: str) -> datetime | None:
    """An aware datetime for ``value`` (naive values are read in ``tz``), or None."""
    v = clean(value)
    if not v or _DATE_ONLY.fullmatch(v):
        return None
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    if dt.tzinfo is None:
        try:
            dt = dt.replace(tzinfo=ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError):
            dt = dt.replace(tzinfo=UTC)
    return dt


def _published(value: str | None, tz: str) -> datetime | None:
    """A story's time for Atom's ``published``, a date-time: a date alone (``2021-12-31``,
    as a source gave it) is that day's midnight in ``tz``, the zone the digest shows."""
    v = clean(value)
    return _aware(f"{v}T00:00:00" if _DATE_ONLY.fullmatch(v) else v, tz)


def _day(value: str | None) -> str:
    v = clean(value)
    return v[:10] if re.match(r"\d{4}-\d{2}-\d{2}", v) else v


# --- the view every format shares --------------------------------------------------------


def _story_view(s: DigestStory) -> dict:
    image = getattr(s, "image", None)  # optional field; older Digest builders may lack it
    return {
        "story_key": s.story_key,
        "title": clean(s.title) or "(untitled)",
        "site": clean(s.site),
        "published": clean(s.published) or None,
        "time": format_time(s.published),
        "url": safe_url(s.url),
        "lead": clean(s.lead),
        "mirror_links": [u for u in map(safe_url, s.mirror_links) if u],
        "image": safe_url(image),
        "lang": "zh-Hant" if detect_lang(f"{s.title} {s.lead}") == "zh-Hant" else None,
    }


def _entry_view(e: DigestEntry) -> dict:
    return {
        "headline": _story_view(e.headline),
        "also": [_story_view(s) for s in e.also],
        "matched_terms": [t for t in map(clean, e.matched_terms) if t],
        "outlets": e.outlets,
    }


def _counts(digest: Digest) -> tuple[int, int, int]:
    """(groups, stories, outlets)."""
    stories = [s for e in digest.entries for s in (e.headline, *e.also)]
    return len(digest.entries), len(stories), len({clean(s.site) for s in stories})


def _stories_phrase(n: int) -> str:
    if n == 0:
        return "no new stories"
    return "1 new story" if n == 1 else f"{n} new stories"


def _summary(digest: Digest) -> str:
    groups, stories, outlets = _counts(digest)
    if groups == 0:
        return "no new stories"
    reports = "1 report" if stories == 1 else f"{stories} reports"
    from_ = "1 outlet" if outlets == 1 else f"{outlets} outlets"
    return f"{_stories_phrase(groups)}, {reports} from {from_}"


def _dateline(digest: Digest) -> str:
    parts = [f"{format_time(digest.generated_at)} ({clean(digest.timezone)})"]
    if clean(digest.since):
        parts.append(clean(digest.since))
    return " · ".join(parts)


def subject(digest: Digest) -> str:
    """``[monitor] 乌克兰: 3 new stories (2021-12-31)`` — one story is one group."""
    return (
        f"[monitor] {clean(digest.watch)}: {_stories_phrase(len(digest.entries))}"
        f" ({_day(digest.generated_at)})"
    )


# --- JSON --------------------------------------------------------------------------------


def _story_dict(v: dict) -> dict:
    return {
        "story_key": v["story_key"],
        "title": v["title"],
        "site": v["site"] or None,
        "published": v["published"],
        "url": v["url"],
        "lead": v["lead"],
        "mirror_links": v["mirror_links"],
        "image": v["image"],
    }


def digest_to_dict(digest: Digest) -> dict:
    """The ``monitor-digest/1`` document (see docs/digest-schema.md), keys in schema order."""
    groups, stories, outlets = _counts(digest)
    return {
        "schema": SCHEMA,
        "watch": clean(digest.watch),
        "digest_id": digest.digest_id,
        "generated_at": clean(digest.generated_at),
        "timezone": clean(digest.timezone),
        "since": clean(digest.since),
        "counts": {"entries": groups, "stories": stories, "outlets": outlets},
        "entries": [
            {
                "headline": _story_dict(v["headline"]),
                "also": [_story_dict(s) for s in v["also"]],
                "matched_terms": v["matched_terms"],
                "outlets": v["outlets"],
            }
            for v in map(_entry_view, digest.entries)
        ],
    }


def _render_json(digest: Digest) -> str:
    return json.dumps(digest_to_dict(digest), ensure_ascii=False, indent=2) + "\n"


# --- Markdown ----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
_MD_URL_UNSAFE = re.compile(r"[()<>\"'`\\\[\] ]")


# What opens a list at a line's start: "1. ", "2) ", "- ", "+ ".
_MD_BLOCK_START = re.compile(r"^(\s*(?:\d{1,9}(?=[.)](?:\s|$))|(?=[-+])))(.)")


def _md(s: str) -> str:
    """Text that CommonMark shows literally (no emphasis, links or raw HTML), also where
    it starts a line: a lead opening with ``1. `` is no list inside its quote."""
    s = _MD_ENTITY.sub(r"\\&", _MD_SPECIAL.sub(r"\\\1", s))
    return _MD_BLOCK_START.sub(r"\1\\\2", s, count=1)


def _md_url(url: str) -> str:
    return _MD_URL_UNSAFE.sub(lambda m: quote(m.group(), safe=""), url)


def _md_title(v: dict) -> str:
    return f"[{_md(v['title'])}]({_md_url(v['url'])})" if v["url"] else _md(v["title"])


def _md_byline(v: dict) -> str:
    return " · ".join(p for p in (f"**{_md(v['site'])}**" if v["site"] else "", v["time"]) if p)


def _mirror_label(links: list[str]) -> str:
    return "mirror" if len(links) == 1 else "mirrors"


def _md_mirrors(v: dict) -> str:
    links = v["mirror_links"]
    return f"{_mirror_label(links)}: " + " · ".join(f"<{_md_url(u)}>" for u in links)


def _render_md(digest: Digest) -> str:
    out = [f"# {_md(clean(digest.watch))}: {_stories_phrase(len(digest.entries))}", ""]
    out += [_md(_dateline(digest)), ""]
    if not digest.entries:
        out += ["No new stories matched this watch.", ""]
    else:
        out += [_md(_summary(digest)) + ".", ""]
    for n, e in enumerate(map(_entry_view, digest.entries), 1):
        h = e["headline"]
        out += [f"## {n}. {_md_title(h)}", ""]
        meta = [_md_byline(h)] if _md_byline(h) else []
        if e["matched_terms"]:
            meta.append("matched: " + _md(", ".join(e["matched_terms"])))
        if meta:
            out += [" · ".join(meta), ""]
        if h["lead"]:
            out += [f"> {_md(h['lead'])}", ""]
        if h["mirror_links"]:
            out += [_md_mirrors(h), ""]
        if e["also"]:
            out += ["Also reported by:", ""]
            for s in e["also"]:
                out.append("- " + " · ".join(p for p in (_md_byline(s), _md_title(s)) if p))
                if s["mirror_links"]:
                    out.append("  " + _md_mirrors(s))
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# --- plain text --------------------------------------------------------------------------


def _columns(s: str) -> int:
    """Terminal columns ``s`` takes: wide (CJK) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _text_byline(v: dict) -> str:
    return " · ".join(p for p in (v["site"], v["time"]) if p)


def _render_text(digest: Digest) -> str:
    title = f"{clean(digest.watch)}: {_stories_phrase(len(digest.entries))}"
    out = [title, "=" * min(_columns(title), 72), _dateline(digest)]
    out += ["", "No new stories matched this watch." if not digest.entries else _summary(digest)]
    for n, e in enumerate(map(_entry_view, digest.entries), 1):
        h = e["headline"]
        pad = " " * (len(str(n)) + 2)
        out += ["", f"{n}. {h['title']}"]
        meta = [_text_byline(h)] if _text_byline(h) else []
        if e["matched_terms"]:
            meta.append("matched: " + ", ".join(e["matched_terms"]))
        if meta:
            out.append(pad + " · ".join(meta))
        if h["lead"]:
            out.append(pad + h["lead"])
        if h["url"]:
            out.append(pad + h["url"])
        out += [f"{pad}mirror: {u}" for u in h["mirror_links"]]
        if e["also"]:
            out.append(pad + "Also reported by:")
            for s in e["also"]:
                out.append(f"{pad}- " + " · ".join(p for p in (_text_byline(s), s["title"]) if p))
                if s["url"]:
                    out.append(f"{pad}  {s['url']}")
                out += [f"{pad}  mirror: {u}" for u in s["mirror_links"]]
    return "\n".join(out) + "\n"


# --- HTML --------------------------------------------------------------------------------


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("monitor", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render_html(digest: Digest, *, images: bool = False) -> str:
    return (
        _env()
        .get_template("digest.html.j2")
        .render(
            watch=clean(digest.watch),
            heading=f"{clean(digest.watch)}: {_stories_phrase(len(digest.entries))}",
            dateline=_dateline(digest),
            summary=_summary(digest),
            entries=[_entry_view(e) for e in digest.entries],
            images=bool(images),
            version=__version__,
        )
    )


def render(digest: Digest, fmt: str, *, images: bool = False) -> str:
    """``digest`` as ``md``, ``html``, ``json`` or ``text``.

    ``images`` only affects HTML: when true, a story's lead image (an http(s) URL) is shown
    as a remote ``<img>``; by default a digest loads nothing from the network.
    """
    if fmt == "md":
        return _render_md(digest)
    if fmt == "html":
        return _render_html(digest, images=images)
    if fmt == "json":
        return _render_json(digest)
    if fmt == "text":
        return _render_text(digest)
    raise ValueError(f"unknown digest format {fmt!r} (expected one of {', '.join(FORMATS)})")


# --- Atom --------------------------------------------------------------------------------


def _tag(s: str, safe: str = "") -> str:
    return quote(s, safe="!$&'()*+,;=:@-._~" + safe)


def entry_id(watch: str, story_key: str) -> str:
    """The Atom id of a story in a watch's feed: same story, same id, in every render.

    ``tag:monitor,2021:<watch>/<story key>``, percent-encoded; a "/" in the watch name is
    encoded, so the first "/" always ends it.
    """
    return f"{TAG_PREFIX}{_tag(clean(watch))}/{_tag(story_key, '/')}"


def _rfc3339(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds").replace("+00:00", "Z")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def render_atom(digests: list[Digest], *, watch: str, feed_url: str | None = None) -> str:
    """One Atom 1.0 feed for ``watch``: one entry per digest group, newest digest first.

    Entry ids are tag URIs built from the watch and the headline's story key, so a reader
    sees a story once; when the same story is in several digests, the newest one wins.
    ``updated`` is when the digest carrying the entry was generated.
    """
    if stray := sorted({d.watch for d in digests if d.watch != watch}):
        raise ValueError(f"digests for other watches in the {watch!r} feed: {stray}")
    dated = []
    for d in digests:
        when = _aware(d.generated_at, d.timezone)
        if when is None:
            raise ValueError(f"digest generated_at is not a date-time: {d.generated_at!r}")
        dated.append((when, d))
    dated.sort(key=lambda p: p[0], reverse=True)

    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(
        f"{{{ATOM_NS}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-Hans"}
    )
    _sub(feed, "id", f"{TAG_PREFIX}{_tag(clean(watch))}")
    _sub(feed, "title", f"monitor: {clean(watch)}")
    updated = dated[0][0] if dated else datetime.now(UTC).replace(microsecond=0)
    _sub(feed, "updated", _rfc3339(updated))
    if url := safe_url(feed_url):
        _sub(feed, "link", rel="self", type="application/atom+xml", href=url)
    author = _sub(feed, "author")
    _sub(author, "name", "monitor")
    _sub(feed, "generator", "monitor", version=__version__)

    fragment = _env().get_template("atom_entry.html.j2")
    seen: set[str] = set()
    for when, d in dated:
        for e in d.entries:
            eid = entry_id(watch, e.headline.story_key)
            if eid in seen:
                continue
            seen.add(eid)
            v = _entry_view(e)
            h = v["headline"]
            entry = _sub(feed, "entry")
            _sub(entry, "id", eid)
            _sub(entry, "title", h["title"], type="text")
            _sub(entry, "updated", _rfc3339(when))
            if published := _published(e.headline.published, d.timezone):
                _sub(entry, "published", _rfc3339(published))
            if h["site"]:
                _sub(_sub(entry, "author"), "name", h["site"])
            if h["url"]:
                _sub(entry, "link", rel="alternate", type="text/html", href=h["url"])
            for s in v["also"]:
                if s["url"]:
                    _sub(
                        entry,
                        "link",
                        rel="related",
                        type="text/html",
                        href=s["url"],
                        title=s["title"],
                    )
            for term in v["matched_terms"]:
                _sub(entry, "category", term=term)
            if h["lead"]:
                _sub(entry, "summary", h["lead"], type="text")
            _sub(entry, "content", fragment.render(e=v).strip(), type="html")

    ET.indent(feed, space="  ")
    body = ET.tostring(feed, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"
