"""Digest selection on the real seeds, through the store: grouping, delivery at most once
to each delivery, and a failed delivery getting its stories again."""

from __future__ import annotations

import gc
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from test_deliver import Collector, free_port

from monitor import digest, dispatch, ingest, store
from monitor.cli import main
from monitor.config import parse_config

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
NOW = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
KEYS = {
    "000": "epochtimes:n13473224",
    "002": "epochtimes:n13470319",
    "004": "url://www.rfi.fr/cn/",  # prefix
}


def config_for(tmp_path, deliveries):
    return parse_config(
        {
            "watch": [
                {
                    "name": "ukraine",
                    "any": ["普京", "泽连斯基"],
                    "timezone": "Asia/Shanghai",
                    "delivery": deliveries,
                }
            ]
        },
        file="test.toml",
        base=tmp_path,
    )


@pytest.fixture(params=["queued", "indexed"])
def db(tmp_path, request):
    """The seeds, still queued for the full-text index or indexed: digests are the same."""
    db = store.open_db(tmp_path / "m.db")
    files = ingest.find_files([SEEDS]).files
    report = ingest.import_files(db, files, ingest.SiteRules.load_default(), now=NOW)
    assert report.new == 5
    if request.param == "indexed":
        assert store.index_pending(db) == 5
    assert store.pending_count(db.conn) == (5 if request.param == "queued" else 0)
    db.indexed = request.param == "indexed"
    return db


def titles_of(entry):
    return [entry.headline.title, *(s.title for s in entry.also)]


def test_seed_digest_groups_events_and_orders_newest_first(db, tmp_path):
    config = config_for(tmp_path, [])
    sel = digest.build(db, config, config.watch("ukraine"), now=NOW + timedelta(hours=1))
    heads = [e.headline.title for e in sel.digest.entries]
    assert heads == [
        "美乌总统新年来二度通话 拜登警告俄罗斯明显可能2月入侵乌克兰",  # 2022-01-28, alone
        "拜登普京本月第二度通话 双方互发警告",  # 12-31, with 002 (12-30)
        "视频2小时！拜登威胁制裁，普京：北约需承诺不东扩",  # 12-08 09:29, with 001 (01:56)
    ]
    assert [len(e.also) for e in sel.digest.entries] == [0, 1, 1]
    assert sel.digest.entries[1].also[0].title == "本月第二次会谈 拜登普京结束通话"
    assert sel.digest.entries[2].also[0].site == "Aljazeera 半岛网"
    # Times are in the watch's zone; a date-only source stays a date.
    assert sel.digest.entries[0].headline.published == "2022-01-28T23:45:02+08:00"
    assert sel.digest.entries[1].headline.published == "2021-12-31"
    assert sel.digest.entries[1].matched_terms == ["普京", "泽连斯基"]


def test_digest_stories_carry_their_lead_image_built_and_rebuilt(db, tmp_path):
    config = config_for(tmp_path, [{"kind": "file", "path": str(tmp_path / "out")}])
    watch = config.watch("ukraine")
    built = digest.build(db, config, watch, now=NOW + timedelta(hours=1)).digest
    assert dispatch.send(db, config, watch, now=NOW + timedelta(hours=1)).status == "delivered"
    (rebuilt,) = digest.history(db, config, watch)
    for d in (built, rebuilt):
        images = [[s.image for s in (e.headline, *e.also)] for e in d.entries]
        assert images == [
            [None],  # RFI's page has none
            [
                "https://i.epochtimes.com/assets/uploads/2021/12/id13425060-GettyImages-1237071062-600x400.jpg",
                "https://i.epochtimes.com/assets/uploads/2021/06/id13026209-GettyImages-1233484307-600x400.jpg",
            ],
            [
                "https://i.guancha.cn/news/2021/12/08/20211208092535932.jpeg",
                "https://chinese.aljazeera.net/wp-content/uploads/2021/12/image-18-1.jpg?w=770&resize=770%2C433",
            ],
        ]
    html = dispatch.rendered(config, db, watch, built, "html", images=True)
    assert '<img src="https://i.guancha.cn/news/2021/12/08/20211208092535932.jpeg"' in html


def test_a_rebuilt_digest_shows_the_terms_its_groups_matched(db, tmp_path):
    """The Atom feed rebuilds earlier digests from the store: a group's "matched" line and
    categories must stay what the digest said, not shrink to its headline's terms when the
    next digest rewrites the feed."""
    config = parse_config(
        {
            "watch": [
                {
                    "name": "nato",
                    "any": ["NATO", "泽连斯基"],  # NATO: only in 12-30's text, not 12-31's
                    "delivery": [{"kind": "file", "path": str(tmp_path / "out")}],
                }
            ]
        },
        file="test.toml",
        base=tmp_path,
    )
    watch = config.watch("nato")
    built = digest.build(db, config, watch, now=NOW + timedelta(hours=1)).digest
    assert dispatch.send(db, config, watch, now=NOW + timedelta(hours=1)).status == "delivered"
    (rebuilt,) = digest.history(db, config, watch)
    assert ["NATO", "泽连斯基"] in [e.matched_terms for e in built.entries]
    assert [e.matched_terms for e in rebuilt.entries] == [e.matched_terms for e in built.entries]


