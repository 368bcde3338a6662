"""Text folding for Chinese: one place that decides when two strings are "the same".

Matching, search and story keys all fold the same way, so a term typed in Traditional
characters, full-width forms or another case finds the same stories.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
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

    Built once from OpenCC (about 10 ms). A character's fold is final: OpenCC makes ``薴``
    ``苧`` and ``苧`` ``苎``, so both fold to ``苎`` and a term of either meets a text of
    either (one step more is enough: no longer chain is there; its test checks). Phrases
    are :func:`fold`'s part (:func:`_phrase_patches`), not the table's.
    """
    table = _identity_table()
    return {c: table.get(ord(b), b) if len(b) == 1 else b for c, b in table.items()}


@lru_cache(maxsize=1)
def _identity_table() -> dict[int, str]:
    """The table as OpenCC's t2s has it (``薴`` → ``苧``), which story identity was built
    with (title keys, content sketches: :func:`fold_characters`)."""
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
    """``s`` with its Traditional characters Simplified exactly as :func:`fold` does (one
    by one, but ``計畫`` → ``计划`` and ``乾隆`` kept: :func:`_phrase_patches`), its name
    dots made the one fold makes them (a regex copied from Epoch Times' ``乔‧拜登`` finds
    the folded text's ``乔·拜登``), and nothing else changed: for a regular expression, whose
    ``（``, ``\\S`` or ``Ｗ`` must stay as written. A phrase is seen only where the pattern
    spells it out (``乾隆``, not ``乾.隆`` or ``(乾)隆``)."""
    table = _ideograph_table()
    return _patched(s, _phrase_patches(s), lambda part: part.translate(table))


# The full-width marks Chinese text is full of: replaced in C before the scan, which
# would otherwise call back into Python for each of them.
_COMMON_WIDE = ("\uff0c", "\uff08", "\uff09", "\uff1a", "\uff1b", "\uff01", "\uff1f", "\u3000")


def _fold_chars(s: str, identity: bool = False) -> str:
    """Apply the fold table. Most text (Simplified) needs few changes: a regex scan that
    maps only the hits is ~4x faster than str.translate; Traditional text changes on
    every few characters, where translate wins. A 200-character sample decides."""
    table, pattern = _identity_table() if identity else _fold_table(), _fold_pattern()
    for wide in _COMMON_WIDE:
        if wide in s:
            s = s.replace(wide, table[ord(wide)])
    if len(pattern.findall(s, 0, 200)) > 40:
        return s.translate(table)
    return pattern.sub(lambda m: table[ord(m.group())], s)


def _fold_text(s: str) -> str:
    """:func:`_fold_chars`, but the phrases OpenCC converts otherwise as OpenCC does."""
    return _patched(s, _phrase_patches(s), _fold_chars)


def _patched(s: str, patches: list[tuple[int, str]], convert) -> str:
    """``convert`` applied to ``s`` but at ``patches`` (position, replacement of as many
    characters), which are put in as they are."""
    if not patches:
        return convert(s)
    pieces, at = [], 0
    for start, replacement in patches:
        pieces += [convert(s[at:start]), replacement]
        at = start + len(replacement)
    pieces.append(convert(s[at:]))
    return "".join(pieces)


def fold(s: str) -> str:
    """Width, case and script folded: ``ＮＡＴＯ``/``nato``, ``烏克蘭``/``乌克兰``,
    ``乔‧拜登``/``乔·拜登`` compare equal.

    Same result as NFKC + casefold + t2s + one name dot (:data:`_NAME_DOTS`); NFKC runs only
    on the rare text that still needs it after the table (compatibility ideographs,
    ligatures, ㍻ …). t2s is OpenCC's character table, but for the few hundred phrases
    its phrase dictionary converts otherwise (:func:`_phrase_patches`): ``計畫``, ``瞭解``
    and ``回覆`` fold to ``计划``, ``了解`` and ``回复``, ``乾隆`` stays ``乾隆`` (where ``乾``
    alone, or in ``乾燥``, is ``干``). So a text folds in context and a term on its own: a
    watch term ``乾`` (``干``) does not find ``乾隆``, and ``干隆`` finds no ``乾隆`` either.
    Every phrase keeps its length, so positions in the folded text are those of the text.
    fold(fold(s)) == fold(s).
    """
    s = _fold_text(s)
    if not unicodedata.is_normalized("NFKC", s):
        s = _fold_text(unicodedata.normalize("NFKC", s))
    return s.casefold()


