"""Watchlist matching that is right for Chinese.

A term matches on the *folded* title and text (:func:`monitor.text.fold`: width, case,
Traditional → Simplified), so ``烏克蘭`` finds ``乌克兰`` and ``ＮＡＴＯ`` finds ``nato``.
Chinese has no spaces between words, so a Chinese term is a plain substring. A Latin or
digit edge of a term must not touch another letter or digit in the text: ``nato`` does not
match ``senator``, while ``G7`` matches ``G7峰会`` (the neighbour is Chinese). A space
inside a term matches any run of whitespace (between two Latin words at least one, next
to Chinese also none: ``拜登 普京`` matches ``拜登普京``).

The optional ``regex`` also runs on the folded text — Simplified, lower case,
half-width — with ``re.IGNORECASE``; Traditional characters in the pattern are converted
to Simplified one by one, as the text is (``乾隆`` finds ``乾隆``), other full-width
characters are not (write the pattern half-width).

A term is a phrase already, so double quotes around one, as a search query would quote a
phrase (``"拜登 普京"``), are dropped when the rule is made: every user of the rule (matching,
``explain``, the digest's full-text prefilter) sees ``拜登 普京``.

Source filters take the set of sources that saw the story: a *sighting* is allowed when
it is not in ``exclude_sources`` and, if ``sources`` is given, is in it; the story passes
when at least one sighting is allowed. With no known sightings it passes only when
``sources`` is empty. Site filters compare the story's outlet, folded (``bbc 中文`` =
``BBC 中文``); a story of unknown site fails ``sites`` and passes ``exclude_sites``.

Folding dominates the cost (it is ~100× a term lookup): fold each story once with
:func:`fold_story` — or build :class:`FoldedStory` from stored folded text — and pass it
to every watch's :meth:`Matcher.match`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from .text import CJK_CHARS, fold, simplified_chars

SNIPPET_CHARS = 30
_TERM_FIELDS = ("any", "all", "exclude")
_NAME_FIELDS = ("sources", "exclude_sources", "sites", "exclude_sites")
# A letter or digit of a script that separates words (Latin, Greek, Cyrillic…).
_WORDCH = f"[^\\W_{CJK_CHARS}]"
_IS_WORDCH = re.compile(_WORDCH)


def _wordy(ch: str) -> bool:
    return _IS_WORDCH.match(ch) is not None


_QUOTES = '"＂'  # ASCII and full-width double quotes (folding makes the one the other)


def unquote(term: str) -> str:
    """``term`` without one pair of double quotes around it (``"拜登 普京"`` → ``拜登 普京``)."""
    t = term.strip()
    if len(t) >= 2 and t[0] in _QUOTES and t[-1] in _QUOTES:
        return t[1:-1].strip()
    return term


@dataclass(frozen=True)
class Rule:
    """One watch's filter. Lists are accepted and stored as tuples; a lone string is one
    term (not a sequence of characters). Terms are stored without quotes (:func:`unquote`)."""

    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: str | None = None
    sources: tuple[str, ...] = ()
    exclude_sources: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    exclude_sites: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _TERM_FIELDS + _NAME_FIELDS:
            value = getattr(self, name)
            values = (value,) if isinstance(value, str) else tuple(value)
            if name in _TERM_FIELDS:
                values = tuple(unquote(v) if isinstance(v, str) else v for v in values)
            object.__setattr__(self, name, values)

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        for name in _TERM_FIELDS + _NAME_FIELDS:
            for v in getattr(self, name):
                if not isinstance(v, str):
                    raise ValueError(f"{name}: expected text, got {type(v).__name__} {v!r}")
                if not fold(v).strip():
                    raise ValueError(f"{name}: empty term")
        if self.regex is not None:
            if not isinstance(self.regex, str) or not self.regex.strip():
                raise ValueError("regex: empty pattern")
            try:
                _compile_regex(self.regex)
            except re.error as e:
                raise ValueError(f"regex: invalid pattern {self.regex!r}: {e}") from None
        if not (self.any or self.all or self.regex):
            raise ValueError("any/all/regex: the rule has no terms and would match every story")
        excluded = {_key(t): t for t in self.exclude}
        for name in ("any", "all"):
            for t in getattr(self, name):
                if _key(t) in excluded:
                    raise ValueError(f"exclude: {excluded[_key(t)]!r} is also in {name}")
        self._check_excluded_everywhere()
        for inc, exc in (("sources", "exclude_sources"), ("sites", "exclude_sites")):
            both = {_key(s) for s in getattr(self, inc)} & {_key(s) for s in getattr(self, exc)}
            if both:
                raise ValueError(f"{exc}: {sorted(both)[0]!r} is also in {inc}")

    def _check_excluded_everywhere(self) -> None:
        """Refuse a rule whose stories all hold an excluded term: an ``all`` term that
        contains one (``乌克兰`` holds ``乌克``), a regex that is only such a literal, or
        ``any`` terms that each do. A regex with a metacharacter is not looked into, and the
        exact duplicates are refused before with their names."""

        def excluded_in(term: str) -> str | None:
            return next((e for e in self.exclude if _holds(term, e)), None)

        for term in self.all:
            if (e := excluded_in(term)) is not None:
                raise ValueError(
                    f"exclude: every story 'all' term {term!r} finds has {e!r} in it: "
                    "it can never match"
                )
        literal = _regex_literal(self.regex) if self.regex else None
        if literal is not None and (e := _excluded_in_literal(literal, self.exclude)):
            raise ValueError(
                f"exclude: every story 'regex' {self.regex!r} finds has {e!r} in it: "
                "it can never match"
            )
        held = [(term, e) for term in self.any if (e := excluded_in(term)) is not None]
        if held and len(held) == len(self.any):
            pairs = ", ".join(f"{term!r} has {e!r}" for term, e in held)
            raise ValueError(
                f"exclude: every story an 'any' term finds has an excluded term in it "
                f"({pairs}): it can never match"
            )


class Hit(NamedTuple):
    term: str  # as the user wrote it (the regex pattern for the regex)
    field: str  # "title" or "text"
    snippet: str  # ~SNIPPET_CHARS of the original text around the first occurrence


@dataclass
class Match:
    terms: list[str]  # the rule's terms found in the story, as written; then the regex
    hits: list[Hit] = field(default_factory=list)


@dataclass(frozen=True)
class FoldedStory:
    """A story's title and text, original and folded: fold once, match every watch."""

    title: str
    text: str
    folded_title: str
    folded_text: str

    def fields(self) -> tuple[tuple[str, str, str], ...]:
        return (("title", self.title, self.folded_title), ("text", self.text, self.folded_text))


