"""Hexo posts whose body, not the front matter, names the original article.

Archive repositories copy a blocked outlet's article into a Hexo post and write where it
is from as the body's first or last lines, as plain Markdown pages do: the address keys
the story (so the copy meets the outlet's own feed entry), and the line leaves the text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.parsers import detect, hexo, markdown_page, parse

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ARTICLE = "https://www.voachinese.com/a/6376012.html"
MIRROR = "https://mirror.example/posts/2022/01/6376012.html"
TEXT = "美国总统拜登周四与俄罗斯总统普京通话。\n白宫表示，通话是认真的。"
BODY = "美国总统拜登周四与俄罗斯总统普京通话。\n\n白宫表示，通话是认真的。"


def post(body: str, *, head: str = "") -> bytes:
    return (
        f"---\ntitle: '拜登与普京通话'\n{head}date: 2022-01-03 10:20:00\n---\n\n{body}\n".encode()
    )


def one(data: bytes, **kw):
    assert detect(data) == "hexo"
    (item,) = parse(data, **kw)
    return item


@pytest.mark.parametrize(
    "body",
    [
        f"原文链接：{ARTICLE}\n\n{BODY}",
        f"原文链接：[拜登与普京通话]({ARTICLE})\n\n{BODY}",
        f"> 原文地址：{ARTICLE}\n\n{BODY}",
        f"**原文链接**: <{ARTICLE}>\n\n---\n\n{BODY}",
        f"[阅读原文]({ARTICLE})\n\n{BODY}",
        f"{BODY}\n\n原文链接：{ARTICLE}",
        f"{BODY}\n\n---\n\n[阅读原文]({ARTICLE})\n",
        f"{BODY}\n\n[原文链接]({ARTICLE})",
        f"{BODY}\n\n原文地址：{ARTICLE}\n\n[阅读原文]({ARTICLE})",
    ],
    ids=[
        "opening-bare",
        "opening-link",
        "opening-quote",
        "opening-bold-then-rule",
        "opening-read-original",
        "end-bare",
        "end-rule-then-read-original",
        "end-label-link",
        "end-twice",
    ],
)
def test_an_original_link_opening_or_ending_the_body_is_the_address(body: str):
    item = one(post(body), url=MIRROR)
    assert (item.title, item.url, item.text) == ("拜登与普京通话", ARTICLE, TEXT)
    assert "voachinese" not in item.html and "<hr>" not in item.html
    assert item.alt_urls == []  # the front matter names no address to keep as another


def test_a_bridges_html_body_ending_with_the_address_keeps_its_text():
    """The seed as the bridge wrote it, then the line an archive adds: only the address
    differs from the seed's own reading."""
    seed = next(SEEDS.glob("003_*.txt")).read_bytes()
    article = "https://www.guancha.cn/internation/2021_12_08_617001.shtml"
    (plain,) = parse(seed)
    item = one(seed + f"\n原文链接：{article}\n".encode())
    assert (plain.url, item.url) == (None, article)
    assert item.to_dict() | {"url": None} == plain.to_dict()


@pytest.mark.parametrize(
    "line",
    [
        "原文链接：https://www.voachinese.com/",  # the outlet's front page: every article's
        "原文链接：[拜登与普京通话](/a/6376012.html)",  # the mirror's own copy
        "原文链接：javascript:alert(1)",
        "原文链接：见美国之音网站。",
    ],
    ids=["front-page", "relative", "not-web", "no-link"],
)
def test_a_line_without_an_article_address_gives_none_and_stays(line: str):
    item = one(post(f"{line}\n\n{BODY}"))
    assert item.url is None
    assert item.text.split("\n")[0] == line.replace(
        "[拜登与普京通话](/a/6376012.html)", "拜登与普京通话"
    )


def test_the_body_names_the_original_only_at_its_ends():
    """Further in, ``原文链接：`` is the article's own sentence or a quoted source."""
    long = "美国总统拜登周四与俄罗斯总统普京通话，" * 5 + "双方讨论了乌克兰边境局势。"
    lines = [long, f"原文链接：{ARTICLE}", "白宫表示，通话是认真的。", "普京说，俄方满意。"]
    item = one(post("\n\n".join(lines)))
    assert item.url is None
    assert item.text.split("\n") == lines


