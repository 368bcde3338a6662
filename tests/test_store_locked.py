"""A poll against a store another process keeps write-locked (an open ``sqlite3`` shell in
a transaction, a stuck writer): one busy timeout, one clear error, nothing half-stored.

The lock is real: a second connection to the store's file holds ``BEGIN IMMEDIATE``. The
poll's connection waits 0.2 s instead of 30 (its busy timeout), which changes how long the
wait is, not what follows it; the statements the poll sends are counted with a trace.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import respx
from click.testing import CliRunner

from monitor import ingest, pipeline, store
from monitor.canonical import SiteRules
from monitor.cli import main
from monitor.config import parse_config
from monitor.pipeline import poll_once
from monitor.scheduler import tick
from monitor.store import StoreLocked, open_db

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
FEEDS = [f"https://news{i}.example.com/rss.xml" for i in range(3)]


def rss(version: int, n: int) -> bytes:
    items = "".join(
        f"<item><title>第{version}版第{n}号新闻：国务院常务会议研究部署稳定经济增长措施{k}</title>"
        f"<link>https://news{n}.example.com/{version}/{k}.html</link>"
        f"<description>会议指出，要坚持稳中求进工作总基调，加大宏观政策实施力度{k}。</description>"
        "</item>"
        for k in range(2)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>新闻{n}</title><link>https://news{n}.example.com/</link>{items}</channel></rss>"
    ).encode()


def serve(mock: respx.MockRouter, version: int) -> None:
    for n, url in enumerate(FEEDS):
        mock.get(url).respond(200, content=rss(version, n), headers={"ETag": f'"v{version}"'})


def make_config(tmp_path: Path):
    sources = [
        {"name": f"news{n}", "kind": "feed", "url": url, "interval": "30m"}
        for n, url in enumerate(FEEDS)
    ]
    sources.append(
        {"name": "drop", "kind": "dir", "path": str(tmp_path / "drop"), "interval": "30m"}
    )
    (tmp_path / "drop").mkdir()
    return parse_config({"source": sources}, base=tmp_path)


def add_files(tmp_path: Path, version: int) -> None:
    for k in range(3):
        (tmp_path / "drop" / f"{version}-{k}.xml").write_bytes(rss(version, 10 + k))


@contextmanager
def write_locked(path: Path):
    """Another process's transaction holding the store's write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def snapshot(db) -> tuple:
    """Everything a poll writes: source states, fetch log, entries, stories, host blocks."""
    return tuple(
        db.conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
        for table in ("sources", "fetches", "source_entries", "items", "sightings", "host_blocks")
    )


def begins(db) -> list[str]:
    """The write transactions ``db`` begins from now on."""
    seen: list[str] = []
    db.conn.set_trace_callback(lambda sql: seen.append(sql) if sql.startswith("BEGIN") else None)
    return seen


@pytest.fixture
def polled(tmp_path):
    """A store whose sources were polled once (version 1), then the sites changed (2)."""
    config = make_config(tmp_path)
    db = open_db(tmp_path / "m.db")
    add_files(tmp_path, 1)
    with respx.mock as mock:
        serve(mock, 1)
        assert all(r.ok for r in poll_once(db, config, list(config.sources), now=NOW))
    store.index_pending(db)  # as the daemon's tick does after its poll
    add_files(tmp_path, 2)
    db.conn.execute("PRAGMA busy_timeout = 200")
    return db, config


def test_a_poll_of_a_locked_store_stops_at_the_first_timeout_and_stores_nothing_half(
    tmp_path, polled, monkeypatch
):
    db, config = polled
    monkeypatch.setattr(pipeline, "SCAN_CHUNK", 1)  # the dir scan writes as it reads
    later = NOW + timedelta(hours=1)
    before = snapshot(db)
    with respx.mock as mock, write_locked(tmp_path / "m.db"):
        serve(mock, 2)
        tried = begins(db)
        with pytest.raises(StoreLocked) as e:
            poll_once(db, config, list(config.sources), now=later)
    assert str(e.value) == (
        f"cannot write to the store {tmp_path / 'm.db'}: another process has held a write "
        "lock on it for over 0.2 s"
    )
    assert tried == ["BEGIN IMMEDIATE"]  # one wait for the lock, not one (or two) per source
    assert snapshot(db) == before  # no state, validator or entry without its stories

    db.conn.set_trace_callback(None)
    with respx.mock as mock:  # the lock gone, the next poll fetches and stores everything
        serve(mock, 2)
        reports = poll_once(db, config, list(config.sources), now=later)
    assert sorted((r.source, r.outcome, r.new) for r in reports) == [
        ("drop", "ok", 6),
        ("news0", "ok", 2),
        ("news1", "ok", 2),
        ("news2", "ok", 2),
    ]


def test_the_daemon_s_tick_logs_one_error_and_the_next_tick_polls(tmp_path, polled, caplog):
    db, config = polled
    later = NOW + timedelta(hours=1)
    with respx.mock as mock, write_locked(tmp_path / "m.db"):
        serve(mock, 2)
        tried = begins(db)
        assert tick(db, config, now=NOW + timedelta(minutes=1)) == 0  # nothing due
        assert tried == []  # and nothing to index: no write to wait for
        assert tick(db, config, now=later) == 0
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.levelno, r.name, r.exc_info) for r in errors] == [
        (logging.ERROR, "monitor.run", None)
    ]
    assert errors[0].getMessage() == (
        f"cannot write to the store {tmp_path / 'm.db'}: another process has held a write "
        "lock on it for over 0.2 s; the sources not stored are polled again at the next tick"
    )
    assert tried == ["BEGIN IMMEDIATE"]

    with respx.mock as mock:
        serve(mock, 2)
        assert tick(db, config, now=later + timedelta(seconds=30)) == 4


