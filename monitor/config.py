"""config/monitor.toml → validated settings.

Read once, at start-up, by the CLI. Every error names the file, the table (source, site
or watch) and the key, so a user can fix it without reading code.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .canonical import SiteRules
from .match import Rule
from .similarity import DEFAULT_COPY_SIMILARITY

DEFAULT_CONFIG = Path("config") / "monitor.toml"
SOURCE_KINDS = ("feed", "page", "mirror", "dir")
INDEX_FORMATS = ("auto", "html", "markdown", "csv")


class ConfigError(ValueError):
    """The config cannot be used; the message names the file, table and key."""


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    url: str | None = None
    path: Path | None = None
    site: str | None = None
    timezone: str | None = None  # of the times its documents write without a zone; None: UTC
    interval: timedelta = timedelta(minutes=30)
    enabled: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    proxy: str | None = None
    # mirror only: how to read the index, and how a CSV row's id becomes a page URL.
    index_format: str = "auto"
    page_url: str | None = None

    @property
    def location(self) -> str:
        return self.url if self.url else str(self.path)


DELIVERY_KINDS = ("file", "email", "webhook", "stdout")
DIGEST_FORMATS = ("md", "html", "json", "text", "atom")


@dataclass(frozen=True)
class Delivery:
    kind: str
    format: str = "md"
    path: Path | None = None  # file: the folder
    to: tuple[str, ...] = ()  # email: recipients (SMTP settings come from the environment)
    url: str | None = None  # webhook
    images: bool = False  # html: show remote images (off: no tracking pixels)

    @property
    def key(self) -> str:
        """Names the delivery in the store's ``digest_deliveries``, which marks what it got.

        What it sends to and in which format, so that editing a delivery makes a new one.
        A webhook is named by its host and a hash: its URL often carries a token.
        """
        if self.kind == "file":
            return f"file {self.format} {self.path}"
        if self.kind == "stdout":
            return f"stdout {self.format}"
        if self.kind == "email":
            return "email " + ", ".join(sorted(self.to))
        digest = hashlib.sha256((self.url or "").encode()).hexdigest()[:12]
        return f"webhook {urlsplit(self.url or '').hostname} {digest}"


@dataclass(frozen=True)
class Watch:
    name: str
    rule: Rule  # what matches: terms, regex, source and site filters
    schedule: str | None = None  # cron expression, in the watch's time zone
    timezone: str = "Asia/Shanghai"
    deliveries: tuple[Delivery, ...] = ()


@dataclass(frozen=True)
class Settings:
    timezone: str = "Asia/Shanghai"
    max_interval: timedelta = timedelta(hours=24)
    max_backoff: timedelta = timedelta(hours=6)
    concurrency: int = 16
    per_host: int = 2
    timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    tick: timedelta = timedelta(seconds=30)
    user_agent: str | None = None
    # Digests: how far back "new" reaches the first time, and how stories group.
    digest_lookback: timedelta = timedelta(days=7)
    group_window: timedelta = timedelta(hours=72)
    group_threshold: float | None = None  # None: similarity's documented default
    copy_similarity: float = DEFAULT_COPY_SIMILARITY  # share of sentences a copy shares
    parse_workers: int = 0  # processes that parse fetched documents; 0: the polling process
    # The fetch log (one row per poll of a source) keeps the polls of this long.
    keep_fetches: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Config:
    path: Path | None
    settings: Settings
    sources: tuple[Source, ...]
    rules: SiteRules
    watches: tuple[Watch, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def watch(self, name: str) -> Watch:
        for w in self.watches:
            if w.name == name:
                return w
        raise KeyError(name)

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


# The longest durations the config takes, so that the times computed from them stay within
# the calendar: a year for the waits between polls, a century for how far back a digest
# reaches and how far apart a story's copies may be (an imported archive may go back years).
WAIT_LIMIT = (timedelta(days=365), "a year (365d)")
WINDOW_LIMIT = (timedelta(days=36500), "a hundred years (36500d)")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {None: 60, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """``30`` (minutes), ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30m, 2h or 1d")
    if isinstance(value, int | float):
        if not math.isfinite(value):  # TOML's nan, inf and -inf
            raise ValueError(f"{value!r} is not a duration like 30m, 2h or 1d")
        seconds = value * 60
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration like 30m, 2h or 1d")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        what = "negative" if seconds < 0 else "zero"
        raise ValueError(f"{value!r} is {what}: a duration must be positive")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{value!r} is too long") from None