def fold_characters(s: str) -> str:
    """The fold story identity is made with: title keys (:func:`normalize_title`) and
    content sketches. Character by character, no phrases, with the table those stored
    were made with (:func:`_identity_table`), so that a copy seen after an upgrade
    still meets the story stored before it. Also what the full-text index held before
    fold version 2 (see ``store.upgrade_fold``)."""
    s = _fold_chars(s, True)
    if not unicodedata.is_normalized("NFKC", s):
        s = _fold_chars(unicodedata.normalize("NFKC", s), True)
    return s.casefold()


# --- phrases -----------------------------------------------------------------------------

_FOLD_PHRASES = Path(__file__).with_name("fold_phrases.txt")


@dataclass(frozen=True)
class _Phrases:
    """OpenCC's t2s phrase dictionary, as :func:`_phrase_patches` reads it."""

    triggers: re.Pattern[str]  # the characters an exception folds otherwise (~38)
    candidates: dict[str, list[tuple[int, str]]]  # trigger → (its offset, exception) in each
    exceptions: re.Pattern[str]  # any phrase folding otherwise than its characters
    converted: dict[str, str]  # every phrase key → what it folds to
    lengths: tuple[int, ...]  # the keys' lengths, longest first
    longest: int


@lru_cache(maxsize=1)
def _phrases() -> _Phrases:
    """Read ``fold_phrases.txt`` (every phrase of OpenCC's t2s dictionary, ``TSPhrases``,
    and its conversion). The phrases whose conversion differs from their characters' (~410,
    on ~38 characters: 乾 沈 藉 覆 於 鍊 昇 計 畫 瞭 …) are the exceptions. A phrase's
    conversion that would itself fold on (``李昇勳`` → ``李昇勋``, where ``昇`` alone is
    ``升``) is made a phrase of its own, so that folding is idempotent."""
    table = _fold_table()
    converted: dict[str, str] = {}
    for line in _FOLD_PHRASES.read_text(encoding="utf-8").splitlines():
        key, value = line.split("\t")
        converted[key] = value
    exceptions = {k: v for k, v in converted.items() if v != k.translate(table)}
    for _ in range(3):  # closed under folding: conversions are phrases too
        added = {
            v: v for v in exceptions.values() if v not in converted and v != v.translate(table)
        }
        if not added:
            break
        converted |= added
        exceptions |= {k: v for k, v in added.items() if v != k.translate(table)}
    candidates: dict[str, list[tuple[int, str]]] = {}
    for key, value in exceptions.items():
        changed = {a for a, b in zip(key, value, strict=True) if b != table.get(ord(a), a)}
        for offset, ch in enumerate(key):
            if ch in changed:
                candidates.setdefault(ch, []).append((offset, key))
    triggers = re.compile("[" + "".join(map(re.escape, sorted(candidates))) + "]")
    lengths = tuple(sorted({len(k) for k in converted}, reverse=True))
    return _Phrases(triggers, candidates, _alternatives(exceptions), converted, lengths, lengths[0])


