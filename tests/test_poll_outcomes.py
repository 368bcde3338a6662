"""The polling pipeline end to end against mocked HTTP (respx): every fetch outcome, its
effect on the store, on the fetch log and on the source's state; mirror and dir sources.

No clock is read: every poll gets a fixed ``now`` and the Poller's jitter is pinned
(``rand=0.5`` means no jitter), so next checks are exact.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
import respx
from localhttp import LocalServer

import monitor.ingest as ingest
import monitor.parsers as parsers
import monitor.pipeline as pipeline
from monitor import health
from monitor.canonical import assign_keys
from monitor.config import Config, parse_config
from monitor.decide import SourceState
from monitor.models import Item, ParseError
from monitor.parsers import detect, parse
from monitor.pipeline import (
    MISSING_GRACE,
    Poller,
    PollReport,
    due_sources,
    next_due,
    poll_once,
)
from monitor.state import load_entries, load_states
from monitor.store import Sighting, open_db, save_items

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "parsers"

FEED = "https://news.example.com/rss.xml"
FEED2 = "https://news.example.com/world.xml"  # same host as FEED
OTHER = "https://other.example.org/feed.xml"  # another host

RSS = """<?xml version="1.0"{decl}?>
<rss version="2.0"><channel>
<title>示例新闻网 要闻</title>
<link>https://news.example.com/</link>
<item>
<title>国务院常务会议研究部署进一步稳定经济增长的政策措施</title>
<link>https://news.example.com/2024/05/01/c_1.htm</link>
<description>会议指出，要坚持稳中求进工作总基调，加大宏观政策实施力度。</description>
<pubDate>Wed, 01 May 2024 08:00:00 GMT</pubDate>
</item>
<item>
<title>香港特区政府宣布由下月起放宽入境检疫措施</title>
<link>https://news.example.com/2024/05/01/c_2.htm</link>
<description>特区政府表示，将根据疫情发展适时调整防疫措施。</description>
</item>
</channel></rss>
"""
TITLES = [
    "国务院常务会议研究部署进一步稳定经济增长的政策措施",
    "香港特区政府宣布由下月起放宽入境检疫措施",
]
# The same feed as a Taiwan / Hong Kong site would publish it (Big5 has no simplified forms).
RSS_TRAD = (
    RSS.replace("示例新闻网 要闻", "示例新聞網 要聞")
    .replace(TITLES[0], "國務院常務會議研究部署進一步穩定經濟增長的政策措施")
    .replace(TITLES[1], "香港特區政府宣布由下月起放寬入境檢疫措施")
    .replace(
        "会议指出，要坚持稳中求进工作总基调，加大宏观政策实施力度。", "會議指出，要堅持穩中求進。"
    )
    .replace("特区政府表示，将根据疫情发展适时调整防疫措施。", "特區政府表示，將適時調整防疫措施。")
)
TITLES_TRAD = [
    "國務院常務會議研究部署進一步穩定經濟增長的政策措施",
    "香港特區政府宣布由下月起放寬入境檢疫措施",
]

# A stored story from elsewhere, so "unchanged" compares real content, not an empty table.
SEEDED = Item(
    title="既有报道：拜登与普京再度通话",
    format="rss",
    url="https://seed.example.com/2024/04/30/a.html",
    site="种子网",
    text="这是一条在本次轮询之前就已存储的报道。",
)


# --------------------------------------------------------------------------- helpers


def make_config(tmp_path: Path, *sources: dict, **settings) -> Config:
    return parse_config({"monitor": settings, "source": list(sources)}, base=tmp_path)


def feed(name: str = "news", url: str = FEED, **kw) -> dict:
    return {"name": name, "kind": "feed", "url": url, "interval": "30m", **kw}


def poll(db, config: Config, *names: str, now: datetime = NOW, blocked=None) -> list[PollReport]:
    """One batch through a fresh Poller, jitter pinned; ``names`` default to every source."""
    sources = [config.source(n) for n in names] if names else list(config.sources)

    async def go():
        poller = Poller(db, config, rand=lambda: 0.5, blocked=blocked)
        try:
            return await poller.poll(sources, now=now)
        finally:
            await poller.aclose()

    return asyncio.run(go())


def one(reports: list[PollReport], name: str | None = None) -> PollReport:
    found = [r for r in reports if name is None or r.source == name]
    assert len(found) == 1, reports
    return found[0]


def fetches(db, source: str) -> list[dict]:
    return list(db.query("SELECT * FROM fetches WHERE source = ? ORDER BY id", [source]))


def state(db, name: str) -> SourceState:
    return load_states(db)[name]


def fingerprint(db) -> tuple:
    """Row counts of the story tables and a hash of every items and sightings row."""
    conn = db.conn
    counts = tuple(
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("items", "sightings", "item_urls")
    )
    h = hashlib.sha256()
    for table in ("items", "sightings"):
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        h.update(json.dumps(rows, ensure_ascii=False).encode())
    return counts, h.hexdigest()


def titles(db, source: str) -> list[str]:
    return [
        r["title"]
        for r in db.query(
            "SELECT DISTINCT i.title FROM items i JOIN sightings s ON s.item_id = i.id "
            "WHERE s.source = ? ORDER BY i.id",
            [source],
        )
    ]


def epoch_page(n: int, title: str, body: str) -> str:
    """A 大纪元 mirror page (markdown shell around HTML), as mirrors serve them."""
    return (
        f"### {title}\n\n---\n\n"
        f"#### [首页](../../../..?n{n}) &nbsp;|&nbsp; "
        f"[评论](../../../../../epoch-comment?n{n})\n\n\n"
        '<div class="post_content" id="artbody" itemprop="articleBody">\n'
        f" <p>\n  {body}\n </p>\n</div>\n\n\n---\n\n"
        f"原文链接（需翻墙）：https://www.epochtimes.com/gb/22/1/5/n{n}.htm\n"
    )


@pytest.fixture
def db(tmp_path):
    return open_db(tmp_path / "m.db")


@pytest.fixture
def seeded(db):
    """The store with one story in it already (from another source)."""
    item = assign_keys(replace(SEEDED), parse_config({}).rules)
    save_items(db, [(item, Sighting("seed", "https://seed.example.com/rss"))], now=NOW - HOUR)
    return db


@pytest.fixture
def http():
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def parse_calls(monkeypatch):
    """Counts calls of the parser the pipeline uses (document URL or None per call)."""
    calls: list[str | None] = []
    real = ingest.parse

    def counting(data, *, url=None, site=None, zone=None):
        calls.append(url)
        return real(data, url=url, site=site, zone=zone)

    monkeypatch.setattr(ingest, "parse", counting)
    return calls


class OlderParser:
    """The parsers as monitor had them before they learned the markdown format, at
    ``PARSER_VERSION``; :meth:`upgrade` makes them today's, one version up. ``calls``: the
    documents parsed (URL, or None for a file), either way."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.calls: list[str | None] = []
        self.upgraded = False
        monkeypatch.setattr(ingest, "parse", self.parse)

    def parse(self, data, *, url=None, site=None, zone=None):
        self.calls.append(url)
        if not self.upgraded and detect(data) == "markdown":
            raise ParseError("unrecognised document format (starts with '# 拜登与普京通话')")
        return parse(data, url=url, site=site, zone=zone)

    def upgrade(self) -> None:
        self.upgraded = True
        self.monkeypatch.setattr(parsers, "PARSER_VERSION", parsers.PARSER_VERSION + 1)
        self.calls.clear()


@pytest.fixture
def older_parser(monkeypatch) -> OlderParser:
    return OlderParser(monkeypatch)


# --------------------------------------------------------------------------- 200 and 304


def test_200_stores_items_and_saves_validators(tmp_path, seeded, http):
    db = seeded
    config = make_config(tmp_path, feed())
    route = http.get(FEED).respond(
        200,
        content=RSS.format(decl=' encoding="utf-8"').encode(),
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 May 2024 10:00:00 GMT"},
    )

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.status, report.new, report.seen) == (
        "ok",
        True,
        200,
        2,
        0,
    )
    assert route.call_count == 1
    assert titles(db, "news") == TITLES
    sightings = list(db.query("SELECT * FROM sightings WHERE source = 'news'"))
    assert [s["location"] for s in sightings] == [FEED, FEED]
    assert db.conn.execute("SELECT count(*) FROM items").fetchone()[0] == 3  # + the seeded one
    s = state(db, "news")
    assert (s.etag, s.last_modified) == ('"v1"', "Wed, 01 May 2024 10:00:00 GMT")
    assert (s.consecutive_errors, s.last_error, s.last_outcome, s.last_status) == (
        0,
        None,
        "ok",
        200,
    )
    assert (s.last_success, s.next_check, s.url, s.config_url) == (
        NOW,
        NOW + 0.5 * HOUR,
        FEED,
        FEED,
    )
    (row,) = fetches(db, "news")
    assert (row["outcome"], row["http_status"], row["new_items"], row["seen_items"]) == (
        "ok",
        200,
        2,
        0,
    )
    assert (row["url"], row["requests"], row["error"]) == (FEED, 1, None)
    assert row["bytes"] == len(RSS.format(decl=' encoding="utf-8"').encode())


