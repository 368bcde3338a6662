"""The lxml fast path must give the Items feedparser gives, field by field.

Every well-formed variant below is parsed twice through ``feed.parse``: once as it runs
(fastfeed), once with fastfeed switched off (feedparser), with and without a document
URL. A seeded random generator adds feeds that mix the same pieces in other orders.
"""

from __future__ import annotations

import random
import re
from xml.sax.saxutils import escape

import feedparser
import pytest

from monitor.models import ParseError
from monitor.parsers import body as body_module
from monitor.parsers import fastfeed, feed, sanitized

URL = "https://news.example/feeds/rss.xml"
NS = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
    'xmlns:wfw="http://wellformedweb.org/commentAPI/"'
)
BODY = (
    "<p>俄罗斯总统<a href='/tag/putin'>普京</a>与法国总统马克龙（Emmanuel Macron）通电话。</p>\n"
    '<p>双方讨论了<b>乌克兰</b>局势。<img src="/img/call.jpg" alt="通话"></p>'
)
PLAIN_BODY = (
    '<p>双方讨论了<a href="/tag/ukraine" title="乌克兰">乌克兰</a>局势&amp;制裁。</p>\n'
    '<figure><img alt="图" src="img/2.jpg"><figcaption>图说</figcaption></figure>'
)


def rss(items: str, *, channel_title: str = "联合早报 国际") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {NS}><channel>'
        f"<title>{channel_title}</title><link>https://www.zaobao.com/</link>"
        f"<description>国际新闻</description>{items}</channel></rss>"
    ).encode()


def atom(entries: str, *, title: str = "端傳媒") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xmlns:media="http://search.yahoo.com/mrss/"><title>{title}</title>'
        f"<id>tag:example.org,2022:feed</id><updated>2022-02-01T12:00:00Z</updated>{entries}</feed>"
    ).encode()


def rdf(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        '<channel rdf:about="https://example.org/rss"><title>示例新闻 RDF</title>'
        "<link>https://example.org/</link><description>RSS 1.0</description></channel>"
        f"{items}</rdf:RDF>"
    ).encode()


def item(*parts: str) -> str:
    return "<item>" + "".join(parts) + "</item>"


def entry(*parts: str) -> str:
    return "<entry>" + "".join(parts) + "</entry>"


def both_paths(data: bytes, url: str | None) -> tuple[list[dict], list[dict]]:
    fast = [it.to_dict() for it in feed.parse(data, url=url)]
    real_read = fastfeed.read
    fastfeed.read = lambda *a, **k: None
    try:
        reference = [it.to_dict() for it in feed.parse(data, url=url)]
    finally:
        fastfeed.read = real_read
    return fast, reference


def assert_same(data: bytes, url: str | None, *, fast: bool = True) -> list[dict]:
    assert (fastfeed.read(data, url) is not None) is fast, "fast path taken?"
    got, reference = both_paths(data, url)
    assert len(got) == len(reference)
    for i, (g, r) in enumerate(zip(got, reference, strict=True)):
        for key in r:
            assert g[key] == r[key], f"item {i}, field {key!r}"
    return got


