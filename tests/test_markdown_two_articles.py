"""A Markdown page holding two articles, the second under a heading above the title's level
with an address of its own, is refused: read as one, the first article's key got the
second's text and the second's address was recorded nowhere. (Under headings of the title's
level they are a digest page's articles: see test_markdown_digest.) Sections and quoted
addresses are text."""

from __future__ import annotations

import pytest

from monitor.models import NotAnArticle
from monitor.parsers import parse

VOA = "https://www.voachinese.com/a/biden-putin-call-20211231/6376012.html"
DW = "https://www.dw.com/zh/germany-nord-stream/a-60305640"
FIRST = "美国总统拜登与俄罗斯总统普京周四通电话，讨论乌克兰边境紧张局势。双方互相发出警告。"
SECOND = "德国总理朔尔茨宣布暂停北溪二号天然气管道的认证程序，以回应俄罗斯的决定。"


def one(text: str):
    (item,) = parse(text.encode())
    return item


def test_a_title_over_a_lower_level_title_is_refused_too():
    page = (
        f"## 拜登与普京通话\n\n原文链接：{VOA}\n\n{FIRST}\n\n"
        f"# 德国暂停北溪\n\n原文链接：{DW}\n\n{SECOND}\n"
    )
    with pytest.raises(NotAnArticle, match="holds two articles"):
        parse(page.encode())


def test_sections_with_addresses_under_one_title_are_one_article():
    page = (
        f"# 拜登与普京通话\n\n原文链接：{VOA}\n\n{FIRST}\n\n"
        f"## 德国的回应\n\n原文链接：{DW}\n\n{SECOND}\n"
    )
    item = one(page)
    assert (item.url, item.title) == (VOA, "拜登与普京通话")
    assert SECOND in item.text


def test_an_address_quoted_in_the_text_or_a_heading_without_one_is_text():
    page = (
        f"# 拜登与普京通话\n\n原文链接：{VOA}\n\n{FIRST}\n\n"
        f"德国之声的报道（原文链接：{DW}）说，{SECOND}\n\n"
        f"# 相关阅读\n\n{SECOND}\n\n"
        f"# 拜登与普京通话\n\n原文链接：{VOA.replace('https', 'http')}\n\n{FIRST}\n"
        f"```\n# {SECOND}\n原文链接：{DW}\n```\n"
    )
    item = one(page)
    assert item.url == VOA
    assert DW in item.text


def test_a_page_without_its_own_address_is_read():
    """Whose the later address is, when the first article has none, is not certain."""
    item = one(f"# 拜登与普京通话\n\n{FIRST}\n\n# 德国暂停北溪\n\n原文链接：{DW}\n\n{SECOND}\n")
    assert item.url is None and SECOND in item.text
