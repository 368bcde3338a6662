"""Parsers: seed goldens, one fixture per known variant, and the shared text rules.

Run with ``UPDATE_GOLDEN=1`` to rewrite tests/golden/*.json from the current output;
read the diff before committing it.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import os
import random
import re
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
import respx
from opencc import OpenCC

from monitor import text as text_module
from monitor.models import NotAnArticle, ParseError
from monitor.parsers import dates, detect, epoch_mirror, parse
from monitor.parsers.html import clean_html, html_to_text, join_url, squeeze, summarize
from monitor.text import CJK_CHARS, detect_lang

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "parsers"
GOLDEN = Path(__file__).resolve().parent / "golden"

# Filled later by the keying step, so not part of what a parser promises.
NOT_PARSER_FIELDS = ("canonical_url", "story_key")
WIDE = f"{CJK_CHARS}，。、：；！？（）“”"
SPACE_IN_CHINESE = re.compile(f"[{WIDE}][^\\S\\n]+[{WIDE}]")


def seed(stem: str) -> bytes:
    (path,) = SEEDS.glob(f"{stem}_*.txt")
    return path.read_bytes()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def one(data: bytes, **kw):
    items = parse(data, **kw)
    assert len(items) == 1
    return items[0]


def parser_view(item) -> dict:
    d = item.to_dict(with_html=False)
    for key in NOT_PARSER_FIELDS:
        d.pop(key)
    return d


# --- seeds: golden files and the values the brief fixes -------------------------------

SEED_PATHS = sorted(SEEDS.glob("*.txt"))


@pytest.mark.parametrize("path", SEED_PATHS, ids=lambda p: p.stem[:3])
def test_seed_matches_golden(path: Path):
    got = parser_view(one(path.read_bytes()))
    golden = GOLDEN / f"{path.stem}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert golden.exists(), f"missing {golden.name}: run UPDATE_GOLDEN=1 pytest"
    assert got == json.loads(golden.read_text(encoding="utf-8"))


EXPECTED = {
    "000": dict(
        title="拜登普京本月第二度通话 双方互发警告",
        published="2021-12-31",
        site="大纪元",
        url="https://www.epochtimes.com/gb/21/12/31/n13473224.htm",
        format="epoch-mirror",
        author="高杉",
        alt_urls=["../../../..?n13473224"],
    ),
    "002": dict(
        title="本月第二次会谈 拜登普京结束通话",
        published="2021-12-30",
        site="大纪元",
        url="https://www.epochtimes.com/gb/21/12/30/n13470319.htm",
        format="epoch-mirror",
        author="李馨",
        alt_urls=["../../../..?n13470319"],
    ),
    "001": dict(
        title="担心战争爆发：拜登与普京在视频峰会上讨论乌克兰危机",
        published="2021-12-08T01:56:33Z",
        site="Aljazeera 半岛网",
        url=None,
        format="hexo",
    ),
    "003": dict(
        title="视频2小时！拜登威胁制裁，普京：北约需承诺不东扩",
        published="2021-12-08T09:29:42Z",
        site="观察者网",
        url=None,
        format="hexo",
    ),
    "004": dict(
        title="美乌总统新年来二度通话 拜登警告俄罗斯明显可能2月入侵乌克兰",
        published="2022-01-28T15:45:02Z",
        site=None,
        url=(
            "https://www.rfi.fr/cn/%E6%AC%A7%E6%B4%B2/20220128-%E7%BE%8E%E4%B9%8C%E6%80%BB%E7%BB"
            "%9F%E6%96%B0%E5%B9%B4%E6%9D%A5%E4%BA%8C%E5%BA%A6%E9%80%9A%E8%AF%9D-%E6%8B%9C%E7%99"
            "%BB%E8%AD%A6%E5%91%8A%E4%BF%84%E7%BD%97%E6%96%AF%E6%98%8E%E6%98%BE%E5%8F%AF%E8%83"
            "%BD2%E6%9C%88%E5%85%A5%E4%BE%B5%E4%B9%8C%E5%85%8B%E5%85%B0"
        ),
        format="feed-archive",
    ),
}


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_seed_required_values(stem: str):
    d = parser_view(one(seed(stem)))
    for key, value in EXPECTED[stem].items():
        assert d[key] == value, key
    assert d["lang"] == "zh-Hans"
    assert d["text"] and d["summary"] and d["text"].startswith(d["summary"][:20])


def test_seed_004_url_is_the_link_exactly_as_written():
    raw = seed("004").decode()
    assert f"]({EXPECTED['004']['url']})" in raw


@pytest.mark.parametrize("path", SEED_PATHS, ids=lambda p: p.stem[:3])
def test_seed_text_has_no_spaces_between_chinese(path: Path):
    text = one(path.read_bytes()).text
    assert not SPACE_IN_CHINESE.search(text), SPACE_IN_CHINESE.search(text)
    assert "  " not in text and "\n\n" not in text and text == text.strip()


@pytest.mark.parametrize(("stem", "paragraphs"), [("000", 14), ("002", 10)])
def test_epoch_seed_line_breaks_only_between_paragraphs(stem: str, paragraphs: int):
    lines = one(seed(stem)).text.split("\n")
    assert len(lines) == paragraphs  # the <p>s of the body, less the editor line
    assert all(line[-1] in "。”）" for line in lines), [ln[-5:] for ln in lines]


def test_seed_000_text_joins_words_split_by_tags():
    item = one(seed("000"))
    assert "美国总统拜登周五（12月31日）表示，他已经警告俄罗斯总统弗拉基米尔‧普京" in item.text
    assert "（Vladimir Putin）" in item.text


@pytest.mark.parametrize("stem", ["000", "002"])
def test_epoch_seed_text_drops_shell_and_boilerplate(stem: str):
    item = one(seed(stem))
    for junk in (
        "首页",
        "禁闻",
        "翻墙",
        "原文链接",
        "责任编辑",
        "李缘",
        "【大纪元",
        "讯】",
        "Getty",
    ):
        assert junk not in item.text, junk
    assert item.text.startswith("（大纪元记者")  # dateline tag gone, sentence kept
    assert item.images[0].caption and item.images[0].caption in seed(stem).decode()
    assert item.images[0].caption not in item.text
    assert "<ok" not in item.html and "<a href=" in item.html
    assert "below_article_ad" not in item.html and "责任编辑" not in item.html


def test_seed_004_drops_leaked_dateline_and_junk_word():
    item = one(seed("004"))
    assert item.text.startswith("美国总统拜登（Joe Biden）1月27日")
    assert "Array" not in item.text and "28/01/2022" not in item.text
    assert "Array" not in item.html and "data-selfpromo" not in item.html


def test_hexo_seed_images_deduplicated_and_ordered():
    item = one(seed("001"))
    assert [i.url for i in item.images] == [
        "https://chinese.aljazeera.net/wp-content/uploads/2021/12/image-18-1.jpg?w=770&resize=770%2C433",
        "https://chinese.aljazeera.net/wp-content/uploads/2021/12/image-2021-12-06T144926.452.jpg?w=770&resize=770%2C433",
    ]
    assert "美国的威胁" in item.text.split("\n")  # an <h3> is its own line


# --- detect ----------------------------------------------------------------------------

DETECTED = {
    "000": "epoch-mirror",
    "001": "hexo",
    "002": "epoch-mirror",
    "003": "hexo",
    "004": "feed-archive",
}
FIXTURE_FORMATS = {
    "epoch_address_footer.txt": "epoch-mirror",
    "epoch_no_footer.txt": "epoch-mirror",
    "epoch_b5.txt": "epoch-mirror",
    "epoch_span_href.txt": "epoch-mirror",
    "epoch_long_rule_absolute_nav.txt": "epoch-mirror",
    "epoch_ads.txt": "epoch-mirror",
    "epoch_placeholder_removed.txt": "epoch-mirror",
    "epoch_placeholder_nav_only.txt": "epoch-mirror",
    "hexo_invalid_date.md": "hexo",
    "hexo_naive_date.md": "hexo",
    "hexo_quoted_title.md": "hexo",
    "hexo_bare_text.md": "hexo",
    "archive_jekyll.md": "feed-archive",
    "archive_date_line.md": "feed-archive",
    "archive_date_line_time.md": "feed-archive",
    "archive_main_null.md": "feed-archive",
    "rss20.xml": "rss",
    "rss10.rdf": "rss",
    "atom.xml": "atom",
    "malformed.xml": "rss",
    "html_page.html": "html-page",
    "markdown_basic.md": "markdown",
    "markdown_h2_list.md": "markdown",
    "markdown_setext_quote.md": "markdown",
    "markdown_linked_title.md": "markdown",
    "markdown_setext_html.md": "markdown",
    "markdown_footer.md": "markdown",
    "markdown_wechat.md": "markdown",
    "markdown_no_url.md": "markdown",
    "markdown_index.md": "markdown",
    "markdown_heading_only.md": "markdown",
    "markdown_digest.md": "markdown",
}


@pytest.mark.parametrize("stem", sorted(DETECTED))
def test_detect_seed(stem: str):
    assert detect(seed(stem)) == DETECTED[stem]


@pytest.mark.parametrize("name", sorted(FIXTURE_FORMATS))
def test_detect_fixture(name: str):
    assert detect(fixture(name)) == FIXTURE_FORMATS[name]


def test_every_fixture_is_covered():
    assert {p.name for p in FIXTURES.iterdir()} == set(FIXTURE_FORMATS)


@pytest.mark.parametrize("mark", ["\u200b", "\u2060", "\ufeff"])
def test_zero_width_characters_inside_words_are_dropped_from_text(mark: str):
    """Mirrors hide names from keyword filters with invisible characters (赵\u200b立坚):
    the text must hold the word itself, or search and watches miss it."""
    doc = f"---\ntitle: 赵{mark}立坚答记者问\n---\n\n<p>外交部发言人赵{mark}立坚表示反对。</p>\n"
    item = one(doc.encode())
    assert item.text == "外交部发言人赵立坚表示反对。"
    assert item.title == "赵立坚答记者问"
    assert html_to_text(f"<p>赵{mark}立坚</p>") == "赵立坚"


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"], ids=["crlf", "cr"])
@pytest.mark.parametrize(
    "path", SEED_PATHS + sorted(FIXTURES.iterdir()), ids=lambda p: p.name.removesuffix(".txt")
)
def test_windows_and_old_mac_line_ends_parse_like_lf(path: Path, ending: bytes):
    lf = path.read_bytes()
    assert b"\r" not in lf
    try:
        expected = [it.to_dict() for it in parse(lf)]
    except ParseError as e:
        expected = str(e)
    try:
        got = [it.to_dict() for it in parse(lf.replace(b"\n", ending))]
    except ParseError as e:
        got = str(e)
    assert got == expected


def test_detect_ignores_bom_and_leading_blank_lines():
    assert detect(b"\xef\xbb\xbf\n\n" + seed("001").lstrip()) == "hexo"


DOCTYPE_SUBSETS = [
    '<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>',
    '<!DOCTYPE rss [\n  <!ENTITY nbsp "&#160;">\n  <!ENTITY mdash "&#8212;">\n]>',
    '<!DOCTYPE rss SYSTEM "rss.dtd" [<!-- a > in a comment --><!ENTITY gt2 "]>">]>',
]


@pytest.mark.parametrize("doctype", DOCTYPE_SUBSETS)
def test_feed_with_a_doctype_internal_subset_is_read(doctype: str):
    data = (
        f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n<rss version="2.0"><channel>'
        "<title>c</title><item><title>拜登&nbsp;普京</title><link>https://example.org/a/1</link>"
        "<description>正文</description></item></channel></rss>"
    ).encode()
    assert detect(data) == "rss"
    assert [(i.title, i.url) for i in parse(data)] == [("拜登 普京", "https://example.org/a/1")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty document"),
        (b"  \n\t ", "empty document"),
        (b"hello world, just some text\n", "unrecognised document format"),
    ],
)
def test_detect_rejects_with_reason(data: bytes, reason: str):
    with pytest.raises(ParseError, match=reason):
        detect(data)


def test_a_web_page_that_is_no_article_is_detected_as_one_and_refused():
    page = b"<html><body><p>a web page</p></body></html>"
    assert detect(page) == "html-page"
    with pytest.raises(NotAnArticle, match="HTML page without a title"):
        parse(page)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "binary data, starts with bytes 89 50 4e 47 0d 0a 1a 0a…",
        ),
        (bytes(range(0x80, 0x100)), "binary data, starts with bytes 80 81 82 83 84 85 86 87…"),
        (b"\x1f\x8b\x08", "binary data, starts with bytes 1f 8b 08"),
        (b"\x1b[31mred\x07", "binary data, starts with bytes 1b 5b 33 31 6d 72 65 64…"),
        ("你好，这是一段普通的文字".encode("gbk"), "starts with '你好，这是一段普通的文字'"),
        ("plain\u202etext".encode(), "starts with 'plain\\u202etext'"),
    ],
)
def test_a_rejected_document_is_described_in_printable_words(data: bytes, said: str):
    """Not its raw bytes: the reason is printed on a terminal and stored."""
    with pytest.raises(ParseError) as e:
        detect(data)
    assert str(e.value) == f"unrecognised document format ({said})"
    assert str(e.value).isprintable()


def test_parse_rejects_binary_and_undecodable_text():
    with pytest.raises(ParseError, match="binary"):
        parse(b"### t\n\n---\n\x00\x01\x02")
    with pytest.raises(ParseError, match="not UTF-8, GBK/GB18030 or Big5"):
        parse(b"### t\n\n---\n\n\x80\x80\x80\xff")


def test_parse_reads_gb18030_mirror_pages():
    data = fixture("epoch_no_footer.txt").decode().encode("gb18030")
    assert one(data).title == "俄罗斯继续在边境集结军队"


def test_utf8_file_cut_inside_its_last_character_still_reads():
    """A download or copy that stopped short: the cut character is dropped, the rest kept."""
    data = fixture("hexo_naive_date.md")
    cut = data[: data.rindex("。".encode()) + 2]  # two of the three bytes of "。"
    item = one(cut)
    assert item.title == one(data).title
    assert "\ufffd" not in item.text
    assert one(data).text.startswith(item.text)
    with pytest.raises(ParseError, match="not UTF-8, GBK/GB18030 or Big5"):
        parse(data[: data.rindex("。".encode()) + 1] + b"\xff" + data[-40:])


FEED_FIXTURES = [FIXTURES / name for name in ("atom.xml", "rss10.rdf", "rss20.xml")]
TO_TRADITIONAL = OpenCC("s2tw")


@pytest.mark.parametrize("codec", ["gbk", "big5"])
@pytest.mark.parametrize("path", SEED_PATHS + FEED_FIXTURES, ids=lambda p: p.name[:9])
def test_undeclared_gbk_and_big5_documents_read_like_utf8(path: Path, codec: str):
    text = re.sub(r' encoding="[^"]*"', "", path.read_text("utf-8"), count=1)
    if codec == "big5":
        text = TO_TRADITIONAL.convert(text)
    text = text.encode(codec, errors="replace").decode(codec)  # what the codec can hold
    legacy = text.encode(codec)
    with pytest.raises(UnicodeDecodeError):
        legacy.decode("utf-8")
    expected = [it.to_dict() for it in parse(text.encode("utf-8"))]
    assert [it.to_dict() for it in parse(legacy)] == expected


# Windows Notepad saves "Unicode" as UTF-16 LE with a byte-order mark.
WIDE = {
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}


def wide(text: str, codec: str) -> bytes:
    """``text`` in ``codec`` with its BOM, an XML prolog saying so (as a writer of UTF-16
    would; Notepad leaves the prolog as it was, see test_cli)."""
    text = re.sub(r' encoding="[^"]*"', f' encoding="{codec[:6].upper()}"', text, count=1)
    return WIDE[codec] + text.encode(codec)


@pytest.mark.parametrize("codec", sorted(WIDE))
@pytest.mark.parametrize(
    "path", SEED_PATHS + FEED_FIXTURES + [FIXTURES / "html_page.html"], ids=lambda p: p.name[:9]
)
def test_utf16_and_utf32_documents_with_a_bom_read_like_utf8(path: Path, codec: str):
    """Not "binary data, starts with bytes ff fe 3c 00": the BOM says what the NULs are."""
    utf8 = path.read_bytes()
    data = wide(utf8.decode("utf-8"), codec)
    assert detect(data) == detect(utf8)
    assert [it.to_dict() for it in parse(data)] == [it.to_dict() for it in parse(utf8)]


def test_utf16_without_a_bom_is_still_binary_data():
    """Without a BOM, NUL bytes cannot be told from binary data."""
    data = fixture("rss20.xml").decode("utf-8").encode("utf-16-le")
    with pytest.raises(ParseError, match="binary data, starts with bytes 3c 00 3f 00"):
        parse(data)


@pytest.mark.parametrize("codec", sorted(WIDE))
def test_a_utf16_or_utf32_feed_fetched_over_http_is_read(tmp_path, codec: str):
    from datetime import UTC, datetime

    from monitor.config import parse_config
    from monitor.pipeline import Poller
    from monitor.store import open_db

    url = "https://www.zaobao.com/feeds/world.xml"
    config = parse_config({"source": [{"name": "zb", "kind": "feed", "url": url}]})
    utf8 = fixture("rss20.xml")
    expected = [(it.title, it.url, it.text) for it in parse(utf8, url=url)]

    async def poll():
        poller = Poller(db, config, rand=lambda: 0.5)
        try:
            return await poller.poll(list(config.sources), now=datetime(2022, 2, 1, tzinfo=UTC))
        finally:
            await poller.aclose()

    db = open_db(tmp_path / "m.db")
    with respx.mock() as http:
        body = wide(utf8.decode("utf-8"), codec)
        headers = {"content-type": "application/rss+xml"}
        http.get(url).mock(return_value=httpx.Response(200, content=body, headers=headers))
        (report,) = asyncio.run(poll())
    assert report.ok, report.error
    stored = db.execute("SELECT title, url, text FROM items ORDER BY id").fetchall()
    assert [tuple(row) for row in stored] == expected


@pytest.mark.parametrize("path", [SEED_PATHS[3], FIXTURES / "rss20.xml"], ids=["hexo", "rss"])
def test_text_in_another_encoding_is_rejected_not_stored_garbled(path: Path):
    japanese = "ロシアとウクライナの首脳が電話で会談し、停戦について話し合った。"
    text = re.sub(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]+", japanese, path.read_text("utf-8"))
    text = re.sub(r' encoding="[^"]*"', "", text, count=1)
    with pytest.raises(ParseError, match="not UTF-8, GBK/GB18030 or Big5"):
        parse(text.encode("shift_jis", errors="replace"))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Latin text with a few Chinese words in GBK: too few to score, still GBK.
        (("Putin and Biden 普京 拜登, Reuters 路透. " + "Plain English. " * 40), "gbk"),
        ("Le café est très bon, à côté de la gare.", "cp1252"),  # short French
        # UTF-8 that says gb2312: UTF-8 wins, it is never GBK read by chance.
        ("<html><head><meta charset=gb2312></head><body>普京与拜登通话</body></html>", "utf-8"),
    ],
    ids=["latin-with-gbk-words", "short-french", "utf8-labelled-gbk"],
)
def test_document_text_reads_mixed_and_mislabelled_text(data: str, expected: str):
    from monitor.charset import document_text

    assert document_text(data.encode(expected)) == data


def test_a_mostly_ascii_page_without_chinese_reads_as_windows_1252():
    """Not Chinese in another encoding: a Western page's accented letters, unlabelled."""
    from monitor.charset import document_text

    page = "---\ntitle: Café news\n---\n" + "Plain English text about the café. " * 20
    assert document_text(page.encode("cp1252")) == page


