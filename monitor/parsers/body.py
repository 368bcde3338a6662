"""Feed bodies read without building a tree: sanitize first, then read the sanitizer's output.

nh3 (html5ever) parses a body once and writes it back normalized: lower-case tag names,
every attribute double-quoted, ``<`` and ``&`` escaped in text, comments and dropped
elements (:data:`~monitor.parsers.html.DROPPED`) gone. Text and images can then be read
off that string with regular expressions, at a fraction of the cost of an lxml tree walk.
Plain markup that the sanitizer would leave as it is skips it (:mod:`.sanitized`).
The first pass keeps the block elements the stored HTML does not allow (``<section>``,
``<article>`` …) so that their line breaks reach the text; the stored HTML loses them
after, as the sanitizer would have dropped them.

Some bodies need the tree (:data:`_TREE_ONLY`): lazy-loaded images (``data-src``,
``data-original``), images known only by their ``srcset``, video posters, images inside
``<noscript>``, figure captions and the mirrors' ``<ok href>`` links.
:func:`read` returns None for those and the caller takes the tree path of
:mod:`monitor.parsers.html`, which stays the reference for what a body holds.
"""

from __future__ import annotations

import re
from html import unescape

from monitor.models import Image
from monitor.parsers.html import (
    ALLOWED_TAGS,
    BLOCKS,
    BREAK,
    CELLS,
    LAZY_SOURCES,
    PSEUDO_LINK_TAG,
    cleaner,
    dedupe_images,
    join_url,
    lines_of,
    pixel_attrs,
    tidy,
    tidy_pieces,
    without_pixels,
)
from monitor.parsers.sanitized import Prediction, predict

_WIDE_TAGS = frozenset(ALLOWED_TAGS | BLOCKS)
# Attributes in nh3's output: double-quoted values, with no ">" left unescaped in them.
# Runs, not single characters, and possessive: each piece has one way to match, and a
# repeat of one-character alternatives costs a step per character.
_ATTRS = r'(?:[^>"]++|"[^"]*+")*+'
_EXTRA_BLOCK_TAG = re.compile(rf"</?(?:{'|'.join(sorted(BLOCKS - ALLOWED_TAGS))})\b{_ATTRS}>")
_BLOCK_TAG = re.compile(rf"</?(?:{'|'.join(sorted(BLOCKS))})\b{_ATTRS}>")
_CELL_END = re.compile(rf"</(?:{'|'.join(sorted(CELLS))})>")
_ANY_TAG = re.compile(rf"<{_ATTRS}>")
_IMG = re.compile(rf"<img\b({_ATTRS})>")
_SRC = re.compile(r'\ssrc="([^"]*)"')
# An <img> whose address is only in its srcset: no src, or an empty or data: one (a src
# starting with "d" at all is left to the tree, which stays right).
_SRCSET_ONLY = r"""img\b(?![^>]*\ssrc\s*=\s*["']?[^\s"'>d])[^>]*\bsrcset"""
_TREE_ONLY = re.compile(
    rf"<(?:figure|noscript|img\b[^>]*\b(?:{'|'.join(LAZY_SOURCES)})|{_SRCSET_ONLY}|"
    rf"video\b[^>]*\bposter|{PSEUDO_LINK_TAG})",
    re.I,
)
# What makes the sanitizer's text differ from the plain reading of a string: markup and
# character references, NUL and a leading byte-order mark (both dropped). A CR, a lone
# ">" or a vertical tab come out of both readings alike (the lines are squeezed).
_CHANGED_BY_SANITIZER = re.compile("[<&\0\ufeff]")
# A start tag of plain markup (see fastfeed.RawHTML) with at least two attributes.
_MULTI_ATTR = re.compile(r'<[a-zA-Z][a-zA-Z0-9]*((?:\s+[^\s=>/"]+\s*=\s*"[^"]*"){2,})\s*/?>')
_ATTR = re.compile(r'\s+([^\s=>/"]+)\s*=\s*"[^"]*"')


def read(
    html: str,
    *,
    base: str | None,
    image_base: str | None,
    sort_attributes: bool = False,
    plain: Prediction = None,
) -> tuple[str, list[Image], str] | None:
    """``(text, images, stored HTML)`` of a body; None when it needs the tree path.

    ``base`` resolves relative links in the stored HTML, ``image_base`` the image
    URLs that are still relative after that. ``sort_attributes`` orders each tag's
    attributes by name, as feedparser's relative-URI pass leaves them. ``plain``: the
    prediction already made for ``html`` with the same ``sort_attributes`` (False: it
    could not be told).
    """
    if plain is None:
        plain = predict(html, sort_attributes=sort_attributes)
    if plain:  # no tag the stored HTML drops, no image the tree path reads
        images = images_from(plain.image_sources, base=image_base)
        return text_of_marked(plain.marked), images, tidy_pieces(plain.pieces)
    if _TREE_ONLY.search(html):
        return None
    if sort_attributes:
        html = _MULTI_ATTR.sub(_sort_attributes, html)
    wide = cleaner(base, _WIDE_TAGS)(html)
    stored = tidy(without_pixels(_EXTRA_BLOCK_TAG.sub("", wide)))
    return text_of_clean(wide), images_of_clean(wide, base=image_base), stored


def text(html: str, *, plain: Prediction = None) -> str:
    """Plain text of a fragment, as :func:`monitor.parsers.html.html_to_text` reads it.

    ``plain``: a prediction already made for ``html`` (the text does not depend on the
    order of attributes, so either ``sort_attributes`` will do)."""
    if plain is None:
        if not _CHANGED_BY_SANITIZER.search(html):
            return lines_of(html)  # a description with no markup: as the sanitizer leaves it
        plain = predict(html)
    if plain:
        return text_of_marked(plain.marked)
    return text_of_clean(cleaner(None, _WIDE_TAGS)(html))


def text_of_clean(cleaned: str) -> str:
    # Block tags mark line breaks and cells end with a space, as html._gather does.
    return text_of_marked(_ANY_TAG.sub("", _CELL_END.sub(" ", _BLOCK_TAG.sub(BREAK, cleaned))))


def text_of_marked(marked: str) -> str:
    """Text whose block edges are marked with BREAK and whose references are as the
    sanitizer writes them, one line per block."""
    return lines_of(unescape(marked) if "&" in marked else marked)


def images_of_clean(cleaned: str, *, base: str | None) -> list[Image]:
    sources = []
    for m in _IMG.finditer(cleaned):
        attrs = m.group(1)
        src = _SRC.search(attrs)
        if src is None or pixel_attrs(attrs):
            continue
        sources.append(unescape(src.group(1)).strip())
    return images_from(sources, base=base)


def images_from(sources: list[str], *, base: str | None) -> list[Image]:
    """Images from their ``src`` values in document order; empty and ``data:`` ones skipped."""
    found = [Image(join_url(base, s)) for s in sources if s and not s.startswith("data:")]
    return dedupe_images(found)


def _sort_attributes(m: re.Match[str]) -> str:
    attrs = sorted((a.group(1).lower(), a.group(0)) for a in _ATTR.finditer(m.group(1)))
    ordered = "".join(text for _name, text in attrs)
    return m.string[m.start(0) : m.start(1)] + ordered + m.string[m.end(1) : m.end(0)]
