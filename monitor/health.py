"""The health decision for ``monitor health`` (container HEALTHCHECK): pure over the store."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

import sqlite_utils

from .canonical import CANONICAL_VERSION
from .config import Source
from .store import FOLD_VERSION, MIGRATIONS, iso, schema_version


def vouching(sources: Iterable[Source]) -> list[str]:
    """The names of the config's sources whose successes count: the enabled ones. A disabled
    source is not polled, so its last success says nothing about the daemon."""
    return [s.name for s in sources if s.enabled]


def check(
    db: sqlite_utils.Database,
    *,
    now: datetime,
    window: timedelta,
    sources: Collection[str] | None = None,
) -> tuple[bool, str]:
    """Whether the daemon is well, and the line that says so: ``healthy: …`` when at least
    one source succeeded within ``window`` before ``now``, else ``unhealthy: …``.

    ``sources``: the names of the config's enabled sources (:func:`vouching`). A source
    removed, renamed or disabled in the config keeps its row (its history stays), but its
    old successes must not vouch for the daemon.

    While the store's one-time upgrades are not done (:func:`upgrading`) nothing is polled,
    for minutes on a large store: that is well too, ``upgrading …``. The process doing
    them (in a container, the daemon) is alive and working; called unhealthy, an
    orchestrator would restart it, interrupting the upgrade again and again.
    """
    if sources is not None and not sources:
        return False, "unhealthy: the config has no enabled sources"
    if upgrade := upgrading(db.conn):
        return True, f"{upgrade} (sources are polled once it is done)"
    ok, reason = succeeded(db, since=iso(now - window), sources=sources)
    return ok, ("healthy: " if ok else "unhealthy: ") + reason


def upgrading(conn: sqlite3.Connection) -> str | None:
    """The one-time upgrade :func:`~monitor.store.open_db` is at, read without waiting
    for it; None when the store is up to date."""
    if schema_version(conn) < len(MIGRATIONS):
        return "upgrading the store's tables"
    meta = dict(conn.execute("SELECT name, value FROM store_meta"))
    if meta.get("fold") != str(FOLD_VERSION):
        first, newest = conn.execute("SELECT min(id), max(id) FROM items").fetchone()
        through = int(meta.get("fold_upgrade_through") or 0)
        done = 0 if first is None else 100 * max(through - first + 1, 0) // (newest - first + 1)
        return f"upgrading the search index: {done}%"
    if meta.get("canonical") != str(CANONICAL_VERSION):
        return "upgrading stored URLs to this version's keys"
    return None


def succeeded(
    db: sqlite_utils.Database, *, since: str, sources: Collection[str] | None
) -> tuple[bool, str]:
    """Whether one of ``sources`` (any, when None) succeeded since ``since``, and which."""
    known, args = "", ()
    if sources is not None:
        known = f" AND name IN ({', '.join('?' * len(sources))})"
        args = tuple(sources)
    row = db.conn.execute(
        f"SELECT name, last_success FROM sources WHERE last_success >= ?{known} "
        "ORDER BY last_success DESC LIMIT 1",
        (since, *args),
    ).fetchone()
    if row:
        return True, f"source {row[0]!r} succeeded at {row[1]}"
    last = db.conn.execute(
        f"SELECT name, last_success FROM sources WHERE last_success IS NOT NULL{known} "
        "ORDER BY last_success DESC LIMIT 1",
        args,
    ).fetchone()
    if last:
        return False, f"no source succeeded since {since} (last: {last[0]!r} at {last[1]})"
    return False, "no source has succeeded yet"