def fold_story(title: str, text: str) -> FoldedStory:
    return FoldedStory(title, text, fold(title), fold(text))


@lru_cache(maxsize=1024)
def _key(s: str) -> str:
    """Names and terms as compared: folded, whitespace runs as one space."""
    return " ".join(fold(s).split())


def _bounded(part: str, start: int, end: int) -> bool:
    """Whether a term found at ``part[start:end]`` is found by the matcher there: a Latin
    or digit edge of it must not touch another letter or digit of ``part``. (At an edge
    of the part it never does: the containing term's own edge, or the whitespace that
    must separate its parts there, stands beside it in the text.)"""
    found = part[start:end]
    if _wordy(found[0]) and start > 0 and _wordy(part[start - 1]):
        return False
    return not (_wordy(found[-1]) and end < len(part) and _wordy(part[end]))


def _holds(term: str, excluded: str) -> bool:
    """Whether every text ``term`` matches has ``excluded`` too, as :class:`_Term` finds
    them: ``乌克兰`` holds ``乌克`` (and ``烏克``), ``nato summit`` holds ``nato``, but
    ``natos`` does not hold ``nato``, nor ``拜登 普京`` hold ``登普`` (the space may be
    there). Only what is certain: the excluded term's parts (split at spaces) must lie
    within the term's parts, so that no whitespace the text may hold can come between."""
    parts, inner = fold(term).split(), fold(excluded).split()
    n = len(inner)
    for k in range(len(parts) - n + 1):
        run = parts[k : k + n]
        if n == 1:
            i = run[0].find(inner[0])
            while i >= 0:
                if _bounded(run[0], i, i + len(inner[0])):
                    return True
                i = run[0].find(inner[0], i + 1)
            continue
        first, last = run[0], run[-1]
        if (
            run[1:-1] == inner[1:-1]
            and first.endswith(inner[0])
            and last.startswith(inner[-1])
            and _bounded(first, len(first) - len(inner[0]), len(first))
            and _bounded(last, 0, len(inner[-1]))
        ):
            return True
    return False


# A pattern that is only literal characters: no metacharacter but escaped ones (\. \( …);
# an escaped letter or digit (\d, \1) is a class or a reference, not a literal.
_LITERAL = re.compile(r"(?:\\[^0-9A-Za-z]|[^\\.^$*+?{}\[\]|()])+", re.DOTALL)
# Under re.IGNORECASE ``i`` also matches the dotless ``ı`` a folded (Turkish) text may hold:
# in a literal both become ``I``, which no folded term holds (a term's ``i`` may not be there).
_EITHER_I = str.maketrans("iı", "II")


