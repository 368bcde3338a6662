"""Chinese full-text search on SQLite FTS5 through bigram segmentation.

FTS5's ``unicode61`` tokenizer keeps a run of Chinese characters as one token, so a word
inside a sentence is never found. We index text rewritten as overlapping character bigrams
(``乌克兰`` → ``乌克 克兰``) and query a word as the phrase of its bigrams. Two-character
words (普京, 北约) are one bigram; longer words are a phrase; Latin words stay whole words.
Both sides are folded first (width, case, Traditional → Simplified), so ``烏克蘭`` finds
``乌克兰``. A one-character query cannot be answered as a phrase of bigrams; :func:`fts_query`
reports it so the caller can narrow by the other terms or by :func:`character_expression`
and confirm each story. A lone character after a word (``2月``)
is queried as a prefix: the text's run may go on (``2月入侵``). Because the indexed text is already
folded and space-separated, the index uses FTS5's plain ``ascii`` tokenizer.
"""

from __future__ import annotations

import re
from array import array
from itertools import chain

from .text import CJK_CHARS, fold

_RUNS = re.compile(f"([{CJK_CHARS}]+)")
_TERMS = re.compile(r'"([^"]+)"|(\S+)')
# The text's tokens in order: a run of Chinese characters, or a word of other letters.
_CHUNKS = re.compile(f"([{CJK_CHARS}]+)|([^\\W{CJK_CHARS}]+)")
_UTF32 = next(code for code in "IL" if array(code).itemsize == 4)  # an array item per character
_SPACES = array(_UTF32, b" \0\0\0" * 3)  # UTF-32 spaces for a bigram and its separator
# In the two halves of a bigram: no second character (a lone Chinese character), a word.
_NO_SECOND, _A_WORD = "\x01", "\x02"  # never inside a token: not letters


def segment(text: str) -> str:
    """Text as the indexer should see it: folded, Chinese runs as bigrams."""
    return segment_folded(fold(text))


def segment_folded(folded: str) -> str:
    """:func:`segment` for text already folded (the store folds once for several uses).

    A story's text holds ~1,500 bigrams. Made one by one (a string per character, another
    per bigram) they took ~170 ns each; here no object is made per bigram: the runs'
    first and second characters are laid side by side as UTF-32 (``array`` slices) and
    read back as one string. The other tokens ride along as markers, filled in after.
    """
    firsts, seconds, words = [], [], []
    for run, word in _CHUNKS.findall(folded):
        if len(run) > 1:
            firsts.append(run[:-1])
            seconds.append(run[1:])
        elif run:
            firsts.append(run)
            seconds.append(_NO_SECOND)
        else:
            words.append(word)
            firsts.append(_A_WORD)
            seconds.append(_NO_SECOND)
    first = "".join(firsts)
    if not first:
        return ""
    pairs = _SPACES * len(first)
    pairs[0::3] = array(_UTF32, first.encode("utf-32-le"))
    pairs[1::3] = array(_UTF32, "".join(seconds).encode("utf-32-le"))
    out = pairs.tobytes().decode("utf-32-le")[:-1].replace(_NO_SECOND, "")
    if words:
        *pieces, last = out.split(_A_WORD)
        out = "".join(chain.from_iterable(zip(pieces, words, strict=True))) + last
    return out


def _tokens(folded: str) -> list[str]:
    """Bigrams of each Chinese run, words elsewhere, in order."""
    return segment_folded(folded).split()


class QueryTooShort(ValueError):
    """A term the bigram index cannot answer: one Chinese character, alone or first in a
    term that goes on with a word (``兰2``: the text's bigram there is ``克兰``)."""


# A term's last token, when it is a lone Chinese character after a word (``2月``, ``A股``):
# the text's run may go on (``2月入侵`` is indexed ``2 月入 入侵``), so it is a prefix.
PREFIX = "*"


def query_terms(query: str) -> list[str]:
    """The user's terms (whitespace-separated, or "quoted phrases"), folded."""
    return [fold(a or b) for a, b in _TERMS.findall(query)]


_SEARCH_TERMS = re.compile(r'(-?)"([^"]+)"|(-?)(\S+)')


def search_terms(query: str) -> tuple[list[str], list[str]]:
    """A search's terms to find and, written ``-term`` (or ``-"a phrase"``), to leave out;
    folded. Terms with nothing to search for (``-``, ``，``) are dropped; a search with
    nothing to find is refused (ValueError)."""
    wanted, unwanted = [], []
    for minus, phrase, minus2, word in _SEARCH_TERMS.findall(query):
        term = fold(phrase or word)
        if _tokens(term):  # "-" or "，" is nothing to search for
            (unwanted if minus or minus2 else wanted).append(term)
    if not wanted:
        raise ValueError(
            "a search needs a term to find: -term only leaves stories out"
            if unwanted
            else "empty search query"
        )
    return wanted, unwanted