def test_monitor_poll_on_a_locked_store_exits_1_naming_it(tmp_path, polled, monkeypatch):
    db, config = polled
    monkeypatch.setattr(store, "BUSY_TIMEOUT", 0.2)  # the CLI's own connection
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        "".join(
            f'[[source]]\nname = "news{n}"\nkind = "feed"\nurl = "{url}"\ninterval = "30m"\n\n'
            for n, url in enumerate(FEEDS)
        ),
        encoding="utf-8",
    )
    before = snapshot(db)
    with respx.mock as mock, write_locked(tmp_path / "m.db"):
        serve(mock, 2)
        r = CliRunner().invoke(
            main, ["--db", str(tmp_path / "m.db"), "--config", str(cfg), "poll", "--all"]
        )
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.output.strip() == (
        f"Error: cannot write to the store {tmp_path / 'm.db'}: another process has held a "
        "write lock on it for over 0.2 s; the sources not stored are polled again next time"
    )
    assert snapshot(db) == before


def test_monitor_import_on_a_locked_store_exits_1_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT", 0.2)
    (tmp_path / "drop").mkdir()
    add_files(tmp_path, 1)
    path = tmp_path / "m.db"
    open_db(path).conn.close()
    with write_locked(path):
        r = CliRunner().invoke(main, ["--db", str(path), "import", str(tmp_path / "drop")])
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.output.strip() == (
        f"Error: cannot write to the store {path}: another process has held a write lock on "
        "it for over 0.2 s; import the files again to store the rest"
    )
    r = CliRunner().invoke(main, ["--db", str(path), "import", str(tmp_path / "drop")])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("3 files: 6 new stories"), r.output


SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seeds_and_watches(tmp_path: Path, *names: str) -> tuple[Path, Path]:
    """A store of the seeds, imported now, and a config of watches delivering files."""
    out, cfg = tmp_path / "digests", tmp_path / "monitor.toml"
    cfg.write_text(
        "".join(
            f'[[watch]]\nname = "{name}"\nany = ["普京", "泽连斯基"]\nschedule = "0 8 * * *"\n'
            f'[[watch.delivery]]\nkind = "file"\npath = "{out}"\nformat = "json"\n\n'
            for name in names
        ),
        encoding="utf-8",
    )
    # Stored now: the digests' window ends at the clock's now (the CLI's, the daemon's job's).
    db = open_db(tmp_path / "m.db")
    files = ingest.find_files([str(SEEDS)]).files
    ingest.import_files(db, files, SiteRules.load_default(), now=datetime.now(UTC))
    db.conn.close()
    return cfg, out


def test_monitor_digest_send_on_a_locked_store_exits_1_and_sends_nothing(tmp_path, monkeypatch):
    """The digest is reserved in the store before it goes out: a store locked then sends
    nothing, and the next send sends it all."""
    cfg, out = seeds_and_watches(tmp_path, "ukraine", "other")
    monkeypatch.setattr(store, "BUSY_TIMEOUT", 0.2)
    args = ["--db", str(tmp_path / "m.db"), "--config", str(cfg), "digest", "--send"]
    with write_locked(tmp_path / "m.db"):
        r = CliRunner().invoke(main, args)
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.output.strip().splitlines()[-1] == (
        f"Error: cannot write to the store {tmp_path / 'm.db'}: another process has held a "
        "write lock on it for over 0.2 s; digest 'ukraine' and the watches after it were not sent"
    )
    assert not out.exists()
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "ukraine: sent " in r.output and "other: sent " in r.output
    assert len(list(out.iterdir())) == 2


def test_the_daemon_s_digest_job_on_a_locked_store_logs_one_error_for_its_watches(
    tmp_path, monkeypatch, caplog
):
    """Each watch of the run would wait the whole busy timeout once more: one error line
    names them all, and the next run sends them."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from monitor import dispatch
    from monitor.cli import schedule_digests
    from monitor.config import load_config

    cfg, out = seeds_and_watches(tmp_path, "first", "second")
    monkeypatch.setattr(store, "BUSY_TIMEOUT", 0.2)
    calls = []
    send = dispatch.send

    def counted(db, config, watch, **kw):
        calls.append(watch.name)
        return send(db, config, watch, **kw)

    monkeypatch.setattr(dispatch, "send", counted)
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule_digests(str(tmp_path / "m.db"), load_config(cfg))(scheduler)
    scheduler.start(paused=True)
    try:
        (job,) = scheduler.get_jobs()
        with write_locked(tmp_path / "m.db"):
            job.func()
        assert calls == ["first"]  # the second watch did not wait the timeout again
        errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [(r.name, r.exc_info) for r in errors] == [("monitor.digest", None)]
        assert errors[0].getMessage() == (
            f"digests first, second not sent: cannot write to the store {tmp_path / 'm.db'}: "
            "another process has held a write lock on it for over 0.2 s; the next run sends them"
        )
        assert not out.exists()
        job.func()
        assert calls == ["first", "first", "second"] and len(list(out.iterdir())) == 2
    finally:
        scheduler.shutdown(wait=False)
