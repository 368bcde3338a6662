"""Folding with OpenCC's t2s phrases: 計畫 is 计划, 乾隆 is not 干隆."""

import random
import re
from pathlib import Path

import pytest

from monitor import store, text
from monitor.canonical import SiteRules, assign_keys
from monitor.match import Matcher, Rule, explain
from monitor.models import Item
from monitor.store import Sighting, save_items
from monitor.text import fold, fold_characters, normalize_title, simplified_chars, to_simplified

ROOT = Path(__file__).parent.parent
PHRASE_KEYS = [
    line.split("\t")[0] for line in text._FOLD_PHRASES.read_text(encoding="utf-8").splitlines()
]
# Taiwan's spellings, folded as OpenCC's t2s converts them (not character by character).
TAIWAN = {
    "計畫": "计划",
    "瞭解": "了解",
    "回覆": "回复",
    "傢俱": "家具",
    "彷彿": "仿佛",
    "復甦": "复苏",
}


def texts() -> list[str]:
    files = [*ROOT.glob("seeds/*"), *ROOT.glob("tests/fixtures/parsers/*")]
    found = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(files)]
    return found + [text.to_traditional(t) for t in found]


def test_phrase_table_is_opencc_t2s_phrase_dictionary():
    shipped = text._FOLD_PHRASES.read_text(encoding="utf-8")
    assert shipped == text.fold_phrases_from_opencc(), (
        "OpenCC changed: rewrite monitor/fold_phrases.txt from fold_phrases_from_opencc() "
        "(and raise store.FOLD_VERSION: the index must be made again)"
    )


@pytest.mark.parametrize(("taiwan", "simplified"), TAIWAN.items())
def test_taiwan_spellings_fold_as_their_simplified_words(taiwan, simplified):
    assert fold(taiwan) == fold(simplified) == simplified
    assert fold(f"行政院的{taiwan}今天公布") == f"行政院的{simplified}今天公布"


def test_a_phrase_opencc_keeps_is_not_folded_into_another_word():
    assert fold("乾隆皇帝的故事") == "乾隆皇帝的故事"
    assert fold("干隆") == "干隆"
    # A term folds on its own: 乾 alone, or in 乾燥, is 干.
    assert fold("乾") == "干"
    assert fold("乾燥") == "干燥"


def test_fold_is_opencc_t2s_on_ideographs():
    """Phrases are found and segmented as OpenCC does (the longest phrase at a position,
    from the left), in real text and with phrases overlapping each other."""
    ideographs = {
        c: b
        for c, b in text._identity_table().items()
        if any(lo <= c <= hi for lo, hi in text._CJK_RANGES)
    }
    rng = random.Random(7)
    pool = "".join(PHRASE_KEYS) + "的是在了不和有大這中人上為們個"
    samples = texts()
    for key in PHRASE_KEYS:
        for _ in range(2):
            a, b = rng.randint(0, 6), rng.randint(0, 6)
            samples.append("".join(rng.choices(pool, k=a)) + key + "".join(rng.choices(pool, k=b)))
    samples += ["".join(rng.choices(PHRASE_KEYS, k=rng.randint(1, 6))) for _ in range(1500)]
    for s in samples:
        folded = text._patched(s, text._phrase_patches(s), lambda part: part.translate(ideographs))
        assert folded == to_simplified(s), s


def test_text_without_exception_phrase_folds_as_before():
    samples = [*texts(), *PHRASE_KEYS, "薴麻", "苧麻", "乾隆\uf9ba"]
    for s in samples:
        if not text.folds_otherwise(s):  # what the store's upgrade relies on
            assert fold(s) == fold_characters(s), s
    assert not text.folds_otherwise(texts()[0])
    assert text.folds_otherwise("計畫") and text.folds_otherwise("薴麻")


def test_fold_is_idempotent_and_keeps_length():
    samples = [*PHRASE_KEYS, *texts(), "李昇勳", "李昇勋", "薴", "苧"]
    for s in samples:
        folded = fold(s)
        assert fold(folded) == folded, s
    for key in PHRASE_KEYS:
        assert len(fold(key)) == len(key)


