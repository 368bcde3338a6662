"""The shipped Datasette setup against a real server: metadata, full-text search, canned queries.

Starts ``datasette serve`` (from this environment; the ``test`` extra installs it) on a store
imported from seeds/, with datasette/metadata.yml and datasette/plugins, and reads its JSON API.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from html import unescape as html_unescape
from pathlib import Path

import markupsafe
import pytest
import yaml

from monitor.fulltext import fts_query
from monitor.text import fold

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
METADATA = ROOT / "datasette" / "metadata.yml"
PLUGINS = ROOT / "datasette" / "plugins"
BIN = Path(sys.executable).parent

# Which seed files (by number) mention each term, read off the seeds themselves (the test below
# checks that this table still agrees with them). 烏克蘭 is the Traditional spelling of 乌克兰.
MENTIONS = {
    "普京": {"000", "001", "002", "003"},
    "泽连斯基": {"000", "003", "004"},
    "烏克蘭": {"000", "001", "002", "003", "004"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Datasette:
    def __init__(self, base: str, db: Path):
        self.base = base
        self.db = db

    def get(self, path: str, **params) -> object:
        url = self.base + urllib.parse.quote(path) + "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.load(r)

    def rows(self, path: str, **params) -> list[dict]:
        return self.get(path, _shape="array", **params)

    def page(self, path: str, **params) -> tuple[int, str]:
        """Status and body, an error status (a query that failed answers 400) included."""
        url = self.base + urllib.parse.quote(path) + "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.read().decode("utf-8")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, date]:
    # The file name makes the database "monitor", the name metadata.yml describes.
    db = tmp_path_factory.mktemp("store") / "monitor.db"
    imported_on = date.today()
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "--db", str(db), "import", str(SEEDS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "5 new" in done.stdout, done.stdout
    # One delivered digest, so the per-watch query has something to count.
    config = db.parent / "monitor.toml"
    config.write_text(
        '[[watch]]\nname = "ukraine"\nany = ["普京", "泽连斯基"]\n'
        f'[[watch.delivery]]\nkind = "file"\npath = "{db.parent / "digests"}"\n',
        encoding="utf-8",
    )
    sent = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "--db",
            str(db),
            "--config",
            str(config),
            "digest",
            "--send",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    return db, imported_on


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """Another database served beside the store, with an ``items`` table of its own and
    Datasette's usual full-text index of it."""
    db = tmp_path_factory.mktemp("shop") / "shop.db"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT)")
        conn.executemany(
            "INSERT INTO items VALUES (?, ?)", [(1, "泽连斯基 访问 华盛顿"), (2, "普京 讲话")]
        )
        conn.execute("CREATE VIRTUAL TABLE items_fts USING fts5(title, content=[items])")
        conn.execute("INSERT INTO items_fts (rowid, title) SELECT id, title FROM items")
    conn.close()
    return db