def test_304_parses_nothing_stores_nothing_and_keeps_the_etag(tmp_path, db, http, parse_calls):
    config = make_config(tmp_path, feed())
    body = RSS.format(decl="").encode()

    def respond(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return httpx.Response(200, content=body, headers={"ETag": '"v1"'})

    route = http.get(FEED).mock(side_effect=respond)
    poll(db, config)
    assert len(parse_calls) == 1
    before = fingerprint(db)

    report = one(poll(db, config, now=NOW + HOUR))

    assert (report.outcome, report.ok, report.status, report.new, report.seen) == (
        "not_modified",
        True,
        304,
        0,
        0,
    )
    assert route.calls.last.request.headers["If-None-Match"] == '"v1"'
    assert len(parse_calls) == 1  # nothing parsed
    assert fingerprint(db) == before  # nothing stored, not even a last_seen
    s = state(db, "news")
    assert (s.etag, s.consecutive_errors, s.last_error, s.last_outcome) == (
        '"v1"',
        0,
        None,
        "not_modified",
    )
    assert (s.last_success, s.next_check) == (NOW + HOUR, NOW + 1.5 * HOUR)
    last = fetches(db, "news")[-1]
    assert (last["outcome"], last["http_status"], last["new_items"], last["seen_items"]) == (
        "not_modified",
        304,
        0,
        0,
    )
    assert (last["bytes"], last["error"]) == (0, None)


def test_a_second_200_sees_the_same_stories_again(tmp_path, db, http):
    config = make_config(tmp_path, feed())
    http.get(FEED).respond(200, content=RSS.format(decl="").encode())
    poll(db, config)
    report = one(poll(db, config, now=NOW + HOUR))
    assert (report.new, report.seen) == (0, 2)
    assert db.conn.execute("SELECT count(*) FROM items").fetchone()[0] == 2
    times = [r[0] for r in db.conn.execute("SELECT times_seen FROM sightings")]
    assert times == [2, 2]


# --------------------------------------------------------------------------- failures


def _status(status: int, headers: dict | None = None):
    return lambda mock: mock.get(FEED).respond(status, headers=headers or {})


def _raise(exc: type[Exception], message: str):
    def setup(mock):
        mock.get(FEED).mock(side_effect=exc(message))

    return setup


def _body(content: bytes, headers: dict | None = None):
    return lambda mock: mock.get(FEED).respond(200, content=content, headers=headers or {})


def _loop(mock):
    a, b = FEED, "https://news.example.com/rss2.xml"
    mock.get(a).respond(302, headers={"Location": b})
    mock.get(b).respond(302, headers={"Location": a})


# outcome, http_status, error (substring of the fetch row's error), next_check after NOW
FAILURES = {
    "404": (_status(404), "not_found", 404, "HTTP 404 Not Found", HOUR),
    "500": (_status(500), "server_error", 500, "HTTP 500 Internal Server Error", HOUR),
    "429": (
        _status(429, {"Retry-After": "7200"}),
        "rate_limited",
        429,
        "HTTP 429 Too Many Requests",
        2 * HOUR,
    ),
    "503": (
        _status(503, {"Retry-After": "7200"}),
        "unavailable",
        503,
        "HTTP 503 Service Unavailable",
        2 * HOUR,
    ),
    "timeout": (_raise(httpx.ReadTimeout, "timed out"), "timeout", None, "read timeout", HOUR),
    "refused": (
        _raise(httpx.ConnectError, "[Errno 111] Connection refused"),
        "connect_error",
        None,
        "connection failed: [Errno 111] Connection refused",
        HOUR,
    ),
    "oversize": (
        _body(RSS.format(decl="").encode() * 4),
        "too_large",
        200,
        "body larger than 1 KB",
        HOUR,
    ),
    "malformed": (
        _body(
            b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            b"<title>\xe5\x9d\x8f</title><item><title",
            {"ETag": '"broken"'},
        ),
        "parse_error",
        200,
        "unreadable feed",
        HOUR,
    ),
    "empty": (_body(b" \n\t\n", {"ETag": '"empty"'}), "empty", 200, "empty body", HOUR),
    "redirect_loop": (_loop, "redirect_loop", None, "redirect loop", HOUR),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_failure_changes_nothing_but_the_log_and_the_state(case, tmp_path, seeded, http, caplog):
    setup, outcome, status, error, wait = FAILURES[case]
    db = seeded
    config = make_config(tmp_path, feed(), max_bytes=1024)
    setup(http)
    before = fingerprint(db)

    with caplog.at_level(logging.WARNING, logger="monitor"):
        report = one(poll(db, config))

    # A failing source is logged as a warning, so --log-level warning still shows it.
    assert [r.getMessage().split()[:2] for r in caplog.records] == [
        ["source=news", f"outcome={outcome}"]
    ]

    assert fingerprint(db) == before
    assert (report.outcome, report.ok, report.status, report.new) == (outcome, False, status, 0)
    (row,) = fetches(db, "news")
    assert (row["outcome"], row["http_status"], row["new_items"], row["seen_items"]) == (
        outcome,
        status,
        0,
        0,
    )
    assert error in row["error"], row["error"]
    s = state(db, "news")
    assert (s.consecutive_errors, s.last_outcome, s.last_status) == (1, outcome, status)
    assert error in s.last_error
    assert s.last_success is None and s.retired_at is None
    assert s.next_check == NOW + wait
    assert s.etag is None  # a failed poll never stores validators
    assert [x.name for x in due_sources(config, load_states(db), NOW + wait)] == ["news"]
    assert due_sources(config, load_states(db), NOW + wait - timedelta(seconds=1)) == []


def test_a_proxy_that_cannot_be_reached_is_named_without_its_password(tmp_path, db):
    """With a proxy, "connection failed" may be the proxy's or the site's: the error says
    which proxy the fetch went through, without the credentials in its address."""
    proxy = "http://reader:s3cret@127.0.0.1:1"  # nothing listens on port 1
    config = make_config(tmp_path, feed(proxy=proxy))

    report = one(poll(db, config))

    assert (report.outcome, report.ok) == ("connect_error", False)
    assert report.error.endswith(" (via proxy http://127.0.0.1:1)")
    assert "s3cret" not in report.error and "s3cret" not in fetches(db, "news")[0]["error"]


def test_timeout_error_names_the_configured_timeout(tmp_path, db, http):
    config = make_config(tmp_path, feed(), timeout=7)
    http.get(FEED).mock(side_effect=httpx.ReadTimeout)
    one(poll(db, config))
    assert fetches(db, "news")[0]["error"] == "read timeout after 7s"


def test_oversize_is_refused_by_its_declared_length_or_stopped_while_streaming(tmp_path, db, http):
    config = make_config(tmp_path, feed(), max_bytes=1024)

    async def chunks():
        for _ in range(10):
            yield b"<rss>" + b" " * 500

    route = http.get(FEED)
    route.side_effect = [
        httpx.Response(200, content=b"<rss>" + b" " * 5000 + b"</rss>"),  # Content-Length
        httpx.Response(200, content=chunks()),  # chunked: no length to go by
    ]
    one(poll(db, config))
    one(poll(db, config, now=NOW + 2 * HOUR))
    declared, streamed = fetches(db, "news")
    assert (declared["outcome"], declared["http_status"], declared["bytes"]) == (
        "too_large",
        200,
        0,
    )
    assert (streamed["outcome"], streamed["http_status"]) == ("too_large", 200)
    assert 1024 < streamed["bytes"] < 5050  # gave up without reading it all
    assert db.conn.execute("SELECT count(*) FROM items").fetchone()[0] == 0


def test_410_retires_the_source(tmp_path, seeded, http):
    db = seeded
    config = make_config(tmp_path, feed(), feed("other", OTHER))
    http.get(FEED).respond(410)
    http.get(OTHER).respond(200, content=RSS.format(decl="").encode())
    before = fingerprint(db)

    report = one(poll(db, config, "news"))

    assert fingerprint(db) == before
    assert (report.outcome, report.ok, report.status, report.next_check) == (
        "gone",
        False,
        410,
        None,
    )
    (row,) = fetches(db, "news")
    assert (row["outcome"], row["http_status"], row["error"]) == ("gone", 410, "HTTP 410 Gone")
    # What `monitor sources` shows comes from these fields.
    s = load_states(db)["news"]
    assert (s.retired_at, s.next_check, s.consecutive_errors) == (NOW, None, 1)
    assert (s.last_outcome, s.last_error) == ("gone", "HTTP 410 Gone")
    # Never due again by itself; the other (never polled) source still is.
    for later in (NOW, NOW + HOUR, NOW + timedelta(days=365)):
        assert [x.name for x in due_sources(config, load_states(db), later)] == ["other"]

    # Polled by name (`monitor poll --source news`) and back: the source is revived.
    http.get(FEED).respond(200, content=RSS.format(decl="").encode())
    assert one(poll(db, config, "news", now=NOW + 2 * HOUR)).new == 2
    s = load_states(db)["news"]
    assert (s.retired_at, s.consecutive_errors, s.next_check) == (None, 0, NOW + 2.5 * HOUR)
    assert "news" in [x.name for x in due_sources(config, load_states(db), NOW + 3 * HOUR)]


def test_next_due_is_the_soonest_enabled_source_retired_ones_never(tmp_path, db, http):
    http.get(FEED).respond(200, content=RSS.format(decl="").encode())
    http.get(FEED2).respond(200, content=RSS.format(decl="").encode())
    http.get(OTHER).respond(410)
    sources = [
        feed("hourly", FEED, interval="1h"),
        feed("often", FEED2, interval="10m"),
        feed("gone", OTHER),
        feed("off", "https://off.example.net/rss", enabled=False),
    ]
    config = make_config(tmp_path, *sources)
    poll(db, config, "hourly", "often", "gone")
    states = load_states(db)
    assert due_sources(config, states, NOW + timedelta(minutes=1)) == []

    source, when = next_due(config, states, NOW + timedelta(minutes=1))
    assert (source.name, when) == ("often", NOW + timedelta(minutes=10))
    # A source never polled is due now.
    added = make_config(tmp_path, *sources, feed("new", "https://new.example.net/rss"))
    source, when = next_due(added, states, NOW + timedelta(minutes=1))
    assert (source.name, when) == ("new", NOW + timedelta(minutes=1))
    # Nothing enabled is ever checked again by itself: no next check.
    assert next_due(make_config(tmp_path, sources[2], sources[3]), states, NOW) is None


def test_a_url_changed_in_the_config_is_due_at_once(tmp_path, db, http):
    """The fix for a 404 or a 410 is a new URL: it must not wait out the old one's backoff."""
    http.get(FEED).respond(404)
    http.get(OTHER).respond(410)
    config = make_config(tmp_path, feed(), feed("other", OTHER))
    poll(db, config)
    assert due_sources(config, load_states(db), NOW + timedelta(minutes=1)) == []

    moved = make_config(tmp_path, feed(url=FEED2), feed("other", OTHER.replace(".xml", "-v2.xml")))
    assert [s.name for s in due_sources(moved, load_states(db), NOW)] == ["news", "other"]
    http.get(OTHER.replace(".xml", "-v2.xml")).respond(200, content=RSS.format(decl="").encode())
    http.get(FEED2).respond(500)
    poll(db, moved, "news")
    assert load_states(db)["news"].consecutive_errors == 1  # the old URL's 404 not counted
    http.get(FEED2).respond(200, content=RSS.format(decl="").encode())
    reports = poll(db, moved, now=NOW + 2 * HOUR)
    assert [r.ok for r in reports] == [True, True]
    assert load_states(db)["other"].retired_at is None


def test_500_backs_off_exponentially(tmp_path, seeded, http):
    db = seeded
    config = make_config(tmp_path, feed())
    route = http.get(FEED).respond(500)
    before = fingerprint(db)

    first = one(poll(db, config))
    s1 = state(db, "news")
    second = one(poll(db, config, now=s1.next_check))
    s2 = state(db, "news")

    assert route.call_count == 2
    assert fingerprint(db) == before
    assert (s1.consecutive_errors, s2.consecutive_errors) == (1, 2)
    wait1 = s1.next_check - NOW
    wait2 = s2.next_check - s1.next_check
    assert (wait1, wait2) == (HOUR, 2 * HOUR)  # 2× then 4× the 30 min interval
    assert wait2 == 2 * wait1
    assert first.next_check == s1.next_check and second.next_check == s2.next_check
    rows = fetches(db, "news")
    assert [(r["outcome"], r["http_status"]) for r in rows] == [("server_error", 500)] * 2

    # One success resets the count and goes back to the plain interval.
    route.respond(200, content=RSS.format(decl="").encode())
    one(poll(db, config, now=s2.next_check))
    s3 = state(db, "news")
    assert (s3.consecutive_errors, s3.last_error) == (0, None)
    assert s3.next_check == s2.next_check + 0.5 * HOUR


def test_malformed_body_keeps_no_validators_so_the_next_poll_refetches(tmp_path, db, http):
    config = make_config(tmp_path, feed())
    good = RSS.format(decl="").encode()
    route = http.get(FEED)
    route.side_effect = [
        httpx.Response(200, content=b"<rss><channel><item><title", headers={"ETag": '"bad"'}),
        httpx.Response(200, content=good, headers={"ETag": '"good"'}),
    ]

    first = one(poll(db, config))
    second = one(poll(db, config, now=NOW + HOUR))

    assert (first.outcome, second.outcome) == ("parse_error", "ok")
    assert "If-None-Match" not in route.calls[1].request.headers
    assert second.new == 2
    assert state(db, "news").etag == '"good"'


def test_a_parse_error_keeps_the_validators_of_the_last_good_fetch(tmp_path, db, http):
    config = make_config(tmp_path, feed())
    route = http.get(FEED)
    route.side_effect = [
        httpx.Response(200, content=RSS.format(decl="").encode(), headers={"ETag": '"v1"'}),
        httpx.Response(200, content=b"<rss><channel><item><title", headers={"ETag": '"v2"'}),
        httpx.Response(304),
    ]
    poll(db, config)
    poll(db, config, now=NOW + HOUR)
    assert state(db, "news").etag == '"v1"'
    poll(db, config, now=NOW + 3 * HOUR)
    assert route.calls[2].request.headers["If-None-Match"] == '"v1"'


@pytest.mark.parametrize(
    "text, codec, expected, outlet",
    [(RSS, "gbk", TITLES, "示例新闻网 要闻"), (RSS_TRAD, "big5", TITLES_TRAD, "示例新聞網 要聞")],
    ids=["gbk", "big5"],
)
def test_undeclared_legacy_chinese_feed_is_stored_readable(
    text, codec, expected, outlet, tmp_path, db, http
):
    config = make_config(tmp_path, feed())
    body = text.format(decl="").encode(codec)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    http.get(FEED).respond(200, content=body, headers={"Content-Type": "application/rss+xml"})

    report = one(poll(db, config))

    assert (report.outcome, report.new) == ("ok", 2)
    assert titles(db, "news") == expected
    site = db.conn.execute("SELECT DISTINCT site FROM items").fetchall()
    assert site == [(outlet,)]  # the channel title, read right too
    assert not db.conn.execute(
        "SELECT count(*) FROM items WHERE text LIKE '%' || char(65533) || '%'"
    ).fetchone()[0]


def test_declared_gbk_feed_is_stored_readable(tmp_path, db, http):
    config = make_config(tmp_path, feed())
    body = RSS.format(decl=' encoding="gb2312"').encode("gbk")
    http.get(FEED).respond(200, content=body)
    assert one(poll(db, config)).new == 2
    assert titles(db, "news") == TITLES


def test_301_moves_the_source_and_the_next_poll_goes_to_the_new_url(tmp_path, db, http):
    new = "https://feeds.example.net/news.xml"
    config = make_config(tmp_path, feed())
    old_route = http.get(FEED).respond(301, headers={"Location": new})
    new_route = http.get(new).respond(200, content=RSS.format(decl="").encode())

    first = one(poll(db, config))
    assert (first.outcome, first.new) == ("ok", 2)
    s = state(db, "news")
    assert (s.url, s.config_url) == (new, FEED)
    row = db.conn.execute("SELECT url, config_url FROM sources WHERE name = 'news'").fetchone()
    assert row == (new, FEED)

    second = one(poll(db, config, now=NOW + HOUR))
    assert (second.outcome, second.seen) == ("ok", 2)
    assert (old_route.call_count, new_route.call_count) == (1, 2)
    assert [r["url"] for r in fetches(db, "news")] == [FEED, new]


def test_a_feed_moved_to_a_web_page_keeps_its_address_and_recovers_when_it_is_back(
    tmp_path, db, http
):
    """A site redesign 301s its old feed address to the front page: the front page is no
    feed to poll from then on, and the address is polled until it serves the feed again."""
    home = "https://news.example.com/"
    config = make_config(tmp_path, feed())
    route = http.get(FEED)
    route.side_effect = [
        httpx.Response(301, headers={"Location": home}),
        httpx.Response(200, content=RSS.format(decl="").encode()),
    ]
    http.get(home).respond(200, content=HTML_PAGE, headers={"Content-Type": "text/html"})

    first = one(poll(db, config))
    assert first.outcome == "parse_error"
    assert first.error.startswith("not a feed: a web page (")
    assert first.error.endswith(f" (redirected to {home})")
    assert state(db, "news").url == FEED

    second = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (second.outcome, second.new) == ("ok", 2)


@pytest.mark.parametrize("status", [404, 410])
def test_a_moved_source_whose_new_address_fails_hard_goes_back_to_the_config_url(
    tmp_path, db, http, status, caplog
):
    """The site moved its feed back (or the new address died): the config's URL is
    polled again in the same poll, and once it answers, the move is forgotten."""
    new = "https://feeds.example.net/news.xml"
    config = make_config(tmp_path, feed())
    http.get(FEED).side_effect = [
        httpx.Response(301, headers={"Location": new}),
        httpx.Response(200, content=RSS.format(decl="").encode()),
        httpx.Response(200, content=RSS.format(decl="").encode()),
    ]
    moved = http.get(new)
    moved.side_effect = [
        httpx.Response(200, content=RSS.format(decl="").encode(), headers={"ETag": '"n"'}),
        httpx.Response(status),
    ]
    poll(db, config)
    assert state(db, "news").url == new

    with caplog.at_level(logging.INFO, logger="monitor.poll"):
        second = one(poll(db, config, now=NOW + HOUR))

    assert (second.outcome, second.seen, second.requests) == ("ok", 2, 2)
    s = state(db, "news")
    assert (s.url, s.retired_at, s.consecutive_errors, s.etag) == (FEED, None, 0, None)
    assert f"{new}, where a permanent redirect had moved it, answered HTTP {status}" in caplog.text
    assert fetches(db, "news")[-1]["url"] == FEED
    one(poll(db, config, now=NOW + 2 * HOUR))
    assert moved.call_count == 2  # the move forgotten: the config's URL is polled


def test_a_moved_source_failing_at_both_addresses_backs_off_at_the_config_url(tmp_path, db, http):
    new = "https://feeds.example.net/news.xml"
    config = make_config(tmp_path, feed())
    http.get(FEED).side_effect = [
        httpx.Response(301, headers={"Location": new}),
        httpx.Response(410),
    ]
    http.get(new).side_effect = [
        httpx.Response(200, content=RSS.format(decl="").encode()),
        httpx.Response(410),
    ]
    poll(db, config)

    second = one(poll(db, config, now=NOW + HOUR))

    assert second.outcome == "gone"
    assert second.error == (
        f"HTTP 410 Gone; {new}, where a permanent redirect had moved it, answered HTTP 410 Gone"
    )
    s = state(db, "news")
    assert s.url == FEED and s.retired_at == NOW + HOUR  # polled by name: the config's URL


def test_a_moved_source_failing_softly_tries_the_config_url_after_a_few_polls(tmp_path, db, http):
    new = "https://feeds.example.net/news.xml"
    config = make_config(tmp_path, feed())
    old = http.get(FEED)
    old.side_effect = [
        httpx.Response(301, headers={"Location": new}),
        httpx.Response(200, content=RSS.format(decl="").encode()),
    ]
    http.get(new).side_effect = [
        httpx.Response(200, content=RSS.format(decl="").encode()),
        *[httpx.Response(500)] * pipeline.MOVED_ERRORS,
    ]
    poll(db, config)
    for i in range(1, pipeline.MOVED_ERRORS):
        assert one(poll(db, config, now=NOW + i * 12 * HOUR)).outcome == "server_error"
        assert (old.call_count, state(db, "news").url) == (1, new)

    last = one(poll(db, config, now=NOW + pipeline.MOVED_ERRORS * 12 * HOUR))

    assert (last.outcome, old.call_count, state(db, "news").url) == ("ok", 2, FEED)


def test_changing_the_url_in_config_starts_over_from_it(tmp_path, db, http):
    new = "https://feeds.example.net/news.xml"
    http.get(FEED).respond(301, headers={"Location": new})
    http.get(new).respond(200, content=RSS.format(decl="").encode(), headers={"ETag": '"n"'})
    poll(db, make_config(tmp_path, feed()))
    moved = "https://elsewhere.example.org/rss"
    route = http.get(moved).respond(200, content=RSS.format(decl="").encode())
    poll(db, make_config(tmp_path, feed(url=moved)), now=NOW + HOUR)
    assert route.call_count == 1 and "If-None-Match" not in route.calls[0].request.headers
    s = state(db, "news")
    assert (s.url, s.config_url) == (moved, moved)


# --------------------------------------------------------------------------- host politeness


def test_429_blocks_its_host_for_later_batches_but_not_other_hosts(tmp_path, db, http):
    config = make_config(tmp_path, feed("a", FEED), feed("b", FEED2), feed("c", OTHER))
    a = http.get(FEED).respond(429, headers={"Retry-After": "600"})
    b = http.get(FEED2).respond(200, content=RSS.format(decl="").encode())
    c = http.get(OTHER).respond(200, content=RSS.format(decl="").encode())
    blocked: dict[str, datetime] = {}

    async def go():
        poller = Poller(db, config, rand=lambda: 0.5, blocked=blocked)
        try:
            first = await poller.poll([config.source("a")], now=NOW)
            # The same Poller, a minute later: b shares a's host, c does not.
            later = await poller.poll(
                [config.source("b"), config.source("c")], now=NOW + timedelta(minutes=1)
            )
            return first, later
        finally:
            await poller.aclose()

    first, later = asyncio.run(go())

    ra = one(first)
    assert (ra.outcome, ra.status) == ("rate_limited", 429)
    sa = state(db, "a")
    assert sa.next_check >= NOW + timedelta(seconds=600)
    assert blocked == {"news.example.com": NOW + timedelta(seconds=600)}

    rb, rc = one(later, "b"), one(later, "c")
    assert (rb.outcome, rb.ok, rb.next_check) == ("deferred", True, NOW + timedelta(seconds=600))
    assert (rc.outcome, rc.new) == ("ok", 2)
    assert (a.call_count, b.call_count, c.call_count) == (1, 0, 1)
    assert fetches(db, "b") == []  # deferred before any request: nothing to log

    # The next batch (a new Poller, as the daemon makes each tick) with the same dict.
    rb = one(poll(db, config, "b", now=NOW + timedelta(minutes=5), blocked=blocked))
    assert rb.outcome == "deferred" and b.call_count == 0
    # Once the deadline passed the host is asked again.
    rb = one(poll(db, config, "b", now=NOW + timedelta(seconds=600), blocked=blocked))
    assert (rb.outcome, rb.new) == ("ok", 0) and b.call_count == 1
    assert rb.seen == 2
    assert blocked == {}


def test_a_429_from_one_port_does_not_hold_back_another_port_of_the_same_host(tmp_path, db, http):
    """Self-hosted bridges (RSSHub, rss-bridge) run on several ports of one box."""
    limited, other = "http://127.0.0.1:8765/feed", "http://127.0.0.1:8766/feed"
    config = make_config(tmp_path, feed("a", limited), feed("b", other))
    http.get(limited).respond(429, headers={"Retry-After": "600"})
    b = http.get(other).respond(200, content=RSS.format(decl="").encode())
    blocked: dict[str, datetime] = {}
    poll(db, config, "a", blocked=blocked)
    assert blocked == {"127.0.0.1:8765": NOW + timedelta(seconds=600)}

    rb = one(poll(db, config, "b", now=NOW + timedelta(minutes=1), blocked=blocked))

    assert (rb.outcome, rb.new, b.call_count) == ("ok", 2, 1)


def test_503_retry_after_blocks_the_host_through_poll_once(tmp_path, db, http):
    config = make_config(tmp_path, feed("a", FEED), feed("b", FEED2), feed("c", OTHER))
    http.get(FEED).respond(503, headers={"Retry-After": "120"})
    b = http.get(FEED2).respond(200, content=RSS.format(decl="").encode())
    c = http.get(OTHER).respond(200, content=RSS.format(decl="").encode())
    blocked: dict[str, datetime] = {}
    poll_once(db, config, [config.source("a")], now=NOW, blocked=blocked)
    assert state(db, "a").next_check >= NOW + timedelta(seconds=120)
    reports = poll_once(
        db, config, [config.source("b"), config.source("c")], now=NOW + HOUR / 60, blocked=blocked
    )
    assert {r.source: r.outcome for r in reports} == {"b": "deferred", "c": "ok"}
    assert (b.call_count, c.call_count) == (0, 1)


def test_a_host_asking_for_a_year_holds_back_its_sources_no_longer_than_the_config_s_waits(
    tmp_path, db, http
):
    """A Retry-After far ahead (a date in 2099) waits max_interval at most, for the source
    that heard it (see decide) and for the others on its host alike."""
    config = make_config(
        tmp_path, feed("a", FEED), feed("b", FEED2), max_interval="2h", max_backoff="1h"
    )
    http.get(FEED).respond(503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    b = http.get(FEED2).respond(200, content=RSS.format(decl="").encode())
    poll_once(db, config, [config.source("a")], now=NOW)
    assert state(db, "a").next_check == NOW + 2 * HOUR

    rb = one(poll_once(db, config, [config.source("b")], now=NOW + 2 * HOUR))

    assert (rb.outcome, rb.new, b.call_count) == ("ok", 2, 1)


def test_a_host_s_retry_after_holds_for_the_next_poll_of_another_process(tmp_path, db, http):
    """A cron'd `monitor poll` shares no memory with the last one: the store keeps the
    server's "come back later", and a poll after the deadline asks again."""
    config = make_config(tmp_path, feed("a", FEED), feed("b", FEED2), feed("c", OTHER))
    http.get(FEED).respond(429, headers={"Retry-After": "3600"})
    b = http.get(FEED2).respond(200, content=RSS.format(decl="").encode())
    c = http.get(OTHER).respond(200, content=RSS.format(decl="").encode())
    poll_once(db, config, [config.source("a")], now=NOW)

    later = poll_once(db, config, [config.source("b"), config.source("c")], now=NOW + HOUR / 2)
    assert {r.source: r.outcome for r in later} == {"b": "deferred", "c": "ok"}
    assert one(later, "b").next_check == NOW + HOUR
    assert (b.call_count, c.call_count) == (0, 1)
    rows = db.conn.execute("SELECT origin, until FROM host_blocks").fetchall()
    assert rows == [("news.example.com", "2024-05-01T13:00:00Z")]

    rb = one(poll_once(db, config, [config.source("b")], now=NOW + HOUR))
    assert (rb.outcome, b.call_count) == ("ok", 1)
    assert db.conn.execute("SELECT count(*) FROM host_blocks").fetchone()[0] == 0


def test_a_source_held_back_by_its_host_is_no_info_line_at_every_tick(tmp_path, db, http, caplog):
    """The daemon asks every tick (30 s) whether a held-back source is due: its deferral is
    a debug line, not an info line per source per tick for as long as the host said."""
    config = make_config(tmp_path, feed("a", FEED), feed("b", FEED2))
    http.get(FEED).respond(429, headers={"Retry-After": "3600"})
    b = http.get(FEED2).respond(200, content=RSS.format(decl="").encode())
    blocked: dict[str, datetime] = {}
    poll(db, config, "a", blocked=blocked)
    caplog.clear()

    with caplog.at_level(logging.DEBUG, logger="monitor.poll"):
        for minute in (1, 2, 3):
            rb = one(poll(db, config, "b", now=NOW + minute * HOUR / 60, blocked=blocked))
            assert rb.outcome == "deferred"

    assert b.call_count == 0
    levels = [(r.levelno, r.getMessage().split()[:2]) for r in caplog.records]
    assert levels == [(logging.DEBUG, ["source=b", "outcome=deferred"])] * 3


def test_as_many_fetches_are_in_flight_as_concurrency_allows(tmp_path, db, monkeypatch):
    """concurrency above the client's own pool (20 connections) was capped by it: the
    fetches beyond waited for a connection and failed as 'pool timeout', never sent."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    n = 24
    together = threading.Barrier(n, timeout=5)  # every feed answers once all are asked

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                together.wait()
            except threading.BrokenBarrierError:
                self.send_error(500)
                return
            body = RSS.format(decl="").replace("c_", self.path.strip("/") + "_").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    with LocalServer(Handler) as server:
        feeds = [feed(f"f{i}", f"{server.url}/f{i}") for i in range(n)]
        config = make_config(tmp_path, *feeds, concurrency=n, per_host=n, timeout=30)
        reports = poll(db, config)

    assert sorted(r.outcome for r in reports) == ["ok"] * n


def test_queued_fetches_to_a_host_that_just_said_429_are_not_sent(tmp_path, db, http):
    """One fetch per host at a time: b waits for a's slot, a gets 429, so b is not sent."""
    config = make_config(tmp_path, feed("a", FEED), feed("b", FEED2), feed("c", OTHER), per_host=1)

    async def slow_429(request):
        await asyncio.sleep(0.05)  # b and c have started by now; b waits for the host slot
        return httpx.Response(429, headers={"Retry-After": "600"})

    a = http.get(FEED).mock(side_effect=slow_429)
    b = http.get(FEED2).respond(200, content=RSS.format(decl="").encode())
    c = http.get(OTHER).respond(200, content=RSS.format(decl="").encode())

    reports = poll(db, config)

    assert (a.call_count, b.call_count, c.call_count) == (1, 0, 1)
    assert one(reports, "c").new == 2
    # b is deferred exactly as it would be in the next batch: nothing sent, nothing written.
    rb = one(reports, "b")
    assert (rb.outcome, rb.ok, rb.next_check) == ("deferred", True, NOW + timedelta(seconds=600))
    assert "host asked to wait" in rb.error
    assert fetches(db, "b") == [] and "b" not in load_states(db)
    assert state(db, "a").next_check >= NOW + timedelta(seconds=600)


def test_mirror_pages_queued_behind_a_429_are_not_sent_and_retried_later(tmp_path, db, http):
    config = make_config(tmp_path, mirror(), per_host=1)
    http.get(f"{MIRROR}/index.html").respond(
        200, content=b"- [1](p/1.txt)\n- [2](p/2.txt)\n- [3](p/3.txt)\n", headers={"ETag": '"i"'}
    )

    async def slow_429(request):
        await asyncio.sleep(0.05)
        return httpx.Response(429, headers={"Retry-After": "60"})

    p1 = http.get(f"{MIRROR}/p/1.txt").mock(side_effect=slow_429)
    p2 = http.get(f"{MIRROR}/p/2.txt").respond(200, content=PAGE_2.encode())
    p3 = http.get(f"{MIRROR}/p/3.txt").respond(200, content=PAGE_3.encode())

    report = one(poll(db, config))

    assert (p1.call_count, p2.call_count, p3.call_count) == (1, 0, 0)
    # The one page tried failed: the source failed, and backs off as any failure does.
    assert (report.outcome, report.ok, report.new, report.requests) == ("pages_failed", False, 0, 2)
    assert "3 of 3 pages failed" in report.error and "not fetched" in report.error
    assert load_entries(db.conn, "mirror") == {} and state(db, "mirror").etag is None
    assert state(db, "mirror").next_check == NOW + 2 * HOUR

    p1.mock(side_effect=None).respond(200, content=PAGE_1.encode())
    report = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (report.new, report.error) == (3, None)
    assert (p1.call_count, p2.call_count, p3.call_count) == (2, 1, 1)


# --------------------------------------------------------------------------- isolation


def test_an_unexpected_exception_is_recorded_and_does_not_stop_the_batch(
    tmp_path, seeded, http, monkeypatch
):
    db = seeded
    config = make_config(tmp_path, feed("bad", FEED), feed("good", OTHER))
    http.get(FEED).respond(200, content=RSS.format(decl="").encode())
    http.get(OTHER).respond(200, content=RSS.format(decl="").encode())
    real = ingest.parse

    def flaky(data, *, url=None, site=None, zone=None):
        if url == FEED:
            raise RuntimeError("parser bug")
        return real(data, url=url, site=site, zone=zone)

    monkeypatch.setattr(ingest, "parse", flaky)
    reports = poll(db, config)

    bad, good = one(reports, "bad"), one(reports, "good")
    assert (bad.outcome, bad.ok, bad.error) == ("internal_error", False, "RuntimeError: parser bug")
    assert (good.outcome, good.new) == ("ok", 2)
    assert titles(db, "bad") == [] and titles(db, "good") == TITLES
    (row,) = fetches(db, "bad")
    assert (row["outcome"], row["error"]) == ("internal_error", "RuntimeError: parser bug")
    s = state(db, "bad")
    assert (s.consecutive_errors, s.last_outcome, s.next_check) == (1, "internal_error", NOW + HOUR)


def test_a_failing_write_is_recorded_and_does_not_stop_the_batch(
    tmp_path, seeded, http, monkeypatch
):
    db = seeded
    config = make_config(tmp_path, feed("bad", FEED), feed("good", OTHER))
    http.get(FEED).respond(200, content=RSS.format(decl="").encode())
    http.get(OTHER).respond(200, content=RSS.format(decl="").encode())
    real = pipeline.write_items

    def flaky(conn, entries, **kwargs):
        entries = list(entries)
        if entries and entries[0][1].source == "bad":
            raise RuntimeError("disk on fire")
        return real(conn, entries, **kwargs)

    monkeypatch.setattr(pipeline, "write_items", flaky)
    reports = poll(db, config)

    assert {r.source for r in reports} == {"bad", "good"}
    bad = one(reports, "bad")
    assert (bad.outcome, bad.ok) == ("internal_error", False)
    assert "disk on fire" in bad.error
    assert titles(db, "bad") == [] and titles(db, "good") == TITLES
    (row,) = fetches(db, "bad")
    assert row["outcome"] == "internal_error" and "disk on fire" in row["error"]
    assert state(db, "bad").consecutive_errors == 1


# --------------------------------------------------------------------------- mirror

MIRROR = "https://mirror.example.net"
PAGE_1 = epoch_page(
    13480011,
    "俄罗斯继续在边境集结军队",
    "【大纪元2022年01月05日讯】据美联社报导，俄罗斯继续在乌克兰边境集结军队，北约表示关注。",
)
PAGE_2 = epoch_page(
    13480012,
    "欧盟外长讨论对俄制裁方案",
    "【大纪元2022年01月06日讯】欧盟外长周四在布雷斯特举行会议，讨论对俄罗斯的制裁方案。",
)
PAGE_3 = epoch_page(
    13480013,
    "美俄将在日内瓦举行战略稳定对话",
    "【大纪元2022年01月07日讯】美国和俄罗斯官员将于下周在日内瓦举行战略稳定对话。",
)
PLACEHOLDER = epoch_page(13480006, "大纪元新闻网", "对不起，您访问的文章不存在或已被删除。")


def mirror(name: str = "mirror", url: str = f"{MIRROR}/index.html", **kw) -> dict:
    return {"name": name, "kind": "mirror", "url": url, "interval": "1h", **kw}


def page_routes(mock, pages: dict[str, str | int]) -> dict[str, respx.Route]:
    routes = {}
    for path, body in pages.items():
        route = mock.get(f"{MIRROR}/{path}")
        if isinstance(body, int):
            route.respond(body)
        else:
            route.respond(200, content=body.encode(), headers={"Content-Type": "text/plain"})
        routes[path] = route
    return routes


@pytest.mark.parametrize(
    "fmt, index, extra",
    [
        (
            "html",
            '<html><body><ul><li><a href="p/1.txt">一</a></li><li><a href="/p/2.txt">二</a>'
            '</li><li><a href="#top">top</a><a href="mailto:x@example.net">mail</a></li>'
            "</ul></body></html>",
            {},
        ),
        (
            "xhtml",  # an XML declaration with an encoding, as XHTML generators write it
            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml"><body><a href="p/1.txt">一</a>'
            '<a href="p/2.txt">二</a></body></html>',
            {},
        ),
        ("markdown", "# 索引\n\n- [一](p/1.txt)\n- [二](https://mirror.example.net/p/2.txt)\n", {}),
        ("csv", "id,title\n1,一\n2,二\n", {"page_url": f"{MIRROR}/p/{{id}}.txt"}),
    ],
)
def test_mirror_fetches_listed_pages_once(fmt, index, extra, tmp_path, db, http):
    config = make_config(tmp_path, mirror(**extra))
    idx = http.get(f"{MIRROR}/index.html").respond(200, content=index.encode())
    pages = page_routes(http, {"p/1.txt": PAGE_1, "p/2.txt": PAGE_2})

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.new, report.requests) == ("ok", True, 2, 3)
    assert report.error is None
    assert titles(db, "mirror") == ["俄罗斯继续在边境集结军队", "欧盟外长讨论对俄制裁方案"]
    where = [r[0] for r in db.conn.execute("SELECT location FROM sightings ORDER BY id")]
    assert where == [f"{MIRROR}/p/1.txt", f"{MIRROR}/p/2.txt"]
    entries = load_entries(db.conn, "mirror")
    assert {k: v.status for k, v in entries.items()} == {
        f"{MIRROR}/p/1.txt": "stored",
        f"{MIRROR}/p/2.txt": "stored",
    }
    assert all(e.item_id for e in entries.values())

    # The next poll reads the index again but no page: all are handled.
    again = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (again.outcome, again.new, again.requests) == ("ok", 0, 1)
    assert idx.call_count == 2
    assert [pages[p].call_count for p in ("p/1.txt", "p/2.txt")] == [1, 1]


def test_a_markdown_index_s_badges_and_images_are_no_pages(tmp_path, db, http):
    """An archive's README index shows build badges and pictures: each was fetched as a
    page, and named in the poll's error whenever the badge host could not be reached."""
    config = make_config(tmp_path, mirror())
    index = (
        "# 大纪元存档\n\n"
        "[![build](https://img.shields.io/badge/build-passing-green.svg)](https://github.com/x/y)"
        " ![logo](logo.png)\n\n- [一](p/1.txt) ![配图](p/1.jpg)\n"
    )
    http.get(f"{MIRROR}/index.html").respond(200, content=index.encode())
    pages = page_routes(http, {"p/1.txt": PAGE_1})
    others = [
        http.get(url).respond(200, content=b"x")
        for url in (
            "https://img.shields.io/badge/build-passing-green.svg",
            "https://github.com/x/y",
            f"{MIRROR}/logo.png",
            f"{MIRROR}/p/1.jpg",
        )
    ]

    report = one(poll(db, config))

    assert (report.new, report.requests, report.error) == (1, 2, None)
    assert pages["p/1.txt"].call_count == 1
    assert [r.call_count for r in others] == [0, 0, 0, 0]


def test_a_markdown_index_line_of_brackets_is_read_at_once():
    """The link pattern read from each "[" of a line of them on to its "]": minutes for
    such an index. Counted, not timed: the line is read once."""
    from monitor.parsers.listing import parse_listing

    index = "[" * 100_000 + "\n- [一](p/1.txt)\n"
    assert [e.url for e in parse_listing(index, base_url=f"{MIRROR}/index.md")] == [
        f"{MIRROR}/p/1.txt"
    ]


def test_mirror_skips_pages_whose_story_is_already_stored(tmp_path, db, http):
    config = make_config(tmp_path, mirror())
    # Story n13480011 is stored already, from another source.
    (item,) = parse(PAGE_1.encode(), url=f"{MIRROR}/elsewhere/1.txt")
    item = assign_keys(item, config.rules)
    save_items(db, [(item, Sighting("elsewhere", "x"))], now=NOW - HOUR)
    index = (
        "- [原文](https://www.epochtimes.com/gb/22/1/5/n13480011.htm)\n"  # its URL
        "- [镜像](https://mirror.example.net/gb/page?n13480011)\n"  # its story key
        "- [新](p/2.txt)\n"
    )
    http.get(f"{MIRROR}/index.html").respond(200, content=index.encode())
    original = http.get("https://www.epochtimes.com/gb/22/1/5/n13480011.htm").respond(200)
    keyed = http.get(f"{MIRROR}/gb/page").respond(200)
    pages = page_routes(http, {"p/2.txt": PAGE_2})

    report = one(poll(db, config))

    assert (report.new, report.requests) == (1, 2)
    assert (original.call_count, keyed.call_count, pages["p/2.txt"].call_count) == (0, 0, 1)


def test_mirror_retries_a_failed_page_and_keeps_no_index_validators(tmp_path, db, http):
    config = make_config(tmp_path, mirror())
    index = "- [一](p/1.txt)\n- [二](p/2.txt)\n"
    idx = http.get(f"{MIRROR}/index.html").respond(
        200, content=index.encode(), headers={"ETag": '"idx1"'}
    )
    pages = page_routes(http, {"p/1.txt": PAGE_1, "p/2.txt": 500})
    before = fingerprint(db)

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.new) == ("ok", True, 1)
    assert "1 of 2 pages failed" in report.error and "p/2.txt" in report.error
    assert fingerprint(db) != before
    s = state(db, "mirror")
    assert s.etag is None  # so the next poll reads the index in full again
    assert set(load_entries(db.conn, "mirror")) == {f"{MIRROR}/p/1.txt"}
    (row,) = fetches(db, "mirror")
    assert (row["outcome"], row["requests"], row["new_items"]) == ("ok", 3, 1)
    assert "1 of 2 pages failed" in row["error"]

    pages["p/2.txt"].respond(200, content=PAGE_2.encode())
    report = one(poll(db, config, now=NOW + 2 * HOUR))

    assert "If-None-Match" not in idx.calls.last.request.headers
    assert (report.new, report.error) == (1, None)
    assert [pages[p].call_count for p in ("p/1.txt", "p/2.txt")] == [1, 2]
    assert state(db, "mirror").etag == '"idx1"'
    assert len(load_entries(db.conn, "mirror")) == 2


MARKDOWN_PAGE = (FIXTURES / "markdown_basic.md").read_text("utf-8")
MARKDOWN_INDEX = "# 2022年1月\n\n- [拜登与普京通话](../p/md.md)\n- [北约外长会议](../p/nato.md)\n"


def test_a_mirror_reads_markdown_pages_and_refuses_its_sub_indexes_without_failing(
    tmp_path, db, http
):
    """An archive's index links to its articles and to more indexes (a month's list): the
    article is stored, the index is no article, which is no failure and is not fetched again."""
    config = make_config(tmp_path, mirror())
    index = "- [拜登与普京通话](p/md.md)\n- [2022年1月](2022/01/README.md)\n"
    http.get(f"{MIRROR}/index.html").respond(200, content=index.encode())
    pages = page_routes(http, {"p/md.md": MARKDOWN_PAGE, "2022/01/README.md": MARKDOWN_INDEX})

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.new, report.error) == ("ok", True, 1, None)
    assert titles(db, "mirror") == ["拜登与普京通话"]
    (key,) = db.conn.execute("SELECT story_key FROM items").fetchone()
    assert key == "voa:6380123"
    entries = load_entries(db.conn, "mirror")
    assert entries[f"{MIRROR}/p/md.md"].status == "stored"
    sub = entries[f"{MIRROR}/2022/01/README.md"]
    assert sub.status == "rejected" and "'2022年1月' has no text outside lists" in sub.reason

    one(poll(db, config, now=NOW + 2 * HOUR))
    assert [r.call_count for r in pages.values()] == [1, 1]


