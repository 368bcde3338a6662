"""Digest selection: which new stories a watch gets, grouped by event, in order.

``--since last`` (the default) means stories not yet in a *delivered* digest of the watch,
stored after the last story its last delivered "since last" digest looked at (or within
``digest_lookback`` the first time). The frontier is a story id, not a time: a poll stamps
its stories with its start but commits them at its end, so a time would miss the stories of
a poll that straddled a digest. A narrower ``--since`` sends its stories without moving the
frontier: the ones it left out still come with the next "since last" digest.
Sending asks this per delivery (``digest_deliveries``): a delivery that failed gets the same
stories again next run, while the ones that succeeded move on.
"""

from __future__ import annotations

import gc
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import sqlite_utils

from . import similarity
from .config import Config, Watch, parse_duration
from .fulltext import QueryTooShort, match_expression, phrases
from .match import FoldedStory, Matcher, fold_story
from .models import Digest, DigestEntry, DigestStory
from .store import first_id_since, iso, rows_in, transaction

LEAD_CHARS = 120
_SENTENCE_END = "。！？；!?;…"


@dataclass
class Story:
    """A stored story as digest selection needs it."""

    item_id: int
    story_key: str
    title: str
    text: str
    site: str | None
    published: str | None
    first_seen: str
    url: str | None
    images: str | None = None  # items.images, JSON
    sources: set[str] = field(default_factory=set)
    mirror_links: list[str] = field(default_factory=list)
    stored_features: similarity.StoredFeatures | None = None  # kept by the index catch-up

    # Folded text and event features are computed once per story and shared by every
    # watch built with the same StoryCache: on a day's digests they are most of the work.
    @cached_property
    def when(self) -> datetime:
        """Publication time (date-only at midnight UTC), else when it was first stored."""
        return parse_time(self.published) or parse_time(self.first_seen)

    @property
    def image(self) -> str | None:
        """The lead image's URL: the story's first."""
        try:
            first = json.loads(self.images or "[]")[:1]
        except ValueError:
            return None
        return first[0].get("url") if first and isinstance(first[0], dict) else None

    @cached_property
    def folded(self) -> FoldedStory:
        return fold_story(self.title, self.text)

    @cached_property
    def features(self) -> similarity.EventFeatures:
        if self.stored_features is not None:
            return similarity.decode_features(self.stored_features, self.when)
        f = self.folded
        return similarity.features(f.folded_title, f.folded_text, self.when, folded=True)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """A day's stories make millions of small acyclic objects (texts, feature sets); the
    cycle collector's full passes over them cost a quarter of the build and free nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class StoryCache(dict[int, Story]):
    """Stories already loaded in this run, by item id, to share across the watches built
    at one time (``monitor digest`` for every watch, watches on the same schedule).

    Keep one only for one run: it does not see later changes to the store. Used as a
    context manager (``with StoryCache() as cache:``), it pauses the cycle collector for
    the run, as :func:`build` does for one watch, and empties itself at the end: the
    stories are freed by reference counting before the collector resumes, instead of
    being walked by a full pass after each watch (0.1–0.2 s of a day's digests). The
    pause is process-wide, so a run that also delivers (and may wait on the network)
    should not hold it.
    """

    def __enter__(self) -> StoryCache:
        self._paused = _cycle_collector_paused()
        self._paused.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.clear()
        self._paused.__exit__(*exc)


@dataclass
class Selection:
    digest: Digest
    members: list[tuple[int, int, list[str]]]  # (item_id, group_id, matched terms), in order
    start: datetime | None = None  # the window's start (its stories were stored since)
    through_id: int | None = None  # see Window.through_id


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


# --- the window ----------------------------------------------------------------------------


def _shown(t: datetime, tz: ZoneInfo) -> str:
    """A time as a digest's header says it: in the watch's zone, which the header names."""
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _delivered(delivery: str | None) -> tuple[str, tuple]:
    """An SQL condition on digests ``d``, and its parameters: delivered to ``delivery``
    (a :attr:`Delivery.key <monitor.config.Delivery.key>`), or when None to every delivery
    it was sent to."""
    if delivery is None:
        return "d.status = 'delivered'", ()
    return (
        "d.id IN (SELECT digest_id FROM digest_deliveries "
        "WHERE delivery IN (?, '*') AND status = 'delivered')",
        (delivery,),
    )


def _first_attempt(
    db: sqlite_utils.Database, watch: Watch, delivery: str | None
) -> datetime | None:
    """Where the first "since last" digest tried for ``delivery`` (None: for any) began,
    when none reached it: its stories wait for it however long it fails, instead of
    falling out of a ``digest_lookback`` counted from each new attempt."""
    sql = "SELECT min(window_start) FROM digests WHERE watch = ? AND through_id IS NOT NULL"
    params: tuple = (watch.name,)
    if delivery is not None:
        sql += " AND id IN (SELECT digest_id FROM digest_deliveries WHERE delivery = ?)"
        params += (delivery,)
    return parse_time(db.conn.execute(sql, params).fetchone()[0])


def window_start(
    db: sqlite_utils.Database,
    watch: Watch,
    since: str,
    *,
    now: datetime,
    lookback: timedelta,
    delivery: str | None = None,
) -> tuple[datetime, bool, str, int | None]:
    """(start, exclude already-delivered, description, id after which the window starts or
    None) for ``--since``; ``last`` counts the digests ``delivery`` got (see
    :func:`_delivered`)."""
    if since == "last":
        cond, params = _delivered(delivery)
        row = db.conn.execute(
            f"SELECT d.created_at, d.through_id FROM digests d WHERE d.watch = ? AND {cond} "
            "AND d.through_id IS NOT NULL ORDER BY d.through_id DESC, d.id DESC LIMIT 1",
            (watch.name, *params),
        ).fetchone()
        tz = ZoneInfo(watch.timezone)
        if row:
            last = parse_time(row[0])
            return last, True, f"since the last digest ({_shown(last, tz)})", row[1]
        start = min(now - lookback, _first_attempt(db, watch, delivery) or now)
        return start, True, f"the first digest: stories since {_shown(start, tz)}", None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
        try:
            day = date.fromisoformat(since)
        except ValueError as e:
            raise ValueError(f"--since: {since!r} is not a date ({e})") from None
        start = datetime.combine(day, datetime.min.time(), ZoneInfo(watch.timezone))
    elif re.match(r"\d{4}-\d{2}-\d{2}[T ]\d", since):  # a time as the store writes it
        try:
            start = datetime.fromisoformat(since)
        except ValueError as e:
            raise ValueError(f"--since: {since!r} is not a time ({e})") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=ZoneInfo(watch.timezone))
    else:
        start = None
    if start is not None:
        try:
            return start.astimezone(UTC), False, f"since {since}", None
        except OverflowError:
            raise ValueError(f"--since: {since!r} reaches back before the year 1") from None
    try:
        span = parse_duration(since)
    except ValueError as e:
        raise ValueError(
            f"--since: expected 'last', a duration like 24h, a date like 2021-12-01 "
            f"or a time like 2021-12-01T10:00:00Z; got {since!r} ({e})"
        ) from None
    try:
        return now - span, False, f"the last {since}", None
    except OverflowError:
        raise ValueError(f"--since: {since!r} reaches back before the year 1") from None


def _prefilter(watch: Watch) -> str | None:
    """An FTS5 expression that every matching story satisfies, to skip scanning the rest."""
    rule = watch.rule
    if rule.regex:
        return None
    try:
        if rule.any:
            return " OR ".join(f"({match_expression(phrases(t))})" for t in rule.any)
        if rule.all:
            return " AND ".join(f"({match_expression(phrases(t))})" for t in rule.all)
    except (QueryTooShort, ValueError):
        return None
    return None


@dataclass(frozen=True)
class Window:
    """The stories a digest looks at: stored since ``start`` (for ``since last``, after
    the last digest's ``through_id``), narrowed to those that may match (the full-text
    prefilter) and, when sending, not yet delivered."""

    start: datetime
    description: str  # for the digest's header
    ids: tuple[int, ...]
    # For ``since last``: the newest story id the window could see, where the next one
    # starts; None for a narrower window, which leaves the frontier where it was.
    through_id: int | None = None


def window(
    db: sqlite_utils.Database,
    config: Config,
    watch: Watch,
    *,
    since: str = "last",
    now: datetime,
    undelivered: bool = False,
    delivery: str | None = None,
) -> Window:
    """See :func:`build`. Deliveries with the same window ids get the same digest."""
    start, exclude, description, after = window_start(
        db, watch, since, now=now, lookback=config.settings.digest_lookback, delivery=delivery
    )
    # Read before the ids, and bounding them: a story committed in between is the next
    # window's.
    through = db.conn.execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0]
    # Ids first (an index covers them), whole rows only for the candidates: reading every
    # window row's text before the FTS filter cost a second per watch.
    if after is not None:
        sql = "SELECT id FROM items WHERE id > ? AND id <= ?"
        params: list = [after, through]
    else:
        sql = "SELECT id FROM items WHERE first_seen >= ? AND id <= ?"
        params = [iso(start), through]
    match = _prefilter(watch)
    if match:
        # Bounding the FTS scan by the window's first id keeps a common term from walking
        # the whole index.
        first = after + 1 if after is not None else first_id_since(db.conn, start)
        # Stories queued for indexing (store.index_pending) go to the matcher unfiltered.
        sql += (
            " AND (id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ? AND rowid >= ?)"
            " OR id IN (SELECT item_id FROM fts_pending))"
        )
        params += [match, first or 0]
    if exclude or undelivered:
        cond, cond_params = _delivered(delivery)
        sql += (
            " AND id NOT IN (SELECT di.item_id FROM digest_items di JOIN digests d "
            f"ON d.id = di.digest_id WHERE di.watch = ? AND {cond})"
        )
        params += [watch.name, *cond_params]
    ids = tuple(r[0] for r in db.conn.execute(sql + " ORDER BY id", params))
    return Window(start, description, ids, through if since == "last" else None)


def load_stories(
    db: sqlite_utils.Database,
    config: Config,
    ids: Sequence[int],
    *,
    cache: StoryCache | None = None,
) -> list[Story]:
    cache = StoryCache() if cache is None else cache
    missing = [i for i in ids if i not in cache]
    loaded: dict[int, Story] = {}
    sql = (
        "SELECT id, story_key, items.title, text, site, published, first_seen, "
        "coalesce(canonical_url, url), items.images, f.lead, f.title, f.entities, "
        "f.title_entities, f.mentioned FROM items LEFT JOIN event_features f "
        f"ON f.item_id = items.id AND f.version = {similarity.FEATURES_VERSION} "
        "WHERE id IN ({})"
    )
    for r in rows_in(db.conn, sql, missing):
        story = loaded[r[0]] = Story(*r[:9])
        if r[9] is not None:
            story.stored_features = similarity.StoredFeatures(*r[9:])
    _attach_sightings(db.conn, loaded, config)
    cache.update(loaded)
    return [cache[i] for i in ids if i in cache]


def _attach_sightings(conn: sqlite3.Connection, stories: dict[int, Story], config: Config):
    mirror_kinds = {s.name for s in config.sources if s.kind in ("mirror", "page")}
    sql = "SELECT item_id, source, location FROM sightings WHERE item_id IN ({}) ORDER BY id"
    for item_id, source, location in rows_in(conn, sql, stories):
        story = stories[item_id]
        story.sources.add(source)
        if (
            source in mirror_kinds
            and location.startswith(("http://", "https://"))
            and location != story.url
            and location not in story.mirror_links
        ):
            story.mirror_links.append(location)


# --- matching, grouping, ordering ----------------------------------------------------------


def matching(stories: Sequence[Story], watch: Watch) -> dict[int, list[str]]:
    """The stories the watch takes: item id → the terms that matched, in input order."""
    matcher = Matcher(watch.rule)
    out = {}
    for s in stories:
        terms = matcher.terms(s.folded, sources=s.sources, site=s.site)
        if terms is not None:
            out[s.item_id] = terms
    return out


def group(stories: Sequence[Story], config: Config) -> list[list[Story]]:
    """Stories about the same event (thresholds from config, defaults from similarity)."""
    kwargs = {"window": config.settings.group_window}
    if config.settings.group_threshold is not None:
        kwargs["threshold"] = config.settings.group_threshold
    by_id = {s.item_id: s for s in stories}
    feats = [(s.item_id, s.features) for s in stories]
    return [[by_id[i] for i in g] for g in similarity.group_events(feats, **kwargs)]


def _local(value: str | None, tz: ZoneInfo) -> str | None:
    if not value or len(value) == 10:
        return value
    t = parse_time(value)
    return t.astimezone(tz).isoformat() if t else value


def lead(text: str | None, limit: int = LEAD_CHARS) -> str:
    """About ``limit`` characters of ``text`` for a digest: whole sentences when they fit.

    The cut falls after the last sentence end within the limit if that keeps at least
    60% of it; otherwise the text is cut at ``limit`` and ends with ``…``.
    """
    if not text:
        return ""
    # Collapsing a prefix gives a prefix of the collapsed whole: enough when it is longer
    # than the limit, and much cheaper than collapsing a long text.
    s = " ".join(text[: 2 * limit].split())
    if len(s) <= limit:
        s = " ".join(text.split())
        if len(s) <= limit:
            return s
    head = s[:limit]
    end = max(map(head.rfind, _SENTENCE_END))
    if end + 1 >= limit * 0.6:
        return head[: end + 1]
    return head.rstrip() + "…"


def to_digest_story(s: Story, tz: ZoneInfo) -> DigestStory:
    return DigestStory(
        story_key=s.story_key,
        title=s.title,
        site=s.site,
        published=_local(s.published, tz),
        url=s.url,
        lead=lead(s.text),
        mirror_links=list(s.mirror_links),
        image=s.image,
    )


@_cycle_collector_paused()
def build(
    db: sqlite_utils.Database,
    config: Config,
    watch: Watch,
    *,
    since: str = "last",
    now: datetime,
    cache: StoryCache | None = None,
    undelivered: bool = False,
    delivery: str | None = None,
    within: Window | None = None,
) -> Selection:
    """The digest ``watch`` would get now; nothing is written. Pass one ``cache`` to the
    builds of one run to fold and featurize each story once. ``undelivered``: leave out
    the stories of the watch's delivered digests whatever ``since`` says (for sending:
    a story is delivered at most once per watch and delivery). ``delivery``: the digest
    that delivery would get (a :attr:`Delivery.key <monitor.config.Delivery.key>`); None
    counts only digests that every delivery got. ``within``: a :func:`window` already
    taken for these arguments."""
    if within is None:
        within = window(
            db, config, watch, since=since, now=now, undelivered=undelivered, delivery=delivery
        )
    description = within.description
    loaded = load_stories(db, config, within.ids, cache=cache)
    terms = matching(loaded, watch)
    groups = group([s for s in loaded if s.item_id in terms], config)
    for g in groups:
        g.sort(key=lambda s: (s.when, s.item_id), reverse=True)  # newest is the headline
    groups.sort(key=lambda g: (g[0].when, len({s.site for s in g})), reverse=True)
    tz = ZoneInfo(watch.timezone)
    digest = Digest(
        watch=watch.name,
        generated_at=now.astimezone(tz).isoformat(timespec="seconds"),
        timezone=watch.timezone,
        since=description,
    )
    members = []
    for g in groups:
        head, *rest = g
        digest.entries.append(
            DigestEntry(
                headline=to_digest_story(head, tz),
                also=[to_digest_story(s, tz) for s in rest],
                matched_terms=sorted({t for s in g for t in terms[s.item_id]}),
            )
        )
        members.extend((s.item_id, head.item_id, terms[s.item_id]) for s in g)
    return Selection(digest, members, within.start, within.through_id)


# --- history ---------------------------------------------------------------------------------


def reserve(db: sqlite_utils.Database, selection: Selection, *, now: datetime) -> int:
    """Number the digest before it goes out, so that what is delivered names it
    (``digest_id``): stored as ``sending`` until :func:`record` completes it. A digest left
    ``sending`` (the process died) counts as delivered to nobody."""
    d = selection.digest
    with transaction(db) as conn:
        cur = conn.execute(
            "INSERT INTO digests (watch, created_at, since, window_start, through_id, status,"
            " stories, groups) VALUES (?, ?, ?, ?, ?, 'sending', ?, ?)",
            (
                d.watch,
                iso(now),
                d.since,
                selection.start and iso(selection.start),
                selection.through_id,
                len(selection.members),
                len(d.entries),
            ),
        )
    d.digest_id = cur.lastrowid
    return d.digest_id


def record(
    db: sqlite_utils.Database,
    selection: Selection,
    *,
    now: datetime,
    results: Sequence[tuple[str, str, str | None, bool]],
) -> int:
    """Store what each delivery did with the digest ((key, kind, error or None, delivered):
    a mail some recipients refused is delivered, with an error) and its stories; persist
    event groups. Its status: ``delivered`` when every delivery succeeded, ``failed`` when
    none did, else ``partial``."""
    d = selection.digest
    digest_id = d.digest_id if d.digest_id is not None else reserve(db, selection, now=now)
    errors = [e for _key, _kind, e, _ok in results if e]
    delivered = sum(ok for *_rest, ok in results)
    if delivered == len(results):
        status = "delivered"
    elif not delivered:
        status = "failed"
    else:
        status = "partial"
    with transaction(db) as conn:
        conn.execute(
            "UPDATE digests SET status = ?, deliveries = ?, error = ? WHERE id = ?",
            (
                status,
                ",".join(kind for _key, kind, _e, _ok in results) or None,
                "; ".join(errors) or None,
                digest_id,
            ),
        )
        conn.executemany(
            "INSERT INTO digest_deliveries (digest_id, delivery, status, error) "
            "VALUES (?, ?, ?, ?)",
            [(digest_id, key, "delivered" if ok else "failed", e) for key, _kind, e, ok in results],
        )
        conn.executemany(
            "INSERT INTO digest_items (digest_id, item_id, watch, group_id, position, matched)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (digest_id, item_id, d.watch, group_id, pos, json.dumps(terms, ensure_ascii=False))
                for pos, (item_id, group_id, terms) in enumerate(selection.members)
            ],
        )
        _store_groups(conn, selection.members)
    return digest_id


def _store_groups(conn: sqlite3.Connection, members: Sequence[tuple[int, int, list[str]]]):
    """Union this digest's groups with the stored ones, so groups only ever grow."""
    groups: dict[int, list[int]] = {}
    for item_id, group_id, _ in members:
        groups.setdefault(group_id, []).append(item_id)
    for items in groups.values():
        marks = ",".join("?" * len(items))
        existing = {
            g
            for (g,) in conn.execute(
                f"SELECT group_id FROM story_groups WHERE item_id IN ({marks})", items
            )
        }
        target = min(existing | set(items))
        if existing:
            emarks = ",".join("?" * len(existing))
            conn.execute(
                f"UPDATE story_groups SET group_id = ? WHERE group_id IN ({emarks})",
                (target, *existing),
            )
        conn.executemany(
            "INSERT INTO story_groups (item_id, group_id) VALUES (?, ?) "
            "ON CONFLICT(item_id) DO UPDATE SET group_id = excluded.group_id",
            [(i, target) for i in items],
        )