# --- epoch-mirror variants ------------------------------------------------------------


def test_epoch_address_footer_variant():
    item = one(fixture("epoch_address_footer.txt"))
    assert item.url == "https://www.epochtimes.com/gb/22/1/7/n13480001.htm"
    assert item.published == "2022-01-07"  # from the footer URL, unpadded month/day
    assert item.author == "林燕"
    assert "原文地址" not in item.text and "叶紫微" not in item.text


def test_epoch_traditional_edition_reads_like_the_simplified_one():
    """The /b5/ edition's mirror page: footer, dateline and byline in Traditional."""
    item = one(fixture("epoch_b5.txt"))
    assert item.url == "https://www.epochtimes.com/b5/22/1/7/n13480001.htm"
    assert item.published == "2022-01-07"
    assert item.author == "林燕"
    assert item.text == "（大紀元記者林燕綜合報導）北約外長週五舉行視頻會議，討論烏克蘭局勢。"
    assert item.lang == "zh-Hant"


@pytest.mark.parametrize("seed", range(5))
def test_epoch_title_is_what_the_heading_pattern_read(seed: int):
    """title_of replaced a pattern that backtracked on runs of spaces; on short lines that
    pattern still says what a title is (but for headings of only "#"s and spaces)."""
    import random

    old = re.compile(r"^#{1,4}\s+(?P<title>.+?)\s*#*\s*$")
    rng = random.Random(seed)
    for _ in range(3000):
        line = "".join(rng.choice("## \t\u3000a标.") for _ in range(rng.randint(0, 12)))
        m = old.match(line)
        if m and not m["title"].strip(" \t\u3000#"):
            continue  # "# ##": no text to tell a title by
        assert epoch_mirror.title_of(line) == (m["title"] if m else None), repr(line)


