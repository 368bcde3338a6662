"""Plain Markdown copies of articles (format ``markdown``): a heading, the lines saying where
the article is from, then its text, as archive repositories on GitHub keep them.

One fixture per variant (tests/fixtures/parsers/markdown_*.md); the metadata lines must
leave the text, and a README or an index under a heading is no article.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.models import NotAnArticle, ParseError
from monitor.parsers import detect, markdown_page, parse

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "parsers"
PAGE = "https://mirror.example.org/voa/2022/01/biden-putin.md"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def one(data: bytes | str, **kw):
    (item,) = parse(data.encode() if isinstance(data, str) else data, **kw)
    return item


def fields(item, *names: str) -> tuple:
    return tuple(getattr(item, n) for n in names)


# --- the variants ----------------------------------------------------------------------


def test_heading_labelled_lines_and_a_date_line_give_the_metadata_not_the_text():
    item = one(fixture("markdown_basic.md"), url=PAGE)
    assert item.format == "markdown"
    assert fields(item, "title", "url", "author", "published") == (
        "拜登与普京通话",
        "https://www.voachinese.com/a/biden-putin-call-20220103/6380123.html",
        "张三",
        "2022-01-03T15:30:00Z",
    )
    assert item.text.splitlines() == [
        "美国总统拜登周四与俄罗斯总统普京通话，讨论乌克兰边境局势。",
        "白宫表示，通话是“认真的、实质性的”。",
        "普京的外交事务助手乌沙科夫说，俄方对通话结果感到满意。",
    ]
    assert item.html.startswith("<p>美国总统<strong>拜登</strong>周四")
    for meta in ("原文链接", "voachinese", "张三", "2022"):
        assert meta not in item.html
    assert [(i.url, i.caption) for i in item.images] == [
        ("https://gdb.voanews.com/a/biden.jpg", None)
    ]
    assert item.summary.startswith("美国总统拜登") and item.lang == "zh-Hans"


def test_a_time_without_a_zone_is_read_in_the_sources_zone():
    assert one(fixture("markdown_basic.md"), zone="Asia/Shanghai").published == (
        "2022-01-03T07:30:00Z"  # 15:30 in Beijing
    )


def test_second_level_heading_and_list_items_with_ascii_colons():
    item = one(fixture("markdown_h2_list.md"), site="配置的站点")
    assert fields(item, "title", "url", "site", "author", "published") == (
        "北约外长举行视频会议",
        None,
        "美国之音",  # a 来源 that is no address names the outlet, before the configured one
        "李四",
        "2022-01-07T10:00:00Z",
    )
    # The list in the text stays: only the metadata items go.
    assert item.text.splitlines()[-2:] == ["会议持续约两小时", "下周将在日内瓦举行美俄会谈"]
    assert item.html.endswith(
        "<ul><li>会议持续约两小时</li><li>下周将在日内瓦举行美俄会谈</li></ul>"
    )


def test_setext_heading_and_blockquote_lines_in_traditional_chinese():
    item = one(fixture("markdown_setext_quote.md"), url=PAGE)
    assert fields(item, "title", "url", "author", "published", "lang") == (
        "歐盟外長討論對俄制裁",
        "https://www.rfi.fr/tw/國際/20220114-歐盟外長討論對俄制裁",  # <…> around it
        "王五",  # the line's hard break (two trailing spaces) is no part of the name
        "2022-01-14T15:20:00Z",  # 下午3:20:00
        "zh-Hant",
    )
    assert "<blockquote>" not in item.html and "王五" not in item.text
    # An archive keeps its images beside the page: relative to the page, not the article.
    assert [i.url for i in item.images] == ["https://mirror.example.org/voa/2022/01/pic/brest.jpg"]


def test_a_title_that_is_a_link_gives_the_address_and_bold_labels_are_read():
    item = one(fixture("markdown_linked_title.md"), url=PAGE)
    assert fields(item, "title", "url", "site", "author", "published") == (
        "布林肯与拉夫罗夫在日内瓦会面",
        "https://www.bbc.com/zhongwen/simp/world-60078235",
        "BBC 中文",  # **来源**：
        "赵六",  # **作者：**
        "2022-01-21T10:30:00Z",  # **日期**：, its +08:00 in UTC
    )
    assert item.text.splitlines()[-1] == "相关报道"
    assert 'href="https://mirror.example.org/voa/2022/world-60050000.md"' in item.html


def test_a_setext_title_over_dashes_with_an_html_body():
    """As archive bots post a saved page: ``title``, ``------``, the page's HTML."""
    item = one(fixture("markdown_setext_html.md"))
    assert (item.title, item.url, item.published) == ("德国暂停北溪二号认证程序", None, None)
    assert item.text.splitlines()[:2] == [
        "德国联邦网络局周二宣布暂停对北溪二号天然气管道的认证程序。",
        "该机构表示，运营公司必须先依据德国法律成立子公司。",
    ]
    assert [(i.url, i.caption) for i in item.images] == [
        ("https://example.org/img/ns2.jpg", "北溪二号管道")
    ]


def test_the_original_link_as_the_last_line_gives_the_address():
    """Tools that save a page append ``原文链接：[title](url)``, often under a rule."""
    item = one(fixture("markdown_footer.md"))
    assert fields(item, "url", "published") == (
        "https://www.voachinese.com/a/us-military-aid-ukraine-20220123/6408888.html",
        "2022-01-23",
    )
    assert item.text.splitlines()[-1] == "美国驻乌克兰大使馆在社交媒体上发布了物资运抵的照片。"
    assert "原文链接" not in item.html and "<hr>" not in item.html


