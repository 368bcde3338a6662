"""Markdown bodies (archive repositories, hand-written Hexo posts) rendered to HTML.

The HTML then goes the way of every other body (:mod:`monitor.parsers.html`): text, images
and the stored HTML are read from it, and the sanitizer (``clean_html``), not this renderer,
makes it safe. Raw HTML therefore passes through as written (``html=True``).

RSS bridges write one paragraph a line with no blank line between, which Markdown would
join into one paragraph. So each line of a paragraph is a paragraph of its own, as the
bare-text reading before Markdown made it, and a line break inside inline markup (bold
that runs over two lines) or a list item is a ``<br>``: a body without Markdown syntax
comes out as one ``<p>`` per line, as it always did.

Emphasis follows the CJK-friendly amendment proposed for CommonMark
(github.com/tats-u/markdown-cjk-friendly, variation selectors aside): CommonMark closes
``**`` after punctuation only when a space or punctuation follows, so ``**“拜登”**表示``,
which Chinese writes without a space, would keep its asterisks. A CJK character beside
the run now does what the space would, and full-width punctuation (，。（）《》) no longer
stops a run from opening or closing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from types import MethodType

from markdown_it import MarkdownIt
from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
from markdown_it.rules_block import StateBlock, list_block
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline, emphasis, strikethrough
from markdown_it.rules_inline.state_inline import Scanned
from markdown_it.token import Token

_BREAKS = frozenset(("softbreak", "hardbreak"))
# CommonMark lets an ordered list start at any number up to nine digits: "2022. 新年" would
# lose its year to the list's numbering. No list of prose counts to a thousand.
_YEAR_NOT_ITEM = re.compile(r"\d{4,}[.)]")
# What Markdown may read as markup: inline syntax, HTML and references anywhere, block
# syntax at a line's start. A body without any is one paragraph a line, which rendering
# would give too (a test holds them to that) at several times the cost: bridges' bare text.
# A line's indent is read up to its end only: "^\s*" ran on through the blank lines after
# each line start, minutes for a body with a hundred thousand of them.
_MARKUP = re.compile(r"[\\`*_~\[\]<&|\x00]|^[^\S\n]*(?:[#>=+-]|[0-9]+[.)])", re.M)


def _list_unless_year(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if _YEAR_NOT_ITEM.match(state.src, state.bMarks[start] + state.tShift[start]):
        return False
    return list_block(state, start, end, silent)


InlineRule = Callable[[StateInline, bool], bool]
_WIDE = frozenset(("W", "F", "H"))


def _cjk(ch: str) -> bool:
    """A CJK character as the amendment has it: East Asian wide, full- or half-width, but
    no emoji (most are wide too)."""
    return unicodedata.east_asian_width(ch) in _WIDE and not "\U0001f000" <= ch < "\U0001fb00"


def _scan_delims(state: StateInline, start: int, can_split_word: bool) -> Scanned:
    """``StateInline.scanDelims`` with CommonMark's flanking rules as amended for CJK text
    (see module docstring)."""
    src, end = state.src, state.posMax
    marker = src[start]
    last = src[start - 1] if start > 0 else " "  # a line's edges count as whitespace
    pos = start
    while pos < end and src[pos] == marker:
        pos += 1
    after = src[pos] if pos < end else " "

    last_punct = isMdAsciiPunct(ord(last)) or isPunctChar(last)
    next_punct = isMdAsciiPunct(ord(after)) or isPunctChar(after)
    last_cjk, next_cjk = _cjk(last), _cjk(after)
    last_space = isWhiteSpace(ord(last))
    next_space = isWhiteSpace(ord(after))
    # Only punctuation that is not CJK asks for a space or punctuation across the run.
    left_flanking = not next_space and (
        not (next_punct and not next_cjk) or last_space or last_punct or last_cjk
    )
    right_flanking = not last_space and (
        not (last_punct and not last_cjk) or next_space or next_punct or next_cjk
    )
    can_open = left_flanking and (can_split_word or not right_flanking or last_punct)
    can_close = right_flanking and (can_split_word or not left_flanking or next_punct)
    return Scanned(can_open, can_close, pos - start)


def _cjk_friendly(tokenize: InlineRule) -> InlineRule:
    """An emphasis-like rule that scans its delimiter runs with :func:`_scan_delims`."""

    def rule(state: StateInline, silent: bool) -> bool:
        state.scanDelims = MethodType(_scan_delims, state)  # this parse's state only
        return tokenize(state, silent)

    return rule


def _lines_as_paragraphs(state: StateCore) -> None:
    """Cut each shown paragraph at the line breaks that sit outside inline markup."""
    tokens: list[Token] = []
    for token in state.tokens:
        tokens.append(token)
        if token.type != "inline" or not token.children:
            continue
        opening = tokens[-2]  # what the inline content is in
        if opening.type != "paragraph_open" or opening.hidden:  # hidden: a tight list item's
            continue
        first, *more = _lines(token.children)
        token.children = first
        for line in more:
            tokens.append(Token("paragraph_close", "p", -1, block=True))
            tokens.append(Token("paragraph_open", "p", 1, block=True))
            tokens.append(Token("inline", "", 0, children=line))
    state.tokens = tokens


def _lines(children: list[Token]) -> list[list[Token]]:
    """Inline tokens split at the line breaks outside any markup (a bold run keeps its).

    Each line loses the whitespace at its edges that Markdown keeps (a no-break or an
    ideographic space), as a paragraph does."""
    lines = []
    start = depth = 0
    for i, child in enumerate(children):
        if depth == 0 and child.type in _BREAKS:
            lines.append(children[start:i])
            start = i + 1
        depth += child.nesting
    if not start:
        return [children]
    lines.append(children[start:])
    for line in lines:
        if line and line[0].type == "text":
            line[0].content = line[0].content.lstrip()
        if line and line[-1].type == "text":
            line[-1].content = line[-1].content.rstrip()
    return lines


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "breaks": True})
    md.enable(["table", "strikethrough"])
    # Chinese text indents paragraphs with spaces or a tab: never code, as in HTML bodies.
    md.disable("code")
    md.block.ruler.at("list", _list_unless_year, {"alt": ["paragraph", "reference", "blockquote"]})
    md.core.ruler.push("lines_as_paragraphs", _lines_as_paragraphs)
    md.inline.ruler.at("emphasis", _cjk_friendly(emphasis.tokenize))
    md.inline.ruler.at("strikethrough", _cjk_friendly(strikethrough.tokenize))
    return md


# Built once: building one (~100 µs) would add most of a short post's render to each post.
_MD = _parser()


def markdown_to_html(body: str) -> str:
    """The body's HTML, unsanitized: one ``<p>`` per line of a paragraph, raw HTML as
    written (see module docstring)."""
    if _MARKUP.search(body) is None:
        return "".join(f"<p>{line.strip()}</p>" for line in body.splitlines() if line.strip())
    return _MD.render(body)
