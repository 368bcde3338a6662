"""URL canonicalization and story keys: deciding that two links name the same story.

The same article reaches us as ``http``/``https``, with tracking parameters, with
different percent-encodings, as a Simplified or Traditional edition, or as a mirror page's
relative nav link. Keys make all of those compare equal.

Key shapes (``Item.story_key``), first that applies:

``<key_prefix>:<id>``
    a site rule's pattern matched ``item.url`` or one of ``item.alt_urls``, or its
    ``link_patterns`` a mirror page's nav link: ``epochtimes:n13473224``,
    ``ntdtv:a103304353``, ``bbc:59573574``.
``url://<host>/<path>?<query>``
    no rule matched: ``"url:" + url_key(item.url)``, scheme-less so http == https.
``title:<site>:<title>``
    no URL: the title key (below).
``title::<title>#<text>``
    no URL and no known site: the title alone would make one story of every outlet's
    "声明" or "公告", so a digest of the text (letters only, folded) joins it; copies that
    differ in more than spacing and punctuation meet through the content sketch instead.

``Item.title_key`` is ``title:<site>:<title>`` whenever the site is known, where
``<site>`` is the folded site name without spaces and ``<title>`` is
:func:`monitor.text.normalize_title`: it lets a link-less copy meet its linked original.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import string
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from urllib.parse import urlsplit, urlunsplit

from monitor.models import Item
from monitor.text import fold, normalize_title

# Query parameters that only say where a click came from, never which page it is.
# Every name starting with "utm_" goes too (see _is_tracking). Deliberately absent:
# "from", "ref", "source", "id", "p" — real parameters on some sites.
TRACKING_PARAMS = frozenset(
    {
        # ad / click ids
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "li_fat_id",
        # mail campaigns (Mailchimp, HubSpot, Marketo)
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        # analytics
        "_ga",
        "_gl",
        "xtor",
        "ref_src",
        "ref_url",
        "smid",
        # BBC feed links carry ?at_medium=RSS&at_campaign=...
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        # Chinese platforms (Alibaba spm/scm, Bilibili vd_source, share buttons)
        "spm",
        "scm",
        "vd_source",
        "share",
        "share_source",
        "share_medium",
    }
)
TRACKING_PREFIXES = ("utm_",)

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# A percent-escape, or any character that is neither unreserved nor reserved (RFC 3986).
_ESCAPE_OR_UNSAFE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]")


def _fix_escape(m: re.Match[str]) -> str:
    t = m.group()
    if len(t) == 3:  # "%xx": unreserved characters decode, the rest get uppercase hex
        ch = chr(int(t[1:], 16))
        return ch if ch in _UNRESERVED else t.upper()
    return "".join(f"%{b:02X}" for b in t.encode("utf-8", "surrogatepass"))


def _normalize_escapes(s: str) -> str:
    """One spelling per character: ``%e6%ac%a7``, ``%E6%AC%A7`` and ``欧`` all become the second."""
    return _ESCAPE_OR_UNSAFE.sub(_fix_escape, s)


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _host(host: str) -> str:
    host = host.lower()
    if not host.isascii():
        # Not a valid IDN: keep it lowercased rather than fail.
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    return host


def _netloc(scheme: str, netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]") + 1 or len(hostport)
        host, port = hostport[:end], hostport[end:].removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    if port == _DEFAULT_PORTS.get(scheme):
        port = ""
    return f"{userinfo}{at}{_host(host)}{':' + port if port else ''}"


# The version of canonical_url and url_key: raise it with every change to what either
# returns for some URL, so that stores brought up to date by store.upgrade_url_keys give
# their stored URLs and url: keys the new forms. 1: before it was recorded; 2: RFA's AMP
# pages (_AMP_SUFFIXES) have their article's address.
CANONICAL_VERSION = 2


# Keying asks for the same URL several times (story key, site, aliases): a pure function
# of the string, so the answers are kept for the URLs of a poll or two.
@lru_cache(maxsize=4096)
def canonical_url(url: str) -> str:
    """The one spelling of ``url`` that its equivalent spellings share (scheme kept).

    Lowercase scheme and host (IDNA), no default port or fragment, no tracking
    parameters, remaining parameters sorted by name (stable), uniform percent-encoding,
    ``/`` for an empty path, no AMP suffix (:data:`_AMP_SUFFIXES`). Relative URLs are
    normalized the same way, host-less.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: nothing better to say about it
        return url
    scheme = parts.scheme.lower()
    netloc = _netloc(scheme, parts.netloc) if parts.netloc else ""
    path = _normalize_escapes(parts.path)
    if netloc and not path:
        path = "/"
    path = _without_amp(netloc, path)
    params = [p for p in _normalize_escapes(parts.query).split("&") if p]
    params = [p for p in params if not _is_tracking(p.partition("=")[0])]
    params.sort(key=lambda p: p.partition("=")[0])
    return urlunsplit((scheme, netloc, path, "&".join(params), ""))