def test_characters_fold_to_a_fixed_point():
    """OpenCC makes 薴 苧 and 苧 苎: a term of one finds a text of the other."""
    assert fold("薴") == fold("苧") == fold("苎") == "苎"
    table = text._fold_table()
    for c, b in table.items():
        assert len(b) != 1 or table.get(ord(b), b) == b, chr(c)
    assert m(Rule(any=("薴麻",)), "苧麻价格上涨")


def m(rule: Rule, title: str, body: str = ""):
    return Matcher(rule).match(title=title, text=body)


def test_watches_match_in_context():
    assert not m(Rule(any=("干隆",)), "乾隆皇帝的故事")
    assert m(Rule(any=("乾隆",)), "乾隆皇帝的故事")
    assert not m(Rule(any=("乾隆",)), "干隆皇帝的故事")
    assert not m(Rule(any=("乾",)), "乾隆皇帝的故事")  # a term alone: 乾 is 干
    assert m(Rule(any=("计划",)), "行政院公布新計畫")
    assert m(Rule(any=("計畫",)), "国务院公布新计划")
    assert m(Rule(all=("了解", "回复")), "我們瞭解", "已回覆")
    lines = explain(Rule(any=("计划",)), title="行政院公布新計畫", text="")
    assert any("found in title: “行政院公布新計畫”" in line for line in lines), lines
    assert not any(
        "found in" in line for line in explain(Rule(any=("干隆",)), title="乾隆", text="")
    )


def test_regexes_fold_as_the_text():
    for word in [*TAIWAN, "乾隆"]:
        sentence = f"行政院的{word}今天公布"
        assert re.search(simplified_chars(word), fold(sentence)), word
    assert simplified_chars("乾隆|計畫") == "乾隆|计划"
    assert simplified_chars("乾.隆（计划）") == "干.隆（计划）"  # nothing else changed
    assert m(Rule(regex="計畫"), "行政院公布新計畫")
    assert not m(Rule(regex="干隆"), "乾隆皇帝的故事")


def test_story_identity_folds_character_by_character():
    """Title keys and sketches stay as stored stories have them: a copy still meets them."""
    assert normalize_title("乾隆皇帝的故事") == "干隆皇帝的故事"
    assert normalize_title("計畫") == "计画"
    assert normalize_title("薴麻") == "苧麻"
    sentences = "。".join(f"行政院第{n}次公布新的計畫與乾隆時代的文物展覽安排" for n in range(6))
    assert text.fold_characters(sentences) != fold(sentences)
    from monitor.similarity import sketch, story_sketch

    assert story_sketch(sentences) == tuple(sketch(fold_characters(sentences), folded=True))


def item(title, url, body=""):
    rules = SiteRules.load_default()
    return assign_keys(Item(title=title, format="test", url=url, text=body), rules)


@pytest.mark.parametrize("indexed", [False, True])
def test_search_agrees_with_the_watches(tmp_path, indexed):
    from datetime import UTC, datetime

    db = store.open_db(tmp_path / "m.db")
    save_items(
        db,
        [
            (item("乾隆皇帝的故事", "https://a.example/1"), Sighting("s", "1")),
            (item("行政院公布新計畫", "https://a.example/2", "我們瞭解"), Sighting("s", "2")),
        ],
        now=datetime(2026, 11, 23, tzinfo=UTC),
    )
    if indexed:
        store.index_pending(db)

    def titles(query):
        return [r["title"] for r in store.search(db, query)]

    assert titles("干隆") == []
    assert titles("乾隆") == ["乾隆皇帝的故事"]
    assert titles("计划") == titles("計畫") == ["行政院公布新計畫"]
    assert titles("了解") == ["行政院公布新計畫"]
    assert titles("乾") == []  # the lone-character scan confirms as the watches do
    # A lone character makes it a scan of the stories' text: it finds Taiwan's spelling too.
    assert titles("计划 新") == titles("新 計畫") == ["行政院公布新計畫"]
    assert titles("干隆 皇") == []
    assert titles("乾隆 皇") == ["乾隆皇帝的故事"]
