"""Story grouping: the same article in several places, and the same event in several articles.

Level 1 (copies). A mirror page, a Hexo archive of a bridge item or a reposted text often
carries no link back to its original, so URL keys cannot join them. :func:`sketch` keeps
the smallest hashes of the story's sentences (folded, letters only): copies share nearly
all sentences, different articles on one topic share next to none, even when they quote
the same names. A store indexes the sketch hashes and confirms candidates with
:func:`sketch_similarity` (a bottom-k MinHash estimate of the Jaccard similarity). About
thirty hashes per story, where a character-shingle SimHash needs one per character.

Level 2 (events). Two outlets' reports of one event share names, places, numbers and the
event's date, though hardly a sentence. :func:`features` reads the title and lead only
(the body drifts into background), :func:`similarity` scores two stories, and
:func:`group_events` clusters a batch.

Why dates are part of the score: follow-up stories on one topic (three Biden-Putin
contacts in December 2021) share nearly all their vocabulary; bigram overlap between
two different calls is as high as between two reports of one call. What differs is
*when*: the dates the stories mention (``12月30日``) and when they were published. A
shared day multiplies the lexical score by :data:`DATE_MATCH`, disjoint days by
:data:`DATE_MISMATCH`; a story with neither a date mention nor a publication time is
scored on words alone. The price: two different events on one topic, reported the same
day without dates in their leads, may group — words cannot tell them apart either.
"""

from __future__ import annotations

import hashlib
import re
import struct
import sys
from array import array
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import chain, compress, islice
from operator import eq
from typing import NamedTuple

from .text import CJK_CHARS, fold, fold_characters

# --- level 1: copies of one article --------------------------------------------------------

SENTENCE_CHARS = 8  # letters a sentence needs to count: shorter ones are boilerplate ("完")
SKETCH_SIZE = 8  # the k smallest sentence hashes kept per story (bottom-k MinHash)
MIN_SENTENCES = 3  # fewer sentences than this (a feed's one-line summary) is no identity
# Copies with an added editor line, an ad sentence, a rewrapped or re-marked-up body or
# a few changed characters estimate 0.7-1.0 on the seeds; different articles on one topic
# share no sentence (0.0). Half the sentences in common is a copy.
DEFAULT_COPY_SIMILARITY = 0.5

_MARKUP = re.compile(
    r"<[^>]{0,300}>"  # HTML tags
    r"|&(?:#\d+|#x[0-9a-f]+|[a-z]+);"  # HTML entities
    r"|\]\([^)\s]{0,500}\)"  # markdown link/image targets: ](url)
    r"|https?://\S+",  # bare URLs
    re.I,
)
# Sentence ends: Chinese and Latin full stops, question and exclamation marks, semicolons.
# Line breaks are not ends: mirrors rewrap lines in the middle of sentences.
# One pass finds both the runs of letters and the sentence ends, which stay as they are:
# what it keeps holds no other non-letter, so its ends can split it after.
_LETTERS_OR_END = re.compile(r"[^\W_]+|[。！？!?；;]|\.(?=\s|$)")
_END = re.compile(r"[。！？!?；;.]")
_LETTERS = re.compile(r"[^\W_]+")
# Text without a Latin full stop (most Chinese text) is split at its ends directly, after
# the non-letters it mostly holds are removed with str.replace: a C scan each, where a
# regex tests every character for being a letter. Only a sentence that still holds some
# other non-letter goes through the regex.
_COMMON_NON_LETTERS = (",", "\n", " ", "(", ")", "、", ":", "\u201c", "\u201d")
_ENDS_BUT_FULL_STOPS = "！？!?；;"
_END_NO_DOT = re.compile("[。！？!?；;]")


# Each sentence hash: a copy of one empty 8-byte blake2b state fed the sentence (cheaper
# than a new state per sentence), read as a signed big-endian int, which SQLite stores as is.
_EMPTY_HASH = hashlib.blake2b(digest_size=8)
_SIGNED_64 = struct.Struct(">q").unpack


