"""Story grouping: copies of one article (SimHash) and reports of one event."""

from __future__ import annotations

import hashlib
import random
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

import monitor.similarity as sim_module
from monitor.models import Item
from monitor.parsers import parse
from monitor.similarity import (
    DEFAULT_COPY_SIMILARITY,
    DEFAULT_THRESHOLD,
    FEATURES_VERSION,
    MIN_SENTENCES,
    SENTENCE_CHARS,
    SKETCH_SIZE,
    decode_features,
    features,
    group_events,
    is_copy,
    lexical,
    pair_code,
    pair_text,
    sentence_hashes,
    similarity,
    sketch,
    sketch_similarity,
    text_features,
)
from monitor.text import fold, to_traditional

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@cache
def seed(n: int) -> Item:
    (path,) = SEEDS.glob(f"{n:03d}_*.txt")
    (item,) = parse(path.read_bytes())
    return item


def published(item: Item) -> datetime:
    t = datetime.fromisoformat(item.published.replace("Z", "+00:00"))  # "2021-12-30" or full
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@cache
def seed_features(n: int, with_time: bool = True):
    it = seed(n)
    return features(it.title, it.text, published(it) if with_time else None)


# --- level 1: copies ----------------------------------------------------------------------------

GOLDEN_FIRST_HASH = -8521790122602969031  # sketch(seed 002)[0]; changes only with the algorithm

AD = "欢迎订阅本台新闻电子报，每天获取最新消息。"
EDITOR = "（责任编辑：李明）"


