"""Editions of one article that outlets serve at addresses of their own are one story:
NYT 中文's Traditional and bilingual editions, RFA's AMP pages. Only shapes the outlets are
known to use: anything else keys by its own address."""

from __future__ import annotations

import pytest

from monitor.canonical import SiteRules, canonical_url, url_key
from monitor.ingest import parse_and_key

RULES = SiteRules.load_default()
NYT = "https://cn.nytimes.com/world/20220103/china-covid/"
TEXT = "美国总统拜登周五表示，他已经警告俄罗斯总统普京，对乌克兰采取行动将引发制裁。"


def copy(url: str, n: int):
    """A Markdown copy of the article at ``url``, with a title and text of its own."""
    page = f"# 标题{n}\n\n原文链接：{url}\n\n{TEXT}第{n}份。\n"
    (item,) = parse_and_key(page.encode(), RULES)
    return item


@pytest.mark.parametrize(
    "url",
    [
        NYT,
        NYT + "zh-hant/",
        NYT + "dual/",
        NYT + "zh-hant/dual/",
        NYT + "?utm_source=twitter&utm_medium=social",
        NYT.removesuffix("/"),
        "http://m.cn.nytimes.com/world/20220103/china-covid/zh-hant/",
    ],
)
def test_nyt_editions_are_one_story_of_the_outlet(url):
    item = copy(url, 2)
    assert (item.story_key, item.site) == ("nytimes:20220103/china-covid", "纽约时报中文网")


@pytest.mark.parametrize(
    "url",
    [
        "https://cn.nytimes.com/world/",  # a section's front page
        "https://cn.nytimes.com/world/20220103/china-covid/en-us/",  # a shape not known
        "https://cn.nytimes.com/world/20220103/china-covid/page2/",
        "https://www.nytimes.com/2022/01/03/world/asia/china-covid.html",  # the English site
        "https://cn.nytimes.com.example/world/20220103/china-covid/",
    ],
)
def test_other_nyt_addresses_have_no_rule_key(url):
    assert RULES.key_for(url) is None


def test_two_nyt_articles_stay_two():
    assert RULES.key_for(NYT) != RULES.key_for(
        "https://cn.nytimes.com/world/20220103/china-omicron/"
    )


RFA = "https://www.rfa.org/mandarin/yataibaodao/gangtai/hk-01032022101010.html"


def test_an_rfa_amp_page_is_its_article():
    amp = copy(RFA + "/ampRFA", 1)
    article = copy(RFA, 2)
    assert amp.story_key == article.story_key == "url:" + url_key(RFA)
    assert amp.canonical_url == RFA and amp.site == "自由亚洲电台"
    assert url_key(RFA.replace("https", "http") + "/ampRFA?utm_source=x") == url_key(RFA)
    assert RULES.key_for(RFA + "/ampRFA") is None  # no id rule: the address is the key


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example.org/news/a.html/ampRFA",  # not RFA
        "https://www.rfa.org/mandarin/yataibaodao/gangtai/ampRFA",  # no article before it
        RFA + "/amp",
    ],
)
def test_other_addresses_keep_their_suffix(url):
    assert canonical_url(url) == url