def history(
    db: sqlite_utils.Database,
    config: Config,
    watch: Watch,
    *,
    limit: int = 20,
    delivery: str | None = None,
) -> list[Digest]:
    """The watch's last digests that ``delivery`` got (see :func:`_delivered`), rebuilt
    from the store (for its Atom feed)."""
    tz = ZoneInfo(watch.timezone)
    out = []
    cond, params = _delivered(delivery)
    digests = db.conn.execute(
        f"SELECT d.id, d.created_at, d.since FROM digests d WHERE d.watch = ? AND {cond} "
        "ORDER BY d.created_at DESC, d.id DESC LIMIT ?",
        (watch.name, *params, limit),
    ).fetchall()
    for digest_id, created_at, since in digests:
        rows = db.conn.execute(
            "SELECT i.id, i.story_key, i.title, i.text, i.site, i.published, i.first_seen, "
            "coalesce(i.canonical_url, i.url), i.images, di.group_id, di.matched "
            "FROM digest_items di "
            "JOIN items i ON i.id = di.item_id WHERE di.digest_id = ? ORDER BY di.position",
            (digest_id,),
        ).fetchall()
        stories = {r[0]: Story(*r[:9]) for r in rows}
        _attach_sightings(db.conn, stories, config)
        digest = Digest(
            watch=watch.name,
            generated_at=parse_time(created_at).astimezone(tz).isoformat(),
            timezone=watch.timezone,
            since=since,
            digest_id=digest_id,
        )
        entries: dict[int, DigestEntry] = {}
        terms: dict[int, set[str]] = {}
        for r in rows:
            s = to_digest_story(stories[r[0]], tz)
            if r[9] in entries:
                entries[r[9]].also.append(s)
            else:
                entries[r[9]] = DigestEntry(headline=s)
            terms.setdefault(r[9], set()).update(json.loads(r[10] or "[]"))
        for group_id, entry in entries.items():  # as build: what any story of it matched
            entry.matched_terms = sorted(terms[group_id])
        digest.entries = list(entries.values())
        out.append(digest)
    return out
