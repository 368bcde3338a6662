"""The health decision for ``monitor health`` (container HEALTHCHECK): pure over the store."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from .store import iso


def check(db: sqlite_utils.Database, *, now: datetime, window: timedelta) -> tuple[bool, str]:
    """Healthy when at least one source succeeded within ``window`` before ``now``."""
    since = iso(now - window)
    row = db.conn.execute(
        "SELECT name, last_success FROM sources WHERE last_success >= ? "
        "ORDER BY last_success DESC LIMIT 1",
        (since,),
    ).fetchone()
    if row:
        return True, f"source {row[0]!r} succeeded at {row[1]}"
    last = db.conn.execute(
        "SELECT name, last_success FROM sources WHERE last_success IS NOT NULL "
        "ORDER BY last_success DESC LIMIT 1"
    ).fetchone()
    if last:
        return False, f"no source succeeded since {since} (last: {last[0]!r} at {last[1]})"
    return False, "no source has succeeded yet"
