"""``monitor run``'s jobs as APScheduler runs them: late runs, overlapping polls, stopping.

Times are explicit; nothing waits for a real tick or a real schedule.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES
from apscheduler.executors.base import run_job
from apscheduler.schedulers.background import BackgroundScheduler
from localhttp import LocalServer

from monitor import dispatch, ingest, store
from monitor.canonical import SiteRules
from monitor.cli import schedule_digests
from monitor.config import parse_config
from monitor.scheduler import run_daemon
from monitor.store import open_db

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")

# Long before any real clock this test runs under: a run time that is certainly past.
MORNING = datetime(2021, 12, 31, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


def no_proxies(monkeypatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def scheduled_config(tmp_path):
    return parse_config(
        {
            "watch": [
                {
                    "name": "morning",
                    "any": ["普京"],
                    "schedule": "0 8 * * *",
                    "timezone": "Asia/Shanghai",
                    "delivery": [{"kind": "file", "path": str(tmp_path / "d")}],
                }
            ]
        },
        file="t.toml",
        base=tmp_path,
    )


def digest_job(tmp_path, config):
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule_digests(str(tmp_path / "m.db"), config)(scheduler)
    scheduler.start(paused=True)
    try:
        (job,) = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)
    return job


def start_daemon(db, config, stop: threading.Event, extra_jobs) -> threading.Thread:
    """`monitor run` on a thread, until ``stop``."""
    daemon = threading.Thread(
        target=run_daemon,
        args=(db, config),
        kwargs={"stop": stop, "extra_jobs": extra_jobs},
        daemon=True,
    )
    daemon.start()
    return daemon


def test_a_digest_due_while_the_daemon_was_suspended_runs_when_it_wakes(tmp_path, monkeypatch):
    """SIGSTOP, a laptop asleep or a paused VM across 08:00: the scheduler hands the job its
    08:00 run late. It runs (once for all the runs missed) instead of being dropped."""
    job = digest_job(tmp_path, scheduled_config(tmp_path))
    assert job.coalesce  # several missed runs are handed over as the last one alone
    sent = []

    def send(db, config, watch, *, now, cache, stop):
        sent.append(watch.name)
        return dispatch.SendResult(watch.name, "empty", 0, 0, [])

    monkeypatch.setattr(dispatch, "send", send)
    events = run_job(job, "default", [MORNING], "apscheduler.executors.default")
    assert [e.code for e in events] == [EVENT_JOB_EXECUTED]
    assert sent == ["morning"]


def test_a_scheduled_digest_that_fails_logs_why_naming_the_watch(tmp_path, caplog):
    """The daemon has no one to print to: its log says what failed, as the CLI does."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    config = parse_config(
        {
            "monitor": {"digest_lookback": "36500d"},
            "watch": [
                {
                    "name": "morning",
                    "any": ["普京"],
                    "schedule": "0 8 * * *",
                    "delivery": [{"kind": "file", "path": str(blocked / "sub")}],
                }
            ],
        },
        file="t.toml",
        base=tmp_path,
    )
    db = open_db(tmp_path / "m.db")
    ingest.import_files(db, ingest.find_files([SEEDS]).files, SiteRules.load_default(), now=MORNING)
    job = digest_job(tmp_path, config)
    caplog.set_level(logging.INFO, logger="monitor.digest")

    job.func()

    (line,) = [r.getMessage() for r in caplog.records if "cannot write digest" in r.getMessage()]
    assert line.startswith(f"digest morning: delivery failed: cannot write digest to {blocked}")
    assert line.endswith("(the next run sends these stories to it again)")


def test_a_poll_tick_due_while_the_daemon_was_suspended_runs_when_it_wakes(tmp_path):
    stop = threading.Event()
    stop.set()  # run_daemon starts its scheduler, then stops at once
    jobs = []
    db = open_db(tmp_path / "m.db")
    config = parse_config({}, file="t.toml", base=tmp_path)
    run_daemon(db, config, stop=stop, extra_jobs=lambda s: jobs.append(s.get_job("poll")))
    events = run_job(jobs[0], "default", [MORNING], "apscheduler.executors.default")
    assert [e.code for e in events] == [EVENT_JOB_EXECUTED]


