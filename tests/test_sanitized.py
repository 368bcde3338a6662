"""Plain markup: what nh3 would write back and what body.py reads off it, told without nh3.

nh3 is the reference. The generated bodies are near the line on purpose: most are plain
paragraphs, links and images, and one change in five (an entity, a control character, a
misnested or unclosed tag, an uppercase or unknown tag, an attribute nh3 drops, a URL the
url crate rewrites or rejects) pushes a body off it.
"""

from __future__ import annotations

import random

import pytest

from monitor.parsers import body, fastfeed, sanitized
from monitor.parsers.html import (
    cleaner,
    lines_of,
    tidy,
    tidy_pieces,
)

BASE = "https://www.example.com/feeds/world.xml"
LINK = "https://news.example.org/a/2021/12/31/story.html"

TEXT = ["普京", "与拜登通话。", "Vladimir Putin", " ", "\n", "\n  ", "\t", "\u3000", "12月30日",
        "，", "1,000", "烏克蘭", "\U0001f600", "\u200b", "\ufdd0", "&amp;", "&lt;", "&gt;",
        "&nbsp;"]  # fmt: skip
OFF_TEXT = ["&quot;", "&#39;", "&copy;", "& ", "&amp", "\xa0", "<", ">", "\r", "\x00", "\x0c",
            "\x85", "\ufeff", "\ufffe", "<!-- x -->", "a < b"]  # fmt: skip
GOOD_URLS = ["https://cdn.example.net/c.jpg", "http://i.example-img.com/a/b-1.jpg?x=1#f",
             "https://e.example:8080/x", "https://a.b-c.d/", "https://e.example/?a=1&amp;b=2",
             "https://e.example/a\\b%zz'"]  # fmt: skip
OFF_URLS = ["/img/a.jpg", "b.png", "HTTPS://e.example/", "https://E.example/", "javascript:x()",
            "https://xn--zz.example/", "https://a.xn--zz/", "https://e.example:99999/",
            "https://127.0.0.1/x", "https://a..b/", "data:image/png;x", "mailto:x@example.com",
            "", "https://e.example/a b", "https://e.example/?a=1&b=2",
            "https://e.example/?a=1&nbsp;", "https://e.example/?a=1&quot;"]  # fmt: skip
ALTS = ["图", "Putin Biden", "", "说'明", "a\tb", "a\nb", "x=1", "a src=b", "a\tALT =b",
        "a&amp;b", "&quot;引&quot;", "a&nbsp;b"]  # fmt: skip
OFF_ALTS = ["a\xa0b", "\x01", "a&lt;b", "a&gt;b", "&#39;", "a&b"]
PHRASE = ["b", "strong", "em", "i", "u", "s", "span", "sub", "sup", "small", "code"]
PARAGRAPHS = ["p", "h1", "h2", "h3", "h6"]
FLOW = ["div", "blockquote"]
OFF_TAGS = ["P", "font", "q", "pre", "section", "table", "figure", "textarea", "script", "ok"]


