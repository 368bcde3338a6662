"""Site rules' ``link_patterns``: the Epoch Times mirrors' nav links carry the article
number as a whole query (``../../../..?n13473224``), which keys them; the same shape on a
feed item's link or a page's own address (a forum's ``viewtopic?n13473224``) names no
Epoch Times article and must not join one."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import store
from monitor.canonical import SiteRules
from monitor.ingest import import_files, parse_and_key

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
RULES = SiteRules.load_default()
SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_ebf68263cc861490.txt"
FORUM = "https://forum.example.com/viewtopic?n13473224"
TEXT = "本周六早上八点在公园门口集合，骑行路线约四十公里，请自带水和头盔，报名请回帖。"


def feed(link: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>某论坛</title>'
        "<link>https://forum.example.com/</link><item><title>周末骑行活动报名</title>"
        f"<link>{link}</link><description>{TEXT}</description></item></channel></rss>"
    ).encode()


def html_page(canonical: str) -> bytes:
    return (
        '<!DOCTYPE html><html><head><meta property="og:type" content="article">'
        '<meta property="og:title" content="周末骑行活动报名">'
        f'<link rel="canonical" href="{canonical}"></head>'
        f"<body><article><p>{TEXT}</p></article></body></html>"
    ).encode()


@pytest.mark.parametrize(
    "data",
    [feed(FORUM), feed("https://shop.example/item?n20000001"), html_page(FORUM)],
    ids=["feed-link", "feed-link-shop", "page-canonical"],
)
def test_an_article_number_query_on_any_host_is_no_epoch_times_key(data):
    (item,) = parse_and_key(data, RULES)
    assert item.story_key.startswith("url://")


def test_a_forum_post_and_an_epoch_times_story_of_one_number_stay_two(tmp_path):
    db = store.open_db(tmp_path / "m.db")
    forum = tmp_path / "forum.xml"
    forum.write_bytes(feed(FORUM))
    report = import_files(db, [SEED, forum], RULES, now=NOW)
    assert (report.new, report.merged) == (2, 0)


def test_a_mirror_pages_nav_link_still_keys_its_story():
    """Without its footer (the original's address) the nav link alone names the article."""
    page = (Path(__file__).parent / "fixtures" / "parsers" / "epoch_no_footer.txt").read_bytes()
    (item,) = parse_and_key(page, RULES)
    assert item.story_key == "epochtimes:n13480002"


def test_lookups_of_an_address_key_it_only_as_a_mirror_link():
    assert RULES.key_for(FORUM) is None
    assert RULES.key_for(FORUM, from_mirror=True) == "epochtimes:n13473224"
