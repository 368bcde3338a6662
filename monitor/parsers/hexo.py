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
When the front matter has no date that reads, a labelled date line among them
(``发布时间：…``, ``日期：…``) gives it, in the source's zone when the time has none, as
Markdown pages' do; a date alone on its line stays text (a bare-text body may open with
one, and nothing says it is the post's). The front matter's outlet, author and date win
over theirs; an author or date line then stays in the text (the bridge's author is the
outlet's name, and the body's ``作者：`` line, the reporter's, would be lost). Without
such a line ``url`` is ``None``.

An HTML body says it in blocks (``<p>原文链接：<a href="…">…</a></p>``), as RSS-to-blog
bridges and archives write it: its first and last blocks (inside the one ``<div>``
bridges wrap a body in), a ``<p>``, ``<div>``, ``<section>`` or ``<blockquote>``, or the
text between two, are read as the Markdown line of their text, a lone link in it as
``[text](href)``. A block with other markup in it is no such line, and one of prose
says nothing: both stay. Text between blocks ended by ``<br>`` (``原文链接：https://…<br>``)
is such a line too. Reading stops where it stops in Markdown, at the first paragraph of
text at the top and the first block saying nothing at the end, so only a block or two of
most posts is looked at. In a Markdown body, inline tags in a line
(``来源：<b>新华社</b>``) are read past, as on Markdown pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from itertools import islice

import yaml
from lxml import etree

from monitor.models import Image, Item, ParseError
from monitor.parsers import dates
from monitor.parsers.html import (
    BLOCKS,
    clean_html,
    dedupe_images,
    drop_tree,
    fragment,
    html_to_text,
    images_in,
    summarize,
)
from monitor.parsers.markdown_page import (
    FOOTER_LINES,
    HEAD_LINES,
    LABELS,
    PROSE_LINE,
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
# A line that may open with a date before its labels (``2022年01月03日 10:20　来源：新华网``):
# one more the quick look stops at when the body's dates are read.
_DATE_FIRST = re.compile(r"[>*+_\s-]*(?:\d{4}|[A-Z][a-z]{2}, )")
# What the end of a body may hold below its last line that says something: blank lines,
# list or quote marks alone, rules.
_NOTHING = re.compile(r"[\s>*+_-]*")

# HTML bodies: the blocks read as lines, and the lines Markdown would write for the others.
_READ = frozenset(("p", "div", "section", "blockquote"))
_WRAPPERS = frozenset(("div", "section", "article", "main"))
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_NOT_PROSE = frozenset(("blockquote", "ul", "ol", "dl", "li", "dd", "dt", "table", "tbody"))
_NOT_PROSE |= frozenset(("thead", "tfoot", "tr", "figure", "figcaption", "caption", "pre"))
_TEXT_READ = 1000  # characters of a block that is no line: enough to tell a paragraph


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


def is_html(body: str) -> bool:
    """Whether the body is HTML as it is: block tags and no Markdown."""
    return bool(HTML_BLOCK.search(body)) and not MARKDOWN.search(body)


def _rendered(markdown: str) -> str:
    """A body that is not HTML as it is, read as Markdown (bare text becomes one ``<p>``
    per non-empty line, tags left as they are)."""
    # Imported on the first such body: markdown-it takes ~20 ms to import, a seventh of
    # the parsers' start-up, and bridges' HTML never needs it.
    from monitor.parsers.markdown import markdown_to_html

    return markdown_to_html(markdown)


class _BodyHead(Head):
    """Markdown pages' reader of where-from lines, leaving a date alone on its line as
    text: a bare-text body may open with one, and only a label, ``发布时间：``, says it is
    the post's date (Markdown pages read it, under their title)."""

    def take(self, line: str, *, kinds: tuple[str, ...] | None = None) -> bool:
        reads = self.reads if kinds is None else kinds
        if "date" in reads and _DATE_FIRST.match(line) and Head(("date",)).take(line):
            return False
        return super().take(line, kinds=kinds)


def _says(head: Head) -> tuple:
    return head.url, head.source_url, head.site, head.author, head.published


def _origin(body: str, head: Head) -> str:
    """The body without its where-from lines that ``head`` reads, their values in ``head``
    (as it is when they give nothing: its blank lines and rules at the ends stay too).
    Lines end at line feeds only, as Markdown reads them."""
    dated = "date" in head.reads
    if _may_say(body.split("\n", 2 * HEAD_LINES), HEAD_LINES, dated) or _may_say(
        body.rsplit("\n", 2 * FOOTER_LINES)[::-1], FOOTER_LINES, dated
    ):
        said = _says(head)
        kept = take_footer(take_head(body.split("\n"), head), head, _footer_kinds(head))
        if _says(head) != said:
            body = "\n".join(kept)
    return body


def _may_say(parts: list[str], reach: int, dated: bool = False) -> bool:
    """Whether one of the first ``reach`` lines that are not blank may say where the
    article is from (or, ``dated``, open with a date). ``parts`` are lines from one end of
    the body, the last one the rest of it: when the others run out first, the answer is
    yes."""
    *lines, rest = parts
    for line in lines:
        if (m := _LOOK.match(line)) is None:
            if dated and _DATE_FIRST.match(line):
                return True
            reach -= 1
            if not reach:
                return False
        elif m["may_say"]:
            return True
    if "\n" in rest or dated and _DATE_FIRST.match(rest):
        return True
    return bool((m := _LOOK.match(rest)) and m["may_say"])


def _footer_kinds(head: Head) -> tuple[str, ...]:
    """The last lines name the original, and its date when ``head`` reads dates (a
    Markdown page's footer gives none)."""
    return ("url", "source", "date") if "date" in head.reads else ("url", "source")


class _Block(str):
    """A block of an HTML body as the line Markdown would write for it (see
    :func:`_html_origin`); ``parts`` are what it is in the tree: elements, and
    ``(element, "text" or "tail")`` for its text outside elements."""

    parts: tuple


def _html_origin(root: etree._Element, head: Head) -> None:
    """Read the where-from lines among the first and last blocks of an HTML body, as
    :func:`_origin` reads a Markdown body's lines; remove them from ``root`` when they
    give something. A body wrapped in one ``<div>``, as bridges write it, is read inside
    it. Only the blocks up to where the reading stops are looked at (the first paragraph
    of text saying nothing at the top, the first block saying nothing at the end): one
    or two in most posts, a bounded number in any."""
    box = _box(root)
    dated = "date" in head.reads
    says = False  # whether a block may say something: else nothing is read
    front: list[_Block] = []
    whole = True  # whether the front holds every block (the footer is read among them)
    for block in _blocks(box, backwards=False):
        front.append(block)
        quiet = _quiet(block, dated)
        says = says or not quiet
        if len(front) > HEAD_LINES or quiet and len(block) >= PROSE_LINE or block == "#":
            whole = False  # (a paragraph of text, or a heading, ends the lines at the top)
            break
    back: list[_Block] = []
    if not whole:
        # The two ways cut the body into the same blocks: one is the other's or none.
        seen = {_key(block.parts[0]) for block in front}
        lines = 0
        for block in _blocks(box, backwards=True):
            if _key(block.parts[0]) in seen:
                break
            back.append(block)
            if not _NOTHING.fullmatch(block):
                quiet = _quiet(block, dated)
                says = says or not quiet
                lines += 1
                if lines > FOOTER_LINES or quiet:
                    back.append(_block("#", ()))  # the blocks between: where reading stops
                    break
    if not says:
        return
    blocks = front + back[::-1]
    said = _says(head)
    kept = {id(block) for block in take_footer(take_head(blocks, head), head, _footer_kinds(head))}
    if _says(head) == said:
        return
    gone = [block for block in blocks if id(block) not in kept]
    for block in gone:
        for part in block.parts:
            if isinstance(part, tuple):
                setattr(*part, None)
    for block in gone:
        for part in block.parts:
            if not isinstance(part, tuple):
                if part.tail and part.tail.isspace():  # between blocks: none to keep, and
                    part.tail = None  # each kept would lengthen the text before (quadratic)
                drop_tree(part)


def _quiet(line: str, dated: bool) -> bool:
    """Whether the line is none that says where the article is from (nor, ``dated``,
    when it was published): the quick look finds no start of one."""
    m = _LOOK.match(line)
    return not (m and m["may_say"]) and not (dated and _DATE_FIRST.match(line))


def _key(part: object) -> tuple[int, str | None]:
    return (id(part[0]), part[1]) if isinstance(part, tuple) else (id(part), None)


def _box(root: etree._Element) -> etree._Element:
    """The element whose children are the body's blocks: the body, or the one ``<div>``
    (``<section>``, …) it is wrapped in."""
    box = root
    while _blank(box.text) and len(box) == 1:
        inner = box[0]
        if inner.tag not in _WRAPPERS or not _blank(inner.tail):
            break
        box = inner
    return box


def _blocks(box: etree._Element, *, backwards: bool) -> Iterator[_Block]:
    """The blocks of ``box`` as lines, from its first or its last: a block element, or the
    text and inline elements between two, with the ``<br>`` ending them (blank text,
    comments and a ``<br>`` alone are none)."""
    run: list = []  # text and inline elements, in the order met
    br = None  # backwards: the <br> ending the run being gathered
    for part in _parts(box, backwards):
        if isinstance(part, tuple) or part.tag not in BLOCKS:
            run.append(part)
            continue
        if run:
            if backwards:
                parts = run[::-1] + [br] if br is not None else run[::-1]
            else:
                parts = run + [part] if part.tag == "br" else run
            if (block := _run_block(parts)) is not None:
                yield block
            run = []
        br = part if part.tag == "br" else None
        if br is None and (block := _element_block(part)) is not None:
            yield block
    if run:
        parts = (run[::-1] + [br] if br is not None else run[::-1]) if backwards else run
        if (block := _run_block(parts)) is not None:
            yield block


def _parts(box: etree._Element, backwards: bool) -> Iterator:
    """The children of ``box`` and the text between them that is not blank."""
    if backwards:
        for child in box.iterchildren(reversed=True):
            if not _blank(child.tail):
                yield (child, "tail")
            yield child
        if not _blank(box.text):
            yield (box, "text")
    else:
        if not _blank(box.text):
            yield (box, "text")
        for child in box:
            yield child
            if not _blank(child.tail):
                yield (child, "tail")


def _blank(text: str | None) -> bool:
    return not text or text.isspace()


def _element_block(el: etree._Element) -> _Block | None:
    tag = el.tag
    if tag == "hr":
        return _block("---", (el,))
    if tag in _HEADINGS:
        return _block("#", (el,))  # ends the lines under a title, as a Markdown heading
    inner = el
    if tag in _READ:
        text = inner.text
        while _blank(text) and len(inner) == 1:
            child = inner[0]
            if child.tag not in _READ or not _blank(child.tail):
                break
            inner, text = child, child.text
        if not len(inner):  # text alone, as most paragraphs are
            return None if _blank(text) else _block(" ".join(text.split()), (el,))
        line = _line(_pieces(inner, text))
        if line is not None:
            return _block(line, (el,)) if line else None
    return _block(_other(tag, inner), (el,))


def _run_block(parts: list) -> _Block | None:
    pieces = [getattr(*part) if isinstance(part, tuple) else part for part in parts]
    line = _line(pieces)
    if line is None:
        line = _other("", pieces)
    return _block(line, tuple(parts)) if line else None


def _block(line: str, parts: tuple) -> _Block:
    block = _Block(line)
    block.parts = parts
    return block


def _pieces(el: etree._Element, text: str | None) -> Iterator:
    """``el``'s content: its ``text``, its children and their tails."""
    if text:
        yield text
    for child in el:
        yield child
        if child.tail:
            yield child.tail


# Inline elements that only style their text: a leaf one reads as its text.
_FORMATTING = frozenset(("b", "strong", "em", "i", "u", "span", "font", "small"))


def _line(pieces: Iterator) -> str | None:
    """The Markdown line of text with at most one link in it (a leaf ``<a href>``), and a
    ``<br>`` at its end or not, whitespace runs one space; None when the pieces hold
    other markup."""
    out: list[str] = []
    linked = ended = False
    for piece in pieces:
        if isinstance(piece, str):
            if ended and not piece.isspace():
                return None
            out.append(piece)
        elif isinstance(piece.tag, str):  # else a comment
            if piece.tag == "br":
                ended = True
                continue
            if piece.tag in _FORMATTING and not len(piece) and not ended:
                out.append(piece.text or "")  # <strong>来源：</strong>: the label as text
                continue
            if ended or linked or piece.tag != "a" or len(piece):
                return None
            if not (href := piece.get("href")):
                return None
            linked = True
            out.append(f"[{piece.text or ''}]({href.strip()})")
    return " ".join("".join(out).split())


def _other(tag: str, content: etree._Element | list) -> str:
    """The line standing for a block that is no where-from line (``tag``, or text and
    inline elements: ``content``): none that is read, and a paragraph of text as long as
    its text, which ends the lines at the top, unless it is a list, a table or a quote
    (Markdown's open with a mark) or has no text."""
    if tag in _NOT_PROSE:
        return f"<{tag}>"
    length = 0
    pieces = content.itertext() if isinstance(content, etree._Element) else content
    for piece in pieces:
        if isinstance(piece, str):
            length += len(piece.strip())
        elif isinstance(piece.tag, str):  # not a comment, which holds no text
            length += sum(len(text.strip()) for text in piece.itertext())
        if length >= _TEXT_READ:  # enough to tell
            break
    return "\x00" * min(length, _TEXT_READ) if length else f"<{tag}>"


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
    published = dates.parse_when(fields.get("date"))
    # No author line when the front matter names one: the bridge's is the outlet's name,
    # and the body's ``作者：`` line, the reporter's, would be lost from the text. No date
    # line when it has a date: that line stays as text too.
    origin = _BodyHead(
        ("url", "source") + (() if author else ("author",)) + (() if published else ("date",))
    )
    if is_html(body):  # its lines are read as its blocks, once
        root = fragment(body)
        _html_origin(root, origin)
    else:
        root = fragment(_rendered(_origin(body, origin)))
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
        published=published or origin.published,
        summary=summarize(body_text),
        text=body_text,
        html=clean_html(root, base=url),
        images=dedupe_images(head_images + images_in(root, base=url)),
        tags=as_list(fields.get("tags")),
        lang=detect_lang(title + "\n" + body_text),
    )