def sentence_hashes(text: str, *, folded: bool = False) -> set[int]:
    """Stable 64-bit hashes of the text's sentences, folded and stripped to letters.

    Folding (width, case, script) and dropping whitespace, punctuation and markup make a
    sentence hash the same in every copy; blake2b keeps it the same in every process.
    """
    if not folded:  # character by character, as the sketches stored before were made
        text = fold_characters(_MARKUP.sub(" ", text))
    out = set()
    for core in _sentences(text):
        if len(core) < SENTENCE_CHARS:
            continue  # letters only make it shorter
        if not core.isalnum():
            core = "".join(_LETTERS.findall(core))
            if len(core) < SENTENCE_CHARS:
                continue
        h = _EMPTY_HASH.copy()
        h.update(core.encode())
        out.add(_SIGNED_64(h.digest())[0])
    return out


def _sentences(folded: str) -> list[str]:
    """The folded text cut at its sentence ends; a piece may still hold non-letters."""
    if "." in folded:
        # A full stop ends a sentence only before whitespace: keep the runs of letters and
        # the ends in one pass (a run matches in one step), then split at the ends.
        return _END.split("".join(_LETTERS_OR_END.findall(folded)))
    for ch in _COMMON_NON_LETTERS:
        if ch in folded:
            folded = folded.replace(ch, "")
    if any(end in folded for end in _ENDS_BUT_FULL_STOPS):
        return _END_NO_DOT.split(folded)
    return folded.split("。")


def sketch(text: str, *, folded: bool = False) -> list[int] | None:
    """The story's content sketch: its :data:`SKETCH_SIZE` smallest sentence hashes, sorted;
    None when it has fewer than :data:`MIN_SENTENCES` sentences (too little to identify it).
    """
    hashes = sentence_hashes(text, folded=folded)
    if len(hashes) < MIN_SENTENCES:
        return None
    return sorted(hashes)[:SKETCH_SIZE]


def story_sketch(text: str) -> tuple[int, ...]:
    """The sketch the store keeps for a story's plain text (folded, no markup pass);
    ``()`` when the text is too short to identify the story. Folded character by character
    (:func:`~monitor.text.fold_characters`, no phrases): the store compares it with the
    sketches of stories stored before, which must keep meaning the same."""
    return tuple(sketch(fold_characters(text), folded=True) or ())


def sketch_similarity(a: Sequence[int] | None, b: Sequence[int] | None) -> float:
    """Estimated Jaccard similarity of two stories' sentence sets, from their sketches.

    Bottom-k estimator: of the k smallest hashes of the union, the share in both.
    """
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    union = sorted(sa | sb)[: min(SKETCH_SIZE, len(sa | sb))]
    return sum(1 for h in union if h in sa and h in sb) / len(union)


def is_copy(
    a: Sequence[int] | None,
    b: Sequence[int] | None,
    threshold: float = DEFAULT_COPY_SIMILARITY,
) -> bool:
    """Whether two sketches name the same article. None (too short) is never a copy."""
    return bool(a) and bool(b) and sketch_similarity(a, b) >= threshold


# --- level 2: reports of one event ----------------------------------------------------------

LEAD_CHARS = 300  # how much of the text counts as the lead
DEFAULT_THRESHOLD = 0.3  # similarity at or above which two stories report one event
DEFAULT_WINDOW = timedelta(hours=72)
DATE_MATCH = 2.0  # both stories name, or were published on, a common day
DATE_MISMATCH = 0.4  # both have days and share none: most likely another event on the topic
TITLE_WEIGHT = 2.0  # a title is the story's own summary of its event
ENTITY_WEIGHT = 3.0  # Latin names (Putin, NATO) and numbers with a unit (50分, 10万) are specific

