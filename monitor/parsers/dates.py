"""Date reading shared by the parsers: every format ends in the same UTC ISO 8601 form.

Precision is kept as the source gives it: a bare date stays ``2021-12-31``; anything with a
time of day becomes ``2021-12-08T01:56:33Z``.

A time without a zone (hexo's ``2022-03-29 00:43:13``, a ``日期：`` line with a time) comes
from a bridge whose clock zone the document does not say. It is read in the source's
``timezone`` when the config gives one (:func:`source_zone`), else as UTC: an honest guess
that keeps every stored value in one zone, and at worst a few hours off, which story
matching tolerates. Unreadable values (``Invalid Date``) give ``None``, never "now".

Chinese sites write year-first dates with other separators (``2022/1/3 12:00``,
``2022.01.03``, ``2022年01月03日``); they are read like ISO 8601, and so is their time of
day written the Chinese way (``15时30分``, ``下午3点``) or with the half of the day
(JavaScript's zh-CN ``2022/1/3 下午3:20:00``, ``03:20 PM``), with the day of the week
after the date or not (``2022年1月3日 星期一 15:30``). ISO 8601's basic ``20211208``
is a date, not its midnight. Feeds read dates through
feedparser, whose ISO 8601 and W3DTF readers guess what they cannot read (``2022/01/03``
became the 1st of the current month, ``2022-02-30`` the 2nd of March): :func:`feed_date`
takes their place, so a feed's date is read as every other format's. A year or a month
alone (W3DTF's ``2022``, ``2022-01``) is its first day, as feedparser read it.

Zone names are read as Chinese-language sites mean them: ``CST`` is China Standard Time
(+08:00; a Java server in China prints ``Mon Jan 03 10:00:00 CST 2022``), not RFC 822's
US Central. The other US names keep their RFC 822 offsets; Europe's, Asia's and
Australia's common names (``CET``, ``BST``, ``MSK``, ``BJT``, ``JST``, ``AEST``) are read too,
and a name also counts after an ISO 8601 time (``2022-01-03 10:00:00 EST``). A name that
means several zones (``IST``) or none known here is UTC, as feedparser reads it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

# The day of the week a date may be followed by (``2022年1月3日 星期一``, ``2022-01-03
# (周一)``, ``2022-01-03 Mon``): read past, not checked against the date, as RFC 822's
# reader does not check its own.
_WEEKDAY = (
    r"(?:(?:星期|礼拜|禮拜|周|週)[一二三四五六日天]"
    r"|(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs?)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?(?![A-Za-z]))"
)
_YEAR_FIRST_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?"
    rf"(?:\s*(?:[,，]\s*)?(?:[(（]\s*{_WEEKDAY}\s*[)）]|{_WEEKDAY}))?[\sT]*"
)
_ONE_DIGIT_HOUR = re.compile(r"^(\d)(?=:)")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d\d)(\d\d)$")
# The half of the day, before the time (JavaScript's zh-CN toLocaleString: "下午3:20:00",
# Java's "a hh:mm": "下午 03:20") or after it ("03:20 PM"); and the hour of "15时30分".
_HALF_BEFORE = re.compile(r"^(上午|早上|早晨|凌晨|中午|下午|晚上|AM|PM)\s*", re.I)
_HALF_AFTER = re.compile(r"(?<=\d)\s*([AP])\.?M\.?(?![A-Za-z])", re.I)
_AFTERNOON = frozenset({"下午", "晚上", "PM", "P"})
_NIGHT_ENDS = 5  # 晚上 below this hour is after midnight; 晚上5点 is five in the evening
_CHINESE_CLOCK = re.compile(r"^(\d{1,2})\s*[点點时時]\s*(?:(\d{1,2})\s*分\s*(?:(\d{1,2})\s*秒)?)?")
_HOUR = re.compile(r"^(\d{1,2})(?=:)")
# China's time named in words before or after the date (北京时间2022年1月3日 10:20,
# 2022-01-03 10:20（北京时间）): +08:00, as Beijing, Hong Kong, Taipei and Macau keep it.
_CHINA_TIME = re.compile(
    r"^[(（]?(?:北京|香港|台北|臺北|澳门|澳門)(?:时间|時間)[)）]?\s*"
    r"|\s*[(（]?(?:北京|香港|台北|臺北|澳门|澳門)(?:时间|時間)[)）]?$"
)
_TIME_OF_DAY = re.compile(r"\d\s*[:点點时時]")
# A zone after a time of day: +0800, +08:00, +8, GMT+8, UTC+08:00. The spaces before a
# zone are read from the run's first one, and once: a pattern that let two "\s*" share a
# run, or tried each space of it as a start, took minutes on a value padded with spaces.
_OFFSET = re.compile(r"(:\d\d(?:[.,]\d+)?)\s*(?:(?:GMT|UTC)\s*)?([+-])(\d{1,2}):?(\d{2})?$")
_UTC = re.compile(r"(?<!\s)\s*(?:Z|UTC|GMT)$", re.I)
_STARTS_WITH_YEAR = re.compile(r"\s*\d{4}")
# An offset after an RFC 822 or Date.toString() time, written as email.utils cannot read it:
# after GMT/UTC (``GMT+8``, ``UTC+08:00``, JavaScript's ``GMT+0800 (中国标准时间)``) or
# with a one- or two-digit hour (``+8``). email.utils reads those as no zone, or ``+8`` as
# eight minutes; feedparser reads ``UTC+8`` as UTC. Made ``+0800`` for email.utils.
# (Possessive: each run of spaces is read once, as for _ZONE_NAME.)
_LOOSE_OFFSET = re.compile(
    r"(?<=:\d\d)\s*+(?:(?:GMT|UTC)\s*+)?([+-])(\d{1,2}):?(\d\d)?"
    r"(?=(?:\s++\d{4})?+\s*+(?:\([^()]*+\)\s*+)?$)"
)
# Such offsets, which feed_date reads in feedparser's place (``+0800`` it reads right).
_MISREAD_OFFSET = re.compile(r"(?:GMT|UTC)\s*[+-]\d|:\d\d\s*[+-]\d\d?(?![\d:])")
_YEAR_OR_MONTH = re.compile(r"\s*(\d{4})(?:-(\d\d))?\s*$")
# Names that mean one zone wherever they are written; ambiguous ones (IST, AST) stay out.
_ZONE_OFFSETS = {
    "CST": "+0800",
    "BJT": "+0800",
    "HKT": "+0800",
    "SGT": "+0800",
    "MYT": "+0800",
    "PHT": "+0800",
    "AWST": "+0800",
    "ICT": "+0700",
    "JST": "+0900",
    "KST": "+0900",
    "AEST": "+1000",
    "AEDT": "+1100",
    "NZST": "+1200",
    "NZDT": "+1300",
    "WET": "+0000",
    "WEST": "+0100",
    "BST": "+0100",
    "CET": "+0100",
    "CEST": "+0200",
    "EET": "+0200",
    "EEST": "+0300",
    "MSK": "+0300",
    "HST": "-1000",
    "AKST": "-0900",
    "AKDT": "-0800",
    "EST": "-0500",
    "EDT": "-0400",
    "CDT": "-0500",
    "MST": "-0700",
    "MDT": "-0600",
    "PST": "-0800",
    "PDT": "-0700",
}
# A zone name after a time of day (RFC 822, ISO 8601 with a space, Java's Date.toString),
# or after its half of the day (10:00 PM CST): the name at the end, then what comes before
# it (:func:`_zone_name`). Lookbehinds for the latter tried at every character cost 2 µs a
# feed date, most of which name no zone. (Its lookbehind is tried after a space only.)
# The name is any capitals, looked up in _ZONE_OFFSETS after: an alternation of every name
# cost each date a little more for each name added.
_ZONE_NAME = re.compile(r"\s(?<!\s\s)\s*(?!GMT|UTC)([A-Z]{3,4})(?=\s+\d{4}\s*$|\s*$)")
_BEFORE_ZONE = re.compile(r"(?:\d|[AaPp]\.?[Mm]\.?)$")
# The half of the day's mark, looked for before the 12-hour time pattern (most dates have
# none).
_HALF_MARK = re.compile(r"[AaPp]\.?[Mm]")
# A zone after an RFC 822 time that email.utils returns no zone for: ``-0000``, which
# RFC 5322 defines as UTC (email.utils.formatdate writes it), or a name it does not know
# (CET), which feedparser reads as UTC. Neither is a time without a zone.
_WRITTEN_ZONE = re.compile(r":\d\d\s+(?:-0000|[A-Za-z]+)(?:\s+\d{4})?\s*$")
# A 12-hour time elsewhere than after a year-first date (Wed, 08 Dec 2021 9:29:42 PM GMT),
# whose half of the day email.utils and feedparser take for an unknown zone and drop.
_TWELVE_HOUR = re.compile(r"(?<![\d:])(\d{1,2})(:\d\d(?::\d\d)?)\s*([AP])\.?M\.?(?![A-Za-z])", re.I)


# The zone of the source being parsed, for its zone-less times. A context variable because
# feedparser calls feed_date through its global handler list, with the value alone.
_SOURCE_ZONE: ContextVar[tzinfo | None] = ContextVar("source_zone", default=None)


@contextmanager
def source_zone(name: str | None) -> Iterator[None]:
    """Read zone-less times in the time zone ``name`` (``Asia/Shanghai``) meanwhile;
    ``None``: as UTC."""
    token = _SOURCE_ZONE.set(ZoneInfo(name) if name else None)
    try:
        yield
    finally:
        _SOURCE_ZONE.reset(token)


def _placed(dt: datetime) -> datetime:
    """A zone-less time in the source's zone; one with a zone as it is."""
    zone = _SOURCE_ZONE.get()
    return dt.replace(tzinfo=zone) if zone is not None and dt.tzinfo is None else dt