def _regex_literal(pattern: str) -> str | None:
    """The text every match of ``pattern`` is, as the folded text holds it, when the
    pattern is a literal; None for any other pattern, or one whose case folding changes
    its length (``ß``: which text it matches is not certain)."""
    pattern = simplified_chars(pattern)  # as _compile_regex has it
    if not _LITERAL.fullmatch(pattern):
        return None
    literal = re.sub(r"\\(.)", r"\1", pattern, flags=re.DOTALL)
    folded = literal.casefold()  # the folded text is; IGNORECASE finds that case of it
    return folded.translate(_EITHER_I) if len(folded) == len(literal) else None


def _excluded_in_literal(literal: str, exclude: Iterable[str]) -> str | None:
    """The first excluded term every match of the literal regex holds, as :class:`_Term`
    finds it. The regex has no word boundaries (``nato`` matches in ``senator``): a letter
    stands on each side of it, ``A``, which no folded term holds or matches."""
    padded = f"A{literal}A"
    return next((e for e in exclude if _Term(e).span(padded) is not None), None)


def _compile_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(simplified_chars(pattern), re.IGNORECASE)


class _Term:
    """A term compiled for speed: ``needle in text`` decides alone unless the term needs
    word boundaries or spans whitespace; then the regex confirms."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        parts = fold(raw).split()
        self.needle = max(parts, key=len)
        self.pattern: re.Pattern[str] | None = None
        first, last = parts[0][0], parts[-1][-1]
        if len(parts) == 1 and not (_wordy(first) or _wordy(last)):
            return  # a Chinese (or punctuation-edged) term: a plain substring
        rx = f"(?<!{_WORDCH})" if _wordy(first) else ""
        rx += re.escape(parts[0])
        for prev, part in zip(parts, parts[1:], strict=False):
            rx += (r"\s+" if _wordy(prev[-1]) and _wordy(part[0]) else r"\s*") + re.escape(part)
        rx += f"(?!{_WORDCH})" if _wordy(last) else ""
        self.pattern = re.compile(rx)

    def span(self, folded: str) -> tuple[int, int] | None:
        if self.needle not in folded:
            return None
        if self.pattern is None:
            i = folded.find(self.needle)
            return i, i + len(self.needle)
        m = self.pattern.search(folded)
        return m.span() if m else None

    def occurs(self, story: FoldedStory) -> bool:
        return self.span(story.folded_title) is not None or self.span(story.folded_text) is not None

    def hit(self, story: FoldedStory) -> Hit | None:
        for name, original, folded in story.fields():
            if (span := self.span(folded)) is not None:
                return Hit(self.raw, name, _snippet(original, folded, *span))
        return None


class Matcher:
    """A rule compiled once; :meth:`match` it against many stories."""

    def __init__(self, rule: Rule) -> None:
        rule.validate()
        self.rule = rule
        self._any = [_Term(t) for t in rule.any]
        self._all = [_Term(t) for t in rule.all]
        self._exclude = [_Term(t) for t in rule.exclude]
        self._regex = _compile_regex(rule.regex) if rule.regex else None
        self._sources = frozenset(s.strip() for s in rule.sources)
        self._exclude_sources = frozenset(s.strip() for s in rule.exclude_sources)
        self._sites = frozenset(_key(s) for s in rule.sites)
        self._exclude_sites = frozenset(_key(s) for s in rule.exclude_sites)

    def source_ok(self, sources: Iterable[str]) -> bool:
        if not (self._sources or self._exclude_sources):
            return True
        seen = {s.strip() for s in sources}
        if not seen:
            return not self._sources
        return any(
            s not in self._exclude_sources and (not self._sources or s in self._sources)
            for s in seen
        )

    def site_ok(self, site: str | None) -> bool:
        if not (self._sites or self._exclude_sites):
            return True
        key = _key(site) if site else None
        if self._sites and key not in self._sites:
            return False
        return key is None or key not in self._exclude_sites

    def _regex_hit(self, story: FoldedStory) -> Hit | None:
        assert self._regex is not None
        for name, original, folded in story.fields():
            if m := self._regex.search(folded):
                return Hit(self.rule.regex or "", name, _snippet(original, folded, *m.span()))
        return None

    def match(
        self,
        story: FoldedStory | None = None,
        *,
        title: str = "",
        text: str = "",
        sources: Iterable[str] = (),
        site: str | None = None,
    ) -> Match | None:
        """The terms that matched and where, or None. Pass a pre-folded ``story`` to skip
        folding ``title``/``text`` (it wins when both are given)."""
        if story is None:
            story = fold_story(title, text)
        if not self._passes(story, sources, site):
            return None
        regex_hit = None
        if self._regex is not None and (regex_hit := self._regex_hit(story)) is None:
            return None
        # Only now, for the few stories that match, find where and cut snippets.
        hits = [h for t in (*self._any, *self._all) if (h := t.hit(story))]
        if regex_hit is not None:
            hits.append(regex_hit)
        return Match(terms=list(dict.fromkeys(h.term for h in hits)), hits=hits)

    def terms(
        self, story: FoldedStory, *, sources: Iterable[str] = (), site: str | None = None
    ) -> list[str] | None:
        """``match(...).terms`` without finding where: no snippets (a digest needs none)."""
        if not self._passes(story, sources, site):
            return None
        if self._regex is not None and not any(
            self._regex.search(folded) for _, _, folded in story.fields()
        ):
            return None
        found = [t.raw for t in (*self._any, *self._all) if t.occurs(story)]
        if self._regex is not None:
            found.append(self.rule.regex or "")
        return list(dict.fromkeys(found))

    def _passes(self, story: FoldedStory, sources: Iterable[str], site: str | None) -> bool:
        """Filters and terms, the regex aside."""
        if not (self.source_ok(sources) and self.site_ok(site)):
            return False
        if any(t.occurs(story) for t in self._exclude):
            return False
        if not all(t.occurs(story) for t in self._all):
            return False
        return not self._any or any(t.occurs(story) for t in self._any)


def explain(
    rule: Rule,
    *,
    title: str,
    text: str,
    sources: Iterable[str] = (),
    site: str | None = None,
) -> list[str]:
    """Why ``rule`` does or does not match a story, one line per check, then the verdict.

    Backs ``monitor explain KEY --watch NAME``; raises ValueError for an invalid rule.
    """
    m = Matcher(rule)
    story = fold_story(title, text)
    sources = sorted({s.strip() for s in sources})
    lines: list[str] = []
    blocked: list[str] = []

    if rule.sources or rule.exclude_sources:
        seen = ", ".join(sources) or "no known source"
        ok = m.source_ok(sources)
        lines.append(
            f"sources: seen via {seen}; rule includes {_names(rule.sources) or 'all'}"
            f", excludes {_names(rule.exclude_sources) or 'none'}"
            f" → {'passes' if ok else 'excluded'}"
        )
        if not ok:
            blocked.append("source filter")
    if rule.sites or rule.exclude_sites:
        ok = m.site_ok(site)
        lines.append(
            f"site: {site or 'unknown'}; rule includes {_names(rule.sites) or 'all'}"
            f", excludes {_names(rule.exclude_sites) or 'none'}"
            f" → {'passes' if ok else 'excluded'}"
        )
        if not ok:
            blocked.append("site filter")

    any_found = False
    for t in m._any:
        h = t.hit(story)
        any_found |= h is not None
        lines.append(f"any: {t.raw} — {_where(h) if h else 'not found'}")
    if m._any and not any_found:
        blocked.append("no `any` term found")
    for t in m._all:
        h = t.hit(story)
        lines.append(f"all: {t.raw} — {_where(h) if h else 'missing'}")
        if h is None:
            blocked.append(f"`all` term {t.raw} missing")
    for t in m._exclude:
        h = t.hit(story)
        lines.append(f"exclude: {t.raw} — {_where(h) + ': blocks the story' if h else 'not found'}")
        if h is not None:
            blocked.append(f"excluded by {t.raw}")
    if m._regex is not None:
        h = m._regex_hit(story)
        if h:
            lines.append(f"regex /{rule.regex}/ — {_where(h)}")
        else:
            lines.append(
                f"regex /{rule.regex}/ — no match (it runs on folded text: "
                "Simplified, lower case, half-width)"
            )
            blocked.append("regex did not match")

    result = m.match(story, sources=sources, site=site)
    if result is not None:
        lines.append(f"verdict: MATCH — {', '.join(result.terms)}")
    else:
        lines.append(f"verdict: no match — {'; '.join(blocked)}")
    return lines


def _names(values: Iterable[str]) -> str:
    return ", ".join(values)


def _where(h: Hit) -> str:
    return f"found in {h.field}: “{h.snippet}”"


# --- snippets -------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _folded_len(ch: str) -> int:
    return len(fold(ch))


def _to_original(original: str, pos: int) -> int:
    """The index in ``original`` whose folded prefix has length ``pos`` (approximately:
    characters are folded one by one, where fold may see phrases)."""
    n = 0
    for i, ch in enumerate(original):
        if n >= pos:
            return i
        n += _folded_len(ch)
    return len(original)


def _snippet(original: str, folded: str, start: int, end: int) -> str:
    """~SNIPPET_CHARS of ``original`` around ``folded[start:end]``, whitespace collapsed."""
    if len(original) != len(folded):  # NFKC or casefold changed lengths: map back
        start, end = _to_original(original, start), _to_original(original, end)
    end = max(start, min(end, len(original)))
    pad = max(0, (SNIPPET_CHARS - (end - start)) // 2)
    a, b = max(0, start - pad), min(len(original), end + pad)
    text = " ".join(original[a:b].split())
    return ("…" if a > 0 else "") + text + ("…" if b < len(original) else "")
