"""A Markdown page holding two articles, each under a heading of the title's level with an
address of its own, is refused: read as one, the first article's key got the second's text
and the second's address was recorded nowhere. Sections and quoted addresses are text."""

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


@pytest.mark.parametrize(
    "second",
    [
        f"# 德国暂停北溪二号认证\n\n原文链接：{DW}\n\n{SECOND}\n",
        f"# 德国暂停北溪二号认证\n\n- 来源：{DW}\n- 作者：李四\n\n{SECOND}\n",
        f"# [德国暂停北溪二号认证]({DW})\n\n{SECOND}\n",
    ],
    ids=["label", "source-list", "title-link"],
)
def test_two_articles_with_their_own_addresses_are_refused(second):
    page = f"# 拜登与普京通话\n\n原文链接：{VOA}\n\n{FIRST}\n\n{second}"
    with pytest.raises(NotAnArticle, match="holds two articles") as caught:
        parse(page.encode())
    assert VOA in str(caught.value) and DW in str(caught.value)
    assert "德国暂停北溪二号认证" in str(caught.value)


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
