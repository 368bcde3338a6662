"""One outlet, one name: where an article's address matches a site rule, the rule names the
outlet, whatever the document calls it (``og:site_name``, a ``来源：`` line, a feed's
channel title). Title keys of link-less copies and watches' ``sites`` compare that name."""

from __future__ import annotations

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
