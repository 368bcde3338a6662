"""Sending a watch's digest through its deliveries, and remembering what each one got.

Each delivery is marked on its own (``digest_deliveries``, by :attr:`Delivery.key`): a
story it received is never sent to it again, and a delivery that failed gets the same
stories again next run while the others move on. Deliveries that would get the same
stories (usually all of a watch's) share one digest: it is built once and recorded once.

Sends are serialized per store (a lock file beside it): a cron ``digest --send`` and the
daemon's scheduled digest running at once would otherwise both send the same stories.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import deliver, digest, render
from .config import Config, Delivery, Watch
from .store import store_file

log = logging.getLogger("monitor.digest")


@dataclass
class SendResult:
    watch: str
    status: str  # delivered | partial (some deliveries failed) | failed | empty
    stories: int
    groups: int
    outputs: list[str]
    error: str | None = None
    warning: str | None = None  # what went out only in part (recipients refused): not resent


def rendered(
    config: Config,
    db: sqlite_utils.Database,
    watch: Watch,
    d,
    fmt: str,
    *,
    images: bool = False,
    delivery: str | None = None,
) -> str:
    """``d`` in ``fmt``; an Atom feed also holds the digests ``delivery`` got before."""
    if fmt == "atom":
        earlier = digest.history(db, config, watch, delivery=delivery)
        return render.render_atom([d, *earlier], watch=watch.name)
    if fmt == "html":
        return render.render(d, "html", images=images)
    return render.render(d, fmt)


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _named(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"


def _email_target(how: Delivery) -> str:
    return "email to " + ", ".join(how.to)


def _deliver_one(
    config: Config,
    db,
    watch: Watch,
    d,
    how: Delivery,
    env: Mapping[str, str],
    stop: threading.Event | None = None,
) -> str:
    if how.kind == "file":
        content = rendered(config, db, watch, d, how.format, images=how.images, delivery=how.key)
        path = deliver.write_file(Path(how.path), d, how.format, content)
        return _shown(path)
    if how.kind == "stdout":
        content = rendered(config, db, watch, d, how.format, images=how.images, delivery=how.key)
        deliver.write_stdout(content)
        return "stdout"
    if how.kind == "email":
        settings = deliver.SmtpSettings.from_env(env)
        deliver.send_email(
            d,
            to=list(how.to),
            text=render.render(d, "text"),
            html=render.render(d, "html", images=how.images),
            settings=settings,
        )
        return _email_target(how)
    if how.kind == "webhook":
        deliver.post_webhook(how.url, json.loads(render.render(d, "json")), stop=stop)
        return f"webhook {deliver.webhook_host(how.url)}"
    raise ValueError(f"unknown delivery kind {how.kind!r}")


class LockHeld(Exception):
    """Another process holds a lock file of the store (``path``)."""

    def __init__(self, path: str):
        super().__init__(f"{path} is held by another process")
        self.path = path


@contextlib.contextmanager
def store_lock(
    db: sqlite_utils.Database | Path,
    suffix: str,
    *,
    waiting: str | None = None,
    logger: logging.Logger = log,
) -> Iterator[str | None]:
    """Hold ``<store>.<suffix>`` (an flock) for the block, and yield its path. The OS
    releases it when the process ends, however it ends (SIGKILL, a crash), so a stale lock
    never needs removing. Held elsewhere: ``waiting`` is logged to ``logger`` (``%s``: the
    store) and this waits, or without it :class:`LockHeld` is raised at once. ``db`` may be
    the store's file, to lock it before it is opened (and upgraded)."""
    store = store_file(db) if not isinstance(db, Path) else str(db)
    if store is not None and Path(store).name == ":memory:":  # --db :memory:, not yet open
        store = None
    if store is None:  # an in-memory store: nobody else can see it
        yield None
        return
    path = f"{store}.{suffix}"
    with open(path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is None:
                raise LockHeld(path) from None
            logger.info(waiting, store)  # say why nothing happens yet, then wait for it
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _one_sender(db: sqlite_utils.Database):
    """Wait for any other process (or thread) sending digests from this store."""
    return store_lock(
        db, "send-lock", waiting="waiting for another process sending digests from %s"
    )


def send(
    db: sqlite_utils.Database,
    config: Config,
    watch: Watch,
    *,
    now: datetime,
    since: str = "last",
    send_empty: bool = False,
    env: Mapping[str, str] | None = None,
    cache: digest.StoryCache | None = None,
    stop: threading.Event | None = None,
) -> SendResult:
    """Build the watch's digest and deliver it; record what each delivery did.
    ``cache``: shared by the watches sent in one run (see :class:`digest.StoryCache`);
    ``stop``: the daemon is stopping, so a webhook gives up its retries (recorded failed,
    sent again next run)."""
    env = os.environ if env is None else env
    if not watch.deliveries:
        raise ValueError(
            f"watch {watch.name!r} has no delivery configured "
            "(add [[watch.delivery]] to the config)"
        )
    with _one_sender(db):  # another sender's digest goes out first
        # Deliveries whose windows hold the same stories get one digest, built once.
        plans: dict[tuple[int, ...], tuple[digest.Window, list[Delivery]]] = {}
        for how in watch.deliveries:
            within = digest.window(
                db, config, watch, since=since, now=now, undelivered=True, delivery=how.key
            )
            plans.setdefault(within.ids, (within, []))[1].append(how)
        outputs: list[str] = []
        errors: list[str] = []
        warnings: list[str] = []
        stories: set[int] = set()
        groups: set[int] = set()
        for within, hows in plans.values():
            selection = digest.build(db, config, watch, now=now, cache=cache, within=within)
            d = selection.digest
            if not d.entries and not send_empty:
                continue
            digest.reserve(db, selection, now=now)  # what goes out names its digest_id
            results = []
            for how in hows:  # one failing delivery does not keep the digest from the others
                try:
                    outputs.append(_deliver_one(config, db, watch, d, how, env, stop))
                except deliver.PartlyDelivered as e:  # those who got it must not get it again
                    outputs.append(_email_target(how))
                    warnings.append(str(e))
                    results.append((how.key, how.kind, str(e), True))
                except (deliver.DeliveryError, OSError) as e:
                    error = _named(e) if isinstance(e, OSError) else str(e)
                    errors.append(error)  # each names its target (a webhook by host only)
                    results.append((how.key, how.kind, error, False))
                except Exception as e:  # a bug in one delivery must not keep the others
                    log.exception("watch=%s: the %s delivery broke", watch.name, how.kind)
                    errors.append(error := f"{how.kind} delivery broke: {_named(e)}")
                    results.append((how.key, how.kind, error, False))
                else:
                    results.append((how.key, how.kind, None, True))
            digest.record(db, selection, now=now, results=results)
            stories.update(item_id for item_id, _group, _terms in selection.members)
            groups.update(group for _item, group, _terms in selection.members)
            sent = [how.kind for how, r in zip(hows, results, strict=True) if r[3]]
            log.log(
                logging.WARNING if len(sent) < len(hows) else logging.INFO,
                "watch=%s digest=%s stories=%d groups=%d delivered=%s failed=%d",
                watch.name,
                "delivered" if len(sent) == len(hows) else "partial" if sent else "failed",
                len(selection.members),
                len(d.entries),
                ",".join(sent) or "-",
                len(hows) - len(sent),
            )
        if not outputs and not errors:
            log.info("watch=%s digest=empty sent=no", watch.name)
            return SendResult(watch.name, "empty", 0, 0, [])
        status = "delivered" if not errors else "partial" if outputs else "failed"
        return SendResult(
            watch.name,
            status,
            len(stories),
            len(groups),
            outputs,
            "; ".join(errors) or None,
            "; ".join(warnings) or None,
        )