def test_a_wechat_archive_page_ends_with_the_address_twice():
    """Archives of WeChat articles close with ``原文地址：…`` and ``[阅读原文](…)``: the
    second stayed in the text, and a page with only the link had no address to be keyed
    by, so the copy never met the article polled from its feed."""
    item = one(fixture("markdown_wechat.md"))
    assert fields(item, "title", "url", "site", "author", "published") == (
        "武汉一线医生：我们需要更多防护物资",
        "https://mp.weixin.qq.com/s/AbCdEf123456",
        "某某观察",  # the account, not 微信公众号「某某观察」
        "张三",
        "2022-01-03",
    )
    assert item.text.splitlines()[-1] == (
        "这位医生表示，目前医院每天接诊的发热病人超过五百人，但只有不到一百套防护服。"
    )
    assert "原文" not in item.html and "<hr>" not in item.html
    footer = "原文地址：https://mp.weixin.qq.com/s/AbCdEf123456\n\n"
    only_link = fixture("markdown_wechat.md").decode().replace(footer, "")
    assert one(only_link).url == "https://mp.weixin.qq.com/s/AbCdEf123456"


@pytest.mark.parametrize(
    "line",
    [
        "[阅读原文](https://mp.weixin.qq.com/s/AbCdEf123456)",
        "**[点击阅读原文](https://mp.weixin.qq.com/s/AbCdEf123456)**",
        "> [原文链接](https://mp.weixin.qq.com/s/AbCdEf123456)",
    ],
    ids=["read-the-original", "bold-click", "quoted-label-as-text"],
)
def test_a_link_to_the_original_on_a_line_of_its_own_gives_the_address(line: str):
    for doc in (f"# 标题\n\n{line}\n\n正文。\n", f"# 标题\n\n正文。\n\n{line}\n"):
        item = one(doc)
        assert (item.url, item.text) == ("https://mp.weixin.qq.com/s/AbCdEf123456", "正文。")
    # Another link on a line of its own is the article's.
    item = one("# 标题\n\n正文第一段。\n\n[相关报道](https://mp.weixin.qq.com/s/Other)\n")
    assert (item.url, item.text) == (None, "正文第一段。\n相关报道")


def test_quoted_metadata_lines_with_empty_quote_lines_between_leave_no_trace():
    """Archives write ``>`` between the quoted lines (one paragraph each): the empty quote
    and the rule under it were left at the top of the stored HTML."""
    doc = (
        "# 标题\n\n> 原文链接：https://mp.weixin.qq.com/s/AbCdEf123456\n>\n> 作者：张三\n> \n"
        "> 来源：微信公众号「某某观察」\n\n---\n\n正文第一段。\n\n---\n\n"
        "> 原文链接：https://mp.weixin.qq.com/s/AbCdEf123456\n>\n"
    )
    item = one(doc)
    assert fields(item, "url", "author", "site") == (
        "https://mp.weixin.qq.com/s/AbCdEf123456",
        "张三",
        "某某观察",  # the account, not 微信公众号「某某观察」
    )
    assert (item.text, item.html) == ("正文第一段。", "<p>正文第一段。</p>")


def test_a_long_article_keeps_a_closing_original_link_out_of_its_text():
    body = "\n\n".join(
        f"第{i}段。" + "美国总统拜登周四与俄罗斯总统普京通话。" * 3 for i in range(12)
    )
    doc = f"# 标题\n\n{body}\n\n---\n\n> 原文链接：<https://www.dw.com/zh/a-60300000>\n"
    item = one(doc)
    assert item.url == "https://www.dw.com/zh/a-60300000"
    assert item.text.splitlines()[-1].startswith("第11段。") and "<hr>" not in item.html


def test_without_an_outlet_in_the_page_the_configured_site_is_the_outlet():
    assert one(fixture("markdown_no_url.md"), site="美国之音").site == "美国之音"
    item = one(fixture("markdown_no_url.md"))
    assert fields(item, "title", "url", "site", "author", "published") == (
        "俄罗斯继续在边境集结军队",
        None,
        None,
        None,
        None,
    )
    assert item.text.startswith("俄罗斯军队继续向乌克兰边境集结")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            "发布时间：2022-01-03 10:00:00 来源：新华社 作者：张三",
            ("新华社", "张三", "2022-01-03T10:00:00Z"),
        ),
        ("Source: Reuters, Date: 2022-01-03", ("Reuters", None, "2022-01-03")),
        (
            "By: John Smith | Published: Mon, 03 Jan 2022 10:00:00 GMT",
            (None, "John Smith", "2022-01-03T10:00:00Z"),
        ),
        (
            "記者：陳七\n來源：中央社\n發佈時間：2022年1月3日 下午3点",
            ("中央社", "陳七", "2022-01-03T15:00:00Z"),
        ),
        ("*2022年1月3日*", (None, None, "2022-01-03")),
        ("- **时间**: 2022/1/3 12:00", (None, None, "2022-01-03T12:00:00Z")),
        ("> 发布时间：2022年1月3日 星期一", (None, None, "2022-01-03")),
        ("2022年1月3日 週一 15:30", (None, None, "2022-01-03T15:30:00Z")),
        (
            "作者：李四  \n发布日期：2022-01-03 (周一)  \n出处：公众号「深夜书房」",
            ("深夜书房", "李四", "2022-01-03"),
        ),
        ("By 张三\n\n发表日期：2022年1月3日", (None, "张三", "2022-01-03")),
        ("文 / 张三\n文章来源：明报", ("明报", "张三", None)),
        ("> **文｜王五**\n> 文章來源：中央社", ("中央社", "王五", None)),
        ("2022年01月03日 10:20\u3000来源：新华网", ("新华网", None, "2022-01-03T10:20:00Z")),
        ("2022-01-03 | 来源：人民网 作者：张三", ("人民网", "张三", "2022-01-03")),
        ("来源：人民网 2022-01-03 10:20", ("人民网", None, "2022-01-03T10:20:00Z")),
        ("作者：张三 | 2022年1月3日 星期一 | 来源：新华社", ("新华社", "张三", "2022-01-03")),
    ],
    ids=[
        "one-line",
        "ascii-separated",
        "english",
        "traditional",
        "italic-date",
        "bold-list",
        "weekday-quoted",
        "weekday-time",
        "wechat-labels",
        "by-without-colon",
        "wen-slash",
        "wen-bar-traditional",
        "date-then-source",
        "date-then-labels",
        "source-then-date",
        "author-date-source",
    ],
)
def test_metadata_lines_as_archives_write_them(head: str, expected: tuple):
    item = one(f"# 标题\n\n{head}\n\n正文第一段。\n")
    assert fields(item, "site", "author", "published") == expected
    assert item.text == "正文第一段。"