RSS_VARIANTS = {
    "description_only": rss(
        item(
            "<title>欧盟准备对俄制裁方案</title><link>https://www.zaobao.com/a/1</link>",
            f"<description>{escape(BODY)}</description>",
        )
    ),
    "content_encoded_cdata": rss(
        item(
            "<title>普京与马克龙通话</title><link>https://www.zaobao.com/a/2</link>",
            "<description><![CDATA[<p>普京与马克龙通电话。</p>]]></description>",
            f"<content:encoded><![CDATA[{BODY}]]></content:encoded>",
        )
    ),
    "content_before_description": rss(
        item(
            "<title>t</title>",
            f"<content:encoded><![CDATA[{PLAIN_BODY}]]></content:encoded>",
            "<description>先有正文，后有摘要。</description>",
        )
    ),
    "plain_markup_body": rss(
        item(
            "<title>t</title><link>/a/3</link>",
            f"<description><![CDATA[{PLAIN_BODY}]]></description>",
        )
    ),
    "dc_creator_and_author": rss(
        item(
            "<title>t</title><dc:creator> 早报记者 </dc:creator>",
            "<author>editor@zaobao.com (编辑部)</author><description>正文。</description>",
        )
    ),
    "categories": rss(
        item(
            "<title>t</title><category>俄罗斯</category><category domain='x'>乌克兰</category>",
            "<category>俄罗斯</category><category domain='y'></category><category>北约</category>",
            "<dc:subject>欧洲</dc:subject><description>正文。</description>",
        )
    ),
    "media_and_enclosures": rss(
        item(
            "<title>t</title><description>正文。</description>",
            '<media:content url="https://cdn.example/1.jpg" type="IMAGE/JPEG"/>',
            '<media:content url="https://cdn.example/v.mp4" type="video/mp4"/>',
            '<media:content url="https://cdn.example/2.png" medium="image"/>',
            '<media:thumbnail url="https://cdn.example/t.jpg"/>',
            "<media:thumbnail>/thumb/text.jpg</media:thumbnail>",
            '<enclosure url="https://cdn.example/a.mp3" type="audio/mpeg" length="1"/>',
            '<enclosure url="/img/e.png" type="image/png" length="1"/>',
        )
    ),
    "guid_permalink_no_link": rss(
        item(
            "<title>t</title><guid>https://www.zaobao.com/a/4?amp</guid><description>正文。</description>",
        )
    ),
    "guid_relative_permalink": rss(
        item(
            "<title>t</title><guid isPermaLink='true'>/a/5</guid><link>/a/5b</link>",
            "<description>x</description>",
        )
    ),
    "guid_not_permalink": rss(
        item(
            "<title>t</title><guid isPermaLink='false'>zb-6</guid><link>https://www.zaobao.com/a/6</link>",
            "<description>x</description>",
        )
    ),
    "guid_before_empty_link": rss(
        item(
            "<title>t</title><guid>https://www.zaobao.com/a/7</guid><link></link><description>x</description>",
        )
    ),
    "html_looking_title": rss(
        item(
            "<title>&lt;b&gt;乌克兰&lt;/b&gt;危机 &amp;amp; 欧洲</title>",
            "<description>x</description>",
        )
    ),
    "harmless_extras": rss(
        item(
            "<title>t</title><comments>https://www.zaobao.com/c/1</comments>",
            "<slash:comments>3</slash:comments><wfw:commentRss>https://www.zaobao.com/c/1/rss</wfw:commentRss>",
            "<source url='https://other.example/rss'>别家</source><description>x</description>",
        )
    ),
    "no_title": rss(item(f"<link>/a/8</link><description>{escape(BODY)}</description>")),
    "latin1_and_c1": rss(
        item(
            "<title>杰克·沙利文 café &#150; 会谈</title><description>Ã©t&#233; · x</description>",
        )
    ),
    "not_plain_markup_body": rss(
        item(
            "<title>t</title><link>/a/9</link>",
            "<description><![CDATA[<p class='x'>单引号<br/><!-- 注释 -->&#39;引号&#39;"
            "<a href=/rel>无引号</a>"
            '<img src="a.png" src="b.png"> &copy; a &lt; b</p>]]></description>',
        )
    ),
    "text_description_lines": rss(
        item(
            "<title>t</title><link>/a/10</link>",
            "<description>新华社北京11月22日电\n　　第一段 &amp;amp; a &amp;lt; b。\n\n",
            "　　第二段。</description>",
        )
    ),
    "text_content_beside_html_description": rss(
        item(
            "<title>t</title><description>&lt;p&gt;摘要&lt;/p&gt;</description>",
            "<content:encoded>第一段。\n　　第二段。</content:encoded>",
        )
    ),
    "two_items_and_channel_title_after": (
        f'<?xml version="1.0"?><rss version="2.0"><channel>{item("<title>一</title>")}'
        f"{item('<title>二</title><link>/2</link>')}<title>后置标题</title></channel></rss>"
    ).encode(),
    "no_xml_declaration": f'<rss version="2.0"><channel><title>t</title>{item("<title>x</title>")}'
    f"</channel></rss>".encode(),
}

DATES = [
    "Sat, 29 Jan 2022 08:30:00 +0800",
    "Sat, 29 Jan 2022 08:30:00 -0500",
    "Sat, 29 Jan 2022 08:30:00 GMT",
    "Sat, 29 Jan 2022 08:30:00 EST",
    "Sat, 29 Jan 2022 08:30:00 UT",
    "29 Jan 2022 08:30 +0530",
    "Sat, 29 Jan 22 08:30:00 PST",
    "2022-01-29T08:30:00+08:00",
    "Invalid Date",
    "",
]


@pytest.mark.parametrize("url", [None, URL], ids=["no-url", "url"])
@pytest.mark.parametrize("name", sorted(RSS_VARIANTS))
def test_rss_variants_match_feedparser(name: str, url: str | None):
    assert_same(RSS_VARIANTS[name], url)


@pytest.mark.parametrize("when", DATES)
def test_rss_dates_match_feedparser(when: str):
    data = rss(item(f"<title>t</title><pubDate>{when}</pubDate><description>x</description>"))
    assert_same(data, None)


YEAR_FIRST_DATES = [
    ("2022/01/03 12:00:00", "2022-01-03T12:00:00Z"),
    ("2022/1/3 12:00", "2022-01-03T12:00:00Z"),
    ("2022/01/03", "2022-01-03T00:00:00Z"),
    ("2022.01.03 12:00", "2022-01-03T12:00:00Z"),
    ("2022年01月03日 12:00:00", "2022-01-03T12:00:00Z"),
    ("2022/01/03 12:00:00 +0800", "2022-01-03T04:00:00Z"),
    ("2022-01-03 12:00:00 GMT", "2022-01-03T12:00:00Z"),
    ("2022/02/30 12:00", None),
    ("2022-13-45", None),
    ("2022年01月03日 下午3点", "2022-01-03T15:00:00Z"),
    ("2022年01月03日 下午", None),  # a half of the day is no time
    ("2022", "2022-01-01T00:00:00Z"),  # W3DTF: a year or a month alone is its first day
    ("2022-01", "2022-01-01T00:00:00Z"),
    ("2022-13", None),
    ("2022-01-03 10:00:00 CST", "2022-01-03T02:00:00Z"),  # China Standard Time
    ("2022-01-03T10:00:00 EST", "2022-01-03T15:00:00Z"),
]


