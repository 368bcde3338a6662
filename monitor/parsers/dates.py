"""Date reading shared by the parsers: every format ends in the same UTC ISO 8601 form.

Precision is kept as the source gives it: a bare date stays ``2021-12-31``; anything with a
time of day becomes ``2021-12-08T01:56:33Z``.

A time without a zone (hexo's ``2022-03-29 00:43:13``, a ``日期：`` line with a time) comes
from a bridge whose clock zone is unknown. It is read as UTC: an honest guess that keeps
every stored value in one zone, and at worst a few hours off, which story matching
tolerates. Unreadable values (``Invalid Date``) give ``None``, never "now".
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

_DATE_ONLY = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")


def iso_utc(dt: datetime) -> str:
    """``2021-12-08T01:56:33Z``; a naive value is taken to be UTC (see module docstring)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_date(year: int, month: int, day: int) -> str | None:
    """``2021-12-31``, or ``None`` when the parts are not a real calendar date."""
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def from_epoch_ms(ms: int) -> str:
    return iso_utc(datetime.fromtimestamp(ms / 1000, UTC))


def parse_when(value: object) -> str | None:
    """RFC 822, ISO 8601 (``T`` or space, optional zone) or a bare date; else ``None``."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    s = value.strip()
    if not s:
        return None
    m = _DATE_ONLY.match(s)
    if m:
        return iso_date(*map(int, m.groups()))
    iso = re.sub(r"(?<=\d)\s*([+-])(\d{2}):?(\d{2})$", r"\1\2:\3", s)
    iso = re.sub(r"\s*(?:Z|UTC|GMT)$", "+00:00", iso)
    try:
        return iso_utc(datetime.fromisoformat(iso))
    except ValueError:
        pass
    try:
        return iso_utc(parsedate_to_datetime(s))
    except (TypeError, ValueError, IndexError):
        return None
