"""Hexo posts: YAML front matter, then the body, HTML or Markdown.

RSS-to-blog bridges write the entry's HTML; archive repositories and hand-written posts
write Markdown, which :mod:`monitor.parsers.markdown` renders (a bridge's bare text, one
paragraph a line, reads the same either way), HTML mixed into it included.

The bridge pastes titles into single quotes without escaping them, so a title such as
``'他说'不'的理由'`` is invalid YAML; a line reader takes over when PyYAML refuses. All
values are read as strings (``BaseLoader``) so ``title: 2022`` or ``title: yes`` stay text.

The front matter names no article URL. Archive repositories write it in the body instead,
as plain Markdown pages do (:mod:`markdown_page`), and are read by its rules: lines opening
the body that say where it is from (``原文链接：…``, ``> 原文地址：…``, ``[阅读原文](…)``,
``来源：…``, and ``作者：…`` or a byline when the front matter names no author), and up to
three at its end naming the original, give the article's address (an absolute http(s)
link to a page, never an outlet's front page), the outlet and the author, and are not
part of the text (a link whose text is the label, ``[原文链接](…)``, is such a line too).
The front matter's outlet and author win over theirs. Without such a line ``url`` is
``None``. An HTML body's tags are no such lines: only bare lines are read.
"""

from __future__ import annotations

import re
from html import unescape
from itertools import islice

import yaml

from monitor.models import Image, Item, ParseError
from monitor.parsers import dates
from monitor.parsers.html import (
    clean_html,
    dedupe_images,
    fragment,
    html_to_text,
    images_in,
    summarize,
)
from monitor.parsers.markdown_page import (
    FOOTER_LINES,
    HEAD_LINES,
    LABELS,
    Head,
    take_footer,
    take_head,
)
from monitor.text import detect_lang

FORMAT = "hexo"

FENCE = re.compile(r"^---[ \t]*$", re.M)
# Values are stripped after the match: "(?P<value>.*?)\s*$" is quadratic in a run of spaces.
KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*):[ \t]*(?P<value>.*)")
_COMMENTS = re.compile(r"(?:[ \t\r]*(?:#[^\n]*)?\n)*")  # blank lines and YAML comments
LIST_ITEM = re.compile(r"^[ \t]+-[ \t]*(?P<value>.*)")
INLINE_LIST = re.compile(r"^\[(?P<items>.*)\]$")
# libyaml's loader when PyYAML was built with it: the pure-Python one dominates parse time.
_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
# Any of these means the body is already HTML paragraphs, not Markdown or bare text...
HTML_BLOCK = re.compile(r"<(?:p|div|br|h[1-6]|ul|ol|table|blockquote|section|article|main)\b", re.I)
# ... unless it also writes Markdown (archive repositories mix a <div> or a <br> into it):
# a heading, list item, quote or table row opening a line, a link or image, bold. Each
# alternative stops at the next character it starts with: linear on any body.
MARKDOWN = re.compile(
    r"^ {0,3}(?:#{1,6}[ \t]|[-*+][ \t]|>|\|[^\n]*\|[ \t]*$)"
    r"|\[[^\[\]\n]*\]\([^\s()]"
    r"|\*\*[^*\n]+\*\*",
    re.M,
)
# How a line saying where the article is from may start, past list and quote marks, bold
# and spaces: a label (a word) and its colon, a link, a byline (``By 张三``, ``文/张三``);
# else the line is blank, or has words (no match). One look a line at the body's ends
# passes over a post without such lines, most of them, at about no cost.
_LOOK = re.compile(
    r"[>*+_\s-]*(?:(?P<may_say>\[|(?:by|文)(?!\w)"
    rf"|\w{{1,{max(map(len, LABELS))}}}[ \t]*(?:(?:\*\*|__)[ \t]*)?[：:])|$)",
    re.I,
)


def split_front_matter(text: str) -> tuple[dict, str] | None:
    """``(fields, body)`` for a document opening with a ``---`` fenced header, else None.

    Shared with the Jekyll header of feed archives, which uses the same syntax.
    """
    found = split_fences(text)
    if found is None:
        return None
    head, body = found
    try:
        fields = yaml.load(head, Loader=_LOADER)  # noqa: S506 - BaseLoader builds no objects
    except yaml.YAMLError:
        fields = None
    if not isinstance(fields, dict):
        fields = _read_lines(head)
    return fields, body


