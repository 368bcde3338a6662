"""Feed bodies read off the sanitizer's output give what the lxml tree path gives."""

from __future__ import annotations

import random
import re
from html import escape

import pytest

from monitor.parsers import body
from monitor.parsers.fastfeed import resolve_uris
from monitor.parsers.html import (
    _AFTER_COMMON_BLOCK,
    _LOOSE_SPACE,
    _squeeze_markup,
    _squeeze_single_spaces,
    clean_html,
    cleaner,
    fragment,
    html_to_text,
    images_in,
    tidy,
)

BASE = "https://www.example.com/feeds/world.xml"
LINK = "https://news.example.org/a/2021/12/31/story.html"

WORDS = ["普京", "与拜登", "通话。", "Vladimir Putin", "NATO", "12月30日", "，", "1,000", "烏克蘭"]
SPACES = ["", " ", "\n", "\n  ", "\u3000", "&nbsp;", "\t"]
INLINE = ["a", "b", "em", "span", "strong", "font", "code", "q"]
BLOCK = ["p", "div", "section", "article", "h2", "blockquote", "pre", "header", "nav"]
DROPPED = ["script", "style", "iframe", "textarea", "object", "svg"]
SRCS = ["/img/a.jpg", "b.png?x=1&amp;y=2", "https://cdn.example.net/c.jpg", "", "data:image/png;x"]
HREFS = ["/t/1", "../up", "https://e.example/x?a=1&amp;b=2", "mailto:x@example.com", "#f"]


def attrs(rng: random.Random, tag: str, plain: bool) -> str:
    picks = []
    if tag == "a":
        picks.append(("href", rng.choice(HREFS)))
    if tag == "img":
        picks.append(("src", rng.choice(SRCS)))
        picks.append(("alt", rng.choice(["图", "Putin & Biden", ""])))
    for name, value in [("title", "题 <x>"), ("class", "c"), ("lang", "zh"), ("width", "600")]:
        if rng.random() < 0.3:
            picks.append((name, value))
    rng.shuffle(picks)
    out = []
    for name, value in picks:
        value = value.replace("<", "&lt;").replace(">", "&gt;")
        if plain:
            out.append(f' {name}="{value}"')
        else:
            out.append(rng.choice([f' {name}="{value}"', f" {name}='{value}'", f" {name}={value}"]))
    return "".join(out)


def random_html(
    rng: random.Random, plain: bool, depth: int = 0, *, inline: bool | None = False, link=False
) -> str:
    """A body with well-formed nesting (as feeds write them), or any nesting with
    ``inline=None``: inline elements then hold blocks, ``<p>`` holds ``<p>``, ``<a>`` ``<a>``…"""
    out = []
    for _ in range(rng.randint(1, 5)):
        r = rng.random()
        if r < 0.35 or depth > 3:
            out.append(rng.choice(SPACES) + escape(rng.choice(WORDS), quote=False))
        elif r < 0.45:
            out.append(f"<img{attrs(rng, 'img', plain)}>" if plain else "<img src='/x.png'/>")
        elif r < 0.5:
            out.append(rng.choice(["<br>", "<br/>", "<!-- 注释 -->", "&amp;", "&lt;"]))
        elif r < 0.55:
            tag = rng.choice(DROPPED)
            out.append(f"<{tag}>隐藏{rng.choice(WORDS)}</{tag}>")
        elif r < 0.6 and not inline:
            cells = "".join(f"<td>{rng.choice(WORDS)}</td>" for _ in range(rng.randint(1, 3)))
            out.append(f"<table><tr>{cells}</tr><tr><th>表头</th></tr></table><hr>")
        elif r < 0.65 and not inline:
            items = "".join(f"<li>{random_html(rng, plain, depth + 1, link=link)}</li>"
                            for _ in range(rng.randint(1, 3)))  # fmt: skip
            tag = rng.choice(["ul", "ol"])
            out.append(f"<{tag}>{items}</{tag}>")
        else:
            tag = rng.choice(INLINE if inline else INLINE + BLOCK)
            if tag == "a" and link and inline is not None:
                tag = "b"
            # In well-formed markup a paragraph, heading or pre holds inline content only.
            holds_inline = inline is not None and (tag in INLINE or tag in ("p", "h2", "pre"))
            inner = random_html(
                rng,
                plain,
                depth + 1,
                inline=True if holds_inline else inline,
                link=link or tag == "a",
            )
            out.append(f"<{tag}{attrs(rng, tag, plain)}>{inner}</{tag}>{rng.choice(SPACES)}")
    return "".join(out)


