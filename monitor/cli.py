"""The command line: parses options, reads config once, and calls plain functions."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import sys
import threading
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import click
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape as plain
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from . import __version__, store
from .canonical import SiteRules
from .config import DEFAULT_CONFIG, Config, ConfigError, Settings, load_config, zone_error
from .logs import plural, setup_logging

# Piped output is read by people too (and by `less`): give tables room instead of 80 columns.
out = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def progress_bar(total: int, label: str):
    """A progress bar on a terminal; silent when output is piped or in CI.

    The time left is estimated from the last 30 s, not counting the first step: work done
    before the bar (an upgrade resumed where it stopped) does not make it look short."""
    if not err.is_terminal or total < 2:
        yield lambda *_, step=1: None
        return
    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda *_, step=1: bar.advance(task, step)


def upgrade_bar(shown: ExitStack):
    """``open_db``'s progress on a terminal: a bar in ``shown`` once the search index's
    one-time upgrade starts; elsewhere ``None``, the store's log lines."""
    if not err.is_terminal:
        return None
    advance, at = None, 0

    def progress(done: int, total: int) -> None:
        nonlocal advance, at
        if advance is None:
            advance = shown.enter_context(progress_bar(total, "upgrading the search index"))
        advance(step=done - at)
        at = done

    return progress