def _alternatives(words) -> re.Pattern[str]:
    """A regex finding any of ``words``, as a trie (``計(?:畫|劃)``): a scan that skips
    every character no word starts with in C."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def regex(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + regex(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else f"{body}?"
        return body

    return re.compile(regex(trie))


def _phrase_patches(s: str) -> list[tuple[int, str]]:
    """Where in ``s`` OpenCC's t2s converts a phrase otherwise than character by character,
    and to what: ``[(start, conversion)]`` in order. Empty (one regex scan) for nearly every
    text. Around an exception, the phrases are segmented as OpenCC does (the longest phrase
    at a position, from the left), every phrase counting: in ``沈括`` + ``括號`` the first wins."""
    ph = _phrases()
    first = _first_exception(s, ph)
    if first is None:
        return []
    patches, done = [], 0
    for m in ph.exceptions.finditer(s, max(0, first - ph.longest + 1)):
        if m.end() <= done:
            continue  # inside a stretch already segmented
        lo, hi = max(m.start(), done), m.end()
        while True:  # widen to every phrase overlapping [lo, hi)
            occurrences = _occurrences(s, max(done, lo - ph.longest + 1), hi, ph)
            new_lo = min([lo, *(p for p, k in occurrences if p + len(k) > lo)])
            new_hi = max([hi, *(p + len(k) for p, k in occurrences if p < hi)])
            if (new_lo, new_hi) == (lo, hi):
                break
            lo, hi = new_lo, new_hi
        starts = {}
        for p, k in occurrences:
            if len(k) > len(starts.get(p, "")):
                starts[p] = k
        at = lo
        while at < hi:
            key = starts.get(at)
            if key is None:
                at += 1
                continue
            if (value := ph.converted[key]) != key.translate(_fold_table()):
                patches.append((at, value))
            at += len(key)
        done = at
    return patches


def phrase_spellings(folded: str) -> list[tuple[int, str]]:
    """Where a folded term holds what an exception phrase folds to, and that phrase:
    ``(start, phrase)`` (``计划`` → ``[(0, "計畫")]``): spellings of the term that
    :func:`spellings`, character by character, cannot give."""
    out = []
    for value, keys in _folded_phrases().items():
        at = folded.find(value)
        while at >= 0:
            out += [(at, key) for key in keys]
            at = folded.find(value, at + 1)
    return out


@lru_cache(maxsize=1)
def _folded_phrases() -> dict[str, list[str]]:
    ph, table = _phrases(), _fold_table()
    found: dict[str, list[str]] = {}
    for key, value in ph.converted.items():
        if value != key.translate(table) and key != value:
            found.setdefault(fold(value), []).append(key)
    return found


def fold_changed_characters() -> str:
    """The characters without which :func:`fold` and :func:`fold_characters` agree: those
    an exception phrase folds otherwise, and ``薴`` (see :func:`_fold_table`). What a store
    looks for to bring its full-text index from one to the other."""
    changed = set(_table_changes().pattern.strip("[]"))
    return "".join(sorted(changed | set(_phrases().candidates)))


def folds_otherwise(s: str) -> bool:
    """Whether :func:`fold` may fold ``s`` otherwise than :func:`fold_characters` (False
    for nearly every text, in a few µs): it, or its NFKC form, holds an exception phrase
    or a character the two tables fold otherwise (``薴``)."""
    forms = [s, unicodedata.normalize("NFKC", s)] if _COMPATIBILITY.search(s) else [s]
    for form in forms:
        if _first_exception(form, _phrases()) is not None or _table_changes().search(form):
            return True
    return False


# Where NFKC may make Chinese characters: radicals, enclosed and squared forms,
# compatibility ideographs.
_COMPATIBILITY = re.compile(
    "[\u2e80-\u2fdf\u3200-\u33ff\uf900-\ufaff\U0001f200-\U0001f2ff\U0002f800-\U0002fa1f]"
)


@lru_cache(maxsize=1)
def _table_changes() -> re.Pattern[str]:
    table, identity = _fold_table(), _identity_table()
    return re.compile("[" + "".join(chr(c) for c, b in table.items() if identity[c] != b) + "]")


def _first_exception(s: str, ph: _Phrases) -> int | None:
    """Where the first exception's first character that folds otherwise is, if any: a scan
    for those characters (~3 µs a story), then a look at the few exceptions holding each
    one found (an exception needs one; 么 坏 哩 俱 are common in Simplified text too)."""
    for m in ph.triggers.finditer(s):
        at = m.start()
        for offset, key in ph.candidates[m.group()]:
            if at >= offset and s.startswith(key, at - offset):
                return at
    return None


def _occurrences(s: str, lo: int, hi: int, ph: _Phrases) -> list[tuple[int, str]]:
    """Every phrase key starting in ``s[lo:hi]``, as ``(position, key)``."""
    out = []
    for p in range(max(0, lo), hi):
        for n in ph.lengths:
            if (key := s[p : p + n]) in ph.converted and len(key) == n:
                out.append((p, key))
    return out


def fold_phrases_from_opencc() -> str:
    """The contents of ``fold_phrases.txt``: OpenCC's t2s phrase dictionary (``TSPhrases``),
    a phrase and its first conversion a line, in code point order, dumped with the
    ``opencc_dict`` tool the opencc package bundles (its test compares the two)."""
    import subprocess
    import tempfile

    share = Path(opencc.__file__).parent / "clib"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "TSPhrases.txt"
        subprocess.run(
            [
                str(share / "bin" / "opencc_dict"),
                *("-i", str(share / "share" / "opencc" / "TSPhrases.ocd2")),
                *("-o", str(out), "-f", "ocd2", "-t", "text"),
            ],
            check=True,
            capture_output=True,
        )
        lines = out.read_text(encoding="utf-8").splitlines()
    pairs = sorted(tuple(line.split("\t")) for line in lines if line)
    return "".join(f"{key}\t{values.split(' ')[0]}\n" for key, values in pairs)


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
    """A title reduced to its letters: folded (:func:`fold_characters`, as story keys
    stored before have it), with punctuation and spaces removed."""
    return _PUNCT_OR_SPACE.sub("", fold_characters(title))


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