def test_a_mirror_whose_every_page_fails_is_a_failing_source(tmp_path, db, http):
    config = make_config(tmp_path, mirror())
    index = "- [一](p/1.txt)\n- [二](p/2.txt)\n"
    http.get(f"{MIRROR}/index.html").respond(200, content=index.encode())
    pages = page_routes(http, {"p/1.txt": 500, "p/2.txt": 404})
    before = fingerprint(db)

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.status, report.new) == (
        "pages_failed", False, 200, 0
    )  # fmt: skip
    assert "2 of 2 pages failed" in report.error and "p/2.txt" in report.error
    s = state(db, "mirror")
    assert (s.consecutive_errors, s.last_outcome, s.last_success) == (1, "pages_failed", None)
    assert s.last_error == report.error
    assert s.next_check == NOW + 2 * HOUR  # backed off: twice the 1h interval
    (row,) = fetches(db, "mirror")
    assert (row["outcome"], row["requests"]) == ("pages_failed", 3)
    # The 404 page is remembered as missing (retried for a day), the 500 one not at all.
    assert {k: e.status for k, e in load_entries(db.conn, "mirror").items()} == {
        f"{MIRROR}/p/2.txt": "missing"
    }
    assert fingerprint(db) == before  # no story written
    ok, _why = health.check(db, now=NOW, window=HOUR)
    assert not ok

    # Once a page answers, the source is healthy again, and the other is retried next time.
    pages["p/1.txt"].respond(200, content=PAGE_1.encode())
    report = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (report.outcome, report.ok, report.new) == ("ok", True, 1)
    assert "1 of 2 pages failed" in report.error
    assert state(db, "mirror").consecutive_errors == 0


