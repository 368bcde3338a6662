"""Text folding for Chinese: one place that decides when two strings are "the same".

Matching, search and story keys all fold the same way, so a term typed in Traditional
characters, full-width forms or another case finds the same stories.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import opencc

# CJK ideographs (URO, Ext A, compatibility) — the characters that carry no word boundaries.
CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{CJK_CHARS}]")
_PUNCT_OR_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)


@lru_cache(maxsize=2)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(s: str) -> str:
    return _converter("t2s").convert(s)


def to_traditional(s: str) -> str:
    return _converter("s2t").convert(s)


# Where NFKC and Traditional→Simplified act on Chinese text: full-width ASCII forms, the
# ideographic space, and single characters. One str.translate does all three in C.
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


# The dots between the parts of a transliterated name, as outlets type them: Epoch Times
# writes 乔‧拜登 (U+2027), most mainland sites 乔·拜登 (U+00B7), others 乔・拜登 or 乔•拜登.
# All fold to U+00B7 so that one watch term finds every spelling.
_NAME_DOTS = ("\u2027", "\u30fb", "\uff65", "\u2022", "\u2219", "\u22c5", "\u2e31", "\u0387")


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Full-width forms → ASCII (as NFKC does) and OpenCC's t2s, character by character.

    Built once from OpenCC (about 10 ms). Character-level t2s differs from OpenCC's phrase
    conversion in rare phrases (藉口 stays 藉口, not 借口); folding stays consistent because
    queries, watch terms and stored text all fold the same way.
    """
    table: dict[int, str] = {c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
    table[0x3000] = " "
    table.update(dict.fromkeys(map(ord, _NAME_DOTS), "\u00b7"))
    chars = [chr(c) for lo, hi in _CJK_RANGES for c in range(lo, hi + 1)]
    table.update({ord(a): b for a, b in _converted_alone(to_simplified, chars)})
    return table


def _converted_alone(convert, chars: list[str]) -> list[tuple[str, str]]:
    """``(character, conversion)`` for each character a converter changes on its own, all
    converted in one call (a line break between them never converts)."""
    converted = convert("\n".join(chars)).split("\n")
    return [(a, b) for a, b in zip(chars, converted, strict=True) if a != b]


@lru_cache(maxsize=1)
def _fold_pattern() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_fold_table())) + "]")


@lru_cache(maxsize=1)
def _ideograph_table() -> dict[int, str]:
    """The fold table's Traditional → Simplified part, and its name dots."""
    table = _fold_table()
    ideographs = {c: s for c, s in table.items() if any(lo <= c <= hi for lo, hi in _CJK_RANGES)}
    return ideographs | {ord(d): table[ord(d)] for d in _NAME_DOTS}


def simplified_chars(s: str) -> str:
    """``s`` with its Traditional characters Simplified one by one, exactly as :func:`fold`
    does (``乾隆`` → ``干隆``, where OpenCC's phrases keep ``乾隆``), its name dots made the
    one fold makes them (a regex copied from Epoch Times' ``乔‧拜登`` finds the folded
    text's ``乔·拜登``), and nothing else changed: for a regular expression, whose ``（``,
    ``\\S`` or ``Ｗ`` must stay as written."""
    return s.translate(_ideograph_table())


# The full-width marks Chinese text is full of: replaced in C before the scan, which
# would otherwise call back into Python for each of them.
_COMMON_WIDE = ("\uff0c", "\uff08", "\uff09", "\uff1a", "\uff1b", "\uff01", "\uff1f", "\u3000")


def _fold_chars(s: str) -> str:
    """Apply the fold table. Most text (Simplified) needs few changes: a regex scan that
    maps only the hits is ~4x faster than str.translate; Traditional text changes on
    every few characters, where translate wins. A 200-character sample decides."""
    table, pattern = _fold_table(), _fold_pattern()
    for wide in _COMMON_WIDE:
        if wide in s:
            s = s.replace(wide, table[ord(wide)])
    if len(pattern.findall(s, 0, 200)) > 40:
        return s.translate(table)
    return pattern.sub(lambda m: table[ord(m.group())], s)


def fold(s: str) -> str:
    """Width, case and script folded: ``ＮＡＴＯ``/``nato``, ``烏克蘭``/``乌克兰``,
    ``乔‧拜登``/``乔·拜登`` compare equal.

    Same result as NFKC + casefold + character-level t2s + one name dot (:data:`_NAME_DOTS`);
    NFKC runs only on the rare text that still needs it after the table (compatibility
    ideographs, ligatures, ㍻ …).
    """
    s = _fold_chars(s)
    if not unicodedata.is_normalized("NFKC", s):
        s = _fold_chars(unicodedata.normalize("NFKC", s))
    return s.casefold()