def test_a_source_line_names_the_outlet_or_gives_the_address():
    item = one(post(f"来源：美国之音\n\n{BODY}"), site="配置的站点")
    assert (item.url, item.site, item.text) == (None, "美国之音", TEXT)
    assert item.published == "2022-01-03T10:20:00Z"  # the front matter's, as before

    item = one(post(f"{BODY}\n\n来源：{ARTICLE}"))
    assert (item.url, item.site, item.text) == (ARTICLE, None, TEXT)


def test_the_front_matters_outlet_wins_over_a_source_line():
    head = "categories:\n - 新媒体\n - 美国之音\n"
    item = one(post(f"原文链接：{ARTICLE}\n来源：VOA\n\n{BODY}", head=head))
    assert (item.url, item.site, item.text) == (ARTICLE, "美国之音", TEXT)


@pytest.mark.parametrize("line", ["作者：张三", "- **作者**: 张三", "By 张三", "文/张三"])
def test_an_author_line_opening_the_body_fills_the_author_the_front_matter_leaves_empty(
    line: str,
):
    item = one(post(f"原文链接：{ARTICLE}\n{line}\n\n{BODY}"))
    assert (item.url, item.author, item.text) == (ARTICLE, "张三", TEXT)


def test_the_front_matters_author_wins_and_the_reporters_line_stays_in_the_text():
    """Bridges write the outlet as the author; the body's line names the reporter."""
    item = one(post(f"原文链接：{ARTICLE}\n作者：张三\n\n{BODY}", head="author: 美国之音\n"))
    assert (item.url, item.author) == (ARTICLE, "美国之音")
    assert item.text == "作者：张三\n" + TEXT


def test_pathological_lines_are_read_once_and_stay_in_the_text():
    """Brackets, "](", marks and spaces by the thousand around the lines read: each
    pattern passes over a line once (counted by the answer, not timed)."""
    junk = [
        "[" * 5000,
        "](" * 5000,
        "[阅读原文](" + "(" * 5000,
        "原文链接：" + "[" * 5000,
        "原文链接：" + "](" * 5000,
        "*" * 5000 + "x",
        "_" * 5000 + "x",
        "原文" + " " * 5000 + "x",
        "[**" + "*" * 5000,
    ]
    for line in junk:
        for body in (f"{line}\n\n{BODY}\n\n原文链接：{ARTICLE}", f"原文链接：{ARTICLE}\n\n{line}"):
            item = one(post(body))
            assert item.url == ARTICLE, line[:12]
            assert "voachinese" not in item.text
            assert "".join(line.split()) in "".join(item.text.split())
        assert one(post(f"{line}\n\n{BODY}")).url is None


def test_every_line_markdown_pages_read_is_one_the_quick_look_stops_at():
    """Posts are read line by line only past a quick look at their ends: a line saying
    where the article is from, in any form Markdown pages read, must not pass it."""
    values = [ARTICLE, f"[标题]({ARTICLE})", f"<{ARTICLE}>", "美国之音", "张三", "2022-01-03"]
    lines = [
        f"{mark}{bold}{label}{bold}{space}{colon}{value}"
        for label in markdown_page.LABELS
        for mark, bold, space, colon in [
            ("", "", "", "："),
            ("- ", "**", " ", ":"),
            ("> ", "__", "", "："),
            ("\u3000  ", "", "\t", ":"),
        ]
        for value in values
    ]
    lines += [
        f"{mark}{line}"
        for mark in ("", "> ", "* ", "**", "\u3000")
        for line in (
            f"[阅读原文]({ARTICLE})",
            f"**[点击阅读原文 >>]({ARTICLE})**",
            f"[原文鏈接]({ARTICLE})",
            "By 张三",
            "by** 张三",
            "文/张三",
            "文 ｜ 张三",
        )
    ]
    read = [line for line in lines if markdown_page.metadata_line(line)]
    assert {f"原文链接：{ARTICLE}", "> __来源__：美国之音", f"[阅读原文]({ARTICLE})"} <= set(read)
    assert [line for line in read if not hexo._LOOK.match(line)["may_say"]] == []


