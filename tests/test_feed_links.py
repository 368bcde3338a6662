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
        '<title>示例新闻</title><link href="https://news.example/"/>'
        "<id>tag:news.example,2022:feed</id>"
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


# --- relative links of a feed read without its URL (an imported file, a dir source) ---

HOME = "https://www.news.cn/"
ARTICLE_PATH = "/news/2026/1122/x.html"
ABSOLUTE = "https://www.news.cn" + ARTICLE_PATH
ONLY_PATH = "/news/2026/1122/y.html"
BODY = '&lt;p&gt;正文。&lt;img src="img/1.jpg"&gt;&lt;/p&gt;'  # relative to the article


def saved_rss(channel: str, *, namespaces: str = "") -> bytes:
    """A 新华网-style feed, ``channel`` its channel's own elements: item links are
    relative to the channel's page."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"{namespaces}><channel>'
        f"<title>新华网</title>{channel}"
        f"<item><title>国务院召开常务会议</title><link>{ARTICLE_PATH}</link>"
        f'<guid isPermaLink="true">{ABSOLUTE}</guid><description>{BODY}</description></item>'
        f"<item><title>第二条新闻</title><link>{ONLY_PATH}</link>"
        f"<description>正文。</description></item></channel></rss>"
    ).encode()


def saved_atom(links: str, *, root_attributes: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom"{root_attributes}><title>新华网</title>'
        f"{links}<id>tag:news.cn,2026:feed</id>"
        f'<entry><title>国务院召开常务会议</title><link href="{ARTICLE_PATH}"/><id>{ABSOLUTE}</id>'
        f'<updated>2026-11-22T08:00:00Z</updated><content type="html">{BODY}</content></entry>'
        f'<entry><title>第二条新闻</title><link href="{ONLY_PATH}"/><id>urn:news.cn:2</id>'
        "<updated>2026-11-22T08:00:00Z</updated><summary>正文。</summary></entry></feed>"
    ).encode()


SELF = '<link rel="self" href="https://www.news.cn/atom.xml"/>'
SAVED = {
    "rss-channel-link": saved_rss(f"<link>{HOME}</link>"),
    "rss-self-link-first": saved_rss(
        f'<atom:link href="https://www.news.cn/rss.xml" rel="self"/><link>{HOME}</link>',
        namespaces=' xmlns:atom="http://www.w3.org/2005/Atom"',
    ),
    "atom-alternate": saved_atom(
        f'{SELF}<link rel="alternate" type="application/atom+xml" href="https://x.example/a.xml"/>'
        f'<link rel="alternate" type="text/html" href="{HOME}"/>'
    ),
    "atom-untyped-link": saved_atom(f'{SELF}<link href="{HOME}"/>'),
    "atom-xml-base": saved_atom(SELF, root_attributes=f' xml:base="{HOME}"'),
}


@pytest.mark.parametrize("name", sorted(SAVED))
def test_a_feed_read_without_its_url_resolves_its_links_on_the_feeds_page(name, path):
    """An imported feed kept ``/news/2026/1122/x.html`` as the story's URL (and its key),
    with the absolute permalink only an alias: a URL nobody can open."""
    first, second = feed.parse(SAVED[name], url=None)
    assert (first.url, first.alt_urls) == (ABSOLUTE, [])
    assert (second.url, second.alt_urls) == ("https://www.news.cn" + ONLY_PATH, [])
    # The body's relative image resolves on the article's page, as it did on an absolute link.
    assert [im.url for im in first.images] == ["https://www.news.cn/news/2026/1122/img/1.jpg"]


@pytest.mark.parametrize(
    "channel",
    ["", "<link>/</link>", "<link>www.news.cn</link>", "<link>javascript:void(0)</link>"],
    ids=["none", "relative", "no-scheme", "placeholder"],
)
def test_an_absolute_guid_stands_in_for_a_link_that_cannot_be_resolved(channel, path):
    """Without a page to resolve on, the permalink is the address that opens; a relative
    link and nothing better stays as it is (site rules can still key its path)."""
    first, second = feed.parse(saved_rss(channel), url=None)
    assert (first.url, first.alt_urls) == (ABSOLUTE, [])
    assert (second.url, second.alt_urls) == (ONLY_PATH, [])


POLLED = "https://feeds.example.org/xinhua/rss.xml"  # another host than the feed's page


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_a_polled_feed_resolves_its_links_on_its_url_as_before(fmt, path):
    """With a document URL nothing changes: links resolve on it, not on the feed's page,
    so stories keep the keys they were stored under."""
    doc = (
        saved_rss(f"<link>{HOME}</link>") if fmt == "rss" else saved_atom(f'<link href="{HOME}"/>')
    )
    items = parse_and_key(doc, SiteRules.load_default(), url=POLLED)
    assert [(it.url, it.alt_urls, it.story_key) for it in items] == [
        (
            "https://feeds.example.org" + ARTICLE_PATH,
            [ABSOLUTE],
            "url://feeds.example.org" + ARTICLE_PATH,
        ),
        ("https://feeds.example.org" + ONLY_PATH, [], "url://feeds.example.org" + ONLY_PATH),
    ]


def test_an_imported_copy_of_a_feed_is_the_story_the_polled_feed_stored(tmp_path, path):
    rules = SiteRules.load_default()
    db = open_db(tmp_path / "m.db")
    now = datetime(2026, 11, 22, tzinfo=UTC)
    statuses = []
    data = saved_rss(f"<link>{HOME}</link>")
    for url, where in [("https://www.news.cn/rss.xml",) * 2, (None, "saved/xinhua.xml")]:
        items = parse_and_key(data, rules, url=url)
        saved = save_items(db, [(it, Sighting("t", where)) for it in items], now=now)
        statuses.append([s.status for s in saved])
    assert statuses == [["new", "new"], ["merged", "merged"]]
    assert db.execute("SELECT count(*) FROM items").fetchone() == (2,)