def test_a_first_line_with_a_long_run_of_spaces_is_detected_at_once():
    """It took 40 s (the old title pattern backtracked); a poll waited on it. Counted, not
    timed: the detection reads the line a bounded number of times."""
    line = "# a" + " " * 3000 + "b"
    assert epoch_mirror.title_of(line) == "a" + " " * 3000 + "b"
    assert detect((line + "\n\n美国总统拜登周四与普京通话。\n").encode()) == "markdown"


def test_epoch_no_footer_takes_date_from_dateline():
    item = one(fixture("epoch_no_footer.txt"))
    assert item.url is None
    assert item.published == "2022-01-05"
    assert item.author is None
    assert item.text == "据美联社报导，俄罗斯继续在边境集结军队。"
    assert item.alt_urls == ["../../../..?n13480002"]


def test_epoch_span_href_becomes_link():
    item = one(fixture("epoch_span_href.txt"))
    assert '<a href="https://www.epochtimes.com/gb/tag/blinken.html"' in item.html
    assert "<span href" not in item.html
    assert "美国国务卿布林肯（Antony Blinken）周五在日内瓦" in item.text
    assert "（Antony <a" in item.html and ">Blinken</a>）" in item.html
    assert [i.url for i in item.images] == [
        "https://i.epochtimes.com/assets/uploads/2022/01/geneva.jpg"
    ]


def test_epoch_long_rule_and_absolute_nav():
    item = one(fixture("epoch_long_rule_absolute_nav.txt"))
    assert item.alt_urls == ["https://example.github.io/epoch/gb/22/2/?n13480004"]
    assert item.published == "2022-02-22"
    assert item.text == "德国总理朔尔茨宣布暂停北溪二号天然气管道的认证程序。"
    assert "---" not in item.html


def test_epoch_ad_lines_are_not_body():
    item = one(fixture("epoch_ads.txt"))
    assert item.text == "首批美国军援物资周六运抵基辅。"
    for junk in ("新唐人", "希望之声", "翻墙软件", "订阅", "翻译"):
        assert junk not in item.text and junk not in item.html
    assert [(i.url, i.caption) for i in item.images] == [
        (
            "https://i.epochtimes.com/assets/uploads/2022/01/aid.jpg",
            "运抵基辅的军援物资。(Getty Images)",
        )
    ]