def tree_path(html: str, *, base: str | None, resolve: bool):
    root = fragment(html)
    if resolve:
        resolve_uris(root, base)
    return html_to_text(root), images_in(root, base=LINK), clean_html(root, base=base)


# libxml2 moves a fragment's leading <script> or <style> into a <head>, and HTML5 elements
# after it (<nav>, <section>) with it, where html_to_text never looks: the bodies below
# start with text so that the comparison is about everything else.
LEAD = "导语 "


@pytest.mark.parametrize("seed", range(200))
def test_random_bodies_read_the_same_as_the_tree(seed: int):
    rng = random.Random(seed)
    html = LEAD + random_html(rng, plain=False)
    assert body.read(html, base=None, image_base=LINK) == tree_path(html, base=None, resolve=False)
    assert body.text(html) == html_to_text(html)


@pytest.mark.parametrize("seed", range(200))
def test_plain_bodies_with_a_base_read_as_feedparser_resolves_them(seed: int):
    rng = random.Random(1000 + seed)
    html = LEAD + random_html(rng, plain=True)
    got = body.read(html, base=BASE, image_base=LINK, sort_attributes=True)
    assert got == tree_path(html, base=BASE, resolve=True)


@pytest.mark.parametrize("seed", range(200))
def test_badly_nested_bodies_keep_every_word_in_order(seed: int):
    """html5ever builds a tree the way browsers do, libxml2 its own way: for <p> in <p>,
    <a> in <a> or a table in <pre> the line breaks may differ, the words may not."""
    rng = random.Random(2000 + seed)
    html = LEAD + random_html(rng, plain=False, inline=None)
    text, images, _ = body.read(html, base=None, image_base=LINK)
    tree_text, tree_images, _ = tree_path(html, base=None, resolve=False)
    assert "".join(text.split()) == "".join(tree_text.split())
    assert images == tree_images


PLAIN_TEXT_CHARS = [*"美国总统 \t\n\x0c\x85\u2028\u3000\xa0abc.,\"'/=\ufffd\u200b\ue000\U0001f600",
                    *map(chr, range(1, 32)), *map(chr, range(0x7F, 0xA0)),
                    "<", ">", "&", "&amp;", "\r", "\0", "\ufeff"]  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_text_without_markup_skips_the_sanitizer_for_the_same_text(seed: int):
    rng = random.Random(seed)
    skipped = 0
    for _ in range(2000):
        s = "".join(rng.choice(PLAIN_TEXT_CHARS) for _ in range(rng.randint(0, 40)))
        assert body.text(s) == body.text_of_clean(cleaner(None, body._WIDE_TAGS)(s)), repr(s)
        skipped += body._CHANGED_BY_SANITIZER.search(s) is None
    assert 200 < skipped < 1800


def test_text_after_a_leading_script_is_kept():
    html = "<script>x()</script><nav>\n导航</nav><section>正文</section>"
    assert body.text(html) == "导航\n正文"
    assert body.read(html, base=None, image_base=None)[0] == "导航\n正文"


