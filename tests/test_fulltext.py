import random
import re
import sqlite3

import pytest

from monitor.fulltext import (
    QueryTooShort,
    fts_query,
    match_expression,
    phrases,
    phrases_in,
    segment,
    segment_folded,
)
from monitor.match import Matcher, Rule, fold_story
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
    # A lone character after a word starts a token: 2月入侵 is indexed "2 月入 入侵".
    assert phrases("2月 A股 1月27日") == [["2", "月*"], ["a", "股*"], ["1", "月", "27", "日*"]]
    with pytest.raises(QueryTooShort):
        phrases("兰2")  # its token ends a bigram (乌克兰2: "克兰 2")


def test_the_index_finds_every_story_a_watch_term_matches():
    """The digest narrows a watch's stories with the index before matching them: the
    index must find every story the matcher would take, whatever the term's edges are,
    and the check for stories not yet indexed must answer as the index does."""
    rng = random.Random(5)
    alphabet = "月入侵股市2A7b 普京，。-"
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, content='', tokenize='ascii')")
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30))) for _ in range(300)]
    conn.executemany(
        "INSERT INTO t (rowid, title, body) VALUES (?, '', ?)",
        [(i, segment(text)) for i, text in enumerate(texts)],
    )
    stories = [fold_story("", text) for text in texts]
    checked = 0
    for _ in range(400):
        source = rng.choice(texts)
        start = rng.randrange(len(source))
        term = source[start : start + rng.randrange(1, 6)].strip(" ，。-")
        if not term:
            continue
        try:
            wanted = phrases(term)
        except QueryTooShort:
            continue
        except ValueError:
            continue  # no token at all (punctuation)
        found = {
            r
            for (r,) in conn.execute(
                "SELECT rowid FROM t WHERE t MATCH ?", (match_expression(wanted),)
            )
        }
        watch = Matcher(Rule(any=(term,)))
        taken = {i for i, story in enumerate(stories) if watch.terms(story) is not None}
        assert taken <= found, term
        assert found == {
            i for i, text in enumerate(texts) if phrases_in(wanted, "", segment(text))
        }, term
        checked += 1
    assert checked > 200


def test_fts_query_leaves_out_dash_terms_as_monitor_search_does():
    """fts_query is what Datasette's search query and your own SQL use: "普京 -拜登" must
    leave 拜登's stories out, not require them."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, content='', tokenize='ascii')")
    texts = ["拜登与普京通话", "普京会见泽连斯基", "拜登讲话"]
    conn.executemany(
        "INSERT INTO t (rowid, title, body) VALUES (?, '', ?)",
        [(i, segment(text)) for i, text in enumerate(texts)],
    )

    def found(query: str) -> set[int]:
        return {
            r for (r,) in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (fts_query(query),))
        }

    assert found("普京 -拜登") == found('-"拜登" 普京') == {1}
    assert found("普京 -泽连斯基 -拜登") == set()
    assert found("普京 -") == {0, 1}  # a lone "-" is no term
    with pytest.raises(ValueError, match="needs a term to find"):
        fts_query("-拜登")