class Gen:
    """Random markup; ``off`` is the chance of each step leaving the predictable shapes."""

    def __init__(self, rng: random.Random, off: float):
        self.rng, self.off = rng, off

    def maybe_off(self) -> bool:
        return self.rng.random() < self.off

    def text(self) -> str:
        pool = OFF_TEXT if self.maybe_off() else TEXT
        return "".join(self.rng.choice(pool) for _ in range(self.rng.randint(0, 3)))

    def attrs(self, tag: str) -> str:
        rng = self.rng
        picks = []
        if tag == "a" and rng.random() < 0.9:
            picks.append(("href", rng.choice(OFF_URLS if self.maybe_off() else GOOD_URLS)))
        if tag == "img":
            if rng.random() < 0.9:
                picks.append(("src", rng.choice(OFF_URLS if self.maybe_off() else GOOD_URLS)))
            picks.append(("alt", rng.choice(OFF_ALTS if self.maybe_off() else ALTS)))
        if tag in ("a", "img") and rng.random() < 0.3:
            picks.append(("title", "题"))
        if tag == "img" and rng.random() < 0.3:
            picks.append(("width", "600"))
        if rng.random() < 0.2:  # attributes the sanitizer drops, or keeps on every tag
            picks.append(rng.choice([("class", "c"), ("style", "color:red"), ("rel", "x"),
                                     ("target", "_blank"), ("data-id", "7"), ("lang", "zh"),
                                     ("aria-label", "a=b"), ("id", "p1")]))  # fmt: skip
        if self.maybe_off():
            picks.append(rng.choice([("TITLE", "t"), ("data-src", "https://e.example/l.jpg"),
                                     ("href", "https://e.example/"), ("on-x", "a&b")]))  # fmt: skip
        if picks and self.maybe_off():
            picks.append(picks[0])  # named twice
        rng.shuffle(picks)
        out = "".join(f' {k}="{v}"' for k, v in picks)
        if self.maybe_off():
            out = out.replace('="', "='", 1).replace('" ', "' ", 1) if out else "  "
        return out

    def void(self) -> str:
        tag = self.rng.choice(["img", "img", "br", "hr"])
        end = self.rng.choice([">", "/>", " />"])
        if self.maybe_off():
            return self.rng.choice(["</br>", "</img>", "<br >", "<hr/ >"])
        return f"<{tag}{self.attrs(tag) if tag == 'img' else ''}{end}"

    def element(self, tag: str, inner: str) -> str:
        if self.maybe_off():
            return self.rng.choice([f"<{tag}>{inner}", f"{inner}</{tag}>", f"<{tag}/>{inner}",
                                    f"<{tag}>{inner}</{tag}></{tag}>"])  # fmt: skip
        return f"<{tag}{self.attrs(tag)}>{inner}</{tag}>"

    def phrase(self, depth: int, in_link: bool) -> str:
        out = []
        for _ in range(self.rng.randint(0, 3)):
            r = self.rng.random()
            if r < 0.45 or depth > 4:
                out.append(self.text())
            elif r < 0.6:
                out.append(self.void() if self.rng.random() < 0.7 else "<br>")
            else:
                tag = self.rng.choice(PHRASE + ([] if in_link else ["a", "a"]))
                if self.maybe_off():
                    tag = self.rng.choice(OFF_TAGS + ["a", "p", "div", "li", "ul"])
                out.append(self.element(tag, self.phrase(depth + 1, in_link or tag == "a")))
        return "".join(out)

    def flow(self, depth: int) -> str:
        out = []
        for _ in range(self.rng.randint(1, 4)):
            r = self.rng.random()
            if r < 0.5 or depth > 3:
                tag = self.rng.choice(PARAGRAPHS)
                out.append(self.element(tag, self.phrase(depth + 1, False)) + self.text())
            elif r < 0.65:
                items = "".join(
                    self.element("li", self.flow(depth + 1) if self.rng.random() < 0.3
                                 else self.phrase(depth + 1, False)) + self.rng.choice(["", "\n"])
                    for _ in range(self.rng.randint(1, 3))
                )  # fmt: skip
                out.append(self.element(self.rng.choice(["ul", "ol"]), items))
            elif r < 0.8:
                out.append(self.element(self.rng.choice(FLOW), self.flow(depth + 1)))
            elif r < 0.9:
                out.append(self.phrase(depth + 1, False))
            else:
                out.append(self.rng.choice(["<hr>", "<br/>", "\n"]))
        return "".join(out)


def sanitized_as_body_reads_it(html: str, sort_attributes: bool) -> str:
    if sort_attributes:
        html = body._MULTI_ATTR.sub(body._sort_attributes, html)
    return cleaner(BASE, body._WIDE_TAGS)(html)


@pytest.mark.parametrize("seed", range(40))
def test_predicted_markup_is_what_nh3_writes_and_reads_the_same(seed: int):
    rng = random.Random(seed)
    predicted = 0
    for k in range(100):
        html = Gen(rng, off=0.0 if k % 4 == 0 else 0.05).flow(0)
        sort = bool(k % 2)
        plain = sanitized.predict(html, sort_attributes=sort)
        if plain is None:
            continue
        predicted += 1
        wide = sanitized_as_body_reads_it(html, sort)
        assert plain.html == wide, repr(html)
        assert plain.html == cleaner(BASE)(html if not sort else wide), repr(html)
        assert body.text_of_marked(plain.marked) == body.text_of_clean(wide), repr(html)
        assert [src for src in plain.image_sources] == [
            im.url for im in body.images_of_clean(wide, base=None)
        ] or len(set(plain.image_sources)) < len(plain.image_sources)
        assert tidy_pieces(plain.pieces) == tidy(wide), repr(html)
        assert body.read(html, base=BASE, image_base=LINK, sort_attributes=sort) == (
            body.text_of_clean(wide),
            body.images_of_clean(wide, base=LINK),
            tidy(wide),
        )
    # Every fourth body never leaves the predictable shapes; the others mostly do.
    assert 25 <= predicted <= 80


