"""Feed bodies that are text, not HTML: their line breaks are their paragraphs.

Chinese CMSs write an RSS description with no markup at all, one paragraph a line, each
indented by "　　"; Atom says a body is text with ``type="text"`` (a summary's default).
Read as HTML, the lines ran together into one and an Atom text's "<p>" became markup.
Each document is read on both paths (fastfeed and feedparser) and must give one answer.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from monitor.parsers import fastfeed, feed

URL = "https://www.news.cn/rss/politics.xml"
XINHUA = "新华社北京11月22日电\n　　第一段。\n　　第二段。\n"


def rss(*item_parts: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>新华网</title>'
        "<link>https://www.news.cn/</link><item><title>国务院召开常务会议</title>"
        f"<link>https://www.news.cn/2026/1122/c_1.htm</link>{''.join(item_parts)}</item>"
        "</channel></rss>"
    ).encode()


def atom(*entry_parts: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>端傳媒</title><id>tag:example.org,2026:feed</id>"
        "<updated>2026-11-22T08:00:00Z</updated><entry><title>標題</title>"
        '<id>tag:example.org,2026:1</id><link href="https://example.org/a/1"/>'
        f"<updated>2026-11-22T08:00:00Z</updated>{''.join(entry_parts)}</entry></feed>"
    ).encode()


@pytest.fixture(params=["fastfeed", "feedparser"])
def path(request, monkeypatch):
    """Which reader ``feed.parse`` uses: fastfeed as it runs, or feedparser alone."""
    if request.param == "feedparser":
        monkeypatch.setattr(fastfeed, "read", lambda *a, **k: None)
    return request.param


def read(data: bytes, url: str | None, path: str):
    if path == "fastfeed":
        assert fastfeed.read(data, url) is not None, "fast path taken"
    (got,) = feed.parse(data, url=url)
    return got


@pytest.mark.parametrize("url", [URL, None], ids=["polled", "imported"])
@pytest.mark.parametrize(
    "part",
    [
        f"<description>{XINHUA}</description>",
        f"<description><![CDATA[{XINHUA}]]></description>",
        f"<content:encoded>{XINHUA}</content:encoded>",
    ],
    ids=["description", "cdata", "content-encoded"],
)
def test_an_rss_body_without_markup_keeps_its_paragraphs(part, url, path):
    got = read(rss(part), url, path)
    assert got.text == "新华社北京11月22日电\n第一段。\n第二段。"
    assert got.html == "<p>新华社北京11月22日电</p><p>第一段。</p><p>第二段。</p>"
    assert got.summary == "新华社北京11月22日电第一段。第二段。"


def test_an_rss_text_body_still_reads_its_character_references(path):
    """No "<", but still HTML to RSS: "&amp;nbsp;" and "&amp;lt;" are references."""
    body = "中美&amp;nbsp;会谈\n　　甲 &amp;lt; 乙&amp;amp;丙"
    got = read(rss(f"<description>{body}</description>"), URL, path)
    assert got.text == "中美会谈\n甲<乙&丙"
    assert got.html == "<p>中美&nbsp;会谈</p><p>甲&lt;乙&amp;丙</p>"


def test_an_rss_text_body_escaped_twice_is_markup_unless_its_tags_are_no_html(path):
    twice = escape(escape("<p>　　第一段。</p>\n<p>　　第二段。</p>"))
    got = read(rss(f"<description>{twice}</description>"), URL, path)
    assert (got.text, got.html) == ("第一段。\n第二段。", "<p>第一段。</p><p>第二段。</p>")
    formula = escape(escape("公式 </x> 与 </foo>\n　　第二行"))
    got = read(rss(f"<description>{formula}</description>"), URL, path)
    assert got.text == "公式</x>与</foo>\n第二行"


@pytest.mark.parametrize(
    ("description", "text"),
    [
        ("<p>　　第一段。</p>\n<p>　　第二段。</p>", "第一段。\n第二段。"),
        ("第一段。<br>\n第二段。", "第一段。\n第二段。"),
        # HTML with no declaration, which RSS bodies are: its lines run on, as before
        ("第一段。\n第二段 <b>粗体</b>。", "第一段。第二段粗体。"),
    ],
    ids=["paragraphs", "br", "inline-tag"],
)
def test_an_rss_body_with_any_markup_is_read_as_html(description, text, path):
    got = read(rss(f"<description>{escape(description)}</description>"), URL, path)
    assert got.text == text


@pytest.mark.parametrize("url", [URL, None], ids=["polled", "imported"])
@pytest.mark.parametrize(
    "part",
    [
        '<content type="text">{}</content>',
        "<content>{}</content>",  # content's default type is text too
        '<summary type="text">{}</summary>',
        "<summary>{}</summary>",
    ],
    ids=["content-text", "content-untyped", "summary-text", "summary-untyped"],
)
def test_an_atom_text_body_is_text_with_its_lines(part, url, path):
    got = read(atom(part.format("第一行\n　　第二行 &lt;p&gt;c&lt;/p&gt; &amp;amp;")), url, path)
    assert got.text == "第一行\n第二行<p>c</p> &amp;"  # no space beside a Chinese character
    assert got.html == "<p>第一行</p><p>第二行&lt;p&gt;c&lt;/p&gt; &amp;amp;</p>"


def test_an_atom_html_body_beside_a_text_summary_is_html(path):
    """Each body by its own type: the summary is text, the content HTML."""
    got = read(
        atom(
            "<summary>摘要：&lt;b&gt;a&lt;/b&gt;</summary>",
            f'<content type="html">{escape("<p>第一段。</p><p>第二段。</p>")}</content>',
        ),
        URL,
        path,
    )
    assert (got.text, got.summary) == ("第一段。\n第二段。", "摘要：<b>a</b>")
    assert got.html == "<p>第一段。</p><p>第二段。</p>"
