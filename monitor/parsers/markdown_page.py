"""Articles copied as plain Markdown: a heading, a few lines saying where the article is
from, then its text. Archive repositories on GitHub keep blocked outlets' articles this
way, with no front matter (that would be a Hexo post).

The heading is the title: ``# 标题``, ``## 标题``, a Setext heading (``标题`` over
``===`` or ``---``) or an HTML heading, as READMEs center theirs
(``<h1 align="center">标题</h1>``), on one line or over a few, as converters of WeChat
articles write it (``<h1 …>``, the title, ``</h1>`` on lines of their own: the closing tag
must end one of the five lines after the opening one, and the lines join with a space, as
HTML renders a line break). A title that is itself a link, ``# [标题](https://…)`` or
``<h1><a href="https://…">标题</a></h1>``, in bold or italics or not
(``# **[标题](https://…)**``), gives the article's address. A thematic
break over the heading (``---``) is skipped: it is no front matter unless ``key: value``
lines follow it up to a closing ``---``.
The lines after the heading say the rest, each optional and in any order:
``原文链接：``, ``作者：``, ``来源：美国之音``, a line that is only a date, a byline without a
colon (``By 张三``, ``文/张三``). Archives write them as list items (``- 作者：``),
blockquote lines (``> 原文链接：``), with bold labels (``**来源**：``) and full- or
half-width colons, and several on one line (``发布时间：2022-01-03 来源：新华社``, or a date
first: ``2022年01月03日 10:20　来源：新华网``), so each line is read on its own after those
marks.
Only the first ten non-blank lines are looked at, and the first long paragraph of text
ends them: further down, ``来源：`` or a date is the article's own sentence. A line is
taken only when every value on it reads as what its label says (an address, a readable
date, a name that is no sentence); else it stays in the text. A line that is one link
saying it goes to the original (``[阅读原文](…)``) is an address line too. Tools that save
a page also append ``原文链接：[…](…)`` as the last line, WeChat archives ``原文地址：…``
and ``[阅读原文](…)``: up to three such lines at the end are read too. The lines taken
are not part of the text.

The article's address must be an absolute http(s) link to a page: a relative link names
the mirror's copy, and an outlet's front page (``来源：https://www.voachinese.com/``) would
key every article of that outlet as one story. A ``来源`` that is not a link names the
outlet; a WeChat account (``微信公众号「某某观察」``, ``公众号“某某观察”``, in 『』 or 【】
too, ``微信公众号：某某观察``) names it by the account's name alone, as the account's feed
is named. Links and images in the text resolve against the document's own address, where
an archive keeps them (``./pic/1.jpg``).

A digest page, as archives publish one a day, holds several articles: a page title
without an address of its own (``# 2026-11-20 新闻汇总``) over two or more headings of one
level, each with its own address, read as a page's is (a link as the title, the lines
under it, or those ending its text); or, with no page title, headings of the first one's
level that are so addressed. Its headings are ATX, HTML or Setext ones (``标题`` over
``---`` alone in its paragraph, and no metadata line), or, as WeChat digests write them,
bold lines (``**标题**``, below any heading): a paragraph that is one bold span, no
metadata line, without a sentence's punctuation (。！？；) and shorter than a paragraph,
so that an article's bold lead sentence stays its text. Each article is an item, with its
own lines and text (see :func:`_digest`).

A README or an index of a mirror checkout is Markdown under a heading too, and is not an
article: a page whose text is mostly links, or that has no text outside lists, tables,
links and headings, is refused (:class:`NotAnArticle`), as :mod:`html_page` refuses a
front page. So is a README written as prose when it shows what only READMEs do: a
badge (``img.shields.io``, ``…/badge.svg``), or a code block of install or run commands
(``git clone``, ``pip install``, ``docker run``). (One with neither passes: nothing in
its form tells it from a short article.)
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

from lxml import etree

from monitor.canonical import url_key
from monitor.models import Item, NotAnArticle, ParseError
from monitor.parsers import dates
from monitor.parsers.html import (
    clean_html,
    fragment,
    html_to_line,
    html_to_text,
    images_in,
    summarize,
)
from monitor.text import detect_lang

FORMAT = "markdown"

# An ATX heading's opening: one to six "#", then a space (CommonMark). The title after it
# is cut by hand (:func:`_atx_title`): a pattern for the whole line backtracks on long runs
# of spaces.
ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
# An HTML heading on one line, as READMEs center their title: ``<h1 align="center">…</h1>``.
# The opening tag's end is the first ">"; the closing tag is found from the line's end.
_HTML_OPEN = re.compile(r" {0,3}<h(?P<level>[1-6])(?=[\s>])[^>]*>", re.I)
_HTML_CLOSE = re.compile(r"</h(?P<level>[1-6])[ \t]*>[ \t]*", re.I)
# Or over several lines, as converters of WeChat articles write it: the closing tag ends one
# of the next few lines (the first closing tag closes it, as in HTML).
_HTML_CLOSE_ANY = re.compile(r"</h(?P<level>[1-6])[ \t]*>", re.I)
_HTML_LINES = 5
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_EMPHASIS_TAGS = frozenset(("strong", "em", "b", "i"))
# A Setext heading's underline, and the lines that cannot be its text (their own blocks).
SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_OWN_BLOCK = re.compile(r"^ {0,3}(?:[#>|<]|[-+*](?:[ \t]|$)|\d{1,3}[.)](?:[ \t]|$)|```|~~~)")
_WORD = re.compile(r"\w")
# A line that is one bold span (no other inside it): a digest's title, WeChat style.
_BOLD_LINE = re.compile(
    r" {0,3}(?P<mark>\*\*|__)(?:(?!\*\*|__).)*?\w(?:(?!\*\*|__).)*(?P=mark)[ \t]*"
)
_BOLD_LEVEL = 7  # below every heading
# Inline Markdown or a character reference: a title with none is its own text.
_INLINE = re.compile(r"[\\`*_~\[\]<&]")

# Labels by what their value is; Traditional spellings as Hong Kong and Taiwan write them.
LABELS = {
    **dict.fromkeys(
        ("原文链接", "原文鏈接", "原文連結", "原文地址", "原文网址", "原文網址", "原文"), "url"
    ),
    **dict.fromkeys(("链接", "鏈接", "連結", "url", "original"), "url"),
    # An address or the outlet.
    **dict.fromkeys(("来源", "來源", "文章来源", "文章來源", "出处", "出處", "source"), "source"),
    **dict.fromkeys(("作者", "记者", "記者", "author", "by"), "author"),
    **dict.fromkeys(("日期", "时间", "時間", "published", "date"), "date"),
    **dict.fromkeys(("发布时间", "發布時間", "發佈時間", "发表时间", "發表時間"), "date"),
    **dict.fromkeys(("发布日期", "發布日期", "發佈日期", "发表日期", "發表日期"), "date"),
}
_KINDS = ("url", "source", "author", "date")
_LABEL = "|".join(sorted(map(re.escape, LABELS), key=len, reverse=True))  # 原文链接 before 原文
_LABELLED = rf"(?:\*\*|__)?(?P<label>{_LABEL})[ \t]*(?:(?:\*\*|__)[ \t]*)?[：:][ \t]*(?:\*\*|__)?"
# A byline without a colon, at the line's start: ``By 张三``, ``文/张三``, ``文 | 张三``.
# Its name has no comma either: ``By the way, …`` is a sentence.
_BYLINE = re.compile(
    r"(?:\*\*|__)?(?:by(?:\*\*|__)?[ \t]+|文[ \t]*[/／|｜](?:\*\*|__)?[ \t]*)"
    r"(?P<name>[^\s,，].*)",
    re.I,
)
# List item and blockquote marks before a line's text.
_MARKS = re.compile(r"^ {0,3}(?:(?:[-*+][ \t]+|>[ \t]*))*")
_LABEL_AT = re.compile(_LABELLED, re.I)
# Another label further on the line, after a space or a separator.
_NEXT_LABEL = re.compile(rf"(?:(?<=\s)|(?<=[|｜,，;；])){_LABELLED}", re.I)
# A link that is the whole line and says it goes to the original: ``[阅读原文](…)``, as
# WeChat writes it, or an address label as its text (``[原文链接](…)``).
_READ_ORIGINAL = re.compile(
    r"(?:(?:点击|點擊)?(?:阅读|閱讀|查看)原文(?:链接|鏈接|連結)?|"
    + "|".join(re.escape(label) for label, kind in LABELS.items() if kind == "url")
    + r")[ \t]*[>»]*",
    re.I,
)
# Value shapes: [text](url "title"), <url>, a bare URL.
_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\(\s*<?(?P<url>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_ANGLE = re.compile(r"<(?P<url>[^>\s]+)>")
_URL = re.compile(r"https?://\S+", re.I)
# An inline HTML tag (not an autolink, <https://…>), attributes quoted or not.
_INLINE_TAG = re.compile(r"</?[a-z][a-z0-9]*+(?:[ \t/][^<>]*+)?>", re.I)
# A WeChat account as the source: ``微信公众号「某某观察」`` (or in 『』, “”, 【】),
# ``微信公众号：某某观察``. Each name stops at a character the next part starts with.
_ACCOUNT = r"(?:微信)?公[众眾][号號][ \t]*"
_WECHAT = re.compile(
    rf"{_ACCOUNT}(?:[：:][ \t]*)?"
    r"(?:「(?P<corner>[^「」]+)」|『(?P<white>[^『』]+)』"
    r"|“(?P<curly>[^“”]+)”|【(?P<lenticular>[^【】]+)】)"
    rf"|{_ACCOUNT}[：:][ \t]*(?P<bare>[^\s「」『』“”【】][^「」『』“”【】]*)"
)
# Punctuation that ends or joins sentences: a name or an outlet has none.
_SENTENCE = re.compile(r"[。！？；!?;]")
_NAME_MAX = 60
# A line that may be only a date: year-first, or RFC 822's weekday.
_DATE_START = re.compile(r"\d{4}|[A-Z][a-z]{2}, ")
_DATE_MAX = 40
# Where a date may start after a name on a labelled line.
_DATE_AFTER_NAME = re.compile(r"[\s|｜,，;；]+(?=\d{4})")
_EMPHASIS = "*_ \t"
_SEPARATORS = " \t|｜,，;；"
# A thematic break (---, ***, ___), left over once the lines around it are taken.
_BREAK = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
# A code fence's opening or closing line.
_FENCE = re.compile(r"^ {0,3}(?:```|~~~)")
# A heading or a code fence: the article's own blocks, after any metadata.
_HEAD_ENDS = re.compile(r"^ {0,3}(?:#{1,6}(?:[ \t]|$)|```|~~~)")
# How far the metadata may be from the title, and the paragraph that ends it first; how
# many lines of it the end of the page may hold.
HEAD_LINES = 10
FOOTER_LINES = 3
PROSE_LINE = 80  # a line of text this long that says nothing is a paragraph
_NOT_PARAGRAPH = re.compile(r"^ {0,3}(?:[-+*>|!<\[]|\d{1,3}[.)])")

# Text outside these is what an article is made of, in Markdown paragraphs or in the HTML
# some archives keep (``<div>`` text without a ``<p>``); scripts and styles are not text.
_NOT_PROSE = frozenset(
    ("li", "td", "th", "a", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "code")
    + ("script", "style", "template", "noscript")
)
_LINK_TEXT = etree.XPath("//a//text()")
# What only a README shows (see module docstring): badges, and install or run commands
# opening a line of a code block.
_IMAGE_SOURCES = etree.XPath("//img/@src")
_BADGE = re.compile(r"//(?:img\.shields\.io|badgen\.net)/|badge\.svg", re.I)
_CODE = etree.XPath("//pre")
_COMMAND = re.compile(
    r"^[ \t]*(?:\$[ \t]*)?(?:sudo[ \t]+)?(?:git[ \t]+clone"
    r"|(?:pip3?|conda|brew|apt|apt-get)[ \t]+install|python3?[ \t]+-m[ \t]+pip"
    r"|npm[ \t]+(?:i|install|run)|yarn[ \t]+(?:add|install)|go[ \t]+(?:get|install)"
    r"|cargo[ \t]+(?:install|run)|docker(?:-compose|[ \t]+(?:run|pull|compose)))(?![\w-])",
    re.M,
)


def heading(line: str, after: str = "") -> str | None:
    """The title's Markdown when ``line`` (followed by ``after``) is a heading with a title,
    else None. Cheap: detection asks it of every document."""
    title = _atx_title(line)
    if title is None and (inner := _html_title(line)) is not None:
        # The whole line: Markdown reads it as an HTML block, Markdown inside it as text.
        return line.strip() if _WORD.search(inner) else None
    if title is None and after and SETEXT.match(after) and not _OWN_BLOCK.match(line):
        title = line.strip()
    return title if title and _WORD.search(title) else None


def opening(lines: list[str]) -> tuple[int, str] | None:
    """``(index, title Markdown)`` of the heading opening ``lines``, else None. Blank lines
    and thematic breaks before it are skipped: archives may put a rule over the title."""
    found = _opening(lines)
    return found[:2] if found is not None else None


def _opening(lines: list[str]) -> tuple[int, str, int, int] | None:
    """:func:`opening`, how many lines the heading takes and its level. An HTML heading
    over several lines is read as the same heading on one line (its title Markdown is that
    line)."""
    for i, line in enumerate(lines):
        if line.strip() and not _BREAK.match(line):
            found = _heading_at(lines, i)
            return (i, found[1], found[2], found[0]) if found is not None else None
    return None


def _heading_at(lines: list[str], i: int) -> tuple[int, str, int] | None:
    """``(level, title Markdown, lines it takes)`` of the heading at ``lines[i]``, else
    None. A Setext heading's level is its underline's (``===`` 1, ``---`` 2)."""
    line = lines[i]
    after = lines[i + 1] if i + 1 < len(lines) else ""
    if (title := heading(line, after)) is not None:
        # An ATX or HTML heading is its own block; a Setext one is over its underline.
        if _OWN_BLOCK.match(line):
            return _level(line), title, 1
        return 1 if after.lstrip().startswith("=") else 2, title, 2
    if (found := _html_lines(lines, i)) is not None:
        return _level(line), *found
    return None


def _atx_title(line: str) -> str | None:
    """The text of an ATX heading line without its closing "#"s, else None."""
    if (m := ATX.match(line)) is None:
        return None
    title = line[m.end() :].strip(" \t")
    closed = title.rstrip("#")
    if closed != title and (not closed or closed[-1] in " \t"):  # "标题 ##", not "C#"
        title = closed.rstrip(" \t")
    return title


def _html_title(line: str) -> str | None:
    """The HTML inside a one-line ``<hN …>…</hN>`` heading, else None."""
    if (m := _HTML_OPEN.match(line)) is None:
        return None
    at = line.rfind("</")
    close = _HTML_CLOSE.fullmatch(line, at) if at >= m.end() else None
    if close is None or close["level"] != m["level"]:
        return None
    return line[m.end() : at]


def _html_lines(lines: list[str], at: int) -> tuple[str, int] | None:
    """``(the heading on one line, lines it takes)`` for an HTML heading opening at
    ``lines[at]`` and closed at the end of one of the next :data:`_HTML_LINES` lines, else
    None. Its lines are joined with a space, as HTML renders a line break; one closed on its
    first line, or followed by more on the line closing it, is none (as on one line)."""
    line = lines[at]
    if (m := _HTML_OPEN.match(line)) is None or _HTML_CLOSE_ANY.search(line, m.end()):
        return None
    parts = [line[m.end() :]]
    for j in range(at + 1, min(len(lines), at + 1 + _HTML_LINES)):
        if (close := _HTML_CLOSE_ANY.search(lines[j])) is None:
            parts.append(lines[j])
            continue
        if close["level"] != m["level"] or lines[j][close.end() :].strip():
            return None
        parts.append(lines[j][: close.start()])
        inner = " ".join(part.strip() for part in parts if part.strip())
        if not _WORD.search(inner):
            return None
        return f"{line[: m.end()].strip()}{inner}</h{m['level']}>", j + 1 - at
    return None


def metadata_line(line: str) -> bool:
    """Whether ``line`` reads as a metadata line (see module docstring)."""
    return _read_line(line) is not None


class Head:
    """What the metadata lines say. In the head each kind is taken once (a second
    ``作者：`` line is text); a footer only fills what the head left empty."""

    def __init__(self, reads: tuple[str, ...] = _KINDS) -> None:
        self.reads = reads  # the kinds of line this head takes (a Hexo body: fewer)
        self.kinds: set[str] = set()
        self.url: str | None = None
        self.source_url: str | None = None
        self.site: str | None = None
        self.author: str | None = None
        self.published: str | None = None

    def take(self, line: str, *, kinds: tuple[str, ...] | None = None) -> bool:
        """Take the line's values if it is a metadata line of ``kinds`` (by default, those
        the head reads), none of them taken."""
        kinds = self.reads if kinds is None else kinds
        found = _read_line(line)
        if found is None or any(k not in kinds or k in self.kinds for k, _v in found):
            return False
        for kind, value in found:
            self.kinds.add(kind)
            if kind == "url":
                self.url = self.url or _article_url(value[1])
            elif kind == "source":
                self.source_url = self.source_url or _article_url(value[1])
                self.site = self.site or value[0]
            elif kind == "author":
                self.author = self.author or value
            else:
                self.published = self.published or value
        return True


def _read_line(line: str) -> list[tuple[str, object]] | None:
    """``[(kind, value), …]`` for a metadata line, else None. Values: ``(text, url)`` for
    an address or a source, the name for an author, the ISO time for a date."""
    start = _MARKS.match(line).end()
    rest = line[start:].strip()
    if "<" in rest:  # inline HTML: its text is the line (``<br>`` ends a copied line)
        rest = _INLINE_TAG.sub("", rest).strip()
    if not rest:
        return None
    if (m := _LABEL_AT.match(rest)) is None:
        if (link := _LINK.fullmatch(rest.strip(_EMPHASIS))) and _READ_ORIGINAL.fullmatch(
            link["text"].strip(_EMPHASIS)
        ):
            value = _as("url", (None, _unescaped(link["url"])))
            return [("url", value)] if value else None
        if (by := _BYLINE.fullmatch(rest)) and not any(c in by["name"] for c in ",，"):
            name = _as("author", _value(by["name"]))
            return [("author", name)] if name else None
        # A date alone, or before labels, as news sites print it under the title:
        # ``2022年01月03日 10:20　来源：新华网``.
        m = _NEXT_LABEL.search(rest, 0, _DATE_MAX + 16) if _DATE_START.match(rest) else None
        if not (when := _date_only(rest[: m.start()].strip(_SEPARATORS) if m else rest)):
            return None
        if m is None:
            return [("date", when)]
        found = [("date", when)]
    else:
        found = []
    pos, kind = m.end(), LABELS[m["label"].lower()]
    while True:
        nxt = _NEXT_LABEL.search(rest, pos)
        raw = rest[pos : nxt.start() if nxt else len(rest)]
        if kind in ("author", "source") and (dated := _dated_name(raw)):
            raw = dated[0]
            found.append(("date", dated[1]))
        read = _as(kind, _value(raw))
        if read is None:
            return None
        found.append((kind, read))
        if nxt is None:
            break
        pos, kind = nxt.end(), LABELS[nxt["label"].lower()]
    if len({k for k, _v in found}) < len(found):  # one label twice: not a header line
        return None
    return found


def _value(raw: str) -> tuple[str | None, str | None]:
    """``(text, url)`` of a value: a link, an address in brackets, a bare address, or text
    (a Markdown hard break and bold around it dropped). An address copied out of HTML
    keeps its ``&amp;``, which Markdown reads as ``&``, as it reads the title's link."""
    raw = raw.strip(_SEPARATORS).removesuffix("\\").strip().strip(_EMPHASIS)
    if m := _LINK.fullmatch(raw):
        text = m["text"].strip().strip(_EMPHASIS)
        return (None if not text or _URL.fullmatch(text) else text), _unescaped(m["url"])
    if m := _ANGLE.fullmatch(raw):
        return None, _unescaped(m["url"])
    if _URL.fullmatch(raw):
        return None, _unescaped(raw)
    return (raw or None), None