@pytest.mark.parametrize(
    "line",
    [
        "来源：微信公众号「某某观察」",
        "> 来源：公众号「某某观察」",
        "来源：微信公众号“某某观察”",
        "**来源**：微信公众号：某某观察",
        "source: 公众号: 某某观察",
        "文章来源：公众号 「某某观察」",
        "来源：[微信公众号「某某观察」](https://mp.weixin.qq.com/s/AbCdEf123456)",
        "来源：微信公众号" + " " * 5000 + "：某某观察",
        "来源：微信公众号『某某观察』",
        "> 来源：公众号【某某观察】",
        "出处：公众号：『某某观察』",
        "来源：[微信公众号【某某观察】](https://mp.weixin.qq.com/s/AbCdEf123456)",
    ],
    ids=[
        "corner",
        "quoted",
        "curly",
        "colon",
        "ascii",
        "space",
        "link",
        "long-space",
        "white-corner",
        "lenticular",
        "colon-white-corner",
        "lenticular-link",
    ],
)
def test_a_wechat_account_as_the_source_names_the_account_as_the_outlet(line: str):
    """The outlet is the account, as its feed names it: ``微信公众号「某某观察」`` was
    stored as the outlet's name, and a copy never shared an outlet with the feed."""
    for doc in (f"# 标题\n\n{line}\n\n正文。\n", f"# 标题\n\n正文。\n\n{line}\n"):
        assert (one(doc).site, one(doc).text) == ("某某观察", "正文。")
    assert one("# 標題\n\n出處：微信公眾號「某某觀察」\n\n正文。\n").site == "某某觀察"


@pytest.mark.parametrize(
    ("line", "site"),
    [("來源：微信公眾號『某某觀察』", "某某觀察"), ("出處：公眾號【某某觀察】", "某某觀察")],
    ids=["white-corner", "lenticular"],
)
def test_an_account_in_white_corner_or_lenticular_brackets_in_traditional_chinese(line, site):
    assert one(f"# 標題\n\n{line}\n\n正文。\n").site == site


WX = "https://mp.weixin.qq.com/s?__biz=MzI1NjA0MDg2Mw==&mid=2650721389&idx=1&sn=8b5a7b1d"


@pytest.mark.parametrize(
    "line",
    [
        f"原文地址：{WX.replace('&', '&amp;')}",
        f"原文链接：<{WX.replace('&', '&amp;')}>",
        f"[阅读原文]({WX.replace('&', '&amp;')})",
        f"来源：[某某观察]({WX.replace('&', '&amp;')})",
    ],
    ids=["bare", "angle", "read-original", "source-link"],
)
def test_an_address_copied_out_of_html_is_read_with_its_ampersands(line: str):
    """Archives copy WeChat's links out of the page's HTML, ``&amp;`` and all: Markdown
    reads it as ``&``, and the copy has the feed entry's address."""
    for doc in (f"# 标题\n\n{line}\n\n正文。\n", f"# 标题\n\n正文。\n\n{line}\n"):
        assert (one(doc).url, one(doc).text) == (WX, "正文。")
    # Only "&amp;": a parameter named like an entity stays as written.
    assert one("# 标题\n\n原文链接：https://e.example/a?x=1&copy=2&amp;y=3\n\n正文。\n").url == (
        "https://e.example/a?x=1&copy=2&y=3"
    )


@pytest.mark.parametrize(
    ("line", "site"),
    [
        ("来源：微信号 abc123", "微信号 abc123"),  # an account id, not a name
        ("来源：某某观察公众号", "某某观察公众号"),
        ("来源：微信公众号", "微信公众号"),
        ("来源：公众号「」", "公众号「」"),
        ("来源：公众号「" + "「" * 5000, None),  # too long for a name: the text's own line
        ("来源：公众号：" + "：" * 5000 + "某某观察", None),
        ("来源：公众号『』", "公众号『』"),
        ("来源：公众号【某某观察】等", "公众号【某某观察】等"),  # more than the account
        ("来源：公众号『某某观察」", "公众号『某某观察」"),  # brackets of two kinds
        ("来源：公众号『" + "『" * 5000, None),
        ("来源：公众号【" + "】" * 5000, None),
    ],
    ids=[
        "wechat-id",
        "name-first",
        "no-name",
        "empty-name",
        "long-brackets",
        "long-colons",
        "empty-white-corner",
        "more-after",
        "mixed-brackets",
        "long-white-corners",
        "long-lenticular",
    ],
)
def test_other_wechat_sources_are_kept_as_written(line: str, site: str | None):
    item = one(f"# 标题\n\n{line}\n\n正文。\n")
    assert (item.site, item.text) == (site, "正文。" if site else f"{line}\n正文。")


@pytest.mark.parametrize(
    ("head", "kept"),
    [
        # Not a name or an outlet: a sentence.
        (
            "来源：新华社北京1月3日电，国家主席今天表示。",
            "来源：新华社北京1月3日电，国家主席今天表示。",
        ),
        ("时间：下午三点", "时间：下午三点"),  # no date to read
        ("原文：请见下文", "原文：请见下文"),  # 原文 with no address
        ("原文链接：[本站](../a.md)", "原文链接：本站"),  # a link to the mirror's own copy
        ("By the way, this is a sentence", "By the way, this is a sentence"),  # no byline
    ],
    ids=["sentence", "unreadable-date", "no-address", "relative-link", "by-sentence"],
)
def test_a_labelled_line_whose_value_is_not_what_its_label_says_stays_in_the_text(
    head: str, kept: str
):
    item = one(f"# 标题\n\n{head}\n\n正文第一段。\n")
    assert (item.url, item.site, item.published) == (None, None, None)
    assert item.text.splitlines() == [kept, "正文第一段。"]


