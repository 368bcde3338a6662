"""The SQLite store: schema, migrations, batch writes and queries.

Tables (documented for users in the README, "Reading the store"):

- ``items``: one row per story, first sighting wins for the content.
- ``item_keys``: every story key that names a story (its own, plus keys of merged copies).
- ``item_urls``: every URL seen for a story, in comparison form (``url_key``) and canonical form.
- ``sightings``: where and when a story was seen (source, file or URL), one row per place.
- ``items_fts``: contentless FTS5 index over bigram-segmented title and text (see fulltext.py).
- ``fts_pending``: stories stored but not yet in ``items_fts``. Indexing is half the cost of
  storing a story, so a poll only queues it and :func:`index_pending` indexes the queue in
  batches after the poll; :func:`search` reads the queue directly, so results never lag.
- ``event_features``: what digests compare to group reports of one event (see
  ``similarity.StoredFeatures``), made with the index from the same folded text, for the
  stories of the last :data:`FEATURES_KEEP`; a digest computes the rest itself.

Every write of a batch is one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``): a crash leaves the
store as it was before or after the batch, never half-way.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from .canonical import (
    CANONICAL_VERSION,
    SiteRules,
    article_key,
    distinct_articles,
    entry_feed,
    url_key,
)
from .fulltext import (
    QueryTooShort,
    character_expression,
    lone_character,
    match_expression,
    narrowing_phrases,
    phrases_in,
    phrases_of,
    preceded,
    search_expression,
    search_terms,
    segment_folded,
)
from .logs import ProgressLog, about, plural
from .match import Matcher, Rule, fold_story
from .models import Item
from .similarity import (
    DEFAULT_COPY_SIMILARITY,
    FEATURES_VERSION,
    sketch_similarity,
    story_sketch,
    text_features,
)
from .text import (
    fold,
    fold_changed_characters,
    fold_characters,
    folds_otherwise,
    phrase_spellings,
    spellings,
)

DEFAULT_DB = Path("data") / "monitor.db"


def iso(now: datetime) -> str:
    """Timestamps in the store: UTC, second precision, ``Z`` suffix, sortable as text."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    utc = now.astimezone(UTC)
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%SZ")  # %Y writes 999, not 0999


def parse_iso(value: str) -> datetime:
    """A timestamp as :func:`iso` writes it, back to an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def first_id_since(conn: sqlite3.Connection, since: datetime) -> int | None:
    """The first story stored at or after ``since``: ids grow with ``first_seen``, so the
    stories since then are the ids from this one on.

    INDEXED BY: left alone, SQLite answers min(id) by walking every rowid (1 s per million
    items) instead of the slice of the first_seen index.
    """
    return conn.execute(
        "SELECT min(id) FROM items INDEXED BY items_first_seen WHERE first_seen >= ?",
        (iso(since),),
    ).fetchone()[0]


# --- schema ------------------------------------------------------------------------------

_V1 = """
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    story_key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    url TEXT,
    canonical_url TEXT,
    site TEXT,
    author TEXT,
    published TEXT,
    summary TEXT,
    text TEXT NOT NULL DEFAULT '',
    html TEXT NOT NULL DEFAULT '',
    images TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    lang TEXT,
    format TEXT NOT NULL,
    title_key TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX items_title_key ON items(title_key);
CREATE INDEX items_published ON items(published);
CREATE INDEX items_site ON items(site);
CREATE TABLE item_keys (
    key TEXT PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id)
);
CREATE INDEX item_keys_item ON item_keys(item_id);
CREATE TABLE item_urls (
    url_key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES items(id),
    first_seen TEXT NOT NULL
);
CREATE INDEX item_urls_item ON item_urls(item_id);
CREATE TABLE sightings (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    url TEXT,
    format TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    times_seen INTEGER NOT NULL DEFAULT 1,
    UNIQUE (item_id, source, location)
);
CREATE INDEX sightings_source ON sightings(source);
-- The indexed text is already folded and space-separated (fulltext.segment): the plain
-- 'ascii' tokenizer reads it as is, at half the insert cost of 'unicode61'.
CREATE VIRTUAL TABLE items_fts USING fts5(
    title, body, content='', tokenize='ascii'
);
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    config_url TEXT,
    url TEXT,
    etag TEXT,
    last_modified TEXT,
    next_check TEXT,
    last_attempt TEXT,
    last_success TEXT,
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    last_outcome TEXT,
    last_status INTEGER,
    last_error TEXT,
    retired_at TEXT
);
CREATE TABLE fetches (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    url TEXT,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    bytes INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 1,
    new_items INTEGER NOT NULL DEFAULT 0,
    seen_items INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX fetches_source_time ON fetches(source, started_at);
CREATE TABLE source_entries (
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    status TEXT NOT NULL,
    item_id INTEGER REFERENCES items(id),
    size INTEGER,
    mtime_ns INTEGER,
    sha256 TEXT,
    reason TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (source, location)
);
"""

# v2: digests and their history, event groups, content sketches for copy detection.
_V2 = """
CREATE INDEX items_first_seen ON items(first_seen);
CREATE TABLE digests (
    id INTEGER PRIMARY KEY,
    watch TEXT NOT NULL,
    created_at TEXT NOT NULL,
    since TEXT NOT NULL,
    status TEXT NOT NULL,
    stories INTEGER NOT NULL DEFAULT 0,
    groups INTEGER NOT NULL DEFAULT 0,
    deliveries TEXT,
    error TEXT
);
CREATE INDEX digests_watch ON digests(watch, created_at);
CREATE TABLE digest_items (
    digest_id INTEGER NOT NULL REFERENCES digests(id),
    item_id INTEGER NOT NULL REFERENCES items(id),
    watch TEXT NOT NULL,
    group_id INTEGER,
    position INTEGER NOT NULL,
    matched TEXT,
    PRIMARY KEY (digest_id, item_id)
);
CREATE INDEX digest_items_watch ON digest_items(watch, item_id);
CREATE TABLE story_groups (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    group_id INTEGER NOT NULL
);
CREATE INDEX story_groups_group ON story_groups(group_id);
CREATE TABLE item_sketches (
    hash INTEGER NOT NULL,
    item_id INTEGER NOT NULL REFERENCES items(id),
    PRIMARY KEY (hash, item_id)
) WITHOUT ROWID;
CREATE INDEX item_sketches_item ON item_sketches(item_id);
"""

# v3: full-text indexing queued by the write, done in batches after it (index_pending).
_V3 = """
CREATE TABLE fts_pending (
    item_id INTEGER PRIMARY KEY REFERENCES items(id)
);
"""

# v4: event features kept from the index catch-up, so that a day's digests need not read
# every lead again (similarity.StoredFeatures; rows of another version are ignored).
_V4 = """
CREATE TABLE event_features (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    version INTEGER NOT NULL,
    lead BLOB NOT NULL,
    title BLOB NOT NULL,
    entities TEXT NOT NULL,
    title_entities TEXT NOT NULL,
    mentioned TEXT NOT NULL
);
"""

# v5: the full-text index gathers up to 8 MB of new terms before it writes a segment (FTS5's
# default is 1 MB). A catch-up batch of 500 long stories filled 1 MB several times, and every
# segment written holds the batch's whole bigram vocabulary, merged again later: about a
# third of the indexing time went there (bench/fts_variants.py). Kept in items_fts_config,
# so every connection to the store uses it.
_V5 = """
INSERT INTO items_fts (items_fts, rank) VALUES ('hashsize', 8388608);
"""

# v6: what each delivery of a digest did, so that a watch's deliveries are marked one by one:
# a failing webhook gets its stories again next run, the email that went out does not. A
# digest delivered before counts as delivered to every delivery ("*").
_V6 = """
CREATE TABLE digest_deliveries (
    digest_id INTEGER NOT NULL REFERENCES digests(id),
    delivery TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (digest_id, delivery)
);
CREATE INDEX digest_deliveries_delivery ON digest_deliveries(delivery, status);
INSERT INTO digest_deliveries (digest_id, delivery, status)
    SELECT id, '*', 'delivered' FROM digests WHERE status = 'delivered';
"""

# v7: a digest's window as a time (``since`` says it in words), for queries on the store.
_V7 = """
ALTER TABLE digests ADD COLUMN window_start TEXT;
"""

# v8: the last story id a "since last" digest looked at. Its next window starts after that
# id, not at its time: a poll that began before a digest and committed after it stamps its
# stories with its start, and a window by time would skip them for good. Digests from
# before take the ids stored strictly before them (erring low costs nothing: the stories
# they delivered are left out by digest_items anyway).
_V8 = """
ALTER TABLE digests ADD COLUMN through_id INTEGER;
UPDATE digests SET through_id = (
    SELECT max(id) FROM items WHERE first_seen < digests.created_at
) WHERE since = 'new stories' OR since LIKE 'since the last digest%';
"""

# v9: the parser version (parsers.PARSER_VERSION) that read each file or page of a dir or
# mirror source, so that one rejected by an older version is read again once after an
# upgrade. Those read before versions were recorded are version 0, older than any; pages
# no parser read (missing, gone) have none. The index finds a mirror's rejected pages at
# every poll, also one whose index did not change, without reading all its entries.
_V9 = """
ALTER TABLE source_entries ADD COLUMN parser_version INTEGER;
UPDATE source_entries SET parser_version = 0 WHERE status IN ('stored', 'rejected');
CREATE INDEX source_entries_rejected ON source_entries(source, parser_version)
    WHERE status = 'rejected';
"""

# v10: facts about the store as a whole, by name: the site rules its story keys were last
# completed for (see apply_site_rules).
_V10 = """
CREATE TABLE store_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# v11: the servers that asked to be left alone (429/503 with Retry-After) and until when,
# so that the next `monitor poll` (a cron job's, a restarted daemon's) waits too.
_V11 = """
CREATE TABLE host_blocks (
    origin TEXT PRIMARY KEY,
    until TEXT NOT NULL
);
"""

# Each entry moves the store one version up; append, never edit a released one.
MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10, _V11]