def test_epoch_line_after_the_article_div_is_not_body():
    """A mirror that injects a line between the article div and the footer: the div's
    text and stored HTML end where the div ends."""
    page = (
        "### 美国向乌克兰运送军援\n\n---\n\n#### [首页](../../../..?n13480005)\n\n"
        '<hr/><div class="post_content" id="artbody">\n'
        " <p>\n  首批美国军援物资周六运抵基辅。\n </p>\n</div>\n"
        "【广告】翻墙软件免费下载：https://example.com/dl\n\n---\n\n"
        "原文链接（需翻墙）：https://www.epochtimes.com/gb/22/1/23/n13480005.htm\n"
    )
    item = one(page.encode())
    assert item.text == "首批美国军援物资周六运抵基辅。"
    assert "广告" not in item.html and "example.com" not in item.html


def test_an_epoch_page_with_a_long_run_of_blank_lines_or_brackets_is_read_at_once():
    """The footer pattern ran from each line start on through the blank lines after it,
    and the link pattern from each "[" of a line on to its "]": minutes for these pages.
    Counted, not timed: each line is read once."""
    page = fixture("epoch_address_footer.txt").decode()
    footer = page.index("\n---\n\n原文")
    padded = page[:footer] + "\n" * 300_000 + page[footer:]
    item = one(padded.encode())
    assert item.url == "https://www.epochtimes.com/gb/22/1/7/n13480001.htm"
    bracketed = page[:footer] + "\n" + "[" * 100_000 + "](\n" + page[footer:]
    item = one(bracketed.encode())
    assert (item.url, item.alt_urls) == (
        "https://www.epochtimes.com/gb/22/1/7/n13480001.htm",
        ["../../../..?n13480001"],
    )


def test_epoch_page_without_post_content_div_uses_the_rest():
    page = (
        "### 旧版页面\n\n---\n\n#### [首页](../../../..?n13000001)\n\n"
        '<div><img src="https://i.epochtimes.com/lead.jpg"/><div class="caption">图说</div></div>\n'
        "[新唐人](https://www.ntdtv.com) | [希望之声](https://www.soundofhope.org)\n"
        "<p>【大纪元2020年05月04日讯】第一段\n  <ok href='https://e.com/t'>内容</ok>\n  。</p>\n"
        "<p>责任编辑：某人</p>\n"
    )
    item = one(page.encode())
    assert item.text == "第一段内容。"
    assert item.published == "2020-05-04"
    assert [(i.url, i.caption) for i in item.images] == [
        ("https://i.epochtimes.com/lead.jpg", "图说")
    ]


def test_epoch_placeholder_removed_is_not_an_article():
    with pytest.raises(NotAnArticle, match="文章不存在") as err:
        parse(fixture("epoch_placeholder_removed.txt"))
    assert "placeholder" in str(err.value)


def test_epoch_nav_only_page_is_not_an_article():
    with pytest.raises(NotAnArticle, match="no article body"):
        parse(fixture("epoch_placeholder_nav_only.txt"))


def test_not_an_article_is_a_parse_error():
    assert issubclass(NotAnArticle, ParseError)


# --- hexo variants --------------------------------------------------------------------


def test_hexo_invalid_date_is_none_not_now():
    item = one(fixture("hexo_invalid_date.md"))
    assert item.published is None
    assert item.site == "德国之声"


def test_hexo_naive_date_is_read_as_utc():
    item = one(fixture("hexo_naive_date.md"))
    assert item.published == "2022-03-29T00:43:13Z"


def test_a_sources_time_zone_places_zone_less_times_only():
    """A bridge in China writes Beijing time without saying so: with the source's
    timezone the time is placed there; times with a zone and bare dates stay as they are."""
    item = one(fixture("hexo_naive_date.md"), zone="Asia/Shanghai")
    assert item.published == "2022-03-28T16:43:13Z"
    assert one(fixture("hexo_naive_date.md"), zone=None).published == "2022-03-29T00:43:13Z"

    def feed_published(when: str, zone: str | None) -> str | None:
        data = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
            f"<item><title>t</title><link>https://e.example/1</link><pubDate>{when}</pubDate>"
            "<description>x</description></item></channel></rss>"
        ).encode()
        return one(data, url="https://e.example/feed", zone=zone).published

    shanghai = "Asia/Shanghai"
    assert feed_published("2022/1/3 10:00:00", shanghai) == "2022-01-03T02:00:00Z"
    assert feed_published("Mon, 03 Jan 2022 10:00:00", shanghai) == "2022-01-03T02:00:00Z"
    assert feed_published("Mon, 03 Jan 2022 10:00:00", None) == "2022-01-03T10:00:00Z"
    assert feed_published("Mon, 03 Jan 2022 10:00:00 GMT", shanghai) == "2022-01-03T10:00:00Z"
    assert feed_published("2022-01-03T10:00:00+02:00", shanghai) == "2022-01-03T08:00:00Z"
    assert feed_published("2022-01-03", shanghai) == "2022-01-03T00:00:00Z"  # feeds: midnight UTC
    # Summer time is the zone's own: New York is 4 hours behind UTC in July, 5 in January.
    assert feed_published("2022-07-03 10:00", "America/New_York") == "2022-07-03T14:00:00Z"
    assert feed_published("2022-01-03 10:00", "America/New_York") == "2022-01-03T15:00:00Z"
    assert dates.parse_when("2022-03-29 00:43:13") == "2022-03-29T00:43:13Z"  # reset after
    assert feed_published("2022年1月3日 晚上12点", shanghai) == "2022-01-03T16:00:00Z"
    # A zone written, even one Python does not know, is no zone-less time: -0000 is UTC
    # (RFC 5322; email.utils.formatdate writes it), an unknown name is read as UTC.
    for when in ("Mon, 03 Jan 2022 10:00:00 -0000", "Mon, 03 Jan 2022 10:00:00 NPT"):
        assert feed_published(when, shanghai) == "2022-01-03T10:00:00Z", when
        with dates.source_zone(shanghai):
            assert dates.parse_when(when) == "2022-01-03T10:00:00Z", when
    assert feed_published("Mon, 03 Jan 2022 03:20 PM", shanghai) == "2022-01-03T07:20:00Z"
    assert feed_published("Mon, 03 Jan 2022 03:20 PM +0800", None) == "2022-01-03T07:20:00Z"
    assert feed_published("2022-01-03 10:00 PM CST", None) == "2022-01-03T14:00:00Z"


def test_hexo_images_dedupe_headimg_and_resolve_against_url():
    item = one(fixture("hexo_naive_date.md"), url="https://mirror.example/posts/1.html")
    assert [i.url for i in item.images] == [
        "https://example.com/img/talks.jpg",
        "https://mirror.example/img/second.jpg",
    ]


def test_hexo_quotes_inside_quoted_title_fall_back_to_line_reader():
    item = one(fixture("hexo_quoted_title.md"))
    assert item.title == "他说'不'的理由"
    assert item.site == "端传媒"
    assert item.published == "2022-02-14T02:00:00Z"
    assert item.tags == ["乌克兰", "评论"]


def test_hexo_bare_text_body_becomes_paragraphs():
    item = one(fixture("hexo_bare_text.md"))
    assert item.text.split("\n") == [
        "乌克兰东部顿巴斯地区周四爆发炮击，双方互相指责对方违反停火协议。",
        "北约秘书长表示&俄罗斯仍在增兵。",
        "乌克兰军方称一所幼儿园被击中。",
    ]
    assert item.html.count("<p>") == 3 and "&amp;" in item.html


def test_hexo_site_hint_only_when_categories_name_none():
    doc = fixture("hexo_invalid_date.md").decode()
    one_category = doc.replace(" - 德国之声\n", "").replace(" - 新闻\n", "")
    assert one(one_category.encode(), site="DW").site == "DW"
    assert one(one_category.encode()).site is None
    assert one(doc.encode(), site="DW").site == "德国之声"