@pytest.mark.parametrize(("when", "published"), YEAR_FIRST_DATES)
def test_year_first_dates_are_read_or_left_out_never_guessed(when: str, published: str | None):
    rss_item = item(f"<title>t</title><pubDate>{when}</pubDate><description>x</description>")
    atom_entry = entry(f"<title>t</title><id>tag:x,1</id><updated>{when}</updated>")
    for data in (rss(rss_item), atom(atom_entry)):
        (got,) = assert_same(data, None)
        assert got["published"] == published


@pytest.mark.parametrize(
    "when",
    ["Mon, 03 Jan 2022 10:00:00 CST", "Mon Jan 03 10:00:00 CST 2022", "03 Jan 2022 10:00 CST"],
)
def test_cst_is_china_standard_time(when: str):
    """Chinese sites' CST is +08:00 (Java's Date.toString in China), not RFC 822's -06:00."""
    (got,) = assert_same(rss(item(f"<title>t</title><pubDate>{when}</pubDate>")), None)
    assert got["published"].startswith("2022-01-03T02:00")


@pytest.mark.parametrize(
    "when",
    [
        "Sun, 22 Nov 2026 10:30:00 GMT+8",
        "Sun, 22 Nov 2026 10:30:00 GMT +8",
        "Sun, 22 Nov 2026 10:30:00 UTC+8",
        "Sun, 22 Nov 2026 10:30:00 UTC+08:00",
        "Sun, 22 Nov 2026 10:30:00 UTC+0800",
        "Sun, 22 Nov 2026 10:30:00 +8",
        "Sun Nov 22 2026 10:30:00 GMT+0800 (中国标准时间)",
    ],
)
def test_an_offset_after_gmt_or_utc_or_with_a_short_hour_is_read(when: str):
    """feedparser read these as UTC (or not at all): eight hours off for a Chinese feed."""
    (got,) = assert_same(rss(item(f"<title>t</title><pubDate>{when}</pubDate>")), None)
    assert got["published"] == "2026-11-22T02:30:00Z"


ESCAPED_TWICE = (
    '&lt;p&gt;第一段&lt;a href="/n1/x.html"&gt;链接&lt;/a&gt;&lt;/p&gt;'
    '&lt;p&gt;第二段&amp;nbsp;&lt;img src="/img/a.jpg" /&gt;&lt;/p&gt;'
    "&lt;script&gt;x()&lt;/script&gt;"
)


@pytest.mark.parametrize("url", [None, URL], ids=["no-url", "url"])
@pytest.mark.parametrize(
    "description",
    [f"<![CDATA[{ESCAPED_TWICE}]]>", escape(ESCAPED_TWICE)],
    ids=["cdata", "entities"],
)
def test_a_body_escaped_twice_is_read_as_its_markup(description: str, url: str | None):
    """Its tags were the text (``<p>第一段<a href=…``), in search and digests alike."""
    link = "<link>https://news.example/a/1</link>"
    data = rss(item(f"<title>t</title>{link}<description>{description}</description>"))
    (got,) = assert_same(data, url)
    assert got["text"] == "第一段链接\n第二段"
    assert got["html"].startswith("<p>第一段<a href=")
    assert "script" not in got["html"]
    assert got["images"] == [{"url": "https://news.example/img/a.jpg", "caption": None}]


@pytest.mark.parametrize(
    "escaped",
    [
        "第一段&lt;br&gt;第二段&lt;BR /&gt;第三段",
        "&lt;p&gt;第一段&lt;p&gt;第二段&lt;p&gt;第三段",
        '第一段&lt;img src="https://i.example/a.jpg"&gt;&lt;br/&gt;第二段&lt;hr&gt;第三段',
    ],
)
@pytest.mark.parametrize("cdata", [True, False], ids=["cdata", "entities"])
def test_a_body_escaped_twice_without_end_tags_is_read_as_its_markup(escaped: str, cdata: bool):
    description = f"<![CDATA[{escaped}]]>" if cdata else escape(escaped)
    data = rss(item(f"<title>t</title><description>{description}</description>"))
    (got,) = assert_same(data, None)
    assert got["text"] == "第一段\n第二段\n第三段"


def test_escaped_text_that_is_no_markup_stays_text():
    description = escape("公式 &lt;/x&gt; 与 &lt;/p&gt;&lt;/foo&gt; 原样")
    (got,) = assert_same(
        rss(item(f"<title>t</title><description>{description}</description>")), None
    )
    assert got["text"] == "公式</x>与</p></foo>原样"
    (got,) = assert_same(
        rss(item(f"<title>t</title><description>{escape('A股&lt;3000点')}</description>")), None
    )
    assert got["text"] == "A股<3000点"