# AMP editions served at their article's address and a suffix, by host (and subdomains):
# RFA's of …/hk-01032022101010.html is at …/hk-01032022101010.html/ampRFA. Without the
# suffix the two are one story with no id rule (RFA's addresses carry no id to rely on).
_AMP_SUFFIXES = {"rfa.org": ".html/ampRFA"}


def _without_amp(netloc: str, path: str) -> str:
    host = netloc.rpartition("@")[2].partition(":")[0]
    for domain, suffix in _AMP_SUFFIXES.items():
        if (host == domain or host.endswith("." + domain)) and path.endswith(suffix):
            return path.removesuffix(suffix) + ".html"
    return path


def url_key(url: str) -> str:
    """``canonical_url`` without its scheme (``//host/path?q``), so http and https meet."""
    c = canonical_url(url)
    m = _SCHEME.match(c)
    return c[m.end() :] if m else c


class SiteRuleError(ValueError):
    """A ``[[site]]`` table that cannot be used; ``key`` names the offending key."""

    def __init__(self, key: str, message: str):
        super().__init__(f"key '{key}': {message}")
        self.key, self.message = key, message


@dataclass(frozen=True)
class SiteRule:
    """One outlet: its display name, where it lives, and how its URLs name an article."""

    name: str
    hosts: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...] = ()
    key_prefix: str = ""
    # Tried only on links read from mirror pages and listings (see SiteRules.key_for).
    link_patterns: tuple[re.Pattern[str], ...] = ()
    # Other names the outlet goes by, read as ``name`` (see SiteRules.outlet).
    aliases: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict) -> SiteRule:
        """Validate one ``[[site]]`` table; a :class:`SiteRuleError` names the offending key."""
        name = d.get("name")
        if name is None:
            raise SiteRuleError("name", "is required")
        if not isinstance(name, str):
            raise SiteRuleError("name", f"expected str, got {type(name).__name__} {name!r}")
        if not name.strip():
            raise SiteRuleError("name", "must not be empty")
        unknown = set(d) - {"name", "hosts", "patterns", "link_patterns", "key_prefix", "aliases"}
        if unknown:
            raise SiteRuleError(sorted(unknown)[0], "unknown key")
        hosts, aliases = d.get("hosts", []), d.get("aliases", [])
        patterns, link_patterns = d.get("patterns", []), d.get("link_patterns", [])
        for key, value in (
            ("hosts", hosts),
            ("patterns", patterns),
            ("link_patterns", link_patterns),
            ("aliases", aliases),
        ):
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise SiteRuleError(key, f"expected a list of strings, got {value!r}")
        if not all(a.strip() for a in aliases):
            raise SiteRuleError("aliases", f"an alias must not be empty, got {aliases!r}")
        if not hosts and not patterns and not link_patterns:
            raise SiteRuleError("hosts", "'hosts', 'patterns' and 'link_patterns' are all empty")
        key_prefix = d.get("key_prefix", "")
        if not isinstance(key_prefix, str):
            raise SiteRuleError("key_prefix", f"expected str, got {type(key_prefix).__name__}")
        for key, value in (("patterns", patterns), ("link_patterns", link_patterns)):
            if value and not key_prefix.strip():
                raise SiteRuleError("key_prefix", f"is required with '{key}' (the keys' prefix)")
        return cls(
            name=name.strip(),
            hosts=tuple(h.strip().lower() for h in hosts),
            patterns=_compiled("patterns", patterns),
            key_prefix=key_prefix.strip(),
            link_patterns=_compiled("link_patterns", link_patterns),
            aliases=tuple(a.strip() for a in aliases),
        )

    def matches_host(self, host: str, path: str) -> bool:
        for entry in self.hosts:
            suffix, slash, prefix = entry.partition("/")
            suffix = _host(suffix)
            if host != suffix and not host.endswith("." + suffix):
                continue
            if not slash or path == "/" + prefix or path.startswith(f"/{prefix}/"):
                return True
        return False

    def key_for(self, url: str, canonical: str, from_mirror: bool = False) -> str | None:
        for rx in (*self.patterns, *self.link_patterns) if from_mirror else self.patterns:
            for form in (url, canonical):
                m = rx.search(form)
                if m:
                    gid = m.group("id") if "id" in rx.groupindex else m.group(1)
                    if gid:
                        return f"{self.key_prefix}:{gid}"
        return None