@pytest.mark.parametrize(
    "copy_body",
    [
        f"原文链接：{ARTICLE}\n\nBODY",
        f'<p>原文链接：<a href="{ARTICLE}">{ARTICLE}</a></p>\nPROSE',  # a bridge's HTML
    ],
    ids=["markdown", "html"],
)
def test_a_hexo_copy_and_the_outlets_feed_entry_are_one_story(tmp_path, copy_body: str):
    """The user's case: the copy names its original only in the body."""
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>美国之音</title>'
        "<link>https://www.voachinese.com/</link><item><title>拜登普京通话 互发警告</title>"
        f"<link>{ARTICLE}</link><pubDate>Mon, 03 Jan 2022 10:20:00 GMT</pubDate>"
        "<description>美国总统拜登周四与俄罗斯总统普京通话。</description></item></channel></rss>",
        encoding="utf-8",
    )
    copy = tmp_path / "2022-01-03-biden-putin.md"
    copy.write_bytes(post(copy_body.replace("BODY", BODY).replace("PROSE", PROSE)))
    db = str(tmp_path / "m.db")
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "import", str(feed)]).exit_code == 0
    r = runner.invoke(main, ["--db", db, "import", str(copy)])
    assert "1 file: 0 new stories, 1 merged" in r.output, r.output


# --- HTML bodies: the where-from lines are block elements ------------------------------

VOA = "https://www.voachinese.com/"
PROSE = "<p>美国总统拜登周四与俄罗斯总统普京通话。</p>\n<p>白宫表示，通话是认真的。</p>"


def undated(body: str, *, head: str = "") -> bytes:
    """A post whose front matter has no date, as archive repositories write them."""
    return f"---\ntitle: '拜登与普京通话'\n{head}---\n\n{body}\n".encode()


@pytest.mark.parametrize(
    "body",
    [
        f'<p>原文链接：<a href="{ARTICLE}">{ARTICLE}</a></p>\n{PROSE}',
        f'<p>原文地址：<a href="{ARTICLE}">拜登与普京通话</a></p>\n{PROSE}',
        f"<p>原文链接：{ARTICLE}</p>\n{PROSE}",
        f'<p><a href="{ARTICLE}">阅读原文</a></p>\n{PROSE}',
        f"<blockquote><p>原文链接：{ARTICLE}</p></blockquote>\n<hr>\n{PROSE}",
        f'<section>\n  原文链接：\n  <a href="{ARTICLE}">\n   {ARTICLE}\n  </a>\n</section>{PROSE}',
        f"{PROSE}\n<p>原文链接：{ARTICLE}</p>",
        f'{PROSE}\n<hr/>\n<div><a href="{ARTICLE}">阅读原文</a></div>\n',
        f'{PROSE}\n<p>原文地址：{ARTICLE}</p>\n<p><a href="{ARTICLE}">阅读原文 &gt;&gt;</a></p>',
        f'{PROSE}<a href="{ARTICLE}">阅读原文</a>',
        f"<div>   \n<p>原文链接：{ARTICLE}</p>\n{PROSE}\n  \n</div>\n            \n",
        f"<div>   \n{PROSE}\n<p>原文链接：{ARTICLE}</p>\n  \n</div>\n            \n",
    ],
    ids=[
        "opening-link",
        "opening-titled-link",
        "opening-bare-address",
        "opening-read-original",
        "opening-quote-then-rule",
        "opening-pretty-printed",
        "end-bare-address",
        "end-rule-then-read-original",
        "end-twice",
        "end-bare-link-after-the-text",
        "bridge-wrapper-opening",
        "bridge-wrapper-end",
    ],
)
def test_an_html_body_naming_the_original_in_a_block_gives_the_address(body: str):
    item = one(post(body), url=MIRROR)
    assert (item.url, item.text) == (ARTICLE, TEXT)
    assert "voachinese" not in item.html and "<hr>" not in item.html
    assert "阅读原文" not in item.html and "原文" not in item.html
    assert item.html.count("<p>") == 2


@pytest.mark.parametrize(
    "body",
    [
        f"原文链接：{ARTICLE}<br>\n来源：美国之音<br>\n{PROSE}",
        f"{PROSE}\n原文链接：{ARTICLE}<br>\n来源：美国之音<br>",
        f"{PROSE}原文链接：{ARTICLE}<br>来源：美国之音",
        f'<div>\n来源：美国之音<br>\n原文链接：<a href="{ARTICLE}">阅读</a><br>\n{PROSE}</div>',
    ],
    ids=["opening", "end", "end-on-one-line", "bridge-wrapper-link"],
)
def test_bare_lines_ended_by_br_tags_are_read_without_the_tags(body: str):
    """They gave the address with ``<br>`` in it, and the outlet's name too."""
    item = one(post(body))
    assert (item.url, item.site, item.text) == (ARTICLE, "美国之音", TEXT)