def test_line_breaks_of_blocks_the_stored_html_drops():
    text, images, stored = body.read(
        "<section>第一段</section><article><header>标题</header>正文 <b>Putin</b> says</article>"
        '<p><img alt="图" src="/p.jpg"></p><script>alert(1)</script>',
        base=BASE,
        image_base=LINK,
    )
    assert text == "第一段\n标题\n正文Putin says"
    assert [im.url for im in images] == ["https://www.example.com/p.jpg"]
    assert stored == (
        '第一段标题正文<b>Putin</b> says<p><img alt="图" src="https://www.example.com/p.jpg"></p>'
    )


@pytest.mark.parametrize(
    "html",
    [
        '<img data-src="/lazy.jpg" src="data:image/gif;base64,R0l">',
        '<noscript><img src="/n.jpg"></noscript>',
        '<figure><img src="/f.jpg"><figcaption>说明</figcaption></figure>',
        '<ok href="/x">链接</ok>',
        '<SPAN class="x" HREF="/y">链接</SPAN>',
    ],
)
def test_bodies_that_need_the_tree_are_left_to_it(html: str):
    assert body.read(html, base=BASE, image_base=LINK) is None


@pytest.mark.parametrize("seed", range(300))
def test_tidy_squeezes_single_spaces_the_quick_way_to_the_same_markup(seed: int):
    """``tidy`` decides single spaces from their neighbours; the tag-by-tag pass is the
    reference. Half the bodies keep only single spaces between words, the quick way's."""
    html = LEAD + random_html(random.Random(3000 + seed), plain=True)
    if seed % 2:
        html = single_spaces(html)
    for cleaned in (cleaner(BASE)(html), cleaner(BASE, body._WIDE_TAGS)(html)):
        squeezed = _squeeze_markup(cleaned) if _LOOSE_SPACE.search(cleaned) else cleaned
        assert tidy(cleaned) == squeezed.strip()


def single_spaces(html: str) -> str:
    """Whitespace runs made one space, and none left beside a tag."""
    return re.sub(r"\s*(<[^<>]*>)\s*", r"\1", re.sub(r"\s+", " ", html))


def test_tidy_takes_the_quick_way_for_single_spaces():
    quick = 0
    for seed in range(200):
        html = single_spaces(LEAD + random_html(random.Random(3000 + seed), plain=True))
        cleaned = _AFTER_COMMON_BLOCK.sub(">", cleaner(BASE)(html))
        quick += _squeeze_single_spaces(cleaned) is not None
    assert quick >= 150


@pytest.mark.parametrize(
    ("cleaned", "tidied"),
    [
        ("<p>普京 与拜登</p>\n<p>Putin 说</p>", "<p>普京与拜登</p><p>Putin说</p>"),
        ('<p><img alt="图 片"></p>\n <p>a b</p>', '<p><img alt="图 片"></p><p>a b</p>'),
        ("<p>a <b>b</b> 中</p>\n", "<p>a <b>b</b>中</p>"),
        ("<p>a\tb 中</p>", "<p>a b中</p>"),
        ("<p>a\tb</p>", "<p>a\tb</p>"),  # nothing beside a tag or a wide character
    ],
)  # fmt: skip
def test_tidy_keeps_spaces_in_tags_and_between_latin_words(cleaned: str, tidied: str):
    assert tidy(cleaned) == tidied


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>The ＮＡＴＯ meeting in Brussels</p>", "The ＮＡＴＯ meeting in Brussels"),
        ("<p>Ｇ７ leaders met</p>", "Ｇ７ leaders met"),
        ("<p>北约 ＮＡＴＯ 会议，Ｇ７ 峰会</p>", "北约ＮＡＴＯ会议，Ｇ７峰会"),  # as 北约NATO
    ],
)
def test_full_width_letters_keep_the_spaces_around_them_as_words(html, expected):
    """Full-width Latin is a word like its half-width form: its spaces were dropped, so a
    watch on "nato" missed "TheＮＡＴＯmeeting"."""
    assert body.text(html) == expected


