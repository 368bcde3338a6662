"""Text folding for Chinese: one place that decides when two strings are "the same".

Matching, search and story keys all fold the same way, so a term typed in Traditional
characters, full-width forms or another case finds the same stories.
"""

from __future__ import annotations

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
    """``zh-Hans``, ``zh-Hant`` or ``other``, from which script the Chinese characters use."""
    s = text[:sample]
    chinese = cjk_count(s)
    if chinese < 2 or chinese < len(s.strip()) * 0.1:
        return "other"
    simp = to_simplified(s)
    trad = to_traditional(s)
    # Characters that change under t2s are Traditional-only; under s2t, Simplified-only.
    trad_only = sum(a != b for a, b in zip(s, simp, strict=False))
    simp_only = sum(a != b for a, b in zip(s, trad, strict=False))
    return "zh-Hant" if trad_only > simp_only else "zh-Hans"
