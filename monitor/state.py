"""Polling state in the store: per-source state, the fetch log, and the entries (files of a
``dir`` source, pages of a ``mirror``) already handled, so nothing is parsed twice."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from datetime import datetime

import sqlite_utils

from .decide import SourceState
from .store import iso, parse_iso

_TIME_FIELDS = {"next_check", "last_attempt", "last_success", "retired_at"}


def _parse_time(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None


def load_states(db: sqlite_utils.Database) -> dict[str, SourceState]:
    names = [f.name for f in fields(SourceState)]
    out = {}
    for row in db.conn.execute(f"SELECT {', '.join(names)} FROM sources"):
        d = dict(zip(names, row, strict=True))
        for k in _TIME_FIELDS:
            d[k] = _parse_time(d[k])
        out[d["name"]] = SourceState(**d)
    return out


def _row(record) -> dict:
    """A dataclass's fields as a dict, shallow: ``asdict`` deep-copies every value, which
    was a tenth of the CPU of a poll in which every feed answers 304."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def write_state(conn: sqlite3.Connection, state: SourceState, *, kind: str) -> None:
    d = _row(state)
    for k in _TIME_FIELDS:
        d[k] = iso(d[k]) if d[k] else None
    d["kind"] = kind
    cols = list(d)
    conn.execute(
        f"INSERT INTO sources ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT(name) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in cols if c != "name"),
        [d[c] for c in cols],
    )


def load_host_blocks(conn: sqlite3.Connection, blocked: dict[str, datetime], now: datetime) -> None:
    """Add to ``blocked`` the stored deadlines of servers that asked us to wait and have
    not passed at ``now`` (the later of two wins)."""
    for origin, until in conn.execute("SELECT origin, until FROM host_blocks"):
        when = parse_iso(until)
        if when > now and (origin not in blocked or when > blocked[origin]):
            blocked[origin] = when


def write_host_blocks(
    conn: sqlite3.Connection, blocked: dict[str, datetime], now: datetime
) -> None:
    """Store the deadlines of ``blocked`` not passed at ``now``, and only those."""
    conn.execute("DELETE FROM host_blocks")
    conn.executemany(
        "INSERT INTO host_blocks (origin, until) VALUES (?, ?)",
        [(origin, iso(until)) for origin, until in blocked.items() if until > now],
    )


@dataclass(frozen=True)
class FetchLog:
    source: str
    started_at: datetime
    url: str | None
    outcome: str
    http_status: int | None = None
    bytes: int = 0
    duration_ms: int = 0
    requests: int = 1
    new_items: int = 0
    seen_items: int = 0
    error: str | None = None


def write_fetch(conn: sqlite3.Connection, log: FetchLog) -> None:
    d = _row(log)
    d["started_at"] = iso(log.started_at)
    cols = list(d)
    conn.execute(
        f"INSERT INTO fetches ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [d[c] for c in cols],
    )


@dataclass(frozen=True)
class EntryRecord:
    """A file or page a source has handled: ``stored``, ``rejected`` (not an article /
    unparseable), ``missing`` (a mirror page that answered 404: retried for a while, see
    ``pipeline.MISSING_GRACE``) or ``gone`` (410, or missing for longer: not retried).

    ``parser_version``: the :data:`~monitor.parsers.PARSER_VERSION` that read it (0: a
    monitor from before versions were recorded; None: no parser read it)."""

    location: str
    status: str
    item_id: int | None = None
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None
    reason: str | None = None
    parser_version: int | None = None
    first_seen: datetime | None = None  # read from the store; written as the poll's time

    def rejected_before(self, version: int) -> bool:
        """Rejected by the parsers of a version older than ``version``, which may read it:
        to be read again once. Pages that answered 404 or 410 are no rejection."""
        return self.status == "rejected" and (self.parser_version or 0) < version


def load_entries(conn: sqlite3.Connection, source: str) -> dict[str, EntryRecord]:
    names = [f.name for f in fields(EntryRecord)]
    rows = conn.execute(
        f"SELECT {', '.join(names)} FROM source_entries WHERE source = ?", (source,)
    )
    return {r[0]: EntryRecord(*r[:-1], _parse_time(r[-1])) for r in rows}


def rejected_before(conn: sqlite3.Connection, source: str, version: int) -> list[str]:
    """The entries of ``source`` that :meth:`EntryRecord.rejected_before` ``version``."""
    rows = conn.execute(
        "SELECT location FROM source_entries WHERE source = ? AND status = 'rejected' "
        "AND coalesce(parser_version, 0) < ?",
        (source, version),
    )
    return [r[0] for r in rows]


def write_entries(
    conn: sqlite3.Connection, source: str, entries: list[EntryRecord], *, now: datetime
) -> None:
    ts = iso(now)
    conn.executemany(
        """INSERT INTO source_entries (source, location, status, item_id, size, mtime_ns,
               sha256, reason, parser_version, first_seen, last_seen)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(source, location) DO UPDATE SET status = excluded.status,
               item_id = coalesce(excluded.item_id, item_id), size = excluded.size,
               mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,
               reason = excluded.reason, parser_version = excluded.parser_version,
               last_seen = excluded.last_seen""",
        [
            (
                source,
                e.location,
                e.status,
                e.item_id,
                e.size,
                e.mtime_ns,
                e.sha256,
                e.reason,
                e.parser_version,
                ts,
                ts,
            )
            for e in entries
        ],
    )


def source_rows(db: sqlite_utils.Database) -> list[dict]:
    """Every stored source's state with its item count and last fetch, for ``monitor sources``."""
    return list(
        db.query(
            """SELECT s.*,
                  (SELECT count(DISTINCT item_id) FROM sightings WHERE source = s.name) AS items
               FROM sources s ORDER BY s.name"""
        )
    )
