"""Sending a watch's digest through its deliveries, and remembering what was sent.

A digest counts as delivered only when every delivery of the watch succeeded; then its
stories are marked and never sent to this watch again. When any delivery fails nothing is
marked, so the next run sends the same stories (a channel that did succeed may see them
twice; none loses them).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import deliver, digest, render
from .config import Config, Delivery, Watch

log = logging.getLogger("monitor.digest")


@dataclass
class SendResult:
    watch: str
    status: str  # delivered | failed | empty
    stories: int
    groups: int
    outputs: list[str]
    error: str | None = None


def rendered(
    config: Config, db: sqlite_utils.Database, watch: Watch, d, fmt: str, *, images: bool = False
) -> str:
    if fmt == "atom":
        return render.render_atom([d, *digest.history(db, config, watch)], watch=watch.name)
    if fmt == "html":
        return render.render(d, "html", images=images)
    return render.render(d, fmt)


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _deliver_one(config: Config, db, watch: Watch, d, how: Delivery, env: Mapping[str, str]) -> str:
    if how.kind == "file":
        content = rendered(config, db, watch, d, how.format, images=how.images)
        path = deliver.write_file(Path(how.path), d, how.format, content)
        return _shown(path)
    if how.kind == "stdout":
        deliver.write_stdout(rendered(config, db, watch, d, how.format, images=how.images))
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
        return "email to " + ", ".join(how.to)
    if how.kind == "webhook":
        deliver.post_webhook(how.url, json.loads(render.render(d, "json")))
        return f"webhook {how.url}"
    raise ValueError(f"unknown delivery kind {how.kind!r}")


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
) -> SendResult:
    """Build the watch's digest and deliver it; record it as delivered or failed.
    ``cache``: shared by the watches sent in one run (see :class:`digest.StoryCache`)."""
    env = os.environ if env is None else env
    if not watch.deliveries:
        raise ValueError(
            f"watch {watch.name!r} has no delivery configured "
            "(add [[watch.delivery]] to the config)"
        )
    selection = digest.build(db, config, watch, since=since, now=now, cache=cache, undelivered=True)
    d = selection.digest
    stories, groups = len(selection.members), len(d.entries)
    if not d.entries and not send_empty:
        log.info("watch=%s digest=empty sent=no", watch.name)
        return SendResult(watch.name, "empty", 0, 0, [])
    outputs: list[str] = []
    kinds = [how.kind for how in watch.deliveries]
    try:
        for how in watch.deliveries:
            outputs.append(_deliver_one(config, db, watch, d, how, env))
    except (deliver.DeliveryError, OSError) as e:
        error = f"{type(e).__name__}: {e}" if isinstance(e, OSError) else str(e)
        digest.record(db, selection, status="failed", now=now, deliveries=kinds, error=error)
        log.warning("watch=%s digest=failed stories=%d error=%r", watch.name, stories, error)
        return SendResult(watch.name, "failed", stories, groups, outputs, error)
    digest.record(db, selection, status="delivered", now=now, deliveries=kinds)
    log.info(
        "watch=%s digest=delivered stories=%d groups=%d to=%s",
        watch.name,
        stories,
        groups,
        "; ".join(outputs),
    )
    return SendResult(watch.name, "delivered", stories, groups, outputs)
