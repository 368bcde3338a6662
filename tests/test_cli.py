"""The CLI's reading commands: on a store that is not there, and on stored text that looks
like the terminal markup the CLI uses for colour."""

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main

SEEDS = Path(__file__).parent.parent / "seeds"
SEEDS_SOURCE = f'[[source]]\nname = "seeds"\nkind = "dir"\npath = "{SEEDS}"\n'


def with_config(tmp_path) -> tuple[Path, list[str], CliRunner]:
    """A config file to write, the arguments naming it and a store beside it, a runner."""
    cfg = tmp_path / "monitor.toml"
    return cfg, ["--db", str(tmp_path / "m.db"), "--config", str(cfg)], CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["search", "普京"],
        ["show", "epochtimes:n13473224"],
        ["explain", "1"],
        ["digest"],
    ],
)
def test_reading_commands_do_not_create_a_store_at_a_mistyped_path(tmp_path, args):
    path = tmp_path / "no-such-dir" / "typo.db"
    r = CliRunner().invoke(main, ["--db", str(path), *args])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert f"no store at {path}" in r.output
    assert not path.parent.exists()


def test_sources_checks_a_config_before_any_poll_and_lists_its_sources(tmp_path):
    """A new user checks the config before the first poll: its errors, else its sources
    as never polled, due now; and still no store is made."""
    cfg, _, run = with_config(tmp_path)
    path = tmp_path / "no-such-dir" / "m.db"
    base = ["--db", str(path), "--config", str(cfg)]
    cfg.write_text(SEEDS_SOURCE + 'intervall = "5m"\n')

    r = run.invoke(main, [*base, "sources"])

    assert r.exit_code == 1
    assert r.output == f"Error: {cfg}: source 'seeds': key 'intervall': unknown key\n"

    cfg.write_text(
        SEEDS_SOURCE + '[[source]]\nname = "news"\nkind = "feed"\nurl = "https://x.cn/"\n'
    )
    r = run.invoke(main, [*base, "sources"])

    assert r.exit_code == 0
    assert f"no store at {path} yet: no source has been polled" in r.output
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in r.output.splitlines()]
    rows = [c for c in rows if c and c[0] in ("seeds", "news")]
    assert [(c[0], c[2], c[4]) for c in rows] == [
        ("seeds", "never polled", "now"),
        ("news", "never polled", "now"),
    ]
    assert not path.parent.exists()


def test_health_reports_a_missing_store_without_creating_it(tmp_path):
    path = tmp_path / "typo.db"
    r = CliRunner().invoke(main, ["--db", str(path), "health"])
    assert r.exit_code == 1 and r.output == f"unhealthy: no store at {path}\n"
    assert not path.exists()


def test_health_counts_only_the_sources_of_the_config(tmp_path):
    """A source removed or renamed in the config keeps its row, not its say in health."""
    cfg, base, run = with_config(tmp_path)
    cfg.write_text(f'[[source]]\nname = "old"\nkind = "dir"\npath = "{SEEDS}"\n')
    assert run.invoke(main, [*base, "poll"]).exit_code == 0
    r = run.invoke(main, [*base, "health"])
    assert r.exit_code == 0 and r.output.startswith("healthy: source 'old' succeeded at ")

    cfg.write_text(f'[[source]]\nname = "renamed"\nkind = "dir"\npath = "{SEEDS}"\n')
    r = run.invoke(main, [*base, "health"])
    assert (r.exit_code, r.output) == (1, "unhealthy: no source has succeeded yet\n")

    cfg.write_text('[[source]]\nname = "renamed"\nkind = "ftp"\n')
    r = run.invoke(main, [*base, "health"])
    assert r.exit_code == 1 and r.output.startswith("unhealthy: ") and str(cfg) in r.output


def test_health_counts_only_the_enabled_sources_of_the_config(tmp_path):
    """A disabled source is not polled: its last success says nothing about the daemon."""
    cfg, base, run = with_config(tmp_path)
    failing = '[[source]]\nname = "down"\nkind = "feed"\nurl = "http://127.0.0.1:1/feed"\n'
    cfg.write_text(SEEDS_SOURCE + failing)
    run.invoke(main, [*base, "poll"])
    r = run.invoke(main, [*base, "health"])
    assert r.exit_code == 0 and r.output.startswith("healthy: source 'seeds' succeeded at ")

    cfg.write_text(SEEDS_SOURCE + "enabled = false\n" + failing)
    run.invoke(main, [*base, "poll"])
    r = run.invoke(main, [*base, "health"])
    assert (r.exit_code, r.output) == (1, "unhealthy: no source has succeeded yet\n")

    cfg.write_text(SEEDS_SOURCE + "enabled = false\n")
    r = run.invoke(main, [*base, "health"])
    assert (r.exit_code, r.output) == (1, "unhealthy: the config has no enabled sources\n")


def test_health_within_longer_than_the_calendar_is_a_usage_error(tmp_path):
    cfg, base, run = with_config(tmp_path)
    cfg.write_text(SEEDS_SOURCE)
    assert run.invoke(main, [*base, "poll"]).exit_code == 0

    r = run.invoke(main, [*base, "health", "--within", "5000000d"])

    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
    assert "--within" in r.output and "'5000000d' reaches back before the year 1" in r.output


