"""A store indexed with the character-by-character fold is brought to the phrase fold."""

import io
import logging
import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from rich.console import Console

from monitor import cli, store, text
from monitor.canonical import SiteRules, assign_keys
from monitor.logs import ProgressLog
from monitor.models import Item
from monitor.store import Sighting, save_items

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
UPGRADED = re.compile(r"search index upgraded: \d+ stories indexed again in \S+ (s|min|h)")
STORIES = [
    ("乾隆皇帝的故事", "清朝的乾隆皇帝在位六十年。"),
    ("行政院公布新計畫", "我們瞭解民眾的需要，已回覆。"),
    ("俄乌战争的最新消息", "乌克兰总统泽连斯基表示。"),
    ("美國總統拜登談話", "拜登說，美國將繼續支持烏克蘭。"),
    ("苧麻价格上涨", "薴麻产地的消息。"),
]


def item(n, title, body):
    rules = SiteRules.load_default()
    return assign_keys(
        Item(title=title, format="test", url=f"https://a.example/{n}", text=body), rules
    )


def old_store(path, monkeypatch, stories=STORIES, index=True):
    """A store as monitor made it before: the index folded character by character and no
    fold version recorded."""
    with monkeypatch.context() as patched:
        patched.setattr(store, "fold", text.fold_characters)
        patched.setattr(store, "upgrade_fold", lambda db, **kw: 0)
        db = store.open_db(path)
        entries = [(item(n, t, b), Sighting("s", str(n))) for n, (t, b) in enumerate(stories)]
        save_items(db, entries, now=NOW)
        if index:
            store.index_pending(db)
            store.keep_event_features(
                db.conn, db.conn.execute("SELECT id, title, text FROM items").fetchall()
            )
            db.conn.commit()
    assert store._meta(db.conn, "fold") is None
    return db


def titles(db, query):
    return sorted(r["title"] for r in store.search(db, query))


def check_upgraded(db):
    assert store._meta(db.conn, "fold") == str(store.FOLD_VERSION)
    assert store._meta(db.conn, "fold_upgrade_through") is None
    assert titles(db, "干隆") == []
    assert titles(db, "乾隆") == ["乾隆皇帝的故事"]
    assert titles(db, "计划") == titles(db, "計畫") == ["行政院公布新計畫"]
    assert titles(db, "了解") == titles(db, "回复") == ["行政院公布新計畫"]
    assert titles(db, "乌克兰") == ["俄乌战争的最新消息", "美國總統拜登談話"]
    assert titles(db, "苎麻") == titles(db, "薴麻") == ["苧麻价格上涨"]
    # Nothing stored lost, no stale token left in the index.
    assert db.conn.execute("SELECT count(*) FROM items").fetchone()[0] == len(STORIES)
    stale = db.conn.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH '\"干隆\"'")
    assert stale.fetchone()[0] == 0
    db.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")


def test_open_brings_an_old_index_to_the_phrase_fold(tmp_path, monkeypatch, caplog):
    path = tmp_path / "m.db"
    db = old_store(path, monkeypatch)
    assert titles(db, "干隆") == ["乾隆皇帝的故事"]  # the old fold's index
    assert titles(db, "计划") == []
    db.conn.close()
    caplog.set_level("INFO", logger="monitor.store")
    db = store.open_db(path)
    check_upgraded(db)
    # Minutes on a large store: the command or daemon that opens it says why it waits, and
    # when the wait is over.
    began, ended = [r.getMessage() for r in caplog.records if r.name == "monitor.store"]
    assert began == (
        "bringing the search index to this version's Traditional phrases (once; stopped, "
        "it goes on at the next start)"
    )
    assert UPGRADED.fullmatch(ended) and ended.startswith(
        "search index upgraded: 3 stories indexed again in "
    )
    # Its kept event features are those the new fold makes.
    (item_id,) = db.conn.execute("SELECT id FROM items WHERE title = '乾隆皇帝的故事'").fetchone()
    features = db.conn.execute(
        "SELECT lead, title FROM event_features WHERE item_id = ?", (item_id,)
    ).fetchone()
    expected = store._features_row(
        item_id, "乾隆皇帝的故事", text.fold("清朝的乾隆皇帝在位六十年。")
    )
    assert tuple(features) == expected[1:3]
    db.conn.close()
    assert store.upgrade_fold(store.open_db(path)) == 0  # done once


def test_an_interrupted_upgrade_goes_on_where_it_stopped(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    db = old_store(path, monkeypatch)
    real, calls = store._refold, []

    def stop_after_two(*args):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args[1:3])
        return real(*args)

    monkeypatch.setattr(store, "_refold", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        store.upgrade_fold(db, batch=1)
    assert store._meta(db.conn, "fold_upgrade_through") == "2"
    assert store._meta(db.conn, "fold") is None
    monkeypatch.setattr(store, "_refold", real)
    assert titles(db, "干隆") == []  # the stories done so far are done
    db.conn.close()
    db = store.open_db(path)
    check_upgraded(db)


def test_stories_still_queued_are_left_to_the_index(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    db = old_store(path, monkeypatch, index=False)
    db.conn.close()
    db = store.open_db(path)
    assert store.pending_count(db.conn) == len(STORIES)
    assert titles(db, "计划") == ["行政院公布新計畫"]
    store.index_pending(db)
    check_upgraded(db)


def test_a_new_store_records_the_fold_at_once(tmp_path, caplog):
    caplog.set_level("INFO", logger="monitor.store")
    db = store.open_db(tmp_path / "m.db")
    assert not [r for r in caplog.records if r.name == "monitor.store"]  # nothing to bring
    assert store._meta(db.conn, "fold") == str(store.FOLD_VERSION)


def test_the_upgrade_says_how_far_it_got(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    old_store(path, monkeypatch).conn.close()
    told = []
    store.open_db(path, progress=lambda done, total: told.append((done, total)))
    assert told == [(0, len(STORIES))]  # one batch
    db = old_store(tmp_path / "n.db", monkeypatch)
    told.clear()
    store.upgrade_fold(db, batch=2, progress=lambda done, total: told.append((done, total)))
    assert told == [(0, 5), (2, 5), (4, 5)]
    check_upgraded(db)


def test_the_upgrade_logs_its_progress_and_the_time_left(tmp_path, monkeypatch, caplog):
    """In the daemon's log (no progress bar there): a line every 30 s, with an estimate."""
    db = old_store(tmp_path / "m.db", monkeypatch)
    ticks = iter(range(0, 1000, 20))  # seconds: each batch takes 20 s
    log = logging.getLogger("monitor.store")
    logged = ProgressLog(log, "search index upgrade", clock=lambda: next(ticks))
    caplog.set_level("INFO", logger="monitor.store")
    store.upgrade_fold(db, batch=1, progress=logged)
    assert [r.getMessage() for r in caplog.records][1:-1] == [
        "search index upgrade: 40% done, about 60 s left",  # 40 s: 2 of 5 in 40 s
        "search index upgrade: 80% done, about 20 s left",
    ]
    assert UPGRADED.fullmatch(caplog.records[-1].getMessage())
    check_upgraded(db)


def test_a_command_in_a_terminal_shows_the_upgrade_as_a_progress_bar(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    old_store(path, monkeypatch).conn.close()
    shown = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=shown, force_terminal=True, width=100))
    result = CliRunner().invoke(cli.main, ["--db", str(path), "search", "计划"])
    assert result.exit_code == 0, result.output
    assert "行政院公布新計畫" in result.output
    assert "upgrading the search index" in shown.getvalue()
    assert "/5" in shown.getvalue()