def test_metadata_is_read_near_the_title_only():
    lead = (
        "俄罗斯总统普京周四表示，"
        + "俄方希望与美国就安全保障问题尽快达成协议，" * 4
        + "但美方尚未回应。"
    )
    doc = f"# 标题\n\n作者：张三\n\n{lead}\n\n2022年1月3日\n\n来源：新华社\n\n作者：李四\n"
    item = one(doc)
    assert (item.author, item.published, item.site) == ("张三", None, None)
    # After the first paragraph they are the article's own lines (and the last one, a
    # byline, is no link to the original).
    assert item.text.splitlines() == [lead, "2022年1月3日", "来源：新华社", "作者：李四"]
    # A second line of a kind taken already is text too.
    item = one("# 标题\n\n作者：张三\n作者：李四\n\n正文。\n")
    assert (item.author, item.text) == ("张三", "作者：李四\n正文。")


@pytest.mark.parametrize(
    "head",
    [
        "来源：https://www.voachinese.com/",  # the outlet's front page
        "原文链接：https://www.voachinese.com",
        "原文链接：ftp://example.org/a.txt",
    ],
    ids=["source-front-page", "front-page-without-slash", "ftp"],
)
def test_an_outlets_front_page_or_a_non_web_link_is_no_address_of_the_article(head: str):
    """Keyed by a front page, every article of the outlet would be one story."""
    item = one(f"# 标题\n\n{head}\n\n正文。\n")
    assert item.url is None
    assert item.text == ("正文。" if "://www" in head else f"{head}\n正文。")


@pytest.mark.parametrize(
    ("first", "title"),
    [
        ("# **[拜登与普京通话](https://www.voachinese.com/a/6380123.html)**", "拜登与普京通话"),
        ("# [**拜登与普京通话**](https://www.voachinese.com/a/6380123.html)", "拜登与普京通话"),
        ("## __[拜登与普京通话](https://www.voachinese.com/a/6380123.html)__ ##", "拜登与普京通话"),
        ("# ***[拜登与普京通话](https://www.voachinese.com/a/6380123.html)***", "拜登与普京通话"),
        (
            '<h1 align="center"><b><a href="https://www.voachinese.com/a/6380123.html">'
            "拜登与普京通话</a></b></h1>",
            "拜登与普京通话",
        ),
        ("# **[" + "拜登" * 2500 + "](https://www.voachinese.com/a/6380123.html)**", "拜登" * 2500),
    ],
    ids=["bold-around-link", "bold-inside-link", "underscores", "bold-italic", "html", "long"],
)
def test_a_title_link_in_bold_or_italics_gives_the_address(first: str, title: str):
    item = one(f"{first}\n\n正文。\n")
    assert (item.title, item.url) == (title, "https://www.voachinese.com/a/6380123.html")
    # Bold around a link and more text is no link to the article.
    item = one("# **[拜登](https://www.voachinese.com/a/6380123.html)与普京通话**\n\n正文。\n")
    assert (item.title, item.url) == ("拜登与普京通话", None)


def test_a_relative_link_as_the_title_is_no_address_of_the_article():
    item = one("# [标题](2022/01/a.html)\n\n正文。\n", url=PAGE)
    assert (item.title, item.url) == ("标题", None)


def test_markdown_and_references_in_the_title_are_read_as_text():
    item = one("## **拜登**与普京 &amp; 北约 `通话` ##\n\n正文。\n")
    assert item.title == "拜登与普京 & 北约 通话"
    assert one("# 学 C#\n\n正文。\n").title == "学 C#"  # a "#" that closes nothing


VOA = "https://www.voachinese.com/a/6380123.html"


@pytest.mark.parametrize(
    ("first", "title", "url"),
    [
        ('<h1 align="center">拜登与普京通话</h1>', "拜登与普京通话", None),
        ("<h2 id='title' class=\"t\">拜登与普京 &amp; 北约</h2>", "拜登与普京 & 北约", None),
        (f'<H1 align="center"><a href="{VOA}">拜登与普京通话</a></H1>', "拜登与普京通话", VOA),
        (f'  <h1><a href="{VOA}"><b>拜登与普京通话</b></a> </h1>  ', "拜登与普京通话", VOA),
        (f"<h1{' ' * 5000}>拜登与普京通话</h1>", "拜登与普京通话", None),
    ],
    ids=["centered", "h2-attributes", "link-inside", "bold-link-indented", "long-tag"],
)
def test_an_html_heading_first_is_the_title(first: str, title: str, url: str | None):
    """READMEs turned into articles center their title with an HTML heading."""
    doc = f"{first}\n\n作者：张三\n\n正文第一段。\n"
    assert detect(doc.encode()) == "markdown"
    item = one(doc)
    assert fields(item, "title", "url", "author", "text") == (title, url, "张三", "正文第一段。")
    assert "<h" not in item.html


@pytest.mark.parametrize(
    "first",
    [
        "<h1>标题</h2>",  # closed by another level
        "<h1></h1>",
        "<header>标题</header>",
        f"<h1>{'<' * 5000}</h1>",
        f"<h1>标题{'</h1' * 1250}",
    ],
    ids=["mismatched", "empty", "header-tag", "long-brackets", "long-unclosed"],
)
def test_html_that_is_no_one_line_heading_is_no_title(first: str):
    with pytest.raises(ParseError, match="unrecognised document format"):
        detect(f"{first}\n\n正文第一段。\n".encode())


WX_PAGE = "https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOpQrStUv"


def test_an_html_heading_over_several_lines_is_the_title():
    """Converters of WeChat articles write the heading's tags on lines of their own: the
    page was no format at all (``unrecognised document format``)."""
    doc = (
        '<h1 align="center">\n美国宣布新制裁措施\n</h1>\n\n来源：微信公众号「某某观察」\n\n'
        f"原文链接：{WX_PAGE}\n\n正文第一段，美国财政部周一宣布对多家实体实施制裁。\n\n正文第二段。\n"
    )
    assert detect(doc.encode()) == "markdown"
    item = one(doc)
    assert fields(item, "title", "url", "site") == ("美国宣布新制裁措施", WX_PAGE, "某某观察")
    assert item.text.splitlines() == [
        "正文第一段，美国财政部周一宣布对多家实体实施制裁。",
        "正文第二段。",
    ]
    assert item.html.startswith("<p>正文第一段") and "</h1>" not in item.html


