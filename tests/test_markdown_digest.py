"""A Markdown digest page (a page title, then several articles under headings of one level,
each with its own address) is read as one item per article: before, it was one story under
the page title with every article's text, or, with no page title, refused as two articles."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import respx
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import parse_config
from monitor.models import NotAnArticle
from monitor.parsers import parse
from monitor.pipeline import Poller
from monitor.state import load_entries
from monitor.store import open_db

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "parsers"
PAGE = "https://mirror.example.org/digest/2026-11-20.md"
VOA = "https://www.voachinese.com/a/biden-putin-call-20211231/6376012.html"
DW = "https://www.dw.com/zh/germany-nord-stream/a-60305640"
RFA = "https://www.rfa.org/mandarin/yataibaodao/gangtai/taiwan-covid-01032022.html"
FIRST = "美国总统拜登与俄罗斯总统普京周四通电话，讨论乌克兰边境紧张局势。"
SECOND = "德国总理朔尔茨宣布暂停北溪二号天然气管道的认证程序，以回应俄罗斯的决定。"


def digest() -> bytes:
    return (FIXTURES / "markdown_digest.md").read_bytes()


def test_each_article_of_a_digest_page_is_an_item_with_its_own_head_lines():
    voa, dw, rfa = parse(digest(), url=PAGE, site="配置的站点")
    assert [(i.title, i.url, i.format) for i in (voa, dw, rfa)] == [
        ("拜登与普京通话讨论乌克兰局势", VOA, "markdown"),
        ("德國暫停北溪二號認證", DW, "markdown"),
        ("台湾发布新的防疫措施", RFA, "markdown"),
    ]
    assert [(i.site, i.author, i.published) for i in (voa, dw, rfa)] == [
        ("美国之音", "张三", "2021-12-31T10:20:00Z"),
        ("德國之聲", None, None),  # not the page's date: that is the digest's
        ("自由亚洲电台", None, "2022-01-03T10:20:00Z"),
    ]
    assert [i.lang for i in (voa, dw, rfa)] == ["zh-Hans", "zh-Hant", "zh-Hans"]
    assert [(im.url, im.caption) for im in voa.images] == [
        ("https://mirror.example.org/digest/pic/biden.jpg", None)
    ]
    assert (dw.images, rfa.images) == ([], [])


def test_each_article_has_its_own_text_and_its_sections():
    voa, dw, rfa = parse(digest(), url=PAGE)
    # A lower heading is a section; a heading of the articles' level without an address
    # (编者按) is text of the article above it.
    assert voa.text.splitlines() == [
        "美国总统拜登与俄罗斯总统普京周四通电话，讨论乌克兰边境紧张局势。",
        "白宫的说法",
        "白宫表示，通话是“认真的、实质性的”。",
        "编者按",
        "俄方对通话结果感到满意，编者认为局势仍然紧张。",
    ]
    assert dw.text == "德國總理朔爾茨宣布暫停北溪二號天然氣管道的認證程序，以回應俄羅斯的決定。"
    assert rfa.text == "台湾卫生部门周一宣布新的防疫措施，要求入境旅客隔离十四天。"
    for item in (voa, dw, rfa):
        for other in ("新闻汇总", "本期共三篇", "原文", "来源", "來源", "作者"):
            assert other not in item.text and other not in item.html
    assert voa.html.count("<h2>") == 1 and "<h3>白宫的说法</h3>" in voa.html


@pytest.mark.parametrize(
    "second",
    [
        f"# 德国暂停北溪二号认证\n\n原文链接：{DW}\n\n{SECOND}\n",
        f"# 德国暂停北溪二号认证\n\n- 来源：{DW}\n- 作者：李四\n\n{SECOND}\n",
        f"# [德国暂停北溪二号认证]({DW})\n\n{SECOND}\n",
        f"# 德国暂停北溪二号认证\n\n{SECOND}\n\n[阅读原文]({DW})\n",
    ],
    ids=["label", "source-list", "title-link", "footer"],
)
def test_without_a_page_title_each_heading_with_its_own_address_is_an_article(second):
    page = f"# 拜登与普京通话\n\n原文链接：{VOA}\n\n{FIRST}\n\n---\n\n{second}"
    first, other = parse(page.encode())
    assert (first.title, first.url, first.text) == ("拜登与普京通话", VOA, FIRST)
    assert (other.title, other.url, other.text) == ("德国暂停北溪二号认证", DW, SECOND)


@pytest.mark.parametrize(
    "top",
    ["# 今日要闻\n", "# 今日要闻\n\n发布时间：2026-11-20\n", "今日要闻\n====\n"],
    ids=["atx", "date-line", "setext"],
)
def test_a_page_title_without_text_is_over_articles_of_its_own_level(top):
    page = f"{top}\n# 拜登与普京通话\n\n原文链接：{VOA}\n\n{FIRST}\n\n# 北溪\n\n原文链接：{DW}\n\n"
    page += f"{SECOND}\n"
    assert [(i.title, i.url) for i in parse(page.encode())] == [
        ("拜登与普京通话", VOA),
        ("北溪", DW),
    ]


def test_articles_under_headings_of_sections_of_the_digest():
    page = (
        f"# 今日要闻\n\n## 国际\n\n国际新闻两则。\n\n### 拜登与普京通话\n\n原文链接：{VOA}\n\n"
        f"{FIRST}\n\n## 欧洲\n\n### 北溪\n\n来源：{DW}\n\n{SECOND}\n\n## 往期回顾\n\n上周的汇总。\n"
    )
    assert [(i.title, i.url, i.text) for i in parse(page.encode())] == [
        ("拜登与普京通话", VOA, FIRST),
        ("北溪", DW, SECOND),
    ]


def test_a_heading_with_an_address_an_article_above_has_continues_that_article():
    page = (
        f"# 今日要闻\n\n## 拜登与普京通话\n\n原文链接：{VOA}\n\n{FIRST}\n\n"
        f"## 北溪\n\n原文链接：{DW}\n\n{SECOND}\n\n"
        f"## 拜登与普京通话（续）\n\n原文链接：{VOA}\n\n双方互相发出警告。\n"
    )
    voa, dw = parse(page.encode())
    assert voa.url == VOA and voa.text.splitlines() == [
        FIRST,
        "拜登与普京通话（续）",
        "双方互相发出警告。",
    ]
    assert (dw.url, dw.text) == (DW, SECOND)


def test_an_article_of_a_digest_without_text_is_left_out():
    page = (
        f"# 今日要闻\n\n## 拜登与普京通话\n\n原文链接：{VOA}\n\n{FIRST}\n\n"
        f"## [北溪]({DW})\n\n## [防疫]({RFA})\n\n- [相关](https://www.rfa.org/a/1.html)\n"
    )
    (item,) = parse(page.encode())
    assert (item.title, item.url) == ("拜登与普京通话", VOA)
    only_links = page.replace(f"{FIRST}\n", "")
    with pytest.raises(NotAnArticle, match="'拜登与普京通话' has no article text"):
        parse(only_links.encode())


@pytest.mark.parametrize(
    "page",
    [
        # A page title over sections: one article, as before.
        f"# 拜登与普京通话\n\n原文链接：{VOA}\n\n{FIRST}\n\n## 背景\n\n{SECOND}\n\n"
        f"## 反应\n\n{SECOND}\n",
        f"# 拜登与普京通话\n\n{FIRST}\n\n## 背景\n\n{SECOND}\n\n## 反应\n\n{SECOND}\n",
        # One section with an address of its own is a quote, not a second article.
        f"# 今日要闻\n\n{FIRST}\n\n## 拜登与普京通话\n\n原文链接：{VOA}\n\n{SECOND}\n",
        # Two sections with one address: one article.
        f"# 今日要闻\n\n## 上\n\n原文链接：{VOA}\n\n{FIRST}\n\n"
        f"## 下\n\n原文链接：{VOA}\n\n{SECOND}\n",
        # A title with text of its own over headings of its level: whose they are is unsure.
        f"# 拜登与普京通话\n\n{FIRST}\n\n# 北溪\n\n原文链接：{DW}\n\n{SECOND}\n\n"
        f"# 防疫\n\n原文链接：{RFA}\n\n{SECOND}\n",
    ],
    ids=["sections", "sections-no-address", "one-addressed", "one-address", "title-with-text"],
)
def test_a_page_that_is_no_digest_is_one_story(page):
    (item,) = parse(page.encode())
    assert SECOND in item.text


def test_import_stores_each_article_of_a_digest_page(tmp_path):
    folder = tmp_path / "arch"
    folder.mkdir()
    (folder / "2026-11-20.md").write_bytes(digest())
    db = str(tmp_path / "m.db")
    runner = CliRunner()

    r = runner.invoke(main, ["--db", db, "import", str(folder)])
    assert r.exit_code == 0, r.output
    assert "1 file: 3 new stories, 0 merged, 0 already stored, 0 rejected" in r.output

    for term, key in (("北溪", "dw:60305640"), ("防疫", "taiwan-covid-01032022")):
        found = runner.invoke(main, ["--db", db, "search", term])
        assert found.exit_code == 0 and key in found.output, found.output
        assert "1 story" in found.output
    shown = runner.invoke(main, ["--db", db, "show", VOA])
    assert shown.exit_code == 0, shown.output
    assert "拜登与普京通话讨论乌克兰局势" in shown.output and "北溪" not in shown.output


def test_a_folder_source_and_a_mirror_store_each_article_of_a_digest_page(tmp_path):
    folder = tmp_path / "arch"
    folder.mkdir()
    (folder / "2026-11-20.md").write_bytes(digest())
    mirror = "https://mirror.example.org/digest"
    sources = [
        {"name": "files", "kind": "dir", "path": str(folder), "interval": "1h"},
        {"name": "mirror", "kind": "mirror", "url": f"{mirror}/index.md", "interval": "1h"},
    ]
    config = parse_config({"source": sources}, base=tmp_path)
    db = open_db(tmp_path / "m.db")

    async def poll(name):
        poller = Poller(db, config, rand=lambda: 0.5)
        try:
            return await poller.poll([config.source(name)], now=datetime(2026, 11, 20, tzinfo=UTC))
        finally:
            await poller.aclose()

    with respx.mock:
        respx.get(f"{mirror}/index.md").respond(200, text="- [今日](2026-11-20.md)\n")
        respx.get(f"{mirror}/2026-11-20.md").respond(200, content=digest())
        reports = [*asyncio.run(poll("files")), *asyncio.run(poll("mirror"))]

    assert [(r.source, r.outcome, r.new, r.seen, r.error) for r in reports] == [
        ("files", "ok", 3, 0, None),
        ("mirror", "ok", 0, 3, None),
    ]
    assert load_entries(db.conn, "files")["2026-11-20.md"].status == "stored"
    assert load_entries(db.conn, "mirror")[f"{mirror}/2026-11-20.md"].status == "stored"
    sightings = db.execute("SELECT source, count(DISTINCT item_id) FROM sightings GROUP BY 1")
    assert sorted(sightings.fetchall()) == [("files", 3), ("mirror", 3)]


@pytest.mark.parametrize(
    ("top", "mark"),
    [
        ("# 今日要闻\n", "<h2>{}</h2>"),
        ('<h1 align="center">今日要闻</h1>\n', '<h2 style="color:red">\n{}\n</h2>'),
        ("今日要闻\n====\n", "{}\n----"),
        ("", "{}\n===="),
    ],
    ids=["html", "html-lines", "setext", "setext-no-page-title"],
)
def test_articles_under_html_or_setext_headings_are_items(top, mark):
    page = (
        f"{top}\n{mark.format('拜登与普京通话')}\n\n原文链接：{VOA}\n\n{FIRST}\n\n"
        f"{mark.format('北溪')}\n\n来源：{DW}\n\n{SECOND}\n\n"
        f"{mark.format('拜登与普京通话（续）')}\n\n原文链接：{VOA}\n\n双方互相发出警告。\n"
    )
    voa, dw = parse(page.encode())
    assert (voa.title, voa.url, voa.text.splitlines()) == (
        "拜登与普京通话",
        VOA,
        [FIRST, "拜登与普京通话（续）", "双方互相发出警告。"],
    )
    assert (dw.title, dw.url, dw.text) == ("北溪", DW, SECOND)


@pytest.mark.parametrize(
    "page",
    [
        # The last line of a paragraph over "---" is no title, nor is a metadata line.
        f"# 今日要闻\n\n{FIRST}\n拜登与普京通话\n---\n\n原文链接：{VOA}\n\n{SECOND}\n\n"
        f"{FIRST}\n北溪\n---\n\n原文链接：{DW}\n\n{SECOND}\n",
        f"# 今日要闻\n\n来源：美国之音\n---\n\n原文链接：{VOA}\n\n{FIRST}\n\n"
        f"来源：德国之声\n---\n\n原文链接：{DW}\n\n{SECOND}\n",
    ],
    ids=["paragraph", "metadata"],
)
def test_lines_over_a_rule_that_are_no_titles_keep_the_page_one_story(page):
    (item,) = parse(page.encode())
    assert SECOND in item.text


def test_articles_under_bold_lines_are_items():
    page = (
        f"# 今日要闻\n\n**拜登与普京通话**\n原文链接：{VOA}\n\n**{FIRST}**双方互相发出警告。\n\n"
        f"**[北溪]({DW})**\n\n{SECOND}\n"
    )
    voa, dw = parse(page.encode())
    assert (voa.title, voa.url, voa.text) == ("拜登与普京通话", VOA, FIRST + "双方互相发出警告。")
    assert (dw.title, dw.url, dw.text) == ("北溪", DW, SECOND)


@pytest.mark.parametrize(
    "lead",
    [f"**{FIRST}**", "**拜登与普京通话**\n白宫表示通话是认真的"],
    ids=["sentence", "paragraph"],
)
def test_an_articles_bold_lead_does_not_split_it(lead):
    page = (
        f"# 今日要闻\n\n**北溪**\n\n原文链接：{DW}\n\n{SECOND}\n\n{lead}\n\n原文链接：{VOA}\n\n"
        f"{SECOND}\n\n**防疫**\n\n原文链接：{RFA}\n\n{SECOND}\n"
    )
    dw, rfa = parse(page.encode())
    assert (dw.url, rfa.url) == (DW, RFA)
    assert lead.split("**")[1] in dw.text