def test_a_poll_that_outlasts_the_tick_is_one_info_line_not_a_warning_per_tick(
    tmp_path, caplog, monkeypatch
):
    no_proxies(monkeypatch)
    caplog.set_level(logging.WARNING, logger="apscheduler")
    caplog.set_level(logging.DEBUG, logger="monitor.run")  # last: the handler's level too
    arrived, release = threading.Event(), threading.Event()

    class Slow(BaseHTTPRequestHandler):
        """Answers once the test has had its ticks: the poll outlasts them."""

        def do_GET(self) -> None:
            arrived.set()
            release.wait(15)
            self.send_response(304)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    with LocalServer(Slow) as server:
        config = parse_config(
            {
                "monitor": {"tick": "1h", "timeout": 30},
                "source": [{"name": "slow", "kind": "feed", "url": server.url + "/rss.xml"}],
            },
            file="t.toml",
            base=tmp_path,
        )
        stop = threading.Event()
        schedulers = []
        handled = threading.Event()  # APScheduler ran, or refused to run, a tick

        def hook(scheduler) -> None:
            schedulers.append(scheduler)
            scheduler.add_listener(
                lambda e: e.job_id == "poll" and handled.set(),
                EVENT_JOB_EXECUTED | EVENT_JOB_MAX_INSTANCES,
            )

        db = open_db(tmp_path / "m.db")
        daemon = start_daemon(db, config, stop, hook)
        try:
            assert arrived.wait(15)  # the first poll is fetching
            for _ in range(3):  # three ticks come while it runs
                handled.clear()
                schedulers[0].modify_job("poll", next_run_time=datetime.now(UTC))
                assert handled.wait(15)
        finally:
            release.set()
            stop.set()
            daemon.join(30)
    assert not daemon.is_alive()

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [], [r.getMessage() for r in warnings]
    running = [r for r in caplog.records if "still running" in r.getMessage()]
    assert [r.levelno for r in running] == [logging.INFO, logging.DEBUG, logging.DEBUG]
    assert running[0].name == "monitor.run" and "poll started 20" in running[0].getMessage()


def test_stopping_ends_a_webhook_retry_wait_and_the_digest_goes_again_next_run(
    tmp_path, monkeypatch
):
    """SIGTERM while a scheduled digest's webhook waits to retry (Retry-After: 60): the
    daemon stops at once instead of after the retries, with the delivery recorded as
    failed; the next run sends the same digest, with the same delivery id."""
    no_proxies(monkeypatch)
    arrived = threading.Event()
    ids: list[str] = []
    answers = {"status": 503}

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            ids.append(self.headers["X-Monitor-Delivery"])
            self.send_response(answers["status"])
            self.send_header("Retry-After", "60")
            self.send_header("Content-Length", "0")
            self.end_headers()
            arrived.set()

        def log_message(self, *args) -> None:
            pass

    now = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    db_path = tmp_path / "m.db"
    db = open_db(db_path)
    files = ingest.find_files([SEEDS]).files
    ingest.import_files(db, files, SiteRules.load_default(), now=now)
    store.index_pending(db)
    with LocalServer(Hook) as server:
        config = parse_config(
            {
                # The job takes its time from the clock: every story stored is in its window.
                "monitor": {"tick": "1h", "digest_lookback": "36500d"},
                "watch": [
                    {
                        "name": "ukraine",
                        "any": ["普京"],
                        "schedule": "0 8 * * *",
                        "delivery": [{"kind": "webhook", "url": server.url + "/hook/T0"}],
                    }
                ],
            },
            file="t.toml",
            base=tmp_path,
        )
        stop = threading.Event()

        def add(scheduler) -> None:
            schedule_digests(str(db_path), config, stop=stop)(scheduler)
            scheduler.modify_job("digest:ukraine", next_run_time=datetime.now(UTC))  # due now

        daemon = start_daemon(db, config, stop, add)
        try:
            assert arrived.wait(15)  # the first attempt was answered 503, retry in 60 s
        finally:
            stop.set()  # SIGTERM
            daemon.join(20)
        assert not daemon.is_alive()
        assert len(ids) == 1
        rows = db.conn.execute("SELECT status, error FROM digest_deliveries").fetchall()
        assert len(rows) == 1 and rows[0][0] == "failed"
        assert "not sent: monitor is stopping (after 1 attempt: HTTP 503" in rows[0][1]

        answers["status"] = 200
        result = dispatch.send(db, config, config.watch("ukraine"), now=now + timedelta(hours=1))
        assert result.status == "delivered" and result.stories > 0
        assert len(ids) == 2 and ids[1] == ids[0]  # the receiver can tell it is a resend