def test_hexo_front_matter_values_stay_text():
    item = one("---\ntitle: 2022\nauthor: yes\ndate: 2022-01-01\n---\n<p>正文内容</p>\n".encode())
    assert (item.title, item.author, item.published) == ("2022", "yes", "2022-01-01")


def test_hexo_without_title_is_a_parse_error():
    with pytest.raises(ParseError, match="without a title"):
        parse(b"---\nauthor: x\ndate: 2022-01-01\n---\n<p>body</p>\n")


# --- feed-archive variants ------------------------------------------------------------


def test_archive_jekyll_header():
    item = one(fixture("archive_jekyll.md"))
    assert item.site == "法广"  # named by the document's `from`
    assert item.author == "编辑部"
    assert item.tags == ["美俄", "日内瓦"]
    assert item.published == "2022-01-10T12:30:00Z"
    assert item.text == "美俄两国官员在日内瓦举行会谈，未取得突破。"
    assert item.url == "https://www.rfi.fr/cn/%E5%9B%BD%E9%99%85/20220110-geneva"


@pytest.mark.parametrize(
    "doc",
    [
        "---\ntitle: '拜登&amp;普京：&quot;视频峰会&quot; &lt;独家&gt;'\n"
        "categories:\n - 新媒体\n - 观察者网\n---\n\n<p>正文。</p>\n",
        "<!--1643384702000-->\n[拜登&amp;普京：&quot;视频峰会&quot; &lt;独家&gt;](https://e.com/a)"
        "\n------\n\n<p>正文。</p>\n",
        "### 拜登&amp;普京：&quot;视频峰会&quot; &lt;独家&gt;\n\n---\n\n"
        '<div class="post_content"><p>正文。</p></div>\n',
    ],
    ids=["hexo", "feed-archive", "epoch-mirror"],
)
def test_character_references_in_titles_are_decoded(doc: str):
    """Bridges copy a feed's escaped title as it is: it reads as the feed's own."""
    item = one(doc.encode())
    assert item.title == '拜登&普京："视频峰会" <独家>'


def test_archive_jekyll_date_used_without_epoch_comment():
    doc = re.sub(rb"<!--\d+-->\n", b"", fixture("archive_jekyll.md"))
    doc = doc.replace(b"20:30:00 +0800", b"21:00:00 +0800")
    assert one(doc).published == "2022-01-10T13:00:00Z"


def test_archive_date_line():
    item = one(fixture("archive_date_line.md"))
    assert item.published == "2022-01-19"
    assert "日期" not in item.text
    assert item.site is None


@pytest.mark.parametrize(
    ("line", "fmt"),
    [
        ("[" + "](" * 30_000 + "x", "markdown"),  # no archive: a Setext heading over "---"
        ("[标题" + "](" * 30_000 + "](https://e.com/a/1.html)", "feed-archive"),
    ],
    ids=["no-link", "link"],
)
def test_a_first_line_of_thousands_of_brackets_is_detected_at_once(line: str, fmt: str):
    """The ``[title](url)`` pattern tried each "](" with the rest of the line: minutes for
    such a line, in the detection of any document. Counted, not timed: the line is read
    once from its last "](" ."""
    data = f"{line}\n---\n\n美国总统拜登周四与普京通话。\n".encode()
    assert detect(data) == fmt
    if fmt == "feed-archive":
        assert one(data).url == "https://e.com/a/1.html"


def test_archive_date_line_with_time():
    assert one(fixture("archive_date_line_time.md")).published == "2022-01-20T09:15:00Z"


@pytest.mark.parametrize(
    ("written", "published"),
    [
        ("2022-01-20 09:15 PM", "2022-01-20T21:15:00Z"),  # was 09:15: the PM was cut off
        ("2022-01-20 下午9:15", "2022-01-20T21:15:00Z"),  # was the date alone
        ("2022年1月20日 21时15分", "2022-01-20T21:15:00Z"),  # was not a date line
        ("2022/01/20 21:15", "2022-01-20T21:15:00Z"),
        ("2022-01-20 09:15 来源：法广", "2022-01-20T09:15:00Z"),  # what reads of it
        ("2022-01-20", "2022-01-20"),
    ],
)
def test_archive_date_line_is_read_as_other_dates(written: str, published: str):
    doc = fixture("archive_date_line_time.md").replace(b"2022-01-20 09:15", written.encode())
    item = one(doc)
    assert item.published == published
    assert "日期" not in item.text


def test_archive_main_body_and_null_word():
    item = one(fixture("archive_main_null.md"))
    assert item.text == "北约宣布向东欧增派战舰和战机。\n丹麦和西班牙将派出舰只。"
    assert "null" not in item.html and "24/01/2022" not in item.html
    assert item.published == "2022-01-24T16:00:00Z"


def test_archive_site_hint_is_used_when_document_names_none():
    assert one(seed("004"), site="法广").site == "法广"
    assert one(fixture("archive_jekyll.md"), site="RFI").site == "法广"


def test_archive_without_title_line_is_a_parse_error():
    with pytest.raises(ParseError, match="title"):
        parse(b"<!--1643384702000-->\nno title here\n------\n<p>x</p>\n")


# --- RSS / Atom -----------------------------------------------------------------------


def test_rss20(shanghai_clock):
    first, second = parse(fixture("rss20.xml"))
    assert first.format == second.format == "rss"
    assert first.title == "普京与马克龙通话 讨论乌克兰局势"
    assert first.published == "2022-01-29T00:30:00Z"  # +0800 converted, machine zone ignored
    assert first.site == "联合早报 国际"
    assert first.author == "早报记者"
    assert first.tags == ["俄罗斯", "乌克兰"]
    assert first.summary == "普京与马克龙通电话。"  # the feed's own description
    assert (
        first.text
        == "俄罗斯总统普京与法国总统马克龙（Emmanuel Macron）周五通电话。\n双方讨论了乌克兰局势。"
    )
    assert (
        "track()" not in first.html and "onclick" not in first.html and "<script" not in first.html
    )
    assert [i.url for i in first.images] == [
        "https://www.zaobao.com/img/call.jpg",
        "https://cdn.zaobao.com/media/putin.jpg",
    ]
    assert first.alt_urls == []  # guid is not a URL
    assert first.lang == "zh-Hans"
    assert second.published is None
    assert [i.url for i in second.images] == ["https://cdn.zaobao.com/img/eu.png"]  # not the mp3
    assert second.alt_urls == ["https://www.zaobao.com/realtime/world/story20220129-2?amp"]


def test_feed_relative_links_resolve_against_document_url():
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<title>x</title><link>/a/1</link><description>&lt;p&gt;\xe6\x96\x87"
        b'&lt;a href="/tag/1"&gt;tag&lt;/a&gt;&lt;img src="i.png"&gt;&lt;/p&gt;</description>'
        b"</item></channel></rss>"
    )
    (item,) = parse(data, url="https://news.example/feeds/rss.xml")
    assert item.url == "https://news.example/a/1"
    assert '<a href="https://news.example/tag/1"' in item.html
    assert [i.url for i in item.images] == ["https://news.example/feeds/i.png"]


def test_feed_site_hint_wins_over_feed_title():
    assert {i.site for i in parse(fixture("rss20.xml"), site="早报")} == {"早报"}