def _unescaped(url: str) -> str:
    # Only "&amp;": html.unescape would also read "&copy=1" in a query as "©=1".
    return url.replace("&amp;", "&")


def _as(kind: str, value: tuple[str | None, str | None]) -> object | None:
    text, url = value
    if kind == "url":
        return value if url and _URL.fullmatch(url) else None
    if kind == "source":
        text = _outlet(text)
        if url:
            return (text, url) if _URL.fullmatch(url) else None
        return (text, None) if _name(text) else None
    if kind == "author":
        return text if _name(text) else None
    return dates.parse_when(text) if text else None  # date


def _outlet(text: str | None) -> str | None:
    """The account's name for a WeChat account (see :data:`_WECHAT`): its feed is named
    so, and the copy and the feed's entry are one outlet's."""
    if text and (m := _WECHAT.fullmatch(text)):
        return (m["corner"] or m["white"] or m["curly"] or m["lenticular"] or m["bare"]).strip()
    return text


def _dated_name(raw: str) -> tuple[str, str] | None:
    """``(name, ISO time)`` for a name followed by the date (``来源：人民网 2022-01-03
    10:20``, ``作者：张三 | 2022年1月3日``), which would otherwise be part of the name."""
    # The date is the value's end: only its last characters are tried.
    for m in _DATE_AFTER_NAME.finditer(raw, max(0, len(raw) - _DATE_MAX - 8)):
        name = raw[: m.start()].strip(_SEPARATORS)
        if name and (when := _date_only(raw[m.end() :].strip(_SEPARATORS))):
            return name, when
    return None


