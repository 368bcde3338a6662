"""The sanitizer's output for markup it would leave as it is, told without running it.

Most feed bodies are plain paragraphs: ``<p>``, ``<img src alt/>``, ``<a href>``, a few
inline tags, absolute http(s) links, the common character references. For such a body nh3
(ammonia on html5ever) builds a tree that is the markup itself and writes it back with
three changes only: attributes it does not allow are dropped, a void element loses its
``/``, and an ``<a>`` gains ``rel="noopener noreferrer"`` after its attributes. A
tracking pixel is left out, as :func:`~monitor.parsers.html.without_pixels` takes it
out of nh3's output.
:func:`predict` recognises those bodies and makes the three changes; anything else,
however harmless, returns None and goes through nh3, which stays the reference (a test
compares the two on generated markup). The same pass over the tags marks the text's
block edges and collects the image sources, as :mod:`.body` would read them off the
sanitizer's output.

What keeps html5ever from restructuring the tree is checked tag by tag: every element
closed in order, ``<p>`` and headings holding only inline markup (a block start tag would
close them), ``<li>`` only directly in a list, no ``<a>`` in an ``<a>``. What keeps
ammonia from changing it otherwise: attributes once each, double-quoted; link URLs
the ``url`` crate parses as they are (lowercase host names without ``xn--`` labels, no port
beyond four digits); no raw ``>``, no-break space (both written back as references) or
control character the parser replaces or drops; and only the references that html5ever's
serializer writes back as they came: ``&amp;`` ``&lt;`` ``&gt;`` ``&nbsp;`` in text,
``&amp;`` ``&nbsp;`` ``&quot;`` in attribute values (``&amp;`` alone in a URL).
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from monitor.parsers.html import (
    ALLOWED_ATTRIBUTES,
    BLOCKS,
    BREAK,
    GENERIC_ATTRIBUTES,
    LAZY_SOURCES,
    is_pixel,
)

_INLINE = frozenset({"a", "b", "strong", "em", "i", "u", "s", "span", "sub", "sup", "small",
                     "code"})  # fmt: skip
_VOID = frozenset({"img", "br", "hr"})
_PHRASE_BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})  # inline content only
_FLOW = frozenset({"div", "blockquote", "li"})  # may hold blocks
_LISTS = frozenset({"ul", "ol"})
# Inside inline markup or a paragraph: these and nothing else.
_IN_PHRASE = _INLINE | {"img", "br"}
_IN_FLOW = _IN_PHRASE | _PHRASE_BLOCKS | _FLOW - {"li"} | _LISTS | {"hr"}

# In text and attribute values: a no-break space, controls other than tab and line feed
# (CR is rewritten, NUL dropped), DEL and C1 included, surrogates, a byte-order mark and
# U+FFFE/U+FFFF.
_UNSAFE_CHAR = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\xa0\ud800-\udfff\ufeff\ufffe\uffff]")
# A reference the serializer would not write back as it came, in text or in a value (the
# ones it would are checked per place: see the module docstring).
_OTHER_REF = re.compile("&(?!(?:amp|lt|gt|nbsp|quot);)")
_CHANGED_IN_VALUE = ("&lt;", "&gt;")  # decoded, and "<" ">" are not escaped in a value
_CHANGED_IN_URL = re.compile("&(?!amp;)")
_SPLIT = re.compile("<([^<>]*+)>")  # even pieces: text; odd: what is inside a tag
_TAG = re.compile(r'(/?)([a-z][a-z0-9]*)((?: [a-z][a-z0-9-]*="[^"]*")*)( ?/)?\Z')
_ATTR = re.compile(r' ([a-z][a-z0-9-]*)="([^"]*)"')
_LABEL = "(?!xn--)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
# An absolute URL the url crate parses without complaint, kept by ammonia as written.
_URL = re.compile(  # the last label starts with a letter: no IPv4 parse
    rf"https?://(?:{_LABEL}\.)*(?!xn--)[a-z](?:[a-z0-9-]*[a-z0-9])?"
    r"(?::[0-9]{1,4})?(?:[/?#][!-~]*)?\Z"
)
_URL_ATTRS = frozenset({"href", "src"})
_REL = ' rel="noopener noreferrer"'


class Plain(NamedTuple):
    pieces: list[str]  # nh3's output cut at its tags: text, tag, text … text
    marked: str  # its text, block edges marked with BREAK, references not yet decoded
    image_sources: list[str]  # the <img src> values in order, references decoded
    # Every tag written plainly: "/" only on a void element, "=" in no value but a URL.
    # feedparser's relative-URI pass leaves such markup as it is (see fastfeed.RawHTML).
    simple: bool

    @property
    def html(self) -> str:
        return "".join(self.pieces)


# What a caller may already know of a body: its prediction, False when predict() found
# it cannot be told (not worth asking again), None when nobody asked yet.
Prediction = Plain | Literal[False] | None


class _Tag(NamedTuple):
    name: str
    closing: bool
    written: str  # the tag as nh3 writes it back, brackets included
    mark: str  # BREAK for a block tag
    src: str | None
    simple: bool  # see Plain.simple


def predict(html: str, *, sort_attributes: bool = False) -> Plain | None:
    """nh3's output for ``html`` and what body.py reads off it, or None when it cannot be
    told. ``sort_attributes``: as for ``html`` with each tag's attributes ordered by name."""
    refs = "&" in html
    if refs and _OTHER_REF.search(html):
        return None
    pieces = _SPLIT.split(html)
    count = len(pieces) // 2
    if html.count("<") != count or html.count(">") != count:
        return None  # a "<" or ">" in the text
    for text in pieces[::2]:  # most text is printable, which rules out the rest
        if not text.isprintable() and text != "\n" and _UNSAFE_CHAR.search(text):
            return None
        if refs and "&quot;" in text:
            return None  # written back as '"'

    seen = _SEEN_SORTED if sort_attributes else _SEEN
    simple = True
    marked = []
    sources = []
    stack: list[str] = []
    for i in range(1, len(pieces), 2):
        inner = pieces[i]
        tag = seen.get(inner)
        if tag is None:
            tag = _remember(seen, inner, sort_attributes)
        if not tag:
            return None
        name = tag.name
        marked.append(pieces[i - 1])
        marked.append(tag.mark)
        pieces[i] = tag.written
        if not tag.simple:
            simple = False
        if tag.closing:
            if not stack or stack.pop() != name:
                return None
            continue
        if not _may_hold(stack[-1] if stack else None, name, stack):
            return None
        if name not in _VOID:
            stack.append(name)
        elif tag.src is not None:
            sources.append(tag.src)
    if stack:
        return None
    marked.append(pieces[-1])
    return Plain(pieces, "".join(marked), sources, simple)