@pytest.mark.parametrize(
    ("first", "title", "url"),
    [
        ("<h2 id='title' class=\"rich_media_title\">\n  美国宣布新制裁措施\n</h2>", None, None),
        ("<h1>\n<strong>美国宣布新制裁措施</strong>\n</h1>", None, None),
        ("<H1 ALIGN=center>\n  <b>美国宣布新制裁措施</b>\n</H1 >", None, None),
        (f'<h1 align="center">\n<a href="{WX_PAGE}">美国宣布新制裁措施</a>\n</h1>', None, WX_PAGE),
        (f'<h1>\n<b><a href="{WX_PAGE}">美国宣布新制裁措施</a></b>\n</h1>', None, WX_PAGE),
        (
            f'<h1>\n<a href="{WX_PAGE}">美国</a>宣布新制裁措施\n</h1>',
            None,
            None,
        ),  # more than a link
        ('<h1 align="center">美国宣布新制裁措施\n</h1>', None, None),  # title on the first line
        ("<h1>\n美国宣布新制裁措施</h1>", None, None),  # closed on the title's line
        ("<h1>\n美国宣布\n新制裁措施\n</h1>", "美国宣布 新制裁措施", None),  # a break: a space
        ("<h1>美国宣布\n新制裁措施</h1>", "美国宣布 新制裁措施", None),
        ("\n---\n\n<h1>\n美国宣布新制裁措施\n</h1>", None, None),  # a rule over it
        ("<h1>\n美国宣布新制裁措施\n\n\n\n</h1>", None, None),  # closed on the fifth line
    ],
    ids=[
        "h2-attributes",
        "strong",
        "upper-case-bold",
        "link",
        "bold-link",
        "link-and-text",
        "title-on-opening-line",
        "closed-on-title-line",
        "title-over-two-lines",
        "two-lines-no-blank",
        "rule-over-it",
        "fifth-line",
    ],
)
def test_an_html_heading_over_lines_reads_as_on_one_line(first: str, title, url):
    doc = f"{first}\n\n作者：张三\n\n正文第一段。\n"
    assert detect(doc.encode()) == "markdown"
    item = one(doc)
    assert fields(item, "title", "url", "author", "text") == (
        title or "美国宣布新制裁措施",
        url,
        "张三",
        "正文第一段。",
    )
    assert "<h" not in item.html
    # As the same heading written on one line reads: its line breaks are spaces, as HTML
    # renders them, and the one-line reader reads each whitespace run as one space.
    on_one_line = " ".join(first.lstrip("\n-").split("\n"))
    assert fields(one(f"{on_one_line}\n\n作者：张三\n\n正文第一段。\n"), "title", "url") == (
        item.title,
        item.url,
    )


@pytest.mark.parametrize(
    "first",
    [
        "<h1>\n美国宣布新制裁措施",  # never closed
        "<h1>\n美国宣布新制裁措施\n\n正文第一段。\n\n正文第二段。\n\n正文第三段。",
        "<h1>\n第一行\n第二行\n第三行\n第四行\n第五行\n</h1>",  # closed on the sixth line
        "<h1>\n美国宣布新制裁措施\n\n\n\n\n</h1>",
        "<h1>\n美国宣布新制裁措施\n</h1>正文第一段。",  # prose after it, on its line
        "<h1>\n美国宣布新制裁措施</h1>正文第一段。",
        "<h1>美国宣布新制裁措施</h1>正文第一段。",  # as on one line
        "<h1>\n美国宣布新制裁措施\n</h2>",  # closed by another level
        "<h2>\n美国宣布新制裁措施\n</h1>\n</h2>",
        "<h1>\n\n</h1>",  # no title
        "<h1></h1>\n美国宣布新制裁措施\n</h1>",  # closed on its first line
        '<div align="center">\n<h1>美国宣布新制裁措施</h1>\n</div>',  # the first block a div
        '<div align="center">\n<h1>\n美国宣布新制裁措施\n</h1>\n</div>',
        "<h1\nalign='center'>\n美国宣布新制裁措施\n</h1>",  # the opening tag over lines
        "<header>\n美国宣布新制裁措施\n</header>",
    ],
    ids=[
        "never-closed",
        "never-closed-prose",
        "sixth-line",
        "sixth-line-blank",
        "prose-after-close",
        "prose-after-close-on-title-line",
        "one-line-prose-after-close",
        "mismatched",
        "mismatched-then-closed",
        "empty",
        "closed-on-first-line",
        "div",
        "div-multi-line",
        "opening-tag-over-lines",
        "header-tag",
    ],
)
def test_html_over_lines_that_is_no_heading_is_no_title(first: str):
    doc = f"{first}\n\n正文第一段。\n"
    with pytest.raises(ParseError, match="unrecognised document format"):
        detect(doc.encode())
    with pytest.raises(ParseError, match="without a heading first"):
        markdown_page.parse(doc)


def test_an_html_heading_over_lines_with_only_tags_inside_is_refused_as_on_one_line():
    for first in ("<h1><b> </b></h1>", "<h1>\n<b> </b>\n</h1>"):
        doc = f"{first}\n\n正文第一段。\n".encode()
        assert detect(doc) == "markdown"
        with pytest.raises(NotAnArticle, match="without a title"):
            parse(doc)


@pytest.mark.parametrize(
    ("doc", "fmt"),
    [
        ("---\ntitle: 标题\n---\n\n<h1>\n小标题\n</h1>\n\n正文。\n", "hexo"),
        ("<!-- 1643384702000 -->\n[标题](https://e.com/a/1.html)\n---\n<h1>\n标题\n</h1>\n", None),
        ("### 标题\n\n---\n\n#### [首页](../../..?n13480001)\n\n<h1>\n标题\n</h1>\n", None),
        ("<!DOCTYPE html>\n<h1>\n标题\n</h1>\n<p>正文。</p>\n", "html-page"),
        ("<html>\n<h1>\n标题\n</h1>\n<p>正文。</p>\n</html>\n", "html-page"),
    ],
    ids=["hexo", "feed-archive", "epoch-mirror", "html-doctype", "html-root"],
)
def test_an_html_heading_over_lines_takes_no_other_formats_document(doc: str, fmt: str | None):
    expected = fmt or ("feed-archive" if doc.startswith("<!--") else "epoch-mirror")
    assert detect(doc.encode()) == expected