# Bigrams that say nothing about which event a story reports are dropped: those with a
# function character, and news boilerplate.
_STOP_CHARS = (
    "的了在是和与及其将对为这也已于而并等被从到把向以之所但有个们着就都要还又或上下不他她它称说"
)
_COMMON_WORDS = (
    "记者 报道 报导 编译 综合 新闻 消息 据悉 表示 指出 认为 强调 声明 今天 昨天 目前 已经 进行 "
    "问题 可能 双方 本月 今年 去年 明年 周一 周二 周三 周四 周五 周六 周日 当地 时间 总统 美国 "
    "中国 政府 国家 官员 领导 导人"
)


def pair_code(pair: str) -> int:
    """A bigram as the int that stands for it in :class:`EventFeatures`: the code points
    of its two characters, the first one in the high 32 bits, so that codes sort as the
    bigrams do."""
    return ord(pair[0]) << 32 | ord(pair[1])


def pair_text(code: int) -> str:
    """The bigram :func:`pair_code` made ``code`` from."""
    return chr(code >> 32) + chr(code & 0xFFFFFFFF)


_COMMON = frozenset(map(pair_code, _COMMON_WORDS.split()))
_LITTLE_ENDIAN = sys.byteorder == "little"
_LATIN_STOP = frozenset(["the", "of", "and", "in", "on", "to", "for", "via", "by", "at", "an"])


def _letters_without(ranges: str, drop: str) -> str:
    """A character-class body for the letters of the ``lo-hi`` ranges in ``ranges`` minus
    ``drop`` (code points not yet assigned in the ranges are no letters)."""
    codes = [c for lo, hi in re.findall(r"(.)-(.)", ranges) for c in range(ord(lo), ord(hi) + 1)]
    kept = sorted({c for c in codes if chr(c).isalpha()} - set(map(ord, drop)))
    spans, start = [], kept[0]
    for prev, cur in zip(kept, kept[1:] + [-1], strict=True):
        if cur != prev + 1:
            spans.append(f"{chr(start)}-{chr(prev)}" if prev > start else chr(start))
            start = cur
    return "".join(spans)


# Runs of two or more Chinese characters that are not stop characters: their overlapping
# pairs are the bigrams. One class with the stop characters cut out scans in one pass; it
# holds letters only, which _bigrams relies on to drop the pairs that straddle two runs.
_PAIRABLE_RUN = re.compile(f"[{_letters_without(CJK_CHARS, _STOP_CHARS)}]{{2,}}")
_LATIN = re.compile(f"[^\\W\\d_{CJK_CHARS}]{{2,}}")
_DATE = re.compile(r"(\d{1,2})月(\d{1,2})[日号]")
_NUMBER = re.compile(f"(\\d+(?:[.,]\\d+)*)([{CJK_CHARS}%]?)")


# Candidate search (see _candidates): a story probes with its 32 rarest tokens; a token
# in more than 100 titles is a topic, not an event; 3 shared tokens make a candidate.
PROBE_TOKENS = 32
MAX_DF = 100
MIN_SHARED = 3

# Token weights take these values only; see EventFeatures.layers.
_LEVELS = (1.0, TITLE_WEIGHT, ENTITY_WEIGHT, ENTITY_WEIGHT * TITLE_WEIGHT)
_STEPS = tuple(hi - lo for lo, hi in zip((0.0, *_LEVELS), _LEVELS, strict=False))