def _name(text: str | None) -> bool:
    return bool(text) and len(text) <= _NAME_MAX and not _SENTENCE.search(text)


def _date_only(text: str) -> str | None:
    text = text.strip(_EMPHASIS)
    if len(text) > _DATE_MAX or not _DATE_START.match(text):
        return None
    return dates.parse_when(text)


def _article_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) address of a page, not a site's front page."""
    if not url or not _URL.fullmatch(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.hostname or (parts.path in ("", "/") and not parts.query):
        return None
    return url


def parse(text: str, *, url: str | None = None, site: str | None = None) -> list[Item]:
    """The page's article, or each article of a digest page (see :func:`_digest`)."""
    # Imported on the first Markdown page, as for Hexo posts (see hexo._rendered).
    from monitor.parsers.markdown import markdown_to_html

    lines = text.lstrip("\ufeff").splitlines()
    if (found := _opening(lines)) is None:
        raise ParseError("Markdown page without a heading first")
    at, source, taken, page_level = found
    title, title_url = _title(source, markdown_to_html)
    if not title:
        raise NotAnArticle("Markdown page without a title")
    rest = lines[at + taken :]
    heads = _headings(rest, markdown_to_html)
    level = _level(lines[at])
    if articles := _digest(title, title_url, rest, heads, page_level):
        items, refused = [], []
        for article in articles:  # an article without text is left out, as a page is
            try:
                items.append(_item(*article, url=url, site=site, render=markdown_to_html))
            except NotAnArticle as e:
                refused.append(e)
        if not items:
            raise refused[0]
        return items

    head, body = _head_of(rest)
    address = _address(title_url, head)
    item = _item(title, address, head, body, url=url, site=site, render=markdown_to_html)
    if address and level and (other := _other_article(heads, level, address)):
        raise NotAnArticle(
            f"Markdown page {title!r} holds two articles: {address} and, under the heading "
            f"{other[0]!r}, {other[1]}"
        )
    return [item]


def _item(
    title: str, address: str | None, head: Head, body: list[str], *, url, site, render
) -> Item:
    """The article of ``body`` (its metadata lines taken), or NotAnArticle."""
    body_md = "\n".join(body)
    root = fragment(render(body_md)) if body_md.strip() else etree.Element("body")

    body_text = html_to_text(root)
    if not body_text:
        raise NotAnArticle(f"Markdown page {title!r} has no article text")
    if not _has_prose(root):
        raise NotAnArticle(
            f"Markdown page {title!r} has no text outside lists, tables, links and headings"
        )
    linked = sum(len("".join(t.split())) for t in _LINK_TEXT(root))
    if linked * 2 >= len("".join(body_text.split())):
        raise NotAnArticle(f"Markdown page {title!r} is mostly links (an index, not an article)")
    if any(_BADGE.search(src) for src in _IMAGE_SOURCES(root)) or any(
        _COMMAND.search("".join(pre.itertext())) for pre in _CODE(root)
    ):
        raise NotAnArticle(
            f"Markdown page {title!r} is a README (badges or install commands), not an article"
        )
    return Item(
        title=title,
        format=FORMAT,
        url=address,
        site=head.site or site,
        author=head.author or None,
        published=head.published or None,
        summary=summarize(body_text),
        text=body_text,
        html=clean_html(root, base=url),
        images=images_in(root, base=url),
        lang=detect_lang(title + "\n" + body_text),
    )


def _level(line: str) -> int | None:
    """The level of the ATX or HTML heading on ``line`` (a Setext title: None)."""
    if m := ATX.match(line):
        return line.count("#", 0, m.end())
    if m := _HTML_OPEN.match(line):
        return int(m["level"])
    return None


class _Heading(NamedTuple):
    """A heading after the title: where, its level, its title, its own address (its link,
    or the lines under it up to the next heading, at their top or bottom) and how many
    lines it takes."""

    at: int
    level: int
    title: str
    address: str | None
    taken: int


def _headings(lines: list[str], render) -> list[_Heading]:
    """The ATX, HTML and Setext headings of ``lines`` with a title, and the bold lines that
    are titles (:func:`_bold_title`), outside code."""
    found: list[tuple[int, int, str, int]] = []
    fenced = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        if fenced:
            continue
        if (h := _heading_at(lines, i)) and (h[2] == 1 or _setext_ok(lines, i)):
            found.append((i, *h))
        elif _bold_title(lines, i):
            found.append((i, _BOLD_LEVEL, line.strip(), 1))
    ends = [f[0] for f in found[1:]] + [len(lines)]
    heads = []
    for (i, level, source, taken), end in zip(found, ends, strict=False):  # no heading: no end
        title, link = _title(source, render)
        address = _address(link, _head_of(lines[i + taken : end])[0])
        heads.append(_Heading(i, level, title, address, taken))
    return heads


def _setext_ok(lines: list[str], i: int) -> bool:
    """Whether the Setext heading at ``lines[i]`` is a title: a paragraph of one line, not
    the last line of a longer one, nor a metadata line a rule was put under."""
    return (not i or not lines[i - 1].strip()) and not metadata_line(lines[i])


def _bold_title(lines: list[str], i: int) -> bool:
    """Whether ``lines[i]`` is a bold line that is a title: its own paragraph (or over
    metadata lines), no metadata line, and no sentence: an article's bold lead sentence
    (``**拜登周四表示，……。**``) is its text."""
    line = lines[i]
    if len(line.strip()) >= PROSE_LINE or not _BOLD_LINE.fullmatch(line):
        return False
    after = lines[i + 1] if i + 1 < len(lines) else ""
    return (
        (not i or not lines[i - 1].strip())
        and (not after.strip() or metadata_line(after))
        and not _SENTENCE.search(_LINK.sub(r"\g<text>", line))
        and not metadata_line(line)
    )


def _head_of(lines: list[str]) -> tuple[Head, list[str]]:
    """What the metadata lines at the top and bottom of ``lines`` say, and the lines
    without them."""
    head = Head()
    return head, take_footer(take_head(lines, head), head)


def _address(link: str | None, head: Head) -> str | None:
    """An article's address: its title's link, else its metadata lines'."""
    return _article_url(link) or head.url or head.source_url


def _other_article(heads: list[_Heading], level: int, address: str) -> tuple[str, str] | None:
    """``(title, address)`` of a second article in the text: a heading of the title's
    level or above whose own address is another page. A section (a lower heading), or an
    address quoted in a paragraph, is the article's own text."""
    for h in heads:
        if h.level <= level and h.address and url_key(h.address) != url_key(address):
            return h.title, h.address
    return None


def _digest(
    title: str, title_url: str | None, rest: list[str], heads: list[_Heading], level: int
) -> list[tuple[str, str, Head, list[str]]] | None:
    """``[(title, address, head, lines), …]`` of a digest page's articles, else None.

    A digest is a page title without an address of its own over two or more headings of
    one level, below it (or of its level, when the title has no text of its own), with
    addresses of their own; or, with no page title, headings of the first one's level, each
    with its own address. An article runs to the next heading of its level or above: a
    lower heading is its section. A heading of its level without an address (``## 编者按``)
    is text of the article above it, and one with an address an article above has, text of
    that article (a copy, or a continuation). The text under the page title, or under a
    heading above the articles' level (``## 国际``), is no article's."""
    page_head, intro = _head_of(rest[: heads[0].at if heads else len(rest)])
    own = _address(title_url, page_head)
    levels = [h.level for h in heads if h.address]
    if own:
        if any(lv < level for lv in levels):  # another article over this one: not a digest
            return None
    elif not levels or (min(levels) <= level and _end(intro, len(intro))):
        return None
    else:
        level = min(levels)
    if not (bounds := [h for h in heads if h.level <= level]):
        return None
    articles: dict[str, tuple[str, str, Head, list[str]]] = {}
    current = None
    if own:
        current = articles[url_key(own)] = (title, own, *_head_of(rest[: bounds[0].at]))
    for h, end in zip(bounds, [b.at for b in bounds[1:]] + [len(rest)], strict=True):
        lines = rest[h.at + h.taken : end]
        key = url_key(h.address) if h.address else None
        if h.level < level:
            current = None
        elif key is not None and key not in articles:
            current = articles[key] = (h.title, h.address, *_head_of(lines))
        elif (current := articles.get(key, current)) is not None:  # the one above, or its own
            current[3].extend(["", *rest[h.at : h.at + h.taken], *_head_of(lines)[1]])
    return list(articles.values()) if len(articles) > 1 else None


def _has_prose(el: etree._Element) -> bool:
    """Whether ``el`` holds a word outside lists, tables, links, headings and code (depth
    first: an article answers at its first paragraph)."""
    if el.text and _WORD.search(el.text):
        return True
    for child in el:
        if isinstance(child.tag, str) and child.tag not in _NOT_PROSE and _has_prose(child):
            return True
        if child.tail and _WORD.search(child.tail):
            return True
    return False


def _title(source: str, render) -> tuple[str, str | None]:
    """The heading's text, and the address when the whole title is one link."""
    if not _INLINE.search(source):
        return " ".join(source.split()), None
    html = _html_title(source) is not None
    h = next(fragment(render(source if html else "# " + source)).iter(*_HEADINGS), None)
    if h is None:
        return " ".join(source.split()), None
    return html_to_line(h), _only_link(h)


def _only_link(h: etree._Element) -> str | None:
    """The address of the one link that is the whole title, bold or italics around it
    (``# **[标题](…)**``) or not."""
    el = h
    while not (el.text or "").strip():
        links = el.findall("a")
        if len(links) == 1:
            return None if (links[0].tail or "").strip() else links[0].get("href")
        # Else the title must be one bold or italic element: the link may be inside it.
        if links or len(el) != 1 or el[0].tag not in _EMPHASIS_TAGS or (el[0].tail or "").strip():
            return None
        el = el[0]
    return None


def take_head(lines: list[str], head: Head) -> list[str]:
    """The lines without the metadata lines near the title (see module docstring)."""
    kept: list[str] = []
    seen = 0
    for i, line in enumerate(lines):
        if _empty(line):
            kept.append(line)
            continue
        seen += 1
        if seen > HEAD_LINES or _HEAD_ENDS.match(line):
            return _without_lead(kept) + lines[i:]
        if head.take(line):
            continue
        kept.append(line)
        if len(line.strip()) >= PROSE_LINE and not _NOT_PARAGRAPH.match(line):
            return _without_lead(kept) + lines[i + 1 :]
    return _without_lead(kept)


def _empty(line: str) -> bool:
    """A blank line, or one of only quote marks: archives write ``>`` between the quoted
    metadata lines, which leave it empty once they are taken."""
    return not line[_MARKS.match(line).end() :].strip()


def _without_lead(lines: list[str]) -> list[str]:
    """Blank lines and a thematic break left at the top once the metadata is gone."""
    i = 0
    while i < len(lines) and (_empty(lines[i]) or _BREAK.match(lines[i])):
        i += 1
    return lines[i:]


def take_footer(
    lines: list[str], head: Head, kinds: tuple[str, ...] = ("url", "source")
) -> list[str]:
    """The lines without the last lines naming the original (``原文链接：…``, ``来源：…``,
    ``[阅读原文](…)``; archives of WeChat articles end with two of them), which give what
    the head did not, and without the rules left at the bottom. ``kinds``: the lines a
    footer may hold (a Hexo post without a date also reads a date line there); each is
    read by a head of ``head``'s own class."""
    end = _end(lines, len(lines))
    for _ in range(FOOTER_LINES):
        footer = type(head)(kinds)
        if not end or not footer.take(lines[end - 1]):
            break
        head.url = head.url or footer.url
        head.source_url = head.source_url or footer.source_url
        head.site = head.site or footer.site
        head.published = head.published or footer.published
        end = _end(lines, end - 1)
    return lines[:end]


def _end(lines: list[str], end: int) -> int:
    """Where ``lines[:end]`` ends without its blank lines and rules at the bottom."""
    while end and (_empty(lines[end - 1]) or _BREAK.match(lines[end - 1])):
        end -= 1
    return end