@pytest.mark.parametrize(
    "doc",
    [
        "<h1" * 100_000 + "\n\n正文。\n",  # no ">"
        "<h1 " * 100_000 + "\n\n正文。\n",
        "<h1>\n" * 50_000 + "正文。\n",  # openings never closed
        '<h1 align="center">\n' * 50_000 + "</h1>\n正文。\n",
        "<h1>\n" + ("标题</h1" * 20_000 + "\n") * 5 + "</h1>\n正文。\n",  # closings without ">"
        "<h1>\n标题\n</h1 " + " " * 100_000 + "x\n\n正文。\n",
        "\n---\n" * 25_000 + "<h1>\n" * 25_000 + "正文。\n",
    ],
    ids=["brackets", "spaces", "openings", "closed-late", "closings", "long-close", "rules"],
)
def test_hostile_html_headings_are_refused_at_once(doc: str):
    """Each line is read a bounded number of times (an HTML heading is looked for on the
    first few lines, its closing tag once a line): a reader that looked for the closing tag
    from each opening, or backtracked over a line for each "<h1", took minutes on these."""
    with pytest.raises(ParseError, match="unrecognised document format"):
        detect(doc.encode())
    with pytest.raises(ParseError, match="without a heading first"):
        markdown_page.parse(doc)


# --- not articles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (fixture("markdown_index.md"), "'目录' is mostly links"),
        (fixture("markdown_heading_only.md"), "'美俄战略稳定对话' has no article text"),
        (
            "# 目录\n\n- [文章一](a.md)\n- [文章二](b.md)\n".encode(),
            "'目录' has no text outside lists, tables, links and headings",
        ),
        (
            "# 数据\n\n## 2022年\n\n| 月 | 篇 |\n|---|---|\n| 1 | 30 |\n\n- 说明一\n".encode(),
            "has no text outside lists, tables, links and headings",
        ),
        ("# ![](cover.jpg)\n\n正文。\n".encode(), "Markdown page without a title"),
    ],
    ids=["index", "heading-only", "list-of-links", "tables-and-lists", "image-title"],
)
def test_a_markdown_page_that_is_no_article_is_refused_with_its_reason(data: bytes, reason: str):
    assert detect(data) == "markdown"
    with pytest.raises(NotAnArticle, match=reason.replace("(", r"\(")):
        parse(data)


README_PROSE = (
    "# 被删除的微信文章存档\n\n本项目用于存档被删除的微信公众号文章，每天由 GitHub Actions "
    "自动抓取更新。所有文章版权归原作者所有，如有侵权请联系删除。\n\n"
)


@pytest.mark.parametrize(
    "shows",
    [
        "## 使用方法\n\n```bash\ngit clone https://github.com/example/archive.git\n"
        "pip install -r requirements.txt\n```\n",
        "```\n$ docker run -d example/archive\n```\n",
        "[![build](https://github.com/x/y/actions/workflows/main.yml/badge.svg)](https://github.com/x/y)\n",
        "![license](https://img.shields.io/badge/license-MIT-blue.svg)\n",
    ],
    ids=["install-block", "docker-prompt", "actions-badge", "shields-badge"],
)
def test_a_readme_written_as_prose_is_refused_by_its_badges_or_install_commands(shows: str):
    """A checkout's README was stored as a story (and matched watches: it names what the
    archive keeps)."""
    data = (README_PROSE + shows).encode()
    assert detect(data) == "markdown"
    with pytest.raises(NotAnArticle, match="is a README"):
        parse(data)


@pytest.mark.parametrize(
    "block",
    [
        "```\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n```\n",
        "```\nserver: 1.2.3.4\nport: 443\n```\n",
        "他说，只要在终端输入 `pip install` 就能装上。\n",
        "![徽章](https://example.org/images/police-badge.jpg)\n",
    ],
    ids=["poem", "config", "inline-command", "badge-photo"],
)
def test_an_article_with_a_code_block_or_a_badge_photo_is_no_readme(block: str):
    item = one(f"# 标题\n\n作者：张三\n\n正文第一段，记者了解到的情况如下。\n\n{block}")
    assert item.author == "张三"


# --- detection ----------------------------------------------------------------------------


def test_a_document_opening_with_a_titled_heading_is_markdown():
    expected = {
        "# 标题\n\n正文。\n": "markdown",
        "## 标题\n正文。\n": "markdown",
        "###### 标题 ######\n\n正文。\n": "markdown",
        "\n\n   # 标题\n\n正文。\n": "markdown",  # blank lines, up to three spaces
        "\ufeff# 标题\n\n正文。\n": "markdown",
        "标题\n===\n\n正文。\n": "markdown",
        "标题\n------\n正文。\n": "markdown",
        "# [标题](https://example.org/a/1.html)\n\n正文。\n": "markdown",
        # No heading: a hashtag, an empty heading, no title, a list item over a rule, a
        # heading that does not open the document.
        "#标题\n\n正文。\n": None,
        "# \n\n正文。\n": None,
        "# ？？\n\n正文。\n": None,
        "- 项目\n---\n\n正文。\n": None,
        "> 引用\n===\n": None,
        "正文。\n\n# 标题\n": None,
    }
    got = {}
    for doc in expected:
        try:
            got[doc] = detect(doc.encode())
        except ParseError:
            got[doc] = None
    assert got == expected


