"""Chinese full-text search on SQLite FTS5 through bigram segmentation.

FTS5's ``unicode61`` tokenizer keeps a run of Chinese characters as one token, so a word
inside a sentence is never found. We index text rewritten as overlapping character bigrams
(``乌克兰`` → ``乌克 克兰``) and query a word as the phrase of its bigrams. Two-character
words (普京, 北约) are one bigram; longer words are a phrase; Latin words stay whole words.
Both sides are folded first (width, case, Traditional → Simplified), so ``烏克蘭`` finds
``乌克兰``. A one-character query cannot be answered from bigrams; :func:`fts_query`
reports it so the caller can fall back to a scan. Because the indexed text is already
folded and space-separated, the index uses FTS5's plain ``ascii`` tokenizer.
"""

from __future__ import annotations

import re
from operator import add

from .text import CJK_CHARS, fold

_RUNS = re.compile(f"([{CJK_CHARS}]+)")
_TERMS = re.compile(r'"([^"]+)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


def _tokens(folded: str) -> list[str]:
    """Bigrams of each Chinese run (built in C with map), words elsewhere."""
    out: list[str] = []
    for i, part in enumerate(_RUNS.split(folded)):
        if i % 2:  # a CJK run
            out.extend(map(add, part[:-1], part[1:]) if len(part) > 1 else (part,))
        else:
            out.extend(_WORD.findall(part))
    return out


def segment(text: str) -> str:
    """Text as the indexer should see it: folded, Chinese runs as bigrams."""
    return segment_folded(fold(text))


def segment_folded(folded: str) -> str:
    """:func:`segment` for text already folded (the store folds once for several uses)."""
    return " ".join(_tokens(folded))


class QueryTooShort(ValueError):
    """A term of one Chinese character: the bigram index cannot answer it."""


def query_terms(query: str) -> list[str]:
    """The user's terms (whitespace-separated, or "quoted phrases"), folded."""
    return [fold(a or b) for a, b in _TERMS.findall(query)]


def phrases(query: str) -> list[list[str]]:
    """Each term of ``query`` as the token phrase the index holds for it."""
    out = []
    for term in query_terms(query):
        toks = _tokens(term)
        if not toks:
            continue
        if len(toks) == 1 and len(toks[0]) == 1 and _RUNS.fullmatch(toks[0]):
            raise QueryTooShort(term)
        out.append(toks)
    if not out:
        raise ValueError("empty search query")
    return out


def fts_query(query: str) -> str:
    """An FTS5 MATCH expression: every term must occur (AND), each term as a phrase."""
    return match_expression(phrases(query))


def match_expression(wanted: list[list[str]]) -> str:
    """:func:`fts_query` for phrases already made."""
    return " AND ".join('"' + " ".join(t.replace('"', '""') for t in toks) + '"' for toks in wanted)


def phrases_in(wanted: list[list[str]], *columns: str) -> bool:
    """Whether every phrase occurs in one of the segmented columns: what MATCH answers,
    for text not yet indexed. The ``ascii`` tokenizer lower-cases ASCII; so do we."""
    padded = [f" {c.lower()} " for c in columns]
    return all(any(f" {' '.join(toks).lower()} " in c for c in padded) for toks in wanted)