def test_a_mirror_whose_many_pages_fail_names_a_few_of_them(tmp_path, db, http):
    """When the page host is down, every listed page fails: the error (a log line, the
    `sources` table's last error) names the first few pages and counts the rest, instead
    of listing hundreds of URLs."""
    config = make_config(tmp_path, mirror())
    index = "".join(f"- [{i}](p/{i}.txt)\n" for i in range(40))
    http.get(f"{MIRROR}/index.html").respond(200, content=index.encode())
    page_routes(http, {f"p/{i}.txt": 500 for i in range(40)})

    report = one(poll(db, config))

    assert report.outcome == "pages_failed"
    assert report.error.startswith("40 of 40 pages failed; ")
    assert f"{MIRROR}/p/0.txt: HTTP 500" in report.error
    assert f"{MIRROR}/p/39.txt" not in report.error
    assert report.error.endswith("; and 37 more")
    assert state(db, "mirror").last_error == report.error == fetches(db, "mirror")[0]["error"]


def test_a_dead_mirror_page_is_retried_for_a_day_then_given_up(tmp_path, db, http):
    """One dead link in an index must not keep the source failing for good: a 404 page is
    retried while it may still be on its way, a 410 one never."""
    config = make_config(tmp_path, mirror())
    index = "- [一](p/1.txt)\n- [二](p/2.txt)\n- [三](p/3.txt)\n"
    http.get(f"{MIRROR}/index.html").respond(200, content=index.encode())
    pages = page_routes(http, {"p/1.txt": PAGE_1, "p/2.txt": 404, "p/3.txt": 410})

    first = one(poll(db, config))
    assert (first.outcome, first.new) == ("ok", 1)
    assert "2 of 3 pages failed" in first.error

    # Within the day, only the 404 page is tried again. Its host answers, so the source is
    # well (not backed off, healthy): the page is named, not the source failed.
    again = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (again.outcome, again.ok, again.new) == ("ok", True, 0)
    assert again.error.startswith("1 of 1 pages failed") and "p/2.txt" in again.error
    assert [pages[p].call_count for p in ("p/1.txt", "p/2.txt", "p/3.txt")] == [1, 2, 1]
    s = state(db, "mirror")
    assert (s.consecutive_errors, s.next_check) == (0, NOW + 3 * HOUR)
    assert health.check(db, now=NOW + 2 * HOUR, window=HOUR)[0]

    # A day after its first 404 it is given up: no fetch, and the source is well again.
    later = one(poll(db, config, now=NOW + MISSING_GRACE))
    assert (later.outcome, later.ok, later.error) == ("ok", True, None)
    assert pages["p/2.txt"].call_count == 2
    entries = load_entries(db.conn, "mirror")
    assert {k.rsplit("/", 1)[1]: e.status for k, e in entries.items()} == {
        "1.txt": "stored",
        "2.txt": "gone",
        "3.txt": "gone",
    }
    assert "404" in entries[f"{MIRROR}/p/2.txt"].reason


