"""`monitor health` while the daemon is still upgrading a store an older monitor made: it
answers at once, without taking a turn at the upgrade or waiting on it."""

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import store
from monitor.cli import main

SEEDS = Path(__file__).parent.parent / "seeds"


@pytest.fixture
def polled(tmp_path):
    """A store whose source succeeded just now, and the arguments to ask its health."""
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(f'[[source]]\nname = "seeds"\nkind = "dir"\npath = "{SEEDS}"\n')
    args = ["--db", str(tmp_path / "m.db"), "--config", str(cfg)]
    assert CliRunner().invoke(main, [*args, "poll"]).exit_code == 0
    return tmp_path / "m.db", args


def rewrite(path, *statements):
    conn = sqlite3.connect(path)
    with conn:
        for sql in statements:
            conn.execute(sql)
    conn.close()


def read(path, sql) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def meta(path) -> dict[str, str]:
    return dict(read(path, "SELECT name, value FROM store_meta"))


def test_health_reports_the_search_index_upgrade_without_running_it(polled):
    path, args = polled
    [(first,)] = read(path, "SELECT min(id) FROM items")
    rewrite(
        path,
        "UPDATE store_meta SET value = '1' WHERE name = 'fold'",
        "INSERT INTO store_meta (name, value) VALUES "
        f"('fold_upgrade_through', '{first + 1}')",  # 2 of the 5 seed stories done
    )
    before = meta(path)
    r = CliRunner().invoke(main, [*args, "health"])
    assert (r.exit_code, r.output) == (
        0,
        "upgrading the search index: 40% (sources are polled once it is done)\n",
    )
    assert meta(path) == before  # left to the daemon


def test_health_answers_while_the_daemon_holds_the_store_for_its_upgrade(polled, monkeypatch):
    path, args = polled
    rewrite(path, "DELETE FROM store_meta WHERE name = 'canonical'")
    monkeypatch.setattr(store, "BUSY_TIMEOUT", 1)  # a health check that waits fails
    daemon = sqlite3.connect(path, isolation_level=None)
    daemon.execute("BEGIN IMMEDIATE")  # a batch of the upgrade in progress
    try:
        r = CliRunner().invoke(main, [*args, "health"])
    finally:
        daemon.execute("ROLLBACK")
        daemon.close()
    assert (r.exit_code, r.output) == (
        0,
        "upgrading stored URLs to this version's keys (sources are polled once it is done)\n",
    )
    assert "canonical" not in meta(path)


def test_health_reports_a_schema_upgrade(polled):
    path, args = polled
    older = len(store.MIGRATIONS) - 1
    rewrite(path, f"PRAGMA user_version = {older}")
    r = CliRunner().invoke(main, [*args, "health"])
    assert (r.exit_code, r.output) == (
        0,
        "upgrading the store's tables (sources are polled once it is done)\n",
    )
    assert read(path, "PRAGMA user_version") == [(older,)]


def test_health_during_an_upgrade_still_reports_a_broken_config(polled):
    path, args = polled
    rewrite(path, "UPDATE store_meta SET value = '1' WHERE name = 'fold'")
    Path(args[-1]).write_text('[[source]]\nname = "seeds"\nkind = "dir"\n')
    r = CliRunner().invoke(main, [*args, "health"])
    assert r.exit_code == 1 and r.output.startswith("unhealthy: "), r.output


def test_a_newer_store_is_still_unhealthy(polled):
    path, args = polled
    rewrite(path, f"PRAGMA user_version = {len(store.MIGRATIONS) + 1}")
    r = CliRunner().invoke(main, [*args, "health"])
    assert r.exit_code == 1
    assert "is newer than this monitor supports" in r.output
