"""Placeholder links (``javascript:void(0)``, ``#``, the feed's own address) name no article.

Feeds put them on items that have no page of their own. Taken as the item's URL they gave
different stories one key (``url:void(0)``, or the feed URL for ``#``), and every item
after the first was dropped as already stored. Each document is read on both paths
(fastfeed and feedparser) and must give the same answer.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.canonical import SiteRules
from monitor.ingest import parse_and_key
from monitor.parsers import fastfeed, feed
from monitor.store import Sighting, open_db, save_items

FEED_URL = "https://news.example/feeds/rss.xml"
ARTICLE = "https://example.com/a/1.html"
# title -> link as written in the feed; None: the item keeps no URL.
LINKS = {
    "美国宣布新一轮对俄制裁": ("javascript:void(0)", None),
    "欧盟外长会议在布鲁塞尔举行": ("#", None),
    "日本首相访问东南亚三国": ("", None),
    "台湾地区举行防灾演习": ("mailto:x@y", None),
    "香港立法会通过预算案": (FEED_URL, None),
    "联合国安理会召开紧急会议": (ARTICLE, ARTICLE),
}
LINKLESS = [title for title, (_, expected) in LINKS.items() if expected is None]


def rss(links: dict[str, str]) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>{title}。记者报道，详情见正文第{n}段。</description></item>"
        for n, (title, link) in enumerate(links.items())
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>示例新闻</title><link>https://news.example/</link>"
        f"<description>d</description>{items}</channel></rss>"
    ).encode()


def atom(links: dict[str, str]) -> bytes:
    entries = "".join(
        f'<entry><title>{title}</title><link href="{link}"/><id>urn:example:{n}</id>'
        f"<updated>2022-02-01T12:00:00Z</updated>"
        f"<summary>{title}。记者报道，详情见正文第{n}段。</summary></entry>"
        for n, (title, link) in enumerate(links.items())
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>示例新闻</title><id>tag:news.example,2022:feed</id>"
        f"<updated>2022-02-01T12:00:00Z</updated>{entries}</feed>"
    ).encode()


DOCUMENTS = {"rss": rss, "atom": atom}
PATHS = ["fastfeed", "feedparser"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    """Which reader ``feed.parse`` uses: fastfeed as it runs, or feedparser alone."""
    if request.param == "feedparser":
        monkeypatch.setattr(fastfeed, "read", lambda *a, **k: None)
    return request.param


@pytest.mark.parametrize("url", [FEED_URL, None], ids=["polled", "imported"])
@pytest.mark.parametrize("fmt", sorted(DOCUMENTS))
def test_the_fast_path_reads_these_documents(fmt, url):
    # Else the "fastfeed" runs below would quietly be feedparser runs too.
    assert fastfeed.read(DOCUMENTS[fmt]({t: link for t, (link, _) in LINKS.items()}), url)


@pytest.mark.parametrize("url", [FEED_URL, None], ids=["polled", "imported"])
@pytest.mark.parametrize("fmt", sorted(DOCUMENTS))
def test_only_article_links_become_the_item_url(fmt, url, path):
    links = {t: link for t, (link, _) in LINKS.items()}
    if url is None:  # an imported file: the feed's address is unknown, its link is a page
        links.pop("香港立法会通过预算案")
    items = feed.parse(DOCUMENTS[fmt](links), url=url)
    assert {it.title: it.url for it in items} == {t: LINKS[t][1] for t in links}
    assert all(it.alt_urls == [] for it in items)


@pytest.mark.parametrize("fmt", sorted(DOCUMENTS))
def test_hash_links_are_not_the_feed_url(fmt, path):
    # Polled, "#" and "#top" resolve to the feed's own address (plus a fragment).
    data = DOCUMENTS[fmt]({"甲新闻标题": "#", "乙新闻标题": "#top", "丙新闻标题": FEED_URL + "#x"})
    assert [it.url for it in feed.parse(data, url=FEED_URL)] == [None, None, None]


@pytest.mark.parametrize("url", [FEED_URL, None], ids=["polled", "imported"])
def test_a_permalink_guid_stands_in_for_a_placeholder_link(url, path):
    data = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>示例新闻</title>'
        "<item><title>甲</title><link>javascript:void(0)</link>"
        "<guid>https://example.com/a/7.html</guid></item>"
        "<item><title>乙</title><link>#</link><guid isPermaLink='false'>zb-8</guid></item>"
        "</channel></rss>"
    ).encode()
    first, second = feed.parse(data, url=url)
    assert (first.url, first.alt_urls) == ("https://example.com/a/7.html", [])
    assert (second.url, second.alt_urls) == (None, [])


# Four stories, two by two under the same placeholder link (the bug report's feed first).
PAIRS = {
    "void-and-hash": ["javascript:void(0)", "#"],
    "empty-and-mailto": ["", "mailto:x@y"],
    "feed-url-and-top": [FEED_URL, "#top"],  # only polled: imported, FEED_URL is a page
}
STORE_CASES = [
    pytest.param(pair, url, id=f"{pair}-{name}")
    for pair in PAIRS
    for url, name in [(FEED_URL, "polled"), (None, "imported")]
    if url or pair != "feed-url-and-top"
]


@pytest.mark.parametrize(("pair", "url"), STORE_CASES)
@pytest.mark.parametrize("fmt", sorted(DOCUMENTS))
def test_each_linkless_item_is_stored_as_its_own_story(fmt, pair, url, path, tmp_path):
    first, second = PAIRS[pair]
    links = dict(zip(LINKLESS[:4], [first, first, second, second], strict=True))
    items = parse_and_key(DOCUMENTS[fmt](links), SiteRules.load_default(), url=url)
    assert [it.title for it in items] == list(links)

    db = open_db(tmp_path / "m.db")
    sighting = Sighting("test", url or "void.xml")
    saved = save_items(db, [(it, sighting) for it in items], now=datetime(2022, 2, 1, tzinfo=UTC))
    assert [s.status for s in saved] == ["new"] * 4
    assert len({s.item_id for s in saved}) == 4
    assert db.execute("SELECT count(*) FROM items").fetchone() == (4,)
    # Keyed like any link-less item: by its entry id in the feed (Atom's <id>), else by
    # outlet and title.
    where = url or "示例新闻"
    expected = [
        f"entry:{where}#urn:example:{n}" if fmt == "atom" else f"title:示例新闻:{t}"
        for n, t in enumerate(links)
    ]
    assert [it.story_key for it in items] == expected
    assert all(it.url is None and it.canonical_url is None for it in items)
    # Read again, every item is a sighting already recorded, none a new story.
    again = parse_and_key(DOCUMENTS[fmt](links), SiteRules.load_default(), url=url)
    saved = save_items(db, [(it, sighting) for it in again], now=datetime(2022, 2, 2, tzinfo=UTC))
    assert [s.status for s in saved] == ["seen"] * 4
    assert db.execute("SELECT count(*) FROM items").fetchone() == (4,)


def flash(guids: list[str], text: str = "") -> bytes:
    """A link-less channel whose entries share one title (快讯), as chat bridges write them."""
    bodies = [
        "国务院召开常务会议，部署进一步稳定经济的一揽子措施。",
        "台风海葵今晨登陆福建沿海，多地启动防汛防台应急响应。",
    ]
    items = "".join(
        f"<item><title>快讯</title><guid isPermaLink='false'>{g}</guid>"
        f"<description>{text or bodies[n % 2]}</description></item>"
        for n, g in enumerate(guids)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>示例频道</title><description>d</description>{items}</channel></rss>"
    ).encode()


def test_linkless_entries_of_one_feed_with_one_title_are_each_a_story(tmp_path, path):
    """Different ids in one feed are different stories; the same story seen in another
    feed of the outlet (no id of that feed) still meets them by title."""
    rules = SiteRules.load_default()
    db = open_db(tmp_path / "m.db")
    now = datetime(2022, 2, 1, tzinfo=UTC)

    def poll(data: bytes, url: str) -> list[str]:
        items = parse_and_key(data, rules, url=url)
        return [s.status for s in save_items(db, [(i, Sighting("t", url)) for i in items], now=now)]

    assert poll(flash(["msg-1001", "msg-1002"]), FEED_URL) == ["new", "new"]
    assert poll(flash(["msg-1001", "msg-1002"]), FEED_URL) == ["seen", "seen"]
    # A feed that makes up new ids at every fetch: the same text is the same story.
    assert poll(flash(["r-1", "r-2"]), FEED_URL) == ["seen", "seen"]
    assert db.execute("SELECT count(*) FROM items").fetchone() == (2,)
    texts = [t for (t,) in db.execute("SELECT text FROM items ORDER BY id")]
    assert "国务院" in texts[0] and "台风" in texts[1]
    # Another feed of the outlet, its own ids: its 快讯 is one of the stories above.
    other = "https://news.example/feeds/other.xml"
    assert poll(
        flash(["x-1"], text="国务院召开常务会议，部署进一步稳定经济的一揽子措施。"), other
    ) == ["merged"]
    assert db.execute("SELECT count(*) FROM items").fetchone() == (2,)


@pytest.mark.parametrize(
    ("text", "statuses"),
    [
        ("央行宣布下调存款准备金率0.5个百分点。", ["new", "new"]),
        ("国务院召开常务会议，部署进一步稳定经济的一揽子措施。", ["new", "merged"]),
    ],
)
def test_linkless_flashes_of_two_feeds_meet_by_title_only_with_the_same_text(
    text, statuses, tmp_path
):
    """Two feeds of an outlet, one 快讯 each: other text is another story, not lost."""
    rules = SiteRules.load_default()
    db = open_db(tmp_path / "m.db")
    now = datetime(2022, 2, 1, tzinfo=UTC)
    got = []
    first = "国务院召开常务会议，部署进一步稳定经济的一揽子措施。"
    for guid, body, url in [("a-1", first, FEED_URL), ("b-1", text, FEED_URL + "?other")]:
        items = parse_and_key(flash([guid], text=body), rules, url=url)
        got += [s.status for s in save_items(db, [(i, Sighting("t", url)) for i in items], now=now)]
    assert got == statuses
    stored = [t for (t,) in db.execute("SELECT text FROM items ORDER BY id")]
    assert stored == list(dict.fromkeys([first, text]))