PODCAST = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>RFA podcast</title><link>https://www.rfa.org/mandarin/</link>
<item><title>\xe6\xaf\x8f\xe6\x97\xa5\xe6\x96\xb0\xe9\x97\xbb</title>
<enclosure url="https://audio.rfa.org/mandarin/2021/12/31/news.mp3" type="audio/mpeg"/>
<enclosure url="https://audio.rfa.org/mandarin/2021/12/31/cover.jpg" type="image/jpeg"/>
<pubDate>Fri, 31 Dec 2021 12:00:00 GMT</pubDate></item>
<item><title>\xe6\xaf\x8f\xe6\x97\xa5\xe6\x96\xb0\xe9\x97\xbb</title>
<enclosure url="https://audio.rfa.org/mandarin/2021/12/30/news.mp3" type="audio/mpeg"/>
<pubDate>Thu, 30 Dec 2021 12:00:00 GMT</pubDate></item>
<item><title>Linked</title><link>https://www.rfa.org/mandarin/1.html</link>
<enclosure url="https://audio.rfa.org/mandarin/1.mp3" type="audio/mpeg"/></item>
</channel></rss>"""


@pytest.mark.parametrize("data", [PODCAST, PODCAST.replace(b"<rss", b"<!-- x --><rss")])
def test_podcast_episode_without_a_link_is_its_enclosure(data: bytes):
    """Episodes of one show share a title and have no text: the audio tells them apart."""
    first, second, linked = parse(data, url="https://www.rfa.org/mandarin/podcast.xml")
    assert first.title == second.title == "每日新闻"
    assert first.url == "https://audio.rfa.org/mandarin/2021/12/31/news.mp3"
    assert second.url == "https://audio.rfa.org/mandarin/2021/12/30/news.mp3"
    assert linked.url == "https://www.rfa.org/mandarin/1.html"


def test_rss10():
    (item,) = parse(fixture("rss10.rdf"))
    assert item.format == "rss"
    assert item.published == "2022-01-26T19:00:00Z"
    assert item.author == "编辑"
    assert item.tags == ["乌克兰"]
    assert item.url == "https://example.org/a/1"
    assert item.site == "示例新闻 RDF"


def test_atom(shanghai_clock):
    first, second = parse(fixture("atom.xml"))
    assert first.format == "atom"
    assert first.title == "烏克蘭危機：歐洲的選擇"  # type="html" title as text
    assert first.published == "2022-02-01T02:00:00Z"  # published, not the later updated
    assert first.lang == "zh-Hant"
    assert first.summary == "歐洲各國在烏克蘭問題上立場不一。"
    assert first.text == "歐洲各國在烏克蘭問題上立場不一，德國與法國主張對話。"
    assert first.tags == ["國際"]
    assert second.published == "2022-02-01T04:00:00Z"  # only <updated>, -05:00 converted
    assert second.alt_urls == []  # id equals the link


def test_malformed_feed_is_a_parse_error_with_reason():
    with pytest.raises(ParseError, match="unreadable feed.*mismatched tag"):
        parse(fixture("malformed.xml"))


def test_valid_empty_feed_has_no_items():
    data = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert parse(data) == []


# --- shared text rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("美国\n  </ok>\n  总统", "美国总统"),
        ("Vladimir\n   Putin", "Vladimir Putin"),
        ("普京 （Vladimir Putin） 说", "普京（Vladimir Putin）说"),
        ("制裁 “都可能导致”", "制裁“都可能导致”"),
        ("弗拉基米尔‧ 普京", "弗拉基米尔‧普京"),
        ("有 50 分钟", "有50分钟"),
        ("3.5 million 人", "3.5 million人"),
        ("\u3000\u3000全角缩进", "全角缩进"),
    ],
)
def test_squeeze(raw: str, expected: str):
    assert squeeze(raw.replace("</ok>", "")) == expected


def test_html_to_text_blocks_and_drops():
    html = (
        "<div>导语<p>第一段\n <b>加粗</b>\n 文字</p><!-- 注释 -->尾巴<br>换行"
        "<script>alert('x')</script><style>p{}</style><ul><li>一</li><li>二</li></ul>"
        "<h3>小标题</h3><table><tr><td>甲</td><td>乙</td></tr></table></div>"
    )
    assert html_to_text(html).split("\n") == [
        "导语",
        "第一段加粗文字",
        "尾巴",
        "换行",
        "一",
        "二",
        "小标题",
        "甲乙",
    ]
    assert html_to_text("") == ""
    assert html_to_text("A <i>B</i>\n C") == "A B C"


def test_clean_html_sanitizes_with_allow_list():
    html = (
        '<p onclick="x()" style="color:red" class="c">文<ok href="https://e.com/t">字</ok>'
        "<script>bad()</script><style>p{}</style><!-- c -->"
        '<a href="javascript:alert(1)">坏链接</a><iframe src="https://e.com"></iframe>'
        '<img src="/a.png" onerror="x()"><span href="https://e.com/s">标签</span></p>'
    )
    out = clean_html(html, base="https://e.com/dir/")
    assert out.startswith("<p>文")
    assert '<a href="https://e.com/t" rel="noopener noreferrer">字</a>' in out
    assert '<a href="https://e.com/s" rel="noopener noreferrer">标签</a>' in out
    assert '<img src="https://e.com/a.png">' in out
    for bad in ("onclick", "style", "class", "script", "bad()", "<!--", "javascript", "iframe",
                "onerror", "<ok", "<span"):  # fmt: skip
        assert bad not in out, bad


def test_clean_html_squeezes_pretty_print_between_chinese_only():
    out = clean_html(
        "<p>\n  美国\n  <ok href='u'>\n   总统\n  </ok>\n  Vladimir\n <b>Putin</b>\n</p>"
    )
    assert out == '<p>美国<a href="u" rel="noopener noreferrer">总统</a>Vladimir <b>Putin</b></p>'


def test_summarize_prefers_a_sentence_end():
    text = "第一句话说完了。" * 30
    s = summarize(text)
    assert s is not None and s.endswith("。") and 100 <= len(s) <= 200
    assert summarize("短文本\n第二段") == "短文本第二段"
    assert summarize("") is None
    long_run = "字" * 300
    assert summarize(long_run) == "字" * 200 + "…"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Wed, 08 Dec 2021 01:56:33 GMT", "2021-12-08T01:56:33Z"),
        ("Invalid Date", None),
        ("", None),
        (None, None),
        ("2022-03-29 00:43:13", "2022-03-29T00:43:13Z"),
        ("2022-01-10 20:30:00 +0800", "2022-01-10T12:30:00Z"),
        ("2022-01-28T15:45:02+08:00", "2022-01-28T07:45:02Z"),
        ("2022-01-28", "2022-01-28"),
        ("2022-02-30", None),
        ("2022/1/3", "2022-01-03"),
        ("2022/01/03 12:00:00", "2022-01-03T12:00:00Z"),
        ("2022.01.03 9:05", "2022-01-03T09:05:00Z"),
        ("2022年01月03日 12:00:00", "2022-01-03T12:00:00Z"),
        ("2022年1月3日", "2022-01-03"),
        ("2022/01/03 12:00 GMT+8", "2022-01-03T04:00:00Z"),
        ("2022/02/30 12:00", None),
        ("9999-12-31T23:00:00-05:00", None),  # past the last UTC time
        ("0801-06-01T00:00:00Z", "0801-06-01T00:00:00Z"),  # a year before 1000, padded
        ("Mon, 03 Jan 2022 10:00:00 CST", "2022-01-03T02:00:00Z"),  # China Standard Time
        ("Mon Jan 03 10:00:00 CST 2022", "2022-01-03T02:00:00Z"),  # Java's Date.toString
        ("2022-01-03 10:00:00 PDT", "2022-01-03T17:00:00Z"),
        ("Sat, 29 Jan 2022 08:30:00 EST", "2022-01-29T13:30:00Z"),
        # Europe's and Asia's names, which feedparser reads as UTC
        ("Mon, 03 Jan 2022 10:00:00 CET", "2022-01-03T09:00:00Z"),
        ("Sun, 03 Jul 2022 10:00:00 CEST", "2022-07-03T08:00:00Z"),
        ("Sun, 03 Jul 2022 10:00:00 BST", "2022-07-03T09:00:00Z"),
        ("2022-01-03 10:00:00 MSK", "2022-01-03T07:00:00Z"),
        ("2022-01-03 10:00 BJT", "2022-01-03T02:00:00Z"),
        ("Mon, 03 Jan 2022 10:00:00 AEDT", "2022-01-02T23:00:00Z"),
        ("Mon, 03 Jan 2022 10:00:00 IST", "2022-01-03T10:00:00Z"),  # India, Ireland or Israel
        # The half of the day, as JavaScript's zh-CN toLocaleString and Java write it.
        ("2022/1/3 下午3:20:00", "2022-01-03T15:20:00Z"),
        ("2022-01-03 下午 03:20", "2022-01-03T15:20:00Z"),
        ("2022-01-03 上午 12:05", "2022-01-03T00:05:00Z"),
        ("2022-01-03 凌晨1:30", "2022-01-03T01:30:00Z"),
        ("2022-01-03 03:20 PM", "2022-01-03T15:20:00Z"),
        ("2022-01-03 12:00 PM +0800", "2022-01-03T04:00:00Z"),
        ("2022-01-03 12:30 a.m.", "2022-01-03T00:30:00Z"),
        ("2022-01-03 下午15:20", "2022-01-03T15:20:00Z"),  # already a 24-hour clock
        # Chinese clock words: 时/点, 分, 秒.
        ("2022年1月3日 15时30分", "2022-01-03T15:30:00Z"),
        ("2022年1月3日下午3点", "2022-01-03T15:00:00Z"),
        ("2022年1月3日 中午12点30分", "2022-01-03T12:30:00Z"),
        ("2022年1月3日 中午1点", "2022-01-03T13:00:00Z"),
        ("2022年1月3日 8时5分9秒", "2022-01-03T08:05:09Z"),
        # ISO 8601's basic form of a date is a date, not its midnight.
        ("20211208", "2021-12-08"),
        ("20211308", None),
        # 晚上12点 is the midnight that ends the day, not its noon.
        ("2022年1月3日 晚上12点", "2022-01-04T00:00:00Z"),
        ("2022-01-03 晚上12:30", "2022-01-04T00:30:00Z"),
        ("2022-01-03 晚上11:59", "2022-01-03T23:59:00Z"),
        ("2022-12-31 晚上12点", "2023-01-01T00:00:00Z"),
        ("9999-12-31 晚上12点", None),  # no next day
        # Its 0 to 4 are the small hours after that midnight; its 5 is the evening.
        ("2022年1月3日 晚上1点", "2022-01-04T01:00:00Z"),
        ("2022-01-03 晚上4:30", "2022-01-04T04:30:00Z"),
        ("2022-01-03 晚上0点", "2022-01-04T00:00:00Z"),
        ("2022-01-03 晚上5点", "2022-01-03T17:00:00Z"),
        # A zone name after the half of the day: the value was left empty.
        ("2022-01-03 10:00 PM CST", "2022-01-03T14:00:00Z"),
        ("2022-01-03 10:00 a.m. EST", "2022-01-03T15:00:00Z"),
        # RFC 822 with a 12-hour time: the PM was dropped, and the zone after it.
        ("Mon, 03 Jan 2022 03:20 PM +0800", "2022-01-03T07:20:00Z"),
        ("Wed, 08 Dec 2021 9:29:42 PM GMT", "2021-12-08T21:29:42Z"),
        ("Mon, 03 Jan 2022 12:30 AM GMT", "2022-01-03T00:30:00Z"),
        ("Mon, 03 Jan 2022 10:00 PMT", "2022-01-03T10:00:00Z"),  # no PM inside a word
        # The day of the week after a date, as archives copy it: the value was left empty.
        ("2022年1月3日 星期一", "2022-01-03"),
        ("2022-01-03 (周一)", "2022-01-03"),
        ("2022年1月3日 週一 15:30", "2022-01-03T15:30:00Z"),
        ("2022/1/3（星期一）下午3:20", "2022-01-03T15:20:00Z"),
        ("2022.01.03 礼拜天 10:00 +0800", "2022-01-03T02:00:00Z"),
        ("2022年1月3日星期一 15时30分", "2022-01-03T15:30:00Z"),
        ("2022-01-03, Monday", "2022-01-03"),
        ("2022-01-03 Mon 10:00 PM CST", "2022-01-03T14:00:00Z"),
        ("2022-01-03 星期八", None),
        ("2022-01-03 Monkey", None),
        # An offset after GMT/UTC, or with a short hour: it was dropped (eight minutes).
        ("Sun, 22 Nov 2026 10:30:00 GMT+0800", "2026-11-22T02:30:00Z"),
        ("Sun Nov 22 2026 10:30:00 GMT+0800 (中国标准时间)", "2026-11-22T02:30:00Z"),
        ("Sun Nov 22 10:30:00 GMT+08:00 2026", "2026-11-22T02:30:00Z"),
        ("Sun, 22 Nov 2026 10:30 UTC+8", "2026-11-22T02:30:00Z"),
        ("Sun, 22 Nov 2026 10:30:00 +8", "2026-11-22T02:30:00Z"),
        ("Sun, 22 Nov 2026 10:30:00 GMT-5", "2026-11-22T15:30:00Z"),
    ],
)
def test_parse_when(value, expected):
    assert dates.parse_when(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-01-03 10:00{}GMT", "2022-01-03T10:00:00Z"),
        ("2022-01-03 10:00{}+0800", "2022-01-03T02:00:00Z"),
        ("Mon, 03 Jan 2022 10:00:00{}CST", "2022-01-03T02:00:00Z"),
        ("2022-01-03{}x", None),
        ("Mon, 03 Jan 2022 10:00:00 GMT+8{}(CST)", "2022-01-03T02:00:00Z"),
    ],
    ids=["utc", "offset", "zone-name", "unreadable", "gmt-offset"],
)
def test_a_date_with_a_long_run_of_spaces_is_read_at_once(value: str, expected: str | None):
    """A Markdown page's ``日期：`` value padded with spaces took minutes: the zone patterns
    tried every space of the run as the start of the zone. Counted, not timed: each
    pattern now reads the run once."""
    assert dates.parse_when(value.format(" " * 100_000)) == expected


def test_a_feed_date_with_the_half_of_the_day_is_read():
    assert dates.feed_date("2022/1/3 下午3:20:00")[:5] == (2022, 1, 3, 15, 20)


def test_a_feed_date_with_the_day_of_the_week_is_read():
    assert dates.feed_date("2022-01-03 (周一) 10:00")[:5] == (2022, 1, 3, 10, 0)


def test_epoch_ms():
    assert dates.from_epoch_ms(1643384702000) == "2022-01-28T15:45:02Z"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("歐洲各國在烏克蘭問題上立場不一，德國與法國主張對話。", "zh-Hant"),
        ("欧洲各国在乌克兰问题上立场不一，德国与法国主张对话。", "zh-Hans"),
        ("English lead paragraph. " * 20 + "歐洲各國在烏克蘭問題上立場不一。" * 10, "zh-Hant"),
        ("English only, with one 字.", "other"),
        ("", "other"),
    ],
)
def test_detect_lang_votes_on_the_script(text: str, lang: str):
    assert detect_lang(text) == lang


def test_script_vote_reads_the_shipped_table_not_opencc_s2t(monkeypatch):
    """OpenCC's s2t converter costs ~26 MB to load; parsing Traditional text must not."""

    def refuse(_s):
        raise AssertionError("s2t loaded")

    monkeypatch.setattr(text_module, "to_traditional", refuse)
    assert detect_lang("歐洲各國在烏克蘭問題上立場不一，德國與法國主張對話。" * 3) == "zh-Hant"
    assert detect_lang("欧洲各国在乌克兰问题上立场不一，德國與法國主张对话。" * 3) == "zh-Hans"