class _Table:
    """Reads one TOML table, tracking which keys were used so unknown ones are errors."""

    def __init__(self, file: str, where: str, data: Any):
        if not isinstance(data, dict):
            raise ConfigError(f"{file}: {where}: expected a table")
        self.file, self.where, self.data, self.used = file, where, data, set()

    def error(self, key: str, msg: str) -> ConfigError:
        if key not in self.data and (typo := self._misspelt(key)):
            # "urll" for "url": the missing key is the one to name, and the typo beside it
            msg += f" (the table has {typo!r}: a misspelling of {key!r}?)"
        return ConfigError(f"{self.file}: {self.where}: key '{key}': {msg}")

    def _misspelt(self, key: str) -> str | None:
        unread = [k for k in self.data if k not in self.used and isinstance(k, str)]
        return next(iter(difflib.get_close_matches(key, unread, n=1, cutoff=0.75)), None)

    def get(self, key: str, types: type | tuple, default: Any = None, *, required=False):
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.error(key, "is required")
            return default
        value = self.data[key]
        types = types if isinstance(types, tuple) else (types,)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            raise self.error(key, f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def duration(
        self, key: str, default: timedelta, longest: tuple[timedelta, str] = WAIT_LIMIT
    ) -> timedelta:
        value = self.get(key, (int, float, str))
        if value is None:
            return default
        try:
            duration = parse_duration(value)
        except ValueError as e:
            raise self.error(key, str(e)) from None
        if duration > longest[0]:
            shown = f"{value!r} minutes" if isinstance(value, int | float) else repr(value)
            raise self.error(key, f"{shown} is longer than {longest[1]}")
        return duration

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], "unknown key")