def test_dc_date_is_the_fallback_when_pubdate_is_unreadable():
    data = rss(item(
        "<title>t</title><pubDate>Invalid Date</pubDate>",
        "<dc:date>2022-01-26T21:00:00+02:00</dc:date><description>x</description>",
    ))  # fmt: skip
    (got,) = assert_same(data, None)
    assert got["published"] == "2022-01-26T19:00:00Z"


def test_published_is_utc_whatever_the_machine_zone(shanghai_clock):
    data = rss(item("<title>t</title><pubDate>Sat, 29 Jan 2022 08:30:00 +0800</pubDate>"))
    (got,) = assert_same(data, None)
    assert got["published"] == "2022-01-29T00:30:00Z"


ATOM_VARIANTS = {
    "content_html_and_summary": atom(
        entry(
            '<title type="html">&lt;b&gt;烏克蘭&lt;/b&gt;危機</title>',
            "<id>tag:example.org,2022:1</id>",
            '<link rel="alternate" href="https://example.org/a/1"/>',
            "<published>2022-02-01T10:00:00+08:00</published>",
            "<updated>2022-02-01T11:30:00+08:00</updated>",
            "<author><name>端傳媒記者</name></author>",
            "<category term='國際'/><category term='x' label='歐洲'/>",
            "<summary>歐洲各國立場不一。</summary>",
            f'<content type="html">{escape(BODY)}</content>',
        )
    ),
    "content_text": atom(
        entry(
            "<title>純文字</title><id>https://example.org/a/2</id>",
            '<link href="https://example.org/a/2"/><updated>2022-01-31T23:00:00-05:00</updated>',
            '<content type="text">這是純文字 &lt;不是標籤&gt;。</content>',
        )
    ),
    "text_lines_and_markup": atom(
        entry(
            "<title>t</title><id>tag:x,9</id><summary>摘要 &lt;b&gt;不是标签&lt;/b&gt;</summary>",
            '<content type="text">第一行\n　　第二行 &lt;p&gt;c&lt;/p&gt; &amp;amp; d</content>',
        )
    ),
    "summary_only": atom(
        entry(
            "<title>只有摘要</title><id>tag:x,1</id><updated>2022-01-31T23:00:00Z</updated>",
            '<summary type="html">&lt;p&gt;摘要&lt;img src="/i.png"&gt;&lt;/p&gt;</summary>',
        )
    ),
    "updated_only_no_published": atom(
        entry(
            "<title>t</title><id>tag:x,2</id><updated>2022-01-31T23:00:00-05:00</updated>",
            f"<content type='html'>{escape(PLAIN_BODY)}</content>",
        )
    ),
    "links_among_others": atom(
        entry(
            "<title>t</title><id>tag:x,3</id>",
            '<link rel="self" href="https://example.org/self"/>',
            '<link rel="enclosure" type="image/jpeg" href="/enc.jpg"/>',
            '<link rel="related" href="https://example.org/rel"/>',
            '<link rel="alternate" type="application/atom+xml" href="https://example.org/feed"/>',
            '<link rel="ALTERNATE" type="text/html" href="/a/3"/>',
            "<content type='html'>正文</content>",
        )
    ),
    "id_stands_in_for_link": atom(entry("<title>t</title><id>/a/4</id><content>正文</content>")),
    "author_name_and_email": atom(
        entry(
            "<title>t</title><id>tag:x,5</id>",
            "<author><email>a@example.org</email><name> 記者 </name><uri>/about</uri></author>",
        )
    ),
    "author_uri_only": atom(
        entry("<title>t</title><id>tag:x,6</id><author><uri>https://example.org/me</uri></author>")
    ),
    "media_thumbnail": atom(
        entry("<title>t</title><id>tag:x,7</id><media:thumbnail url='https://cdn.example/t.jpg'/>")
    ),
}


@pytest.mark.parametrize("url", [None, URL], ids=["no-url", "url"])
@pytest.mark.parametrize("name", sorted(ATOM_VARIANTS))
def test_atom_variants_match_feedparser(name: str, url: str | None):
    assert_same(ATOM_VARIANTS[name], url)


TITLE = "拜登普京通话 双方互发警告 “红线” 独家"
TITLE_SPELLINGS = {
    "rss_plain": rss(item(f"<title>{TITLE}</title><description>x</description>")),
    "rss_entities": rss(item(
        "<title>拜登普京通话 双方互发警告 &amp;ldquo;红线&amp;rdquo; 独家</title>",
        "<description>x</description>",
    )),
    "rss_cdata_markup": rss(item(
        "<title><![CDATA[拜登普京通话  双方互发警告\n“红线” <em>独家</em>]]></title>",
        "<description>x</description>",
    )),
    "atom_html": atom(entry(
        '<title type="html">拜登普京通话 双方互发警告 “红线” &lt;em&gt;独家&lt;/em&gt;</title>',
        "<id>tag:x,1</id>",
    )),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(TITLE_SPELLINGS))
