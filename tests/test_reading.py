"""Reading the store as its users do: the shipped Datasette queries run as plain SQL, and the
reading commands (search, show, sources) through the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml
from click.testing import CliRunner

from monitor import store
from monitor.canonical import SiteRules, assign_keys
from monitor.cli import main
from monitor.models import Item
from monitor.store import Sighting, save_items

ROOT = Path(__file__).resolve().parent.parent
QUERIES = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))[
    "databases"
]["monitor"]["queries"]
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
RULES = SiteRules.load_default()


def item(title: str, url: str) -> Item:
    return assign_keys(Item(title=title, format="rss", url=url, site="RFI"), RULES)


def test_stories_per_source_counts_one_first_bringer_for_stories_of_one_poll(tmp_path):
    """A poll gives every source it polls the same time: two feeds carrying one story in
    one poll both saw it "first", but only the one stored first brought it."""
    db = store.open_db(tmp_path / "monitor.db")
    story = item("欧盟外长讨论俄乌局势", "https://www.rfi.fr/cn/20220110-eu")
    save_items(db, [(story, Sighting("rfi", "https://rfi.example/rss"))], now=NOW)
    save_items(db, [(story, Sighting("rfi-mirror", "https://mirror.example/rss"))], now=NOW)
    rows = db.conn.execute(QUERIES["stories_per_source"]["sql"]).fetchall()
    assert [(r[0], r[2], r[3]) for r in rows] == [("rfi", 1, 1), ("rfi-mirror", 1, 0)]


def test_a_search_while_the_daemon_indexes_misses_no_story(tmp_path, monkeypatch):
    """A search reads the index, then the queue of stories not yet in it: when the daemon
    indexed a story between the two reads, neither had it, unless both read one snapshot."""
    path = tmp_path / "monitor.db"
    db = store.open_db(path)
    story = item("普京讲话", "https://www.rfi.fr/cn/20220110-putin")
    save_items(db, [(story, Sighting("rfi", "https://rfi.example/rss"))], now=NOW)
    daemon = store.open_db(path)
    read_queue = store._pending_matches

    def indexed_meanwhile(*args, **kwargs):
        assert store.index_pending(daemon) == 1  # between the index's read and the queue's
        return read_queue(*args, **kwargs)

    monkeypatch.setattr(store, "_pending_matches", indexed_meanwhile)
    assert [r["title"] for r in store.search(db, "普京")] == ["普京讲话"]


def test_show_says_a_story_without_a_link_has_no_urls_instead_of_an_empty_table(tmp_path):
    db = store.open_db(tmp_path / "monitor.db")
    story = assign_keys(Item(title="普京讲话", format="hexo", site="观察者网"), RULES)
    save_items(db, [(story, Sighting("import", "/archive/a.md"))], now=NOW)
    shown = CliRunner().invoke(main, ["--db", str(tmp_path / "monitor.db"), "show", "1"])
    assert shown.exit_code == 0, shown.output
    urls = shown.output.split("URLs\n", 1)[1].split("\n\n", 1)[0]
    assert urls == "  none: no copy of it had a link"


def test_search_refuses_a_guessed_short_option_instead_of_searching_with_it(tmp_path):
    """`monitor search 普京 -n 5` searched 普京 and 5 without the word "n": no error, and
    stories other than asked for. A word of one Latin letter is left out quoted: -"n"."""
    db = store.open_db(tmp_path / "monitor.db")
    story = item("普京讲话 5 n", "https://www.rfi.fr/cn/20220110-putin")
    save_items(db, [(story, Sighting("rfi", "https://rfi.example/rss"))], now=NOW)
    run = CliRunner()
    args = ["--db", str(tmp_path / "monitor.db"), "search", "--json"]
    r = run.invoke(main, [*args, "普京", "-n", "5"])
    assert r.exit_code == 2, r.output
    assert "no such option: -n (options: --limit, --json)" in r.output
    assert 'write -"n"' in r.output
    quoted = run.invoke(main, [*args, "普京", '-"n"'])
    assert quoted.exit_code == 0 and quoted.output == ""
    assert run.invoke(main, [*args, "普京", "-nato"]).output.count("普京讲话") == 1


def test_search_names_an_option_written_after_double_dash_for_what_it_is(tmp_path):
    """It said "No such option '--json'. Did you mean '--json'?"."""
    store.open_db(tmp_path / "monitor.db")
    args = ["--db", str(tmp_path / "monitor.db"), "search", "--", "-拜登", "普京", "--json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and "--json after '--' is no option: put it before '--'" in r.output
    assert "Did you mean" not in r.output