def test_each_departure_from_plain_markup_is_left_to_nh3():
    plain = (
        '<p>普京&amp;<a href="https://e.example/x">与拜登&nbsp;</a>'
        '<img src="https://e.example/i.jpg?w=1&amp;h=2" alt="图&quot;"/></p>'
    )
    assert sanitized.predict(plain) is not None
    for before, after in [
        ("普京", "普京&quot;"),  # decoded, and '"' is not escaped in text
        ("普京", "普京&#26222;"),
        ("普京", "普京&copy;"),
        ("普京", "普京 & 拜登"),
        ('alt="', 'alt="&lt;'),  # decoded, and "<" is not escaped in a value
        ("?w=1&amp;h=2", "?w=1&nbsp;"),  # a URL holds "&amp;" alone
        ("?w=1&amp;h=2", "?w=1&h=2"),
        ("普京", "普京\xa0"),
        ("普京", "普京\r"),
        ("普京", "普京>"),
        ("普京", "普京 > 1 < 2"),
        ("<p>", "<P>"),
        ("<p>", "<p class='x'>"),
        ("<p>", '<p class="x" class="y">'),
        ("<p>", '<p data-x="a&b">'),  # checked whole, even where dropped
        ("<p>", "<section>"),
        ("</p>", ""),
        ("</p>", "</p></p>"),
        ('<a href="https://e.example/x">', '<a href="/x">'),
        ('<a href="https://e.example/x">', '<a href="https://xn--zz.example/x">'),
        ('<a href="https://e.example/x">', '<a href="https://e.example/x" href="https://e.example/y">'),
        ('<a href="https://e.example/x">', "<a href='https://e.example/x'>"),
        ('<a href="https://e.example/x">', '<a href="https://e.example/x"><a>'),
        ("与拜登", "<div>与拜登</div>"),
        ("/>", " data-src=\"x\"/>"),
        ("与拜登", '<b><a href="https://e.example/y">与拜登</a></b>'),  # a link in a link
        ('<a href="https://e.example/x">', '<a href="https://a.xn--zz/x">'),
    ]:  # fmt: skip
        assert before in plain
        changed = plain.replace(before, after, 1)
        assert sanitized.predict(changed) is None, changed
    assert sanitized.predict("<ul><li>一</li></ul>") is not None
    # A pseudo-link and a lazy image are the tree path's (body._TREE_ONLY).
    assert sanitized.predict('<p><span style="x">链接</span></p>') is not None
    assert sanitized.predict('<p><span href="/x">链接</span></p>') is None
    assert sanitized.predict('<img data-id="1" src="https://e.example/a.jpg">') is not None
    assert sanitized.predict('<img data-src="https://e.example/a.jpg">') is None
    deep = "<blockquote>" * 300 + "<p>" + "<b>" * 300 + "一" + "</b>" * 300 + "</p>"
    deep += "</blockquote>" * 300
    assert sanitized.predict(deep).html == deep == cleaner(BASE)(deep)  # no depth limit
    assert sanitized.predict("<ul><p>一</p></ul>") is None  # a list holds list items only