class StoreError(RuntimeError):
    """The store cannot be opened or is from a newer version of monitor."""


# How long a write waits for another connection's write to end (seconds). Readers never
# wait (WAL), but writers take turns: a batch of `monitor import`, a catch-up of the
# search index or a dir scan's chunk holds the lock for seconds on a slow disk, and a
# digest send or the daemon's group commit for about one. A write that waits this long
# finds the store held by something else (an open `sqlite3` shell, a stuck process).
BUSY_TIMEOUT = 30


class StoreUnwritable(StoreError):
    """A write the store refuses for now, whatever is written: every further one would
    fail alike, so the work stops there, naming the store, and is done again later."""


class StoreLocked(StoreUnwritable):
    """Another connection held the store's write lock for all of :data:`BUSY_TIMEOUT`."""


class StoreFull(StoreUnwritable):
    """The store's disk is full: what was stored stays, and writes work once there is space."""


def _sqlite_code(e: BaseException) -> int | None:
    if not isinstance(e, sqlite3.OperationalError):
        return None
    return getattr(e, "sqlite_errorcode", 0) & 0xFF


def is_busy(e: BaseException) -> bool:
    """SQLite gave up waiting for another connection's write lock (SQLITE_BUSY)."""
    return _sqlite_code(e) == sqlite3.SQLITE_BUSY


def is_full(e: BaseException) -> bool:
    """The store's disk (or its ``max_page_count``) is full (SQLITE_FULL)."""
    return _sqlite_code(e) == sqlite3.SQLITE_FULL


def unwritable(db: sqlite_utils.Database, e: BaseException) -> StoreUnwritable | None:
    """The error naming the store for a write ``e`` says it cannot take now, else None."""
    if is_busy(e):
        return store_locked(db)
    if is_full(e):
        path = store_file(db) or ":memory:"
        return StoreFull(f"cannot write to the store {path}: {e} (free space on its disk)")
    return None


@contextmanager
def when_locked(db: sqlite_utils.Database) -> Iterator[None]:
    """Raise :class:`StoreLocked` or :class:`StoreFull`, naming the store, for SQLite's
    "database is locked" and "database or disk is full"."""
    try:
        yield
    except sqlite3.OperationalError as e:
        if (error := unwritable(db, e)) is None:
            raise
        raise error from e


def store_file(db: sqlite_utils.Database) -> str | None:
    """The file of the store ``db`` is connected to; None for one in memory."""
    row = db.conn.execute("PRAGMA database_list").fetchone()
    return row[2] if row and row[2] else None


def store_locked(db: sqlite_utils.Database) -> StoreLocked:
    """The error for a write that waited the connection's whole busy timeout."""
    path = store_file(db) or ":memory:"
    waited = db.conn.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
    return StoreLocked(
        f"cannot write to the store {path}: another process has held a write lock on it "
        f"for over {waited:g} s"
    )


def schema_version(conn: sqlite3.Connection) -> int:
    """The store's schema version, refused when newer than this monitor's."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"store schema version {version} is newer than this monitor supports "
            f"({len(MIGRATIONS)}); upgrade monitor"
        )
    return version


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the schema to the newest version; returns the version."""
    conn = db.conn
    version = schema_version(conn)
    for target in range(version + 1, len(MIGRATIONS) + 1):
        with transaction(db):
            for stmt in _statements(MIGRATIONS[target - 1]):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {target}")
    return len(MIGRATIONS)


def _statements(script: str) -> Iterator[str]:
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf.strip()
            buf = ""


def store_path(path: str | os.PathLike | None = None) -> Path:
    """The store's file: ``path``, else ``$MONITOR_DB``, else :data:`DEFAULT_DB`."""
    return Path(path or os.environ.get("MONITOR_DB") or DEFAULT_DB)