def test_sources_shows_no_next_check_for_a_disabled_source(tmp_path):
    """A disabled source is not polled: its old next check would read as overdue."""
    cfg, base, run = with_config(tmp_path)
    cfg.write_text(SEEDS_SOURCE)

    def row() -> list[str]:
        r = run.invoke(main, [*base, "sources"])
        (line,) = [line for line in r.output.splitlines() if "seeds" in line]
        return [c.strip() for c in line.split("│")[1:-1]]

    assert run.invoke(main, [*base, "poll"]).exit_code == 0
    assert row()[2] == "ok (ok)" and row()[4].startswith("in ")

    cfg.write_text(SEEDS_SOURCE + "enabled = false\n")
    cells = row()
    assert (cells[2], cells[4]) == ("disabled", "—")


def test_sources_shows_a_dir_source_whose_path_changed_as_due_now(tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    cfg, base, run = with_config(tmp_path)
    cfg.write_text(f'[[source]]\nname = "files"\nkind = "dir"\npath = "{SEEDS}"\n')
    assert run.invoke(main, [*base, "poll"]).exit_code == 0

    cfg.write_text(f'[[source]]\nname = "files"\nkind = "dir"\npath = "{copy}"\n')
    r = run.invoke(main, [*base, "sources"])
    (line,) = [line for line in r.output.splitlines() if "files" in line]
    assert [c.strip() for c in line.split("│")[1:-1]][4] == "now (new path)"


def test_sources_shows_a_source_never_polled_as_due_now(tmp_path):
    """A new source is polled at the next pass: "—" is what a source never checked again
    (retired, disabled) shows."""
    cfg, base, run = with_config(tmp_path)
    cfg.write_text(SEEDS_SOURCE)
    assert run.invoke(main, [*base, "poll"]).exit_code == 0

    folder = tmp_path / "more"
    folder.mkdir()
    more = f'[[source]]\nname = "more"\nkind = "dir"\npath = "{folder}"\n'
    cfg.write_text(more + SEEDS_SOURCE)
    r = run.invoke(main, [*base, "sources"])
    (line,) = [line for line in r.output.splitlines() if "more" in line]
    cells = [c.strip() for c in line.split("│")[1:-1]]
    assert (cells[2], cells[4]) == ("never polled", "now")


def test_sources_shows_when_a_source_s_host_lets_it_be_polled(tmp_path):
    """A server that answered 429/503 with Retry-After holds back every source on it: their
    next check is that deadline, not the one their own state gives (a new one's "now")."""
    cfg, base, run = with_config(tmp_path)
    cfg.write_text(SEEDS_SOURCE)
    assert run.invoke(main, [*base, "poll"]).exit_code == 0
    feed = '[[source]]\nname = "busy"\nkind = "feed"\nurl = "https://busy.example.org/rss"\n'
    cfg.write_text(SEEDS_SOURCE + feed)
    with sqlite3.connect(tmp_path / "m.db") as conn:
        conn.execute("INSERT INTO host_blocks VALUES ('busy.example.org', '2999-01-01T00:00:00Z')")

    r = run.invoke(main, [*base, "sources"])

    (line,) = [line for line in r.output.splitlines() if "busy" in line]
    cells = [c.strip() for c in line.split("│")[1:-1]]
    assert cells[2] == "never polled"
    assert cells[4].startswith("in ") and cells[4].endswith("d (host asked to wait)")
    (seeds,) = [line for line in r.output.splitlines() if "seeds" in line]
    assert "host asked" not in seeds


def test_sources_names_the_address_a_permanent_redirect_moved_a_source_to(tmp_path):
    """The address polled is no longer the config's: a failure there (a 404) is the new
    address's, which the config does not show."""
    from monitor.decide import SourceState
    from monitor.state import write_state

    cfg, base, run = with_config(tmp_path)
    cfg.write_text(SEEDS_SOURCE)
    assert run.invoke(main, [*base, "poll"]).exit_code == 0
    old, new = "https://news.example.org/rss", "https://feeds.example.net/news.xml"
    cfg.write_text(SEEDS_SOURCE + f'[[source]]\nname = "news"\nkind = "feed"\nurl = "{old}"\n')
    with sqlite3.connect(tmp_path / "m.db") as conn:
        moved = SourceState("news", config_url=old, url=new, last_error="HTTP 404 Not Found")
        write_state(conn, moved, kind="feed")

    r = run.invoke(main, [*base, "sources"])

    (line,) = [line for line in r.output.splitlines() if "news" in line]
    assert line.split("│")[-2].strip() == f"HTTP 404 Not Found; moved to {new} (permanent redirect)"


def test_a_missing_dir_folder_fails_its_source_and_the_others_are_polled(tmp_path):
    """An unmounted volume stopped every command at config loading, so a cron'd poll
    polled nothing; the folder is now the poll's error, named as a typo would need."""
    cfg, base, run = with_config(tmp_path)
    cfg.write_text(SEEDS_SOURCE + '[[source]]\nname = "gone"\nkind = "dir"\npath = "nope"\n')
    missing = f"folder {tmp_path / 'nope'} does not exist"

    r = run.invoke(main, [*base, "poll"])
    assert r.exit_code == 0, r.output  # the exit code is 1 only when every source failed
    rows = {line.split("│")[1].strip(): line for line in r.output.splitlines() if "│" in line}
    assert "not_found" in rows["gone"] and missing in rows["gone"]
    assert "ok" in rows["seeds"] and "1 source failed" in r.output

    r = run.invoke(main, [*base, "poll", "--source", "gone"])
    assert r.exit_code == 1 and missing in r.output

    r = run.invoke(main, [*base, "sources"])
    assert r.exit_code == 0 and missing in r.output


def test_sources_names_a_missing_dir_folder_before_its_first_poll(tmp_path):
    cfg, base, run = with_config(tmp_path)
    cfg.write_text(SEEDS_SOURCE)
    assert run.invoke(main, [*base, "poll"]).exit_code == 0

    cfg.write_text(SEEDS_SOURCE + '[[source]]\nname = "typo"\nkind = "dir"\npath = "nope"\n')
    r = run.invoke(main, [*base, "sources"])
    (line,) = [line for line in r.output.splitlines() if "typo" in line]
    cells = [c.strip() for c in line.split("│")[1:-1]]
    assert cells[2] == "never polled"
    assert cells[-1] == f"folder {tmp_path / 'nope'} does not exist"


BRACKETS_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>[台]</title><link>https://example.com/</link>
<description>x</description>
<item><title>[视频] 普京讲话[/red]全文[bold]</title><link>https://example.com/a1</link>
<description>普京在莫斯科发表讲话，[图]内容如下[/]。</description>
<pubDate>Fri, 31 Dec 2021 22:59:59 GMT</pubDate></item>
</channel></rss>
"""


def test_stored_text_with_square_brackets_is_printed_as_it_is(tmp_path):
    """Titles, summaries, outlets and file names are data, not markup: "[/red]" used to
    crash search and show, and "[视频]" vanished."""
    feed = tmp_path / "[feed].xml"
    feed.write_text(BRACKETS_FEED, encoding="utf-8")
    cfg = tmp_path / "monitor.toml"
    cfg.write_text('[[watch]]\nname = "[w]"\nany = ["普京"]\n', encoding="utf-8")
    run = CliRunner()
    base = ["--db", str(tmp_path / "m.db"), "--config", str(cfg)]
    assert run.invoke(main, [*base, "import", str(feed)]).exit_code == 0

    found = run.invoke(main, [*base, "search", "普京"])
    assert found.exit_code == 0, found.output
    assert "[视频]" in found.output and "[/red]" in found.output  # the table may wrap the title

    shown = run.invoke(main, [*base, "show", "https://example.com/a1"])
    assert shown.exit_code == 0, shown.output
    assert "[视频] 普京讲话[/red]全文[bold]" in shown.output
    assert "[图]内容如下[/]" in shown.output

    why = run.invoke(main, [*base, "explain", "https://example.com/a1"])
    assert why.exit_code == 0, why.output
    assert "[视频] 普京讲话[/red]全文[bold]" in why.output and "watch [w]" in why.output


@pytest.mark.parametrize(
    "seconds, shown",
    [
        (0, "0s ago"),
        (-5, "5s ago"),
        (45, "in 45s"),
        (29 * 60 + 59, "in 30m"),  # the next check of a 30m source, read a second later
        (30 * 60, "in 30m"),
        (-(2 * 3600 + 40 * 60), "3h ago"),
        (89 * 60 + 50, "in 90m"),
        (3 * 86400 + 13 * 3600, "in 4d"),
    ],
)
def test_times_to_and_from_now_round_to_the_nearest_unit(seconds, shown):
    from datetime import UTC, datetime, timedelta

    from monitor.cli import _ago

    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    when = (now + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    assert _ago(when, now) == shown


def test_import_counts_a_missing_path_apart_from_the_files(tmp_path):
    feed = tmp_path / "f.xml"
    feed.write_text(BRACKETS_FEED, encoding="utf-8")
    missing = tmp_path / "nope.txt"
    r = CliRunner().invoke(
        main, ["--db", str(tmp_path / "m.db"), "import", str(missing), str(feed)]
    )
    assert r.exit_code == 1
    assert f"not found {missing}" in r.output
    assert "1 file: 1 new story, 0 merged, 0 already stored, 0 rejected; 1 not found" in r.output


def test_import_names_a_folder_it_cannot_list_and_loads_the_rest(tmp_path, monkeypatch):
    """A subfolder without read permission was skipped without a word: its files were
    simply not there, and the import said it had loaded everything."""
    folder = tmp_path / "arch"
    locked = folder / "2022"
    locked.mkdir(parents=True)
    (folder / "f.xml").write_text(BRACKETS_FEED, encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path="."):  # listing fails as without read permission (tests may run as root)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "m.db"), "import", str(folder)])
    assert r.exit_code == 1
    assert f"rejected {locked}: cannot read folder: Permission denied" in r.output
    assert "1 file: 1 new story, 0 merged, 0 already stored, 1 rejected" in r.output


@pytest.mark.parametrize("kind", ["device", "fifo", "socket"])
def test_import_names_a_path_that_is_no_file_or_folder_for_what_it_is(tmp_path, kind):
    """/dev/null, a FIFO or a socket is there: not "not found", and never read (a FIFO
    with no writer would block the import for good)."""
    import socket
    import threading

    feed = tmp_path / "f.xml"
    feed.write_text(BRACKETS_FEED, encoding="utf-8")
    writer = None
    if kind == "device":
        special = Path(os.devnull)
    elif kind == "fifo":
        special = tmp_path / "pipe"
        os.mkfifo(special)

        # Should the import read the FIFO, it reads an empty file rather than hang the suite.
        def write_nothing():
            os.close(os.open(special, os.O_WRONLY))

        writer = threading.Thread(target=write_nothing, daemon=True)
        writer.start()
    else:
        special = tmp_path / "s.sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(special))
    try:
        r = CliRunner().invoke(
            main, ["--db", str(tmp_path / "m.db"), "import", str(special), str(feed)]
        )
    finally:
        if writer is not None:
            os.close(os.open(special, os.O_RDONLY | os.O_NONBLOCK))  # lets the writer go
            writer.join()
        if kind == "socket":
            server.close()
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert "not found" not in r.output
    assert f"rejected {special}: not a regular file or folder" in r.output
    assert "1 file: 1 new story, 0 merged, 0 already stored, 1 rejected" in r.output


def test_import_reads_zone_less_times_in_the_timezone_given(tmp_path):
    hexo = Path(__file__).parent / "fixtures" / "parsers" / "hexo_naive_date.md"
    runner, db = CliRunner(), tmp_path / "m.db"
    r = runner.invoke(main, ["--db", str(db), "import", "--timezone", "Asia/Shanghai", str(hexo)])
    assert r.exit_code == 0, r.output
    (published,) = sqlite3.connect(db).execute("SELECT published FROM items").fetchone()
    assert published == "2022-03-28T16:43:13Z"  # 00:43 in Beijing; without --timezone, UTC

    r = runner.invoke(main, ["--db", str(db), "import", "--timezone", "Beijing", str(hexo)])
    assert r.exit_code == 2
    assert "Invalid value for '--timezone': unknown time zone 'Beijing'" in r.output


def test_import_loads_a_file_named_twice_once(tmp_path):
    (tmp_path / "in").mkdir()
    feed = tmp_path / "in" / "f.xml"
    feed.write_text(BRACKETS_FEED, encoding="utf-8")
    db = tmp_path / "m.db"
    args = ["--db", str(db), "import", str(feed), str(tmp_path / "in"), str(feed)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "1 file: 1 new" in r.output
    assert sqlite3.connect(db).execute("SELECT times_seen FROM sightings").fetchall() == [(1,)]


def test_import_goes_on_when_a_parser_fails_on_one_file(tmp_path, monkeypatch):
    """A parser's own failure on an odd file rejects that file, by name; the rest load."""
    from monitor.parsers import html_page

    def broken(text, **kw):
        raise ValueError("invalid url_relative base URL")

    monkeypatch.setattr(html_page, "parse", broken)
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><html><body><article>x</article></body></html>")
    feed = tmp_path / "f.xml"
    feed.write_text(BRACKETS_FEED, encoding="utf-8")
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "m.db"), "import", str(page), str(feed)])
    assert r.exit_code == 1, r.output
    assert "could not read this html-page document: ValueError: invalid url_relative" in r.output
    assert "2 files: 1 new" in r.output


