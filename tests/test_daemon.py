"""The pipeline and the daemon over real sockets: a stdlib HTTP server on 127.0.0.1.

(a) two polls through ``poll_once`` with the real HTTP client: 200, then 304 on the ETag;
(b) ``monitor run`` as a subprocess, stopped with SIGTERM: clean exit, consistent store.
Nothing leaves 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import faulthandler
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner
from localhttp import LocalServer

from monitor.cli import main
from monitor.config import parse_config
from monitor.pipeline import poll_once
from monitor.state import load_states
from monitor.store import open_db

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>本地测试新闻</title>
<link>http://127.0.0.1/</link>
<item>
<title>国务院常务会议研究部署进一步稳定经济增长的政策措施</title>
<link>http://127.0.0.1/news/1.html</link>
<description>会议指出，要坚持稳中求进工作总基调，加大宏观政策实施力度。</description>
<pubDate>Wed, 01 May 2024 08:00:00 GMT</pubDate>
</item>
<item>
<title>香港特区政府宣布由下月起放宽入境检疫措施</title>
<link>http://127.0.0.1/news/2.html</link>
<description>特区政府表示，将根据疫情发展适时调整防疫措施。</description>
</item>
</channel></rss>
""".encode()
TITLES = [
    "国务院常务会议研究部署进一步稳定经济增长的政策措施",
    "香港特区政府宣布由下月起放宽入境检疫措施",
]


class FeedServer(LocalServer):
    """Serves RSS at /rss.xml with an ETag; answers a matching If-None-Match with 304.

    /slow.xml answers only once ``release`` is set (or after 15 s): a fetch in flight.
    """

    ETAG = '"feed-v1"'

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None, int]] = []  # path, If-None-Match, status
        self.arrived: list[str] = []  # paths, as soon as a request comes in
        self.release = threading.Event()
        lock = threading.Lock()
        log, arrived, release = self.requests, self.arrived, self.release
        etag = self.ETAG

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    arrived.append(self.path)
                match = self.headers.get("If-None-Match")
                if self.path == "/slow.xml":
                    release.wait(15)
                    match = None
                elif self.path != "/rss.xml":
                    status = 404
                elif match == etag:
                    status = 304
                else:
                    status = 200
                with lock:
                    log.append((self.path, match, status))
                self.send_response(status)
                if status == 200:
                    self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(RSS)))
                    self.send_header("ETag", etag)
                    self.end_headers()
                    self.wfile.write(RSS)
                else:
                    self.send_header("Content-Length", "0")
                    if status == 304:
                        self.send_header("ETag", etag)
                    self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)
        self.base = self.url
        self.url = f"{self.base}/rss.xml"

    def __exit__(self, *exc) -> None:
        self.release.set()
        super().__exit__(*exc)