def test_a_missing_mirror_page_that_comes_up_is_stored(tmp_path, db, http):
    config = make_config(tmp_path, mirror())
    http.get(f"{MIRROR}/index.html").respond(200, content="- [一](p/1.txt)\n".encode())
    pages = page_routes(http, {"p/1.txt": 404})
    assert one(poll(db, config)).outcome == "pages_failed"

    pages["p/1.txt"].respond(200, content=PAGE_1.encode())
    report = one(poll(db, config, now=NOW + 3 * HOUR))
    assert (report.outcome, report.new) == ("ok", 1)
    assert load_entries(db.conn, "mirror")[f"{MIRROR}/p/1.txt"].status == "stored"


def test_a_mirror_page_rejected_as_not_an_article_is_not_a_failure(tmp_path, db, http):
    config = make_config(tmp_path, mirror())
    http.get(f"{MIRROR}/index.html").respond(200, content=b"- [gone](p/gone.txt)\n")
    page_routes(http, {"p/gone.txt": PLACEHOLDER})

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.new, report.error) == ("ok", True, 0, None)


def test_mirror_pages_only_held_back_by_their_hosts_wait_do_not_fail_the_source(tmp_path, db, http):
    """The index answers; its pages live on a host that asked to wait: nothing was tried."""
    pages_host = "https://pages.example.org"
    config = make_config(tmp_path, feed("a", f"{pages_host}/feed.xml"), mirror())
    http.get(f"{pages_host}/feed.xml").respond(429, headers={"Retry-After": "600"})
    http.get(f"{MIRROR}/index.html").respond(
        200, content=f"- [一]({pages_host}/p/1.txt)\n".encode()
    )
    page = http.get(f"{pages_host}/p/1.txt").respond(200, content=PAGE_1.encode())
    blocked: dict[str, datetime] = {}
    poll(db, config, "a", blocked=blocked)

    report = one(poll(db, config, "mirror", now=NOW + timedelta(minutes=1), blocked=blocked))

    assert page.call_count == 0
    assert (report.outcome, report.ok, report.requests) == ("ok", True, 1)
    assert "1 of 1 pages failed" in report.error and "not fetched" in report.error
    assert state(db, "mirror").consecutive_errors == 0


