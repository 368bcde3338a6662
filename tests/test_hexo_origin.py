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


def test_a_hexo_copy_and_the_outlets_feed_entry_are_one_story(tmp_path):
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
    copy.write_bytes(post(f"原文链接：{ARTICLE}\n\n{BODY}"))
    db = str(tmp_path / "m.db")
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "import", str(feed)]).exit_code == 0
    r = runner.invoke(main, ["--db", db, "import", str(copy)])
    assert "1 file: 0 new stories, 1 merged" in r.output, r.output
