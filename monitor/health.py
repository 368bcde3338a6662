"""The health decision for ``monitor health`` (container HEALTHCHECK): pure over the store."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

import sqlite_utils

from .store import iso


def check(
    db: sqlite_utils.Database,
    *,
    now: datetime,
    window: timedelta,
    sources: Collection[str] | None = None,
) -> tuple[bool, str]:
    """Healthy when at least one source succeeded within ``window`` before ``now``.

    ``sources``: the configured names. A source removed or renamed in the config keeps its
    row (its history stays), but its old successes must not vouch for the daemon.
    """
    since = iso(now - window)
    known, args = "", ()
    if sources is not None:
        if not sources:
            return False, "the config has no sources"
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