def phrases(query: str) -> list[list[str]]:
    """Each term of ``query`` as the token phrase the index holds for it; a last token
    that only starts an indexed token ends in :data:`PREFIX`."""
    return phrases_of(query_terms(query))


def phrases_of(terms: list[str]) -> list[list[str]]:
    """:func:`phrases` for terms already split and folded."""
    out = []
    for term in terms:
        toks = _tokens(term)
        if not toks:
            continue
        if _lone_chinese(toks[0]):
            # Alone: no bigram holds just it. Before a word: the text's run may have
            # started earlier, and an index of first characters cannot find a last one.
            raise QueryTooShort(term)
        if len(toks) > 1 and _lone_chinese(toks[-1]):
            toks[-1] += PREFIX
        out.append(toks)
    if not out:
        raise ValueError("empty search query")
    return out


def narrowing_phrases(terms: list[str]) -> list[list[str]]:
    """For terms :func:`phrases_of` refuses (``乔·拜登``): the phrases the index can find
    that every story holding the terms also holds. A term loses its lone first characters
    (``拜登``) and its last token becomes a prefix, since the term may end inside a word;
    a term with nothing left (``热``) narrows nothing."""
    out = []
    for term in terms:
        toks = _tokens(term)
        while toks and _lone_chinese(toks[0]):
            del toks[0]
        if toks:
            if not (len(toks[-1]) == 2 and _RUNS.fullmatch(toks[-1])):
                toks[-1] += PREFIX  # a bigram is whole in the text; a word or character may go on
            out.append(toks)
    return out


def lone_character(terms: list[str]) -> str:
    """For terms :func:`narrowing_phrases` finds nothing in (each is lone Chinese
    characters: ``热``, ``乔·``): the first one's first character."""
    return _tokens(terms[0])[0]


def single_character(term: str) -> str | None:
    """The character of a folded term that is one Chinese character alone (``美``, ``美。``):
    the index finds every story holding it (:func:`character_expression`), exactly."""
    toks = _tokens(term)
    return toks[0] if len(toks) == 1 and _lone_chinese(toks[0]) else None


def character_expression(char: str, before: list[str]) -> str:
    """Every story holding ``char``, as an index expression: the indexed tokens starting
    with it (its bigrams with the character after it, and ``char`` alone in its run) and
    ``before``, the bigrams ending in it that the index holds. A character is in a run
    either before another one, last, or alone: nothing is missed."""
    return " OR ".join([_phrase([char + PREFIX]), *(_phrase([b]) for b in before)])


def preceded(char: str) -> list[str]:
    """Every bigram ending in ``char``, to ask the index which it holds."""
    return [chr(c) + char for lo, hi in _CJK_RANGES for c in range(lo, hi + 1)]


_CJK_RANGES = [(ord(lo), ord(hi)) for lo, hi in re.findall("(.)-(.)", CJK_CHARS)]


def _lone_chinese(token: str) -> bool:
    return len(token) == 1 and _RUNS.fullmatch(token) is not None


def fts_query(query: str) -> str:
    """A search as an FTS5 MATCH expression, read as ``monitor search`` reads it: every term
    must occur (AND), each term as a phrase, and no ``-term`` (NOT)."""
    wanted, unwanted = search_terms(query)
    return search_expression(phrases_of(wanted), [phrases_of([t]) for t in unwanted])


def search_expression(wanted: list[list[str]], unwanted: list[list[list[str]]]) -> str:
    """:func:`fts_query` for phrases already made: all of ``wanted``, none of ``unwanted``."""
    return match_expression(wanted) + "".join(f" NOT {match_expression(u)}" for u in unwanted)


def match_expression(wanted: list[list[str]]) -> str:
    """Every phrase of ``wanted`` (AND), each as a phrase."""
    return " AND ".join(_phrase(toks) for toks in wanted)


def _phrase(toks: list[str]) -> str:
    prefix = toks[-1].endswith(PREFIX)
    words = [*toks[:-1], toks[-1].removesuffix(PREFIX)]
    quoted = '"' + " ".join(t.replace('"', '""') for t in words) + '"'
    return quoted + " *" if prefix else quoted


def phrases_in(wanted: list[list[str]], *columns: str) -> bool:
    """Whether every phrase occurs in one of the segmented columns: what MATCH answers,
    for text not yet indexed. The ``ascii`` tokenizer lower-cases ASCII; so do we."""
    padded = [f" {c.lower()} " for c in columns]
    needles = []
    for toks in wanted:
        joined = " ".join(toks).lower()
        needles.append(f" {joined[: -len(PREFIX)]}" if joined.endswith(PREFIX) else f" {joined} ")
    return all(any(n in c for c in padded) for n in needles)
