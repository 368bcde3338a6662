"""``monitor run``'s jobs as APScheduler runs them: late runs, overlapping polls, stopping.

Times are explicit; nothing waits for a real tick or a real schedule.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.executors.base import run_job
from apscheduler.schedulers.background import BackgroundScheduler

from monitor import dispatch
from monitor.cli import schedule_digests
from monitor.config import parse_config
from monitor.scheduler import run_daemon
from monitor.store import open_db

# Long before any real clock this test runs under: a run time that is certainly past.
MORNING = datetime(2021, 12, 31, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


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


def test_a_digest_due_while_the_daemon_was_suspended_runs_when_it_wakes(tmp_path, monkeypatch):
    """SIGSTOP, a laptop asleep or a paused VM across 08:00: the scheduler hands the job its
    08:00 run late. It runs (once for all the runs missed) instead of being dropped."""
    job = digest_job(tmp_path, scheduled_config(tmp_path))
    assert job.coalesce  # several missed runs are handed over as the last one alone
    sent = []
    monkeypatch.setattr(
        dispatch, "send", lambda db, config, watch, *, now, cache: sent.append(watch.name)
    )
    events = run_job(job, "default", [MORNING], "apscheduler.executors.default")
    assert [e.code for e in events] == [EVENT_JOB_EXECUTED]
    assert sent == ["morning"]


def test_a_poll_tick_due_while_the_daemon_was_suspended_runs_when_it_wakes(tmp_path):
    stop = threading.Event()
    stop.set()  # run_daemon starts its scheduler, then stops at once
    jobs = []
    db = open_db(tmp_path / "m.db")
    config = parse_config({}, file="t.toml", base=tmp_path)
    run_daemon(db, config, stop=stop, extra_jobs=lambda s: jobs.append(s.get_job("poll")))
    events = run_job(jobs[0], "default", [MORNING], "apscheduler.executors.default")
    assert [e.code for e in events] == [EVENT_JOB_EXECUTED]