def split_fences(text: str) -> tuple[str, str] | None:
    """``(header, body)`` as raw text: enough for format detection, which needs no YAML."""
    start = text.lstrip("\ufeff \t\r\n")
    if not start.startswith("---"):
        return None
    fences = list(islice(FENCE.finditer(start), 2))  # a body may hold more rules
    if len(fences) < 2 or fences[0].start() != 0:
        return None
    head = start[fences[0].end() : fences[1].start()]
    # A header opens with a key, after any YAML comments: a Markdown page may open with a
    # rule over its title ("# 标题" then text: a comment, but no key after it).
    if not KEY.match(head[_COMMENTS.match(head).end() :]):  # (KEY has a "^")
        return None
    return head, start[fences[1].end() :].lstrip("\r\n")


def _read_lines(head: str) -> dict:
    """Forgiving ``key: value`` / ``- item`` reader for headers YAML rejects."""
    fields: dict = {}
    key = None
    for line in head.splitlines():
        if (m := LIST_ITEM.match(line)) and key is not None:
            if not isinstance(fields.get(key), list):
                fields[key] = []
            fields[key].append(_unquote(m["value"]))
        elif m := KEY.match(line):
            key, value = m["key"], m["value"].strip()
            if lm := INLINE_LIST.match(value):
                fields[key] = [_unquote(v) for v in lm["items"].split(",") if v.strip()]
            else:
                fields[key] = _unquote(value)
    return fields


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        return inner.replace("''", "'") if value[0] == "'" else inner
    return value


def as_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    return []


def as_text(value: object) -> str | None:
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def as_title(value: object) -> str | None:
    """:func:`as_text` with character references decoded: bridges copy a feed's escaped
    title (``&quot;``, ``&amp;``) as it is."""
    return as_text(unescape(value)) if isinstance(value, str) else None


def body_html(body: str) -> str:
    """The body as HTML: as it is when it holds block tags and no Markdown, else read as
    Markdown (bare text becomes one ``<p>`` per non-empty line, tags left as they are)."""
    if HTML_BLOCK.search(body) and not MARKDOWN.search(body):
        return body
    # Imported on the first such body: markdown-it takes ~20 ms to import, a seventh of
    # the parsers' start-up, and bridges' HTML never needs it.
    from monitor.parsers.markdown import markdown_to_html

    return markdown_to_html(body)


def _origin(body: str, kinds: tuple[str, ...]) -> tuple[Head, str]:
    """What the body's where-from lines of ``kinds`` say, and the body without them (as
    it is when they give nothing: its blank lines and rules at the ends stay too). Lines
    end at line feeds only, as Markdown reads them.

    No dates (a bare-text body may open with one as its own line), and no author when
    the front matter names one: the bridge's is the outlet's name, and the body's
    ``作者：`` line, the reporter's, would be lost from the text."""
    head = Head(kinds)
    if _may_say(body.split("\n", 2 * HEAD_LINES), HEAD_LINES) or _may_say(
        body.rsplit("\n", 2 * FOOTER_LINES)[::-1], FOOTER_LINES
    ):
        kept = take_footer(take_head(body.split("\n"), head), head)
        if head.url or head.source_url or head.site or head.author:
            body = "\n".join(kept)
    return head, body


def _may_say(parts: list[str], reach: int) -> bool:
    """Whether one of the first ``reach`` lines that are not blank may say where the
    article is from. ``parts`` are lines from one end of the body, the last one the rest
    of it: when the others run out first, the answer is yes."""
    *lines, rest = parts
    for line in lines:
        if (m := _LOOK.match(line)) is None:
            reach -= 1
            if not reach:
                return False
        elif m["may_say"]:
            return True
    return "\n" in rest or bool((m := _LOOK.match(rest)) and m["may_say"])


def parse(text: str, *, url: str | None = None, site: str | None = None) -> Item:
    found = split_front_matter(text)
    if found is None:
        raise ParseError("hexo post without a '---' front matter header")
    fields, body = found
    title = as_title(fields.get("title"))
    if not title:
        raise ParseError("hexo post without a title in its front matter")

    categories = as_list(fields.get("categories"))
    author = as_text(fields.get("author"))
    origin, body = _origin(body, ("url", "source") if author else ("url", "source", "author"))
    root = fragment(body_html(body))
    body_text = html_to_text(root)
    head_images = [
        Image(u) for k in ("headimg", "thumbnail", "cover") for u in as_list(fields.get(k))
    ]
    return Item(
        title=title,
        format=FORMAT,
        url=origin.url or origin.source_url,
        site=categories[1] if len(categories) > 1 else origin.site or site,
        author=author or origin.author,
        published=dates.parse_when(fields.get("date")),
        summary=summarize(body_text),
        text=body_text,
        html=clean_html(root, base=url),
        images=dedupe_images(head_images + images_in(root, base=url)),
        tags=as_list(fields.get("tags")),
        lang=detect_lang(title + "\n" + body_text),
    )
