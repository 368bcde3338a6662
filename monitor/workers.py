"""Parsing in worker processes, so a busy poll uses more than one core.

Parsing, keying and sketching a feed item is pure Python and lxml work that holds the GIL;
on a poll of many feeds it is most of the CPU time, and the event loop thread that fetches
and writes would otherwise do it all. With ``parse_workers = N`` those steps run in N
processes and the loop only fetches and writes. Workers start from a fork server (not a
fork of the threaded daemon), in the background at the first document, and ignore Ctrl-C:
the daemon decides when they stop.

The polling process still parses a document itself when the workers already have
:data:`BACKLOG` documents each waiting: with one worker on two cores, fetching and writing
alone left the polling process idle 40 % of a cold poll. The pool's pipes are widened so
that a worker hands back a feed's items without waiting for the busy loop to read them.

A pool that breaks (a worker killed by the OOM killer) is not fatal: parsing falls back to
the calling process and the poll goes on.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import multiprocessing
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .canonical import SiteRules
from .ingest import parse_and_key
from .models import Item

log = logging.getLogger("monitor.workers")

_rules: SiteRules | None = None  # in a worker: the site rules its pool was started with

BACKLOG = 8  # documents waiting per worker before the polling process parses one itself
PIPE_BYTES = 1 << 20  # a feed's pickled items (~0.5 MB for 50 stories) fit in one write


def _start(rules: SiteRules) -> None:
    global _rules
    _rules = rules
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _parse(data: bytes, url: str | None, site: str | None, zone: str | None) -> list[Item]:
    return parse_and_key(data, _rules, url=url, site=site, zone=zone, with_sketch=True)


def _ready() -> None:
    """A job that only makes the pool spawn a worker."""


class ParsePool:
    """``parse_and_key`` in ``workers`` processes, awaited from the event loop."""

    def __init__(self, rules: SiteRules, workers: int):
        self.rules = rules
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None  # set once its workers are up
        self._broken = False
        self._booting: threading.Thread | None = None
        self.waiting = 0  # documents sent to the workers and not back yet

    def start(self) -> None:
        """Start the workers in the background (the first document does); documents
        parse in this process until they are up. Starting them in the loop's thread
        stalled the whole poll while the fork server imported the parsers (~0.3 s)."""
        if self._booting is None and self._pool is None and not self._broken:
            self._booting = threading.Thread(target=self._boot, name="parse-workers", daemon=True)
            self._booting.start()

    def _boot(self) -> None:
        pool = None
        try:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["monitor.workers"])
            pool = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_start, initargs=(self.rules,)
            )
            _widen_pipes(pool)
            for _ in range(self.workers):
                pool.submit(_ready)  # each submit spawns a worker while none is idle
        except (OSError, ValueError, BrokenProcessPool) as e:  # no /dev/shm, fork server, ...
            log.warning("parse workers unavailable (%s); parsing in process", e)
            self._broken = True
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            return
        self._pool = pool

    def ready(self, timeout: float | None = None) -> bool:
        """Wait for :meth:`start` to finish; True when the workers are up."""
        if self._booting is not None:
            self._booting.join(timeout)
        return self._pool is not None

    async def parse(
        self, data: bytes, *, url: str | None, site: str | None, zone: str | None = None
    ) -> list[Item]:
        self.start()
        pool = self._pool if self.waiting < BACKLOG * self.workers else None
        if pool is not None:
            self.waiting += 1
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    pool, _parse, data, url, site, zone
                )
            except BrokenProcessPool as e:
                log.warning("parse workers stopped (%s); parsing in process from now on", e)
                self._broken = True
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            finally:
                self.waiting -= 1
        return parse_and_key(data, self.rules, url=url, site=site, zone=zone)

    def close(self) -> None:
        self.ready()
        self._booting = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _widen_pipes(pool: ProcessPoolExecutor) -> None:
    """Give the pool's two pipes :data:`PIPE_BYTES` (Linux; 64 KB by default). A worker
    writing a feed's items into a full pipe waits until the polling process's reader
    thread gets the GIL back from the busy event loop: between documents a worker spent
    0.9 s of a 5 s poll, 0.4 s with wide pipes. Best effort: left as they are where the
    pipes or the call are not there."""
    try:
        for conn in (pool._call_queue._reader, pool._result_queue._reader):
            fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):
        pass
