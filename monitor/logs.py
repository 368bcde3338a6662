"""Logging to stdout: one readable line per poll, or JSON lines for log collectors."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 source``, ``2 sources``: counts in lines people read."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def about(seconds: float) -> str:
    """``40 s``, ``3 min``, ``2.5 h``: a time left, as precise as an estimate is."""
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class ProgressLog:
    """Long work's progress as log lines, one every ``every`` seconds at most: where no
    progress bar shows (the daemon's log, a command's piped stderr) they say the work goes
    on, and for about how long yet. Called with how much of how much is done; the first
    call starts the clock (work done before it, by an earlier run, is not in the rate)."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.log, self.what, self.every, self.clock = log, what, every, clock
        self.started: float | None = None
        self.first = 0  # done at the first call
        self.next = 0.0  # clock time of the next line

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.started is None:
            self.started, self.first, self.next = now, done, now + self.every
            return
        if now < self.next or now <= self.started or not total:
            return
        self.next = now + self.every
        rate = (done - self.first) / (now - self.started)
        left = f", about {about((total - done) / rate)} left" if rate > 0 else ""
        self.log.info("%s: %d%% done%s", self.what, 100 * done // total, left)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):
    """To the ``sys.stderr`` of each line's time, not the one at set-up: a progress bar
    puts its own in place while it shows, which prints lines above the bar instead of on
    its line."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(fmt: str = "text", level: str = "INFO", *, stream=None) -> None:
    """Commands log to stderr so their tables stay clean; the daemon logs to stdout."""
    handler = logging.StreamHandler(stream) if stream else StderrHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request at INFO; our poll line already says what happened.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