def iso_utc(dt: datetime) -> str:
    """``2021-12-08T01:56:33Z``; a naive value is taken to be UTC (see module docstring)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return f"{dt.year:04d}-{dt:%m-%dT%H:%M:%S}Z"  # %Y does not pad years before 1000


def iso_date(year: int, month: int, day: int) -> str | None:
    """``2021-12-31``, or ``None`` when the parts are not a real calendar date."""
    found = _calendar_date(year, month, day)
    return found.isoformat() if found else None


def from_epoch_ms(ms: int) -> str:
    return iso_utc(datetime.fromtimestamp(ms / 1000, UTC))


def parse_when(value: object) -> str | None:
    """RFC 822, ISO 8601 (``T`` or space, optional zone), a year-first date with ``/``, ``.``
    or 年月日 and an optional time, or a bare date; else ``None``."""
    when = _read(value)
    if isinstance(when, datetime):
        try:
            return iso_utc(_placed(when))
        except OverflowError:  # 9999-12-31T23:00-05:00 is past the last UTC datetime
            return None
    return when.isoformat() if when else None


def feed_date(value: str) -> time.struct_time | None:
    """feedparser's date handler for values starting with a year or naming a zone (see module
    docstring): UTC, midnight for a bare date, ``None`` rather than a guess."""
    named = (
        _zone_name(value)
        or (_HALF_MARK.search(value) and _TWELVE_HOUR.search(value))  # feedparser drops PM
        or _MISREAD_OFFSET.search(value)
    )
    if not named and not _STARTS_WITH_YEAR.match(value):
        if _SOURCE_ZONE.get() is not None:  # before feedparser's, which take them as UTC
            return zone_less_date(value)
        return None  # RFC 822 and the rest: feedparser's own readers
    if m := _YEAR_OR_MONTH.match(value):
        first = _calendar_date(int(m[1]), int(m[2] or 1), 1)
        return datetime(first.year, first.month, 1).utctimetuple() if first else None
    try:  # RFC 3339, as Atom feeds write it: one call (most of a feed's dates)
        when = datetime.fromisoformat(value)
        return (when if len(value) <= 10 else _placed(when)).utctimetuple()  # a date: midnight UTC
    except ValueError:
        pass
    return _utc_tuple(_read(value))


def zone_less_date(value: str) -> time.struct_time | None:
    """An RFC 822 time without a zone, in the source's zone; feedparser's own reader
    leaves ``Mon, 03 Jan 2022 10:00:00`` empty."""
    when = _read(value)
    if isinstance(when, datetime) and when.tzinfo is None:
        return _utc_tuple(when)
    return None


def _utc_tuple(when: datetime | date | None) -> time.struct_time | None:
    """feedparser's form of a time (in the source's zone when it gives none), or of a date's
    midnight."""
    if when is None:
        return None
    if not isinstance(when, datetime):
        return datetime(when.year, when.month, when.day).utctimetuple()
    return _placed(when).utctimetuple()


def _zone_name(value: str) -> re.Match[str] | None:
    """The zone name after the time of day (see :data:`_ZONE_NAME`), or None."""
    for m in _ZONE_NAME.finditer(value):
        if m[1] in _ZONE_OFFSETS and _BEFORE_ZONE.search(value, 0, m.start()):
            return m
    return None


def _read(value: object) -> datetime | date | None:
    """A datetime (naive when the source gave no zone), a date, or None."""
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not (s := value.strip()):
        return None
    if "时间" in s or "時間" in s:
        s = _china_time(s)
    if zone := _zone_name(s):
        s = f"{s[: zone.start()]} {_ZONE_OFFSETS[zone[1]]}{s[zone.end() :]}"
    if m := _YEAR_FIRST_DATE.match(s):
        year, month, day = map(int, m.groups())
        if m.end() == len(s):
            return _calendar_date(year, month, day)
        time_of_day, next_day = _clock(s[m.end() :])
        time_of_day = _ONE_DIGIT_HOUR.sub(r"0\1", time_of_day)
        s = f"{year:04d}-{month:02d}-{day:02d}T{time_of_day}"
        if next_day:
            return _next_day(_read(s))
    elif m := _COMPACT_DATE.match(s):  # ISO 8601's basic form; fromisoformat adds midnight
        return _calendar_date(*map(int, m.groups()))
    else:
        s = _TWELVE_HOUR.sub(_twenty_four_hour, s)
    iso = _OFFSET.sub(lambda m: f"{m[1]}{m[2]}{int(m[3]):02d}:{m[4] or '00'}", s)
    iso = _UTC.sub("+00:00", iso)
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(_LOOSE_OFFSET.sub(_rfc_offset, s))
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None and _WRITTEN_ZONE.search(s):
        return when.replace(tzinfo=UTC)  # -0000, or a name email.utils does not know
    return when


def _china_time(s: str) -> str:
    """``s`` without its 北京时间, and with +0800 after its time of day if it has one."""
    without = _CHINA_TIME.sub("", s)
    if without == s or not _TIME_OF_DAY.search(without):
        return without
    return f"{without} +0800"


def _clock(time_of_day: str) -> tuple[str, bool]:
    """A time of day written the Chinese way, or with a half of the day, as ``HH:MM[:SS]``
    and the rest (a zone) as it was, other text unchanged; and whether it is on the next
    day: ``晚上12点`` is the midnight that ends the day written, ``晚上1点`` an hour later."""
    half = None
    if m := _HALF_BEFORE.match(time_of_day):
        half, time_of_day = m[1].upper(), time_of_day[m.end() :]
    if m := _CHINESE_CLOCK.match(time_of_day):
        hms = f"{int(m[1]):02d}:{int(m[2] or 0):02d}" + (f":{int(m[3]):02d}" if m[3] else "")
        time_of_day = hms + time_of_day[m.end() :]
    if half is None and (m := _HALF_AFTER.search(time_of_day)):
        half, time_of_day = m[1].upper(), time_of_day[: m.start()] + time_of_day[m.end() :]
    if half is None or not (m := _HOUR.match(time_of_day)):
        return time_of_day, False
    hour = int(m[1])
    if half == "中午":  # noon: 中午12点, and 中午1点 is one in the afternoon
        hour += 12 if hour < 11 else 0
    elif half == "晚上" and (hour == 12 or hour < _NIGHT_ENDS):
        # The night's 12 is the midnight that ends the day, and its 1 to 4 come after it:
        # 晚上1点 is said of the small hours (the afternoon's 1 is 下午1点).
        return f"{hour % 12:02d}" + time_of_day[m.end() :], True
    elif half in _AFTERNOON:
        hour += 12 if hour < 12 else 0
    elif hour == 12:  # 12 AM, 凌晨12点
        hour = 0
    return f"{hour:02d}" + time_of_day[m.end() :], False


def _rfc_offset(m: re.Match[str]) -> str:
    return f" {m[1]}{int(m[2]):02d}{m[3] or '00'}"


def _twenty_four_hour(m: re.Match[str]) -> str:
    hour = int(m[1]) % 12 + (12 if m[3].upper() == "P" else 0)
    return f"{hour:02d}{m[2]}"


def _next_day(when: datetime | date | None) -> datetime | None:
    try:
        return when + timedelta(days=1) if isinstance(when, datetime) else None
    except OverflowError:  # 9999-12-31 晚上12点
        return None


def _calendar_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