def test_a_story_is_delivered_once_per_watch(db, tmp_path):
    out = tmp_path / "digests"
    config = config_for(tmp_path, [{"kind": "file", "path": str(out), "format": "md"}])
    watch = config.watch("ukraine")
    first = dispatch.send(db, config, watch, now=NOW + timedelta(hours=1))
    assert (first.status, first.stories, first.groups) == ("delivered", 5, 3)
    (written,) = out.iterdir()
    assert "拜登普京本月第二度通话" in written.read_text(encoding="utf-8")
    second = dispatch.send(db, config, watch, now=NOW + timedelta(hours=2))
    assert second.status == "empty" and len(list(out.iterdir())) == 1
    # Groups are stored for users to query.
    groups = {r[0] for r in db.conn.execute("SELECT group_id FROM story_groups")}
    assert len(groups) == 3
    # A new matching story later is the only one in the next digest.
    late = NOW + timedelta(days=1)
    late_story(db, tmp_path, late)
    third = dispatch.send(db, config, watch, now=late + timedelta(hours=1))
    assert (third.status, third.stories) == ("delivered", 1)


def test_a_failed_delivery_marks_nothing_and_the_next_run_sends_it(db, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    config = config_for(tmp_path, [{"kind": "file", "path": str(blocked / "sub")}])
    watch = config.watch("ukraine")
    failed = dispatch.send(db, config, watch, now=NOW + timedelta(hours=1))
    assert failed.status == "failed" and failed.error
    row = db.conn.execute("SELECT status, error FROM digests").fetchone()
    assert row[0] == "failed" and row[1]
    blocked.unlink()
    retry = dispatch.send(db, config, watch, now=NOW + timedelta(hours=2))
    assert (retry.status, retry.stories) == ("delivered", 5)


def test_a_delivery_that_breaks_unexpectedly_fails_alone(db, tmp_path, monkeypatch, caplog):
    """An exception no delivery expects (a bug, a library's ValueError) skipped the watch's
    other deliveries and left its digest unrecorded ('sending'); the CLI took it for a bad
    --since. It fails that delivery alone, with its traceback in the log."""

    def broken(*_args, **_kw):
        raise ValueError("unexpected")

    monkeypatch.setattr(dispatch.deliver, "post_webhook", broken)
    config = config_for(
        tmp_path,
        [
            {"kind": "webhook", "url": "https://hooks.example/h"},
            {"kind": "file", "path": str(tmp_path / "out")},
        ],
    )
    watch = config.watch("ukraine")
    with caplog.at_level(logging.ERROR, logger="monitor.digest"):
        result = dispatch.send(db, config, watch, now=NOW + timedelta(hours=1))
    assert (result.status, result.stories) == ("partial", 5)
    assert "ValueError: unexpected" in result.error
    assert len(list((tmp_path / "out").iterdir())) == 1
    assert db.conn.execute("SELECT status FROM digests").fetchall() == [("partial",)]
    assert any(r.exc_info for r in caplog.records), caplog.text


def test_a_delivery_failing_longer_than_the_lookback_still_gets_its_first_stories(db, tmp_path):
    """A delivery that never got a digest starts `digest_lookback` back from its first
    attempt, not from each retry: a week-long outage must not lose that week's stories."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    config = config_for(tmp_path, [{"kind": "file", "path": str(blocked / "sub")}])
    watch = config.watch("ukraine")
    assert dispatch.send(db, config, watch, now=NOW + timedelta(hours=1)).status == "failed"
    assert dispatch.send(db, config, watch, now=NOW + timedelta(days=5)).status == "failed"
    blocked.unlink()
    retry = dispatch.send(db, config, watch, now=NOW + timedelta(days=9))
    assert (retry.status, retry.stories) == ("delivered", 5)
    assert dispatch.send(db, config, watch, now=NOW + timedelta(days=10)).status == "empty"
    # A new delivery added later starts its own lookback: it is not sent the old stories.
    config = config_for(
        tmp_path,
        [
            {"kind": "file", "path": str(blocked / "sub")},
            {"kind": "file", "path": str(tmp_path / "new")},
        ],
    )
    assert (
        dispatch.send(db, config, config.watch("ukraine"), now=NOW + timedelta(days=11)).status
        == "empty"
    )


def test_a_story_of_a_poll_that_straddled_a_digest_comes_with_the_next_one(db, tmp_path):
    """A poll stamps its stories with its start and commits them at its end: a story
    stamped before a digest but stored after it was skipped by every later window."""
    config = config_for(tmp_path, [{"kind": "file", "path": str(tmp_path / "out")}])
    watch = config.watch("ukraine")
    digest_at = NOW + timedelta(hours=1)
    assert dispatch.send(db, config, watch, now=digest_at).stories == 5
    late_story(db, tmp_path, digest_at - timedelta(seconds=15))  # its poll began before

    nxt = dispatch.send(db, config, watch, now=digest_at + timedelta(minutes=1))
    assert (nxt.status, nxt.stories) == ("delivered", 1)
    assert dispatch.send(db, config, watch, now=digest_at + timedelta(minutes=2)).status == "empty"


def test_a_narrower_window_leaves_the_stories_it_skipped_for_the_next_digest(db, tmp_path):
    config = config_for(tmp_path, [{"kind": "file", "path": str(tmp_path / "out")}])
    watch = config.watch("ukraine")
    late = NOW + timedelta(days=1)
    late_story(db, tmp_path, late)

    narrow = dispatch.send(db, config, watch, since="1h", now=late + timedelta(minutes=5))
    assert (narrow.status, narrow.stories) == ("delivered", 1)
    rest = dispatch.send(db, config, watch, now=late + timedelta(minutes=10))
    assert (rest.status, rest.stories) == ("delivered", 5)  # the seeds, not the late one again
    assert dispatch.send(db, config, watch, now=late + timedelta(minutes=20)).status == "empty"


def test_a_delivered_digest_names_its_number_in_the_store(db, tmp_path):
    """Receivers correlate what they got with ``digests`` by ``digest_id``."""
    out = tmp_path / "out"
    config = config_for(tmp_path, [{"kind": "file", "path": str(out), "format": "json"}])
    assert dispatch.send(db, config, config.watch("ukraine"), now=NOW).status == "delivered"
    (written,) = out.iterdir()
    (row,) = db.conn.execute("SELECT id, status FROM digests").fetchall()
    assert (json.loads(written.read_text(encoding="utf-8"))["digest_id"], "delivered") == row


def test_an_atom_file_delivery_keeps_one_feed_to_subscribe_to(db, tmp_path):
    import feedparser

    out = tmp_path / "feeds"
    config = config_for(tmp_path, [{"kind": "file", "path": str(out), "format": "atom"}])
    watch = config.watch("ukraine")
    assert dispatch.send(db, config, watch, now=NOW).stories == 5
    late = NOW + timedelta(days=1)
    late_story(db, tmp_path, late)
    assert dispatch.send(db, config, watch, now=late + timedelta(hours=1)).stories == 1

    assert [f.name for f in out.iterdir()] == ["ukraine.atom"]
    feed = feedparser.parse((out / "ukraine.atom").read_bytes())
    assert not feed.bozo
    titles = [e.title for e in feed.entries]
    assert "普京回应北约书面答复" in titles and "拜登普京本月第二度通话 双方互发警告" in titles


def test_two_senders_at_once_send_the_stories_once(db, tmp_path, caplog):
    """A cron `digest --send` and the daemon's scheduled digest: the second waits for the
    first, then finds nothing left to send."""
    import fcntl
    import threading

    caplog.set_level(logging.INFO, "monitor.digest")
    db_path = tmp_path / "m.db"
    out = tmp_path / "out"
    config = config_for(tmp_path, [{"kind": "file", "path": str(out), "format": "md"}])
    watch = config.watch("ukraine")
    other = store.open_db(tmp_path / "m.db")  # another connection, as another process has
    results = []

    def send(conn):
        results.append(dispatch.send(conn, config, watch, now=NOW).status)

    with open(f"{tmp_path / 'm.db'}.send-lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a sender at work
        threads = [threading.Thread(target=send, args=(c,)) for c in (db, other)]
        for t in threads:
            t.start()
        for _ in range(600):  # until both are at the lock (or 30 s, and the asserts say so)
            waiting = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
            if len(waiting) == 2:
                break
            threads[0].join(0.05)
        assert results == [] and not out.exists()  # both wait, and say so
        assert waiting == [f"waiting for another process sending digests from {db_path}"] * 2
        fcntl.flock(held, fcntl.LOCK_UN)
    for t in threads:
        t.join(30)
    assert sorted(results) == ["delivered", "empty"]
    assert len(list(out.iterdir())) == 1


def late_story(db, tmp_path, when):
    """One more matching story, stored at ``when``."""
    body = "".join(
        f"<p>第{i}段：普京周四在莫斯科表示，俄方将在下周回应北约的书面答复，并提出新的建议。</p>"
        for i in range(5)
    )
    (tmp_path / "late.txt").write_text(
        "<!--1643700000000-->\n[普京回应北约书面答复](https://www.rfi.fr/cn/late-story)\n"
        f"------\n\n<div>{body}</div>\n",
        encoding="utf-8",
    )
    ingest.import_files(db, [tmp_path / "late.txt"], ingest.SiteRules.load_default(), now=when)


def deliveries_of(db):
    return db.conn.execute(
        "SELECT d.id, d.status, d.stories, dd.delivery, dd.status FROM digests d "
        "JOIN digest_deliveries dd ON dd.digest_id = d.id ORDER BY d.id, dd.delivery"
    ).fetchall()


def test_each_delivery_is_marked_on_its_own(db, tmp_path):
    """One delivery failing neither stops the other nor makes it repeat the stories."""
    good, blocked = tmp_path / "good", tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    config = config_for(
        tmp_path,
        [
            {"kind": "file", "path": str(good), "format": "md"},
            {"kind": "file", "path": str(blocked / "sub"), "format": "json"},
        ],
    )
    watch = config.watch("ukraine")
    g, b = (how.key for how in watch.deliveries)

    first = dispatch.send(db, config, watch, now=NOW + timedelta(hours=1))
    assert (first.status, first.stories) == ("partial", 5)
    assert len(first.outputs) == 1 and len(list(good.iterdir())) == 1
    assert first.error.startswith(f"cannot write digest to {blocked / 'sub'}")
    assert deliveries_of(db) == [(1, "partial", 5, b, "failed"), (1, "partial", 5, g, "delivered")]
    # The first window reaches back digest_lookback (7 days) from the send.
    assert db.conn.execute("SELECT since, window_start FROM digests").fetchall() == [
        ("the first digest: stories since 2026-11-15 09:00", "2026-11-15T01:00:00Z")
    ]

    # Still failing: only the failed delivery is tried, with the same five stories.
    second = dispatch.send(db, config, watch, now=NOW + timedelta(hours=2))
    assert (second.status, second.stories, second.outputs) == ("failed", 5, [])
    assert len(list(good.iterdir())) == 1
    assert deliveries_of(db)[2:] == [(2, "failed", 5, b, "failed")]

    # Mended: it gets them; the good one, which had them, gets nothing.
    blocked.unlink()
    third = dispatch.send(db, config, watch, now=NOW + timedelta(hours=3))
    assert (third.status, third.stories, len(third.outputs)) == ("delivered", 5, 1)
    assert len(list(good.iterdir())) == 1 and len(list((blocked / "sub").iterdir())) == 1
    assert deliveries_of(db)[3:] == [(3, "delivered", 5, b, "delivered")]

    # From then on both get the same digest again: built and recorded once.
    late_story(db, tmp_path, NOW + timedelta(days=1))
    fourth = dispatch.send(db, config, watch, now=NOW + timedelta(days=1, hours=1))
    assert (fourth.status, fourth.stories, len(fourth.outputs)) == ("delivered", 1, 2)
    assert deliveries_of(db)[4:] == [
        (4, "delivered", 1, b, "delivered"),
        (4, "delivered", 1, g, "delivered"),
    ]
    assert dispatch.send(db, config, watch, now=NOW + timedelta(days=1, hours=2)).status == "empty"


def test_a_mail_some_recipients_got_is_not_mailed_to_them_again(db, tmp_path):
    """A refused address (550: no such user) is reported, but the recipients the server
    took the mail for are not sent it again at every run."""
    handler = Collector(refuse_rcpt="gone@example.org")
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(controller.port),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "monitor@example.org",
    }
    config = config_for(
        tmp_path, [{"kind": "email", "to": ["reader@example.org", "gone@example.org"]}]
    )
    watch = config.watch("ukraine")
    try:
        first = dispatch.send(db, config, watch, now=NOW + timedelta(hours=1), env=env)
        again = dispatch.send(db, config, watch, now=NOW + timedelta(hours=2), env=env)
    finally:
        controller.stop()

    assert (first.status, first.stories, first.error) == ("delivered", 5, None)
    assert "refused some recipients" in first.warning and "gone@example.org" in first.warning
    assert again.status == "empty"
    (envelope,) = handler.envelopes
    assert envelope.rcpt_tos == ["reader@example.org"]
    assert db.conn.execute("SELECT status, error FROM digest_deliveries").fetchall() == [
        ("delivered", first.warning)
    ]


def test_a_digest_delivered_before_per_delivery_marks_counts_for_every_delivery(db, tmp_path):
    """A store from before ``digest_deliveries``: its delivered digests reached every
    delivery the watch had, so none of them gets those stories again, even renamed."""
    config = config_for(tmp_path, [{"kind": "file", "path": str(tmp_path / "old")}])
    watch = config.watch("ukraine")
    assert dispatch.send(db, config, watch, now=NOW + timedelta(hours=1)).status == "delivered"
    db.conn.executescript(  # as version 5 left it
        "DROP TABLE digest_deliveries; ALTER TABLE digests DROP COLUMN window_start; "
        "ALTER TABLE digests DROP COLUMN through_id; UPDATE digests SET since = 'new stories'; "
        "DROP INDEX source_entries_rejected; "
        "ALTER TABLE source_entries DROP COLUMN parser_version; DROP TABLE store_meta; "
        "DROP TABLE host_blocks; "
        "PRAGMA user_version = 5;"
    )
    store.migrate(db)
    newest = db.conn.execute("SELECT max(id) FROM items").fetchone()[0]
    # Its stories were all stored before it: the next window starts after them.
    assert db.conn.execute("SELECT window_start, through_id FROM digests").fetchall() == [
        (None, newest)
    ]
    assert db.conn.execute("SELECT delivery, status FROM digest_deliveries").fetchall() == [
        ("*", "delivered")
    ]
    moved = config_for(
        tmp_path,
        [{"kind": "file", "path": str(tmp_path / "new")}, {"kind": "stdout", "format": "text"}],
    )
    again = dispatch.send(db, moved, moved.watch("ukraine"), now=NOW + timedelta(hours=2))
    assert again.status == "empty"


def test_delivery_keys_name_the_target_but_not_a_webhook_token(tmp_path):
    config = config_for(
        tmp_path,
        [
            {"kind": "file", "path": "d", "format": "html"},
            {"kind": "email", "to": ["b@example.org", "a@example.org"]},
            {"kind": "webhook", "url": "https://hooks.example.com/services/T0/SECRET"},
            {"kind": "webhook", "url": "https://hooks.example.com/services/T0/OTHER"},
            {"kind": "stdout"},
        ],
    )
    keys = [how.key for how in config.watch("ukraine").deliveries]
    assert keys[0] == f"file html {tmp_path / 'd'}"
    assert keys[1] == "email a@example.org, b@example.org"
    assert keys[2].startswith("webhook hooks.example.com ") and "SECRET" not in keys[2]
    assert keys[2] != keys[3] and len(set(keys)) == 5
    assert keys[4] == "stdout text"  # its default format


def test_empty_digest_is_not_sent_unless_asked(db, tmp_path):
    out = tmp_path / "digests"
    config = parse_config(
        {
            "watch": [
                {
                    "name": "nothing",
                    "any": ["莫斯科地铁"],
                    "delivery": [{"kind": "file", "path": str(out)}],
                }
            ]
        },
        file="t.toml",
        base=tmp_path,
    )
    watch = config.watch("nothing")
    assert dispatch.send(db, config, watch, now=NOW).status == "empty"
    assert not out.exists()
    assert dispatch.send(db, config, watch, now=NOW, send_empty=True).status == "delivered"
    assert len(list(out.iterdir())) == 1


def test_the_digest_header_says_its_window_in_the_watch_s_time_zone(db, tmp_path):
    """Every time a digest shows is in its watch's zone: the window's start said in UTC
    ("…since 2026-11-15T01:00:00Z") under a dateline in Asia/Shanghai read 8 hours off."""
    config = config_for(tmp_path, [{"kind": "file", "path": str(tmp_path / "out")}])
    watch = config.watch("ukraine")
    first = digest.build(db, config, watch, now=NOW + timedelta(hours=1)).digest
    assert first.generated_at == "2026-11-22T09:00:00+08:00"
    assert first.since == "the first digest: stories since 2026-11-15 09:00"
    assert dispatch.send(db, config, watch, now=NOW + timedelta(hours=1)).status == "delivered"
    later = digest.build(db, config, watch, now=NOW + timedelta(hours=2)).digest
    assert later.since == "since the last digest (2026-11-22 09:00)"


@pytest.mark.parametrize("since, expected", [("2021-12-01", 3), ("24h", 3), ("last", 3)])
def test_since(db, tmp_path, since, expected):
    config = config_for(tmp_path, [])
    sel = digest.build(
        db, config, config.watch("ukraine"), since=since, now=NOW + timedelta(hours=1)
    )
    assert len(sel.digest.entries) == expected


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2026-11-21T23:59:59Z", 3),  # as the store writes times
        ("2026-11-22T00:00:01Z", 0),
        ("2026-11-22 07:59", 3),  # no zone: the watch's (Asia/Shanghai)
        ("2026-11-22T08:00:01+08:00", 0),
    ],
)
def test_since_a_time(db, tmp_path, since, expected):
    config = config_for(tmp_path, [])
    sel = digest.build(db, config, config.watch("ukraine"), since=since, now=NOW)
    assert len(sel.digest.entries) == expected
    assert sel.digest.since == f"since {since}"
    with pytest.raises(ValueError, match="is not a time"):
        digest.build(db, config, config.watch("ukraine"), since="2026-11-22T25:00", now=NOW)


@pytest.mark.parametrize("since", ["0999-01-01", "1000-01-01", "500000d"])
def test_since_long_ago_finds_every_story(db, tmp_path, since):
    """A window starting before the year 1000 was written "999-01-01T…", after every
    stored time as text, and found nothing."""
    config = config_for(tmp_path, [])
    sel = digest.build(db, config, config.watch("ukraine"), since=since, now=NOW)
    assert len(sel.digest.entries) == 3


def test_since_before_the_year_1_is_refused(db, tmp_path):
    """--since 0001-01-01 in a zone east of UTC is before the year 1 in UTC: it used to
    end in an OverflowError traceback."""
    config = config_for(tmp_path, [])
    with pytest.raises(ValueError, match="'0001-01-01' reaches back before the year 1"):
        digest.build(db, config, config.watch("ukraine"), since="0001-01-01", now=NOW)


def test_since_outside_the_window_finds_nothing(db, tmp_path):
    config = config_for(tmp_path, [])
    later = NOW + timedelta(days=3)
    sel = digest.build(db, config, config.watch("ukraine"), since="24h", now=later)
    assert sel.digest.entries == []
    with pytest.raises(ValueError, match="--since"):
        digest.build(db, config, config.watch("ukraine"), since="yesterday", now=later)


def several_watches(tmp_path):
    return parse_config(
        {
            "watch": [
                {"name": "ukraine", "any": ["普京", "泽连斯基"]},
                {"name": "calls", "all": ["拜登", "通话"], "exclude": ["视频"]},
                {"name": "nato", "any": ["北约", "NATO"]},
                {"name": "dates", "regex": r"\d+月\d+日"},
                {"name": "none", "any": ["莫斯科地铁"]},
            ]
        },
        file="t.toml",
        base=tmp_path,
    )


def as_data(sel):
    return sel.digest, sel.members


def test_watches_built_with_one_cache_get_the_same_digests(db, tmp_path, monkeypatch):
    config = several_watches(tmp_path)
    now = NOW + timedelta(hours=1)
    alone = [as_data(digest.build(db, config, w, now=now)) for w in config.watches]
    assert [len(d.entries) for d, _ in alone] == [3, 2, 2, 3, 0]

    calls = {"features": [], "decode_features": []}
    for name, made in calls.items():
        real = getattr(digest.similarity, name)
        monkeypatch.setattr(
            digest.similarity,
            name,
            lambda *a, made=made, real=real, **k: made.append(a[0]) or real(*a, **k),
        )
    cache = digest.StoryCache()
    shared = [as_data(digest.build(db, config, w, now=now, cache=cache)) for w in config.watches]
    assert shared == alone
    # Each story was featurized once for all the watches that took it: from the features
    # the index catch-up kept, or from its text while it is still queued.
    made = calls["decode_features" if db.indexed else "features"]
    assert len(made) == len(set(made)) == 5 and len(cache) == 5
    assert sum(map(len, calls.values())) == 5


@pytest.mark.parametrize("db", ["indexed"], indirect=True)
def test_digests_use_the_kept_event_features_of_their_version_only(db, tmp_path):
    config = config_for(tmp_path, [])
    build = lambda: as_data(digest.build(db, config, config.watch("ukraine"), now=NOW))  # noqa: E731
    before = build()
    assert [len(titles_of(e)) for e in before[0].entries] == [1, 2, 2]
    # Kept rows are what the digest reads: emptied, no two stories share a word any more.
    db.conn.execute("UPDATE event_features SET lead = x'', title = x'', entities = ''")
    emptied = build()
    assert [len(titles_of(e)) for e in emptied[0].entries] == [1, 1, 1, 1, 1]
    # Rows of another feature version are ignored: the digest reads the texts again.
    db.conn.execute("UPDATE event_features SET version = version + 1")
    assert build() == before


def test_building_a_digest_restores_the_cycle_collector(db, tmp_path):
    config = config_for(tmp_path, [])
    watch = config.watch("ukraine")
    assert gc.isenabled()
    digest.build(db, config, watch, now=NOW)
    assert gc.isenabled()
    gc.disable()
    try:
        digest.build(db, config, watch, now=NOW)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_a_story_cache_run_pauses_the_collector_and_frees_its_stories(db, tmp_path):
    config = several_watches(tmp_path)
    now = NOW + timedelta(hours=1)
    alone = [as_data(digest.build(db, config, w, now=now)) for w in config.watches]
    assert gc.isenabled()
    with digest.StoryCache() as cache:
        assert not gc.isenabled()
        shared = [
            as_data(digest.build(db, config, w, now=now, cache=cache)) for w in config.watches
        ]
        assert not gc.isenabled()  # between watches too
        assert len(cache) == 5
    assert gc.isenabled() and len(cache) == 0
    assert shared == alone
    gc.disable()
    try:
        with digest.StoryCache():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def seeds_with_a_file_watch(tmp_path):
    """The CLI on a store of the seeds, with one watch delivering JSON files to ``out``."""
    cfg = tmp_path / "monitor.toml"
    out = tmp_path / "digests"
    cfg.write_text(
        f'[[watch]]\nname = "ukraine"\nany = ["普京", "泽连斯基"]\n'
        f'[[watch.delivery]]\nkind = "file"\npath = "{out}"\nformat = "json"\n',
        encoding="utf-8",
    )
    run = CliRunner()
    base = ["--db", str(tmp_path / "m.db"), "--config", str(cfg)]
    assert run.invoke(main, [*base, "import", str(SEEDS)]).exit_code == 0
    return run, base, out


def test_a_watch_leaves_out_the_stories_of_monitor_import_by_source(tmp_path):
    """``import`` is the source of imported stories: ``exclude_sources`` leaves them out
    and keeps the ones a configured source polled (``sources`` keeps only them)."""
    polled, imported = tmp_path / "polled", tmp_path / "imported"
    polled.mkdir(), imported.mkdir()
    for seed in sorted(SEEDS.iterdir()):
        folder = polled if seed.name[:3] in ("000", "001") else imported
        (folder / seed.name).write_bytes(seed.read_bytes())
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        f'[[source]]\nname = "mirror"\nkind = "dir"\npath = "{polled}"\n'
        '[[watch]]\nname = "polled"\nany = ["拜登"]\nexclude_sources = ["import"]\n'
        '[[watch]]\nname = "imported"\nany = ["拜登"]\nsources = ["import"]\n',
        encoding="utf-8",
    )
    run = CliRunner()
    base = ["--db", str(tmp_path / "m.db"), "--config", str(cfg)]
    imported_run = run.invoke(main, [*base, "import", str(imported)])
    assert imported_run.exit_code == 0, imported_run.output
    polled_run = run.invoke(main, [*base, "poll"])
    assert polled_run.exit_code == 0, polled_run.output

    def titles(watch: str) -> set[str]:
        r = run.invoke(
            main, [*base, "digest", "--watch", watch, "--since", "2000-01-01", "--format", "json"]
        )
        assert r.exit_code == 0, r.output
        entries = json.loads(r.output)["entries"]
        return {s["title"] for e in entries for s in [e["headline"], *e["also"]]}

    assert titles("polled") == {  # 000 and 001
        "拜登普京本月第二度通话 双方互发警告",
        "担心战争爆发：拜登与普京在视频峰会上讨论乌克兰危机",
    }
    assert titles("imported") == {  # 002, 003 and 004
        "本月第二次会谈 拜登普京结束通话",
        "视频2小时！拜登威胁制裁，普京：北约需承诺不东扩",
        "美乌总统新年来二度通话 拜登警告俄罗斯明显可能2月入侵乌克兰",
    }


def test_cli_digest_and_explain(tmp_path):
    run, base, out = seeds_with_a_file_watch(tmp_path)
    shown = run.invoke(main, [*base, "digest", "--watch", "ukraine", "--format", "md"])
    assert shown.exit_code == 0 and "Also reported by" in shown.output
    sent = run.invoke(main, [*base, "digest", "--send"])
    assert sent.exit_code == 0 and len(list(out.iterdir())) == 1
    again = run.invoke(main, [*base, "digest", "--send"])
    assert again.exit_code == 0 and "no new stories" in again.output
    why = run.invoke(main, [*base, "explain", KEYS["002"], "--watch", "ukraine"])
    assert "普京" in why.output and "MATCH" in why.output
    unknown = run.invoke(main, [*base, "digest", "--watch", "nope"])
    assert unknown.exit_code != 0 and "no watch named 'nope'" in unknown.output


def test_run_schedules_each_watch_by_its_cron_expression(tmp_path, monkeypatch):
    from apscheduler.schedulers.background import BackgroundScheduler

    from monitor.cli import schedule_digests

    out = str(tmp_path / "d")
    config = parse_config(
        {
            "watch": [
                {
                    "name": "morning",
                    "any": ["普京"],
                    "schedule": "0 8 * * *",
                    "timezone": "Asia/Shanghai",
                    "delivery": [{"kind": "file", "path": out}],
                },
                {
                    "name": "unscheduled",
                    "any": ["普京"],
                    "delivery": [{"kind": "file", "path": out}],
                },
                {
                    "name": "evening",
                    "any": ["北约"],
                    "schedule": "0 20 * * *",
                    "delivery": [{"kind": "file", "path": out}],
                },
                {
                    "name": "evening-too",  # same schedule and zone: one job for both
                    "any": ["泽连斯基"],
                    "schedule": "0 20 * * *",
                    "delivery": [{"kind": "file", "path": out}],
                },
            ]
        },
        file="t.toml",
        base=tmp_path,
    )
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule_digests(str(tmp_path / "m.db"), config)(scheduler)
    scheduler.start(paused=True)
    try:
        evening, job = sorted(scheduler.get_jobs(), key=lambda j: j.id)
        assert (evening.id, job.id) == ("digest:evening,evening-too", "digest:morning")
        fire = job.trigger.get_next_fire_time(None, datetime(2026, 11, 22, 1, 0, tzinfo=UTC))
        # 08:00 in Shanghai is 00:00 UTC: the next one after 01:00 UTC is tomorrow's.
        assert fire.astimezone(UTC) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    finally:
        scheduler.shutdown(wait=False)

    # The shared job sends every watch of its schedule with one cache, even when one fails.
    sent = []

    def send(db, config, watch, *, now, cache, stop):
        sent.append((watch.name, cache))
        if watch.name == "evening":
            raise RuntimeError("mail server down")
        return dispatch.SendResult(watch.name, "empty", 0, 0, [])

    monkeypatch.setattr(dispatch, "send", send)
    evening.func()
    assert [name for name, _ in sent] == ["evening", "evening-too"]
    assert sent[0][1] is sent[1][1]


def test_cli_digest_refuses_bad_input_clearly_and_never_resends(tmp_path):
    run, base, out = seeds_with_a_file_watch(tmp_path)

    def refused(*args: str, code: int = 2) -> str:
        r = run.invoke(main, [*base, "digest", *args])
        assert r.exit_code == code and isinstance(r.exception, SystemExit), r.output
        return r.output

    assert "'2021-13-01' is not a date" in refused("--since", "2021-13-01")
    assert "before the year 1" in refused("--since", "100000000d")
    assert "too long" in refused("--since", "99999999999d")
    assert "must be positive" in refused("--since", "0h")
    missing = tmp_path / "no" / "such" / "dir" / "x.md"
    assert f"cannot write {missing}" in refused("--output", str(missing), code=1)
    assert "--format, --output: only for printing" in refused(
        "--send", "--format", "html", "--output", str(tmp_path / "x.html")
    )
    assert not out.exists() and not (tmp_path / "x.html").exists()

    sent = run.invoke(main, [*base, "digest", "--send"])
    assert sent.exit_code == 0 and len(list(out.iterdir())) == 1
    # An explicit window does not send the delivered stories again.
    again = run.invoke(main, [*base, "digest", "--send", "--since", "2021-12-01"])
    assert again.exit_code == 0 and "no new stories" in again.output
    assert len(list(out.iterdir())) == 1
    # Printing still shows them: only sending is once per watch.
    shown = run.invoke(main, [*base, "digest", "--since", "2021-12-01"])
    assert shown.exit_code == 0 and "Also reported by" in shown.output


def test_cli_digest_of_several_watches(tmp_path):
    """Every watch at once: printed formats that make one document each need --watch;
    sending skips the watches that only print and goes on with the others."""
    run, base, out = seeds_with_a_file_watch(tmp_path)
    cfg = Path(base[base.index("--config") + 1])
    later = tmp_path / "later"
    cfg.write_text(
        '[[watch]]\nname = "print-only"\nany = ["北约"]\n'
        + cfg.read_text(encoding="utf-8")
        + f'[[watch]]\nname = "nato"\nany = ["北约"]\n'
        f'[[watch.delivery]]\nkind = "file"\npath = "{later}"\nformat = "md"\n',
        encoding="utf-8",
    )
    for fmt in ("json", "atom", "html"):
        r = run.invoke(main, [*base, "digest", "--format", fmt])
        assert r.exit_code == 2, r.output
        assert "pick one with --watch (configured: print-only, ukraine, nato)" in r.output
    one = run.invoke(main, [*base, "digest", "--format", "json", "--watch", "nato"])
    assert json.loads(one.output)["watch"] == "nato"
    assert run.invoke(main, [*base, "digest", "--format", "md"]).exit_code == 0

    sent = run.invoke(main, [*base, "digest", "--send"])
    assert sent.exit_code == 0, sent.output
    assert "print-only: no delivery configured; skipped" in sent.output
    assert len(list(out.iterdir())) == len(list(later.iterdir())) == 1
    alone = run.invoke(main, [*base, "digest", "--send", "--watch", "print-only"])
    assert alone.exit_code == 1 and "watch 'print-only' has no delivery configured" in alone.output
    assert run.invoke(main, [*base, "digest", "--send-empty"]).exit_code == 2
    assert run.invoke(main, [*base, "digest", "--send", "--since", "soon"]).exit_code == 2


def test_cli_send_reports_what_went_out_and_what_failed(tmp_path):
    run, base, out = seeds_with_a_file_watch(tmp_path)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    cfg = Path(base[base.index("--config") + 1])
    cfg.write_text(
        cfg.read_text(encoding="utf-8")
        + f'[[watch.delivery]]\nkind = "file"\npath = "{blocked / "sub"}"\n',
        encoding="utf-8",
    )

    sent = run.invoke(main, [*base, "digest", "--send"])

    assert sent.exit_code == 1
    assert f"ukraine: sent → {out}" in sent.output
    assert "ukraine: delivery failed: cannot write digest to" in sent.output
    assert "sends these stories to it again" in sent.output
    blocked.unlink()
    retry = run.invoke(main, [*base, "digest", "--send"])
    assert retry.exit_code == 0 and "sent 5 stories in 3 groups" in retry.output
    assert len(list(out.iterdir())) == 1 and len(list((blocked / "sub").iterdir())) == 1
