"""Replay the seeds as live sources: a mirror index + pages, per-outlet feeds, an Epoch feed.

Everything goes through the real CLI (`monitor poll`, `monitor import`) with respx
standing in for the network.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
import respx
from click.testing import CliRunner

from monitor.canonical import SiteRules, assign_keys
from monitor.cli import main
from monitor.parsers import parse

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
MIRROR = "https://mirror.example/epoch/"
FEED_LINKS = {
    "001": "https://chinese.aljazeera.net/news/political/2021/12/8/biden-putin-summit",
    "003": "https://www.guancha.cn/internation/2021_12_08_617001.shtml",
}
B5_LINK = "https://www.epochtimes.com/b5/21/12/31/n13473224.htm?utm_source=rss"


def seed(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


def seed_item(prefix: str):
    (item,) = parse(seed(prefix).read_bytes())
    return assign_keys(item, SiteRules.load_default())


def rss(title: str, items: list[dict]) -> bytes:
    body = "".join(
        f"<item><title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
        f"<guid>{escape(i['link'])}</guid><pubDate>{i['date']}</pubDate>"
        f"<description>{escape(i['html'])}</description></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


def rfc822(published: str) -> str:
    return format_datetime(datetime.fromisoformat(published.replace("Z", "+00:00")), usegmt=True)


def outlet_feed(prefix: str) -> bytes:
    it = seed_item(prefix)
    link = FEED_LINKS.get(prefix) or it.url
    return rss(
        it.site or "feed",
        [{"title": it.title, "link": link, "date": rfc822(it.published), "html": it.html}],
    )


def epoch_feed() -> bytes:
    return rss(
        "大紀元",
        [
            {
                "title": "拜登普京本月第二度通話 雙方互發警告",
                "link": B5_LINK,
                "date": "Fri, 31 Dec 2021 20:00:00 GMT",
                "html": "<p>美國總統拜登周五（12月31日）表示，他已經警告俄羅斯總統普京。</p>",
            }
        ],
    )


class Site:
    """Serves fixed bodies with ETags and answers conditional requests with 304."""

    def __init__(self):
        self.bodies: dict[str, bytes] = {}
        self.log: list[tuple[str, int]] = []

    def add(self, url: str, body: bytes) -> None:
        self.bodies[url] = body

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        body = self.bodies[url]
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if request.headers.get("if-none-match") == etag:
            self.log.append((url, 304))
            return httpx.Response(304, headers={"ETag": etag})
        self.log.append((url, 200))
        return httpx.Response(
            200, content=body, headers={"ETag": etag, "Content-Type": "text/plain"}
        )


@pytest.fixture
def site():
    s = Site()
    index = "# 大纪元镜像\n\n" + "".join(
        f"- [{seed_item(p).title}]({p}.md)\n" for p in ("000", "002")
    )
    s.add(MIRROR + "index.md", index.encode())
    s.add(MIRROR + "000.md", seed("000").read_bytes())
    s.add(MIRROR + "002.md", seed("002").read_bytes())
    s.add("https://feeds.example/aljazeera.xml", outlet_feed("001"))
    s.add("https://feeds.example/guancha.xml", outlet_feed("003"))
    s.add("https://feeds.example/rfi.xml", outlet_feed("004"))
    s.add("https://feeds.example/epochtimes.xml", epoch_feed())
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host__in=["mirror.example", "feeds.example"]).mock(side_effect=s)
        yield s


CONFIG = f"""
[[source]]
name = "epoch-mirror"
kind = "mirror"
url = "{MIRROR}index.md"

[[source]]
name = "aljazeera"
kind = "feed"
url = "https://feeds.example/aljazeera.xml"
site = "Aljazeera 半岛网"

[[source]]
name = "guancha"
kind = "feed"
url = "https://feeds.example/guancha.xml"
site = "观察者网"

[[source]]
name = "rfi"
kind = "feed"
url = "https://feeds.example/rfi.xml"
site = "RFI"