@pytest.fixture(scope="module")
def ds(store, shop, tmp_path_factory):
    db, _ = store
    port = _free_port()
    log = (tmp_path_factory.mktemp("datasette") / "datasette.log").open("w+")
    proc = subprocess.Popen(
        [
            str(BIN / "datasette"),
            "serve",
            str(db),
            str(shop),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--metadata",
            str(METADATA),
            "--plugins-dir",
            str(PLUGINS),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"datasette exited with {proc.returncode}:\n{log.read()}")
            try:
                with urllib.request.urlopen(base + "/-/versions.json", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"datasette did not answer within 60 s:\n{log.read()}")
                time.sleep(0.2)
        yield Datasette(base, db)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _seed_titles(db: Path) -> dict[str, str]:
    """Seed number (000…004) → title of the story stored from that file."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT sightings.location, items.title FROM sightings "
            "JOIN items ON items.id = sightings.item_id"
        ).fetchall()
    finally:
        conn.close()
    return {Path(location).name[:3]: title for location, title in rows}


def test_mentions_table_matches_the_seeds():
    files = sorted(SEEDS.glob("*.txt"))
    assert [f.name[:3] for f in files] == ["000", "001", "002", "003", "004"]
    for term, expected in MENTIONS.items():
        found = {f.name[:3] for f in files if fold(term) in fold(f.read_text(encoding="utf-8"))}
        assert found == expected, term


def test_items_lists_the_five_seed_stories(ds):
    titles = _seed_titles(ds.db)
    assert len(titles) == 5
    rows = ds.rows("/monitor/items.json", _col="title")
    assert sorted(r["title"] for r in rows) == sorted(titles.values())


def test_metadata_is_served(ds):
    meta = ds.get("/-/metadata.json")
    assert meta["title"].startswith("monitor")
    items = meta["databases"]["monitor"]["tables"]["items"]
    assert items["fts_table"] == "items_fts"
    assert items["fts_pk"] == "id"


def test_table_search_finds_a_two_character_word(ds):
    titles = _seed_titles(ds.db)
    rows = ds.rows("/monitor/items.json", _search="普京", _col="title")
    assert sorted(r["title"] for r in rows) == sorted(titles[n] for n in MENTIONS["普京"])


@pytest.mark.parametrize(
    "q, seeds",
    [
        ("泽连斯基", MENTIONS["泽连斯基"]),  # four characters: the box found nothing
        ("烏克蘭", MENTIONS["烏克蘭"]),  # Traditional: the box found nothing
        ("普京 -泽连斯基", MENTIONS["普京"] - MENTIONS["泽连斯基"]),  # it required 泽连斯基
        ("普京", MENTIONS["普京"]),
    ],
)
def test_the_items_search_box_asks_the_index_as_monitor_search_does(ds, q, seeds):
    titles = _seed_titles(ds.db)
    rows = ds.rows("/monitor/items.json", _search=q, _col="title")
    assert sorted(r["title"] for r in rows) == sorted(titles[n] for n in seeds)
    status, html = ds.page("/monitor/items", _search=q)
    assert status == 200 and all(str(markupsafe.escape(titles[n])) in html for n in seeds)
    # The expression it ran, asked again, finds the same stories.
    again = ds.rows("/monitor/items.json", _search=fts_query(q), _col="title")
    assert again == rows


def test_a_search_typed_on_the_page_after_a_search_asks_the_index_too(ds):
    """The page after a search sends ``_searchmode=raw`` with its form (Datasette keeps a
    request's ``_`` arguments there), and the plugin left a request naming its search mode
    alone: the next search typed into the box, 泽连斯基, found nothing."""
    titles = _seed_titles(ds.db)
    status, html = ds.page("/monitor/items", _search="普京")
    assert status == 200
    form = re.search(r'<form class="filters".*?</form>', html, re.S)[0]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    for q, seeds in [
        ("泽连斯基", MENTIONS["泽连斯基"]),
        ("普京 -泽连斯基", MENTIONS["普京"] - MENTIONS["泽连斯基"]),
    ]:
        rows = ds.rows("/monitor/items.json", **hidden, _search=q, _col="title")
        assert sorted(r["title"] for r in rows) == sorted(titles[n] for n in seeds), q


@pytest.mark.parametrize("q", ["", "  "])
def test_an_empty_items_search_box_lists_every_story(ds, q):
    """Applying the page's filters with the box emptied failed: 'fts5: syntax error'."""
    status, html = ds.page("/monitor/items", _search=q)
    assert status == 200
    assert len(ds.rows("/monitor/items.json", _search=q)) == 5


def test_another_databases_items_keep_datasettes_own_search(ds):
    """The plugin rewrote ``_search`` on any database's ``items``: another one's index,
    of whole words, was asked for bigrams and found nothing."""
    rows = ds.rows("/shop/items.json", _search="泽连斯基")
    assert [r["id"] for r in rows] == [1]


def _holding(db: Path, *chars: str, without: str = "") -> list[int]:
    """The stories whose folded title or text holds every one of ``chars`` and not
    ``without``, newest first: what monitor search finds for them."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT id, title, text FROM items ORDER BY id DESC").fetchall()
    finally:
        conn.close()
    folded = [(i, fold(f"{title}\n{text}")) for i, title, text in rows]
    return [i for i, f in folded if all(c in f for c in chars) and not (without and without in f)]


@pytest.mark.parametrize(
    "q, chars, without",
    [
        ("格", "格", ""),  # only last in its runs in the seeds: bigrams ending in it
        ("网", "网", ""),
        ("京 烏克蘭", ("京", "乌克兰"), ""),
        ("烏克蘭 -网", ("乌克兰",), "网"),
    ],
)
def test_the_items_search_box_and_the_search_query_find_one_character(ds, q, chars, without):
    """A one-character term was refused: 'no such column: "美": a single Chinese character
    cannot be searched here'; the index holds every story with it, as bigrams."""
    expected = _holding(ds.db, *chars, without=without)
    assert expected and len(expected) < 5  # the seeds tell found from left out
    rows = ds.rows("/monitor/items.json", _search=q)
    assert [r["id"] for r in rows] == expected
    assert [r["id"] for r in ds.rows("/monitor/search.json", q=q)] == expected
    status, html = ds.page("/monitor/items", _search=q)
    assert status == 200
    # The expression it ran, shown in the box and asked again, finds the same stories.
    shown = html_unescape(re.search(r'name="_search" value="([^"]*)"', html)[1])
    assert shown != q
    assert [r["id"] for r in ds.rows("/monitor/items.json", _search=shown)] == expected


def test_the_items_search_box_says_why_a_term_cannot_be_searched(ds):
    status, html = ds.page("/monitor/items", _search="乔·拜登")
    assert status == 400 and "a single Chinese character cannot be searched here" in html
    # A request that names its own search mode is Datasette's, as it was.
    rows = ds.rows("/monitor/items.json", _search="泽连斯基", _searchmode="escaped")
    assert rows == []


@pytest.mark.parametrize("term", ["泽连斯基", "烏克蘭", "普京"])
def test_search_query_uses_bigrams(ds, term):
    titles = _seed_titles(ds.db)
    rows = ds.rows("/monitor/search.json", q=term)
    assert sorted(r["title"] for r in rows) == sorted(titles[n] for n in MENTIONS[term])


def test_search_query_leaves_out_a_dash_term(ds):
    titles = _seed_titles(ds.db)
    rows = ds.rows("/monitor/search.json", q="普京 -泽连斯基")
    expected = MENTIONS["普京"] - MENTIONS["泽连斯基"]
    assert expected and sorted(r["title"] for r in rows) == sorted(titles[n] for n in expected)


def test_bigram_query_works_in_arbitrary_sql(ds):
    sql = "select count(*) as n from items_fts where items_fts match bigram_query(:q)"
    rows = ds.rows("/monitor.json", sql=sql, q="泽连斯基 普京")
    # Both terms must occur: seeds 000 and 003.
    assert rows == [{"n": 2}]


def test_search_query_with_no_terms_is_empty_not_an_error(ds):
    data = ds.get("/monitor/search.json")
    assert data["ok"] is True
    assert data["rows"] == []


@pytest.mark.parametrize(
    "q, said",
    [
        ("-拜登", "a search needs a term to find: -term only leaves stories out"),
        ("乔·拜登", '"乔·拜登": a single Chinese character cannot be searched here'),
        ("普京 -乔·拜", '"乔·拜": a single Chinese character cannot be searched here'),
        ("普京 -乔·拜", "search a longer word, or use monitor search"),
    ],
)
def test_search_query_that_bigrams_cannot_answer_says_why_on_the_page(ds, q, said):
    """A user function's own exception reaches Datasette only as "user-defined function
    raised exception": the reason has to come from SQLite itself."""
    status, body = ds.page("/monitor/search.json", q=q)
    data = json.loads(body)
    assert (status, data["ok"], data["rows"]) == (400, False, [])
    assert said in data["error"]
    assert "user-defined function" not in data["error"]

    status, html = ds.page("/monitor/search", q=q)
    assert status == 400 and str(markupsafe.escape(said)) in html


def test_other_canned_queries_run(ds, store):
    _, imported_on = store
    per_source = ds.rows("/monitor/stories_per_source.json")
    assert [(r["source"], r["stories"]) for r in per_source] == [("import", 5)]
    per_outlet = {r["outlet"]: r["stories"] for r in ds.rows("/monitor/stories_per_outlet.json")}
    assert sum(per_outlet.values()) == 5
    assert per_outlet["大纪元"] == 2
    assert ds.rows("/monitor/broken_sources.json") == []
    per_watch = ds.rows("/monitor/stories_per_watch.json")
    assert [(r["watch"], r["stories"], r["digests"]) for r in per_watch] == [("ukraine", 5, 1)]
    new_today = ds.rows("/monitor/new_today.json")
    if date.today() == imported_on:  # not across local midnight
        assert len(new_today) == 5


def test_every_table_and_column_of_the_store_is_described(store):
    db, _ = store
    described = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["databases"]["monitor"]
    conn = sqlite3.connect(db)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'items_fts_%' ORDER BY name"
            )
        ]
        missing = []
        for table in tables:
            meta = described["tables"].get(table)
            if not meta or not meta.get("description"):
                missing.append(table)
                continue
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            missing += [f"{table}.{c}" for c in columns if c not in meta.get("columns", {})]
    finally:
        conn.close()
    assert not missing, f"describe these in datasette/metadata.yml: {', '.join(missing)}"