def test_a_tick_that_indexes_one_story_says_story(tmp_path, caplog):
    """The daemon's log line after indexing reads as English for one story too."""
    from monitor.scheduler import tick

    db = open_db(str(tmp_path / "m.db"))
    seed = sorted(SEEDS.iterdir())[0]
    ingest.import_files(db, [seed], SiteRules.load_default(), now=MORNING)
    caplog.set_level(logging.INFO, logger="monitor.run")

    tick(db, parse_config({}, file="t.toml", base=tmp_path), now=MORNING)

    assert [r.getMessage() for r in caplog.records] == ["indexed 1 story for search"]


def test_the_daemon_s_first_line_reads_as_english_for_one_source(tmp_path, caplog):
    empty = tmp_path / "empty"
    empty.mkdir()
    config = parse_config(
        {"source": [{"name": "files", "kind": "dir", "path": str(empty)}]},
        file="t.toml",
        base=tmp_path,
    )
    caplog.set_level(logging.INFO, logger="monitor.run")
    stop = threading.Event()
    stop.set()

    run_daemon(open_db(str(tmp_path / "m.db")), config, stop=stop)

    assert "monitor running: 1 source, tick every 30s" in caplog.messages


def test_a_clock_set_back_is_noticed_once_by_how_much():
    from monitor.scheduler import ClockWatch

    wall = [datetime(2026, 1, 1, 8, tzinfo=UTC)]
    mono = [100.0]
    watch = ClockWatch(lambda: wall[0], lambda: mono[0])
    mono[0] += 1
    wall[0] += timedelta(seconds=1)
    assert watch.set_back() == 0  # the clocks agree
    mono[0] += 1
    wall[0] += timedelta(seconds=1.5)  # NTP slews, a loaded machine: no jump
    assert watch.set_back() == 0
    mono[0] += 1
    wall[0] -= timedelta(hours=1)
    assert watch.set_back() == pytest.approx(3601, abs=1)
    mono[0] += 1
    wall[0] += timedelta(seconds=1)
    assert watch.set_back() == 0  # said once


def test_a_clock_set_back_keeps_the_sources_schedule(tmp_path, caplog):
    """APScheduler plans the next tick on the wall clock, and sources are due by it: a
    clock set back two hours held every poll back two hours more than its interval. The
    daemon notices, ticks at once, and moves the sources' next checks back as much."""
    empty = tmp_path / "empty"
    empty.mkdir()
    config = parse_config(
        {
            "monitor": {"tick": "1h"},
            "source": [{"name": "files", "kind": "dir", "path": str(empty), "interval": "1h"}],
        },
        file="t.toml",
        base=tmp_path,
    )
    db = open_db(str(tmp_path / "m.db"))
    polled = threading.Event()

    def clock() -> datetime:  # the system clock, set back two hours after the first poll
        return datetime.now(UTC) - (timedelta(hours=2) if polled.is_set() else timedelta(0))

    def next_check() -> datetime | None:
        row = db.conn.execute("SELECT next_check FROM sources").fetchone()
        return store.parse_iso(row[0]) if row else None

    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="monitor.run")
    daemon = threading.Thread(
        target=run_daemon, args=(db, config), kwargs={"stop": stop, "clock": clock}
    )
    daemon.start()
    try:
        deadline = time.monotonic() + 20
        while next_check() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        planned = next_check()
        polled.set()
        while not any("clock went back" in m for m in caplog.messages):
            assert time.monotonic() < deadline, caplog.messages
            time.sleep(0.05)
    finally:
        stop.set()
        daemon.join(10)
    assert planned is not None
    assert abs((planned - next_check()).total_seconds() - 7200) < 5  # an hour after its poll
    assert next_check() - clock() <= timedelta(minutes=66)  # the interval, ±10 % jitter