def widen(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def variants(text: str) -> dict[str, str]:
    paras = text.split("\n")
    edited = "\n".join([paras[0], AD, *paras[1:], EDITOR])
    return {
        "whitespace": "  \n\n ".join(paras).replace("，", " ， "),
        "markup": "".join(f'<p class="x">{p}&nbsp;</p>\n' for p in paras)
        + "[原文链接](https://example.com/a/b?c=1)",
        "width": widen(text),
        "script": to_traditional(text),
        "ad and editor line": edited,
        "edited characters": edited.replace("美国", "美囯", 1).replace("总统", "總統", 2),
        "all at once": to_traditional(widen(edited)).replace("\n", "<br/>\n"),
    }


@pytest.mark.parametrize("n", range(5))
def test_copies_of_an_article_are_copies(n):
    text = seed(n).text
    original = sketch(text)
    for name, copy in variants(text).items():
        assert is_copy(original, sketch(copy)), (name, sketch_similarity(original, sketch(copy)))


def test_whitespace_markup_width_and_script_do_not_change_the_sketch():
    text = seed(0).text
    for name in ("whitespace", "markup", "width", "script"):
        assert sketch(variants(text)[name]) == sketch(text), name


def test_different_articles_on_one_topic_are_not_copies():
    sketches = [sketch(seed(n).text) for n in range(5)]
    for i in range(5):
        for j in range(i + 1, 5):
            assert not is_copy(sketches[i], sketches[j]), (i, j)
            # A wide margin: the two reports of one Biden-Putin call share no sentence.
            assert sketch_similarity(sketches[i], sketches[j]) < DEFAULT_COPY_SIMILARITY / 2


def test_a_partial_copy_is_measured_not_guessed():
    paras = seed(3).text.split("\n")
    half = "\n".join(paras[: len(paras) // 2])
    other = "\n".join(paras[len(paras) // 2 :])
    assert 0 < sketch_similarity(sketch(seed(3).text), sketch(half)) < 1
    assert sketch_similarity(sketch(half), sketch(other)) == 0


def test_short_texts_have_no_sketch():
    assert sketch("") is None
    assert sketch("拜登与普京通话。" * 10) is None  # one sentence, repeated
    assert sketch("<p>" + "，。 " * 100 + "</p>") is None  # only markup and punctuation
    assert sketch("完。好。是的。对。") is None  # sentences too short to count
    many = "".join(f"第{i}句话说的是拜登与普京通话的事情。" for i in range(MIN_SENTENCES))
    assert sketch(many) is not None
    assert not is_copy(None, None) and not is_copy(sketch(seed(0).text), None)


def test_sketches_are_stable_sorted_signed_64_bit_ints():
    s2 = sketch(seed(2).text)
    assert s2 == sketch(seed(2).text) == sorted(s2)
    assert len(s2) == SKETCH_SIZE
    assert all(-(2**63) <= h < 2**63 for h in s2)
    # A stored sketch must keep comparing equal across versions and processes.
    assert s2[0] == GOLDEN_FIRST_HASH


def _reference_sentence_hashes(folded: str) -> set[int]:
    """sentence_hashes by its definition: split at the ends, keep each sentence's letters."""
    out = set()
    for sentence in re.split(r"[。！？!?；;]|\.(?=\s|$)", folded):
        core = "".join(c for c in sentence if c.isalnum())  # what [^\W_] matches
        if len(core) >= SENTENCE_CHARS:
            digest = hashlib.blake2b(core.encode(), digest_size=8).digest()
            out.add(int.from_bytes(digest, "big", signed=True))
    return out


def test_sentence_hashes_match_their_definition_on_random_text():
    rng = random.Random(6)
    # Letters of several scripts, digits, the sentence ends (a Latin full stop counts only
    # before whitespace or at the end), other punctuation, underscores, spaces, line
    # breaks and a private-use character.
    alphabet = "拜登普京通话乌克兰北约abcXYZ0123٣éß。！？!?；;.….,，、：_ \n\t\ue001-"
    # Text without a Latin full stop takes another way: the same alphabet, with the
    # punctuation that way removes before the split (and some it leaves to the regex).
    no_stop = alphabet.replace(".", "") + ",,()、:\u201c\u201d。。《》\u3000"
    for k in range(6000):
        chars = no_stop if k % 2 else alphabet
        text = "".join(rng.choice(chars) for _ in range(rng.randrange(0, 120)))
        assert sentence_hashes(text, folded=True) == _reference_sentence_hashes(text), text
    assert _reference_sentence_hashes(fold(seed(2).text)) == sentence_hashes(fold(seed(2).text))


def test_sentence_hashes_ignore_line_breaks_inside_sentences():
    one = "美国总统拜登周五表示，他已经警告俄罗斯总统普京。"
    wrapped = "美国总统拜登周五表示，\n他已经警告\n俄罗斯总统普京。"
    assert sentence_hashes(one) == sentence_hashes(wrapped) != set()


# --- level 2: events ---------------------------------------------------------------------------

SEED_KEYS = ["000", "001", "002", "003", "004"]
EXPECTED_SEED_GROUPS = [["000", "002"], ["001", "003"], ["004"]]


def seed_stories(with_time: bool = True):
    return [(k, seed_features(int(k), with_time)) for k in SEED_KEYS]


def test_seed_events_group_as_expected():
    # 000/002: the second Biden-Putin call (30 Dec 2021); 001/003: the 7 Dec video summit;
    # 004: the Biden-Zelensky call of 27 Jan 2022.
    assert group_events(seed_stories()) == EXPECTED_SEED_GROUPS


def test_seed_events_group_by_similarity_alone_without_the_window():
    assert group_events(seed_stories(), window=None) == EXPECTED_SEED_GROUPS
    assert group_events(seed_stories(), window=timedelta(days=3650)) == EXPECTED_SEED_GROUPS


def test_seed_similarity_separates_events_with_a_margin():
    f = {n: seed_features(n) for n in range(5)}
    same = [similarity(f[0], f[2]), similarity(f[1], f[3])]
    other = [similarity(f[i], f[j]) for i in range(5) for j in range(i + 1, 5)]
    other = [s for s in other if s not in same]
    assert min(same) >= DEFAULT_THRESHOLD + 0.1
    assert max(other) <= DEFAULT_THRESHOLD - 0.15


def test_mentioned_dates_separate_events_even_without_publication_times():
    # 001 mentions no date in its lead, so without its time it is judged on words only and
    # stays alone; the others' mentioned dates (12月30日, 12月7日, 1月27日) still separate.
    groups = group_events(seed_stories(with_time=False), window=None)
    assert ["000", "002"] in groups and ["004"] in groups
    assert not any({"000", "004"} <= set(g) or {"003", "000"} <= set(g) for g in groups)


def test_stories_of_one_day_that_mention_different_dates_stay_apart():
    # As if the Zelensky call (1月27日) had been reported the morning of the Putin call
    # story (12月30日, 12月31日): the publication day is shared, the mentioned dates are not.
    it = seed(4)
    zelensky = features(it.title, it.text, published(seed(0)))
    assert similarity(seed_features(0), zelensky) < DEFAULT_THRESHOLD / 2
    assert group_events([("000", seed_features(0)), ("004", zelensky)]) == [["000"], ["004"]]


def test_words_alone_cannot_tell_follow_up_events_apart():
    """Why dates are part of the score: the second call (004) shares as many words with
    the first (000) as the two reports of one summit (001, 003) share with each other."""
    f = {n: seed_features(n) for n in range(5)}
    assert lexical(f[0], f[4]) > 0.8 * lexical(f[1], f[3])
    assert similarity(f[0], f[4]) < 0.5 * similarity(f[1], f[3])


def test_group_order_follows_the_input():
    stories = seed_stories()
    order = [4, 2, 1, 0, 3]
    assert group_events([stories[i] for i in order]) == [["004"], ["002", "000"], ["001", "003"]]


KISHIDA_A = (
    "日澳首脑视频会谈 签署《互惠准入协定》",
    "日本首相岸田文雄（Fumio Kishida）与澳大利亚总理莫里森（Scott Morrison）1月6日举行视频"
    "会谈，双方签署《互惠准入协定》，为两国军队在对方境内开展联合训练提供法律框架。",
)
KISHIDA_B = (
    "岸田与莫里森签署互惠准入协定 日澳防务合作升级",
    "澳大利亚总理斯科特·莫里森周四（1月6日）与日本首相岸田文雄通过视频签署了《互惠准入协定》"
    "（Reciprocal Access Agreement），允许两国军队赴对方境内训练。莫里森说，这是日澳关系的里程碑。",
)
HONG_KONG = (
    "香港立法会新一届议员宣誓就职",
    "香港立法会周四（1月6日）举行宣誓仪式，新一届议员在政府官员监誓下宣誓就职。记者报道，"
    "仪式在立法会综合大楼举行，行政长官林郑月娥出席并致辞。",
)
TAIWAN_STOCKS = (
    "台湾股市周四收盘上涨 电子股领涨",
    "台湾股市周四（1月6日）收盘上涨，加权指数涨1.2%，电子股领涨。记者报道，外资连续第三天买超，"
    "市场关注美国联储局会议纪要。",
)
DAY = datetime(2022, 1, 6, 9, tzinfo=UTC)


def test_two_outlets_reporting_one_event_in_different_words_group():
    a = features(*KISHIDA_A, DAY)
    b = features(*KISHIDA_B, DAY + timedelta(hours=5))
    assert similarity(a, b) >= DEFAULT_THRESHOLD
    assert group_events([("a", a), ("b", b)]) == [["a", "b"]]
    # Traditional and full-width editions of one report fold together.
    tb = features(to_traditional(KISHIDA_B[0]), widen(to_traditional(KISHIDA_B[1])), DAY)
    assert group_events([("a", a), ("tb", tb)]) == [["a", "tb"]]


def test_same_day_stories_sharing_only_generic_words_do_not_group():
    stories = [
        ("hk", features(*HONG_KONG, DAY)),
        ("tw", features(*TAIWAN_STOCKS, DAY)),
        ("a", features(*KISHIDA_A, DAY)),
    ]
    # They share the day, 周四, 记者报道 and (1月6日): not enough.
    assert similarity(stories[0][1], stories[1][1]) < DEFAULT_THRESHOLD / 3
    assert group_events(stories) == [["hk"], ["tw"], ["a"]]


def test_the_window_keeps_republished_stories_apart_unless_disabled():
    first = features(*KISHIDA_A, DAY)
    later = features(*KISHIDA_B, DAY + timedelta(days=5))  # mentions 1月6日: same event
    assert group_events([("a", first), ("b", later)]) == [["a"], ["b"]]
    assert group_events([("a", first), ("b", later)], window=None) == [["a", "b"]]
    assert group_events([("a", first), ("b", later)], window=timedelta(days=6)) == [["a", "b"]]


def test_a_story_without_time_is_compared_by_similarity_alone():
    timeless = features(*KISHIDA_B, None)
    assert group_events([("a", features(*KISHIDA_A, DAY)), ("b", timeless)]) == [["a", "b"]]
    assert group_events([("hk", features(*HONG_KONG, DAY)), ("b", timeless)]) == [["hk"], ["b"]]


def test_naive_times_are_utc():
    naive = features(*KISHIDA_A, datetime(2022, 1, 6, 9))
    assert naive.published == DAY and naive.days == features(*KISHIDA_A, DAY).days


def test_prefolded_input_gives_the_same_features():
    it = seed(3)
    f1 = features(it.title, it.text, None)
    f2 = features(fold(it.title), fold(it.text), None, folded=True)
    assert f1.layers == f2.layers and f1.days == f2.days


def test_entities_dates_and_numbers_are_extracted():
    f = seed_features(0)
    assert {"@vladimir", "@putin", "@reuters", "#50分"} <= f.tokens
    assert (12, 30) in f.days and (12, 31) in f.days
    assert "#12月" not in f.tokens and "#30日" not in f.tokens  # dates are days, not numbers


def chars(start: int, n: int) -> str:
    """n distinct CJK characters, disjoint between different starts."""
    return "".join(chr(0x4E00 + 500 + start + i) for i in range(n))


def test_average_link_does_not_chain_different_stories_through_a_middle_one():
    # B shares half its words with A and half with C; A and C share nothing.
    p, q = chars(0, 12), chars(100, 12)
    a = features(p, p + chars(200, 6), DAY)
    b = features(p + q, p + q, DAY)
    c = features(q, q + chars(300, 6), DAY)
    assert similarity(a, b) >= DEFAULT_THRESHOLD and similarity(b, c) >= DEFAULT_THRESHOLD
    assert similarity(a, c) == 0
    groups = group_events([("a", a), ("b", b), ("c", c)])
    assert not any({"a", "c"} <= set(g) for g in groups)
    assert len(groups) == 2


def test_grouping_compares_candidates_not_all_pairs(monkeypatch):
    rng = random.Random(7)
    n = 1500
    stories = []
    for k in range(n):
        title = "".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(16))
        lead = "".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(150))
        stories.append((k, features(title, lead, DAY + timedelta(minutes=k))))
    twin = (n, features(title, lead, DAY))  # the last story again
    calls = 0
    real = sim_module.similarity

    def counting(a, b):
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(sim_module, "similarity", counting)
    groups = group_events([*stories, twin])
    assert calls < 10 * n  # all pairs would be ~1,100,000
    assert [n - 1, n] in groups and len(groups) == n


CANDIDATES_IN_A_PROCESS = """
import json, sys
from datetime import datetime, timezone
from monitor.similarity import EventFeatures, _candidates

def story(tokens):
    tokens = frozenset(tokens)
    return EventFeatures((frozenset(), frozenset(), tokens, frozenset()), 2.0 * len(tokens),
                         frozenset(), frozenset(), datetime(2026, 1, 1, tzinfo=timezone.utc))

shared = [f"s{k:02d}" for k in range(40)]
a = story(shared)  # 40 title tokens, each in one other title too: all equally rare
b = story([*shared[:3], *(f"b{k:02d}" for k in range(32))])  # its own 32 rarer ones first
f = story(shared[3:])
print(json.dumps(sorted(_candidates([a, b, f]))))
"""


def test_candidate_search_is_the_same_in_every_process():
    """Equally rare tokens are probed in one order, not in the set order of the process's
    string hashes: otherwise a digest could group differently from run to run."""
    import os
    import subprocess
    import sys

    results = set()
    for seed in range(8):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        out = subprocess.run(
            [sys.executable, "-c", CANDIDATES_IN_A_PROCESS],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results.add(out)
    assert len(results) == 1


def candidates_by_definition(feats) -> set[tuple[int, int]]:
    """Pairs (i, j), i < j, where j's title holds MIN_SHARED of i's PROBE_TOKENS rarest
    tokens, or the other way round, written out plainly."""
    from collections import Counter

    titles = Counter(tok for f in feats for tok in f.layers[1])
    rarity = {t: (n, t.__class__ is int, t) for t, n in titles.items() if n <= sim_module.MAX_DF}
    pairs = set()
    for i, f in enumerate(feats):
        probe = sorted((t for t in f.tokens if t in rarity), key=rarity.__getitem__)
        probe = probe[: sim_module.PROBE_TOKENS]
        for j, g in enumerate(feats):
            if j != i and len(set(probe) & g.layers[1]) >= sim_module.MIN_SHARED:
                pairs.add((min(i, j), max(i, j)))
    return pairs


@pytest.mark.parametrize("letters", [20, 30, 60])
@pytest.mark.parametrize("seed", range(3))
def test_candidates_are_the_pairs_of_their_definition(seed: int, letters: int):
    rng = random.Random(seed)
    # A small alphabet, so that titles share tokens often and some exceed MAX_DF.
    alphabet = [chr(0x4E00 + k) for k in range(letters)] + ["NATO ", "50万"]
    feats = []
    for _ in range(rng.randint(20, 160)):
        title = "".join(rng.choices(alphabet, k=rng.randint(2, 14)))
        lead = "".join(rng.choices(alphabet, k=rng.randint(0, 80)))
        feats.append(features(title, lead, None))
    found = sim_module._candidates(feats)
    assert found == candidates_by_definition(feats)
    assert found  # the case is not vacuous


def bigrams_one_by_one(s: str) -> set[str]:
    """Every adjacent pair inside each pairable run, common words left out."""
    runs = sim_module._PAIRABLE_RUN.findall(s)
    pairs = {run[k : k + 2] for run in runs for k in range(len(run) - 1)}
    return pairs - set(sim_module._COMMON_WORDS.split())


@pytest.mark.parametrize("seed", range(30))
def test_bigram_codes_are_the_adjacent_pairs_of_each_run(seed: int):
    rng = random.Random(seed)
    pieces = ["普京", "与", "拜登", "通话", "的", "烏克蘭", "記者", "NATO", "50", "，", "。", " ",
              "美国", "总统", "乌", "\u4e00", "\u9fff", "\u3400", "\uf900", "𠀀"]  # fmt: skip
    for _ in range(50):
        s = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        codes = sim_module._bigrams(s)
        assert {pair_text(c) for c in codes} == bigrams_one_by_one(s), s
        assert codes == {pair_code(p) for p in bigrams_one_by_one(s)}


def test_bigram_codes_sort_as_their_text():
    pairs = ["一丁", "一七", "丁一", "普京", "拜登", "乌克", "\u3400\u9fff", "\uf900\u4e00"]
    assert sorted(pairs) == [pair_text(c) for c in sorted(map(pair_code, pairs))]


# --- event features as a store keeps them ---------------------------------------------------


def same_features(a, b) -> bool:
    return (a.layers, a.total, a.mentioned, a.days, a.published) == (
        b.layers,
        b.total,
        b.mentioned,
        b.days,
        b.published,
    )


@pytest.mark.parametrize("n", range(5))
@pytest.mark.parametrize("with_time", [True, False])
def test_stored_features_decode_to_the_features_of_the_text(n: int, with_time: bool):
    it = seed(n)
    when = published(it) if with_time else None
    stored = text_features(it.title, it.text)
    assert same_features(decode_features(stored, when), features(it.title, it.text, when))
    folded = text_features(fold(it.title), fold(it.text), folded=True)
    assert folded == stored


@pytest.mark.parametrize("seed", range(20))
def test_stored_features_round_trip_on_random_text(seed: int):
    rng = random.Random(seed)
    pieces = ["普京", "与", "拜登", "12月30日", "1月7号", "13月40日", "NATO", "Putin",
              "the", "50分", "10万", "2021年", "3.5%", "，", "。", " ", "烏克蘭", "𠀀",
              "\u3400"]  # fmt: skip
    when = datetime(2022, 1, 1, 23, tzinfo=UTC)
    for _ in range(30):
        title = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 200)))
        stored = text_features(title, text)
        for t in (when, None):
            assert same_features(decode_features(stored, t), features(title, text, t)), title
        # The parts are disjoint, so they give the layers' sizes and weight without sets.
        f = features(title, text, when)
        assert sum(map(len, f.parts)) == len(f.tokens) == len(set(f.all_tokens()))
        assert sorted(map(str, f.title_tokens())) == sorted(map(str, f.layers[1]))
        steps = sim_module._STEPS
        assert f.total == sum(s * len(layer) for s, layer in zip(steps, f.layers, strict=True))


# The kept features of the five seeds under FEATURES_VERSION. When this changes, so does what
# stores keep: bump FEATURES_VERSION (stores then compute their kept rows anew) and update.
GOLDEN_FEATURES = (1, "b3fee3eb8f99e3d95c74")


def test_features_change_only_with_their_version():
    h = hashlib.blake2b(digest_size=10)
    for n in range(5):
        it = seed(n)
        for field in text_features(it.title, it.text):
            h.update(field if isinstance(field, bytes) else field.encode())
            h.update(b"\0")
    assert (FEATURES_VERSION, h.hexdigest()) == GOLDEN_FEATURES, (
        "event features changed: bump similarity.FEATURES_VERSION and update GOLDEN_FEATURES"
    )