[[source]]
name = "epochtimes"
kind = "feed"
url = "https://feeds.example/epochtimes.xml"
site = "大纪元"
"""


@pytest.fixture(params=[0, 2], ids=["in-process", "parse-workers"])
def cli(tmp_path, request):
    """The CLI on the replay config, without and with parse workers (these start at the
    first document, and the polling process parses until they are up: test_workers sends
    every document of a poll to ready workers)."""
    config = tmp_path / "monitor.toml"
    config.write_text(f"[monitor]\nparse_workers = {request.param}\n{CONFIG}", encoding="utf-8")
    db = tmp_path / "monitor.db"
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["--db", str(db), "--config", str(config), *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result

    run.db = db
    return run


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_replay_stores_each_story_once_and_rereads_nothing(site, cli):
    first = cli("poll")
    assert first.exit_code == 0, first.output
    titles = {t for (t,) in rows(cli.db, "SELECT title FROM items")}
    assert len(titles) == 5
    assert {seed_item(p).title for p in ("001", "003", "004")} <= titles
    # `monitor poll` indexes what it stored before it exits.
    assert rows(cli.db, "SELECT count(*) FROM items_fts") == [(5,)]
    assert rows(cli.db, "SELECT count(*) FROM fts_pending") == [(0,)]
    # The b5 feed item is one more sighting of seed 000's story, not a sixth story.
    (story,) = rows(cli.db, "SELECT id FROM items WHERE story_key = 'epochtimes:n13473224'")
    sources = {
        s for (s,) in rows(cli.db, f"SELECT source FROM sightings WHERE item_id = {story[0]}")
    }
    assert sources == {"epoch-mirror", "epochtimes"}
    aliases = {u for (u,) in rows(cli.db, f"SELECT url FROM item_urls WHERE item_id = {story[0]}")}
    assert "https://www.epochtimes.com/b5/21/12/31/n13473224.htm" in aliases

    site.log.clear()
    second = cli("poll", "--all")
    assert second.exit_code == 0, second.output
    assert rows(cli.db, "SELECT count(*) FROM items") == [(5,)]
    # Every source answered 304: nothing was parsed, no mirror page was fetched again.
    assert sorted(site.log) == sorted(
        (u, 304) for u in site.bodies if not u.endswith(("000.md", "002.md"))
    )
    assert rows(cli.db, "SELECT count(*) FROM fetches WHERE outcome = 'not_modified'") == [(5,)]

    imported = cli("import", str(SEEDS))
    assert imported.exit_code == 0, imported.output
    assert "0 new" in imported.output
    assert rows(cli.db, "SELECT count(*) FROM items") == [(5,)]
    # The link-less Hexo copies (001, 003) merged into their outlets' feed items.
    for prefix in ("001", "003"):
        key = seed_item(prefix).title_key
        (n,) = rows(cli.db, f"SELECT count(*) FROM items WHERE title_key = '{key}'")[0]
        assert n == 1
        srcs = rows(
            cli.db,
            "SELECT s.source FROM sightings s JOIN items i ON i.id = s.item_id "
            f"WHERE i.title_key = '{key}' ORDER BY s.source",
        )
        assert [s for (s,) in srcs] == sorted(
            ["import", {"001": "aljazeera", "003": "guancha"}[prefix]]
        )
        (url,) = rows(cli.db, f"SELECT canonical_url FROM items WHERE title_key = '{key}'")[0]
        assert url == FEED_LINKS[prefix]


def test_search_says_when_more_stories_match_than_it_shows(site, cli):
    cli("poll")
    # The 大纪元 story's text is its first copy's: the mirror page names 泽连斯基, the feed
    # item does not, and with parse workers either may be stored first.
    (n,) = rows(cli.db, "SELECT count(*) FROM items WHERE title || text LIKE '%泽连斯基%'")[0]
    assert n in (2, 3)
    everything = cli("search", "泽连斯基")
    assert everything.exit_code == 0, everything.output
    assert f"{n} stories" in everything.output
    assert "more match" not in everything.output
    cut = cli("search", "泽连斯基", "--limit", "1")
    assert cut.exit_code == 0, cut.output
    assert "the 1 story stored last; more match" in cut.output
    keys = [
        json.loads(line)["story_key"]
        for line in cli("search", "泽连斯基", "--json").output.splitlines()
    ]
    assert len(keys) == n
    first = cli("search", "泽连斯基", "--limit", "1", "--json").output.splitlines()
    assert [json.loads(line)["story_key"] for line in first] == keys[:1]
    refused = cli("search", "泽连斯基", "--limit", "0")
    assert refused.exit_code == 2
    assert "--limit" in refused.output


@pytest.mark.parametrize("prefix", ["001", "003", "004"])
def test_mirror_file_and_feed_item_agree(prefix):
    from_file = seed_item(prefix)
    (from_feed,) = parse(outlet_feed(prefix), site=from_file.site)
    assert from_feed.title == from_file.title
    assert from_feed.published == from_file.published
    assert from_feed.text == from_file.text


def test_sources_table_after_replay(site, cli):
    cli("poll")
    out = cli("sources").output
    for name in ("epoch-mirror", "aljazeera", "guancha", "rfi", "epochtimes"):
        assert name in out
    assert "failing" not in out


def test_commands_that_only_read_the_store_do_not_load_the_parsers():
    """`monitor search`, `show`, `sources` and `health` (the container's health check)
    answer without importing the feed and page parsers: a quarter of their start-up."""
    code = (
        "import sys, monitor.cli, monitor.health, monitor.state; "
        "print(sorted(m for m in ('lxml', 'feedparser', 'httpx', 'nh3', 'monitor.ingest', "
        "'monitor.parsers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