def _compiled(key: str, patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for p in patterns:
        try:
            rx = re.compile(p)
        except re.error as e:
            raise SiteRuleError(key, f"bad regex {p!r}: {e}") from None
        if not rx.groups:
            raise SiteRuleError(key, f"{p!r} has no group for the id")
        compiled.append(rx)
    return tuple(compiled)


@dataclass(frozen=True)
class SiteRules:
    """Ordered rules: the first rule that matches wins."""

    rules: tuple[SiteRule, ...] = ()

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @classmethod
    def from_dicts(cls, dicts: Iterable[dict]) -> SiteRules:
        """Rules from ``[[site]]`` tables; an error names the table (``site #2`` counted from
        1, or ``site '<name>'``) and the key. Two tables with one name are an error."""
        rules: list[SiteRule] = []
        for i, d in enumerate(dicts):
            named = isinstance(d, dict) and isinstance(d.get("name"), str)
            where = f"site '{d['name']}'" if named else f"site #{i + 1}"
            if not isinstance(d, dict):
                raise ValueError(f"{where}: expected a table")
            try:
                rule = SiteRule.from_dict(d)
            except SiteRuleError as e:
                raise ValueError(f"{where}: {e}") from None
            if any(r.name == rule.name for r in rules):
                raise ValueError(f"{where}: key 'name': duplicate site name {rule.name!r}")
            rules.append(rule)
        return cls(tuple(rules))

    @classmethod
    def load_default(cls) -> SiteRules:
        """The rules shipped in ``monitor/sites.toml``."""
        return _load_default()

    def extended(self, more_rules: Iterable[SiteRule]) -> SiteRules:
        """``more_rules`` (config) first; they replace rules here with the same name."""
        more = tuple(more_rules)
        names = {r.name for r in more}
        return SiteRules(more + tuple(r for r in self.rules if r.name not in names))

    def fingerprint(self) -> str:
        """A digest of everything that decides keys and outlets, in order: equal rules
        give equal fingerprints."""
        described = [
            (
                r.name,
                r.key_prefix,
                r.hosts,
                [p.pattern for p in r.patterns],
                [p.pattern for p in r.link_patterns],
                r.aliases,
            )
            for r in self
        ]
        return hashlib.sha256(json.dumps(described, ensure_ascii=False).encode()).hexdigest()

    def key_for(self, url: str, *, from_mirror: bool = False) -> str | None:
        """``<key_prefix>:<id>`` from the first rule whose pattern matches, else None.

        ``from_mirror``: the URL is a link read from a mirror page or listing, where a
        rule's ``link_patterns`` apply too. On any other address their shapes (a bare
        ``?n13473224``) name nothing of the rule's outlet: a forum's ``viewtopic?n1234567``
        would join an Epoch Times story."""
        canonical = canonical_url(url)
        for rule in self.rules:
            key = rule.key_for(url, canonical, from_mirror)
            if key:
                return key
        return None

    def outlet(self, name: str | None) -> str | None:
        """The rule's name for a ``name`` that is a rule's name or one of its ``aliases``
        as title keys fold them ("BBC News 中文", "bbc中文网" → "BBC 中文"): copies naming
        one outlet otherwise still share title keys. Other names stay as they are."""
        return self._outlets.get(_site_part(name), name) if name else None

    def outlet_names(self, name: str) -> tuple[str, ...]:
        """``name`` and, when it names a rule's outlet, the rule's name and aliases: a
        watch's ``sites = ["VOA"]`` passes stories stored under 美国之音, and under a name
        stored before it became an alias."""
        outlet = self.outlet(name)
        rule = next((r for r in self.rules if r.name == outlet), None)
        return tuple(dict.fromkeys((name, *((rule.name, *rule.aliases) if rule else ()))))

    @cached_property
    def _outlets(self) -> dict[str, str]:
        """Folded names and aliases → the rule's name; the first rule's where two share one."""
        outlets: dict[str, str] = {}
        for rule in self.rules:
            for name in (rule.name, *rule.aliases):
                outlets.setdefault(_site_part(name), rule.name)
        return outlets

    def site_for(self, url: str) -> str | None:
        """The outlet's display name, from the URL's host (and path prefix), else None."""
        try:
            parts = urlsplit(canonical_url(url))
        except ValueError:
            return None
        if not parts.hostname:
            return None
        for rule in self.rules:
            if rule.matches_host(parts.hostname, parts.path):
                return rule.name
        return None


@cache
def _load_default() -> SiteRules:
    data = tomllib.loads(resources.files("monitor").joinpath("sites.toml").read_text("utf-8"))
    return SiteRules.from_dicts(data.get("site", []))


def title_key(site: str, title: str) -> str | None:
    """``title:<site>:<title>`` — None when the title has no letters to compare."""
    norm = normalize_title(title)
    return f"title:{_site_part(site)}:{norm}" if norm else None


@lru_cache(maxsize=1024)
def _site_part(site: str) -> str:
    """An outlet's name as title keys hold it: folded, without spaces. Kept: keying folds
    each item's outlet twice (its rule's name, then its title key), and outlets repeat."""
    return "".join(fold(site).split())


# Formats whose ``alt_urls`` are links read from a mirror page (the nav line of
# monitor.parsers.epoch_mirror), keyed with the rules' ``link_patterns`` too.
MIRROR_LINK_FORMATS = frozenset({"epoch-mirror"})


def assign_keys(item: Item, rules: SiteRules) -> Item:
    """Fill ``canonical_url``, ``site``, ``title_key`` and ``story_key`` in place.

    A site rule that matches the item's address names its outlet, whatever the document or
    the source calls it (``og:site_name`` "大紀元" or "BBC News 中文", a feed's title): the
    title keys of link-less copies and watches' ``sites`` compare one name per outlet. Without
    an address a rule matches, a name that is a rule's alias is read as the rule's name."""
    urls = [u for u in (item.url, *item.alt_urls) if u and u.strip()]
    url = item.url if item.url and item.url.strip() else None
    item.canonical_url = canonical_url(url) if url else None
    item.site = next((s for s in map(rules.site_for, urls) if s), None) or rules.outlet(item.site)
    item.title_key = title_key(item.site, item.title) if item.site else None
    key = next((k for k in map(rules.key_for, urls) if k), None) or _nav_key(item, rules)
    if key is None and url:
        key = "url:" + url_key(url)
    if key is None and item.entry_id:
        key = ENTRY_KEY + item.entry_id
    if key is None:
        key = item.title_key or _unplaced_key(item)
    item.story_key = key
    return item


def _nav_key(item: Item, rules: SiteRules) -> str | None:
    """A rule key of a mirror page's nav links, read with the rules' ``link_patterns``; never
    of the page's own address (its footer's original), which is read as any address is."""
    if item.format not in MIRROR_LINK_FORMATS:
        return None
    links = (u for u in item.alt_urls if u and u.strip())
    return next((k for u in links if (k := rules.key_for(u, from_mirror=True))), None)


def _unplaced_key(item: Item) -> str:
    """``title::<title>#<text>`` for a story with no URL and no outlet (see module docstring)."""
    key = "title::" + normalize_title(item.title)
    if letters := normalize_title(item.text or ""):
        key += "#" + hashlib.blake2b(letters.encode(), digest_size=6).hexdigest()
    return key


def article_key(story_key: str, canonical: str | None) -> str:
    """The key naming the article a story is: its own, or for a story keyed by its title or
    feed entry that learned a link, the link's ``url:`` key."""
    if canonical and story_key.startswith(("title:", ENTRY_KEY)):
        return "url:" + url_key(canonical)
    return story_key


def distinct_articles(key: str, other: str) -> bool:
    """Whether two article keys (:func:`article_key`) name two articles of one site, which
    no content check may join: a footer or template a site repeats under one-sentence
    briefs is most of their sentences. Two ``url:`` keys on one host, or two keys of one
    site rule with ids of one length: WeChat's signature and short-link ids differ in
    length, and one article has both, which only the content check joins."""
    if key == other or key.startswith(("title:", ENTRY_KEY)):
        return False
    if key.startswith("url:") or other.startswith("url:"):
        host = key.removeprefix("url://").partition("/")[0]
        return key.startswith("url://") and other.startswith(f"url://{host}/") and bool(host)
    prefix, _, ident = key.partition(":")
    other_prefix, _, other_ident = other.partition(":")
    return prefix == other_prefix and len(ident) == len(other_ident)


# A link-less feed entry's key: ``entry:<feed URL or outlet>#<guid>``.
ENTRY_KEY = "entry:"


def entry_feed(key: str) -> str | None:
    """The feed part of an entry key; None for other keys."""
    return key[len(ENTRY_KEY) :].partition("#")[0] if key.startswith(ENTRY_KEY) else None