def test_nh3_changes_only_what_the_prediction_changes():
    html = (
        '<p style="text-indent:2em" lang="zh">普京 <a title="t" target="_blank" '
        'href="https://e.example/x">与拜登</a>\n<img width="600" src="https://e.example/i.jpg" '
        'class="wp-image" alt="图"/><br/></p>\n<ul><li>一</li></ul>'
    )
    plain = sanitized.predict(html, sort_attributes=True)
    assert plain.html == (
        '<p lang="zh">普京 <a href="https://e.example/x" title="t" rel="noopener noreferrer">'
        '与拜登</a>\n<img alt="图" src="https://e.example/i.jpg" width="600"><br></p>\n'
        "<ul><li>一</li></ul>"
    )
    assert plain.html == sanitized_as_body_reads_it(html, True)
    assert plain.image_sources == ["https://e.example/i.jpg"]
    assert lines_of(plain.marked) == "普京与拜登\n一"
    # A "/" ends only a void element; elsewhere html5ever drops it, and so does the prediction.
    assert sanitized.predict("<p/>一</p>").html == "<p>一</p>" == cleaner(BASE)("<p/>一</p>")


TIDY_TEXT = ["普京", "Putin", " ", "  ", "\n", "\n\n  ", "\t", "\u3000", "a b", "a  b", "与 拜登",
             ""]  # fmt: skip
TIDY_TAGS = ["<p>", "</p>", "<br>", "<b>", "</b>", "<div>", "</li>", '<img alt="图 片" src="x">',
             "<a>", "</h2>", "<hr>"]  # fmt: skip


@pytest.mark.parametrize("seed", range(20))
def test_tidy_of_pieces_is_tidy_of_the_joined_markup(seed: int):
    rng = random.Random(seed)
    quick = 0
    for _ in range(200):
        n = rng.randint(0, 8)
        pieces = [rng.choice(TIDY_TEXT if i % 2 == 0 else TIDY_TAGS) for i in range(2 * n + 1)]
        if rng.random() < 0.6:  # mostly the shape feeds have: words, newlines between blocks
            pieces = [p if i % 2 or p.isspace() or not p else p.replace(" ", "")
                      for i, p in enumerate(pieces)]  # fmt: skip
        assert tidy_pieces(pieces) == tidy("".join(pieces)), pieces
        quick += all(p.isprintable() and " " not in p or p.isspace() for p in pieces[::2])
    assert quick > 20


@pytest.mark.parametrize("seed", range(10))
def test_simple_predicted_markup_is_plain_for_feedparser(seed: int):
    """fastfeed takes a predicted body as feedparser would leave it (RawHTML) on
    ``Plain.simple`` alone; its own check, the reference, must agree."""
    rng = random.Random(100 + seed)
    reader = fastfeed._Reader(BASE)
    reader.fix = fastfeed._fix
    simple = not_simple = 0
    for k in range(200):
        html = Gen(rng, off=0.0 if k % 2 else 0.05).flow(0)
        if rng.random() < 0.1:
            html = html.replace("<p>", rng.choice(["<p/>", '<a href="https://e.example/"/>']), 1)
        plain = sanitized.predict(html, sort_attributes=True)
        if plain is None:
            continue
        if plain.simple:
            simple += 1
            assert reader._plain_html(html), html
        else:
            not_simple += 1
    assert simple > 50 and not_simple > 5


def test_a_cms_body_with_styles_classes_and_references_is_told_as_nh3_writes_it():
    html = (
        '<p style="text-indent:2em;">【大纪元2021年12月31日讯】美国总统拜登（Joe Biden）与'
        "俄罗斯总统普京&nbsp;通话。</p>\n"
        '<p><img class="aligncenter size-full wp-image-1" src="https://i.epochtimes.com/assets/'
        'uploads/2021/12/id13473224-600x400.jpg" alt="" width="600" height="400" /></p>\n'
        "<p>责任编辑：林妍</p>\n"
        '<p>The post <a href="https://www.epochtimes.com/gb/21/12/31/n13473224.htm" '
        'rel="nofollow">拜登普京通话</a> appeared first on <a href="https://www.epochtimes.com"'
        ' rel="nofollow" target="_blank">大纪元</a> &amp; Co.</p>'
    )
    for sort in (False, True):
        plain = sanitized.predict(html, sort_attributes=sort)
        assert plain is not None
        wide = sanitized_as_body_reads_it(html, sort)
        assert plain.html == wide
        assert body.read(html, base=BASE, image_base=LINK, sort_attributes=sort) == (
            body.text_of_clean(wide),
            body.images_of_clean(wide, base=LINK),
            tidy(wide),
        )
    assert "Joe Biden）与俄罗斯总统普京" in body.text_of_marked(plain.marked)
