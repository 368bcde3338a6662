"""Text folding for Chinese: one place that decides when two strings are "the same".

Matching, search and story keys all fold the same way, so a term typed in Traditional
characters, full-width forms or another case finds the same stories.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from functools import lru_cache

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


def fold(s: str) -> str:
    """Width, case and script folded: ``ＮＡＴＯ``/``nato``, ``烏克蘭``/``乌克兰`` compare equal."""
    s = unicodedata.normalize("NFKC", s).casefold()
    return to_simplified(s) if _CJK.search(s) else s


def normalize_title(title: str) -> str:
    """A title reduced to its letters: folded, with punctuation and spaces removed."""
    return _PUNCT_OR_SPACE.sub("", fold(title))


def cjk_count(s: str) -> int:
    return len(_CJK.findall(s))


def detect_lang(text: str, *, sample: int = 2000) -> str:
    """``zh-Hans``, ``zh-Hant`` or ``other``, from which script the Chinese characters use.

    Runs once per stored item, so it stops counting Chinese characters as soon as there are
    enough, and votes on the script over the first ``_SCRIPT_SAMPLE`` characters only: a
    few dozen Chinese characters already settle it, and OpenCC costs grow with the length.
    """
    s = text[:sample]
    if not _enough_chinese(s, max(2, len(s.strip()) * 0.1)):
        return "other"
    head = s[:_SCRIPT_SAMPLE]
    if not _enough_chinese(head, _SCRIPT_MIN_CJK):
        head = s  # Chinese starts late (an English lead): vote over the whole sample
    simp = to_simplified(head)
    if simp == head:  # nothing Traditional-only, so it cannot be zh-Hant
        return "zh-Hans"
    trad = to_traditional(head)
    # Characters that change under t2s are Traditional-only; under s2t, Simplified-only.
    trad_only = sum(map(operator.ne, head, simp))
    simp_only = sum(map(operator.ne, head, trad))
    return "zh-Hant" if trad_only > simp_only else "zh-Hans"


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
