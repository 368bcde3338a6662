"""Running for months: what the store keeps of each poll, and for how long."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import ConfigError, parse_config
from monitor.pipeline import poll_once
from monitor.scheduler import tick
from monitor.store import StoreFull, open_db, search

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def seeds_config(tmp_path, **settings):
    source = {"name": "seeds", "kind": "dir", "path": str(SEEDS), "interval": "1h"}
    return parse_config({"monitor": settings, "source": [source]}, file="t.toml", base=tmp_path)


def count(db, sql: str) -> int:
    return db.conn.execute(sql).fetchone()[0]


def test_the_daemon_keeps_the_fetch_log_of_keep_fetches_and_every_story(tmp_path):
    config = seeds_config(tmp_path, keep_fetches="15d")
    db = open_db(tmp_path / "m.db")
    for day in (0, 10, 20):
        assert tick(db, config, now=NOW + timedelta(days=day)) == 1
    started = [r[0] for r in db.conn.execute("SELECT started_at FROM fetches ORDER BY id")]
    assert started == ["2026-01-11T00:00:00Z", "2026-01-21T00:00:00Z"]
    assert tick(db, config, now=NOW + timedelta(days=60)) == 1
    assert count(db, "SELECT count(*) FROM fetches") == 1
    assert count(db, "SELECT count(*) FROM items") == 5
    assert count(db, "SELECT count(*) FROM sightings") == 5


def test_the_fetch_log_keeps_30_days_by_default(tmp_path):
    assert seeds_config(tmp_path).settings.keep_fetches == timedelta(days=30)
    with pytest.raises(ConfigError, match="keep_fetches"):
        seeds_config(tmp_path, keep_fetches="forever")


def test_monitor_poll_drops_the_fetch_log_older_than_keep_fetches(tmp_path):
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        f'[monitor]\nkeep_fetches = "2d"\n\n[[source]]\nname = "seeds"\nkind = "dir"\n'
        f'path = "{SEEDS}"\n',
        encoding="utf-8",
    )
    db = open_db(tmp_path / "m.db")
    db.conn.execute(
        "INSERT INTO fetches (source, started_at, outcome) VALUES ('seeds', ?, 'ok')",
        ("2020-01-01T00:00:00Z",),
    )
    db.conn.commit()
    args = ["--db", str(tmp_path / "m.db"), "--config", str(cfg), "poll"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    started = [row[0] for row in db.conn.execute("SELECT started_at FROM fetches")]
    assert len(started) == 1 and started[0] > "2020-01-01T00:00:00Z"
    db.conn.close()


def test_a_full_disk_costs_a_tick_one_line_naming_the_store_and_a_later_tick_stores(
    tmp_path, caplog
):
    """SQLite's page limit stands in for a full disk: the same error (SQLITE_FULL), here
    while the tick indexes what the poll stored."""
    caplog.set_level(logging.INFO, "monitor.run")
    config = seeds_config(tmp_path)
    db = open_db(tmp_path / "m.db")
    poll_once(db, config, list(config.sources), now=NOW)
    pages = count(db, "PRAGMA page_count")
    db.conn.execute(f"PRAGMA max_page_count = {pages}")
    assert tick(db, config, now=NOW + timedelta(minutes=1)) == 0
    (line,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert str(tmp_path / "m.db") in line.getMessage() and "full" in line.getMessage()
    assert line.exc_info is None
    assert count(db, "SELECT count(*) FROM fts_pending") == 5  # nothing lost

    db.conn.execute(f"PRAGMA max_page_count = {pages * 1000}")
    tick(db, config, now=NOW + timedelta(minutes=2))
    assert count(db, "SELECT count(*) FROM fts_pending") == 0
    assert [r["title"] for r in search(db, "普京")]


def test_a_disk_full_while_storing_a_poll_fails_that_poll_and_the_next_one_stores(tmp_path, caplog):
    """As with a store another process keeps locked, the poll stops at the first write
    the full disk refuses, naming the store: no traceback per source, and nothing of the
    sources not stored is written (no backoff), so the next poll fetches them again."""
    config = seeds_config(tmp_path)
    db = open_db(tmp_path / "m.db")
    pages = count(db, "PRAGMA page_count")
    db.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreFull) as e:
        poll_once(db, config, list(config.sources), now=NOW)
    assert str(tmp_path / "m.db") in str(e.value) and "full" in str(e.value)
    assert not any(r.exc_info for r in caplog.records), caplog.text
    assert count(db, "SELECT count(*) FROM items") == 0
    assert count(db, "SELECT count(*) FROM sources") == 0  # not backed off

    db.conn.execute(f"PRAGMA max_page_count = {pages * 1000}")
    (report,) = poll_once(db, config, list(config.sources), now=NOW + timedelta(hours=1))
    assert report.ok and report.new == 5
