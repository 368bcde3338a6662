import random
import re

import pytest

from monitor.fulltext import QueryTooShort, phrases, segment, segment_folded
from monitor.text import CJK_CHARS


def _reference_segment(folded: str) -> str:
    """segment_folded by its definition: each Chinese run as its bigrams (a lone character
    as itself), the words between the runs as they are, all in order."""
    tokens = []
    for i, part in enumerate(re.split(f"([{CJK_CHARS}]+)", folded)):
        if i % 2:
            tokens += [part[k : k + 2] for k in range(len(part) - 1)] or [part]
        else:
            tokens += re.findall(r"\w+", part)
    return " ".join(tokens)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("乌克兰", "乌克 克兰"),
        ("烏克蘭總統", "乌克 克兰 兰总 总统"),  # folded to Simplified first
        ("F-16战机", "f 16 战机"),
        ("北约和俄罗斯", "北约 约和 和俄 俄罗 罗斯"),
        ("美，和。俄", "美 和 俄"),  # lone characters stay tokens
        ("NATO峰会2021年", "nato 峰会 2021 年"),
        ("", ""),
        ("，。！", ""),
    ],
)
def test_segment_examples(text: str, expected: str):
    assert segment(text) == expected


def test_segment_folded_matches_its_definition_on_random_text():
    rng = random.Random(3)
    # Chinese and other letters, digits, underscores, punctuation, spaces, control
    # characters (the markers the fast path uses inside must not leak), private use,
    # and a character beyond the Basic Multilingual Plane.
    alphabet = "拜登普京乌克兰abcXYZ0123_٣éß。！,， \n-\u3000丶\x00\x01\x02\x03\ue000𠀀"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert segment_folded(text) == _reference_segment(text), repr(text)


def test_phrases_are_the_indexed_tokens_of_each_term():
    assert phrases('乌克兰 "f-16 战机" 普京') == [["乌克", "克兰"], ["f", "16", "战机"], ["普京"]]
    with pytest.raises(QueryTooShort):
        phrases("美")