def spellings(ch: str) -> str:
    """Every character that :func:`fold` makes ``ch`` on its own, ``ch`` first: ``里`` →
    ``里裏裡…``, ``a`` → ``aAａＡ…``; what a search of raw text must look for (OpenCC's
    Traditional of ``里`` is ``裏`` alone, where Taiwan writes ``裡``)."""
    return _unfolded().get(ch, ch)


@lru_cache(maxsize=1)
def _unfolded() -> dict[str, str]:
    """The fold of every character below U+30000 (none above folds), inverted: ~0.1 s,
    built by the first search that reads raw text."""
    chars = [chr(c) for c in range(0x30000) if not 0xD800 <= c <= 0xDFFF and c != 0x0A]
    found: dict[str, list[str]] = {}
    for a, b in zip(chars, fold("\n".join(chars)).split("\n"), strict=True):
        if a != b and len(b) == 1:
            found.setdefault(b, [b]).append(a)
    return {b: "".join(spelled) for b, spelled in found.items()}


def normalize_title(title: str) -> str:
    """A title reduced to its letters: folded, with punctuation and spaces removed."""
    return _PUNCT_OR_SPACE.sub("", fold(title))


def cjk_count(s: str) -> int:
    return len(_CJK.findall(s))


def detect_lang(text: str, *, sample: int = 2000) -> str:
    """``zh-Hans``, ``zh-Hant`` or ``other``, from which script the Chinese characters use.

    Runs once per stored item, so it stops counting Chinese characters as soon as there are
    enough, and votes on the script over the first ``_SCRIPT_SAMPLE`` characters only: a
    few dozen Chinese characters already settle it, and the vote's cost grows with the length.
    """
    s = text[:sample]
    if not _enough_chinese(s, max(2, len(s.strip()) * 0.1)):
        return "other"
    head = s[:_SCRIPT_SAMPLE]
    if not _enough_chinese(head, _SCRIPT_MIN_CJK):
        head = s  # Chinese starts late (an English lead): vote over the whole sample
    # Characters that t2s changes on their own are Traditional-only; s2t, Simplified-only.
    trad_only = len(_traditional_only().findall(head))
    if not trad_only:
        return "zh-Hans"
    simp_only = sum(map(simplified_only().__contains__, head))
    return "zh-Hant" if trad_only > simp_only else "zh-Hans"


@lru_cache(maxsize=1)
def _traditional_only() -> re.Pattern[str]:
    """The ideographs the fold table changes, i.e. those OpenCC's t2s converts alone: one
    class scan, half the cost of converting the sample with OpenCC's phrase dictionary."""
    table = _fold_table()
    chars = [chr(c) for c in sorted(table) if any(lo <= c <= hi for lo, hi in _CJK_RANGES)]
    return re.compile("[" + "".join(map(re.escape, chars)) + "]")


_SIMPLIFIED_ONLY = Path(__file__).with_name("simplified_only.txt")


@lru_cache(maxsize=1)
def simplified_only() -> frozenset[str]:
    """The characters OpenCC's s2t changes on their own (发, 国, 乌 …): Simplified-only.

    Read from a table shipped with the package (:func:`simplified_only_from_opencc` makes
    it): OpenCC's s2t converter loads a phrase dictionary of ~26 MB that would stay in the
    daemon's memory, and the script vote needs no more than which characters change.
    """
    return frozenset(_SIMPLIFIED_ONLY.read_text(encoding="utf-8").strip())


def simplified_only_from_opencc() -> str:
    """The contents of ``simplified_only.txt``: every character beyond ASCII that OpenCC's
    s2t converts when it stands alone, in code point order (its test compares the two)."""
    chars = [chr(c) for c in range(0x80, 0x30000) if not 0xD800 <= c <= 0xDFFF]
    return "".join(a for a, _ in _converted_alone(to_traditional, chars))


_SCRIPT_SAMPLE = 300
_SCRIPT_MIN_CJK = 60
_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def _enough_chinese(s: str, need: float) -> bool:
    """``cjk_count(s) >= need``, reading only as far as it takes."""
    found = 0
    for m in _CJK_RUN.finditer(s):
        found += m.end() - m.start()
        if found >= need:
            return True
    return False