def test_a_markdown_line_with_tags_in_its_value_is_read_without_them():
    """``来源：<b>新华社</b>`` named the outlet ``<b>新华社</b>``."""
    item = one(post(f"来源：<b>新华社</b>\n\n{BODY}"))
    assert (item.site, item.text) == ("新华社", TEXT)
    item = one(post(f"来源：<https://www.xinhuanet.com/2022-01/03/c_1.htm>\n\n{BODY}"))
    assert (item.url, item.text) == ("https://www.xinhuanet.com/2022-01/03/c_1.htm", TEXT)


def test_an_html_bridge_post_as_the_user_reported_it():
    """The reproduction: address, outlet and date lines as ``<p>`` opening the body."""
    body = (
        f'<p>原文链接：<a href="{ARTICLE}">{ARTICLE}</a></p>\n<p>来源：美国之音</p>\n'
        "<p>发布时间：2022-01-03 10:20</p>\n"
        "<p>正文第一段，美国财政部周一宣布对多家实体实施制裁。</p>\n"
    )
    item = one(f"---\ntitle: 测试标题\ncategories:\n- news\n---\n{body}".encode())
    assert (item.url, item.site, item.published) == (ARTICLE, "美国之音", "2022-01-03T10:20:00Z")
    assert item.text == "正文第一段，美国财政部周一宣布对多家实体实施制裁。"
    assert item.html == "<p>正文第一段，美国财政部周一宣布对多家实体实施制裁。</p>"


@pytest.mark.parametrize(
    ("block", "site", "url"),
    [
        ("<p>来源：美国之音</p>", "美国之音", None),
        (f'<p>来源：<a href="{VOA}">美国之音</a></p>', "美国之音", None),  # the front page
        (f'<p>来源：<a href="{ARTICLE}">美国之音</a></p>', "美国之音", ARTICLE),
        ("<div>文章来源：微信公众号「某某观察」</div>", "某某观察", None),
    ],
    ids=["name", "linked-front-page", "linked-article", "wechat-account"],
)
def test_an_html_source_block_names_the_outlet(block: str, site: str, url: str | None):
    item = one(post(f"{block}\n{PROSE}"), site="配置的站点")
    assert (item.url, item.site, item.text) == (url, site, TEXT)
    assert "来源" not in item.html


@pytest.mark.parametrize(
    "block",
    [
        f"<p><strong>原文链接：</strong>{ARTICLE}</p>\n<p><b>来源：</b>美国之音</p>",
        f'<p><em>原文链接</em>：<a href="{ARTICLE}">拜登与普京通话</a></p>\n'
        '<p><span style="color:#999">来源：美国之音</span></p>',
        f"<p><strong>原文链接：{ARTICLE}</strong></p>\n<p><font>来源：</font>美国之音</p>",
    ],
    ids=["bold-labels", "styled-label-and-line", "bold-line"],
)
def test_an_html_where_from_block_may_style_its_text(block: str):
    """Bridges bold the label, or colour the whole line: the words are what is read."""
    item = one(post(f"{block}\n{PROSE}"))
    assert (item.url, item.site, item.text) == (ARTICLE, "美国之音", TEXT)
    assert "来源" not in item.html


def test_an_html_author_block_fills_the_author_the_front_matter_leaves_empty():
    for block in ("<p>作者：张三</p>", "<p>By 张三</p>", "<p>文/张三</p>"):
        item = one(post(f"{block}\n{PROSE}"))
        assert (item.author, item.text) == ("张三", TEXT), block


def test_the_front_matter_wins_over_html_blocks_and_their_lines_stay():
    head = "author: 美国之音\ncategories:\n - 新媒体\n - 美国之音\n"
    body = f"<p>原文链接：{ARTICLE}</p>\n<p>来源：VOA</p>\n<p>作者：张三</p>\n{PROSE}"
    item = one(post(body, head=head))
    assert (item.url, item.site, item.author) == (ARTICLE, "美国之音", "美国之音")
    assert item.text == "作者：张三\n" + TEXT  # the reporter, not lost
    assert "VOA" not in item.text  # read (its outlet lost to the front matter's), not text


GIVE_NONE = (
    f"<p>原文链接：{VOA}</p>",
    '<p>原文链接：<a href="/a/6376012.html">拜登与普京通话</a></p>',
)


