"""A poll pass holds the store's poll lock: ``monitor poll`` beside the daemon's tick.

Real processes and real connections to one SQLite file: ``monitor poll`` runs as a
subprocess, the daemon (or its tick) on a thread of this one with its own connection.
Every wait is bounded; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from localhttp import LocalServer
from test_daemon import PROXY_VARS, RSS

from monitor.config import load_config
from monitor.dispatch import store_lock
from monitor.scheduler import SkippedTicks, run_daemon, tick
from monitor.store import open_db


class GatedFeed(LocalServer):
    """Serves RSS at any path once ``release`` is set (or after 20 s): a poll in progress
    for as long as the test wants. ``requests``: the paths asked for, as they come in."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.release = threading.Event()
        requests, release = self.requests, self.release

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                release.wait(20)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(RSS)))
                self.end_headers()
                self.wfile.write(RSS)

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)

    def __exit__(self, *exc) -> None:
        self.release.set()
        super().__exit__(*exc)


@pytest.fixture
def server():
    with GatedFeed() as s:
        yield s


def clean_env() -> dict[str, str]:
    drop = {n for v in PROXY_VARS for n in (v, v.lower())}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("MONITOR_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def write_config(tmp_path: Path, url: str, tick: str = "1h") -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f'[monitor]\ntick = "{tick}"\n\n'
        f'[[source]]\nname = "news"\nkind = "feed"\nurl = "{url}/rss.xml"\ninterval = "30m"\n',
        encoding="utf-8",
    )
    return path


def start_poll(tmp_path: Path, config_path: Path, *args: str, name: str = "poll"):
    """``monitor poll`` as a subprocess; its stderr (the log) goes to ``<name>.err``."""
    cmd = [sys.executable, "-m", "monitor.cli", "--db", str(tmp_path / "m.db")]
    cmd += ["--config", str(config_path), "poll", *args]
    err = tmp_path / f"{name}.err"
    with err.open("wb") as f:
        proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=f, text=True
        )
    return proc, err


def wait_for(what, message: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < deadline, message()
        time.sleep(0.05)


def fetches(tmp_path: Path) -> int:
    db = open_db(tmp_path / "m.db")
    try:
        return db.conn.execute("SELECT count(*) FROM fetches").fetchone()[0]
    finally:
        db.conn.close()


def test_monitor_poll_waits_for_the_daemon_s_poll_and_then_finds_nothing_due(tmp_path, server):
    """The daemon's first tick is fetching; a `monitor poll` started meanwhile says it waits,
    and once the tick has stored the source, finds it no longer due: one fetch, not two.
    Between ticks, a `monitor poll` runs at once."""
    config_path = write_config(tmp_path, server.url)
    daemon_db = open_db(tmp_path / "m.db")
    stop = threading.Event()
    daemon = threading.Thread(
        target=run_daemon, args=(daemon_db, load_config(config_path)), kwargs={"stop": stop}
    )
    daemon.start()
    try:
        wait_for(lambda: len(server.requests) == 1, lambda: "the daemon's tick did not fetch")
        proc, err = start_poll(tmp_path, config_path)
        try:
            wait_for(
                lambda: "waiting for another process polling" in err.read_text("utf-8"),
                lambda: f"monitor poll did not wait: {server.requests} {err.read_text('utf-8')}",
            )
            assert server.requests == ["/rss.xml"]
            server.release.set()
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        log = err.read_text("utf-8")
        assert proc.returncode == 0, out + log
        assert out.startswith("nothing due; next check: news in "), out + log
        assert log.count("waiting for another process polling") == 1
        assert f"polling {tmp_path / 'm.db'} to finish its poll" in log
        assert server.requests == ["/rss.xml"] and fetches(tmp_path) == 1

        # The daemon idles until its next tick (an hour away): a poll runs at once.
        proc, err = start_poll(tmp_path, config_path, "--all", name="between")
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out + err.read_text("utf-8")
        assert "waiting" not in err.read_text("utf-8")
        assert "polled 1 of 1 sources" in out
        assert len(server.requests) == 2 and fetches(tmp_path) == 2
    finally:
        stop.set()
        daemon.join(30)
        daemon_db.conn.close()


def test_the_daemon_s_tick_skips_while_monitor_poll_polls_and_the_next_tick_polls(
    tmp_path, server, caplog
):
    """A tick that finds a `monitor poll` at work logs one info line and returns at once
    (no fetch of its own, no waiting on the scheduler's thread); the next tick polls."""
    caplog.set_level(logging.INFO, "monitor.run")
    config_path = write_config(tmp_path, server.url)
    config = load_config(config_path)
    db = open_db(tmp_path / "m.db")
    proc, err = start_poll(tmp_path, config_path)
    try:
        wait_for(lambda: len(server.requests) == 1, lambda: err.read_text("utf-8"))
        now = datetime.now(UTC)
        assert tick(db, config, now=now) == 0
        assert server.requests == ["/rss.xml"]  # the tick fetched nothing
        skipped = [r for r in caplog.records if "another process is polling" in r.getMessage()]
        assert [r.levelno for r in skipped] == [logging.INFO]
        assert f"{tmp_path / 'm.db'}.poll-lock" in skipped[0].getMessage()
        server.release.set()
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out + err.read_text("utf-8")
        assert "polled 1 of 1 sources" in out

        assert tick(db, config, now=now + timedelta(hours=1)) == 1  # the next tick, due again
        assert len(server.requests) == 2 and fetches(tmp_path) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        db.conn.close()


def test_ticks_skipped_during_a_long_poll_are_logged_once_and_when_polling_again(
    tmp_path, server, caplog
):
    """A minutely tick during a half-hour `monitor poll`: one info line when skipping
    starts, debug while it goes on, one info line when the daemon polls again."""
    caplog.set_level(logging.DEBUG, "monitor.run")
    server.release.set()
    config = load_config(write_config(tmp_path, server.url))
    db, other = open_db(tmp_path / "m.db"), open_db(tmp_path / "m.db")
    skipped = SkippedTicks()
    now = datetime.now(UTC)
    try:
        with store_lock(other, "poll-lock"):  # the other process's poll
            for minute in range(3):
                assert tick(db, config, now=now + timedelta(minutes=minute), skipped=skipped) == 0
        assert server.requests == []
        assert tick(db, config, now=now + timedelta(minutes=3), skipped=skipped) == 1
        assert tick(db, config, now=now + timedelta(hours=1), skipped=skipped) == 1
    finally:
        db.conn.close()
        other.conn.close()
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "monitor.run"]
    lock = f"{tmp_path / 'm.db'}.poll-lock"
    skipping = (
        f"another process is polling the store (it holds {lock}); ticks skip until it is done"
    )
    assert [line for line in lines if "indexed" not in line[1]] == [
        (logging.INFO, skipping),
        (logging.DEBUG, skipping),
        (logging.DEBUG, skipping),
        (logging.INFO, "polling again after 3 skipped ticks"),
    ]


def test_a_store_in_memory_takes_no_lock_file(tmp_path, monkeypatch):
    """`monitor run --db :memory:` locks its store by name before opening it: no other
    process can see that store, and a lock file named ':memory:.run-lock' was left in the
    working folder."""
    monkeypatch.chdir(tmp_path)
    with store_lock(Path(":memory:"), "run-lock") as held:
        assert held is None
    assert list(tmp_path.iterdir()) == []