class Context:
    def __init__(self, db_path: str | None, config_path: str | None):
        self.db_path = db_path
        self.config_path = config_path
        self._db = None
        self._config: Config | None = None

    @property
    def db(self):
        """The store, for commands that write: a missing or empty file becomes one."""
        return self._open(create=True)

    def _open(self, *, create: bool):
        if self._db is None:
            try:
                with ExitStack() as shown:
                    progress = upgrade_bar(shown)
                    self._db = store.open_db(self.db_path, create=create, progress=progress)
            except store.StoreError as e:
                raise click.ClickException(str(e)) from e
        return self._db

    @property
    def path(self) -> Path:
        return store.store_path(self.db_path)

    @property
    def stored(self):
        """The store, for commands that only read it: a missing file means a mistyped
        ``--db`` or nothing polled yet, not a new empty store to create; an empty file or
        another database is refused untouched."""
        if not self.path.exists():
            raise click.ClickException(
                f"no store at {self.path} (`monitor poll` or `monitor import` makes one; "
                "--db or MONITOR_DB picks another)"
            )
        return self._open(create=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as e:
                raise click.ClickException(str(e)) from e
        return self._config

    def optional_config(self) -> Config | None:
        """The config when there is one: ``import`` also works without any."""
        if self.config_path is None and not DEFAULT_CONFIG.exists():
            return None
        return self.config

    def rules(self) -> SiteRules:
        """Site rules from the config when there is one; the shipped defaults otherwise."""
        config = self.optional_config()
        return config.rules if config else SiteRules.load_default()


pass_ctx = click.make_pass_decorator(Context)


class _Commands(click.Group):
    def invoke(self, ctx: click.Context):
        """A store damaged past the pages checked at open (SQLite finds it reading a story
        or the index) is named as damaged, with what to do, not a traceback."""
        try:
            return super().invoke(ctx)
        except sqlite3.DatabaseError as e:
            if not store.is_damage(e) or not isinstance(ctx.obj, Context):
                raise
            raise click.ClickException(str(store.damaged(ctx.obj.path, e))) from e


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="monitor")
@click.option(
    "--db",
    "db_path",
    envvar="MONITOR_DB",
    type=click.Path(dir_okay=False),
    help="SQLite store (env MONITOR_DB)  [default: data/monitor.db]",
)
@click.option(
    "--config",
    "config_path",
    envvar="MONITOR_CONFIG",
    type=click.Path(dir_okay=False),
    help="Config file (env MONITOR_CONFIG)  [default: config/monitor.toml]",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    envvar="MONITOR_LOG_FORMAT",
    show_default=True,
    help="Log line format.",
)
@click.option(
    "--log-level",
    default="info",
    envvar="MONITOR_LOG_LEVEL",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
@click.pass_context
def main(ctx: click.Context, db_path, config_path, log_format, log_level) -> None:
    """Monitor Chinese-language news feeds and mirror pages; one record per story."""
    setup_logging(log_format, log_level)
    ctx.obj = Context(db_path, config_path)
    ctx.obj.log_args = (log_format, log_level)


def _time_zone(_ctx, _param, value: str | None) -> str | None:
    if value is not None and (error := zone_error(value)):
        raise click.BadParameter(error)
    return value


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--timezone",
    metavar="ZONE",
    callback=_time_zone,
    help="Time zone of the times the documents write without one (Asia/Shanghai); default UTC.",
)
@pass_ctx
def import_cmd(ctx: Context, paths: tuple[str, ...], timezone: str | None) -> None:
    """Load mirror pages and saved feeds from files or folders.

    Every format is detected from content. A file that cannot be parsed is reported by
    name with the reason and the rest still load; the exit code is 1 when a file failed
    (pages that are not articles are listed as rejected but are not failures).
    """
    from . import ingest  # the parsers: only the commands that parse load them

    found = ingest.find_files(paths)
    files, unused = found.files, found.unused
    try:
        with store.when_locked(ctx.db), progress_bar(len(files), "importing") as advance:
            config = ctx.optional_config()
            settings = config.settings if config else Settings()
            report = ingest.import_files(
                ctx.db,
                files,
                ctx.rules(),
                now=utcnow(),
                progress=advance,
                copy_similarity=settings.copy_similarity,
                zone=timezone,
            )
            index_queued(ctx.db)
    except store.StoreUnwritable as e:  # the batches stored before stay, and are seen again
        raise click.ClickException(f"{e}; import the files again to store the rest") from None
    missing = [r for r in unused if r.reason == ingest.NOT_FOUND]
    rejected = [r for r in unused if r.reason != ingest.NOT_FOUND] + report.rejected
    for r in missing:
        err.print("[red]not found[/] " + plain(r.path))
    if report.keys_added:
        err.print(f"site rules changed: {plural(report.keys_added, 'new key')} for stored stories")
    for r in rejected:
        label = "[red]rejected[/]" if r.failed else "[yellow]not an article[/]"
        err.print(f"{label} " + plain(f"{r.path}: {r.reason}"))
    failed = sum(r.failed for r in rejected)
    summary = [
        f"{plural(report.files, 'file')}: {plural(report.new, 'new story', 'new stories')}, "
        f"{report.merged} merged, {report.seen} already stored, {failed} rejected"
    ]
    if not_articles := len(rejected) - failed:
        summary.append(f"{not_articles} not {'an article' if not_articles == 1 else 'articles'}")
    if missing:
        summary.append(f"{len(missing)} not found")
    if found.skipped:
        summary.append(_skipped(found.skipped))
    out.print("; ".join(summary))
    if report.failed or unused:
        sys.exit(1)


def _skipped(paths: list[Path]) -> str:
    """What a folder held besides documents: ``3 other files in folders skipped (.png, .css)``."""
    kinds = sorted(
        {(p.suffix.lower() or "no suffix") if p.is_file() else "not a file" for p in paths}
    )
    shown = ", ".join(kinds[:5]) + (", …" if len(kinds) > 5 else "")
    return f"{plural(len(paths), 'other file', 'other files')} in folders skipped ({shown})"


def index_queued(db) -> None:
    """Index the stories a command just stored (see store.index_pending), with a bar."""
    pending = store.pending_count(db.conn)
    if pending:
        with progress_bar(pending, "indexing") as advance:
            store.index_pending(db, progress=lambda n: advance(step=n))


def readable_key(key: str) -> str:
    """``url:`` keys percent-decoded for people; ``show`` and ``explain`` accept either form."""
    return unquote(key) if key.startswith("url:") else key


def folded(table: Table) -> Table:
    """Cells too long for a narrow terminal wrap instead of ending in "…": Chinese text has
    no spaces to wrap at, and names, keys and errors are for reading whole or copying."""
    for column in table.columns:
        column.overflow = "fold"
    return table