def test_markdown_takes_none_of_the_other_formats_documents():
    """Each of these opens like Markdown too; the same article as a plain Markdown page is
    the new format."""
    body = "正文第一段。\n\n正文第二段。\n"
    pairs = [
        ("hexo", f"---\ntitle: 标题\n---\n\n# 小标题\n\n{body}", f"# 标题\n\n## 小标题\n\n{body}"),
        (
            "feed-archive",
            f"[标题](https://e.com/a/1.html)\n---\n\n{body}",
            f"# [标题](https://e.com/a/1.html)\n\n{body}",
        ),
        (
            "feed-archive",
            f"<!-- 1643384702000 -->\n[标题](https://e.com/a/1.html)\n\n---\n{body}",
            f"标题\n---\n\n原文链接：https://e.com/a/1.html\n\n{body}",
        ),
        ("epoch-mirror", (ROOT / "seeds" / "000_ebf68263cc861490.txt").read_text(), None),
        ("epoch-mirror", f"### 标题\n\n---\n\n#### [首页](../../..?n13480001)\n\n{body}", None),
    ]
    for fmt, theirs, ours in pairs:
        assert detect(theirs.encode()) == fmt
        if ours is not None:
            assert detect(ours.encode()) == "markdown"
            item = one(ours)
            assert (item.title, item.url) == (
                "标题",
                "https://e.com/a/1.html" if "e.com" in ours else None,
            )
            assert item.text.endswith("正文第一段。\n正文第二段。")


def test_a_rule_under_the_metadata_does_not_make_an_epoch_mirror_page():
    """The mirror's shell has a rule right under its ``### title``; an archive may put one
    under the lines saying where the article is from."""
    doc = (
        "# 拜登与普京通话\n\n原文链接：https://www.voachinese.com/a/6380123.html\n作者：张三\n\n"
        "---\n\n美国总统拜登周四与俄罗斯总统普京通话。\n"
    )
    assert detect(doc.encode()) == "markdown"
    item = one(doc)
    assert (item.url, item.author, item.site) == (
        "https://www.voachinese.com/a/6380123.html",
        "张三",
        None,
    )
    assert item.text == "美国总统拜登周四与俄罗斯总统普京通话。" and "<hr>" not in item.html


@pytest.mark.parametrize(
    "doc",
    [
        "# 拜登与普京通话\n\n---\n\n美国总统拜登周四与俄罗斯总统普京通话。\n",
        "### 拜登与普京通话\n---\n美国总统拜登周四与俄罗斯总统普京通话。\n",
        "## 拜登与普京通话\n\n---\n\n> 来源：美国之音\n> 2022年1月3日\n\n"
        "美国总统拜登周四与俄罗斯总统普京通话。\n",
    ],
    ids=["rule-under-title", "h3-tight", "metadata-under-the-rule"],
)
def test_a_rule_right_under_the_title_does_not_make_an_epoch_mirror_page(doc: str):
    """The mirror's shell is a title, a rule and a nav line whose links carry the article
    id (or the article's div): a plain article with a rule under its title was read as
    one, its outlet 大纪元, its Markdown left raw."""
    assert detect(doc.encode()) == "markdown"
    item = one(doc)
    assert (item.title, item.site) == (
        "拜登与普京通话",
        "美国之音" if "来源" in doc else None,
    )
    assert item.text == "美国总统拜登周四与俄罗斯总统普京通话。"
    assert "<hr>" not in item.html and "&gt;" not in item.html


LEAD = "美国总统拜登周四与俄罗斯总统普京通话。"


@pytest.mark.parametrize(
    "doc",
    [
        f"---\n\n# 拜登与普京通话\n\n{LEAD}\n",
        f"---\n\n# 拜登与普京通话\n\n{LEAD}\n\n---\n\n白宫表示，通话是认真的。\n",
        f"\n***\n\n拜登与普京通话\n======\n\n{LEAD}\n\n---\n\n白宫表示，通话是认真的。\n",
        f"{'- ' * 2500}\n\n# 拜登与普京通话\n\n{LEAD}\n",
    ],
    ids=["rule-over-title", "rule-over-title-and-in-text", "stars-over-setext", "long-rule"],
)
def test_a_rule_over_the_title_is_no_front_matter(doc: str):
    """An archive may open a page with a thematic break over its title: with another rule
    further down, the two were taken for a Hexo header and the page was refused as a post
    without a title; with none, it was no format at all."""
    assert detect(doc.encode()) == "markdown"
    item = one(doc)
    assert (item.title, item.text.splitlines()[0]) == ("拜登与普京通话", LEAD)
    assert item.html.startswith(f"<p>{LEAD}</p>")


@pytest.mark.parametrize(
    ("doc", "fmt"),
    [
        # Front matter under blank lines, and a key as its first line, is still a post.
        ("\n---\n\ntitle: 标题\n---\n\n# 小标题\n\n正文。\n", "hexo"),
        ("---\nlayout: post\n---\n[标题](https://e.com/a/1.html)\n---\n\n正文。\n", "feed-archive"),
        # YAML comments before the first key are still a header.
        ("---\n# 由脚本生成\n\ntitle: 标题\n---\n\n正文。\n", "hexo"),
        ("---\r\n# 由脚本生成\r\n\r\ntitle: 标题\r\n---\r\n\r\n正文。\r\n", "hexo"),
        # A heading and text between two rules: no key, so no header.
        ("---\n# 拜登与普京通话\n\n正文。\n\n---\n\n更多正文。\n", "markdown"),
        # No key first: no header, and then no heading either (read at once, however long).
        (f"---\ntitle{'-' * 5000}\n\n---\n\n# 标题\n\n正文。\n", None),
        (f"---\n{'#' * 5000}\n{chr(10) * 5000}---\n\n正文。\n", None),
    ],
    ids=[
        "hexo",
        "jekyll-archive",
        "yaml-comment",
        "yaml-comment-crlf",
        "heading-between-rules",
        "long-non-key",
        "long-comment",
    ],  # fmt: skip
)
def test_front_matter_is_a_fenced_header_opening_with_a_key(doc: str, fmt: str | None):
    if fmt is None:
        with pytest.raises(ParseError, match="unrecognised document format"):
            detect(doc.encode())
    else:
        assert detect(doc.encode()) == fmt


# --- through the CLI ----------------------------------------------------------------------