@dataclass(frozen=True, eq=False)
class EventFeatures:
    """What :func:`similarity` compares. Plain data: a store may keep it per story.

    ``parts`` are four disjoint collections of tokens: title entities, lead-only entities,
    title bigrams and lead-only bigrams (bigrams as :func:`pair_code` ints, entities as
    ``"@latin"`` and ``"#number+unit"``). ``layers[k]`` holds the tokens whose weight is at
    least ``_LEVELS[k]`` (lead bigram 1, title bigram 2, lead entity 3, title entity 6), so
    the weighted overlap of two stories is a few C-speed set intersections:
    Σ_k step_k · |a.layers[k] ∩ b.layers[k]|. The layers are built on first use: a digest
    compares only its candidate pairs, and finds them from the parts.
    """

    parts: tuple[Collection[int | str], ...]
    total: float  # sum of the token weights
    mentioned: frozenset[tuple[int, int]]  # (month, day) dates in the title and lead
    days: frozenset[tuple[int, int]]  # mentioned and publication days
    published: datetime | None  # aware, UTC

    @cached_property
    def layers(self) -> tuple[frozenset[int | str], ...]:
        # Each layer is the next one plus the tokens of its own weight.
        top, entities, title, lead = self.parts
        top = frozenset(top)
        entities = top.union(entities)
        title = entities.union(title)
        return (title.union(lead), title, entities, top)

    @property
    def tokens(self) -> frozenset[int | str]:
        return self.layers[0]

    def title_tokens(self) -> Iterator[int | str]:
        """The tokens of ``layers[1]`` (title bigrams and all entities), each once."""
        return chain(*self.parts[:3])

    def all_tokens(self) -> Iterator[int | str]:
        """The tokens of ``layers[0]``, each once."""
        return chain(*self.parts)


