"""The health decision for ``monitor health`` (container HEALTHCHECK): pure over the store."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

import sqlite_utils

from .config import Source
from .store import iso


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
    """Healthy when at least one source succeeded within ``window`` before ``now``.

    ``sources``: the names of the config's enabled sources (:func:`vouching`). A source
    removed, renamed or disabled in the config keeps its row (its history stays), but its
    old successes must not vouch for the daemon.
    """
    since = iso(now - window)
    known, args = "", ()
    if sources is not None:
        if not sources:
            return False, "the config has no enabled sources"
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