# Tags read so far, by what is inside the brackets; False for one outside the prediction.
_SEEN: dict[str, _Tag | bool] = {}
_SEEN_SORTED: dict[str, _Tag | bool] = {}


def _remember(seen: dict, inner: str, sort_attributes: bool) -> _Tag | bool:
    if len(seen) >= 4096:  # image and link tags are mostly one-offs
        seen.clear()
    tag = seen[inner] = _tag(inner, sort_attributes) or False
    return tag


def _may_hold(parent: str | None, name: str, stack: list[str]) -> bool:
    if parent is None or parent in _FLOW:
        return name in _IN_FLOW
    if parent in _LISTS:
        return name == "li"
    if name == "a" and "a" in stack:
        return False
    return name in _IN_PHRASE  # parent inline or a paragraph


def _tag(inner: str, sort_attributes: bool) -> _Tag | None:
    """What is between ``<`` and ``>`` read as a tag; None for one outside the prediction."""
    m = _TAG.match(inner)
    if m is None:
        return None
    closing, name, attrs, slash = m.groups()
    mark = BREAK if name in BLOCKS else ""
    if closing:
        if attrs or slash or name in _VOID:
            return None
        return _Tag(name, True, f"</{name}>", mark, None, True)
    pairs = _ATTR.findall(attrs)
    names = [k for k, _v in pairs]
    if len(set(names)) != len(names):
        return None
    lazy = name == "img" and any(attr in names for attr in LAZY_SOURCES)
    srcset_only = name == "img" and "srcset" in names and "src" not in names
    if lazy or srcset_only or (name == "span" and "href" in names):
        return None  # a lazy or srcset image or a pseudo-link: the tree path reads those
    if _UNSAFE_CHAR.search(attrs) or any(ref in attrs for ref in _CHANGED_IN_VALUE):
        return None
    allowed = GENERIC_ATTRIBUTES.union(ALLOWED_ATTRIBUTES.get(name, ()))
    kept = [(k, v) for k, v in pairs if k in allowed]  # the sanitizer drops the others
    for k, v in kept:
        if k in _URL_ATTRS and (not _URL.match(v) or _CHANGED_IN_URL.search(v)):
            return None
    if sort_attributes:
        kept.sort()
    values = dict(kept)
    src = values.get("src") if name == "img" else None
    pixel = name == "img" and is_pixel(values.get("width"), values.get("height"))
    if pixel:
        src = None  # a tracking pixel is no image of the story, nor of the stored HTML
    if src is not None:
        src = src.replace("&amp;", "&")  # the only reference a URL may hold here
    # feedparser's plain tags allow "&amp;" alone in a value (fastfeed._PLAIN_TAG).
    simple = (
        (not slash or name in _VOID)
        and not any("=" in v for k, v in pairs if k not in _URL_ATTRS)
        and "&" not in attrs.replace("&amp;", "")
    )
    kept_attrs = "".join(f' {k}="{v}"' for k, v in kept)
    written = "" if pixel else f"<{name}{kept_attrs}{_REL if name == 'a' else ''}>"
    return _Tag(name, False, written, mark, src, simple)