def test_mirror_records_a_placeholder_as_rejected_and_never_fetches_it_again(tmp_path, db, http):
    config = make_config(tmp_path, mirror())
    index = "- [一](p/1.txt)\n- [已删除](p/gone.txt)\n"
    http.get(f"{MIRROR}/index.html").respond(200, content=index.encode())
    pages = page_routes(http, {"p/1.txt": PAGE_1, "p/gone.txt": PLACEHOLDER})

    report = one(poll(db, config))

    assert (report.outcome, report.new, report.error) == ("ok", 1, None)
    entry = load_entries(db.conn, "mirror")[f"{MIRROR}/p/gone.txt"]
    assert entry.status == "rejected" and "placeholder" in entry.reason
    assert entry.item_id is None
    assert titles(db, "mirror") == ["俄罗斯继续在边境集结军队"]

    one(poll(db, config, now=NOW + 2 * HOUR))
    assert pages["p/gone.txt"].call_count == 1


@pytest.mark.parametrize("index_then", ["the same", "not modified", "without the page"])
def test_a_mirror_page_rejected_by_an_older_parser_is_fetched_again_once(
    index_then, tmp_path, db, http, older_parser, caplog
):
    """After an upgrade, the pages the old parsers rejected count as not handled: fetched
    once more, also when the index did not change (304) or no longer lists them; a page
    that answered 410, or was stored, is not fetched again, and one the new parsers reject
    too is not fetched a third time."""
    config = make_config(tmp_path, mirror())
    first = "- [一](p/1.txt)\n"
    index = first + "- [拜登与普京通话](p/md.md)\n- [已删除](p/gone.txt)\n- [撤](p/410.txt)\n"

    def respond(request):
        if index_then == "not modified" and request.headers.get("If-None-Match") == '"i"':
            return httpx.Response(304)
        listed = index if idx.call_count < 2 or index_then != "without the page" else first
        return httpx.Response(200, content=listed.encode(), headers={"ETag": '"i"'})

    idx = http.get(f"{MIRROR}/index.html").mock(side_effect=respond)
    pages = page_routes(
        http, {"p/1.txt": PAGE_1, "p/md.md": MARKDOWN_PAGE, "p/gone.txt": PLACEHOLDER}
    )
    pages["p/410.txt"] = http.get(f"{MIRROR}/p/410.txt").respond(410)

    report = one(poll(db, config))

    assert (report.new, report.requests) == (1, 5)
    assert "p/md.md: unparseable: unrecognised document format" in report.error
    entries = load_entries(db.conn, "mirror")
    assert entries[f"{MIRROR}/p/md.md"].status == "rejected"
    assert entries[f"{MIRROR}/p/gone.txt"].status == "rejected"
    assert entries[f"{MIRROR}/p/410.txt"].status == "gone"
    assert titles(db, "mirror") == ["俄罗斯继续在边境集结军队"]
    # The old version's next poll fetches no page, and keeps the index's ETag.
    report = one(poll(db, config, now=NOW + HOUR))
    assert (report.requests, report.error, state(db, "mirror").etag) == (1, None, '"i"')

    older_parser.upgrade()
    with caplog.at_level(logging.INFO, logger="monitor.poll"):
        report = one(poll(db, config, now=NOW + 2 * HOUR))

    fetched = {p: r.call_count for p, r in pages.items()}
    assert fetched == {"p/1.txt": 1, "p/md.md": 2, "p/gone.txt": 2, "p/410.txt": 1}
    assert (report.ok, report.new, report.requests, report.error) == (True, 1, 3, None)
    assert report.outcome == ("not_modified" if index_then == "not modified" else "ok")
    assert titles(db, "mirror") == ["俄罗斯继续在边境集结军队", "拜登与普京通话"]
    entries = load_entries(db.conn, "mirror")
    md, gone = entries[f"{MIRROR}/p/md.md"], entries[f"{MIRROR}/p/gone.txt"]
    assert (md.status, md.parser_version) == ("stored", parsers.PARSER_VERSION)
    assert md.item_id is not None
    assert (gone.status, gone.parser_version) == ("rejected", parsers.PARSER_VERSION)
    assert "placeholder" in gone.reason
    assert [m for m in caplog.messages if "older parser" in m] == [
        "source mirror: 2 pages rejected by an older parser read again (parser version "
        f"{parsers.PARSER_VERSION}): 1 read, 1 rejected again"
    ]

    report = one(poll(db, config, now=NOW + 4 * HOUR))
    assert (report.new, report.requests) == (0, 1)
    assert sum(r.call_count for r in pages.values()) == 6
    assert idx.call_count == 4


def test_a_page_rejected_by_an_older_parser_whose_story_is_stored_since_is_not_fetched(
    tmp_path, db, http, older_parser
):
    """Read again as a page not handled before: only if its story is not stored."""
    config = make_config(tmp_path, mirror())
    index = b"- [a](gb/page?n13480011)\n- [b](p/md.md)\n"
    http.get(f"{MIRROR}/index.html").respond(200, content=index)
    keyed = http.get(f"{MIRROR}/gb/page").respond(200, content=MARKDOWN_PAGE.encode())
    other = http.get(f"{MIRROR}/p/md.md").respond(200, content=MARKDOWN_PAGE.encode())
    one(poll(db, config))
    entries = load_entries(db.conn, "mirror")
    assert {e.status for e in entries.values()} == {"rejected"} and len(entries) == 2
    (item,) = parse(PAGE_1.encode(), url=f"{MIRROR}/elsewhere/1.txt")  # story n13480011
    save_items(db, [(assign_keys(item, config.rules), Sighting("other", "x"))], now=NOW)
    older_parser.upgrade()

    report = one(poll(db, config, now=NOW + 2 * HOUR))

    assert (keyed.call_count, other.call_count) == (1, 2)
    assert (report.requests, report.new) == (2, 1)


def test_mirror_index_304_fetches_no_pages(tmp_path, db, http):
    config = make_config(tmp_path, mirror())

    def respond(request):
        if request.headers.get("If-None-Match") == '"i"':
            return httpx.Response(304)
        return httpx.Response(200, content=b"- [a](p/1.txt)\n", headers={"ETag": '"i"'})

    http.get(f"{MIRROR}/index.html").mock(side_effect=respond)
    pages = page_routes(http, {"p/1.txt": PAGE_1})
    poll(db, config)
    report = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (report.outcome, report.requests) == ("not_modified", 1)
    assert pages["p/1.txt"].call_count == 1


def test_mirror_gbk_page_without_charset(tmp_path, db, http):
    config = make_config(tmp_path, mirror())
    http.get(f"{MIRROR}/index.html").respond(200, content=b"- [a](p/1.txt)\n")
    http.get(f"{MIRROR}/p/1.txt").respond(200, content=PAGE_3.encode("gbk"))
    assert one(poll(db, config)).new == 1
    assert titles(db, "mirror") == ["美俄将在日内瓦举行战略稳定对话"]