def test_title_reads_the_same_however_the_feed_escaped_it(name: str):
    (got,) = assert_same(TITLE_SPELLINGS[name], None)
    assert got["title"] == TITLE


OUTLET = "新闻 & 评论 “早报”"
OUTLET_SPELLINGS = {
    "rss_plain": rss(item("<title>t</title>"), channel_title="新闻 &amp; 评论 “早报”"),
    "rss_entities": rss(
        item("<title>t</title>"), channel_title="新闻 &amp;amp; 评论 &amp;ldquo;早报&amp;rdquo;"
    ),
    "rss_cdata_markup": rss(
        item("<title>t</title>"), channel_title="<![CDATA[新闻 &amp; 评论 <b>“早报”</b>]]>"
    ),
    "atom_html": atom(entry("<title>t</title><id>tag:x,1</id>")).replace(
        "<title>端傳媒</title>".encode(),
        '<title type="html">新闻 &amp;amp; 评论 &lt;b&gt;“早报”&lt;/b&gt;</title>'.encode(),
    ),
}


@pytest.mark.parametrize("name", sorted(OUTLET_SPELLINGS))
def test_the_outlet_named_by_the_feeds_title_reads_the_same_however_it_was_escaped(name: str):
    (got,) = assert_same(OUTLET_SPELLINGS[name], None)
    assert got["site"] == OUTLET


@pytest.mark.parametrize(
    ("data", "author"),
    [
        (RSS_VARIANTS["dc_creator_and_author"], "编辑部"),  # RSS: "editor@zaobao.com (编辑部)"
        (ATOM_VARIANTS["author_name_and_email"], "記者"),  # feedparser: "記者 (a@example.org)"
        (rss(item("<title>t</title><author>editor@zaobao.com</author>")), "editor@zaobao.com"),
    ],
    ids=["rss", "atom", "email-only"],
)
def test_the_author_is_the_name_without_the_email_address(data: bytes, author: str):
    (got,) = assert_same(data, None)
    assert got["author"] == author


def test_atom_xhtml_content_goes_to_feedparser():
    data = atom(entry(
        "<title>t</title><id>tag:x,8</id>",
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>正文</p></div></content>',
    ))  # fmt: skip
    (got,) = assert_same(data, URL, fast=False)
    assert got["text"] == "正文"


@pytest.mark.parametrize("url", [None, URL], ids=["no-url", "url"])
def test_rss10_matches_feedparser(url: str | None):
    data = rdf(
        '<item rdf:about="https://example.org/a/1"><title>乌克兰总统发表全国讲话</title>'
        "<link>https://example.org/a/1</link><description>泽连斯基呼吁民众保持冷静。</description>"
        "<dc:date>2022-01-26T21:00:00+02:00</dc:date><dc:creator>编辑</dc:creator>"
        f"<dc:subject>乌克兰</dc:subject><content:encoded><![CDATA[{BODY}]]></content:encoded></item>"
        '<item rdf:about="https://example.org/a/2"><title>第二条</title><link>/a/2</link></item>'
    )
    got = assert_same(data, url)
    assert got[0]["format"] == "rss" and got[0]["tags"] == ["乌克兰"]


ATOM10 = 'xmlns:atom="http://www.w3.org/2005/Atom"'
# The feed's own links, the base of a saved feed's relative links (test_feed_links).
FEED_LINKS = {
    "rss_self_then_page": f'<rss version="2.0" {ATOM10}><channel><title>t</title>'
    '<atom:link href="https://www.zaobao.com/rss.xml" rel="self" type="application/rss+xml"/>'
    "<link> https://www.zaobao.com/a?x=1&amp;y=2 </link><link>/second</link>"
    f"{item('<title>x</title><link>/a/1</link>')}</channel></rss>",
    "rss_relative_page": f'<rss version="2.0"><channel><title>t</title><link>/</link>'
    f"{item('<title>x</title><link>/a/1</link><guid>https://www.zaobao.com/a/1</guid>')}"
    "</channel></rss>",
    "rss_image_link_only": '<rss version="2.0"><channel><title>t</title><image><url>'
    "https://www.zaobao.com/logo.png</url><link>https://www.zaobao.com/</link><title>t</title>"
    f"</image>{item('<title>x</title><link>a/1</link>')}</channel></rss>",
    "atom_links": '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>tag:x</id>'
    '<link rel="self" href="https://example.org/feed"/><link rel="alternate" '
    'type="application/atom+xml" href="https://example.org/other"/><link href="/blog/"/>'
    '<link rel="ALTERNATE" type="TEXT/HTML" href="https://example.org/blog/"/>'
    + entry('<title>x</title><id>tag:x,1</id><link href="posts/1"/>')
    + "</feed>",
}