def scheduled_email_config(tmp_path):
    """A config whose one watch mails its digest at 08:00."""
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        '[[watch]]\nname = "ukraine"\nany = ["普京"]\nschedule = "0 8 * * *"\n'
        '[[watch.delivery]]\nkind = "email"\nto = ["you@example.org"]\n',
        encoding="utf-8",
    )
    return cfg


def test_run_refuses_to_start_when_a_scheduled_email_has_no_smtp_settings(tmp_path, monkeypatch):
    for name in ("SMTP_HOST", "SMTP_FROM", "SMTP_USER", "SMTP_PASSWORD", "SMTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    cfg = scheduled_email_config(tmp_path)
    db = tmp_path / "m.db"
    r = CliRunner().invoke(main, ["--db", str(db), "--config", str(cfg), "run"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert "watch 'ukraine' sends its digest by email, but environment variable SMTP_HOST" in (
        r.output
    )
    assert not db.exists()  # stopped before opening the store

    monkeypatch.setenv("SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("SMTP_FROM", "monitor@example.org")
    monkeypatch.setenv("SMTP_PORT", "twenty-five")
    r = CliRunner().invoke(main, ["--db", str(db), "--config", str(cfg), "run"])
    assert r.exit_code == 1 and "SMTP_PORT must be a port number" in r.output


def not_a_store(tmp_path, kind: str) -> Path:
    """An empty file, or a SQLite database (WAL, as monitor's own) of someone else's tables."""
    import sqlite3

    path = tmp_path / f"{kind}.db"
    if kind == "empty":
        path.touch()
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE notes (t TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
        conn.commit()
        conn.close()
    return path


def minimal_config(tmp_path) -> Path:
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        SEEDS_SOURCE + '[[watch]]\nname = "w"\nany = ["普京"]\n',
        encoding="utf-8",
    )
    return cfg


@pytest.mark.parametrize("kind", ["empty", "other"])
@pytest.mark.parametrize(
    "args",
    [["search", "普京"], ["show", "1"], ["explain", "1"], ["sources"], ["digest"], ["health"]],
)
def test_reading_commands_refuse_a_file_that_is_not_a_store_and_leave_it_as_it_was(
    tmp_path, kind, args
):
    path = not_a_store(tmp_path, kind)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    cfg = minimal_config(tmp_path)
    r = CliRunner().invoke(main, ["--db", str(path), "--config", str(cfg), *args])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert f"{path} is not a monitor store" in r.output
    assert "Traceback" not in r.output
    cfg.unlink()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no -wal, no -shm


@pytest.mark.parametrize("args", [["import", str(SEEDS)], ["poll"]])
def test_writing_commands_refuse_a_database_of_other_tables(tmp_path, args):
    path = not_a_store(tmp_path, "other")
    before = path.read_bytes()
    cfg = minimal_config(tmp_path)
    r = CliRunner().invoke(main, ["--db", str(path), "--config", str(cfg), *args])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    said = f"{path} is not a monitor store (a SQLite database of other tables: notes)"
    assert said in r.output
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["monitor.toml", "other.db"]


def damaged_store(tmp_path, first: int = 2, pages: int | None = None) -> Path:
    """A store holding the seeds whose pages from ``first`` (``pages`` of them, or up to the
    one before the last) were overwritten, as a failing disk or a bad copy leaves it."""
    from datetime import UTC, datetime

    from monitor import ingest, store
    from monitor.canonical import SiteRules

    path = tmp_path / "corrupt.db"
    db = store.open_db(path)
    files = ingest.find_files([SEEDS]).files
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert ingest.import_files(db, files, SiteRules.load_default(), now=now).new
    store.index_pending(db)
    db.conn.close()  # the last connection: the WAL goes into the file
    page = 4096
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek((first - 1) * page)
        f.write(b"\xff" * (pages * page if pages else size - first * page))
    return path


@pytest.mark.parametrize(
    "args", [["search", "普京"], ["show", "1"], ["sources"], ["health"], ["import", str(SEEDS)]]
)
def test_a_damaged_store_is_called_damaged_not_something_else(tmp_path, args):
    path = damaged_store(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    cfg = minimal_config(tmp_path)
    r = CliRunner().invoke(main, ["--db", str(path), "--config", str(cfg), *args])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert "not a monitor store" not in r.output
    assert f"store {path} is damaged (database disk image is malformed)" in r.output
    assert "restore it from a backup" in r.output and ".recover" in r.output
    assert "Traceback" not in r.output
    cfg.unlink()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no -wal, no -shm


def test_import_makes_a_store_of_an_empty_file(tmp_path):
    path = not_a_store(tmp_path, "empty")
    run = CliRunner()
    r = run.invoke(main, ["--db", str(path), "import", str(SEEDS)])
    assert r.exit_code == 0, r.output
    r = run.invoke(main, ["--db", str(path), "search", "--json", "普京"])
    assert r.exit_code == 0 and r.output.count("\n") == 4, r.output


@pytest.mark.parametrize("key", ["99999999999999999999999", str(2**63), "²", "０"])
@pytest.mark.parametrize("command", ["show", "explain"])
def test_a_number_no_story_can_have_is_no_story(tmp_path, command, key):
    db = ["--db", str(tmp_path / "m.db"), "--config", str(minimal_config(tmp_path))]
    run = CliRunner()
    assert run.invoke(main, [*db, "import", str(SEEDS)]).exit_code == 0
    r = run.invoke(main, [*db, command, key])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert f"no story with key or URL {key!r}" in r.output


@pytest.mark.parametrize("width", [60, 200])
def test_show_prints_keys_urls_and_paths_whole_and_keys_as_search_does(
    tmp_path, monkeypatch, width
):
    """At any width, piped or not: what show prints to copy is never cut with "…"."""
    from rich.console import Console

    from monitor import cli

    monkeypatch.setattr(cli, "out", Console(soft_wrap=False, width=width))
    db = ["--db", str(tmp_path / "m.db")]
    run = CliRunner()
    assert run.invoke(main, [*db, "import", str(SEEDS)]).exit_code == 0
    found = [
        json.loads(line)
        for line in run.invoke(main, [*db, "search", "--json", "拜登"]).output.splitlines()
    ]
    rfi = next(r for r in found if r["story_key"].startswith("url://www.rfi.fr/"))
    readable = "url://www.rfi.fr/cn/欧洲/20220128-美乌总统新年来二度通话-拜登警告俄罗斯明显可能2月入侵乌克兰"
    assert "%E6" in rfi["story_key"] and cli.readable_key(rfi["story_key"]) == readable
    if width == 200:  # search folds its key column at 60: as search prints it at 200
        assert readable in run.invoke(main, [*db, "search", "乌克兰"]).output

    for r in found:
        story = json.loads(run.invoke(main, [*db, "show", "--json", str(r["id"])]).output)
        shown = run.invoke(main, [*db, "show", str(r["id"])])
        assert shown.exit_code == 0 and "…" not in shown.output, shown.output
        lines = shown.output.splitlines()
        assert f"story_key      {cli.readable_key(story['story_key'])}" in lines
        assert f"canonical_url  {story['canonical_url'] or '—'}" in lines
        assert f"keys           {cli.readable_key(story['keys'][0])}" in lines
        for a in story["aliases"]:
            assert f"  {a['first_seen']}  {a['url']}" in lines
        for s in story["sightings"]:
            assert any(line.endswith(f"  {s['location']}") for line in lines)
        # What show prints is what show (and explain) take back.
        again = run.invoke(main, [*db, "show", "--json", cli.readable_key(story["story_key"])])
        assert json.loads(again.output)["id"] == r["id"]

    rfi_shown = run.invoke(main, [*db, "show", str(rfi["id"])]).output
    assert readable in rfi_shown and f"keys           {readable}" in rfi_shown.splitlines()
    raw = json.loads(run.invoke(main, [*db, "show", "--json", readable]).output)
    assert raw["story_key"] == rfi["story_key"] and raw["keys"] == [rfi["story_key"]]  # exact


def folder_with_a_gbk_name(tmp_path) -> Path:
    """A folder of two seeds, one named 新闻.md in GBK bytes (not UTF-8) as copied from Windows."""
    folder = tmp_path / "pages"
    folder.mkdir()
    seeds = sorted(SEEDS.iterdir())
    gbk = Path(os.fsdecode(os.fsencode(folder) + b"/" + "新闻".encode("gbk") + b".md"))
    gbk.write_bytes(seeds[0].read_bytes())
    (folder / seeds[1].name).write_bytes(seeds[1].read_bytes())
    return folder


GBK_NAME = r"\xd0\xc2\xce\xc5.md"  # 新闻.md in GBK, as monitor stores and prints it


def test_import_loads_a_file_whose_name_is_not_utf8_and_names_it_with_escapes(tmp_path):
    folder = folder_with_a_gbk_name(tmp_path)
    db = ["--db", str(tmp_path / "m.db")]
    run = CliRunner()
    r = run.invoke(main, [*db, "import", str(folder)])
    assert r.exit_code == 0, r.output
    assert "2 files: 2 new stories, 0 merged, 0 already stored, 0 rejected" in r.output
    r = run.invoke(main, [*db, "import", str(folder)])
    assert "2 files: 0 new stories, 0 merged, 2 already stored, 0 rejected" in r.output
    shown = run.invoke(main, [*db, "show", "--json", "epochtimes:n13473224"])
    (sighting,) = json.loads(shown.output)["sightings"]
    assert sighting["location"] == f"{folder}/{GBK_NAME}" and sighting["times_seen"] == 2
    r = run.invoke(main, [*db, "show", "epochtimes:n13473224"])
    assert r.exit_code == 0 and r.output.splitlines()[-1].endswith(f"  {folder}/{GBK_NAME}")

    # Rejected and missing files are named the same way.
    def gbk(name: str) -> tuple[str, str]:
        """The path of a file named ``name`` in GBK bytes, and how monitor prints it."""
        raw = name.encode("gbk")
        path = os.fsdecode(os.fsencode(folder) + b"/" + raw + b".md")
        return path, f"{folder}/" + "".join(f"\\x{b:02x}" for b in raw) + ".md"

    empty, empty_shown = gbk("空")
    Path(empty).write_bytes(b"")
    missing, missing_shown = gbk("旧闻")
    r = run.invoke(main, [*db, "import", str(folder), missing])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert f"rejected {empty_shown}: " in r.output and f"not found {missing_shown}" in r.output
    assert "3 files: 0 new stories, 0 merged, 2 already stored, 1 rejected; 1 not found" in r.output


def test_a_dir_source_stores_a_file_whose_name_is_not_utf8_once(tmp_path):
    folder = folder_with_a_gbk_name(tmp_path)
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(f'[[source]]\nname = "pages"\nkind = "dir"\npath = "{folder}"\n')
    base = ["--db", str(tmp_path / "m.db"), "--config", str(cfg)]
    run = CliRunner()
    first = run.invoke(main, [*base, "poll", "--source", "pages"])
    assert first.exit_code == 0 and "2 new stories, 0 seen again, 0 sources failed" in first.output
    again = run.invoke(main, [*base, "poll", "--source", "pages"])
    assert again.exit_code == 0 and "0 new stories, 0 seen again, 0 sources failed" in again.output
    from monitor import store

    db = store.open_db(tmp_path / "m.db", create=False)
    rows = db.conn.execute("SELECT location, status FROM source_entries ORDER BY location")
    assert [tuple(r) for r in rows] == [
        ("001_f4d41f4b1a813ccd.txt", "stored"),
        (GBK_NAME, "stored"),
    ]


def test_poll_with_nothing_due_says_when_the_next_check_is(tmp_path):
    import re

    base = ["--db", str(tmp_path / "m.db"), "--config", str(minimal_config(tmp_path))]
    run = CliRunner()
    assert run.invoke(main, [*base, "poll"]).exit_code == 0

    r = run.invoke(main, [*base, "poll"])

    assert r.exit_code == 0, r.output
    assert re.fullmatch(r"nothing due; next check: seeds in \d+m\n", r.output), r.output
    r = run.invoke(main, [*base, "poll", "--all"])
    assert r.exit_code == 0 and "polled 1 of 1 sources" in r.output

    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace('kind = "dir"', 'kind = "dir"\nenabled = false'),
        encoding="utf-8",
    )
    r = run.invoke(main, [*base, "poll"])
    assert r.exit_code == 0, r.output
    assert r.output == "nothing due; no enabled source is scheduled (see monitor sources)\n"


@pytest.mark.parametrize("args", [[], ["--all"]])
def test_poll_with_a_config_of_no_sources_says_so_and_names_the_file(tmp_path, args):
    """It said "nothing due; no enabled source is scheduled", as if sources were there."""
    cfg, base, run = with_config(tmp_path)
    cfg.write_text('[monitor]\ntimezone = "UTC"\n')
    r = run.invoke(main, [*base, "poll", *args])
    assert r.exit_code == 1
    assert r.output == f"Error: {cfg}: no [[source]] configured; nothing to poll\n"
    assert not (tmp_path / "m.db").exists()


def test_poll_polls_a_source_named_twice_once_and_refuses_source_with_all(tmp_path):
    base = ["--db", str(tmp_path / "m.db"), "--config", str(minimal_config(tmp_path))]
    run = CliRunner()
    r = run.invoke(main, [*base, "poll", "--source", "seeds", "--source", "seeds"])
    assert r.exit_code == 0, r.output
    assert "polled 1 of 1 sources" in r.output and r.output.count("│ seeds ") == 1
    assert "5 new stories, 0 seen again, 0 sources failed" in r.output

    r = run.invoke(main, [*base, "poll", "--source", "seeds", "--all"])
    assert r.exit_code == 2 and "--source and --all cannot be combined" in r.output
    assert "polled" not in r.output


def test_a_folder_import_loads_rss_1_0_files_and_names_what_it_skipped(tmp_path):
    """RSS 1.0 feeds are saved as .rdf; the images, LICENSE files and broken links a
    mirror repository also holds are not documents, and the summary says they were left."""
    fixtures = Path(__file__).parent / "fixtures" / "parsers"
    folder = tmp_path / "archive"
    (folder / "sub").mkdir(parents=True)
    (folder / "feed.rdf").write_bytes((fixtures / "rss10.rdf").read_bytes())
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "sub" / "LICENSE").write_text("MIT", encoding="utf-8")
    (folder / "gone.md").symlink_to(tmp_path / "nowhere.md")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main", encoding="utf-8")

    r = CliRunner().invoke(main, ["--db", str(tmp_path / "m.db"), "import", str(folder)])

    assert r.exit_code == 0, r.output
    assert r.output.startswith("1 file: ") and " 0 rejected; " in r.output
    assert "3 other files in folders skipped (.png, no suffix, not a file)" in r.output
    stored = sqlite3.connect(tmp_path / "m.db").execute("SELECT count(*) FROM items").fetchone()
    assert stored[0] > 0


def test_import_names_binary_junk_by_its_first_bytes(tmp_path):
    png = tmp_path / "photo.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "m.db"), "import", str(png)])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert (
        f"rejected {png}: unrecognised document format "
        "(binary data, starts with bytes 89 50 4e 47 0d 0a 1a 0a…)\n"
    ) in r.output
    assert all(line.isprintable() for line in r.output.splitlines())


@pytest.mark.parametrize("bom", ["\ufeff", ""], ids=["unicode", "no-bom"])
def test_import_reads_a_feed_saved_as_unicode_by_notepad(tmp_path, bom):
    """Notepad's "Unicode" is UTF-16 LE with a BOM (the prolog still says UTF-8); without
    the BOM the NUL bytes cannot be told from binary data."""
    fixtures = Path(__file__).parent / "fixtures" / "parsers"
    saved = tmp_path / "feed.xml"
    saved.write_bytes((bom + (fixtures / "rss20.xml").read_text("utf-8")).encode("utf-16-le"))
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "m.db"), "import", str(saved)])
    if not bom:
        assert r.exit_code == 1 and "binary data, starts with bytes 3c 00 3f 00" in r.output
        return
    assert r.exit_code == 0, r.output
    assert " 0 rejected" in r.output
    titles = sqlite3.connect(tmp_path / "m.db").execute("SELECT title FROM items ORDER BY id")
    assert [t for (t,) in titles][:2] == ["普京与马克龙通话 讨论乌克兰局势", "欧盟准备对俄制裁方案"]


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf"])
def test_a_bad_smtp_timeout_is_named_when_run_starts_and_before_a_digest_is_sent(
    tmp_path, monkeypatch, timeout
):
    import sqlite3

    for name in ("SMTP_USER", "SMTP_PASSWORD", "SMTP_PORT", "SMTP_SECURITY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_FROM", "monitor@example.org")
    monkeypatch.setenv("SMTP_TIMEOUT", timeout)
    cfg = scheduled_email_config(tmp_path)
    db = tmp_path / "m.db"
    base = ["--db", str(db), "--config", str(cfg)]
    message = f"SMTP_TIMEOUT must be seconds, a number more than 0, not '{timeout}'"

    # A store that cannot open: should the check let the daemon start, it stops at once.
    (tmp_path / "blocker").write_text("", encoding="utf-8")
    blocked = ["--db", str(tmp_path / "blocker" / "m.db"), "--config", str(cfg)]
    r = CliRunner().invoke(main, [*blocked, "run"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert f"watch 'ukraine' sends its digest by email, but {message}" in r.output

    assert CliRunner().invoke(main, [*base, "import", str(SEEDS)]).exit_code == 0
    r = CliRunner().invoke(main, [*base, "digest", "--send"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert message in r.output and "next run sends these stories to it again" in r.output
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT delivery, status, error FROM digest_deliveries").fetchall()
    finally:
        conn.close()
    assert rows == [("email you@example.org", "failed", message)]


def test_search_takes_terms_as_arguments_and_a_dash_term_leaves_stories_out(tmp_path):
    """`monitor search 普京 -拜登`, as the help says: "-拜登" is a term, not an option, and
    unquoted words are the terms of one query."""
    db = ["--db", str(tmp_path / "m.db")]
    run = CliRunner()
    assert run.invoke(main, [*db, "import", str(SEEDS)]).exit_code == 0

    def ids(*args):
        r = run.invoke(main, [*db, "search", "--json", *args])
        assert r.exit_code == 0, r.output
        return [json.loads(line)["id"] for line in r.output.splitlines()]

    expected = ids("拜登 -泽连斯基")
    assert expected and len(expected) < len(ids("拜登"))
    assert ids("拜登", "-泽连斯基") == ids("-泽连斯基", "拜登") == expected
    assert ids("普京", "北约") == ids("普京 北约")
    r = run.invoke(main, [*db, "search", "-北约"])
    assert r.exit_code == 2 and "a search needs a term to find" in r.output
    r = run.invoke(main, [*db, "search", "普京", "--jsn"])
    assert r.exit_code == 2 and "No such option '--jsn'. Did you mean '--json'?" in r.output


def test_a_search_that_finds_nothing_says_so_without_an_empty_table(tmp_path):
    db = ["--db", str(tmp_path / "m.db")]
    run = CliRunner()
    assert run.invoke(main, [*db, "import", str(SEEDS)]).exit_code == 0
    r = run.invoke(main, [*db, "search", "鲲鹏", "-拜登"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == "no stories match 鲲鹏 -拜登"
    r = run.invoke(main, [*db, "search", "--json", "鲲鹏"])
    assert r.exit_code == 0 and r.output == ""


def test_a_store_that_cannot_be_opened_is_not_called_something_else(tmp_path, monkeypatch):
    """A store in a folder monitor cannot write to (its -wal and -shm cannot be made) used
    to be refused as "not a monitor store"; it is one, and the message says what is wrong."""
    from monitor import store

    db = tmp_path / "data" / "monitor.db"
    store.open_db(db).conn.close()
    (tmp_path / "data" / "monitor.db-wal").mkdir()  # SQLite cannot open its WAL file
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: Path(p) != db.parent and real_access(p, mode, **kw)
    )
    for args in (["search", "普京"], ["sources"], ["import", str(SEEDS)]):
        r = CliRunner().invoke(
            main, ["--db", str(db), "--config", str(minimal_config(tmp_path)), *args]
        )
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
        assert "not a monitor store" not in r.output
        assert f"cannot open store {db}: unable to open database file" in r.output
        assert f"{db.parent} is not writable" in r.output
        assert ("while the daemon has it open" in r.output) is (args[0] != "import")


def test_narrow_terminals_wrap_table_cells_instead_of_cutting_them():
    """At 60 columns, a Chinese title (no spaces to wrap at) and a long source name used to
    end in "…"; every character is still there, over more lines."""
    from rich.console import Console
    from rich.table import Table

    from monitor.cli import folded

    row = [
        "bbc-zhongwen-simplified",
        "failing (connect_error)",
        "美乌总统新年来二度通话拜登警告俄罗斯明显可能2月入侵乌克兰",
        "connection failed: All connection attempts failed",
    ]
    table = Table("source", "state", "title", "last error")
    table.add_row(*row)
    console = Console(width=60, record=True, color_system=None)
    console.print(folded(table))
    lines = [ln for ln in console.export_text().splitlines() if ln.startswith("│")]
    columns = ["".join(ln.split("│")[n + 1].replace(" ", "") for ln in lines) for n in range(4)]
    assert columns == [cell.replace(" ", "") for cell in row]


@pytest.mark.parametrize(
    "args", [["search", "普京"], ["digest", "--since", "2021-12-01"], ["sources"]]
)
def test_damage_found_after_the_store_opened_is_called_damage_too(tmp_path, args):
    """Pages past the schema (stories, the index) overwritten: the store opens, and the
    command that reads them ended in a DatabaseError traceback."""
    path = damaged_store(tmp_path, first=16, pages=8)
    cfg = minimal_config(tmp_path)
    r = CliRunner().invoke(main, ["--db", str(path), "--config", str(cfg), *args])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert f"store {path} is damaged (" in r.output and ".recover" in r.output


def test_poll_refuses_an_interval_longer_than_a_year_and_polls_nothing(tmp_path):
    cfg = tmp_path / "big.toml"
    cfg.write_text(
        '[[source]]\nname="a"\nkind="feed"\nurl="http://127.0.0.1:1/"\ninterval="5000000d"\n'
    )
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "x.db"), "--config", str(cfg), "poll"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert f"{cfg}: source 'a': key 'interval': '5000000d' is longer than a year" in r.output
    assert "Traceback" not in r.output


def feed_of(link: str, title: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>某报</title>'
        f"<item><title>{title}</title><link>{link}</link>"
        "<description>某报报道，两国领导人通话一小时。</description></item></channel></rss>"
    )


def test_a_site_rule_added_to_the_config_joins_later_copies_to_stories_stored_before(tmp_path):
    """The Simplified edition was stored before the outlet's rule was written; with the
    rule, the Traditional edition is the same story, not a second one."""
    cfg, base, runner = with_config(tmp_path)
    cfg.write_text("", encoding="utf-8")
    gb, b5 = tmp_path / "gb.xml", tmp_path / "b5.xml"
    gb.write_text(feed_of("https://news.example/gb/2022/42.html", "两国领导人通话"), "utf-8")
    b5.write_text(feed_of("https://news.example/b5/2022/42.html", "兩國領導人通話"), "utf-8")
    r = runner.invoke(main, [*base, "import", str(gb)])
    assert "1 file: 1 new" in r.output, r.output

    cfg.write_text(
        '[[site]]\nname = "某报"\nkey_prefix = "mb"\n'
        "patterns = ['^https?://news\\.example/(?:gb|b5)/\\d{4}/(\\d+)\\.html']\n",
        encoding="utf-8",
    )
    r = runner.invoke(main, [*base, "import", str(b5)])
    assert r.exit_code == 0, r.output
    assert "site rules changed: 1 new key for stored stories" in r.output
    assert "1 file: 0 new stories, 1 merged" in r.output
    r = runner.invoke(main, [*base, "import", str(gb)])
    assert "site rules changed" not in r.output and "1 already stored" in r.output


def test_a_poll_after_the_rules_changed_gives_stored_stories_the_new_keys(tmp_path):
    cfg, base, runner = with_config(tmp_path)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "gb.xml").write_text(feed_of("https://news.example/gb/2022/42.html", "两国领导人通话"))
    source = f'[[source]]\nname = "drop"\nkind = "dir"\npath = "{drop}"\n'
    cfg.write_text(source, encoding="utf-8")
    assert runner.invoke(main, [*base, "poll"]).exit_code == 0

    rule = '[[site]]\nname = "某报"\nkey_prefix = "mb"\npatterns = [\'/(?:gb|b5)/\\d{4}/(\\d+)\']\n'
    cfg.write_text(source + rule, encoding="utf-8")
    (drop / "b5.xml").write_text(feed_of("https://news.example/b5/2022/42.html", "兩國領導人通話"))
    r = runner.invoke(main, [*base, "poll", "--all"])
    assert r.exit_code == 0, r.output
    assert "site rules changed: 1 new key for stored stories" in r.output
    shown = runner.invoke(main, [*base, "show", "mb:42"])
    assert shown.output.count("news.example/") >= 2, shown.output  # both editions, one story
    assert sqlite3.connect(tmp_path / "m.db").execute("SELECT count(*) FROM items").fetchone() == (
        1,
    )