def test_mirror_big5_page_without_charset(tmp_path, db, http):
    config = make_config(tmp_path, mirror())
    page = (
        epoch_page(
            13480014,
            "國務院常務會議研究部署經濟政策",
            "【大紀元2022年01月08日訊】會議指出，要堅持穩中求進工作總基調，香港特區政府宣布放寬入境措施。",
        )
        .replace("首页", "首頁")
        .replace("评论", "評論")
        .replace("原文链接（需翻墙）", "原文網址")
    )
    http.get(f"{MIRROR}/index.html").respond(200, content=b"- [a](p/1.txt)\n")
    http.get(f"{MIRROR}/p/1.txt").respond(200, content=page.encode("big5"))
    assert one(poll(db, config)).new == 1
    assert titles(db, "mirror") == ["國務院常務會議研究部署經濟政策"]


# --------------------------------------------------------------------------- dir


@pytest.fixture
def seed_dir(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for p in sorted(SEEDS.iterdir()):
        shutil.copy2(p, folder / p.name)
    return folder


def dir_source(path: Path, name: str = "files") -> dict:
    return {"name": name, "kind": "dir", "path": str(path), "interval": "1h"}


def test_dir_parses_new_files_and_skips_unchanged_ones(
    tmp_path, db, seed_dir, parse_calls, monkeypatch
):
    config = make_config(tmp_path, dir_source(seed_dir))
    files = sorted(p.name for p in seed_dir.iterdir())
    total = sum(p.stat().st_size for p in seed_dir.iterdir())

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.error, report.new) == ("ok", True, None, 5)
    assert len(parse_calls) == 5
    entries = load_entries(db.conn, "files")
    assert sorted(entries) == files
    assert all(e.status == "stored" and e.item_id and e.sha256 for e in entries.values())
    locations = {r[0] for r in db.conn.execute("SELECT location FROM sightings")}
    assert locations == set(files)
    (row,) = fetches(db, "files")
    assert (row["outcome"], row["bytes"], row["new_items"], row["url"]) == (
        "ok",
        total,
        5,
        str(seed_dir),
    )
    before = fingerprint(db)

    # Unchanged (same size and mtime): not even read, nor parsed, nor written.
    reads: list[Path] = []
    real_read = Path.read_bytes

    def counting_read(self):
        reads.append(self)
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", counting_read)
    report = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (report.new, report.seen, report.bytes) == (0, 0, 0)
    assert len(parse_calls) == 5
    assert [p for p in reads if seed_dir in p.parents] == []
    assert fingerprint(db) == before
    assert fetches(db, "files")[-1]["bytes"] == 0


def test_a_dir_scan_writes_a_chunk_of_files_at_a_time_and_stores_the_same(
    tmp_path, db, seed_dir, monkeypatch
):
    """The first scan of a large mirror checkout held every parsed story in memory for one
    write at the end (3,000 files: ~70 MB more). Written a chunk at a time, what is stored
    and what the poll reports are the same, a copy in a later chunk and a refused file too."""
    shutil.copy2(sorted(seed_dir.iterdir())[0], seed_dir / "zz_copy.txt")
    (seed_dir / "broken.txt").write_text("这不是任何已知格式的文件。\n", encoding="utf-8")
    config = make_config(tmp_path, dir_source(seed_dir))
    whole = open_db(tmp_path / "whole.db")
    expected = one(poll(whole, config))

    monkeypatch.setattr(pipeline, "SCAN_CHUNK", 2, raising=False)
    written: list[set[str]] = []
    real_write = pipeline.write_items

    def write_items(conn, items, **kw):
        written.append({where.location for _item, where in items})
        return real_write(conn, items, **kw)

    monkeypatch.setattr(pipeline, "write_items", write_items)
    report = one(poll(db, config))

    assert len(written) >= 3 and max(len(files) for files in written) <= 2
    assert (report.outcome, report.new, report.seen, report.bytes, report.error) == (
        expected.outcome,
        expected.new,
        expected.seen,
        expected.bytes,
        expected.error,
    )
    assert (report.new, report.seen) == (5, 1) and "broken.txt" in report.error
    assert fingerprint(db) == fingerprint(whole)
    assert load_entries(db.conn, "files") == load_entries(whole.conn, "files")
    shown = ("outcome", "new_items", "seen_items", "bytes", "error")
    assert [[f[k] for k in shown] for f in fetches(db, "files")] == [
        [f[k] for k in shown] for f in fetches(whole, "files")
    ]


def test_dir_touched_file_with_same_content_is_not_reparsed(tmp_path, db, seed_dir, parse_calls):
    config = make_config(tmp_path, dir_source(seed_dir))
    poll(db, config)
    target = seed_dir / "002_7ac03c88fe2e9e94.txt"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))

    report = one(poll(db, config, now=NOW + 2 * HOUR))

    assert len(parse_calls) == 5 and report.new == 0 and report.seen == 0
    assert report.bytes == 0
    entry = load_entries(db.conn, "files")[target.name]
    assert entry.mtime_ns == st.st_mtime_ns + 5_000_000_000 and entry.status == "stored"
    assert entry.item_id is not None


def test_dir_changed_file_is_reparsed(tmp_path, db, seed_dir, parse_calls):
    config = make_config(tmp_path, dir_source(seed_dir))
    poll(db, config)
    target = seed_dir / "003_dd4777946534ec80.txt"
    old_sha = load_entries(db.conn, "files")[target.name].sha256
    target.write_bytes(target.read_bytes() + "\n\n补充：双方同意继续保持沟通。\n".encode())

    report = one(poll(db, config, now=NOW + 2 * HOUR))

    assert len(parse_calls) == 6
    assert report.bytes == target.stat().st_size
    assert (report.new, report.seen) == (0, 1)  # the same story seen again
    entry = load_entries(db.conn, "files")[target.name]
    assert entry.sha256 != old_sha and entry.size == target.stat().st_size


def test_dir_file_rejected_by_an_older_parser_is_read_again_and_stored(
    tmp_path, db, seed_dir, older_parser, caplog
):
    """A Markdown copy the old parsers could not read is stored after the upgrade though the
    file did not change; the files already stored are not read again."""
    article = seed_dir / "2022-01-03-biden-putin.md"
    article.write_bytes((FIXTURES / "markdown_basic.md").read_bytes())
    config = make_config(tmp_path, dir_source(seed_dir))
    report = one(poll(db, config))
    assert report.new == 5 and "unrecognised document format" in report.error
    assert load_entries(db.conn, "files")[article.name].status == "rejected"

    older_parser.upgrade()
    with caplog.at_level(logging.INFO, logger="monitor.poll"):
        report = one(poll(db, config, now=NOW + 2 * HOUR))

    assert older_parser.calls == [None]  # that file alone
    assert (report.ok, report.new, report.error) == (True, 1, None)
    assert report.bytes == article.stat().st_size
    assert "拜登与普京通话" in titles(db, "files")
    entry = load_entries(db.conn, "files")[article.name]
    assert (entry.status, entry.reason, entry.parser_version) == (
        "stored",
        None,
        parsers.PARSER_VERSION,
    )
    assert entry.item_id is not None
    assert [m for m in caplog.messages if "older parser" in m] == [
        "source files: 1 file rejected by an older parser read again (parser version "
        f"{parsers.PARSER_VERSION}): 1 read, 0 rejected again"
    ]

    one(poll(db, config, now=NOW + 4 * HOUR))
    assert older_parser.calls == [None]