@pytest.mark.parametrize("name", sorted(FEED_LINKS))
def test_the_feeds_own_links_match_feedparser(name: str):
    data = FEED_LINKS[name].encode()
    fast = fastfeed.read(data, None)
    assert fast is not None
    assert fast[3] == feedparser.parse(data).feed.get("links", [])
    assert_same(data, None)


# --- what the fast path leaves to feedparser --------------------------------------------

FALLBACKS = {
    "undefined_entity": rss(item("<title>a&nbsp;b</title><description>x</description>")),
    "doctype": b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY t "x">]>'
    + rss(item("<title>&t;</title>")).split(b"?>", 1)[1],
    "other_encoding": rss(item("<title>标题</title>"))
    .decode()
    .replace("UTF-8", "GB2312")
    .encode("gb2312"),
    "xml_base": rss(item('<title xml:base="https://x.example/">t</title><link>a</link>')),
    "unknown_element_in_item": rss(
        item(
            "<title>t</title><itunes:summary xmlns:itunes="
            '"http://www.itunes.com/DTDs/PodCast-1.0.dtd">s</itunes:summary>'
        )
    ),
    "two_descriptions": rss(
        item("<title>t</title><description>a</description><description>b</description>")
    ),
    "markup_inside_description": rss(
        item("<title>t</title><description><p>直接的标签</p></description>")
    ),
    "atom_0_3": b'<feed xmlns="http://purl.org/atom/ns#" version="0.3"><title>t</title>'
    b"<entry><title>x</title></entry></feed>",
}


@pytest.mark.parametrize("name", sorted(FALLBACKS))
def test_documents_the_fast_path_does_not_understand_go_to_feedparser(name: str):
    assert_same(FALLBACKS[name], URL, fast=False)


@pytest.mark.parametrize("codec", ["gbk", "gb18030", "big5"])
def test_a_gbk_or_big5_feed_is_read_by_the_fast_path_once_it_is_utf8(monkeypatch, codec: str):
    """Most Chinese outlets' legacy feeds: feedparser took ~8x as long for the same items."""
    body = "<p>香港特區政府今日公佈立法會選舉結果，<a href='/x'>詳情</a>。</p>"
    data = rss(
        item(
            "<title>立法會選舉結果公佈</title><link>https://news.example/a/1</link>",
            f"<description>{escape(body)}</description><category>香港</category>",
        ),
        channel_title="明報 即時新聞",
    )
    text = data.decode().replace("国际新闻", "國際新聞")  # Big5 holds Traditional only
    legacy = text.replace('encoding="UTF-8"', f'encoding="{codec}"').encode(codec)
    reference = both_paths(legacy, URL)[1]
    assert reference[0]["text"] == "香港特區政府今日公佈立法會選舉結果，詳情。"

    def no_feedparser(*args):
        raise AssertionError("read by feedparser")

    monkeypatch.setattr(feed, "_read_with_feedparser", no_feedparser)
    assert [it.to_dict() for it in feed.parse(legacy, url=URL)] == reference


def test_a_feed_with_blank_lines_before_its_prolog_is_read_by_the_fast_path(monkeypatch):
    """A PHP include's stray newline puts the prolog off the start, which XML forbids."""
    data = b"\r\n\n  " + RSS_VARIANTS["description_only"]
    reference = both_paths(data, URL)[1]
    assert reference == both_paths(RSS_VARIANTS["description_only"], URL)[1]

    def no_feedparser(*args):
        raise AssertionError("read by feedparser")

    monkeypatch.setattr(feed, "_read_with_feedparser", no_feedparser)
    assert [it.to_dict() for it in feed.parse(data, url=URL)] == reference


def test_malformed_xml_falls_back_and_feedparser_still_recovers_entries():
    data = rss(item("<title>坏&掉</title><link>/a/1</link><description>正文</description>"))
    assert fastfeed.read(data, URL) is None
    (got,) = feed.parse(data, url=URL)
    assert got.url == "https://news.example/a/1" and got.text == "正文"


def test_malformed_xml_that_feedparser_cannot_read_either_is_a_parse_error():
    data = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>x'
    assert fastfeed.read(data, None) is None
    with pytest.raises(ParseError, match="unreadable feed"):
        feed.parse(data)


@pytest.mark.parametrize(
    ("url", "base"), [(URL, "https://news.example"), (None, "https://www.zaobao.com")]
)
def test_relative_media_and_enclosure_images_are_made_absolute(url: str | None, base: str):
    data = rss(
        item(
            "<title>t</title><link>https://www.zaobao.com/a/1</link><description>正文。</description>",
            '<media:content url="/m.jpg" medium="image"/><media:thumbnail url="/t.jpg"/>',
            '<enclosure url="/img/e.png" type="image/png" length="1"/>',
        )
    )
    (got,) = assert_same(data, url)
    assert [im["url"] for im in got["images"]] == [
        f"{base}/m.jpg",
        f"{base}/t.jpg",
        f"{base}/img/e.png",
    ]