def test_script_vote_counts_what_opencc_t2s_changes_alone():
    """The vote counts the characters that t2s changes on their own (one character class),
    as it counts those s2t changes. It used to convert the sample with OpenCC's phrase
    dictionary, which also changes 藉 in 藉口: the same answers on the seeds' sentences in
    either script; on mixtures of the two, the answers of a character-by-character count."""

    def vote(text: str, *, by_phrases: bool) -> str:
        s = text[:2000]
        if not text_module._enough_chinese(s, max(2, len(s.strip()) * 0.1)):
            return "other"
        head = s[: text_module._SCRIPT_SAMPLE]
        if not text_module._enough_chinese(head, text_module._SCRIPT_MIN_CJK):
            head = s
        if by_phrases:
            simp = text_module.to_simplified(head)
            trad_only = sum(a != b for a, b in zip(head, simp, strict=False))
        else:
            trad_only = sum(text_module.to_simplified(c) != c for c in head)
        simp_only = sum(c in text_module.simplified_only() for c in head)
        return "zh-Hant" if trad_only > simp_only else "zh-Hans"

    stems = ("000", "001", "002", "003", "004")
    texts = [item.text for stem in stems for item in parse(seed(stem))]
    sentences = [x for t in texts for x in t.split("。") if len(x) > 5]
    traditional = [text_module.to_traditional(x) for x in sentences]
    pure = sentences + traditional
    expected = [vote(t, by_phrases=True) for t in pure]
    assert {"zh-Hans", "zh-Hant"} <= set(expected)
    assert [detect_lang(t) for t in pure] == expected

    rng = random.Random(6)
    mixed = []
    for _ in range(300):  # a few sentences, each in either script
        picks = [rng.randrange(len(sentences)) for _ in range(rng.randrange(2, 12))]
        mixed.append("。".join(rng.choice((sentences, traditional))[k] for k in picks))
    expected = [vote(t, by_phrases=False) for t in mixed]
    assert {"zh-Hans", "zh-Hant"} <= set(expected)
    assert [detect_lang(t) for t in mixed] == expected