def open_db(
    path: str | os.PathLike | None = None,
    *,
    create: bool = True,
    progress: Callable[[int, int], object] | None = None,
    upgrade: bool = True,
) -> sqlite_utils.Database:
    """Open and migrate the store; WAL, busy timeout, foreign keys.

    With ``create`` (the writing commands) a missing or empty file becomes a new store;
    without it (the reading commands) only a monitor store opens. Either way a file that
    holds anything else, a SQLite database of other tables included, is refused as it is:
    nothing is written to it before it is known to be a store.

    ``progress`` follows the search index's one-time upgrade, minutes on a large store
    (see :func:`upgrade_fold`); by default a log line every 30 s says how far it got.

    Without ``upgrade`` (the health check) the store opens as it is, neither migrated nor
    upgraded: a probe must answer at once, not take turns at minutes of upgrade or wait
    on the process doing it.
    """
    path = store_path(path)
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
        else:  # mode=rw: a file that is not there is an error, not a new empty database
            uri = path.absolute().as_uri() + "?mode=rw"
            conn = sqlite3.connect(uri, timeout=BUSY_TIMEOUT, check_same_thread=False, uri=True)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT * 1000}")
    except (OSError, sqlite3.Error) as e:
        raise StoreError(f"cannot open store {path}: {e}{_unwritable(path, create)}") from e
    try:
        _check_is_store(conn, path, create=create)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
    except (StoreError, sqlite3.Error) as e:
        conn.close()  # a refused WAL database's -wal and -shm go with the last connection
        if isinstance(e, StoreError):
            raise
        if is_damage(e):
            raise damaged(path, e) from e
        raise StoreError(f"cannot open store {path}: {e}{_unwritable(path, create)}") from e
    db = sqlite_utils.Database(conn)
    try:
        if upgrade:
            migrate(db)
            upgrade_fold(db, progress=progress)
            upgrade_url_keys(db)
        else:
            schema_version(conn)
    except StoreError:
        conn.close()
        raise
    except sqlite3.DatabaseError as e:
        conn.close()
        if is_damage(e):
            raise damaged(path, e) from e
        raise StoreError(f"cannot use store {path}: {e}") from e
    return db


def _check_is_store(conn: sqlite3.Connection, path: Path, *, create: bool) -> None:
    """Refuse, by reading only, a file that is not a monitor store: not SQLite, a SQLite
    database of other tables, or (unless ``create``) an empty one. A monitor store is one
    with a schema version (``user_version``) and the ``items`` table."""
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.OperationalError as e:  # cannot open or lock it: says nothing of what it is
        raise StoreError(f"cannot open store {path}: {e}{_unwritable(path, create)}") from e
    except sqlite3.DatabaseError as e:
        if is_damage(e):  # SQLite pages, some of them unreadable: a store, or was one
            raise damaged(path, e) from e
        raise StoreError(f"{path} is not a monitor store ({e})") from e
    if version > 0 and "items" in tables:
        return
    if not tables and version == 0:
        if create:
            return
        raise StoreError(f"{path} is not a monitor store (it is empty)")
    if not tables:
        what = f"an empty SQLite database of schema version {version}"
    else:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        what = f"a SQLite database of other tables: {shown}"
    raise StoreError(f"{path} is not a monitor store ({what})")