def test_valid_empty_feed_has_no_items_on_the_fast_path():
    data = rss("")
    home = {"rel": "alternate", "type": "text/html", "href": "https://www.zaobao.com/"}
    title = {"title": "联合早报 国际", "title_detail": {"type": "text/plain"}}
    assert fastfeed.read(data, None) == ("rss", title, [], [home])
    assert fastfeed.read(data, URL) == ("rss", title, [], [])  # read without a URL only
    assert feed.parse(data) == []


# --- random mixes -----------------------------------------------------------------------

WORDS = ["美国", "总统", "Vladimir", "Putin", "，", "。", "“", "”", "‧", "50", "·", "é"]
INLINE = ["b", "a", "span", "strong", "em", "ok"]


def random_html(rng: random.Random, depth: int = 0) -> str:
    out = []
    for _ in range(rng.randint(1, 5)):
        r = rng.random()
        out.append(rng.choice(["", " ", "\n  "]))
        if r < 0.45 or depth > 2:
            out.append(rng.choice(WORDS))
        elif r < 0.55:
            src = rng.choice(["/i/1.jpg", "https://cdn.example/2.png", "rel.gif", "data:x"])
            out.append(rng.choice([f'<img src="{src}" alt="图">', f"<img src='{src}'/>"]))
        elif r < 0.6:
            out.append(rng.choice(["&amp;", "&nbsp;", "&#39;", "<br>", "<br/>", "<!-- c -->"]))
        else:
            tag = rng.choice(["p", "div", *INLINE])
            attrs = rng.choice(["", ' href="/t/1"', ' href="https://e.example/x?a=1&amp;b=2"',
                                ' class="c" title="题"', " onclick='x()'"])  # fmt: skip
            out.append(f"<{tag}{attrs}>{random_html(rng, depth + 1)}</{tag}>")
    return "".join(out)


def random_item(rng: random.Random, n: int) -> str:
    body = random_html(rng)
    parts = [
        f"<title>{escape(rng.choice(['标题', '<b>粗体</b>标题', 'A &amp; B', '']))} {n}</title>",
        rng.choice(["", f"<link>{rng.choice(['/a/', 'https://www.example.com/a/'])}{n}</link>"]),
        rng.choice(
            ["", f"<guid>https://g.example/{n}</guid>", f"<guid isPermaLink='false'>g{n}</guid>"]
        ),
        rng.choice(["", f"<pubDate>{rng.choice(DATES)}</pubDate>"]),
        rng.choice(["", "<dc:creator>记者</dc:creator>"]),
        rng.choice(["", "<category>国际</category>", "<category domain='d'>欧洲</category>"]),
        rng.choice(["", f"<description>{escape(body)}</description>"]),
        rng.choice(["", f"<content:encoded><![CDATA[{random_html(rng)}]]></content:encoded>"]),
        rng.choice(["", '<enclosure url="/e.jpg" type="image/jpeg" length="1"/>']),
        rng.choice(["", '<media:content url="https://cdn.example/m.jpg" medium="image"/>']),
    ]
    rng.shuffle(parts)
    return item(*parts)


@pytest.mark.parametrize("seed", range(40))
def test_random_rss_feeds_match_feedparser(seed: int):
    rng = random.Random(seed)
    data = rss("".join(random_item(rng, n) for n in range(5)))
    assert_same(data, rng.choice([None, URL]))


# --- plain markup -----------------------------------------------------------------------


def _one_pattern_definition() -> re.Pattern[str]:
    """The plain-markup test as one search: a "<" that opens no plain tag, with repeated
    attribute names found by a case-blind back-reference. Slow; the module's pieces must
    agree with it."""
    ws = fastfeed._WS

    def attr(group: str) -> str:
        dup = rf"(?![^<>]*{ws}(?i:(?P={group})){ws}*=)"
        value = '"[^"<>&]*(?:&amp;[^"<>&]*)*"'
        return rf"{ws}+(?P<{group}>[a-zA-Z_][-a-zA-Z0-9_:.]*){dup}{ws}*={ws}*{value}"

    void = fastfeed._VOID
    return re.compile(
        rf"""<(?!
          /(?!{void}{ws}*>)[a-zA-Z][a-zA-Z0-9]*{ws}*>
        | [a-zA-Z][a-zA-Z0-9]*(?:{attr("a")})*{ws}*>
        | [a-zA-Z][a-zA-Z0-9]*(?:{attr("b")})+{ws}*/>
        | {void}{ws}*/>
        )""",
        re.X,
    )


PIECES = ["<p>", "</p>", "<br>", "<br/>", "</br>", '<img src="a"/>', '<img src="a" SRC="b">',
          '<a title=" title=x">', '<a title=" title =x" href="y">', '<a href="1" hreF = "2">',
          '<a href="x&amp;y">', "<a href='x'>", "</a>", "< p>", "<p ", "a<b", '<x y="1" Y="2">',
          '<div\n class="c">', "<hr />", "</hr>", "<!-- c -->", "<", ">", "中文", "&amp;", '"',
          '<b title="a>b">', "<B>", "</ B>", '<a k="\u212a=">', '<a k="x \u212a=">',
          '<img alt="İ" src="s">', '<a id="x \u0130d=">', " ", "=", "src=", "\u017f"]  # fmt: skip