@pytest.mark.parametrize(
    "html",
    [
        '<p>正文<img src="https://t.example/p.gif?id=1" width="1" height="1"></p>',  # predicted
        "<p>正文<img src='https://t.example/p.gif?id=1' width='1px' height='1px'></p>",  # nh3
        '<p>正文<img src="/p.gif" width="0"></p><noscript>x</noscript>',  # the tree
    ],
)
def test_a_tracking_pixel_is_no_image_of_the_story(html: str):
    body_html = html + '<p><img src="https://cdn.example.net/photo.jpg" width="600"></p>'
    got = body.read(body_html, base=BASE, image_base=LINK)
    _text, images, _stored = got or tree_path(body_html, base=BASE, resolve=False)
    assert [im.url for im in images] == ["https://cdn.example.net/photo.jpg"]


@pytest.mark.parametrize(
    "html",
    [
        '<p>正文<img src="https://t.example/p.gif?id=1" width="1" height="1">完</p>',  # predicted
        "<p>正文 <img src='https://t.example/p.gif?id=1' width='1px' height='1px'> 完</p>",  # nh3
        '<p>正文<img src="/p.gif" width="0">完</p><noscript>x</noscript>',  # the tree
    ],
)
def test_a_tracking_pixel_is_left_out_of_the_stored_html(html: str):
    """Kept there, a digest mail or the store's pages would load it for every reader."""
    body_html = html + '<p><img src="https://cdn.example.net/photo.jpg" width="600"></p>'
    reference = tree_path(body_html, base=BASE, resolve=False)
    got = body.read(body_html, base=BASE, image_base=LINK)
    _text, _images, stored = got or reference
    assert "p.gif" not in stored and "photo.jpg" in stored
    assert got is None or got == reference


@pytest.mark.parametrize(
    "img",
    [
        '<img data-src="/lazy.jpg" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
        '<img data-original="/lazy.jpg" src="/static/grey.gif">',
        '<img class="lazy" data-original="/lazy.jpg">',
        '<img data-src="/lazy.jpg" data-ratio="0.56" data-type="jpeg">',  # WeChat
    ],
)
def test_a_lazy_loaded_image_is_its_real_address_not_the_placeholder(img: str):
    html = f"<p>正文</p><p>{img}</p>"
    got = body.read(html, base=BASE, image_base=LINK)
    _text, images, _stored = got or tree_path(html, base=BASE, resolve=False)
    assert [im.url for im in images] == ["https://news.example.org/lazy.jpg"]


@pytest.mark.parametrize(
    "img",
    [
        '<img srcset="https://cdn.example.net/s.jpg 480w, https://cdn.example.net/l.jpg 1080w">',
        '<img alt="图" srcset="/s.jpg, https://cdn.example.net/l.jpg 2x">',  # predicted shape
        '<img src="data:image/gif;base64,R0l" srcset="https://cdn.example.net/l.jpg">',
        "<img src='' srcset='https://cdn.example.net/l.jpg 2x, https://cdn.example.net/s.jpg 1x'>",
    ],
)
def test_an_image_known_only_by_its_srcset_is_its_largest_candidate(img: str):
    html = f"<p>正文</p><p>{img}</p>"
    reference = tree_path(html, base=BASE, resolve=False)
    got = body.read(html, base=BASE, image_base=LINK)
    assert [im.url for im in (got or reference)[1]] == ["https://cdn.example.net/l.jpg"]
    assert got is None or got == reference


@pytest.mark.parametrize(
    "video",
    [
        '<video src="/v.mp4" poster="/poster.jpg"></video>',
        '<video controls poster="/poster.jpg"><source src="/v.mp4"></video>',
    ],
)
def test_a_video_poster_is_an_image_of_the_story(video: str):
    """A Telegram bridge's video post has no picture but the video's poster."""
    html = f"<p>正文</p>{video}<p><img src='https://t.example/p.gif' width='1'></p>"
    reference = tree_path(html, base=BASE, resolve=False)
    got = body.read(html, base=BASE, image_base=LINK)
    assert [im.url for im in (got or reference)[1]] == ["https://news.example.org/poster.jpg"]
    assert got is None or got == reference