def _seconds(t: _Table, key: str, default: float) -> float:
    """A number of seconds, or a duration written as the others are ("30s", "2m")."""
    value = t.get(key, (int, float, str), default)
    if not isinstance(value, str):
        return float(value)
    try:
        return parse_duration(value).total_seconds()
    except ValueError as e:
        raise t.error(key, str(e)) from None


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$", re.I)
# 1024-based, as the fetch's messages count ("body larger than 10 MB" for the default
# 10 * 1024 * 1024): the size a message names, written back into the config, is that limit.
_SIZE_UNITS = {None: 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def _bytes(t: _Table, key: str, default: int) -> int:
    """A number of bytes, or a size with its unit: ``"512KB"``, ``"10 MB"``, ``"1.5GB"``
    (KiB, MiB and GiB are the same sizes; units in any case)."""
    value = t.get(key, (int, str), default)
    if not isinstance(value, str):
        return value
    m = _SIZE.match(value)
    if not m:
        raise t.error(
            key, f"{value!r} is not a size like 512KB, 10MB or 1GB (or a number of bytes)"
        )
    unit = m.group(2) and m.group(2).lower().replace("i", "")
    return int(float(m.group(1)) * _SIZE_UNITS[unit])


def _check_url(t: _Table, key: str, url: str, schemes=("http", "https")) -> str:
    """The URL without the blanks a paste leaves around it; an error for one no request
    could be sent to (checked here, not at every poll)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as e:  # an unbalanced or invalid [IPv6] host
        raise t.error(key, f"{url!r}: {e}") from None
    if parts.scheme.lower() not in schemes or not parts.netloc:
        raise t.error(key, f"{url!r} is not an {'/'.join(schemes)} URL")
    host = parts.hostname or ""
    if not host or any(c.isspace() or c in '<>"\\^`{|}' for c in host):
        raise t.error(key, f"{url!r} has no valid host name")
    try:
        parts.port  # noqa: B018 -- raises for a port out of range or not a number
    except ValueError as e:
        raise t.error(key, f"{url!r}: {e}") from None
    return url


_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _header_value(t: _Table, key: str, value: str, what: str = "") -> str:
    """A header value every request can carry: HTTP sends ASCII, on one line. An empty
    one sends nothing worth sending (an empty ``user_agent`` was the default, silently)."""
    if not value.strip():
        raise t.error(key, f"{what}the value is empty: leave it out")
    if any(c in value for c in "\r\n\0"):
        raise t.error(key, f"{what}the value has a line break")
    other = next((c for c in value if not (" " <= c <= "~" or c == "\t")), None)
    if other is not None:
        raise t.error(
            key,
            f"{what}the value has characters other than ASCII ({other!r}): "
            "HTTP headers carry ASCII only (percent-encode them)",
        )
    return value


def _named(file: str, kind: str, index: int, data: Any, names: set[str]) -> tuple[_Table, str]:
    """A [[source]] or [[watch]] table and its unique, non-empty name."""
    where = f"{kind} #{index + 1}"
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        where = f"{kind} '{data['name']}'"
    t = _Table(file, where, data)
    name = t.get("name", str, required=True).strip()
    if not name:
        raise t.error("name", "must not be empty")
    if name in names:
        raise t.error("name", f"duplicate {kind} name {name!r}")
    names.add(name)
    return t, name


def _span(d: timedelta) -> str:
    """A duration as the config writes it: ``24h``, ``2d``, ``90s``."""
    seconds = d.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and (unit != "d" or seconds >= 2 * size):
            return f"{seconds // size:g}{unit}"
    return f"{seconds:g}s"


def _source(
    file: str, base: Path, index: int, data: Any, names: set[str], settings: Settings
) -> Source:
    t, name = _named(file, "source", index, data, names)
    kind = t.get("kind", str, required=True)
    if kind not in SOURCE_KINDS:
        raise t.error("kind", f"{kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    url = t.get("url", str)
    raw_path = t.get("path", str)
    path = None
    if kind == "dir":
        if raw_path is None:
            raise t.error("path", "is required for kind 'dir'")
        if url is not None:
            raise t.error("url", "a 'dir' source takes 'path', not 'url'")
        path = (base / raw_path).resolve() if not os.path.isabs(raw_path) else Path(raw_path)
        # A missing folder is the poll's error, not the config's: an unmounted volume must
        # not stop the other sources (the poll reports it as not_found and backs off). A
        # file there is no passing state but a path written wrong, so it stops start-up.
        if os.path.exists(path) and not os.path.isdir(path):
            raise t.error("path", f"folder {raw_path!r} is a file, not a folder ({path})")
    else:
        if url is None:
            raise t.error("url", f"is required for kind {kind!r}")
        if raw_path is not None:
            raise t.error("path", f"a {kind!r} source takes 'url', not 'path'")
        url = _check_url(t, "url", url)
    headers = t.get("headers", dict, {})
    for k, v in headers.items():
        if not isinstance(v, str):
            raise t.error("headers", f"header {k!r} must be a string")
        if not _HEADER_NAME.match(k):
            raise t.error("headers", f"{k!r} is not a valid header name")
        _header_value(t, "headers", v, f"header {k!r}: ")
    proxy = t.get("proxy", str)
    if proxy is not None:
        proxy = _check_url(t, "proxy", proxy, ("http", "https", "socks5", "socks5h"))
    index_format = t.get("index_format", str, "auto")
    if index_format not in INDEX_FORMATS:
        raise t.error("index_format", f"{index_format!r} is not one of {', '.join(INDEX_FORMATS)}")
    page_url = t.get("page_url", str)
    if page_url is not None and "{id}" not in page_url:
        raise t.error("page_url", "must contain {id}")
    if kind != "mirror":
        for key in ("index_format", "page_url"):
            if key in t.data:
                raise t.error(key, "only applies to kind 'mirror'")
    interval = t.duration("interval", timedelta(minutes=30))
    if interval > settings.max_interval:
        # max_interval is the longest wait between checks of a working source (the interval
        # stretched by server hints up to it, see decide): no interval goes beyond it.
        raw = t.data["interval"]
        shown = f"{raw:g}m" if isinstance(raw, int | float) else raw.strip()
        raise t.error(
            "interval",
            f"{shown} is longer than [monitor] max_interval ({_span(settings.max_interval)}); "
            f"raise max_interval to {shown} or more, or shorten the interval",
        )
    source = Source(
        name=name,
        kind=kind,
        url=url,
        path=path,
        site=_site(t),
        timezone=_zone(t, "timezone", None),
        interval=interval,
        enabled=t.get("enabled", bool, True),
        headers=dict(headers),
        proxy=proxy,
        index_format=index_format,
        page_url=page_url,
    )
    t.done()
    return source


def _site(t: _Table) -> str | None:
    site = t.get("site", str)
    if site is not None and not site.strip():
        # an empty name was not shown: the documents' own outlet (a feed's title) was
        raise t.error(
            "site", "must not be empty: leave it out to use the outlet the documents name"
        )
    return site


def _same_place(file: str, sources: tuple[Source, ...]) -> None:
    """Refuse two enabled sources that fetch the same thing: each poll would fetch it
    twice and sight every story twice. Sources of one URL whose headers or proxy differ
    may get different answers (a language, a region), and so may kinds that read it
    differently (a mirror's index, a feed); a disabled one is not polled."""
    first: dict[tuple, Source] = {}
    for s in sources:
        if not s.enabled:
            continue
        place = (s.kind, s.location, tuple(sorted(s.headers.items())), s.proxy)
        other = first.setdefault(place, s)
        if other is not s:
            key = "path" if s.kind == "dir" else "url"
            raise ConfigError(
                f"{file}: source '{s.name}': key '{key}': source '{other.name}' polls "
                f"{s.location!r} too, with the same headers and proxy: every story would be "
                "sighted twice; remove one, or disable it (enabled = false)"
            )


def zone_error(name: str) -> str | None:
    """What is wrong with an IANA time zone name (``Asia/Shanghai``), or None; for the
    config's keys and the CLI's options alike."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r}"
    return None


def _zone(t: _Table, key: str, default: str | None) -> str | None:
    tz = t.get(key, str, default)
    if tz is not None and (error := zone_error(tz)):
        raise t.error(key, error)
    return tz


def _settings(file: str, data: Any) -> Settings:
    t = _Table(file, "[monitor]", data)
    d = Settings()
    tz = _zone(t, "timezone", d.timezone)
    s = Settings(
        timezone=tz,
        max_interval=t.duration("max_interval", d.max_interval),
        max_backoff=t.duration("max_backoff", d.max_backoff),
        concurrency=t.get("concurrency", int, d.concurrency),
        per_host=t.get("per_host", int, d.per_host),
        timeout=_seconds(t, "timeout", d.timeout),
        max_bytes=_bytes(t, "max_bytes", d.max_bytes),
        tick=t.duration("tick", d.tick),
        user_agent=t.get("user_agent", str),
        digest_lookback=t.duration("digest_lookback", d.digest_lookback, WINDOW_LIMIT),
        group_window=t.duration("group_window", d.group_window, WINDOW_LIMIT),
        group_threshold=t.get("group_threshold", (int, float)),
        copy_similarity=float(t.get("copy_similarity", (int, float), d.copy_similarity)),
        parse_workers=t.get("parse_workers", int, d.parse_workers),
        keep_fetches=t.duration("keep_fetches", d.keep_fetches, WINDOW_LIMIT),
    )
    if s.user_agent is not None:
        _header_value(t, "user_agent", s.user_agent)
    if s.parse_workers < 0:
        raise t.error("parse_workers", "must be 0 (parse in the polling process) or more")
    for key in ("concurrency", "per_host", "max_bytes"):
        if getattr(s, key) < 1:
            raise t.error(key, "must be at least 1")
    if not 0 < s.timeout < math.inf:  # nan too
        raise t.error("timeout", "must be more than 0 seconds, and finite")
    for key in ("copy_similarity", "group_threshold"):
        value = getattr(s, key)
        if value is not None and not 0 < value <= 1:
            raise t.error(key, "must be a fraction in (0, 1]")
    t.done()
    return s


# Top-level tables this loader understands.
TOP_LEVEL = {"monitor", "source", "site", "watch"}


def _strings(t: _Table, key: str) -> tuple[str, ...]:
    value = t.get(key, list, [])
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise t.error(key, "expected a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _delivery(file: str, base: Path, where: str, index: int, data: Any) -> Delivery:
    t = _Table(file, f"{where} delivery #{index + 1}", data)
    kind = t.get("kind", str, required=True)
    if kind not in DELIVERY_KINDS:
        raise t.error("kind", f"{kind!r} is not one of {', '.join(DELIVERY_KINDS)}")
    default_format = {"email": "html", "webhook": "json", "stdout": "text"}.get(kind, "md")
    fmt = t.get("format", str, default_format)
    if kind in ("email", "webhook") and fmt != default_format:
        what = "an email delivery always sends HTML with a plain-text part"
        if kind == "webhook":
            what = "a webhook delivery always sends JSON"
        raise t.error("format", f"{what}; drop 'format'")
    if fmt not in DIGEST_FORMATS:
        raise t.error("format", f"{fmt!r} is not one of {', '.join(DIGEST_FORMATS)}")
    path = url = None
    to: tuple[str, ...] = ()
    if kind == "file":
        raw = t.get("path", str, required=True)
        path = Path(raw) if os.path.isabs(raw) else (base / raw).resolve()
    elif kind == "email":
        to = _strings(t, "to")
        if not to or not all("@" in a for a in to):
            raise t.error("to", "expected a list of email addresses")
        for secret in ("password", "user", "smtp_password"):
            if secret in t.data:
                raise t.error(
                    secret,
                    "SMTP credentials come from environment variables "
                    "(SMTP_USER, SMTP_PASSWORD), never from the config file",
                )
    elif kind == "webhook":
        url = _check_url(t, "url", t.get("url", str, required=True))
    delivery = Delivery(
        kind=kind, format=fmt, path=path, to=to, url=url, images=t.get("images", bool, False)
    )
    t.done()
    return delivery


# The source of the stories ``monitor import`` stores: a watch may name it as it names a
# configured source, so no configured source may take its name.
IMPORT_SOURCE = "import"


def _watch(
    file: str,
    base: Path,
    index: int,
    data: Any,
    names: set[str],
    settings: Settings,
    source_names: set[str],
    rules: SiteRules,
) -> Watch:
    t, name = _named(file, "watch", index, data, names)
    where = t.where
    regex = t.get("regex", str)
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as e:
            raise t.error("regex", f"invalid regular expression: {e}") from None
    terms = {k: _strings(t, k) for k in ("any", "all", "exclude")}
    if not (terms["any"] or terms["all"] or regex):
        raise t.error("any", "a watch needs at least one of 'any', 'all' or 'regex'")
    filters = {k: _strings(t, k) for k in ("sources", "exclude_sources", "sites", "exclude_sites")}
    for key in ("sources", "exclude_sources"):
        unknown = [n for n in filters[key] if n not in source_names | {IMPORT_SOURCE}]
        if unknown:
            raise t.error(key, f"no source named {unknown[0]!r}")
    for key in ("sites", "exclude_sites"):
        filters[key] = tuple(dict.fromkeys(n for s in filters[key] for n in rules.outlet_names(s)))
    tz = _zone(t, "timezone", settings.timezone)
    schedule = t.get("schedule", str)
    if schedule is not None:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(schedule, timezone=ZoneInfo(tz))
        except ValueError as e:
            raise t.error("schedule", f"invalid cron expression {schedule!r}: {e}") from None
    raw_deliveries = t.get("delivery", list, [])
    deliveries = tuple(_delivery(file, base, where, i, d) for i, d in enumerate(raw_deliveries))
    if schedule is not None and not deliveries:
        raise t.error(
            "delivery",
            f"is required with 'schedule' ({schedule!r}): add a [[watch.delivery]] to say "
            "where monitor run sends the digest",
        )
    first: dict[str, int] = {}
    for i, how in enumerate(deliveries):
        if (j := first.setdefault(how.key, i)) != i:
            raise ConfigError(
                f"{file}: {where} delivery #{i + 1}: sends to the same place in the same "
                f"format as delivery #{j + 1} ({how.key})"
            )
    rule = Rule(regex=regex, **terms, **filters)
    for key in terms:
        for raw, term in zip(terms[key], getattr(rule, key), strict=True):
            if not term:
                raise t.error(key, f"{raw!r} is empty without its quotes")
    try:
        rule.validate()  # a rule that could never work stops start-up, not a digest later
    except ValueError as e:
        key, _, message = str(e).partition(": ")
        raise t.error(key, message) from None
    watch = Watch(
        name=name,
        rule=rule,
        schedule=schedule,
        timezone=tz,
        deliveries=deliveries,
    )
    t.done()
    return watch


def _feed_files(file: str, watches: tuple[Watch, ...]) -> None:
    """Refuse two watches whose Atom feeds are one file: a file delivery keeps a watch's
    feed at ``<folder>/<watch-slug>.atom``, rewritten by each digest, so watches whose
    names make one slug (``NATO``, ``nato``) would replace each other's feed. Other
    formats name each digest's file with its time and never replace a file."""
    feeds = [
        (w, i, how)
        for w in watches
        for i, how in enumerate(w.deliveries)
        if how.kind == "file" and how.format == "atom"
    ]
    if len(feeds) < 2:
        return
    from .deliver import feed_filename  # only when it matters: deliver loads httpx

    first: dict[Path, tuple[Watch, int]] = {}
    for watch, i, how in feeds:
        path = Path(how.path or ".").resolve() / feed_filename(watch.name)
        other, j = first.setdefault(path, (watch, i))
        if (other, j) != (watch, i):
            raise ConfigError(
                f"{file}: watch '{watch.name}' delivery #{i + 1}: key 'path': writes the "
                f"Atom feed {path.name!r} in {str(path.parent)!r}, as watch '{other.name}' "
                f"delivery #{j + 1} does: each digest would replace the other's feed; "
                "rename one of the watches or send their feeds to different folders"
            )


def parse_config(
    data: dict[str, Any], *, file: str = "<config>", base: Path | None = None
) -> Config:
    base = base or Path.cwd()
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        raise ConfigError(f"{file}: unknown top-level key '{unknown[0]}'")
    settings = _settings(file, data.get("monitor", {}))
    raw_sources = data.get("source", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{file}: 'source' must be an array of tables ([[source]])")
    names: set[str] = set()
    sources = tuple(_source(file, base, i, s, names, settings) for i, s in enumerate(raw_sources))
    _same_place(file, sources)
    raw_sites = data.get("site", [])
    if not isinstance(raw_sites, list):
        raise ConfigError(f"{file}: 'site' must be an array of tables ([[site]])")
    try:  # its errors name the table and the key, as _Table.error does
        rules = SiteRules.load_default().extended(SiteRules.from_dicts(raw_sites))
    except ValueError as e:
        raise ConfigError(f"{file}: {e}") from None
    raw_watches = data.get("watch", [])
    if not isinstance(raw_watches, list):
        raise ConfigError(f"{file}: 'watch' must be an array of tables ([[watch]])")
    watch_names: set[str] = set()
    source_names = {s.name for s in sources}
    if IMPORT_SOURCE in source_names:
        raise ConfigError(
            f"{file}: source '{IMPORT_SOURCE}': key 'name': {IMPORT_SOURCE!r} is the source "
            "of the stories `monitor import` stores, and a watch's sources and exclude_sources "
            "could not tell the two apart: pick another name"
        )
    watches = tuple(
        _watch(file, base, i, w, watch_names, settings, source_names, rules)
        for i, w in enumerate(raw_watches)
    )
    _feed_files(file, watches)
    return Config(
        path=None, settings=settings, sources=sources, rules=rules, watches=watches, raw=data
    )


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load and validate the config file (``--config``, ``MONITOR_CONFIG``, or the default)."""
    p = Path(path or os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config: {e.strerror or e}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: invalid TOML: {e}") from None
    config = parse_config(data, file=str(p), base=p.parent)
    return replace(config, path=p)
