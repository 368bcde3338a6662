"""Body cleaning shared by every format: one sanitizer for stored HTML, one text extractor.

Mirror pages pretty-print their markup, so words sit between tags on lines of their own
(``美国\\n  </ok>\\n  总统``). A browser would show those line breaks as spaces, and Chinese
has no spaces between words, so both the text and the stored HTML drop any whitespace that
touches a Chinese character or full-width punctuation mark, and keep one space only between
two Latin letters or digits ("Vladimir Putin").

Feed polling extracts text for every entry, so the body is parsed once, with lxml's plain
``etree.HTMLParser`` (``lxml.html`` runs a Python class lookup for every element it hands
out), and text, images and the sanitizer input all come from that one tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, partial
from html import escape as html_escape
from html import unescape
from urllib.parse import urljoin

import nh3
from lxml import etree

from monitor.models import Image
from monitor.text import CJK_CHARS

# Characters that never take a space next to them: ideographs, kana, CJK and full-width
# punctuation, curly quotes, dashes, ellipsis and the interpuncts used in transliterated
# names (弗拉基米尔‧普京, 杰克·沙利文). Full-width letters and digits are words like their
# half-width forms: "The ＮＡＴＯ meeting" keeps its spaces.
_FULL_WIDTH_MARKS = "\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uffef"
WIDE = CJK_CHARS + "\u3000-\u303f\u3040-\u30ff\u2010-\u2027\u00b7\u2e3a\u2e3b" + _FULL_WIDTH_MARKS
BREAK = "\ue000"  # private-use character: marks a block edge while text is gathered
CELLS = frozenset(("td", "th"))
# A space with a wide character on either side; starts with the literal so re can skip ahead.
_SPACE_BY_WIDE = re.compile(f" (?:(?=[{WIDE}])|(?<=[{WIDE}] ))")
_WIDE_CHAR = re.compile(f"[{WIDE}]")
_SPACE = re.compile(r"\s")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Kept on every tag as well: ammonia's default generic attributes, which the per-tag
# allow-list above does not replace.
GENERIC_ATTRIBUTES = frozenset({"lang", "title"})
# Dropped with everything inside them, not just unwrapped.
DROPPED = {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
           "math", "head", "title", "button", "select", "textarea", "form"}  # fmt: skip
URL_SCHEMES = {"http", "https", "mailto"}

# Elements that start a new line of text.
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "center", "dd", "details",
    "div", "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "thead", "tfoot", "tr", "ul",
})  # fmt: skip

# Where lazy-loading pages keep an image's address until it scrolls into view; ``src``
# holds a placeholder (a grey GIF, a ``data:`` image) or nothing.
LAZY_SOURCES = ("data-src", "data-original")

# The mirror marks links as <ok href> (and sometimes <span href>) to dodge filters.
PSEUDO_LINK_TAG = r"ok\b|span\b[^>]*\bhref\s*="  # what follows "<"
_PSEUDO_LINK = re.compile(f"<(?:{PSEUDO_LINK_TAG})", re.IGNORECASE)
# A tag, with quoted attribute values that may themselves hold ">".
_TAG = re.compile(r"""(<(?:[^>"']|"[^"]*"|'[^']*')*>)""")
# Whitespace that might need squeezing: next to a tag edge or a wide character. It starts
# with the whitespace so that the search tests one class per character, not two.
_LOOSE_SPACE = re.compile(f"\\s(?:(?<=[>{WIDE}]\\s)|(?=[<{WIDE}]))")
_BLOCK_TAG = re.compile(rf"</?({'|'.join(sorted(BLOCKS))})\b", re.IGNORECASE)
# Pretty-print whitespace after the tags that most often end a line in feed bodies:
# :func:`_squeeze_markup` always drops it. The search jumps from ">" to ">".
_COMMON_LINE_ENDS = ("</p>", "<p>", "<br>", "</div>", "<div>", "</li>", "<li>", "</ul>", "</ol>",
                     "</h1>", "</h2>", "</h3>", "</h4>", "</blockquote>")  # fmt: skip
_AFTER_COMMON_BLOCK = re.compile(
    ">(?:{})\\s+".format("|".join(f"(?<={tag})" for tag in _COMMON_LINE_ENDS))
)


def squeeze(s: str) -> str:
    """One line of text with pretty-print whitespace gone (see module docstring)."""
    words = s.split()
    if len(words) < 2:
        return words[0] if words else ""
    return _SPACE_BY_WIDE.sub("", " ".join(words))


# Same settings as lxml.html's parser, minus its element classes and the id index.
_PARSER = etree.HTMLParser(collect_ids=False)


_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*>")


def without_xml_declaration(text: str) -> str:
    """lxml refuses a str that declares an encoding (XHTML's ``<?xml … encoding="UTF-8"?>``);
    the text is decoded already, so the declaration says nothing more."""
    return _XML_DECLARATION.sub("", text, count=1)


def fragment(html: str | etree._Element) -> etree._Element:
    """The fragment parsed into one element (its ``<body>``); elements pass through."""
    if not isinstance(html, str):
        return html
    root = etree.fromstring(without_xml_declaration(html), _PARSER)  # None for an empty document
    body = root.find("body") if root is not None else None
    return body if body is not None else etree.Element("body")


def html_to_text(html: str | etree._Element) -> str:
    """Plain text, one paragraph per line, without scripts, styles or comments."""
    return lines_of(_marked_text(fragment(html)))


def html_to_line(html: str | etree._Element) -> str:
    """Plain text on one line, each whitespace run (block edges too) one space, for a title:
    it is written on one line, so its spaces are the author's, not pretty-printing."""
    return " ".join(_marked_text(fragment(html)).replace(BREAK, " ").split())


def _marked_text(root: etree._Element) -> str:
    """The element's own text: its tail is the text after it, outside it."""
    buf: list[str] = []
    _gather(root, buf.append)
    return "".join(buf)


# Invisible characters with no meaning in Chinese text: mirrors put them inside words to
# slip past keyword filters (赵\u200b立坚), where they would hide the word from search.
# Looked for with str's own search, one each: a regex class search tests the text character
# by character, which cost 20 µs of a feed item's 180 µs parse.
_ZERO_WIDTH = ("\u200b", "\u2060", "\ufeff")


def visible(text: str) -> str:
    """``text`` without its zero-width characters."""
    for invisible in _ZERO_WIDTH:
        if invisible in text:
            text = text.replace(invisible, "")
    return text


def lines_of(marked: str) -> str:
    """Text whose block edges are marked with :data:`BREAK`, one squeezed line per block."""
    marked = visible(marked)
    lines = []
    for seg in marked.split(BREAK):  # squeeze() inlined: a body has dozens of blocks
        words = seg.split()
        if len(words) == 1:
            lines.append(words[0])
        elif words:
            lines.append(_SPACE_BY_WIDE.sub("", " ".join(words)))
    return "\n".join(lines)


def _gather(el: etree._Element, add: Callable[[str], object]) -> None:
    """Text of ``el`` and its descendants with block edges marked; tails are the caller's."""
    tag = el.tag
    if tag in DROPPED:
        return
    block = tag in BLOCKS
    if block:
        add(BREAK)
    if el.text:
        add(el.text)
    for child in el:
        child_tag = child.tag
        if isinstance(child_tag, str):  # not a comment or processing instruction
            if len(child) or child_tag in _NOT_PLAIN_INLINE:
                _gather(child, add)
            elif child.text:  # a leaf <a>, <b>, <img>...: what _gather would do, minus the call
                add(child.text)
        if child.tail:
            add(child.tail)
    if block:
        add(BREAK)
    elif tag in CELLS:
        add(" ")


_NOT_PLAIN_INLINE = BLOCKS | DROPPED | CELLS  # elements _gather must visit itself


def drop_tree(el: etree._Element) -> None:
    """Remove ``el`` and its content but keep its tail text (``HtmlElement.drop_tree``)."""
    parent = el.getparent()
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)


# ``HtmlElement.text_content``: every descendant text node, comments excluded.
text_content = etree.XPath("string()")


# An absolute http(s) URL that urljoin returns as it is, whatever the base: lowercase scheme,
# plain ASCII host, no whitespace or controls (urlsplit strips them), no ";params" and no
# empty "?" or "#" (urlunparse drops those).
SETTLED_URL = re.compile(
    r"https?://[-a-zA-Z0-9._~%!$&'()*+,=:@]+(?:/[^\x00-\x20?#;]*)?"
    r"(?:\?[^\x00-\x20#]+)?(?:#[^\x00-\x20]+)?\Z"
)


def join_url(base: str | None, url: str) -> str:
    """``urljoin(base, url)``, skipped for the absolute URLs it would not change."""
    if not base or SETTLED_URL.match(url):
        return url
    return urljoin(base, url)


def is_pixel(width: str | None, height: str | None) -> bool:
    """An ``<img>`` of these sizes is a tracking pixel (1×1, or 0 wide or high): it shows
    nothing, and taken as the story's lead image it would report every reader."""
    return any(
        size is not None and size.strip().removesuffix("px").strip() in ("0", "1")
        for size in (width, height)
    )


def images_in(html: str | etree._Element, *, base: str | None = None) -> list[Image]:
    """``<img>`` sources and ``<video>`` posters in document order, made absolute against
    ``base`` when given; tracking pixels (:func:`is_pixel`) left out. A poster is the
    picture of a video post (Telegram bridges), the only one such a story has.

    A ``<figcaption>`` becomes the caption; ``alt``/``title`` do not (mirrors fill them
    with the headline or "点击查看大图")."""
    out: list[Image] = []
    for img in fragment(html).iter("img", "video"):
        src = _source(img)
        if not src or is_pixel(img.get("width"), img.get("height")):
            continue
        caption = None
        fig = next((a for a in img.iterancestors("figure")), None)
        if fig is not None:
            cap = fig.find(".//figcaption")
            caption = (html_to_text(cap) or None) if cap is not None else None
        out.append(Image(join_url(base, src), caption))
    return dedupe_images(out)


def _source(img: etree._Element) -> str:
    """The image's address: a lazy-loaded image's (:data:`LAZY_SOURCES`) over the
    placeholder in its ``src``, else the largest of its ``srcset`` (responsive pages give
    no ``src`` at all, or a ``data:`` one); a video's poster; an inline ``data:`` image
    is none."""
    for attr in ("poster",) if img.tag == "video" else (*LAZY_SOURCES, "src"):
        src = (img.get(attr) or "").strip()
        if src and not src.startswith("data:"):
            return src
    return largest_candidate(img.get("srcset") or "")


# A ``srcset`` candidate: a URL (commas inside it kept, trailing ones not) and the
# descriptors up to the next comma (HTML's "parse a srcset attribute", parentheses aside).
_CANDIDATE = re.compile(r"[\s,]*([^\s,]\S*?)(?:,+(?=\s|\Z)|\s+([^,]*)(?:,|\Z)|\Z)")
_DESCRIPTOR = re.compile(r"(?<!\S)(\d*\.?\d+)[wxWX](?!\S)")  # "480w", "2x"


def largest_candidate(srcset: str) -> str:
    """The widest (``480w``) or densest (``2x``) candidate of ``srcset``, the first of
    equals: the one a large screen loads. No descriptor is ``1x``."""
    best, best_size = "", -1.0
    for m in _CANDIDATE.finditer(srcset):
        size = _DESCRIPTOR.search(m[2] or "")
        size = float(size[1]) if size else 1.0
        if size > best_size and not m[1].startswith("data:"):
            best, best_size = m[1], size
    return best


def dedupe_images(images: list[Image]) -> list[Image]:
    """First occurrence of each URL wins, but a later caption fills an empty one."""
    seen: dict[str, Image] = {}
    for im in images:
        prev = seen.get(im.url)
        if prev is None or (prev.caption is None and im.caption):
            seen[im.url] = im if prev is None else Image(im.url, im.caption)
    return list(seen.values())


def rename_pseudo_links(root: etree._Element) -> etree._Element:
    """``<ok href>``/``<span href>`` become ``<a href>`` (in place)."""
    for el in root.iter("ok", "span"):
        href = el.get("href")
        if el.tag == "ok" or href is not None:
            el.attrib.clear()
            if href:
                el.set("href", href)
            el.tag = "a"
    return root


def clean_html(html: str | etree._Element, *, base: str | None = None) -> str:
    """Sanitized body HTML from an allow-list; relative links resolved against ``base``."""
    if not isinstance(html, str):
        html = _serialize(rename_pseudo_links(html))
    elif _PSEUDO_LINK.search(html):
        html = _serialize(rename_pseudo_links(fragment(html)))
    return tidy(without_pixels(cleaner(base)(html)))


# An ``<img>`` in the sanitizer's output: double-quoted values, no ">" unescaped in them.
_CLEAN_IMG = re.compile(r'<img\b((?:[^>"]++|"[^"]*+")*+)>')
_WIDTH = re.compile(r'\swidth="([^"]*)"')
_HEIGHT = re.compile(r'\sheight="([^"]*)"')


def without_pixels(cleaned: str) -> str:
    """The sanitizer's output without its tracking pixels (:func:`is_pixel`): stored, they
    would report every reader of a digest or of the store's pages."""
    if "<img" not in cleaned:
        return cleaned
    return _CLEAN_IMG.sub(lambda m: "" if pixel_attrs(m[1]) else m[0], cleaned)


def pixel_attrs(attrs: str) -> bool:
    """:func:`is_pixel` for the attributes of an ``<img>`` the sanitizer wrote."""
    if "width" not in attrs and "height" not in attrs:
        return False
    width, height = _WIDTH.search(attrs), _HEIGHT.search(attrs)
    return is_pixel(width and unescape(width[1]), height and unescape(height[1]))


def tidy(cleaned: str) -> str:
    """The sanitizer's output with pretty-print whitespace squeezed (:func:`squeeze`)."""
    if _LOOSE_SPACE.search(cleaned):
        cleaned = _AFTER_COMMON_BLOCK.sub(">", cleaned)
        squeezed = _squeeze_single_spaces(cleaned)
        cleaned = _squeeze_markup(cleaned) if squeezed is None else squeezed
    return cleaned.strip()


def tidy_pieces(pieces: list[str]) -> str:
    """:func:`tidy` of ``"".join(pieces)``, markup cut at its tags (text, tag, … text).

    Quick when the text pieces hold no whitespace but single spaces between two narrow
    characters inside a piece ("Vladimir Putin"), which stay, and whole pieces of it at
    the edges or after a tag that :data:`_AFTER_COMMON_BLOCK` clears, which go. Nothing
    else changes: tidy never alters a tag.
    """
    kept = pieces[:]
    last = len(pieces) - 1
    for i in range(0, len(pieces), 2):
        text = pieces[i]
        if text.isprintable() and (" " not in text or _spaces_stay(text)):
            continue
        if text.isspace() and (i in (0, last) or pieces[i - 1] in _COMMON_LINE_ENDS):
            kept[i] = ""
            continue
        return tidy("".join(pieces))
    return "".join(kept)


def _spaces_stay(text: str) -> bool:
    """Each space of ``text`` is single and has a narrow character on both sides."""
    return (
        text[0] != " "
        and text[-1] != " "
        and "  " not in text
        and _SPACE_BY_WIDE.search(text) is None
    )


@lru_cache(maxsize=64)
def cleaner(
    base: str | None, tags: frozenset[str] = frozenset(ALLOWED_TAGS)
) -> Callable[[str], str]:
    """A configured sanitizer per base URL and tag list: building one costs more than a
    clean. Relative links are resolved against ``base``."""
    options = dict(
        tags=set(tags),
        clean_content_tags=DROPPED,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
        url_relative=("rewrite_with_base", base) if base else "pass_through",
    )
    if hasattr(nh3, "Cleaner"):
        return nh3.Cleaner(**options).clean
    return partial(nh3.clean, **options)


# lxml.html.tostring drops these; the sanitizer would too, but keep the input identical.
_META_CONTENT_TYPE = re.compile(r'<meta http-equiv="Content-Type"[^>]*>')


def _serialize(root: etree._Element) -> str:
    if root.tag != "body":
        html = etree.tostring(root, encoding="unicode", method="html", with_tail=False)
    elif not root.attrib:  # fragment()'s container: only what it holds, in one call
        html = etree.tostring(root, encoding="unicode", method="html", with_tail=False)
        html = html[len("<body>") : -len("</body>")]
    else:
        inner = (etree.tostring(c, encoding="unicode", method="html") for c in root)
        html = html_escape(root.text or "") + "".join(inner)
    return _META_CONTENT_TYPE.sub("", html)


def _squeeze_markup(html: str) -> str:
    """Apply :func:`squeeze`'s whitespace rule to the text between tags.

    Inline tags are transparent (``美国</a> 总统`` loses its space); block tags and images
    end a line, so whitespace next to them is dropped outright.
    """
    parts = _TAG.split(html)  # even indexes: text; odd: tags
    prev: str | None = None  # last character written on the current line
    for i, part in enumerate(parts):
        if i % 2:
            if prev is not None and _ends_line(part):
                prev = None
            continue
        if not part:
            continue
        if _SPACE.search(part) is None:  # most runs of Chinese text: nothing to squeeze
            prev = part[-1]
            continue
        if prev is None and part.isspace():  # a line's leading whitespace: always dropped
            parts[i] = ""
            continue
        core = squeeze(part)  # inner whitespace done; the edges depend on the neighbours
        if core == part:  # only spaces that stay (between Latin words)
            prev = part[-1]
            continue
        after_prev = prev is not None and prev != " " and not _is_wide(prev)
        if not core:  # only whitespace: one space, kept only between two narrow characters
            text = " " if after_prev and _narrow(_next_visible(parts, i)) else ""
        else:
            text = core
            if after_prev and part[0].isspace() and not _is_wide(core[0]):
                text = " " + text
            if part[-1].isspace() and not _is_wide(core[-1]) and _narrow(_next_visible(parts, i)):
                text += " "
        parts[i] = text
        if text:
            prev = text[-1]
    return "".join(parts)


def _squeeze_single_spaces(html: str) -> str | None:
    """:func:`_squeeze_markup` for markup whose only whitespace is single spaces, each
    inside a tag or between two characters of text; None for any other markup.

    Such a space stays unless a wide character touches it, so it is decided from its two
    neighbours alone, without splitting the markup into tags and text.
    """
    pieces = html.split(" ")
    if "" in pieces or not all(map(str.isprintable, pieces)):
        return None  # a run of spaces, an edge, or other whitespace (isprintable: no)
    out = [pieces[0]]
    in_tag = False
    for before, after in zip(pieces, pieces[1:], strict=False):
        lt, gt = before.rfind("<"), before.rfind(">")
        if lt != gt:  # the piece holds a tag edge: the last one says where the space is
            in_tag = lt > gt
        if not in_tag:
            left, right = before[-1], after[0]
            if left == ">" or right == "<":
                return None  # a space beside a tag: depends on the text across it
            if _is_wide(left) or _is_wide(right):
                out.append(after)
                continue
        out.append(" ")
        out.append(after)
    return "".join(out)


def _is_wide(ch: str) -> bool:
    return _WIDE_CHAR.match(ch) is not None


def _narrow(ch: str | None) -> bool:
    """A visible character that takes a space next to it (None: a line edge)."""
    return ch is not None and not _is_wide(ch)


def _ends_line(tag: str) -> bool:
    """Block tags and images end a line; only the tag's name matters."""
    return _tag_ends_line(tag.split(None, 1)[0])


@lru_cache(maxsize=256)
def _tag_ends_line(head: str) -> bool:
    return bool(_BLOCK_TAG.match(head)) or head[:4].lower() == "<img"


def _next_visible(parts: list[str], i: int) -> str | None:
    """The next non-space character after text slot ``i``; None at a block edge."""
    for j in range(i + 1, len(parts)):
        part = parts[j]
        if j % 2:
            if _ends_line(part):
                return None
        elif visible := part.lstrip():
            return visible[0]
    return None


_SENTENCE_END = re.compile(r"[。！？!?](?:[”’」』）)]*)")


def summarize(text: str, limit: int = 200) -> str | None:
    """About ``limit`` characters from the start of ``text``, on one line, ending at a
    sentence end when one falls in the second half, else cut with an ellipsis."""
    # The squeezed start of a long text is the start of the squeezed text: squeeze a
    # prefix first, and the whole text only when the prefix comes out too short.
    flat = squeeze(text[: limit * 4].replace("\n", " "))
    if len(flat) <= limit and len(text) > limit * 4:
        flat = squeeze(text.replace("\n", " "))
    if len(flat) <= limit:
        return flat or None
    cut = flat[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    if ends and ends[-1] >= limit // 2:
        return cut[: ends[-1]]
    return cut.rstrip() + "…"