@pytest.mark.parametrize(
    "block",
    [
        # Prose that names a source mid-sentence, or opens with a label and goes on.
        "<p>据美联社报道，来源：白宫官员称拜登周四与普京通话，双方互发警告。</p>",
        "<p>来源：白宫官员称，拜登周四与普京通话。</p>",
        f"<p>原文链接：{ARTICLE} 以及更多报道</p>",
        # Other markup than one link: not a where-from line.
        f'<p>原文链接：<a href="{ARTICLE}">一</a> <a href="{ARTICLE}">二</a></p>',
        f'<p>原文链接：<a href="{ARTICLE}"><b>{ARTICLE}</b></a></p>',
        f"<p>原文链接：{ARTICLE}<br>来源：美国之音</p>",
        f"<ul><li>原文链接：{ARTICLE}</li></ul>",
        # What gives nothing: the outlet's front page, a relative link.
        *GIVE_NONE,
    ],
    ids=[
        "prose-mid-sentence",
        "prose-after-label",
        "address-and-words",
        "two-links",
        "bold-link",
        "two-lines-in-one",
        "list",
        "front-page",
        "relative",
    ],
)
def test_an_html_block_that_is_no_where_from_line_stays(block: str):
    """It stays in the text and the HTML, and is no reason to leave the lines that are."""
    plain = one(post(PROSE))
    item = one(post(f"{block}\n{PROSE}"))
    assert (item.url, item.site) == (None, None)
    assert item.text.endswith("\n" + TEXT) and item.html.endswith(plain.html)
    if block in GIVE_NONE:
        return  # an address line giving none is still one: with another, both would go
    item = one(post(f"{block}\n{PROSE}\n<p>原文链接：{ARTICLE}</p>"))
    assert (item.url, item.site) == (ARTICLE, None)
    assert item.text.endswith("\n" + TEXT) and item.html.endswith(plain.html)
    assert item.text != TEXT and item.html != plain.html


def test_html_where_from_blocks_are_read_only_at_the_bodys_ends():
    long = "美国总统拜登周四与俄罗斯总统普京通话，" * 5 + "双方讨论了乌克兰边境局势。"
    body = f"<p>{long}</p>\n<p>原文链接：{ARTICLE}</p>\n" + "<p>第三段。</p>\n" * 5
    item = one(post(body + "<p>来源：美国之音</p>"))
    assert (item.url, item.site) == (None, "美国之音")
    assert f"原文链接：{ARTICLE}" in item.text.split("\n")


# --- dates: read when the front matter has none --------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        f"<p>发布时间：2022-01-03 10:20</p>\n{PROSE}",
        f"<p>日期：2022年1月3日 10:20</p>\n{PROSE}",
        f"{PROSE}\n<p>发布时间：2022-01-03 10:20</p>",
        f"发布时间：2022-01-03 10:20\n\n{BODY}",
        f"> **发表时间**：2022/01/03 10:20\n\n{BODY}",
        f"{BODY}\n\n发布日期：2022-01-03 10:20",
        f"{BODY}\n\n发布时间：2022-01-03 10:20\n原文链接：{ARTICLE}",
    ],
    ids=["html", "html-chinese", "html-end", "bare", "quoted-bold", "bare-end", "end-twice"],
)
def test_a_date_line_dates_a_post_whose_front_matter_has_none(body: str):
    item = one(undated(body))
    assert (item.published, item.text) == ("2022-01-03T10:20:00Z", TEXT)
    assert "2022" not in item.html


def test_a_date_line_with_the_outlet_gives_both():
    item = one(undated(f"<p>2022年01月03日 10:20\u3000来源：新华网</p>\n{PROSE}"))
    assert (item.published, item.site, item.text) == ("2022-01-03T10:20:00Z", "新华网", TEXT)
    item = one(undated(f"来源：新华网 2022-01-03\n\n{BODY}"))
    assert (item.published, item.site, item.text) == ("2022-01-03", "新华网", TEXT)


def test_a_date_line_without_a_zone_is_read_in_the_sources_zone():
    """As Markdown pages' date lines and the front matter's own date are."""
    for body in (
        f"<p>发布时间：2022-01-03 10:20</p>\n{PROSE}",
        f"发布时间：2022-01-03 10:20\n{BODY}",
    ):
        assert one(undated(body), zone="Asia/Shanghai").published == "2022-01-03T02:20:00Z"
        assert one(undated(body)).published == "2022-01-03T10:20:00Z"  # no zone: UTC