def _bigrams(s: str) -> set[int]:
    """The :func:`pair_code` of every pair of adjacent characters in the pairable runs.

    Ints rather than two-character strings, made in C: the runs joined by NUL and encoded
    big-endian, four bytes a character, then read as 64-bit words from the start and from
    one character in, so that every adjacent pair is one word. Pairs with a NUL in them
    (they straddle two runs, or pad the end) are dropped after.
    """
    runs = _PAIRABLE_RUN.findall(s)
    if not runs:
        return set()
    chars = "\0".join(runs)
    data = chars.encode("utf-32-be")
    from_first = array("Q", data + b"\0\0\0\0" if len(chars) % 2 else data)
    from_second = array("Q", data[4 : 4 + 8 * ((len(chars) - 1) // 2)])
    if _LITTLE_ENDIAN:
        from_first.byteswap()
        from_second.byteswap()
    out = set(from_first)
    out.update(from_second)
    out.difference_update([ord(run[-1]) << 32 for run in runs], [ord(run[0]) for run in runs])
    out -= _COMMON
    return out


def _entities(s: str) -> set[str]:
    out = {"@" + w for w in _LATIN.findall(s) if w not in _LATIN_STOP}
    for num, unit in _NUMBER.findall(_DATE.sub(" ", s)):
        if not (unit == "年" and len(num) == 4):  # a year says little about the event
            out.add(f"#{num}{unit}")
    return out


def _dates(s: str) -> list[tuple[int, int]]:
    return [(int(m), int(d)) for m, d in _DATE.findall(s)]


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def features(
    title: str, text: str, published: datetime | None, *, folded: bool = False
) -> EventFeatures:
    """Features of a story from its title and lead (first :data:`LEAD_CHARS` of ``text``).

    Tokens: character bigrams of the Chinese runs (title ones weigh :data:`TITLE_WEIGHT`),
    Latin words and numbers with their unit (:data:`ENTITY_WEIGHT`). Days: the ``X月Y日``
    dates the title and lead mention (Arabic digits only), plus the publication day and
    the day before (reports follow the event; UTC shifts the day). Naive times are UTC.
    ``folded=True`` says title and text are already :func:`~monitor.text.fold`-ed (e.g.
    from :func:`monitor.match.fold_story`), which saves most of the cost.
    """
    return _assemble(*_text_parts(title, text, folded=folded), published)


# What a store keeps of a story's features: they depend on its title and text only, which
# never change once stored. Bump the version whenever what text_features returns for a
# text changes (tests/test_similarity.py holds the features of the seeds under it): a
# store then ignores the rows it kept and they are computed again.
FEATURES_VERSION = 1


class StoredFeatures(NamedTuple):
    """The time-free part of :class:`EventFeatures`, in the columns of the store's
    ``event_features`` table: bigram codes as little-endian int64 blobs, entities and
    dates as space-separated text. Each field holds what its layer adds to the next one."""

    lead: bytes  # bigrams of the lead only (layer 0)
    title: bytes  # bigrams of the title (layer 1)
    entities: str  # entities of the lead only (layer 2)
    title_entities: str  # entities of the title (layer 3)
    mentioned: str  # "month-day" dates the title and lead mention


def _int64_blob(codes: set[int]) -> bytes:
    out = array("q", sorted(codes))
    if not _LITTLE_ENDIAN:
        out.byteswap()
    return out.tobytes()


def _blob_codes(blob: bytes) -> array:
    out = array("q", blob)
    if not _LITTLE_ENDIAN:
        out.byteswap()
    return out


def _text_parts(title: str, text: str, *, folded: bool) -> tuple:
    """Title entities, lead-only entities, title bigrams, lead-only bigrams, mentioned days."""
    t, lead = (title, text[:LEAD_CHARS]) if folded else (fold(title), fold(text[:LEAD_CHARS]))
    top = _entities(t)
    title_bigrams = _bigrams(t)
    mentioned = {(m, d) for m, d in _dates(t + " " + lead) if 1 <= m <= 12 and 1 <= d <= 31}
    return top, _entities(lead) - top, title_bigrams, _bigrams(lead) - title_bigrams, mentioned


def _assemble(top, entities, title_bigrams, lead_bigrams, mentioned, published) -> EventFeatures:
    """Features from their disjoint parts (see :class:`EventFeatures`)."""
    parts = (top, entities, title_bigrams, lead_bigrams)
    # |layers[k]| is the size of the parts of weight _LEVELS[k] and more, since they are
    # disjoint: the total weight needs no set.
    sizes = [len(top), len(entities), len(title_bigrams), len(lead_bigrams)]
    total = sum(step * sum(sizes[: 4 - k]) for k, step in enumerate(_STEPS))
    published = _utc(published)
    days = set(mentioned)
    if published is not None:
        days.update(((p := published - timedelta(days=b)).month, p.day) for b in (0, 1))
    return EventFeatures(parts, total, frozenset(mentioned), frozenset(days), published)


def text_features(title: str, text: str, *, folded: bool = False) -> StoredFeatures:
    """What :func:`features` reads from the title and lead, in the form a store keeps."""
    top, entities, title_bigrams, lead_bigrams, mentioned = _text_parts(title, text, folded=folded)
    return StoredFeatures(
        _int64_blob(lead_bigrams),
        _int64_blob(title_bigrams),
        " ".join(sorted(entities)),
        " ".join(sorted(top)),
        " ".join(f"{m}-{d}" for m, d in sorted(mentioned)),
    )


def decode_features(stored: StoredFeatures, published: datetime | None) -> EventFeatures:
    """The :class:`EventFeatures` of :func:`features` from what a store kept and the
    story's publication time, without reading the text again."""
    return _assemble(
        stored.title_entities.split(),
        stored.entities.split(),
        _blob_codes(stored.title),
        _blob_codes(stored.lead),
        [tuple(map(int, md.split("-"))) for md in stored.mentioned.split()],
        published,
    )


def lexical(a: EventFeatures, b: EventFeatures) -> float:
    """Weighted Dice overlap of the two stories' tokens, in [0, 1]."""
    if not a.total or not b.total:
        return 0.0
    shared = sum(s * len(x & y) for s, x, y in zip(_STEPS, a.layers, b.layers, strict=True))
    return 2 * shared / (a.total + b.total)


def similarity(a: EventFeatures, b: EventFeatures) -> float:
    """How likely two stories report one event, in [0, 1]: words scaled by day evidence.

    Dates both stories mention decide first (two stories of one morning about calls on
    12月30日 and 1月27日 are two events); else mentioned and publication days together.
    """
    if a.mentioned and b.mentioned:
        same_day = bool(a.mentioned & b.mentioned)
    elif a.days and b.days:
        same_day = bool(a.days & b.days)
    else:
        return lexical(a, b)
    return min(1.0, lexical(a, b) * (DATE_MATCH if same_day else DATE_MISMATCH))


def _in_window(a: EventFeatures, b: EventFeatures, window: timedelta | None) -> bool:
    if window is None or a.published is None or b.published is None:
        return True  # an unknown time is compared by similarity alone
    return abs(a.published - b.published) <= window


def _candidates(feats: Sequence[EventFeatures]) -> set[tuple[int, int]]:
    """Pairs (i, j), i < j, worth scoring: one story's title shares at least
    :data:`MIN_SHARED` of the other's rarest :data:`PROBE_TOKENS` tokens.

    A title names the event's actors and action, so reports of one event meet here, and
    indexing only titles keeps this cheap: O(n · PROBE_TOKENS · MAX_DF) at worst. A token
    in more than :data:`MAX_DF` titles names a topic, not an event, and finds nothing.
    """
    postings: dict[int | str, list[int]] = defaultdict(list)
    for i, f in enumerate(feats):
        for tok in f.title_tokens():  # title bigrams and all entities
            postings[tok].append(i)
    # Tokens ranked rarest first, ties by the token itself (entity strings, then bigrams in
    # their text's order), so the probe is the same in every process (set order is not);
    # a probe is then a sort of small ints.
    order = sorted(
        (len(ids), tok.__class__ is int, tok) for tok, ids in postings.items() if len(ids) <= MAX_DF
    )
    # Ranks count from 1: filter(None, map(rank.get, tokens)) keeps the ranked ones in one
    # lookup each.
    rank = {tok: r for r, (_, _, tok) in enumerate(order, 1)}
    by_rank = [(), *(postings[tok] for _, _, tok in order)].__getitem__
    pairs: set[tuple[int, int]] = set()
    for i, f in enumerate(feats):
        probe = sorted(filter(None, map(rank.get, f.all_tokens())))[:PROBE_TOKENS]
        # The stories met, sorted: one met at least MIN_SHARED times starts a run that long,
        # where met[k] == met[k + MIN_SHARED - 1] (counted in C, not in a Counter and a loop).
        met = sorted(chain.from_iterable(map(by_rank, probe)))
        for j in set(compress(met, map(eq, met, islice(met, MIN_SHARED - 1, None)))):
            if j != i:
                pairs.add((i, j) if i < j else (j, i))
    return pairs


def group_events(
    stories: Sequence[tuple[Hashable, EventFeatures]],
    *,
    window: timedelta | None = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[list[Hashable]]:
    """Stories grouped by event; every story is in exactly one group (maybe alone).

    Only candidate pairs from an inverted index over titles are scored
    (:func:`_candidates`), so the cost grows with n, not n².

    Candidate pairs within ``window`` (None: no limit; a story without time has no limit)
    and with ``similarity ≥ threshold`` merge best-first, *average-link* with a floor:
    two groups merge only when their cross pairs average at least ``threshold`` and none
    is below ``threshold / 3`` (0 outside the window). So A≈B and B≈C do not chain A and
    C into one group when A and C are unrelated.
    Groups are ordered by their first story, members in input order.
    """
    feats = [f for _, f in stories]
    sims: dict[tuple[int, int], float] = {}

    def sim(i: int, j: int) -> float:
        key = (i, j) if i < j else (j, i)
        if key not in sims:
            a, b = feats[key[0]], feats[key[1]]
            sims[key] = similarity(a, b) if _in_window(a, b, window) else 0.0
        return sims[key]

    edges = sorted(((sim(i, j), i, j) for i, j in _candidates(feats)), reverse=True)
    group_of = list(range(len(feats)))
    members = {i: [i] for i in range(len(feats))}
    for s, i, j in edges:
        if s < threshold:
            break
        gi, gj = group_of[i], group_of[j]
        if gi == gj:
            continue
        a, b = members[gi], members[gj]
        cross = [sim(x, y) for x in a for y in b]
        if min(cross) < threshold / 3 or sum(cross) < threshold * len(cross):
            continue
        a.extend(b)
        for x in b:
            group_of[x] = gi
        del members[gj]
    keys = [k for k, _ in stories]
    return [[keys[x] for x in sorted(g)] for g in sorted(members.values(), key=min)]