def test_a_wechat_archive_copy_and_the_feeds_entry_are_one_story_with_two_sightings(tmp_path):
    """The copy names its original only in its ``[阅读原文](…)`` footer."""
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>某某观察</title>'
        "<link>https://mp.weixin.qq.com/</link><item><title>武汉一线医生：我们需要更多防护物资</title>"
        "<link>https://mp.weixin.qq.com/s/AbCdEf123456</link>"
        "<pubDate>Mon, 03 Jan 2022 10:20:00 GMT</pubDate><description>医院的防护物资已经严重短缺。"
        "</description></item></channel></rss>",
        encoding="utf-8",
    )
    copy = tmp_path / "2022-01-03-wuhan.md"
    footer = "原文地址：https://mp.weixin.qq.com/s/AbCdEf123456\n\n"
    copy.write_text(fixture("markdown_wechat.md").decode().replace(footer, ""), encoding="utf-8")
    db = str(tmp_path / "m.db")
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "import", str(feed)]).exit_code == 0
    r = runner.invoke(main, ["--db", db, "import", str(copy)])
    assert "1 file: 0 new stories, 1 merged" in r.output, r.output

    shown = runner.invoke(main, ["--db", db, "show", "https://mp.weixin.qq.com/s/AbCdEf123456"])
    assert shown.exit_code == 0, shown.output
    assert [ln.split()[1] for ln in shown.output.split("Sightings\n")[1].splitlines()[1:]] == [
        "rss",
        "markdown",
    ]


def test_import_stores_markdown_pages_by_their_keys_and_names_the_others_not_articles(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    for name in ("markdown_basic.md", "markdown_h2_list.md", "markdown_no_url.md",
                 "markdown_index.md", "markdown_heading_only.md"):  # fmt: skip
        (folder / name).write_bytes(fixture(name))
    (folder / "README.md").write_text(
        "# 美国之音存档\n\n- [2022年1月](2022/01/README.md)\n- [2022年2月](2022/02/README.md)\n",
        encoding="utf-8",
    )
    db = tmp_path / "m.db"
    runner = CliRunner()

    r = runner.invoke(main, ["--db", str(db), "import", str(folder)])

    assert r.exit_code == 0, r.output  # pages that are no articles are no failures
    summary = "3 new stories, 0 merged, 0 already stored, 0 rejected; 3 not articles"
    assert f"6 files: {summary}" in r.output
    for name in ("README.md", "markdown_index.md", "markdown_heading_only.md"):
        assert f"not an article {folder / name}: Markdown page " in " ".join(r.output.split())
    rows = (
        sqlite3.connect(db)
        .execute("SELECT story_key, title, site, url, format FROM items ORDER BY id")
        .fetchall()
    )
    # No address and no outlet: the title and a digest of the text (see canonical.py).
    rows = [(re.sub("#[0-9a-f]{12}$", "#", r[0]), *r[1:]) for r in rows]
    assert rows == [
        (
            "voa:6380123",  # the site rule's id in the 原文链接 address
            "拜登与普京通话",
            "美国之音",  # the address's outlet
            "https://www.voachinese.com/a/biden-putin-call-20220103/6380123.html",
            "markdown",
        ),
        (
            "title:美国之音:北约外长举行视频会议",
            "北约外长举行视频会议",
            "美国之音",
            None,
            "markdown",
        ),
        ("title::俄罗斯继续在边境集结军队#", "俄罗斯继续在边境集结军队", None, None, "markdown"),
    ]

    shown = runner.invoke(main, ["--db", str(db), "show", "title:美国之音:北约外长举行视频会议"])
    assert shown.exit_code == 0, shown.output
    assert "北约外长举行视频会议" in shown.output and "李四" in shown.output

    again = runner.invoke(main, ["--db", str(db), "import", str(folder)])
    summary = "0 new stories, 0 merged, 3 already stored, 0 rejected; 3 not articles"
    assert f"6 files: {summary}" in again.output


def test_two_articles_with_one_title_and_no_address_or_outlet_stay_two_stories(tmp_path):
    """Archives of WeChat accounts are full of "声明": the second used to be merged into the
    first by its title alone, and its text was gone."""
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "a.md").write_text("# 声明\n\n本公司从未发布上述消息，请读者注意甄别。\n", "utf-8")
    (folder / "b.md").write_text("# 声明\n\n本刊编辑部郑重声明：以下内容与本刊无关。\n", "utf-8")
    db = tmp_path / "m.db"
    done = CliRunner().invoke(main, ["--db", str(db), "import", str(folder)])
    assert "2 files: 2 new stories, 0 merged" in done.output, done.output
    texts = {r[0] for r in sqlite3.connect(db).execute("SELECT text FROM items")}
    assert texts == {
        "本公司从未发布上述消息，请读者注意甄别。",
        "本刊编辑部郑重声明：以下内容与本刊无关。",
    }


@pytest.mark.parametrize(
    "lines",
    [
        "原文链接：https://www.voachinese.com/a/6376012.html<br>\n来源：<b>美国之音</b>",
        "原文链接：https://www.voachinese.com/a/6376012.html<br/>\n"
        "来源：<span class=s>美国之音</span>",
        '**原文链接**：<a href="https://www.voachinese.com/a/6376012.html">'
        "https://www.voachinese.com/a/6376012.html</a>\n<strong>来源：</strong>美国之音",
    ],
    ids=["br-and-bold", "self-closing-and-span", "anchor-and-strong"],
)
def test_inline_html_in_a_where_from_line_is_read_past(lines: str):
    """``…6376012.html<br>`` gave the address with the tag in it, and ``<b>美国之音</b>``
    the outlet's name with its tags."""
    item = one(f"# 拜登与普京通话\n\n{lines}\n\n美国总统拜登周四与俄罗斯总统普京通话。\n")
    assert item.url == "https://www.voachinese.com/a/6376012.html"
    assert (item.site, item.text) == ("美国之音", "美国总统拜登周四与俄罗斯总统普京通话。")


def test_a_line_of_unclosed_tags_is_read_at_once():
    """Counted, not timed: the tag pattern stops at the next "<"."""
    item = one("# 标题\n\n来源：" + "<a " * 100_000 + "\n\n正文第一段，美国宣布制裁。\n")
    assert item.title == "标题" and item.text.endswith("正文第一段，美国宣布制裁。")