@pytest.mark.parametrize(
    "body",
    [
        f"<p>2022-01-03</p>\n{PROSE}",
        f"<p>2022年1月3日 10:20</p>\n{PROSE}",
        f"2022-01-03\n\n{BODY}",
        f"{BODY}\n\n2022-01-03 10:20",
    ],
    ids=["html", "html-chinese", "bare", "bare-end"],
)
def test_a_date_alone_on_its_line_stays_in_the_text(body: str):
    """A bare-text body may open with a date as its own line: no label says it is the
    post's date."""
    for with_address in (f"<p>原文链接：{ARTICLE}</p>\n", f"原文链接：{ARTICLE}\n\n"):
        item = one(undated(with_address + body if "<p>" in body else f"{body}\n\n{with_address}"))
        assert (item.url, item.published) == (ARTICLE, None)
        assert "2022" in item.text.split("\n")[0] + item.text.split("\n")[-1]


@pytest.mark.parametrize(
    "body",
    [
        f"<p>发布时间：2021-12-31 08:00</p>\n{PROSE}",
        f"发布时间：2021-12-31 08:00\n\n{BODY}",
        f"<p>来源：新华网 2021-12-31</p>\n{PROSE}",
    ],
    ids=["html", "bare", "with-the-outlet"],
)
def test_the_front_matters_date_wins_and_the_date_line_stays(body: str):
    item = one(
        post(
            f"{body}\n<p>原文链接：{ARTICLE}</p>"
            if "<p>" in body
            else f"{body}\n\n原文链接：{ARTICLE}"
        )
    )
    assert (item.url, item.published) == (ARTICLE, "2022-01-03T10:20:00Z")
    assert item.text.split("\n")[0].startswith(("发布时间：2021-12-31", "来源：新华网"))
    assert item.site is None


def test_a_front_matter_date_that_does_not_read_leaves_the_date_to_the_body():
    item = one(post(f"发布时间：2022-01-03 10:20\n\n{BODY}").replace(b"date: 2022", b"date: x022"))
    assert (item.published, item.text) == ("2022-01-03T10:20:00Z", TEXT)


def test_every_dated_line_is_one_the_quick_look_stops_at_when_dates_are_read():
    lines = [
        "2022年01月03日 10:20\u3000来源：新华网",
        "> 2022-01-03 作者：张三",
        "Mon, 03 Jan 2022 10:20:00 GMT 来源：路透社",
        "发布时间：2022-01-03 10:20",
    ]
    for line in lines:
        assert markdown_page.metadata_line(line), line
        assert hexo._may_say([line, "正文。", "正文。"], 1, dated=True), line
    assert not hexo._may_say(["2022年1月3日，美国财政部宣布制裁。", ""], 1)


# --- hostile bodies: each block and each line is read a bounded number of times -------


@pytest.mark.parametrize(
    "fill",
    [
        "[" * 100_000,
        "](" * 50_000,
        "原文链接：" + "[" * 100_000,
        "原文链接：" + " " * 100_000 + "x",
        "来源：" + "新" * 100_000,
        "发布时间：" + "2022 " * 20_000,
        f'原文链接：<a href="{ARTICLE}">' + "[" * 100_000 + "</a>",
        "原文链接：" + "<b>x</b>" * 20_000,
    ],
    ids=[
        "brackets",
        "link-openings",
        "label-brackets",
        "label-spaces",
        "long-name",
        "long-date",
        "long-link-text",
        "inline-tags",
    ],
)
def test_an_html_block_of_a_hundred_thousand_characters_is_read_at_once(fill: str):
    """Counted, not timed: each pattern passes over the block once."""
    for body in (
        f"<p>{fill}</p>\n{PROSE}\n<p>原文链接：{ARTICLE}</p>",
        f"<p>原文链接：{ARTICLE}</p>\n{PROSE}\n<p>{fill}</p>",
    ):
        item = one(undated(body))
        assert item.url == ARTICLE
        assert "白宫表示，通话是认真的。" in item.text


def test_a_body_of_fifty_thousand_paragraphs_is_read_at_its_ends_only():
    """Counted, not timed: only the first and last blocks are looked at."""
    many = "<p>第三段。</p>\n" * 50_000
    for body in (
        f"<p>原文链接：{ARTICLE}</p>\n{many}{PROSE}",
        f"<div>\n{PROSE}\n{many}<p>原文链接：{ARTICLE}</p>\n</div>",
        f"{PROSE}\n" + "<hr>\n" * 50_000 + f"<p>原文链接：{ARTICLE}</p>",
        f"<p>原文链接：{ARTICLE}</p>\n" + "<br>\n" * 50_000 + PROSE,
    ):
        item = one(undated(body))
        assert item.url == ARTICLE
        assert item.text.count("第三段。") == body.count("第三段。")
        assert TEXT in item.text and "原文链接" not in item.text