@pytest.fixture
def no_env_proxy(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def clean_env() -> dict[str, str]:
    """The test's environment without proxies or monitor settings from outside."""
    drop = {n for v in PROXY_VARS for n in (v, v.lower())}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("MONITOR_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def running_daemon(cwd: Path, db_path: Path, config_path: Path, out_path: Path):
    """``monitor run`` as a subprocess writing to ``out_path``; killed if still running."""
    cmd = [sys.executable, "-m", "monitor.cli", "--db", str(db_path)]
    cmd += ["--config", str(config_path), "run"]
    with out_path.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=clean_env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


def stop_daemon(proc: subprocess.Popen, out_path: Path) -> int:
    """SIGTERM, then the exit code; the log with each thread's stack when it does not stop."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGQUIT)  # faulthandler: where each thread waits
        time.sleep(1)
        pytest.fail("no exit 10 s after SIGTERM:\n" + out_path.read_text("utf-8", "replace"))


# --------------------------------------------------------------------------- (a)


def test_real_server_200_then_304_through_poll_once(tmp_path, no_env_proxy):
    db = open_db(tmp_path / "m.db")
    with FeedServer() as server:
        config = parse_config(
            {
                "monitor": {"timeout": 5},
                "source": [{"name": "local", "kind": "feed", "url": server.url}],
            }
        )
        sources = list(config.sources)
        (first,) = poll_once(db, config, sources, now=NOW)
        (second,) = poll_once(db, config, sources, now=NOW + timedelta(hours=1))
        seen = list(server.requests)

    assert (first.outcome, first.status, first.new, first.seen) == ("ok", 200, 2, 0)
    assert (second.outcome, second.status, second.new, second.seen) == (
        "not_modified",
        304,
        0,
        0,
    )
    assert seen == [
        ("/rss.xml", None, 200),
        ("/rss.xml", FeedServer.ETAG, 304),
    ]
    rows = db.conn.execute(
        "SELECT i.title, s.source, s.location, s.times_seen FROM items i "
        "JOIN sightings s ON s.item_id = i.id ORDER BY i.id"
    ).fetchall()
    assert rows == [(t, "local", server.url, 1) for t in TITLES]
    fetched = db.conn.execute(
        "SELECT outcome, http_status, new_items, bytes FROM fetches ORDER BY id"
    ).fetchall()
    assert fetched == [("ok", 200, 2, len(RSS)), ("not_modified", 304, 0, 0)]
    s = load_states(db)["local"]
    assert (s.etag, s.consecutive_errors, s.last_outcome) == (FeedServer.ETAG, 0, "not_modified")
    assert s.last_success == NOW + timedelta(hours=1)


# --------------------------------------------------------------------------- (b)


def _count(path: Path, sql: str) -> int:
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not created or migrated yet, or busy
        return 0


@pytest.mark.parametrize("parse_workers", [0, 1])
def test_monitor_run_polls_then_stops_cleanly_on_sigterm(tmp_path, parse_workers):
    folder = tmp_path / "drop"
    folder.mkdir()
    seeds = sorted(SEEDS.iterdir())
    for p in (seeds[0], seeds[1]):
        shutil.copy2(p, folder / p.name)
    db_path = tmp_path / "data" / "monitor.db"
    config_path = tmp_path / "monitor.toml"
    out_path = tmp_path / "daemon.log"

    with FeedServer() as server:
        config_path.write_text(
            "[monitor]\n"
            'tick = "1s"\n'
            "timeout = 5\n"
            f"parse_workers = {parse_workers}\n\n"
            "[[source]]\n"
            'name = "local-feed"\n'
            'kind = "feed"\n'
            f'url = "{server.url}"\n\n'
            "[[source]]\n"
            'name = "drop-folder"\n'
            'kind = "dir"\n'
            'path = "drop"\n',
            encoding="utf-8",
        )
        with running_daemon(tmp_path, db_path, config_path, out_path) as proc:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.poll() is None:
                sources = _count(db_path, "SELECT count(DISTINCT source) FROM fetches")
                items = _count(db_path, "SELECT count(*) FROM items")
                if sources == 2 and items >= 4:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, out_path.read_text("utf-8", "replace")
            code = stop_daemon(proc, out_path)
        requests = list(server.requests)

    log = out_path.read_text("utf-8", "replace")
    assert code == 0, log
    assert "monitor running: 2 sources" in log and "stopped" in log, log
    assert requests and requests[0] == ("/rss.xml", None, 200)

    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = conn.execute(
            "SELECT count(*) FROM sightings WHERE item_id NOT IN (SELECT id FROM items)"
        ).fetchone()[0]
        assert orphans == 0
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        fts = conn.execute("SELECT count(*) FROM items_fts").fetchone()[0]
        assert items == fts == 4
        unindexed = conn.execute(
            "SELECT count(*) FROM items WHERE id NOT IN (SELECT rowid FROM items_fts)"
        ).fetchone()[0]
        assert unindexed == 0
        by_source = dict(
            conn.execute(
                "SELECT source, count(*) FROM fetches WHERE outcome = 'ok' GROUP BY source"
            ).fetchall()
        )
        assert set(by_source) == {"local-feed", "drop-folder"}
        titles = {r[0] for r in conn.execute("SELECT title FROM items")}
        assert set(TITLES) <= titles
        located = {
            r[0]
            for r in conn.execute("SELECT location FROM sightings WHERE source = 'drop-folder'")
        }
        assert located == {seeds[0].name, seeds[1].name}
        states = dict(conn.execute("SELECT name, consecutive_errors FROM sources").fetchall())
        assert states == {"local-feed": 0, "drop-folder": 0}
    finally:
        conn.close()


def test_sigterm_during_a_fetch_stops_without_waiting_for_it(tmp_path):
    """A fetch in flight is cancelled (nothing of it written); finished polls stay stored."""
    db_path = tmp_path / "monitor.db"
    config_path = tmp_path / "monitor.toml"
    out_path = tmp_path / "daemon.log"
    with FeedServer() as server:
        config_path.write_text(
            '[monitor]\ntick = "1s"\ntimeout = 30\n\n'
            f'[[source]]\nname = "fast"\nkind = "feed"\nurl = "{server.url}"\n\n'
            f'[[source]]\nname = "slow"\nkind = "feed"\nurl = "{server.base}/slow.xml"\n',
            encoding="utf-8",
        )
        with running_daemon(tmp_path, db_path, config_path, out_path) as proc:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.poll() is None:
                stored = _count(db_path, "SELECT count(*) FROM fetches WHERE source = 'fast'")
                if stored and "/slow.xml" in server.arrived:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, out_path.read_text("utf-8", "replace")
            assert "/slow.xml" in server.arrived
            code = stop_daemon(proc, out_path)

    log = out_path.read_text("utf-8", "replace")
    assert code == 0, log
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute("SELECT source, outcome FROM fetches ORDER BY id").fetchall()
        assert rows == [("fast", "ok")]  # the cancelled fetch left no trace
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM items_fts").fetchone()[0] == 2
        names = [r[0] for r in conn.execute("SELECT name FROM sources")]
        assert names == ["fast"]  # slow is still due: polled again on the next start
    finally:
        conn.close()


def test_sigquit_prints_where_each_thread_is_and_the_daemon_goes_on(tmp_path):
    """For a daemon that seems stuck: `kill -QUIT` shows its threads' stacks, then SIGTERM
    still stops it cleanly."""
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copy2(next(SEEDS.iterdir()), folder)
    config_path = tmp_path / "monitor.toml"
    config_path.write_text(
        '[monitor]\ntick = "1s"\n\n[[source]]\nname = "drop"\nkind = "dir"\npath = "drop"\n',
        encoding="utf-8",
    )
    out_path = tmp_path / "daemon.log"

    def log() -> str:
        return out_path.read_text("utf-8", "replace")

    with running_daemon(tmp_path, tmp_path / "m.db", config_path, out_path) as proc:
        deadline = time.monotonic() + 20
        while "monitor running" not in log():
            assert time.monotonic() < deadline and proc.poll() is None, (proc.poll(), log())
            time.sleep(0.1)
        proc.send_signal(signal.SIGQUIT)
        while "most recent call first" not in log():
            assert time.monotonic() < deadline and proc.poll() is None, (proc.poll(), log())
            time.sleep(0.1)
        time.sleep(0.3)
        assert proc.poll() is None, log()  # it goes on
        code = stop_daemon(proc, out_path)
    assert code == 0, log()
    assert "Thread 0x" in log() and "run_daemon" in log() and "stopped" in log(), log()


def drop_folder_daemon(tmp_path: Path) -> tuple[Path, Path]:
    """The config and store of a daemon that watches an empty folder every second."""
    (tmp_path / "drop").mkdir()
    config_path = tmp_path / "monitor.toml"
    config_path.write_text(
        '[monitor]\ntick = "1s"\n\n[[source]]\nname = "drop"\nkind = "dir"\npath = "drop"\n',
        encoding="utf-8",
    )
    return config_path, tmp_path / "m.db"


def test_a_second_daemon_on_a_store_exits_at_once_and_a_killed_one_leaves_no_lock(tmp_path):
    """Two daemons on one store both polled every source. The second is refused, naming
    the store and the lock file; the OS frees the lock however the first ends (SIGKILL)."""
    config_path, db_path = drop_folder_daemon(tmp_path)

    def started(proc: subprocess.Popen, out_path: Path) -> None:
        deadline = time.monotonic() + 20
        while "monitor running" not in out_path.read_text("utf-8", "replace"):
            assert time.monotonic() < deadline and proc.poll() is None, out_path.read_text()
            time.sleep(0.1)

    first_log = tmp_path / "first.log"
    with running_daemon(tmp_path, db_path, config_path, first_log) as first:
        started(first, first_log)
        cmd = [sys.executable, "-m", "monitor.cli", "--db", str(db_path)]
        second = subprocess.run(
            [*cmd, "--config", str(config_path), "run"],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert first.poll() is None
        first.kill()
        first.wait(5)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "monitor running" not in second.stdout
    assert f"another monitor run is already running on the store {db_path}" in second.stderr
    assert f"{db_path}.run-lock" in second.stderr

    third_log = tmp_path / "third.log"
    with running_daemon(tmp_path, db_path, config_path, third_log) as third:
        started(third, third_log)
        assert stop_daemon(third, third_log) == 0


def test_a_second_daemon_is_refused_before_it_opens_or_upgrades_the_store(tmp_path, monkeypatch):
    """The first daemon holds the run-lock while it runs the store's one-time upgrades:
    a second one took turns at them before the lock refused it."""
    from test_store_fold_upgrade import old_store

    from monitor import store
    from monitor.dispatch import store_lock

    config_path, db_path = drop_folder_daemon(tmp_path)
    old_store(db_path, monkeypatch).conn.close()
    fresh = tmp_path / "new" / "m.db"
    fresh.parent.mkdir()
    for path in (db_path, fresh):
        with store_lock(path, "run-lock"):
            r = CliRunner().invoke(main, ["--db", str(path), "--config", str(config_path), "run"])
        assert r.exit_code == 1, r.output
        assert f"{path}.run-lock); stop it first" in r.output
        assert "monitor.store" not in r.output  # no upgrade begun
    assert not fresh.exists()  # nor a store made
    with sqlite3.connect(db_path) as conn:
        assert store._meta(conn, "fold") is None


def test_sigterm_handed_to_another_thread_of_the_daemon_stops_it(tmp_path, monkeypatch):
    """The kernel gives a process's SIGTERM to whichever of its threads can take it, under
    load often not the main one. Python runs the handler on the main thread only, which
    waited for the stop without waking: the daemon went on (a test's SIGTERM went unheard
    for 10 s). Here the SIGTERM goes to a thread of the daemon's own; SIGTERM to the main
    thread, after 30 s, only ends a daemon that did not hear it."""
    config_path, db_path = drop_folder_daemon(tmp_path)
    monkeypatch.setattr(faulthandler, "register", lambda *a, **kw: None)  # no fileno here
    main_thread, returned, unheard = threading.get_ident(), threading.Event(), []

    def sigterm_from_another_thread() -> None:
        deadline = time.monotonic() + 30
        while not _count(db_path, "SELECT count(*) FROM fetches") and time.monotonic() < deadline:
            time.sleep(0.1)
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
        if not returned.wait(30):
            unheard.append(True)
            signal.pthread_kill(main_thread, signal.SIGTERM)

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    sender = threading.Thread(target=sigterm_from_another_thread)
    sender.start()
    try:
        args = ["--db", str(db_path), "--config", str(config_path), "run"]
        result = CliRunner().invoke(main, args)
    finally:
        returned.set()
        sender.join()
        for s, handler in handlers.items():
            signal.signal(s, handler)
    assert result.exit_code == 0, result.output
    assert not unheard, "the daemon did not hear the SIGTERM:\n" + result.output
    assert "stopped" in result.output