def test_simplified_only_table_is_what_opencc_s2t_changes():
    shipped = text_module._SIMPLIFIED_ONLY.read_text(encoding="utf-8").strip()
    assert shipped == text_module.simplified_only_from_opencc(), (
        "OpenCC changed: rewrite monitor/simplified_only.txt from simplified_only_from_opencc()"
    )
    assert {"发", "国", "乌", "兰"} <= text_module.simplified_only()
    assert not {"發", "國", "烏", "蘭", "中", "a"} & text_module.simplified_only()


@pytest.mark.parametrize(
    "url",
    [
        "https://i.example/a/b.jpg?w=770&resize=770%2C433",
        "https://i.example/a/b.jpg?",  # urljoin drops the empty query
        "HTTPS://i.example/a.jpg",
        "https:///i.example/a.jpg",
        "https://i.example/a;p",
        " https://i.example/a.jpg",
        "/img/a.jpg",
        "img/a b.jpg",
        "//cdn.example/a.jpg",
        "data:image/png;base64,xx",
    ],
)
def test_join_url_is_urljoin(url: str):
    base = "https://mirror.example/posts/1.html"
    assert join_url(base, url) == urljoin(base, url)
    assert join_url(None, url) == url


# --- html pages ---------------------------------------------------------------------------


def test_html_page_reads_the_article_and_its_head():
    item = one(fixture("html_page.html"), url="https://mirror.example.org/a/1.html")
    assert item.format == "html-page"
    assert item.title == "拜登普京本月第二度通话 双方互发警告"  # og:title, not <title>'s suffix
    assert item.url == "https://www.epochtimes.com/gb/21/12/31/n13473224.htm?utm_source=mirror"
    assert (item.site, item.author) == ("大纪元", "高杉")
    assert item.published == "2021-12-31T23:20:00Z"  # article:published_time, in UTC
    assert item.tags == ["拜登", "普京", "乌克兰"]
    # The article's text only: no navigation, header (title, date), footer or aside.
    assert item.text.splitlines() == [
        "（大纪元记者高杉编译报导）美国总统拜登周五（12月31日）表示，他已经警告俄罗斯总统普京，"
        "对乌克兰采取行动将引发制裁。",
        "拜登在特拉华州",
        "拜登说：“我明确表示，如果他采取进一步行动，我们将实施严厉制裁。”",
    ]
    assert "首页" not in item.html and "责任编辑" not in item.html and "<h1>" not in item.html
    # og:image first; the article's own image resolved against the canonical address.
    assert [(i.url, i.caption) for i in item.images] == [
        ("https://i.epochtimes.com/assets/uploads/2021/12/id13425060.jpg", None),
        ("https://www.epochtimes.com/assets/uploads/2021/12/id13425061.jpg", "拜登在特拉华州"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        "<article><h2>甲</h2><p>一</p></article><article><h2>乙</h2><p>二</p></article>",
        "<div><p>页面不存在，请返回首页。</p></div>",
        "<article><h1>标题</h1></article>",  # no text
    ],
    ids=["front-page", "no-article", "empty-article"],
)
def test_an_html_page_that_is_no_one_article_is_not_an_article(body):
    page = f"<!doctype html><html><head><title>大纪元</title></head><body>{body}</body></html>"
    with pytest.raises(NotAnArticle):
        parse(page.encode(), url="https://mirror.example.org/")


def test_html_page_without_head_metadata_takes_h1_and_time():
    page = (
        '<html><head><title>站点名</title><meta property="article:author" '
        'content="https://www.facebook.com/someone"></head><body><article><h1>北约外长会议</h1>'
        '<time datetime="2022-01-07T10:00:00+08:00">1月7日</time>'
        "<p>北约外长周五举行视频会议。</p></article></body></html>"
    )
    item = one(page.encode(), url="https://mirror.example.org/p/2.html")
    assert (item.title, item.url, item.published) == ("北约外长会议", None, "2022-01-07T02:00:00Z")
    assert item.text == "北约外长周五举行视频会议。"
    assert item.author is None  # a profile's address is no name


def html_page(body: str, head: str = "") -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>站点</title>{head}</head><body>{body}</body></html>"
    ).encode()


def test_html_page_story_beside_teasers_and_comments():
    page = html_page(
        "<article><h1>北约外长会议</h1><p>北约外长周五举行视频会议。</p>"
        '<p>会议讨论了<time datetime="2021-12-07">12月7日</time>的峰会。</p>'
        '<time datetime="2022-01-07T10:00:00+08:00">1月7日</time>'
        '<section id="comments"><p>网友甲：支持</p></section>'
        "<article><p>网友乙：反对</p></article></article>"
        "<aside><article><h2>另一条新闻</h2></article><article><h2>第三条</h2></article></aside>"
        '<div class="commentary-note"><p>不在文章里</p></div>'
    )
    item = one(page)
    assert item.title == "北约外长会议"
    assert item.text == "北约外长周五举行视频会议。\n会议讨论了12月7日的峰会。"
    assert item.published == "2022-01-07T02:00:00Z"  # the dateline, not the date in a sentence


def test_html_page_links_resolve_against_its_base_and_a_saved_file_is_still_read():
    page = html_page(
        '<article><h1>标题</h1><p>正文。</p><img src="img/1.jpg"></article>',
        head='<base href="https://www.example.com/news/">'
        '<link rel="canonical" href="2022/01/123.html">',
    )
    item = one(page, url="http://127.0.0.1:8765/saved.html")
    assert item.url == "https://www.example.com/news/2022/01/123.html"
    assert [i.url for i in item.images] == ["https://www.example.com/news/2022/01/img/1.jpg"]
    # Imported (no address known): the relative canonical stays a path; no crash.
    saved = one(
        html_page(
            "<article><h1>标题</h1><p>正文。</p></article>",
            head='<link rel="canonical" href="2022/01/123.html">',
        )
    )
    assert (saved.url, saved.text) == ("2022/01/123.html", "正文。")


def test_html_page_that_calls_itself_a_website_is_not_an_article():
    page = html_page(
        "<article><h1>国际新闻</h1><ul><li>新闻一</li><li>新闻二</li></ul></article>",
        head='<meta property="og:type" content="website">',
    )
    with pytest.raises(NotAnArticle, match="is a website, not an article"):
        parse(page)


def test_xhtml_page_with_an_xml_declaration_is_read():
    page = b'<?xml version="1.0" encoding="utf-8"?>\n' + html_page(
        "<article><h1>标题</h1><p>正文。</p></article>"
    )
    assert detect(page) == "html-page"
    assert one(page).text == "正文。"