@pytest.mark.parametrize("seed", range(20))
def test_plain_markup_check_agrees_with_its_one_pattern_definition(seed: int):
    reference = _one_pattern_definition()
    reader = fastfeed._Reader(None)
    reader.fix = fastfeed._repair
    rng = random.Random(seed)
    plain = 0
    for _ in range(500):
        s = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))
        s = s if rng.random() < 0.5 else random_html(rng)
        expected = reference.search(s) is None and not fastfeed._NOT_PLAIN_REF.search(s)
        assert reader._plain_html(s) == expected, s
        plain += expected
    assert 50 < plain < 450


@pytest.mark.parametrize(
    "body",
    [
        "<p>cafÃ© au lait</p>",  # UTF-8 read as Latin-1: feedparser repairs it
        '<p><img src="https://cdn.example/a.jpg" alt="Ã©"/></p>',
        "<p>café</p>",  # Latin-1 that is not such a reading: left as it is
        '<p><a href="https://e.example/?a=1">链接</a></p>',
    ],
)
def test_plain_bodies_the_sanitizer_skips_match_feedparser(body: str):
    """Bodies the nh3 prediction answers for take fastfeed's quick plain-markup answer."""
    assert sanitized.predict(body, sort_attributes=True) is not None
    data = rss(item("<title>t</title>", f"<content:encoded><![CDATA[{body}]]></content:encoded>"))
    assert_same(data, URL)


def test_a_c1_character_keeps_a_body_off_the_prediction():
    """fastfeed checks a predicted body with ``_repair`` alone, not the C1 half of
    ``_fix``: that holds only while no body with a C1 character is predicted."""
    for body in ("<p>a \x96 b</p>", '<p><img src="https://cdn.example/a.jpg" alt="\x96"></p>'):
        assert sanitized.predict(body, sort_attributes=True) is None
    # "&#" in the document: fastfeed reads every value with _fix
    body = "&lt;p&gt;a &#150; b&lt;/p&gt;"
    data = rss(item("<title>&#8217;</title>", f"<content:encoded>{body}</content:encoded>"))
    assert assert_same(data, URL)[0]["text"] == "a\u2013b"  # cp1252 for the C1 character


def test_a_body_the_prediction_turned_away_is_not_predicted_again(monkeypatch):
    """fastfeed predicts a body's sanitizer output while it reads the tags; when that
    fails, the body reader must not run the same prediction again (a table, a figure)."""
    asked = []
    real = sanitized.predict

    def counting(html, *, sort_attributes=False):
        asked.append(html)
        return real(html, sort_attributes=sort_attributes)

    monkeypatch.setattr(fastfeed, "predict", counting)
    monkeypatch.setattr(body_module, "predict", counting)
    table = "<p>表格</p><table><tr><td>一</td></tr></table>"
    data = rss(item("<title>t</title>", f"<content:encoded><![CDATA[{table}]]></content:encoded>"))
    items = feed.parse(data, url=URL)
    assert items[0].text == "表格\n一"
    assert asked.count(table) == 1


def test_a_body_repeated_as_the_summary_is_read_once(monkeypatch):
    """Without a description, feeds repeat the body as the summary; its text is the item's
    text already, so only a separate description is read as text again."""
    read_as_summary = []
    real = feed.body_text
    monkeypatch.setattr(feed, "body_text", lambda h, **k: read_as_summary.append(h) or real(h, **k))
    only_body = item("<title>t</title>", f"<content:encoded><![CDATA[{BODY}]]></content:encoded>")
    for url in (URL, None):
        [it] = feed.parse(rss(only_body), url=url)
        assert it.summary.startswith("俄罗斯总统普京与法国总统马克龙")
    assert read_as_summary == []
    both = item(
        "<title>t</title><description>摘要</description>",
        f"<content:encoded>{escape(BODY)}</content:encoded>",
    )
    assert feed.parse(rss(both), url=URL)[0].summary == "摘要"
    assert read_as_summary == ["摘要"]


@pytest.mark.parametrize("url", [None, URL])
def test_an_image_known_only_by_its_srcset_is_found_on_both_paths(url: str | None):
    img = '<img alt="图" srcset="/img/s.jpg 480w, /img/l.jpg 1080w">'
    data = rss(item(f"<title>t</title><link>{URL}</link><description>{escape(img)}</description>"))
    got = assert_same(data, url)
    assert [im["url"] for im in got[0]["images"]] == ["https://news.example/img/l.jpg"]


@pytest.mark.parametrize("url", [None, URL])
def test_a_video_poster_is_an_image_on_both_paths(url: str | None):
    video = '<p>视频</p><video src="/v/1.mp4" poster="/v/1.jpg"></video>'
    description = f"<description>{escape(video)}</description>"
    data = rss(item(f"<title>t</title><link>{URL}</link>", description))
    got = assert_same(data, url)
    assert [im["url"] for im in got[0]["images"]] == ["https://news.example/v/1.jpg"]