def test_dir_file_rejected_again_by_the_new_parser_is_not_read_a_third_time(
    tmp_path, db, seed_dir, older_parser
):
    broken = seed_dir / "broken.txt"
    broken.write_text("这不是任何已知格式的文件。\n", encoding="utf-8")
    config = make_config(tmp_path, dir_source(seed_dir))
    one(poll(db, config))
    older_parser.upgrade()

    report = one(poll(db, config, now=NOW + 2 * HOUR))

    assert older_parser.calls == [None]
    assert report.new == 0 and "broken.txt: unrecognised document format" in report.error
    entry = load_entries(db.conn, "files")[broken.name]
    assert (entry.status, entry.parser_version) == ("rejected", parsers.PARSER_VERSION)

    # Unchanged, or only touched: not read again under this version.
    st = broken.stat()
    os.utime(broken, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    for hours in (4, 6):
        report = one(poll(db, config, now=NOW + hours * HOUR))
        assert older_parser.calls == [None]
        assert report.error is None
    entry = load_entries(db.conn, "files")[broken.name]
    assert (entry.status, entry.parser_version) == ("rejected", parsers.PARSER_VERSION)


LEGACY_BODIES = {
    "gbk-feed": (RSS.format(decl="").encode("gbk"), TITLES),
    "big5-feed": (RSS_TRAD.format(decl="").encode("big5"), TITLES_TRAD),
    "gbk-page": (PAGE_3.encode("gbk"), ["美俄将在日内瓦举行战略稳定对话"]),
}


def local_then_fetched(tmp_path, db, http, body: bytes) -> tuple[PollReport, PollReport]:
    """The same bytes read from a folder, then polled as a feed URL without a charset header
    (after the file, so the file's reading is the one stored)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "doc.txt").write_bytes(body)
    http.get(FEED).respond(200, content=body)
    local = one(poll(db, make_config(tmp_path, dir_source(folder))))
    fetched = one(poll(db, make_config(tmp_path, feed())))
    return local, fetched


@pytest.mark.parametrize("name", sorted(LEGACY_BODIES))
def test_undeclared_legacy_chinese_file_is_stored_as_it_is_fetched(name, tmp_path, db, http):
    body, expected = LEGACY_BODIES[name]
    local, fetched = local_then_fetched(tmp_path, db, http, body)
    assert (local.new, fetched.seen) == (len(expected), len(expected))
    assert titles(db, "files") == titles(db, "news") == expected


def test_text_in_another_encoding_is_stored_neither_fetched_nor_local(tmp_path, db, http):
    japanese = RSS.format(decl="").replace(TITLES[0], "ロシアとウクライナの首脳が電話で会談した")
    japanese = japanese.replace(TITLES[1], "停戦について話し合った")
    for chinese in re.findall(r"[\u4e00-\u9fff]+", japanese):
        japanese = japanese.replace(chinese, "日本語のニュース")
    local, fetched = local_then_fetched(tmp_path, db, http, japanese.encode("shift_jis"))
    assert "not UTF-8, GBK/GB18030 or Big5" in local.error
    assert fetched.outcome == "parse_error" and "not UTF-8, GBK/GB18030 or Big5" in fetched.error
    assert titles(db, "files") == titles(db, "news") == []


def test_dir_bad_file_is_reported_and_the_others_are_stored(tmp_path, db, seed_dir):
    config = make_config(tmp_path, dir_source(seed_dir))
    (seed_dir / "broken.txt").write_text("这不是任何已知格式的文件。\n", encoding="utf-8")
    (seed_dir / "gone.txt").write_text(
        (FIXTURES / "epoch_placeholder_removed.txt").read_text("utf-8"), encoding="utf-8"
    )
    (seed_dir / "notes.json").write_text("{}", encoding="utf-8")  # not a document: ignored
    hidden = seed_dir / ".cache"
    hidden.mkdir()
    (hidden / "x.txt").write_text("garbage", encoding="utf-8")

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.new) == ("ok", True, 5)
    assert "broken.txt" in report.error and "unrecognised document format" in report.error
    assert "gone.txt" not in report.error  # a placeholder is no failure
    entries = load_entries(db.conn, "files")
    assert entries["broken.txt"].status == "rejected"
    assert entries["gone.txt"].status == "rejected" and "placeholder" in entries["gone.txt"].reason
    assert "notes.json" not in entries and ".cache/x.txt" not in entries
    assert len(titles(db, "files")) == 5
    (row,) = fetches(db, "files")
    assert "broken.txt" in row["error"]

    # A rejected file that did not change is not read again, nor reported again.
    again = one(poll(db, config, now=NOW + 2 * HOUR))
    assert again.error is None and again.bytes == 0


def test_dir_stores_markdown_articles_and_refuses_readmes_without_an_error(tmp_path, db, seed_dir):
    """A mirror checkout of Markdown copies: the articles are stored, its README and
    index pages are no articles, which the poll's error does not list."""
    (seed_dir / "2022-01-03-biden-putin.md").write_bytes(
        (FIXTURES / "markdown_basic.md").read_bytes()
    )
    (seed_dir / "README.md").write_text(
        "# 美国之音存档\n\n每日更新。\n\n- [拜登与普京通话](2022-01-03-biden-putin.md)\n"
        "- [北约外长会议](2022-01-07-nato.md)\n",
        encoding="utf-8",
    )
    config = make_config(tmp_path, dir_source(seed_dir))

    report = one(poll(db, config))

    assert (report.outcome, report.new, report.error) == ("ok", 6, None)
    assert "拜登与普京通话" in titles(db, "files")
    entries = load_entries(db.conn, "files")
    assert entries["2022-01-03-biden-putin.md"].status == "stored"
    readme = entries["README.md"]
    assert readme.status == "rejected" and "is mostly links" in readme.reason


def test_dir_many_bad_files_are_counted_after_the_first_few(tmp_path, db, seed_dir):
    """A mirror checkout holds many files that are no articles (index pages, READMEs): the
    first poll's error names a few and counts the rest."""
    config = make_config(tmp_path, dir_source(seed_dir))
    for i in range(30):
        (seed_dir / f"index{i:02}.txt").write_text(f"目录 {i}\n", encoding="utf-8")

    report = one(poll(db, config))

    assert (report.outcome, report.new) == ("ok", 5)
    assert report.error.startswith("index00.txt: unrecognised document format")
    assert "index02.txt" in report.error and "index03.txt" not in report.error
    assert report.error.endswith("; and 27 more")
    entries = load_entries(db.conn, "files")
    assert sum(e.status == "rejected" for e in entries.values()) == 30  # each one kept


def test_dir_file_that_cannot_be_read_is_named_and_the_others_are_stored(
    tmp_path, db, seed_dir, monkeypatch
):
    """A file without read permission, or one a `git pull` in the mirror checkout removes
    while the folder is scanned, fails on its own: the rest of the folder is stored, and
    the file is tried again on the next poll."""
    config = make_config(tmp_path, dir_source(seed_dir))
    locked = seed_dir / "002_7ac03c88fe2e9e94.txt"
    vanished = seed_dir / "zz_vanished.txt"
    vanished.write_bytes(locked.read_bytes())
    real_read = Path.read_bytes

    def read_bytes(self):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        if self == vanished:
            raise FileNotFoundError(2, "No such file or directory", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.new) == ("ok", True, 4)
    assert locked.name in report.error and "Permission denied" in report.error
    assert vanished.name not in report.error  # gone: nothing to report
    entries = load_entries(db.conn, "files")
    assert locked.name not in entries and vanished.name not in entries

    monkeypatch.setattr(Path, "read_bytes", real_read)
    again = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (again.new, again.error) == (1, None)
    assert load_entries(db.conn, "files")[locked.name].status == "stored"


def test_dir_folder_gone_while_running_is_a_failing_source(tmp_path, db, seed_dir):
    """A folder removed or unmounted after the config loaded (or missing when it loaded):
    the daemon's polls fail and say so instead of reporting an empty folder as ok."""
    config = make_config(tmp_path, dir_source(seed_dir))
    assert one(poll(db, config)).new == 5
    moved = seed_dir.rename(tmp_path / "moved")

    report = one(poll(db, config, now=NOW + 2 * HOUR))

    assert (report.outcome, report.ok) == ("not_found", False)
    assert str(seed_dir) in report.error and "does not exist" in report.error
    state = load_states(db)["files"]
    assert state.consecutive_errors == 1 and state.last_success == NOW
    assert len(titles(db, "files")) == 5  # what it stored stays

    moved.rename(seed_dir)
    back = one(poll(db, config, now=NOW + 4 * HOUR))
    assert (back.outcome, back.new, back.seen) == ("ok", 0, 0)


def test_dir_scan_stops_between_files_when_the_daemon_stops(tmp_path, db, seed_dir, monkeypatch):
    """The first scan of a large mirror checkout takes minutes: SIGTERM must not wait for
    it (a container is killed 10 s after it). What was read is stored; the rest is read
    at the next poll."""
    config = make_config(tmp_path, dir_source(seed_dir))
    stop = threading.Event()
    real = pipeline.parse_and_key

    def parse_then_stop(*args, **kwargs):
        stop.set()  # SIGTERM arrives while the first file is read
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "parse_and_key", parse_then_stop)

    async def go():
        poller = Poller(db, config, rand=lambda: 0.5)
        try:
            return await poller.poll(list(config.sources), now=NOW, stop=stop)
        finally:
            await poller.aclose()

    report = one(asyncio.run(go()))

    assert (report.outcome, report.new) == ("ok", 1)
    assert "stopped after 1 of 5 files" in report.error
    monkeypatch.undo()
    again = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (again.new, again.error) == (4, None)


def _unlistable(monkeypatch, *folders: Path) -> None:
    """Listing ``folders`` fails as without read permission (the tests may run as root)."""
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) in folders:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_dir_folder_that_cannot_be_listed_is_a_failing_source(tmp_path, db, seed_dir, monkeypatch):
    """A folder the daemon may not list (a bind mount owned by another user) reads as empty
    to a walk that skips what it cannot list: the poll must fail and say why, not report
    an empty folder as ok and keep the health check green."""
    config = make_config(tmp_path, dir_source(seed_dir))
    _unlistable(monkeypatch, seed_dir)

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.new) == ("unreadable", False, 0)
    assert str(seed_dir) in report.error and "Permission denied" in report.error
    assert state(db, "files").consecutive_errors == 1


def test_dir_subfolder_that_cannot_be_listed_is_named_and_the_others_are_stored(
    tmp_path, db, seed_dir, monkeypatch
):
    """As for a file that cannot be read: the rest is stored, the subfolder is named in the
    poll's error, and its files are read once it can be listed."""
    config = make_config(tmp_path, dir_source(seed_dir))
    locked = seed_dir / "2022"
    locked.mkdir()
    (seed_dir / "004_422941471d0b9345.txt").rename(locked / "004.txt")
    _unlistable(monkeypatch, locked)

    report = one(poll(db, config))

    assert (report.outcome, report.ok, report.new) == ("ok", True, 4)
    assert "2022" in report.error and "Permission denied" in report.error
    monkeypatch.undo()
    again = one(poll(db, config, now=NOW + 2 * HOUR))
    assert (again.new, again.error) == (1, None)


def test_a_dir_path_changed_in_the_config_is_due_at_once(tmp_path, db, seed_dir):
    """As for a new URL: the fix for a folder that is gone is a new path, which must not wait
    out the old one's backoff."""
    config = make_config(tmp_path, dir_source(seed_dir))
    assert one(poll(db, config)).new == 5
    assert state(db, "files").config_url == str(seed_dir)
    moved = seed_dir.rename(tmp_path / "moved")
    for hours in (2, 4):  # the old folder is gone: two failures, backing off 2h then 4h
        assert not one(poll(db, config, now=NOW + hours * HOUR)).ok
    assert state(db, "files").next_check == NOW + 8 * HOUR

    elsewhere = make_config(tmp_path, dir_source(moved))
    assert [s.name for s in due_sources(elsewhere, load_states(db), NOW + 5 * HOUR)] == ["files"]
    assert due_sources(config, load_states(db), NOW + 5 * HOUR) == []
    moved.rename(tmp_path / "gone too")  # the new path fails too: its first failure
    assert not one(poll(db, elsewhere, now=NOW + 5 * HOUR)).ok
    s = state(db, "files")
    assert (s.config_url, s.consecutive_errors, s.next_check) == (str(moved), 1, NOW + 7 * HOUR)


HTML_PAGE = (Path(__file__).parent / "fixtures" / "parsers" / "html_page.html").read_bytes()


def test_a_page_source_reads_a_saved_web_page_and_a_feed_source_refuses_one(tmp_path, db, http):
    """A web page is an article where one is expected (a page or mirror source); at a feed's
    address it means the feed is gone, and the feed is failing."""
    page_url = "https://mirror.example.net/saved/n13473224.html"
    http.get(page_url).respond(200, content=HTML_PAGE, headers={"Content-Type": "text/html"})
    http.get(FEED).respond(200, content=HTML_PAGE, headers={"Content-Type": "text/html"})
    config = make_config(
        tmp_path, {"name": "saved", "kind": "page", "url": page_url, "interval": "1h"}, feed()
    )

    reports = {r.source: r for r in poll(db, config)}

    assert (reports["saved"].outcome, reports["saved"].new) == ("ok", 1)
    (key,) = db.conn.execute("SELECT story_key FROM items").fetchone()
    assert key == "epochtimes:n13473224"  # the canonical link's site id, as the seeds have it
    news = reports["news"]
    assert (news.outcome, news.ok, news.new) == ("parse_error", False, 0)
    assert news.error == "not a feed: a web page ('拜登普京本月第二度通话 双方互发警告')"
    assert titles(db, "news") == []

    # The site's front page (teasers, no one article) at the feed's address: the same.
    front = b"<!doctype html><html><head><title>Home</title></head><body>" + (
        b"<article><h2>a</h2></article><article><h2>b</h2></article></body></html>"
    )
    http.get(FEED).respond(200, content=front, headers={"Content-Type": "text/html"})
    again = one(poll(db, config, "news", now=NOW + 2 * HOUR))
    assert again.outcome == "parse_error" and again.error.startswith("not a feed: a web page (")


def test_a_feed_source_answering_with_a_markdown_page_is_a_failing_feed(tmp_path, db, http):
    """A repository that dropped its feed file for a notice, or an article copy at the
    feed's address: the feed is gone, no story is stored from it."""
    config = make_config(tmp_path, feed())
    article = (FIXTURES / "markdown_basic.md").read_bytes()
    http.get(FEED).respond(200, content=article, headers={"Content-Type": "text/plain"})

    news = one(poll(db, config))

    assert (news.outcome, news.ok, news.new) == ("parse_error", False, 0)
    assert news.error == "not a feed: a Markdown page ('拜登与普京通话')"
    assert titles(db, "news") == []

    notice = "# 本项目已停止更新\n\n- [新地址](https://example.org/feed.xml)\n".encode()
    http.get(FEED).respond(200, content=notice, headers={"Content-Type": "text/plain"})
    again = one(poll(db, config, now=NOW + 2 * HOUR))
    assert again.outcome == "parse_error"
    assert again.error.startswith("not a feed: a Markdown page (Markdown page '本项目已停止更新'")