def _when(row: dict) -> str:
    return (row.get("published") or row.get("first_seen") or "")[:16].replace("T", " ")


_SHORT_OPTION = re.compile("-[A-Za-z]")  # not a word anyone leaves out; an option guessed


# A -term is a search term (`monitor search 普京 -拜登`), not an unknown option.
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1, required=True)
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(1), help="Most results to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@pass_ctx
def search(ctx: Context, query: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Full-text search of stored stories (Chinese aware; all terms must match).

    Terms fold Simplified/Traditional, width and case: 烏克蘭 finds 乌克兰, ＮＡＴＯ finds NATO.
    Quote a phrase with spaces: '"Vladimir Putin"'. Leave stories out with -term:
    普京 -拜登.
    """
    params = click.get_current_context().command.params
    options = [o for p in params if isinstance(p, click.Option) for o in p.opts]
    for term in query:
        if term.startswith("--") and term.strip("-"):  # a mistyped option: --jsn
            if (name := term.split("=", 1)[0]) in options:  # after --, which ends options
                raise click.UsageError(f"{name} after '--' is no option: put it before '--'")
            raise click.NoSuchOption(name, possibilities=options)
        if _SHORT_OPTION.fullmatch(term):  # -n 5 guessed for --limit 5: no word to leave out
            raise click.UsageError(
                f"no such option: {term} (options: {', '.join(options)}); to leave out "
                f'stories with the word {term[1:]!r}, write -"{term[1:]}"'
            )
    query = " ".join(query)
    try:
        rows = store.search(ctx.stored, query, limit=limit + 1)  # one more tells if more match
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    more = len(rows) > limit
    rows = rows[:limit]
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
        return
    if not rows:  # a header over no rows reads as a broken table
        out.print(f"no stories match {plain(query)}")
        return
    stories = plural(len(rows), "story", "stories")
    title = f"the {stories} stored last; more match (--limit to see more)" if more else stories
    table = Table(title=title, title_justify="left")
    table.add_column("time (UTC)")  # published, else first stored
    table.add_column("outlet")
    table.add_column("title", ratio=1)
    table.add_column("key")
    for r in rows:
        table.add_row(
            _when(r), plain(r["site"] or ""), plain(r["title"]), plain(readable_key(r["story_key"]))
        )
    out.print(folded(table))


@main.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print the story as JSON.")
@pass_ctx
def show(ctx: Context, key: str, as_json: bool) -> None:
    """One story with its sightings and URL aliases.

    KEY is a story key (as `search` prints), any of its URLs, or its numeric id.
    """
    item_id = store.find_item_id(ctx.stored, key, ctx.rules())
    if item_id is None:
        raise click.ClickException(f"no story with key or URL {key!r}")
    story = store.get_story(ctx.db, item_id)
    if as_json:
        click.echo(json.dumps(story, ensure_ascii=False, indent=2))
        return
    out.print(f"[bold]{plain(story['title'])}[/]")
    # Keys as search prints them (url: keys percent-decoded); URLs and paths exactly as stored.
    fields = [("story_key", readable_key(story["story_key"]))]
    fields += [
        (name, str(story[name] or "—"))
        for name in ("site", "author", "published", "canonical_url", "lang", "format")
    ]
    fields += [("keys" if k == 0 else "", readable_key(key)) for k, key in enumerate(story["keys"])]
    print_lines(fields)
    if story["summary"]:
        out.print(story["summary"], soft_wrap=True, markup=False)
    out.print("\n[bold]URLs[/]")
    if story["aliases"]:
        print_lines(
            [("first seen", "url"), *((a["first_seen"], a["url"]) for a in story["aliases"])],
            indent="  ",
        )
    else:  # a header over no rows reads as a broken table
        out.print("  none: no copy of it had a link")
    out.print("\n[bold]Sightings[/]")
    print_lines(
        [
            ("source", "format", "first seen", "last seen", "times", "where"),
            *(
                (
                    s["source"],
                    s["format"] or "—",
                    s["first_seen"],
                    s["last_seen"],
                    str(s["times_seen"]),
                    s["location"],
                )
                for s in story["sightings"]
            ),
        ],
        indent="  ",
    )


def print_lines(rows: list[tuple[str, ...]], indent: str = "") -> None:
    """Rows as lines of aligned columns, the last one as it is: keys, URLs and paths are
    for copying, so they are never cut or folded (a terminal wraps a long one whole)."""
    widths = [max(cell_len(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [v + " " * (w - cell_len(v)) for v, w in zip(row, widths, strict=False)]
        line = indent + "  ".join([*cells, row[-1]])
        out.print(line.rstrip(), soft_wrap=True, markup=False, highlight=False)


def _ago(value: str | None, now: datetime) -> str:
    """``in 30m`` / ``2h ago``, to the nearest unit: a check due in 29m59s reads ``in 30m``."""
    if not value:
        return "—"
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    secs = (t - now).total_seconds()
    span = abs(secs)
    if span < 90:
        size, unit = 1, "s"
    elif span < 5400:
        size, unit = 60, "m"
    elif span < 172800:
        size, unit = 3600, "h"
    else:
        size, unit = 86400, "d"
    text = f"{int(span / size + 0.5)}{unit}"
    return f"in {text}" if secs > 0 else f"{text} ago"


def _one_poller(db):
    """Wait for any other process polling this store (the daemon's tick, another
    ``monitor poll``): both would fetch the same due sources and write them twice."""
    from .dispatch import store_lock

    return store_lock(
        db,
        "poll-lock",
        waiting="waiting for another process polling %s to finish its poll",
        logger=logging.getLogger("monitor.poll"),
    )


@main.command()
@click.option(
    "--source",
    "names",
    multiple=True,
    metavar="NAME",
    help="Poll this source whether due or not (repeatable).",
)
@click.option("--all", "all_", is_flag=True, help="Poll every enabled source, due or not.")
@pass_ctx
def poll(ctx: Context, names: tuple[str, ...], all_: bool) -> None:
    """One pass over the sources that are due (or named, or all), then exit.

    Prints a summary table. The exit code is 1 only when every polled source failed;
    a failing source is retried later with backoff. A poll of the daemon (or of another
    `monitor poll`) in progress on the store finishes first.
    """
    from .pipeline import due_sources, next_due, poll_once
    from .state import load_states

    if names and all_:
        raise click.UsageError(
            "--source and --all cannot be combined (--all polls every enabled source)"
        )
    names = tuple(dict.fromkeys(names))  # a source named twice is polled once
    config = ctx.config
    if not config.sources:  # another config than meant, or one not written yet
        raise click.ClickException(f"{config.path}: no [[source]] configured; nothing to poll")
    unknown = [n for n in names if n not in {s.name for s in config.sources}]
    if unknown:
        raise click.ClickException(f"{config.path}: no source named {unknown[0]!r}")
    # A daemon's poll in progress finishes first; what is due is read after it.
    with _one_poller(ctx.db):
        now = utcnow()
        if names:
            sources = [config.source(n) for n in names]
        elif all_:
            sources = [s for s in config.sources if s.enabled]
        else:
            states = load_states(ctx.db)
            sources = due_sources(config, states, now)
            if not sources:
                soonest = next_due(config, states, now)
                out.print(
                    "nothing due; "
                    + (
                        f"next check: {plain(soonest[0].name)} {_ago(store.iso(soonest[1]), now)}"
                        if soonest
                        else "no enabled source is scheduled (see monitor sources)"
                    ),
                    soft_wrap=True,
                )
                return
        try:
            with progress_bar(len(sources), "polling") as advance:
                reports = poll_once(ctx.db, config, sources, now=now, on_report=advance)
            with store.when_locked(ctx.db):
                index_queued(ctx.db)
                store.prune_fetches(ctx.db, now - config.settings.keep_fetches)
        except store.StoreUnwritable as e:
            raise click.ClickException(
                f"{e}; the sources not stored are polled again next time"
            ) from None
    order = {s.name: i for i, s in enumerate(sources)}
    reports.sort(key=lambda r: order[r.source])
    table = Table(
        "source",
        "status",
        "new",
        "seen again",
        "next check",
        "error",
        title=f"polled {len(reports)} of {len(config.sources)} sources",
        title_justify="left",
    )
    for r in reports:
        status = r.outcome if r.ok else f"[red]{r.outcome}[/]"
        table.add_row(
            plain(r.source),
            status,
            str(r.new),
            str(r.seen),
            _ago(r.next_check and store.iso(r.next_check), now),
            plain(r.error or ""),
        )
    out.print(folded(table))
    out.print(
        f"{plural(sum(r.new for r in reports), 'new story', 'new stories')}, "
        f"{sum(r.seen for r in reports)} seen again, "
        f"{plural(sum(not r.ok for r in reports), 'source')} failed"
    )
    if reports and not any(r.ok for r in reports):
        sys.exit(1)


@main.command()
@pass_ctx
def sources(ctx: Context) -> None:
    """Every configured source with its state: last success, next check, errors, items."""
    from .pipeline import folder_missing
    from .state import load_host_blocks, source_rows

    config = ctx.config  # a config checked before any poll: its errors come first
    now = utcnow()
    rows = {}
    blocked: dict[str, datetime] = {}
    if ctx.path.exists():
        rows = {r["name"]: r for r in source_rows(ctx.stored)}
        load_host_blocks(ctx.stored.conn, blocked, now)
    else:  # nothing polled yet; a reading command makes no store
        err.print(f"no store at {ctx.path} yet: no source has been polled", markup=False)
    table = Table(
        "source",
        "kind",
        "state",
        "last success",
        "next check",
        "errors",
        "items",
        "last error",
        title_justify="left",
    )
    for s in config.sources:
        r = rows.get(s.name)
        if not s.enabled:
            state = "disabled"
        elif r is None:
            state = "never polled"
        elif r["retired_at"]:
            state = "[red]retired[/]"
        elif r["consecutive_errors"]:
            state = f"[red]failing[/] ({r['last_outcome']})"
        else:
            state = f"[green]ok[/] ({r['last_outcome']})"
        table.add_row(
            plain(s.name),
            s.kind,
            state,
            _ago(r and r["last_success"], now),
            _next_check(s, r, blocked, now),
            str(r["consecutive_errors"]) if r else "0",
            str(r["items"]) if r else "0",
            plain(_source_error(s, r, folder_missing)),
        )
    out.print(folded(table))


def _next_check(source, row, blocked: dict[str, datetime], now: datetime) -> str:
    """When the source is polled next: a new one, or one whose URL or path changed, at once;
    none before its server said it may be (a 429/503's Retry-After holds the host back)."""
    from .fetch import origin_of
    from .pipeline import location_changed

    if not source.enabled:
        return "—"
    if row is None or location_changed(source, row["config_url"]):  # due at once
        due = "now" if row is None else f"now (new {'path' if source.kind == 'dir' else 'URL'})"
        until = blocked.get(origin_of(source.url)) if source.url else None
    else:  # held back only where the host's wait ends after the source's own next check
        due, after = None, row["next_check"] and store.parse_iso(row["next_check"])
        until = blocked.get(origin_of(row["url"])) if row["url"] else None
        until = until if until is not None and after and until > after else None
    if until is not None:
        return f"{_ago(store.iso(until), now)} (host asked to wait)"
    return due or _ago(row["next_check"], now)


def _source_error(source, row, folder_missing) -> str:
    """The source's last error; for a dir source whose folder is missing now, that: a path
    written wrong shows before its first poll (the config loads without the folder). And
    the address a permanent redirect moved it to, which its errors are of."""
    if source.kind == "dir" and source.enabled and (missing := folder_missing(source.path)):
        return missing
    error = (row and row["last_error"]) or ""
    if row and row["config_url"] == source.url != row["url"]:  # not when the config moved it
        return "; ".join(filter(None, [error, f"moved to {row['url']} (permanent redirect)"]))
    return error


def _watches(config: Config, name: str | None):
    if name is None:
        if not config.watches:
            raise click.ClickException(f"{config.path}: no [[watch]] configured")
        return list(config.watches)
    try:
        return [config.watch(name)]
    except KeyError:
        known = ", ".join(w.name for w in config.watches) or "none"
        raise click.ClickException(
            f"{config.path}: no watch named {name!r} (configured: {known})"
        ) from None


@main.command("digest")
@click.option("--watch", "watch_name", metavar="NAME", help="One watch (default: all).")
@click.option(
    "--since",
    default="last",
    show_default=True,
    help=(
        "'last' (not yet delivered), a span like 24h, a date like 2021-12-01 or a time "
        "like 2021-12-01T10:00:00Z (no zone: the watch's): the stories stored since then, "
        "whenever they were published."
    ),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html", "json", "text", "atom"]),
    default="text",
    show_default=True,
    help="Output format when printing.",
)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE, not stdout.")
@click.option("--images", is_flag=True, help="HTML: show remote images (off by default).")
@click.option(
    "--send",
    is_flag=True,
    help="Deliver through the watch's deliveries and mark the stories as delivered.",
)
@click.option("--send-empty", is_flag=True, help="With --send: deliver even when empty.")
@pass_ctx
def digest_cmd(ctx: Context, watch_name, since, fmt, output, images, send, send_empty) -> None:
    """A digest of the new stories matching a watch, grouped by event.

    Without --send it only prints (or writes --output) and marks nothing. With --send it
    delivers through the watch's configured deliveries (file, email, webhook, stdout); a
    story goes to each delivery at most once, and a delivery that failed gets it again
    on the next run.
    """
    from . import digest, dispatch

    if send_empty and not send:
        raise click.UsageError("--send-empty only goes with --send")
    if send:
        given = [
            f"--{name}"
            for name, param in (("format", "fmt"), ("output", "output"), ("images", "images"))
            if click.get_current_context().get_parameter_source(param)
            is not click.core.ParameterSource.DEFAULT
        ]
        if given:
            raise click.UsageError(
                f"{', '.join(given)}: only for printing; --send delivers as the watch's "
                "deliveries say (format, path)"
            )
    config, db = ctx.config, ctx.stored
    watches = _watches(config, watch_name)
    if not send and fmt in ("json", "atom", "html") and len(watches) > 1:
        names = ", ".join(w.name for w in watches)
        raise click.UsageError(
            f"--format {fmt} makes one document per watch: pick one with --watch "
            f"(configured: {names})"
        )
    now = utcnow()
    # One story cache for all watches: each story is folded and featurized once.
    if send:
        # Sending keeps the cycle collector running between watches (a delivery may wait on
        # the network); only printing pauses it for the whole run.
        cache = digest.StoryCache()
        failed = False
        if watch_name is None:  # every watch: those without a delivery are only for printing
            for w in watches:
                if not w.deliveries:
                    err.print(f"{plain(w.name)}: no delivery configured; skipped")
            watches = [w for w in watches if w.deliveries]
        elif not watches[0].deliveries:
            raise click.ClickException(
                f"{config.path}: watch {watch_name!r} has no delivery configured "
                "(add [[watch.delivery]])"
            )
        for w in watches:
            try:
                with store.when_locked(db):  # reserved before sent: nothing went out
                    r = dispatch.send(
                        db, config, w, now=now, since=since, send_empty=send_empty, cache=cache
                    )
            except ValueError as e:
                raise click.UsageError(str(e)) from e
            except store.StoreUnwritable as e:
                raise click.ClickException(
                    f"{e}; digest {w.name!r} and the watches after it were not sent"
                ) from None
            if r.status == "empty":
                err.print(f"{plain(w.name)}: no new stories; nothing sent")
            elif r.status in ("failed", "partial"):
                if r.outputs:
                    err.print(f"{plain(w.name)}: sent → " + plain("; ".join(r.outputs)))
            else:
                err.print(
                    f"{plain(w.name)}: sent {plural(r.stories, 'story', 'stories')} in "
                    f"{plural(r.groups, 'group')} → " + plain("; ".join(r.outputs))
                )
            for what, why in send_problems(r):
                failed = True
                err.print(f"[red]{plain(w.name)}: {what}[/]: {plain(why)}")
        if failed:
            sys.exit(1)
        return
    chunks = []
    with digest.StoryCache() as cache:
        for w in watches:
            try:
                selection = digest.build(db, config, w, since=since, now=now, cache=cache)
            except ValueError as e:
                raise click.UsageError(str(e)) from e
            chunks.append(dispatch.rendered(config, db, w, selection.digest, fmt, images=images))
    text = "\n".join(chunks)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as e:
            raise click.ClickException(f"cannot write {output}: {e.strerror or e}") from e
        err.print(f"wrote {plain(output)}")
    else:
        click.echo(text, nl=not text.endswith("\n"))


@main.command()
@click.argument("key")
@click.option("--watch", "watch_name", metavar="NAME", help="One watch (default: all).")
@pass_ctx
def explain(ctx: Context, key: str, watch_name: str | None) -> None:
    """Why a story matches a watch or not: which term matched where, or what blocked it.

    KEY is a story key (as `search` prints), any of its URLs, or its numeric id.
    """
    from .match import explain as explain_match

    config, db = ctx.config, ctx.stored
    watches = _watches(config, watch_name)  # a mistyped --watch is told before anything
    item_id = store.find_item_id(db, key, config.rules)
    if item_id is None:
        raise click.ClickException(f"no story with key or URL {key!r}")
    story = store.get_story(db, item_id)
    sources = {s["source"] for s in story["sightings"]}
    out.print(f"[bold]{plain(story['title'])}[/] ({plain(readable_key(story['story_key']))})")
    for w in watches:
        out.print(f"\n[bold]watch {plain(w.name)}[/]")
        lines = explain_match(
            w.rule,
            title=story["title"],
            text=story["text"],
            sources=sources,
            site=story["site"],
        )
        for line in lines:
            out.print("  " + line, soft_wrap=True, markup=False)


@main.command()
@click.option(
    "--within",
    default="2h",
    show_default=True,
    help="A source must have succeeded this recently (30m, 2h, 1d).",
)
@pass_ctx
def health(ctx: Context, within: str) -> None:
    """Exit 0 when the store opens and a source succeeded recently; else 1 with a reason.

    Meant for container health checks: prints one line either way. Only the sources of
    the config that are enabled count (when there is a config); an invalid config is
    unhealthy.
    """
    from .config import parse_duration
    from .health import check, vouching

    now = utcnow()
    try:
        window = parse_duration(within)
        now - window  # noqa: B018 -- raises for a window before the year 1
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--within") from e
    except OverflowError:
        raise click.BadParameter(
            f"{within!r} reaches back before the year 1", param_hint="--within"
        ) from None
    if not ctx.path.exists():
        click.echo(f"unhealthy: no store at {ctx.path}")
        sys.exit(1)
    try:
        db = store.open_db(ctx.db_path, create=False, upgrade=False)
    except store.StoreError as e:
        click.echo(f"unhealthy: {e}")
        sys.exit(1)
    try:
        config = ctx.optional_config()
    except click.ClickException as e:
        click.echo(f"unhealthy: {e.message}")
        sys.exit(1)
    names = vouching(config.sources) if config else None
    ok, line = check(db, now=now, window=window, sources=names)
    click.echo(line)
    sys.exit(0 if ok else 1)


@main.command()
@pass_ctx
def run(ctx: Context) -> None:
    """Run the daemon: poll due sources on a schedule until SIGTERM or Ctrl-C.

    Logs one line per poll. On SIGTERM/SIGINT it stops after the writes in progress.
    SIGQUIT prints where each thread is (for a daemon that seems stuck) and goes on.
    One daemon per store: a second one exits at once.
    """
    import faulthandler
    import signal

    from .dispatch import LockHeld, store_lock
    from .scheduler import run_daemon

    setup_logging(*ctx.log_args, stream=sys.stdout)
    config = ctx.config
    check_email_settings(config)
    with ExitStack() as held:
        # Two daemons on a store would both poll every source and send every scheduled
        # digest. The OS frees the lock when this process ends, however it ends. Taken
        # before the store opens: a second daemon does not take turns at its upgrades.
        ctx.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            held.enter_context(store_lock(ctx.path.absolute(), "run-lock"))
        except LockHeld as e:
            raise click.ClickException(
                f"another monitor run is already running on the store {ctx.path} (it holds "
                f"{e.path}); stop it first, or give this one another --db"
            ) from None
        db = ctx.db
        stop = threading.Event()

        def on_signal(signum, _frame):
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        faulthandler.register(signal.SIGQUIT, file=sys.stderr, all_threads=True)
        run_daemon(
            db,
            config,
            stop=stop,
            clock=utcnow,
            extra_jobs=schedule_digests(ctx.db_path, config, stop=stop),
        )


def check_email_settings(config: Config, env=None) -> None:
    """Refuse to start when a scheduled watch mails its digest and the SMTP settings are
    missing or wrong: found at start, not when the first digest is due hours later."""
    from .deliver import DeliveryError, SmtpSettings

    for w in config.watches:
        if w.schedule and any(d.kind == "email" for d in w.deliveries):
            try:
                SmtpSettings.from_env(env)
            except DeliveryError as e:
                raise click.ClickException(
                    f"{config.path}: watch {w.name!r} sends its digest by email, but {e}"
                ) from None
            return


def send_problems(r) -> list[tuple[str, str]]:
    """(what, why) of each problem of a watch's send (a ``dispatch.SendResult``): printed
    by ``monitor digest --send``, logged by the daemon."""
    problems = []
    if r.error:
        problems.append(
            ("delivery failed", f"{r.error} (the next run sends these stories to it again)")
        )
    if r.warning:
        problems.append(
            (
                "not delivered to everyone",
                f"{r.warning} (the next run does not send these stories again)",
            )
        )
    return problems


def schedule_digests(db_path: str | None, config: Config, *, stop: threading.Event | None = None):
    """Each schedule (cron expression and time zone) gets a cron job that sends the digests
    of its watches in turn, sharing the stories they load.

    Jobs run on scheduler threads beside the poll tick, so each opens its own connection.
    Once ``stop`` is set, a job sends no further watch and a webhook stops retrying: what
    was not delivered goes on the next run.
    """
    stop = stop if stop is not None else threading.Event()

    def add(scheduler) -> None:
        from zoneinfo import ZoneInfo

        from apscheduler.triggers.cron import CronTrigger

        from . import digest, dispatch
        from .scheduler import LATE_RUNS

        by_schedule: dict[tuple[str, str], list] = {}
        for w in config.watches:
            if w.schedule and w.deliveries:
                by_schedule.setdefault((w.schedule, w.timezone), []).append(w)

        for (schedule, timezone), watches in by_schedule.items():

            def job(watches=watches) -> None:
                db = store.open_db(db_path)
                cache = digest.StoryCache()
                log = logging.getLogger("monitor.digest")
                try:
                    for w in watches:  # one failing watch does not stop the others
                        if stop.is_set():
                            log.info("digest %s not sent: stopping (next run sends it)", w.name)
                            continue
                        try:
                            with store.when_locked(db):
                                r = dispatch.send(
                                    db, config, w, now=utcnow(), cache=cache, stop=stop
                                )
                            for what, why in send_problems(r):
                                log.error("digest %s: %s: %s", w.name, what, why)
                        except store.StoreUnwritable as e:  # each other watch would wait as long
                            names = ", ".join(x.name for x in watches[watches.index(w) :])
                            log.error("digests %s not sent: %s; the next run sends them", names, e)
                            break
                        except Exception:
                            log.exception("digest %s failed", w.name)
                finally:
                    db.conn.close()

            scheduler.add_job(
                job,
                CronTrigger.from_crontab(schedule, timezone=ZoneInfo(timezone)),
                id="digest:" + ",".join(w.name for w in watches),
                max_instances=1,
                **LATE_RUNS,  # a digest due while the daemon was suspended still goes
            )

    return add


if __name__ == "__main__":  # pragma: no cover
    main()
