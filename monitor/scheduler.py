"""APScheduler wiring for ``monitor run``: one tick job polls whatever is due.

State lives in the store (next check per source), so the scheduler stays simple: a tick
asks which sources are due and polls them. A stop event ends the loop after the writes in
progress; no poll is left half-written because each poll is one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlite_utils
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .config import Config
from .dispatch import LockHeld, store_lock
from .logs import about, plural
from .pipeline import due_sources, poll_once
from .state import load_states
from .store import (
    StoreUnwritable,
    index_pending,
    iso,
    parse_iso,
    pending_count,
    prune_fetches,
    transaction,
    when_locked,
)
from .workers import ParsePool

log = logging.getLogger("monitor.run")

# How every job of the daemon treats a run time it could not keep (the process was
# suspended, stopped with SIGSTOP, or its VM paused): it runs once as soon as it can, however
# late. APScheduler's default drops a run more than a second late; a digest covers what was
# not yet delivered, so a late one is still right, and dropping it lost a day's digest.
# ``coalesce`` makes several missed runs one.
LATE_RUNS = {"misfire_grace_time": None, "coalesce": True}

# Seconds between the main thread's looks at the signals sent to the daemon. The kernel
# hands a SIGTERM to any of the process's threads, under load often not the main one; Python
# then only marks the handler as due, and runs it on the main thread the next time that runs
# Python code. Waiting for the stop without a timeout, the main thread never did.
SIGNAL_CHECK = 1.0

# How far the wall clock may fall behind the monotonic one between two looks before the
# daemon takes it as set back (NTP slews by milliseconds; a loaded machine wakes late,
# which moves both clocks alike).
CLOCK_SLACK = 30.0


def tick(
    db: sqlite_utils.Database,
    config: Config,
    *,
    now: datetime,
    stop: threading.Event | None = None,
    blocked: dict | None = None,
    pool: ParsePool | None = None,
    skipped: SkippedTicks | None = None,
) -> int:
    """Poll the sources that are due at ``now``, then index what they stored; returns how
    many sources ran. Indexing runs even when stopping: it is short, and it only adds.

    Another process polling the store (``monitor poll`` from cron, or by hand) holds its
    poll lock: this tick skips rather than fetch and write the same sources, or block the
    scheduler's thread for as long as that poll takes; the next tick polls. ``skipped``,
    kept across ticks, says so once for a run of skipped ticks (see :class:`SkippedTicks`).

    A store another process keeps write-locked costs a tick one busy timeout and one error
    line, not one per source (see :class:`StoreLocked`), and so does a full disk; the
    next tick tries again."""
    skipped = skipped if skipped is not None else SkippedTicks()
    try:
        with store_lock(db, "poll-lock"):
            skipped.ended()
            ran = _poll_due(db, config, now=now, stop=stop, blocked=blocked, pool=pool)
        indexed = _index(db)
        if ran:
            _prune(db, config, now)
    except LockHeld as e:
        skipped.skip(e.path)
        return 0
    except StoreUnwritable as e:
        log.error("%s; the sources not stored are polled again at the next tick", e)
        return 0
    if indexed:
        log.info("indexed %s for search", plural(indexed, "story", "stories"))
    return ran


class SkippedTicks:
    """Ticks skipped in a row while another process polls the store. A manual poll of half
    an hour skips thirty minutely ticks: the first says so (info), the rest only at debug,
    and the tick that polls again says after how many."""

    def __init__(self) -> None:
        self.ticks = 0

    def skip(self, lock: str) -> None:
        log.log(
            logging.DEBUG if self.ticks else logging.INFO,
            "another process is polling the store (it holds %s); ticks skip until it is done",
            lock,
        )
        self.ticks += 1

    def ended(self) -> None:
        if self.ticks:
            log.info("polling again after %s", plural(self.ticks, "skipped tick"))
        self.ticks = 0


def _poll_due(db, config, *, now, stop, blocked, pool) -> int:
    """Which sources are due is read under the poll lock: one another process just polled
    is not due again."""
    due = due_sources(config, load_states(db), now)
    if not due or (stop is not None and stop.is_set()):
        return 0
    return len(poll_once(db, config, due, now=now, stop=stop, blocked=blocked, pool=pool))


def _index(db) -> int:
    """Index what is pending; with nothing pending, no write (and no wait for the lock)."""
    if not pending_count(db.conn):
        return 0
    with when_locked(db):
        return index_pending(db)


def _prune(db, config, now) -> None:
    """Keep the fetch log to the polls of ``keep_fetches``: each poll adds a row per source."""
    with when_locked(db):
        dropped = prune_fetches(db, now - config.settings.keep_fetches)
    if dropped:
        log.debug("fetch log: dropped %s", plural(dropped, "poll"))


class PollJob:
    """The tick job: runs ``poll(now)`` unless the previous one is still running.

    A poll may outlast the tick (a slow source, a long timeout). The ticks that come
    meanwhile leave it be: that is expected, so one info line names the running poll (by
    its start) and later ticks say so only at debug level, instead of APScheduler warning
    at every tick that the job's instances are used up. Errors still reach the log.
    """

    def __init__(self, poll: Callable[[datetime], object], clock: Callable[[], datetime]):
        self._poll, self._clock = poll, clock
        self._running = threading.Lock()
        self._started: datetime | None = None
        self._told = False  # of the poll running now

    def __call__(self) -> None:
        if not self._running.acquire(blocking=False):
            started, told = self._started, self._told
            self._told = True
            log.log(
                logging.DEBUG if told else logging.INFO,
                "poll started %s still running after %ds; ticks wait for it",
                started.isoformat(timespec="seconds") if started else "just now",
                (self._clock() - started).total_seconds() if started else 0,
            )
            return
        try:
            self._started, self._told = self._clock(), False
            self._poll(self._started)
        except Exception:  # the daemon outlives any one bad tick
            log.exception("poll tick failed")
        finally:
            self._running.release()


class ClockWatch:
    """Notices the wall clock set back (by hand, a VM restored, NTP stepping a bad clock):
    APScheduler plans the next tick on the wall clock and sources are due by it, so a
    clock set back an hour held every poll back that hour."""

    def __init__(self, wall: Callable[[], datetime], mono: Callable[[], float] = time.monotonic):
        self.wall, self.mono = wall, mono
        self.offset = self._offset()

    def _offset(self) -> float:
        return self.wall().timestamp() - self.mono()

    def set_back(self) -> float:
        """Seconds the wall clock went back since the last look; 0 when it did not."""
        offset = self._offset()
        back, self.offset = self.offset - offset, offset
        return back if back > CLOCK_SLACK else 0.0


def clock_set_back(db, scheduler: BackgroundScheduler, back: float, now: datetime) -> None:
    """Keep the polls' rhythm across a clock set back ``back`` seconds: the sources' next
    checks (written by the clock before) move back as much, and the next tick is now."""
    shift = timedelta(seconds=back)
    with when_locked(db), transaction(db) as conn:
        rows = conn.execute(
            "SELECT name, next_check FROM sources WHERE next_check > ?", (iso(now),)
        ).fetchall()
        conn.executemany(
            "UPDATE sources SET next_check = ? WHERE name = ?",
            [(iso(parse_iso(when) - shift), name) for name, when in rows],
        )
    scheduler.modify_job("poll", next_run_time=now)
    log.warning(
        "the system clock went back %s: the sources' next checks moved back as much, and "
        "the daemon polls now",
        about(back),
    )


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
    blocked: dict = {}  # host[:port]s that asked us to wait (Retry-After), kept across ticks
    workers = config.settings.parse_workers
    pool = ParsePool(config.rules, workers) if workers else None  # started on first use
    skipped = SkippedTicks()

    def poll(now: datetime) -> None:
        tick(db, config, now=now, stop=stop, blocked=blocked, pool=pool, skipped=skipped)

    scheduler.add_job(
        PollJob(poll, clock),
        IntervalTrigger(seconds=config.settings.tick.total_seconds()),
        id="poll",
        next_run_time=clock(),
        max_instances=2,  # the poll, and a tick that finds it still running (see PollJob)
        **LATE_RUNS,
    )
    if extra_jobs:
        extra_jobs(scheduler)
    scheduler.start()
    log.info(
        "monitor running: %s, tick every %ss",
        plural(len(config.sources), "source"),
        int(config.settings.tick.total_seconds()),
    )
    watch = ClockWatch(clock)
    try:
        while not stop.wait(SIGNAL_CHECK):
            if back := watch.set_back():
                clock_set_back(db, scheduler, back, clock())
    finally:
        log.info("stopping: finishing the writes in progress")
        scheduler.shutdown(wait=True)
        if pool is not None:
            pool.close()
        log.info("stopped")
