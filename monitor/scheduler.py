"""APScheduler wiring for ``monitor run``: one tick job polls whatever is due.

State lives in the store (next check per source), so the scheduler stays simple: a tick
asks which sources are due and polls them. A stop event ends the loop after the writes in
progress; no poll is left half-written because each poll is one transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .config import Config
from .pipeline import due_sources, poll_once
from .state import load_states
from .store import index_pending
from .workers import ParsePool

log = logging.getLogger("monitor.run")

# How every job of the daemon treats a run time it could not keep (the process was
# suspended, stopped with SIGSTOP, or its VM paused): it runs once as soon as it can, however
# late. APScheduler's default drops a run more than a second late; a digest covers what was
# not yet delivered, so a late one is still right, and dropping it lost a day's digest.
# ``coalesce`` makes several missed runs one.
LATE_RUNS = {"misfire_grace_time": None, "coalesce": True}


def tick(
    db: sqlite_utils.Database,
    config: Config,
    *,
    now: datetime,
    stop: threading.Event | None = None,
    blocked: dict | None = None,
    pool: ParsePool | None = None,
) -> int:
    """Poll the sources that are due at ``now``, then index what they stored; returns how
    many sources ran. Indexing runs even when stopping: it is short, and it only adds."""
    due = due_sources(config, load_states(db), now)
    ran = 0
    if due and not (stop is not None and stop.is_set()):
        ran = len(poll_once(db, config, due, now=now, stop=stop, blocked=blocked, pool=pool))
    indexed = index_pending(db)
    if indexed:
        log.info("indexed %d stories for search", indexed)
    return ran


def run_daemon(
    db: sqlite_utils.Database,
    config: Config,
    *,
    stop: threading.Event,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    extra_jobs: Callable[[BackgroundScheduler], None] | None = None,
) -> None:
    """Run until ``stop`` is set (the CLI sets it on SIGTERM/SIGINT)."""
    scheduler = BackgroundScheduler(timezone=UTC)
    blocked: dict = {}  # hosts that asked us to wait (Retry-After), kept across ticks
    workers = config.settings.parse_workers
    pool = ParsePool(config.rules, workers) if workers else None  # started on first use

    def job() -> None:
        try:
            tick(db, config, now=clock(), stop=stop, blocked=blocked, pool=pool)
        except Exception:  # the daemon outlives any one bad tick
            log.exception("poll tick failed")

    scheduler.add_job(
        job,
        IntervalTrigger(seconds=config.settings.tick.total_seconds()),
        id="poll",
        next_run_time=clock(),
        max_instances=1,
        **LATE_RUNS,
    )
    if extra_jobs:
        extra_jobs(scheduler)
    scheduler.start()
    log.info(
        "monitor running: %d sources, tick every %ss",
        len(config.sources),
        int(config.settings.tick.total_seconds()),
    )
    try:
        stop.wait()
    finally:
        log.info("stopping: finishing the writes in progress")
        scheduler.shutdown(wait=True)
        if pool is not None:
            pool.close()
        log.info("stopped")
