"""One outlet, one name: where an article's address matches a site rule, the rule names the
outlet, whatever the document calls it (``og:site_name``, a ``来源：`` line, a feed's
channel title). Title keys of link-less copies and watches' ``sites`` compare that name."""

from __future__ import annotations

import tomllib

import pytest

from monitor.canonical import SiteRule, SiteRules
from monitor.ingest import parse_and_key

RULES = SiteRules.load_default()
TEXT = "美国总统拜登周五表示，他已经警告俄罗斯总统普京，对乌克兰采取行动将引发制裁。"


def html_page(site_name: str, canonical: str) -> bytes:
    return (
        "<!DOCTYPE html><html><head>"
        f'<meta property="og:site_name" content="{site_name}">'
        '<meta property="og:type" content="article">'
        '<meta property="og:title" content="拜登普京本月第二度通话">'
        f'<link rel="canonical" href="{canonical}">'
        f"</head><body><article><p>{TEXT}</p></article></body></html>"
    ).encode()


def one(data: bytes, rules: SiteRules = RULES, **kw):
    (item,) = parse_and_key(data, rules, **kw)
    return item


@pytest.mark.parametrize(
    ("site_name", "url", "outlet"),
    [
        ("大紀元", "https://www.epochtimes.com/b5/21/12/31/n13473224.htm", "大纪元"),
        ("BBC News 中文", "https://www.bbc.com/zhongwen/simp/world-59573574", "BBC 中文"),
        ("DW.COM", "https://www.dw.com/zh/拜登与普京通话/a-60305640", "DW 中文"),
        ("Example News", "https://news.example.org/2022/01/03/biden.html", "Example News"),
    ],
)
def test_an_html_page_on_a_ruled_host_is_the_rules_outlet(site_name, url, outlet):
    assert one(html_page(site_name, url)).site == outlet


def test_a_markdown_source_line_and_a_feed_title_give_way_to_the_rule():
    voa = "https://www.voachinese.com/a/6376012.html"
    page = f"# 拜登与普京通话\n\n- 原文链接：{voa}\n- 来源：VOA\n\n{TEXT}\n"
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>VOA Chinese</title>'
        f"<link>https://www.voachinese.com/</link><item><title>拜登与普京通话</title>"
        f"<link>{voa}</link><description>{TEXT}</description></item></channel></rss>"
    )
    assert one(page.encode()).site == "美国之音"
    assert one(feed.encode()).site == "美国之音"
    assert one(feed.encode(), site="我的VOA").site == "美国之音"


def test_the_documents_name_stays_without_a_rule_and_a_config_rule_renames():
    page = "# 拜登与普京通话\n\n- 原文链接：https://www.voachinese.com/a/6376012.html\n"
    page += f"- 来源：VOA\n\n{TEXT}\n"
    assert one(page.encode(), SiteRules()).site == "VOA"
    renamed = RULES.extended([SiteRule.from_dict({"name": "VOA", "hosts": ["voachinese.com"]})])
    assert one(page.encode(), renamed).site == "VOA"


def markdown_copy(source: str, text: str = TEXT) -> bytes:
    """A link-less reposted copy naming its outlet only in its ``来源`` line."""
    return f"# 拜登普京本月第二度通话\n\n- 来源：{source}\n\n{text}\n".encode()


@pytest.mark.parametrize(
    ("source", "outlet"),
    [
        ("BBC News 中文", "BBC 中文"),
        ("BBC中文网", "BBC 中文"),
        ("bbc 中文網", "BBC 中文"),  # folded as title keys fold: case, script, spaces
        ("大紀元", "大纪元"),
        ("The Epoch Times", "大纪元"),
        ("美國之音", "美国之音"),
        ("VOA", "美国之音"),
        ("自由亞洲電台", "自由亚洲电台"),
        ("RFA", "自由亚洲电台"),
    ],
)
def test_a_link_less_copy_naming_an_alias_has_the_rules_outlet_and_title_key(source, outlet):
    copy, named = one(markdown_copy(source)), one(markdown_copy(outlet))
    assert copy.site == outlet
    assert copy.story_key == copy.title_key == named.title_key


def test_a_name_that_is_no_alias_stays():
    assert one(markdown_copy("BBC News")).site == "BBC News"
    assert one(markdown_copy("VOA"), SiteRules()).site == "VOA"


def test_a_config_rules_aliases_come_first():
    mine = SiteRule.from_dict({"name": "VOA 中文", "hosts": ["voa.example"], "aliases": ["VOA"]})
    assert one(markdown_copy("VOA"), RULES.extended([mine])).site == "VOA 中文"


def test_each_shipped_alias_names_its_own_outlet():
    assert all(RULES.outlet(alias) == rule.name for rule in RULES for alias in rule.aliases)


def watch_matcher(filters: str, sites: str = ""):
    from monitor.config import parse_config
    from monitor.match import Matcher

    watch = f'[[watch]]\nname = "w"\nany = ["普京"]\n{filters}'
    config = parse_config(tomllib.loads(f"{sites}\n{watch}"))
    return Matcher(config.watch("w").rule)


@pytest.mark.parametrize(
    ("filters", "site", "expected"),
    [
        ('sites = ["VOA"]', "美国之音", True),  # the rule's name, as stories are stored now
        ('sites = ["美国之音"]', "VOA", True),  # a name stored before the alias existed
        ('sites = ["BBC News 中文"]', "BBC 中文", True),
        ('sites = ["bbc中文"]', "BBC 中文", True),  # the name without its space
        ('sites = ["VOA"]', "BBC 中文", False),
        ('exclude_sites = ["RFA"]', "自由亚洲电台", False),
        ('exclude_sites = ["RFA"]', "美国之音", True),
        ('sites = ["某论坛"]', "某论坛", True),  # a name no rule knows stays itself
    ],
)
def test_a_watchs_sites_name_an_outlet_by_any_of_its_names(filters, site, expected):
    assert watch_matcher(filters).site_ok(site) is expected


def test_a_config_rules_aliases_reach_its_watches():
    rule = '[[site]]\nname = "某论坛"\nhosts = ["forum.example.com"]\naliases = ["某某社区"]'
    assert watch_matcher('sites = ["某某社区"]', rule).site_ok("某论坛")