def is_damage(e: sqlite3.Error) -> bool:
    """SQLite found its own pages malformed (SQLITE_CORRUPT), as against a file that is no
    SQLite database at all (SQLITE_NOTADB)."""
    return (getattr(e, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_CORRUPT


def damaged(path: Path, e: sqlite3.Error) -> StoreError:
    return StoreError(
        f"store {path} is damaged ({e}); restore it from a backup or recover what is "
        f"readable with: sqlite3 {shlex.quote(str(path))} .recover | sqlite3 recovered.db"
    )


def _unwritable(path: Path, create: bool) -> str:
    """Why a store may not open: its folder is not writable. A writer needs it; a reader
    too, for the -wal and -shm files SQLite makes beside a WAL store, unless a process that
    can write (the daemon) already has the store open and made them."""
    folder = path.absolute().parent
    if os.access(folder, os.W_OK):
        return ""
    if create:
        return f" ({folder} is not writable)"
    return (
        f" ({folder} is not writable: a store there can be read only while the daemon has it open)"
    )


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # else SQLite rolled it back itself (a full disk)
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


class GroupCommit:
    """Several units of work in one transaction, each in its own savepoint.

    A commit writes every page the transaction touched to the WAL; the random-keyed indexes
    (sketch hashes, URL keys, story keys) touch a different page per row, so committing
    each source of a poll on its own costs more than writing its rows. Units share a
    transaction until ``max_units`` of them or ``max_seconds`` have gone by; a unit that
    fails is rolled back alone. A crash loses the uncommitted units whole, never half.
    Call :meth:`commit_if_due` from a timer so a quiet batch does not wait for the next unit.
    """

    def __init__(self, db: sqlite_utils.Database, *, max_units: int = 50, max_seconds=1.0):
        self.conn = db.conn
        self.max_units = max_units
        self.max_seconds = max_seconds
        self.units = 0
        self.opened: float | None = None  # monotonic time of BEGIN; None: no open batch

    @contextmanager
    def unit(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        if self.opened is None:
            conn.execute("BEGIN IMMEDIATE")
            self.opened, self.units = time.monotonic(), 0
        conn.execute("SAVEPOINT unit")
        try:
            yield conn
        except BaseException:
            if not conn.in_transaction:  # SQLite rolled back the batch (a full disk)
                self.opened = None
                raise
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            raise
        conn.execute("RELEASE unit")
        self.units += 1
        if self.units >= self.max_units:
            self.commit()
        else:
            self.commit_if_due()

    def commit_if_due(self) -> None:
        if self.opened is not None and time.monotonic() - self.opened >= self.max_seconds:
            self.commit()

    def commit(self) -> None:
        if self.opened is not None:
            self.opened = None
            self.conn.execute("COMMIT")


# --- writes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sighting:
    """Where an item was seen: a source name (``import`` for the CLI) and a file or URL."""

    source: str
    location: str


@dataclass(frozen=True)
class Saved:
    """What saving one item did: ``new`` story, ``merged`` (a new sighting of a known story)
    or ``seen`` (a sighting already recorded)."""

    status: str
    item_id: int
    story_key: str


def _alias_keys(item: Item) -> list[tuple[str, str]]:
    urls = [u for u in [item.canonical_url or item.url, *item.alt_urls] if u]
    out = []
    for u in urls:
        if u.startswith(("http://", "https://", "//")):
            try:
                out.append((url_key(u), u))
            except ValueError:
                continue
    return out


# Values bound per query: far under SQLite's limit of bound parameters.
_IN_CHUNK = 500


def rows_in(conn: sqlite3.Connection, sql: str, values: Collection) -> Iterator[tuple]:
    """The rows of ``sql``, whose one ``IN ({})`` takes ``values``, a chunk per query."""
    values = list(values)
    for k in range(0, len(values), _IN_CHUNK):
        chunk = values[k : k + _IN_CHUNK]
        yield from conn.execute(sql.format(",".join("?" * len(chunk))), chunk)


class _Known:
    """What the store holds for one batch's keys, URLs, titles and sketch hashes, read in a
    few queries up front and kept current as the batch writes, so that an item finds a
    story stored earlier in its own batch exactly as it finds one stored before it."""

    def __init__(self, conn: sqlite3.Connection, items: list[Item], aliases: list[list]):
        self.conn = conn
        self.keys: dict[str, int] = dict(
            rows_in(
                conn,
                "SELECT key, item_id FROM item_keys WHERE key IN ({})",
                {i.story_key for i in items},
            )
        )
        self.urls: dict[str, int] = dict(
            rows_in(
                conn,
                "SELECT url_key, item_id FROM item_urls WHERE url_key IN ({})",
                {k for a in aliases for k, _ in a},
            )
        )
        # title_key -> [[id, canonical_url], ...] in id order; id -> its row, to update.
        self.titles: dict[str, list[list]] = {}
        self.title_rows: dict[int, list] = {}
        for title_key, item_id, canonical in rows_in(
            conn,
            "SELECT title_key, id, canonical_url FROM items WHERE title_key IN ({}) ORDER BY id",
            {i.title_key for i in items if i.title_key},
        ):
            self._add_title(title_key, item_id, canonical)
        # The feed entries each title candidate was stored from (entry keys, see find).
        self.entries_of: dict[int, set[str]] = {}
        for item_id, key in rows_in(
            conn,
            "SELECT item_id, key FROM item_keys WHERE item_id IN ({}) AND key LIKE 'entry:%'",
            self.title_rows,
        ):
            self.entries_of.setdefault(item_id, set()).add(key)
        # Sketch hash -> stories holding it: stored ones (for the hashes read so far) and
        # the ones this batch wrote, whose sketches are kept until the batch's end.
        self.by_hash: dict[int, list[int]] = {}
        self.hashes_read: set[int] = set()
        self.sketch_of: dict[int, Sequence[int]] = {}

    def _add_title(self, title_key: str, item_id: int, canonical: str | None) -> None:
        row = [item_id, canonical]
        self.titles.setdefault(title_key, []).append(row)
        self.title_rows[item_id] = row

    def find(self, item: Item, aliases: list[tuple[str, str]]) -> int | None:
        """The story an item belongs to by key, by URL alias, or by outlet and title."""
        found = self.keys.get(item.story_key)
        if found is not None:
            return found
        for key, _ in aliases:
            found = self.urls.get(key)
            if found is not None:
                return found
        if item.title_key:
            # Same outlet, same title: one story when at least one side carries no URL; two
            # linked articles of one outlet may share a title ("每日新闻") and stay apart,
            # and so do two link-less entries with different ids and text ("快讯"). A title
            # two such stories share names neither: the content check picks the one copied.
            has_url = bool(item.canonical_url)
            found = [
                item_id
                for item_id, canonical in self.titles.get(item.title_key, ())
                if (not has_url or canonical is None) and not self._other_entry(item, item_id)
            ]
            if len(found) == 1:
                return found[0]
        return None

    def _other_entry(self, item: Item, item_id: int) -> bool:
        """Whether the story was stored from another link-less feed entry (of this feed or
        another of the outlet's) with other text: one title ("快讯") is then two stories. A
        feed that makes up new ids at every fetch repeats its text: the same story."""
        if entry_feed(item.story_key) is None or not any(
            k != item.story_key for k in self.entries_of.get(item_id, ())
        ):
            return False
        row = self.conn.execute("SELECT text FROM items WHERE id = ?", (item_id,)).fetchone()
        return row is None or row[0].split() != item.text.split()

    def read_hashes(self, hashes: Collection[int]) -> None:
        """Read which stored stories hold these sketch hashes: all of a batch's at once
        before its first :meth:`find_copy`, which reads any it still lacks itself."""
        hashes = [h for h in hashes if h not in self.hashes_read]
        self.hashes_read.update(hashes)
        for h, item_id in rows_in(
            self.conn, "SELECT hash, item_id FROM item_sketches WHERE hash IN ({})", hashes
        ):
            self.by_hash.setdefault(h, []).append(item_id)

    def find_copy(self, item: Item, sk: Sequence[int], threshold: float) -> int | None:
        """A story whose sentences this one mostly shares (a copy without a shared URL):
        the five sharing the most hashes (then the oldest) are compared in full; one whose
        link or site id names another article of the item's site is none."""
        self.read_hashes(sk)
        shared: dict[int, int] = {}
        for h in sk:
            for item_id in self.by_hash.get(h, ()):
                shared[item_id] = shared.get(item_id, 0) + 1
        for item_id in sorted(shared, key=lambda i: (-shared[i], i))[:5]:
            theirs = self.sketch_of.get(item_id)
            if theirs is None:
                theirs = [
                    h
                    for (h,) in self.conn.execute(
                        "SELECT hash FROM item_sketches WHERE item_id = ? ORDER BY hash",
                        (item_id,),
                    )
                ]
            if sketch_similarity(sk, theirs) >= threshold and not self._other_article(
                item, item_id
            ):
                return item_id
        return None

    def _other_article(self, item: Item, item_id: int) -> bool:
        mine = article_key(item.story_key, item.canonical_url)
        key, canonical = self.conn.execute(
            "SELECT story_key, canonical_url FROM items WHERE id = ?", (item_id,)
        ).fetchone()
        return distinct_articles(mine, article_key(key, canonical))

    def added(self, item: Item, item_id: int, sk: Sequence[int] | None) -> None:
        """A story this batch stored: later items find it by its title and sketch."""
        if item.title_key:
            self._add_title(item.title_key, item_id, item.canonical_url)
        if sk:
            self.sketch_of[item_id] = sk
            for h in sk:
                self.by_hash.setdefault(h, []).append(item_id)

    def named(self, item_id: int, item: Item, aliases: list[tuple[str, str]]) -> None:
        """The story's key and URLs as ``INSERT OR IGNORE`` leaves them: the first wins."""
        self.keys.setdefault(item.story_key, item_id)
        if entry_feed(item.story_key) is not None:
            self.entries_of.setdefault(item_id, set()).add(item.story_key)
        for key, _ in aliases:
            self.urls.setdefault(key, item_id)

    def linked(self, item_id: int, canonical: str) -> None:
        row = self.title_rows.get(item_id)
        if row is not None and row[1] is None:
            row[1] = canonical


def _item_row(item: Item, ts: str) -> tuple:
    return (
        item.story_key,
        item.title,
        item.url,
        item.canonical_url,
        item.site,
        item.author,
        item.published,
        item.summary,
        item.text,
        item.html,
        json.dumps([{"url": i.url, "caption": i.caption} for i in item.images], ensure_ascii=False),
        json.dumps(item.tags, ensure_ascii=False),
        item.lang,
        item.format,
        item.title_key,
        ts,
        ts,
    )


def _sketch(item: Item) -> Sequence[int]:
    """Parse workers send the sketch along ready-made; otherwise it is made here."""
    return item.sketch if item.sketch is not None else story_sketch(item.text)


_INSERT_ITEM = """INSERT INTO items (story_key, title, url, canonical_url, site, author,
    published, summary, text, html, images, tags, lang, format, title_key, first_seen,
    last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""


def save_items(
    db: sqlite_utils.Database,
    entries: Iterable[tuple[Item, Sighting]],
    *,
    now: datetime,
    copy_similarity: float = DEFAULT_COPY_SIMILARITY,
) -> list[Saved]:
    """Store a batch of keyed items in one transaction; a story is stored once, every
    sighting is kept. Items must have ``story_key`` set (see canonical.assign_keys)."""
    with transaction(db) as conn:
        return write_items(conn, entries, now=now, copy_similarity=copy_similarity)


def write_items(
    conn: sqlite3.Connection,
    entries: Iterable[tuple[Item, Sighting]],
    *,
    now: datetime,
    copy_similarity: float = DEFAULT_COPY_SIMILARITY,
) -> list[Saved]:
    """The body of :func:`save_items`, for callers that hold a wider transaction (a poll).

    A story is found by key, by URL alias, by outlet + title (when a side has no link),
    and last by content: a copy sharing ``copy_similarity`` of its sentences. The batch's
    lookups are a few queries for all its items (:class:`_Known`), not a few per item;
    the result is the same as writing the items one at a time.
    """
    entries = list(entries)
    for item, _ in entries:
        if not item.story_key:
            raise ValueError(f"item {item.title!r} has no story key")
    items = [item for item, _ in entries]
    aliases = [_alias_keys(item) for item in items]
    known = _Known(conn, items, aliases)
    # Only stories no key finds need a sketch.
    sketches = {
        k: _sketch(item)
        for k, (item, a) in enumerate(zip(items, aliases, strict=True))
        if known.find(item, a) is None
    }
    known.read_hashes({h for sk in sketches.values() for h in sk})
    ts = iso(now)
    results: list[Saved] = []
    named_keys, named_urls, new_sketches, queued = [], [], [], []
    for k, ((item, where), item_aliases) in enumerate(zip(entries, aliases, strict=True)):
        item_id = known.find(item, item_aliases)
        sk = None
        if item_id is None:
            sk = sketches.get(k)
            if sk is None:  # a title match it had before the batch is gone (linked since)
                sk = _sketch(item)
            item_id = known.find_copy(item, sk, copy_similarity) if sk else None
        if item_id is None:
            item_id = conn.execute(_INSERT_ITEM, _item_row(item, ts)).lastrowid
            known.added(item, item_id, sk)
            queued.append((item_id,))
            new_sketches.extend((h, item_id) for h in sk or ())
            status = "new"
        else:
            status = None
            conn.execute("UPDATE items SET last_seen = ? WHERE id = ?", (ts, item_id))
            if item.canonical_url:
                # A link-less story learns its link; nothing already stored is replaced.
                conn.execute(
                    "UPDATE items SET url = ?, canonical_url = ? "
                    "WHERE id = ? AND canonical_url IS NULL",
                    (item.url, item.canonical_url, item_id),
                )
                known.linked(item_id, item.canonical_url)
        known.named(item_id, item, item_aliases)
        named_keys.append((item.story_key, item_id))
        named_urls.extend((key, url, item_id, ts) for key, url in item_aliases)
        # A new story has no sightings yet; a known one may have this very one.
        seen = status is None and (
            conn.execute(
                "UPDATE sightings SET last_seen = ?, times_seen = times_seen + 1 "
                "WHERE item_id = ? AND source = ? AND location = ?",
                (ts, item_id, where.source, where.location),
            ).rowcount
        )
        if not seen:
            conn.execute(
                "INSERT INTO sightings (item_id, source, location, url, format, "
                "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item_id, where.source, where.location, item.url, item.format, ts, ts),
            )
        results.append(Saved(status or ("seen" if seen else "merged"), item_id, item.story_key))
    # What only later batches read, written at the end in the order the items came.
    conn.executemany("INSERT INTO fts_pending (item_id) VALUES (?)", queued)
    conn.executemany(
        "INSERT OR IGNORE INTO item_sketches (hash, item_id) VALUES (?, ?)", new_sketches
    )
    conn.executemany("INSERT OR IGNORE INTO item_keys (key, item_id) VALUES (?, ?)", named_keys)
    conn.executemany(
        "INSERT OR IGNORE INTO item_urls (url_key, url, item_id, first_seen) VALUES (?, ?, ?, ?)",
        named_urls,
    )
    return results


INDEX_BATCH = 500


def _index_columns(title: str, text: str) -> tuple[str, str]:
    """A story's title and text as ``items_fts`` holds them (folded, bigram-segmented)."""
    return segment_folded(fold(title)), segment_folded(fold(text))


# Event features are kept for stories first seen this long before the newest one: a
# digest's window (7 days the first time, see digest_lookback) and a day to spare.
FEATURES_KEEP = timedelta(days=8)


def _indexed(rows: Iterable[tuple[int, str, str]], features: list[tuple]) -> Iterator[tuple]:
    """``items_fts`` rows for (id, title, text) rows; each story's event features, made from
    the same folded text, are added to ``features`` on the way (~2.5 KB a story)."""
    for item_id, title, text in rows:
        title, text = fold(title), fold(text)
        features.append(_features_row(item_id, title, text))
        yield item_id, segment_folded(title), segment_folded(text)


def _features_row(item_id: int, folded_title: str, folded_text: str) -> tuple:
    return (item_id, *text_features(folded_title, folded_text, folded=True))


def keep_event_features(conn: sqlite3.Connection, rows: Iterable[tuple[int, str, str]]) -> None:
    """Keep the event features of (id, title, text) rows, as the index catch-up does."""
    _write_event_features(conn, (_features_row(i, fold(t), fold(x)) for i, t, x in rows))
    prune_event_features(conn)


def _write_event_features(conn: sqlite3.Connection, features: Iterable[tuple]) -> None:
    conn.executemany(
        f"INSERT OR REPLACE INTO event_features (item_id, version, lead, title, entities, "
        f"title_entities, mentioned) VALUES (?, {FEATURES_VERSION}, ?, ?, ?, ?, ?)",
        features,
    )


def prune_event_features(conn: sqlite3.Connection) -> None:
    """Drop the features of stories first seen :data:`FEATURES_KEEP` before the newest."""
    (newest,) = conn.execute("SELECT max(first_seen) FROM items").fetchone()
    if newest is None:
        return
    first = first_id_since(conn, parse_iso(newest) - FEATURES_KEEP)
    conn.execute("DELETE FROM event_features WHERE item_id < ?", (first,))


def prune_fetches(db: sqlite_utils.Database, before: datetime) -> int:
    """Drop the fetch log's polls started before ``before``; returns how many. One row per
    source and poll, the log grew by millions of rows a year. Ids grow with the polls, so
    the rows dropped are those below the first one kept, found by reading only them."""
    with transaction(db) as conn:
        first = conn.execute(
            "SELECT id FROM fetches NOT INDEXED WHERE started_at >= ? ORDER BY id LIMIT 1",
            (iso(before),),
        ).fetchone()
        if first is None:
            return conn.execute("DELETE FROM fetches").rowcount
        return conn.execute("DELETE FROM fetches WHERE id < ?", first).rowcount


def pending_count(conn: sqlite3.Connection) -> int:
    """Stories stored but not yet in the full-text index."""
    return conn.execute("SELECT count(*) FROM fts_pending").fetchone()[0]


def index_pending(
    db: sqlite_utils.Database,
    *,
    batch: int = INDEX_BATCH,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Index the queued stories, oldest first, one transaction per ``batch``, and keep their
    event features; returns how many. Safe to stop between batches: the rest stay queued
    and are still searchable."""
    done = 0
    while True:
        with transaction(db) as conn:
            ids = conn.execute(
                "SELECT item_id FROM fts_pending ORDER BY item_id LIMIT ?", (batch,)
            ).fetchall()
            if not ids:
                if done:
                    prune_event_features(conn)
                return done
            last = ids[-1][0]
            # Streamed row by row (a generator into executemany): a batch of long texts,
            # folded and segmented all at once, would cost tens of MB.
            rows = conn.execute(
                "SELECT id, title, text FROM items WHERE id IN "
                "(SELECT item_id FROM fts_pending WHERE item_id <= ?)",
                (last,),
            )
            features: list[tuple] = []
            conn.executemany(
                "INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)",
                _indexed(rows, features),
            )
            # Written after the index rows, not among them: FTS5 writes out its pending
            # terms whenever another statement opens a savepoint, as this INSERT OR REPLACE
            # into a table with a foreign key does. Written 50 stories at a time, they cut
            # the batch's index into segments of 50 stories and cost a quarter of the
            # catch-up.
            _write_event_features(conn, features)
            # Exactly the rows read (the write lock is held), plus any whose story is gone.
            conn.execute("DELETE FROM fts_pending WHERE item_id <= ?", (last,))
        done += len(ids)
        if progress:
            progress(len(ids))


# The fold the full-text index was made with, in ``store_meta`` as ``fold``: none recorded is
# 1, character by character (text.fold_characters); 2 is text.fold, which converts the
# phrases OpenCC's t2s converts otherwise than their characters (計畫 → 计划, 乾隆 kept).
FOLD_VERSION = 2
FOLD_BATCH = 2000  # stories looked at in each transaction of upgrade_fold


def upgrade_fold(
    db: sqlite_utils.Database,
    *,
    batch: int = FOLD_BATCH,
    progress: Callable[[int, int], object] | None = None,
) -> int:
    """Bring the full-text index of a store made before :data:`FOLD_VERSION` to the fold
    searches and watches now use; returns how many stories it indexed again. Run when the
    store opens, after its migrations; one read of ``store_meta`` once done.

    Only a story holding a character the two folds differ on (``fold_changed_characters``:
    乾 計 覆 瞭 於 …, found with GLOB) can be indexed otherwise, and of those only the ones
    whose segmented title or text do differ are: removed from the contentless index with
    the tokens it holds (the old fold's: FTS5's 'delete' needs them) and put back with the
    new, their kept event features made again. Ids are read in order, ``batch`` at a time,
    each batch one transaction that records how far it got (``fold_upgrade_through``):
    stopped half-way, the next open goes on from there, and two processes opening the
    store at once take turns. Stories still queued for the index are left to it.

    Before each batch ``progress`` is told how far it got, ``(done, total)`` in story ids
    (the watermark's, not a count: counting the rows read a large store's table once more);
    by default a :class:`~monitor.logs.ProgressLog`."""
    conn = db.conn
    if _meta(conn, "fold") == str(FOLD_VERSION):
        return 0
    pattern = "*[" + fold_changed_characters() + "]*"
    done, started = 0, time.monotonic()
    log = logging.getLogger("monitor.store")
    first, newest = conn.execute("SELECT min(id), max(id) FROM items").fetchone()
    if first is not None:  # minutes on a large store
        log.info(
            "bringing the search index to this version's Traditional phrases (once; "
            "stopped, it goes on at the next start)"
        )
        progress = progress or ProgressLog(log, "search index upgrade")
    while True:
        with transaction(db):
            if _meta(conn, "fold") == str(FOLD_VERSION):  # another process finished it
                break
            after = int(_meta(conn, "fold_upgrade_through") or 0)
            ids = conn.execute(
                "SELECT id FROM items WHERE id > ? ORDER BY id LIMIT ?", (after, batch)
            ).fetchall()
            if not ids:
                conn.execute("DELETE FROM store_meta WHERE name = 'fold_upgrade_through'")
                _set_meta(conn, "fold", str(FOLD_VERSION))
                break
            last = ids[-1][0]
            if progress:
                progress(max(after - first + 1, 0), max(newest - first + 1, last - first + 1))
            done += _refold(conn, after, last, pattern)
            _set_meta(conn, "fold_upgrade_through", str(last))
    if first is not None:  # the end of the wait the first line announced
        took = about(time.monotonic() - started)
        done_ = plural(done, "story", "stories")
        log.info("search index upgraded: %s indexed again in %s", done_, took)
    return done


def _refold(conn: sqlite3.Connection, after: int, last: int, pattern: str) -> int:
    """Index again, with :func:`~monitor.text.fold`, the indexed stories with ids in
    ``(after, last]`` that the old fold indexed otherwise."""
    redo = []
    for item_id, title, text in conn.execute(
        "SELECT id, title, text FROM items WHERE id > ? AND id <= ? "
        "AND id NOT IN (SELECT item_id FROM fts_pending) AND (title GLOB ? OR text GLOB ?)",
        (after, last, pattern, pattern),
    ):
        if not (folds_otherwise(title) or folds_otherwise(text)):
            continue
        old = segment_folded(fold_characters(title)), segment_folded(fold_characters(text))
        if old != (new := _index_columns(title, text)):
            redo.append((item_id, title, text, old, new))
    conn.executemany(
        "INSERT INTO items_fts (items_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
        ((r[0], *r[3]) for r in redo),
    )
    conn.executemany(
        "INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)",
        ((r[0], *r[4]) for r in redo),
    )
    kept = {
        i
        for (i,) in rows_in(
            conn, "SELECT item_id FROM event_features WHERE item_id IN ({})", [r[0] for r in redo]
        )
    }
    _write_event_features(
        conn, (_features_row(i, fold(t), fold(x)) for i, t, x, _, _ in redo if i in kept)
    )
    return len(redo)


def _meta(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT value FROM store_meta WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def _set_meta(conn: sqlite3.Connection, name: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO store_meta (name, value) VALUES (?, ?)", (name, value))


def _pending_matches(
    conn: sqlite3.Connection, wanted: list[list[str]], unwanted: list[list[list[str]]], limit: int
) -> list:
    """Queued (not yet indexed) stories that hold every phrase of ``wanted`` and none of
    ``unwanted``'s, newest first."""
    out = []
    for row in conn.execute(
        f"SELECT {_LIST_COLUMNS}, items.text AS queued_text FROM items "
        "WHERE items.id IN (SELECT item_id FROM fts_pending) ORDER BY items.id DESC"
    ):
        columns = _index_columns(row["title"], row["queued_text"])
        if phrases_in(wanted, *columns) and not any(phrases_in(u, *columns) for u in unwanted):
            found = dict(row)
            del found["queued_text"]
            out.append(found)
            if len(out) >= limit:
                break
    return out


def known_urls(conn: sqlite3.Connection, urls: Iterable[str]) -> set[str]:
    """Which of ``urls`` already name a stored story (one query per 500 URLs)."""
    by_key: dict[str, str] = {}
    for u in urls:
        try:
            by_key[url_key(u)] = u
        except ValueError:
            continue
    sql = "SELECT url_key FROM item_urls WHERE url_key IN ({})"
    return {by_key[k] for (k,) in rows_in(conn, sql, by_key)}


def known_keys(conn: sqlite3.Connection, keys: Iterable[str]) -> set[str]:
    """Which story keys are already stored."""
    sql = "SELECT key FROM item_keys WHERE key IN ({})"
    return {k for (k,) in rows_in(conn, sql, dict.fromkeys(keys))}


# --- reads ---------------------------------------------------------------------------------

_LIST_COLUMNS = "items.id, story_key, title, site, published, first_seen, canonical_url, url"


def search(db: sqlite_utils.Database, query: str, *, limit: int = 50) -> list[dict]:
    """Stories matching every term of ``query`` and none of its ``-terms``, newest stored
    first."""
    conn = db.conn
    limit = min(limit, _MAX_ID)  # SQLite's LIMIT takes no larger number
    conn.row_factory = sqlite3.Row
    terms, excluded = search_terms(query)
    try:
        with _snapshot(conn):
            return _search(conn, terms, excluded, limit)
    finally:
        conn.row_factory = None


@contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: a search reads the index, then the queue of stories not yet
    in it; a daemon indexing a batch between two snapshots moved it out of the queue the
    search read next and into the index it had read already."""
    if conn.in_transaction:  # the caller's transaction is one snapshot already
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _search(conn: sqlite3.Connection, terms: list[str], excluded: list[str], limit: int) -> list:
    """:func:`search` inside its snapshot."""
    try:
        wanted = phrases_of(terms)
        unwanted = [phrases_of([t]) for t in excluded]
    except QueryTooShort:
        return _scan(conn, terms, excluded, limit)
    expression = search_expression(wanted, unwanted)
    rows = conn.execute(
        f"""SELECT {_LIST_COLUMNS} FROM items JOIN (
                SELECT rowid FROM items_fts WHERE items_fts MATCH ?
                ORDER BY rowid DESC LIMIT ?
            ) AS hits ON items.id = hits.rowid ORDER BY items.id DESC""",
        (expression, limit),
    ).fetchall()
    found = [dict(r) for r in rows]
    queued = _pending_matches(conn, wanted, unwanted, limit)
    if not queued:
        return found
    return sorted(found + queued, key=lambda r: r["id"], reverse=True)[:limit]


def _scan(conn: sqlite3.Connection, terms: list[str], excluded: list[str], limit: int) -> list:
    """A query with a one-character term: a GLOB filter for the terms to find in any
    spelling that folds to them, each row it passes confirmed on folded text as the index
    and the watches read it (every term in, every excluded one out). Over the stories the
    index finds for the terms' other parts (``拜登`` of ``乔·拜登``) and those still queued
    for it. A query with no other part (``热``) reads the newest stories, then those the
    index holds its character in."""
    groups, params = [], []
    for part in (part for term in terms for part in term.split()):  # "乔 拜登" finds 乔拜登
        patterns = _glob_patterns(part)
        groups.append(" OR ".join(["title GLOB ? OR text GLOB ?"] * len(patterns)))
        params += [p for pattern in patterns for p in (pattern, pattern)]
    like = "(" + ") AND (".join(groups) + ")"
    try:  # the terms as a watch reads them: a Latin word whole, as the index has it too
        matcher = Matcher(Rule(all=tuple(terms), exclude=tuple(excluded)))
    except ValueError:  # a term also left out: no story can match
        return []
    narrowing = narrowing_phrases(terms)
    found, below = [], _MAX_ID  # the stories at or below ``below`` are still to be read
    if narrowing:
        expression = match_expression(narrowing)
    else:
        # A common character fills the page from the newest stories at once; for a rarer
        # one (or none), reading every story took ~50 s on a million: the index answers
        # for the older ones.
        below = (conn.execute("SELECT max(id) FROM items").fetchone()[0] or 0) - _RECENT_ROWS
        recent = conn.execute(
            f"SELECT {_LIST_COLUMNS}, text FROM items WHERE items.id > ? AND {like} "
            "ORDER BY items.id DESC",
            (below, *params),
        )
        if len(found := _confirmed(recent, matcher, limit)) == limit:
            return found
        expression = indexed_character_expression(conn, lone_character(terms))
    queued = conn.execute(
        f"SELECT {_LIST_COLUMNS}, text FROM items WHERE items.id IN "
        f"(SELECT item_id FROM fts_pending) AND items.id <= ? AND {like} ORDER BY items.id DESC",
        (below, *params),
    )
    found += _confirmed(queued, matcher, limit)
    indexed = _indexed_rows(conn, expression, like, params, below=below)
    found += _confirmed(indexed, matcher, limit)
    return sorted(found, key=lambda r: r["id"], reverse=True)[:limit]


_SCAN_CHUNK = 500  # index rows read at a time by a narrowed scan
_RECENT_ROWS = 2000  # newest stories read for a lone character before the index is asked


def indexed_character_expression(conn: sqlite3.Connection, char: str) -> str:
    """:func:`~monitor.fulltext.character_expression` for ``char`` with the bigrams ending
    in it that the index holds, looked up in its vocabulary (~0.1–0.7 s on a million
    stories, against reading every one). Datasette's plugin asks it too."""
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.items_fts_vocab "
        "USING fts5vocab(main, items_fts, row)"
    )
    before = conn.execute(
        "SELECT v.term FROM json_each(?) AS j JOIN temp.items_fts_vocab AS v ON v.term = j.value",
        (json.dumps(preceded(char), ensure_ascii=False),),
    )
    return character_expression(char, [r[0] for r in before])


def _indexed_rows(
    conn: sqlite3.Connection, expression: str, where: str, params: list, *, below: int
) -> Iterator[sqlite3.Row]:
    """The rows passing ``where`` among those the index matches with ids up to ``below``,
    newest first, read a chunk of the index at a time so that a search stops early."""
    while ids := [
        r[0]
        for r in conn.execute(
            "SELECT rowid FROM items_fts WHERE items_fts MATCH ? AND rowid <= ? "
            "ORDER BY rowid DESC LIMIT ?",
            (expression, below, _SCAN_CHUNK),
        )
    ]:
        yield from conn.execute(
            f"SELECT {_LIST_COLUMNS}, text FROM items "
            f"WHERE items.id IN ({','.join('?' * len(ids))}) AND {where} ORDER BY items.id DESC",
            (*ids, *params),
        )
        below = ids[-1] - 1


def _confirmed(rows: Iterable, matcher: Matcher, limit: int) -> list[dict]:
    """The first ``limit`` rows whose folded title or text holds every term and no excluded
    one as ``matcher``'s watch would find them (``nato`` is not in senator), without their
    text."""
    found = []
    for row in rows:
        if matcher.terms(fold_story(row["title"] or "", row["text"] or "")) is not None:
            found.append(story := dict(row))
            del story["text"]
            if len(found) == limit:
                break
    return found


_GLOB_PATTERNS = 8  # at most, for a term: each one more costs another read of every text


def _glob_patterns(term: str) -> list[str]:
    """``*term*`` for GLOB in every spelling that folds to the term (``台湾``: ``*台湾*``,
    ``*臺灣*``, ``*台灣*`` …), where a LIKE of the term and of its Traditional missed 台灣,
    裡 or ＮＡＴＯ. A character of more spellings than that allows (a Latin letter, a name
    dot) is any character ``?``; one folding to several (``ß``, ``㍻``) is not looked for.
    Literal patterns, not ``[热熱]``: SQLite scans a set four times slower. A phrase folded
    as a whole (``計畫`` of ``计划``) is one more pattern, its other characters any ``?``
    when they have other spellings (the rows found are confirmed)."""
    patterns = [""]
    for ch in term:
        spelled = spellings(ch)
        if len(patterns) * len(spelled) > _GLOB_PATTERNS:
            spelled = "?"
        else:  # GLOB's own characters, as themselves
            spelled = [_glob_literal(c) for c in spelled]
        patterns = [p + c for p in patterns for c in spelled]
    for start, phrase in phrase_spellings(term):
        around = [_glob_literal(c) if len(spellings(c)) == 1 else "?" for c in term]
        around[start : start + len(phrase)] = [_glob_literal(c) for c in phrase]
        patterns.append("".join(around))
    return [f"*{p}*" for p in patterns]


def _glob_literal(c: str) -> str:
    return f"[{c}]" if c in "*?[" else c


_MAX_ID = 2**63 - 1  # SQLite's largest INTEGER


def apply_site_rules(db: sqlite_utils.Database, rules: SiteRules) -> int:
    """Give stored stories the keys ``rules`` make of their URLs; the number of keys added.

    A rule added since a story was stored (a new release's, or a ``[[site]]`` of the
    config) keys the story's next copy by the rule, and without the story holding that key
    the copy became a second story. Only keys are added, none changed: two stored stories
    that the rule names alike stay two, the first keeps the key. Done once per set of rules
    (their fingerprint is kept in ``store_meta``), so a poll costs one lookup.
    """
    fingerprint = rules.fingerprint()
    conn = db.conn
    if _meta(conn, "site_rules") == fingerprint:
        return 0
    with transaction(db):
        before = conn.total_changes
        keys = (
            (key, item_id)
            for url, item_id in conn.execute("SELECT url, item_id FROM item_urls")
            if (key := rules.key_for(url))
        )
        conn.executemany("INSERT OR IGNORE INTO item_keys (key, item_id) VALUES (?, ?)", list(keys))
        added = conn.total_changes - before
        _set_meta(conn, "site_rules", fingerprint)
    return added


def upgrade_url_keys(db: sqlite_utils.Database) -> int:
    """Give stored URLs and ``url:`` keys the forms this version's ``url_key`` makes;
    returns how many were added or changed. Run when the store opens, after its migrations.

    A URL stored under an older version's key (RFA's ``….html/ampRFA`` before version 2)
    was not found by its next copy, keyed the new way: the copy became a second story.
    Each stored URL gets its key again, and a story's ``url:`` key gets its new form beside
    the old (a story keyed by a relative link too: its host is not known). A key another
    URL or story already holds stays with it (the URL keeps its old key): no row is lost,
    no two stories are joined. Done once per :data:`~monitor.canonical.CANONICAL_VERSION`
    (``canonical`` in ``store_meta``), so an open costs one lookup.
    """
    conn = db.conn
    if _meta(conn, "canonical") == str(CANONICAL_VERSION):
        return 0
    log = logging.getLogger("monitor.store")
    stored = conn.execute("SELECT 1 FROM item_urls LIMIT 1").fetchone()
    if stored:  # a minute a million
        log.info("giving stored URLs this version's keys (once)")
    with transaction(db):
        if _meta(conn, "canonical") == str(CANONICAL_VERSION):  # another process did it
            return 0
        before = conn.total_changes
        moved = [
            (new, key)
            for key, url in conn.execute("SELECT url_key, url FROM item_urls ORDER BY rowid")
            if (new := _current_key(url)) not in (None, key)
        ]
        conn.executemany("UPDATE OR IGNORE item_urls SET url_key = ? WHERE url_key = ?", moved)
        keys = [
            ("url:" + new, item_id)
            for key, item_id in conn.execute(
                "SELECT key, item_id FROM item_keys WHERE key GLOB 'url:*' ORDER BY rowid"
            )
            if (new := _current_key(key[4:])) not in (None, key[4:])
        ]
        conn.executemany("INSERT OR IGNORE INTO item_keys (key, item_id) VALUES (?, ?)", keys)
        changed = conn.total_changes - before
        _set_meta(conn, "canonical", str(CANONICAL_VERSION))
    if stored:
        log.info("stored URLs given this version's keys: %d changed", changed)
    return changed


def _current_key(url: str) -> str | None:
    try:
        return url_key(url)
    except ValueError:
        return None


def find_item_id(db: sqlite_utils.Database, key: str, rules: SiteRules | None = None) -> int | None:
    """A story by any of its keys, any of its URLs, or its numeric id. With the site
    ``rules``, also by a URL never seen that a rule maps to the story's key (the ``/b5/``
    edition of an Epoch Times article stored from its ``/gb/`` one)."""
    conn = db.conn
    key = key.strip()  # copied from a table, with the spaces around it
    row = conn.execute("SELECT item_id FROM item_keys WHERE key = ?", (key,)).fetchone()
    if row:
        return row[0]
    # URLs, and url: keys as tables show them (percent-decoded), go through url_key().
    as_url = key[4:] if key.startswith("url://") else key
    if as_url.lower().startswith(("http://", "https://", "//")):  # a scheme has no case
        try:
            row = conn.execute(
                "SELECT item_id FROM item_urls WHERE url_key = ?", (url_key(as_url),)
            ).fetchone()
        except ValueError:
            row = None
        if row:
            return row[0]
        site_key = rules.key_for(as_url) if rules is not None else None
        if site_key:
            row = conn.execute("SELECT item_id FROM item_keys WHERE key = ?", (site_key,))
            if row := row.fetchone():
                return row[0]
    # An id is a 64-bit integer: a longer number (or a digit int() does not read, like ²)
    # names no story.
    if key.isdecimal() and int(key) <= _MAX_ID:
        row = conn.execute("SELECT id FROM items WHERE id = ?", (int(key),)).fetchone()
        if row:
            return row[0]
    return None


def get_story(db: sqlite_utils.Database, item_id: int) -> dict:
    """One story with its keys, URL aliases and sightings."""
    story = db["items"].get(item_id)
    story["images"] = json.loads(story["images"])
    story["tags"] = json.loads(story["tags"])
    story["keys"] = [
        r[0]
        for r in db.conn.execute(
            "SELECT key FROM item_keys WHERE item_id = ? ORDER BY rowid", (item_id,)
        )
    ]
    story["aliases"] = list(
        db.query(
            "SELECT url, first_seen FROM item_urls WHERE item_id = ? ORDER BY first_seen, url",
            [item_id],
        )
    )
    story["sightings"] = list(
        db.query(
            "SELECT source, location, url, format, first_seen, last_seen, times_seen "
            "FROM sightings WHERE item_id = ? ORDER BY first_seen, id",
            [item_id],
        )
    )
    return story
