"""One poll of a source: fetch → parse → key → store, and the source's next check.

Fetches run concurrently (a global limit, a per-host limit, per-host Retry-After); parsing
and writing run on the event loop's thread, so writes never interleave. A poll of one source
is one unit of a group commit (store.GroupCommit): its items, its handled entries, its state
and its fetch log land together or not at all, and the sources finished within a second
share one transaction (a dir scan writes its files a chunk at a time, each file's items with
its entry, and its state and fetch log with the last). A failing source is a value (its
report), never an exception.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import sqlite_utils

from . import fetch as fetching
from . import parsers
from .canonical import SiteRules
from .charset import utf8_document
from .config import Config, Source
from .decide import Policy, PollResult, SourceState, next_state
from .ingest import documents_in, parse_and_key, path_text
from .models import Item, NotAnArticle, ParseError
from .parsers import detect
from .parsers.listing import parse_listing
from .state import (
    EntryRecord,
    FetchLog,
    load_entries,
    load_host_blocks,
    load_states,
    rejected_before,
    write_entries,
    write_fetch,
    write_host_blocks,
    write_state,
)
from .store import (
    GroupCommit,
    Saved,
    Sighting,
    StoreUnwritable,
    apply_site_rules,
    known_keys,
    known_urls,
    transaction,
    unwritable,
    when_locked,
    write_items,
)
from .workers import ParsePool

log = logging.getLogger("monitor.poll")

_TTL = re.compile(rb"<ttl>\s*(\d+)\s*</ttl>", re.I)


class _HostBlocked(Exception):
    """A fetch not sent because its host asked us to wait (Retry-After) meanwhile."""

    def __init__(self, until: datetime):
        super().__init__(f"host asked to wait until {until:%Y-%m-%dT%H:%M:%SZ}")
        self.until = until


@dataclass
class PollReport:
    """One line of ``monitor poll``'s summary and of the daemon's log."""

    source: str
    kind: str
    outcome: str
    ok: bool
    status: int | None = None
    new: int = 0
    seen: int = 0
    error: str | None = None
    requests: int = 0
    bytes: int = 0
    duration: float = 0.0
    next_check: datetime | None = None

    def line(self) -> str:
        parts = [f"source={self.source}", f"outcome={self.outcome}"]
        if self.status:
            parts.append(f"status={self.status}")
        parts += [
            f"new={self.new}",
            f"seen={self.seen}",
            f"bytes={self.bytes}",
            f"ms={int(self.duration * 1000)}",
        ]
        if self.error:
            parts.append(f"error={self.error!r}")
        return " ".join(parts)


@dataclass
class _Work:
    """What a poll produced before it is written."""

    items: list[tuple[Item, Sighting]] = field(default_factory=list)
    entries: list[EntryRecord] = field(default_factory=list)
    result: PollResult | None = None
    requests: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)
    # Stories of the items written before the rest (a dir scan's chunks): new, seen again.
    new: int = 0
    seen: int = 0


def due_sources(config: Config, states: dict[str, SourceState], now: datetime) -> list[Source]:
    """Enabled sources whose next check has passed. New sources are due at once, and so
    are sources whose URL (or a dir source's path) the config changed: the backoff and the
    retirement of the old URL (a 404, a 410) say nothing about the new one."""
    return [s for s in config.sources if s.enabled and _due(s, states.get(s.name), now)]


def next_due(
    config: Config, states: dict[str, SourceState], now: datetime
) -> tuple[Source, datetime] | None:
    """The enabled source checked soonest and when (``now`` if one is due); None when none
    will be checked again by itself (all retired or disabled)."""
    times = []
    for source in config.sources:
        state = states.get(source.name)
        if not source.enabled:
            continue
        if _due(source, state, now):
            times.append((now, source))
        elif state.retired_at is None and state.next_check is not None:
            times.append((state.next_check, source))
    if not times:
        return None
    when, source = min(times, key=lambda t: t[0])
    return source, when


def _due(source: Source, state: SourceState | None, now: datetime) -> bool:
    return state is None or location_changed(source, state.config_url) or state.due(now)


def location_changed(source: Source, stored_config_url: str | None) -> bool:
    """Whether the config now names another URL (or, for a dir source, another path) than the
    one the source was polled at, which the ``config_url`` of its state keeps."""
    return stored_config_url != source.location


# ``timeout`` is per connect and per read; a whole response may take this many times it.
DEADLINE_FACTOR = 4

# A mirror's index may list a page before the page is up: a 404 page is retried this long
# after its first 404, then given up ("gone"), so one dead link does not fail the source
# for good.
MISSING_GRACE = timedelta(days=1)
_PAGE_GONE = (fetching.Outcome.NOT_FOUND, fetching.Outcome.GONE)
# A source a permanent redirect moved is polled at the config's URL again when its new
# address answers 404 or 410, or fails this many polls in a row.
_GONE_NOW = {o.value for o in _PAGE_GONE}
MOVED_ERRORS = 3
# The failed pages or files a poll's error names; the others are counted.
ERRORS_SHOWN = 3
# A dir scan writes what it read every this many files, so that the first scan of a large
# mirror checkout does not hold every parsed story in memory (3,000 files took ~70 MB).
SCAN_CHUNK = 500


def _host(url: str | None) -> str:
    return fetching.host_of(url) if url else ""


def _origin(url: str | None) -> str:
    return fetching.origin_of(url) if url else ""


def _proxy_name(url: str) -> str:
    """A proxy's scheme, host and port: its user name and password stay out of logs."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class Poller:
    """Polls sources against one store; holds the HTTP clients and host limits of a run."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        config: Config,
        *,
        rand: Callable[[], float] = random.random,
        client: httpx.AsyncClient | None = None,
        blocked: dict[str, datetime] | None = None,
        pool: ParsePool | None = None,
    ):
        self.db = db
        self.pool = pool
        self.config = config
        self.rules: SiteRules = config.rules
        self.rand = rand
        self._client = client
        self._clients: dict[str | None, httpx.AsyncClient] = {}
        s = config.settings
        # Host blocks (Retry-After) outlive one batch: the daemon passes the same dict each tick.
        # A server's Retry-After holds its sources back no longer than it holds the one
        # that heard it (decide: the longer of max_interval and max_backoff).
        longest = max(s.max_interval, s.max_backoff).total_seconds()
        self.hosts = fetching.HostLimiter(per_host=s.per_host, blocked=blocked, max_backoff=longest)
        self._slots: asyncio.Semaphore | None = None
        self._stop: threading.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self.locked: StoreUnwritable | None = None  # a write found the store locked or full

    # -- clients -------------------------------------------------------------------------

    def _client_for(self, source: Source) -> httpx.AsyncClient:
        if self._client is not None:
            return self._client
        if source.proxy not in self._clients:
            s = self.config.settings
            kwargs = {
                "timeout_connect": min(10.0, s.timeout),
                "timeout_read": s.timeout,
                "proxy": source.proxy,
                # A connection for every fetch in flight: one waiting for a connection
                # beyond the pool's failed as 'pool timeout', never sent. Each source
                # polled at once fetches from a host at most per_host at a time (a
                # mirror's pages too).
                "max_connections": s.concurrency * s.per_host,
            }
            if s.user_agent:
                kwargs["user_agent"] = s.user_agent
            self._clients[source.proxy] = fetching.make_client(**kwargs)
        return self._clients[source.proxy]

    async def aclose(self) -> None:
        for c in self._clients.values():
            await c.aclose()
        self._clients.clear()

    # -- the batch -----------------------------------------------------------------------

    async def poll(
        self,
        sources: list[Source],
        *,
        now: datetime,
        stop: threading.Event | None = None,
        on_report: Callable[[PollReport], None] | None = None,
    ) -> list[PollReport]:
        """Poll ``sources`` concurrently; returns one report per source that ran.

        When ``stop`` is set, sources not yet started are skipped and in-flight fetches are
        cancelled; a source whose writes began always finishes them (writes do not await).
        So are they when a write finds the store locked (see :meth:`_locked_out`).
        """
        self._slots = asyncio.Semaphore(self.config.settings.concurrency)
        self._batch = GroupCommit(self.db)
        self._stop = stop
        states = load_states(self.db)
        reports: list[PollReport] = []

        async def run(source: Source) -> None:
            async with self._slots:
                if stop is not None and stop.is_set():
                    return
                report = await self._poll_one(source, states.get(source.name), now)
            if report is None:  # not stored: the store is locked
                return
            reports.append(report)
            # A failing source is worth a warning: --log-level warning must still show it.
            # One its host holds back is asked again every tick until then: debug only.
            level = logging.INFO if report.ok else logging.WARNING
            log.log(logging.DEBUG if report.outcome == "deferred" else level, report.line())
            if on_report:
                on_report(report)

        tasks = self._tasks = [asyncio.create_task(run(s)) for s in sources]
        watcher = asyncio.create_task(_cancel_on(stop, tasks)) if stop is not None else None
        ticker = asyncio.create_task(self._commit_when_due())
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            ticker.cancel()
            if watcher:
                watcher.cancel()
            self._batch.commit()  # what finished is stored, also when stopping
        return reports

    async def _commit_when_due(self) -> None:
        """Commit an open batch once it is old enough, even if no further source ends."""
        while True:
            await asyncio.sleep(self._batch.max_seconds / 2)
            self._batch.commit_if_due()

    async def _poll_one(self, source: Source, state: SourceState | None, now: datetime):
        state = state or SourceState(name=source.name)
        if location_changed(source, state.config_url):
            # New source, or its URL or path changed in config: start over from the config's.
            # The old URL's failures do not count against the new one's backoff.
            state = replace(
                state,
                config_url=source.location,
                url=source.url,
                etag=None,
                last_modified=None,
                consecutive_errors=0,
                retired_at=None,
            )
        started = time.monotonic()
        blocked = self.hosts.blocked_until(_origin(state.url), now=now)
        if blocked:
            return _deferred(source, blocked)
        try:
            state, work = await self._poll_moved(source, state, now)
        except asyncio.CancelledError:
            raise
        except _HostBlocked as e:  # its host said 429/503 while this poll waited for a slot
            return _deferred(source, e.until)
        except Exception as e:  # a bug must not stop the other sources
            if self._locked_out(e):  # a dir scan writing a chunk
                return None
            log.exception("source %s: unexpected error", source.name)
            work = _Work(result=_internal_error(e))
        try:
            return self._write(source, state, work, now, time.monotonic() - started)
        except Exception as e:  # rolled back; record the failure instead of losing the source
            if self._locked_out(e):
                return None
            log.exception("source %s: could not store the poll", source.name)
            failed = _Work(
                requests=work.requests,
                bytes=work.bytes,
                new=work.new,  # a dir scan's chunks written before stay
                seen=work.seen,
                result=_internal_error(e),
            )
            return self._write(source, state, failed, now, time.monotonic() - started)

    async def _poll_kind(self, source: Source, state: SourceState, now: datetime) -> _Work:
        if source.kind == "dir":
            return self._scan_dir(source, now)
        if source.kind == "mirror":
            return await self._poll_mirror(source, state, now)
        return await self._poll_document(source, state, now)

    async def _poll_moved(
        self, source: Source, state: SourceState, now: datetime
    ) -> tuple[SourceState, _Work]:
        """Poll the source where it is; and where the config says, when a permanent
        redirect moved it and its new address failed hard (404, 410) or ``MOVED_ERRORS``
        polls in a row: a site that moved its feed back, or whose new address died, must
        not leave the source retired or backing off at an address the config never named.
        Returns the state the poll is of (the config's URL once polled there again)."""
        work = await self._poll_kind(source, state, now)
        failed = work.result
        if state.url == source.url or failed.ok or failed.outcome == "pages_failed":
            return state, work
        if failed.outcome not in _GONE_NOW and state.consecutive_errors + 1 < MOVED_ERRORS:
            return state, work
        log.info(
            "source %s: %s, where a permanent redirect had moved it, answered %s; "
            "polling the config's URL %s again",
            source.name,
            state.url,
            failed.error,
            source.url,
        )
        back = replace(state, url=source.url, etag=None, last_modified=None)
        again = await self._poll_kind(source, back, now)
        again.requests += work.requests
        again.bytes += work.bytes
        if not again.result.ok:
            where = f"{state.url}, where a permanent redirect had moved it, answered {failed.error}"
            again.result = replace(again.result, error=f"{again.result.error}; {where}")
        return back, again

    def _locked_out(self, e: Exception) -> bool:
        """Whether ``e`` says another process holds the store's write lock (SQLite waited
        the whole busy timeout), or that its disk is full. The first time, the rest of the
        batch is cancelled: every further write would wait as long, or fail alike, and what
        it fetched could not be stored. Nothing is written of the sources not stored, state
        included, so the next poll fetches them again as if this one had not happened."""
        error = unwritable(self.db, e)
        if error is None:
            return False
        if self.locked is None:
            self.locked = error
            for task in self._tasks:
                if task is not asyncio.current_task():
                    task.cancel()
        return True

    def _write(
        self, source: Source, state: SourceState, work: _Work, now: datetime, duration: float
    ) -> PollReport:
        result = work.result
        policy = Policy(
            source.interval, self.config.settings.max_interval, self.config.settings.max_backoff
        )
        new_state = next_state(state, result, policy, now=now, rand=self.rand())
        error = "; ".join(filter(None, [result.error, *work.errors])) or None
        with self._batch.unit() as conn:
            new, seen = self._write_items(conn, source, work, now)
            new, seen = new + work.new, seen + work.seen
            write_state(conn, new_state, kind=source.kind)
            write_fetch(
                conn,
                FetchLog(
                    source=source.name,
                    started_at=now,
                    url=state.url or source.location,
                    outcome=result.outcome,
                    http_status=result.status,
                    bytes=work.bytes,
                    duration_ms=int(duration * 1000),
                    requests=work.requests,
                    new_items=new,
                    seen_items=seen,
                    error=error,
                ),
            )
        if result.gone:
            log.warning(
                "source %s: %s; retired (poll it by name to try again)", source.name, result.error
            )
        return PollReport(
            source.name,
            source.kind,
            result.outcome,
            result.ok,
            result.status,
            new=new,
            seen=seen,
            error=error,
            requests=work.requests,
            bytes=work.bytes,
            duration=duration,
            next_check=new_state.next_check,
        )

    def _write_items(self, conn, source: Source, work: _Work, now: datetime) -> tuple[int, int]:
        """Write the work's items and handled entries; returns the stories new, seen again."""
        saved: list[Saved] = []
        if work.items:
            saved = write_items(
                conn,
                work.items,
                now=now,
                copy_similarity=self.config.settings.copy_similarity,
            )
        if work.entries:
            ids = {}
            for (_item, where), s in zip(work.items, saved, strict=True):
                ids.setdefault(where.location, s.item_id)
            entries = [replace(e, item_id=e.item_id or ids.get(e.location)) for e in work.entries]
            write_entries(conn, source.name, entries, now=now)
        new = sum(s.status == "new" for s in saved)
        return new, len(saved) - new

    def _write_chunk(self, source: Source, work: _Work, now: datetime) -> None:
        """Write what a dir scan has read so far, and let it go (see SCAN_CHUNK). Each file's
        items land with its entry; the source's state and fetch log come with the rest."""
        with self._batch.unit() as conn:
            new, seen = self._write_items(conn, source, work, now)
        work.new, work.seen = work.new + new, work.seen + seen
        work.items, work.entries = [], []

    # -- kinds ---------------------------------------------------------------------------

    async def _get(
        self, source: Source, url: str, now: datetime, *, etag=None, last_modified=None
    ) -> fetching.FetchResult:
        req = fetching.FetchRequest(
            url=url,
            etag=etag,
            last_modified=last_modified,
            headers=dict(source.headers),
            max_bytes=self.config.settings.max_bytes,
            deadline=self.config.settings.timeout * DEADLINE_FACTOR,
            proxy=source.proxy,
        )
        # Concurrency is per machine (host name); a 429/503 holds back its port only.
        async with self.hosts.slot(_host(url)):
            # Checked again in the slot: a fetch queued behind a 429/503 is not sent.
            until = self.hosts.blocked_until(_origin(url), now=now)
            if until is not None:
                raise _HostBlocked(until)
            res = await fetching.fetch(self._client_for(source), req, now=now)
        self.hosts.observe(res, now=now)
        if source.proxy and res.status is None and res.error:
            # No answer: the proxy's fault or the site's, which the error alone cannot tell.
            res = replace(res, error=f"{res.error} (via proxy {_proxy_name(source.proxy)})")
        return res

    def _parse(self, source: Source, content: bytes, url: str | None) -> list[Item]:
        return parse_and_key(content, self.rules, url=url, site=source.site, zone=source.timezone)

    async def _parse_fetched(self, source: Source, res: fetching.FetchResult) -> list[Item]:
        data = _utf8_body(res)
        if self.pool is not None:
            return await self.pool.parse(
                data, url=res.final_url, site=source.site, zone=source.timezone
            )
        return self._parse(source, data, res.final_url)

    async def _fetch_own(self, source: Source, state: SourceState, now: datetime):
        """The source's own URL, conditionally; the work is finished unless it says OK."""
        res = await self._get(
            source, state.url, now, etag=state.etag, last_modified=state.last_modified
        )
        work = _Work(requests=1, bytes=res.bytes, result=_result_from(res))
        return res, work, res.outcome is fetching.Outcome.OK

    async def _poll_document(self, source: Source, state: SourceState, now: datetime) -> _Work:
        res, work, ok = await self._fetch_own(source, state, now)
        if not ok:
            return work
        base = work.result
        error = None
        try:
            items = await self._parse_fetched(source, res)
        except (ParseError, UnicodeError) as e:
            error = str(e)
            if source.kind == "feed" and (page := _page_kind(res.content)):
                error = f"not a feed: {page} ({error})"
        else:
            page = next((i for i in items if i.format in _PAGES), None)
            if source.kind == "feed" and page is not None:
                # A feed's address answering with a web page (the feed was removed, the
                # site redirects to its front page) or a Markdown page (a repository's
                # notice in place of its feed file) is a failing feed, not a new source.
                error = f"not a feed: {_PAGES[page.format]} ({items[0].title!r})"
        if error is not None:
            if res.final_url != state.url:  # the address the user knows is not where it failed
                error += f" (redirected to {res.final_url})"
            # Nor is a redirect to what is no feed (a front page) remembered: the address is
            # polled again, and recovers when it serves the feed again.
            work.result = PollResult("parse_error", ok=False, status=res.status, error=error)
            return work
        where = Sighting(source.name, source.url)
        work.items = [(i, where) for i in items]
        ttl = _TTL.search(res.content[:20000])
        work.result = replace(base, ttl=int(ttl.group(1)) * 60 if ttl else None)
        return work

    async def _poll_mirror(self, source: Source, state: SourceState, now: datetime) -> _Work:
        version = parsers.PARSER_VERSION
        # Pages rejected by an older parser are read again, listed or not: also when the
        # index did not change (304), which is when an upgrade finds most mirrors.
        again = rejected_before(self.db.conn, source.name, version)
        res, work, ok = await self._fetch_own(source, state, now)
        if not ok and not (again and res.outcome is fetching.Outcome.NOT_MODIFIED):
            return work
        base = work.result
        listed = []
        if ok:
            try:
                listing = parse_listing(
                    res.text,
                    base_url=res.final_url,
                    fmt=source.index_format,
                    page_url=source.page_url,
                )
            except ParseError as e:
                work.result = PollResult("parse_error", ok=False, status=res.status, error=str(e))
                return work
            listed = [e.url for e in listing]
        pending, given_up, retried, missing = self._new_pages(source, listed, again, now)
        work.entries += given_up
        results = await asyncio.gather(
            *(self._fetch_page(source, url, now, version) for url in pending)
        )
        failed = sent = sent_ok = 0
        waits = []
        for url, (page, items, entry, error) in zip(pending, results, strict=True):
            if page is not None:
                sent += 1
                # A page that was missing before and still is says nothing new about the
                # source: its host answers. It is retried within the grace, then given up.
                sent_ok += not error or (url in missing and page.outcome in _PAGE_GONE)
                work.bytes += page.bytes
                if page.retry_after:
                    waits.append(page.retry_after)
            if error:
                failed += 1
                work.errors.append(f"{url}: {error}")
            if entry:
                work.entries.append(entry)
            where = Sighting(source.name, url)
            work.items.extend((i, where) for i in items)
        work.requests += sent
        work.result = base
        if failed:
            # A page host that is down fails every page: name a few.
            work.errors = [f"{failed} of {len(pending)} pages failed", *_a_few(work.errors)]
            # Keep the old validators so the next poll re-reads the index and retries.
            work.result = replace(base, etag=None, last_modified=None)
        if sent and not sent_ok:
            # The index answers but no page does: the source is failing, and backs off like
            # one (pages only queued behind a host's Retry-After were not tried, so they alone
            # do not count).
            work.result = PollResult(
                "pages_failed",
                ok=False,
                status=base.status,
                error="; ".join(work.errors),  # the source's last error, as `sources` shows
                retry_after=max(waits, default=None),
                moved_to=base.moved_to,
            )
            work.errors = []
        _log_read_again(source, "page", retried, work.entries, version)
        return work

    def _new_pages(
        self, source: Source, urls: list[str], again: list[str], now: datetime
    ) -> tuple[list[str], list[EntryRecord], set[str], set[str]]:
        """Listing links not handled before (or missing, within the grace), and the pages
        ``again`` (rejected by an older parser: not handled, listed or not), whose story is
        not already stored; the missing pages given up now, marked ``gone``; and which of
        the pages to fetch are of ``again``, and which were missing before."""
        conn = self.db.conn
        retry = set(again)
        # Only a changed index needs every entry (a large mirror's take a while to read).
        handled = load_entries(conn, source.name) if urls else {}
        given_up = []
        fresh = []
        missing = set()
        for u in dict.fromkeys([*urls, *again]):
            old = handled.get(u)
            if old is None or u in retry:
                fresh.append(u)
            elif old.status == "missing":
                if old.first_seen is not None and now - old.first_seen >= MISSING_GRACE:
                    given_up.append(replace(old, status="gone"))
                else:
                    fresh.append(u)
                    missing.add(u)
        known = known_urls(conn, fresh)
        keyed = {u: k for u in fresh if (k := self.rules.key_for(u, from_mirror=True))}
        known |= {u for u, k in keyed.items() if k in known_keys(conn, keyed.values())}
        pending = [u for u in fresh if u not in known]
        return pending, given_up, retry.intersection(pending), missing

    async def _fetch_page(self, source: Source, url: str, now: datetime, version: int):
        try:
            page = await self._get(source, url, now)
        except _HostBlocked as e:  # not sent; retried next poll like any failed page
            return None, [], None, f"not fetched: {e}"
        if page.outcome in _PAGE_GONE:  # remembered, so that it is not retried for ever
            status = "gone" if page.outcome is fetching.Outcome.GONE else "missing"
            error = page.error or page.outcome.value
            return page, [], EntryRecord(url, status, reason=error), error
        if page.outcome is not fetching.Outcome.OK:
            return page, [], None, page.error or page.outcome.value
        read = EntryRecord(url, "stored", parser_version=version)
        try:
            items = await self._parse_fetched(source, page)
        except NotAnArticle as e:
            return page, [], replace(read, status="rejected", reason=str(e)), None
        except (ParseError, UnicodeError) as e:
            rejected = replace(read, status="rejected", reason=str(e))
            return page, [], rejected, f"unparseable: {e}"
        return page, items, read, None

    def _scan_dir(self, source: Source, now: datetime) -> _Work:
        """New or changed files of a folder (size, mtime, then content hash decide)."""
        work = _Work(requests=0)
        root = source.path
        if missing := folder_missing(root):
            work.result = PollResult("not_found", ok=False, error=missing)
            return work
        unreadable: list[OSError] = []
        documents = documents_in(root, unreadable)
        if unreadable and Path(unreadable[0].filename) == root:  # not an empty folder
            error = f"folder {root} cannot be read: {unreadable[0].strerror or unreadable[0]}"
            work.result = PollResult("unreadable", ok=False, error=error)
            return work
        for e in unreadable:  # its files are read once it can be listed
            rel = path_text(Path(e.filename).relative_to(root))
            work.errors.append(f"{rel}/: cannot read folder: {e.strerror or e}")
        handled = load_entries(self.db.conn, source.name)
        version = parsers.PARSER_VERSION
        retried = set()
        again: list[EntryRecord] = []  # of the files in retried: what became of them
        for done, path in enumerate(documents):
            if len(work.entries) >= SCAN_CHUNK:
                again += [e for e in work.entries if e.location in retried]
                self._write_chunk(source, work, now)
            if self._stop is not None and self._stop.is_set():
                # A large folder's first scan takes minutes: stop between files, keep what
                # was read, and read the rest (no entries yet) at the next poll.
                stopped = f"stopped after {done} of {len(documents)} files: the rest next poll"
                work.errors.insert(0, stopped)
                break
            rel = path_text(path.relative_to(root))
            try:
                st = path.stat()
                old = handled.get(rel)
                if old and old.rejected_before(version):
                    # Read again, unchanged or not: this parser may read what that one refused.
                    retried.add(rel)
                    old = None
                if old and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
                    continue
                data = path.read_bytes()
            except FileNotFoundError:  # removed since the folder was listed (a git pull)
                continue
            except OSError as e:  # this file only; not recorded, so tried again next poll
                work.errors.append(f"{rel}: cannot read: {e.strerror or e}")
                continue
            digest = hashlib.sha256(data).hexdigest()
            record = EntryRecord(
                rel,
                "stored",
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                sha256=digest,
                parser_version=version,
            )
            if old and old.sha256 == digest:
                kept = {"status": old.status, "reason": old.reason, "item_id": old.item_id}
                work.entries.append(replace(record, **kept, parser_version=old.parser_version))
                continue
            work.bytes += len(data)
            try:
                items = self._parse(source, data, None)
            except NotAnArticle as e:
                work.entries.append(replace(record, status="rejected", reason=str(e)))
                continue
            except (ParseError, UnicodeError) as e:
                work.entries.append(replace(record, status="rejected", reason=str(e)))
                work.errors.append(f"{rel}: {e}")
                continue
            where = Sighting(source.name, rel)
            work.items.extend((i, where) for i in items)
            work.entries.append(record)
        work.errors = _a_few(work.errors)  # a mirror checkout's index pages, READMEs …
        work.result = PollResult("ok", ok=True)
        _log_read_again(source, "file", retried, [*again, *work.entries], version)
        return work


def folder_missing(root: Path) -> str | None:
    """Why a dir source's folder cannot be scanned (unmounted, removed, or a path written
    wrong: the config loads without it, so that the other sources are polled), or None."""
    if os.path.isdir(root):
        return None
    what = "is not a folder" if os.path.exists(root) else "does not exist"
    return f"folder {root} {what}"


def _log_read_again(
    source: Source, noun: str, retried: set[str], entries: list[EntryRecord], version: int
) -> None:
    """Say what became of the documents rejected by an older parser that a poll read again:
    a poll that stores old files or fetches many pages after an upgrade tells why."""
    if not retried:
        return
    status = {e.location: e.status for e in entries if e.location in retried}
    read = sum(s == "stored" for s in status.values())
    rejected = sum(s == "rejected" for s in status.values())
    rest = len(retried) - read - rejected  # could not be read or fetched (404 included)
    log.info(
        "source %s: %d %s%s rejected by an older parser read again (parser version %d): "
        "%d read, %d rejected again%s",
        source.name,
        len(retried),
        noun,
        "" if len(retried) == 1 else "s",
        version,
        read,
        rejected,
        f", {rest} not read" if rest else "",
    )


def _a_few(errors: list[str]) -> list[str]:
    """The first ``ERRORS_SHOWN`` errors, and how many more there were."""
    if len(errors) <= ERRORS_SHOWN:
        return errors
    return [*errors[:ERRORS_SHOWN], f"and {len(errors) - ERRORS_SHOWN} more"]


def _utf8_body(res: fetching.FetchResult) -> bytes:
    """The body as UTF-8, read with its Content-Type charset, which only the fetch knows;
    the parsers make the same decision for a body without one (and for local files)."""
    if res.text is None or res.encoding == "utf-8":
        return res.content
    return utf8_document(res.content, res.content_type)


# Formats of a single page, as a feed's address must not answer.
_PAGES = {"html-page": "a web page", "markdown": "a Markdown page"}


def _page_kind(content: bytes | None) -> str | None:
    """What page ``content`` is (``a web page``), or None when it is no page."""
    try:
        return _PAGES.get(detect(content or b""))
    except ParseError:
        return None


def _deferred(source: Source, until: datetime) -> PollReport:
    """Not polled: its host asked us to wait. Nothing is written; it stays due."""
    return PollReport(
        source.name,
        source.kind,
        "deferred",
        ok=True,
        error=f"host asked to wait until {until:%Y-%m-%dT%H:%M:%SZ}",
        next_check=until,
    )


def _internal_error(e: Exception) -> PollResult:
    return PollResult("internal_error", ok=False, error=f"{type(e).__name__}: {e}")


def _result_from(res: fetching.FetchResult) -> PollResult:
    o = res.outcome
    return PollResult(
        outcome=o.value,
        ok=o in (fetching.Outcome.OK, fetching.Outcome.NOT_MODIFIED),
        status=res.status,
        error=res.error,
        etag=res.etag if o is fetching.Outcome.OK else None,
        last_modified=res.last_modified if o is fetching.Outcome.OK else None,
        retry_after=res.retry_after,
        max_age=res.max_age,
        moved_to=res.permanent_redirect,
        gone=o is fetching.Outcome.GONE,
    )


async def _cancel_on(stop: threading.Event, tasks: list[asyncio.Task]) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for t in tasks:
        t.cancel()


def poll_once(
    db: sqlite_utils.Database,
    config: Config,
    sources: list[Source],
    *,
    now: datetime,
    stop: threading.Event | None = None,
    on_report: Callable[[PollReport], None] | None = None,
    client: httpx.AsyncClient | None = None,
    blocked: dict[str, datetime] | None = None,
    pool: ParsePool | None = None,
) -> list[PollReport]:
    """Synchronous entry point: one pass over ``sources``.

    Parsing runs in ``pool`` when given (the daemon keeps one across ticks), else in a
    pool of this call's own when ``parse_workers`` is set, else in this process.

    Raises :class:`StoreLocked` when another process holds the store's write lock (or
    :class:`StoreFull` when its disk is full): after
    the first write that waited for it in vain, with what was stored before kept.
    """
    with when_locked(db):
        added = apply_site_rules(db, config.rules)
    if added:
        keys = "new key" if added == 1 else "new keys"
        log.info("site rules changed: %d %s for stored stories", added, keys)
    own = None
    if pool is None and config.settings.parse_workers:
        pool = own = ParsePool(config.rules, config.settings.parse_workers)
    # A server's "come back later" outlives this process: a cron'd poll, or a daemon
    # restarted, waits as the daemon that heard it would.
    blocked = {} if blocked is None else blocked
    load_host_blocks(db.conn, blocked, now)

    async def go():
        poller = Poller(db, config, client=client, blocked=blocked, pool=pool)
        try:
            reports = await poller.poll(sources, now=now, stop=stop, on_report=on_report)
            return reports, poller.locked
        finally:
            await poller.aclose()

    try:
        reports, locked = asyncio.run(go())
    finally:
        if own is not None:
            own.close()
    if locked is not None:  # a host's Retry-After would wait for the lock once more
        raise locked
    with when_locked(db), transaction(db) as conn:
        write_host_blocks(conn, blocked, now)
    return reports
