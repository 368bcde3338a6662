"""Watchlist matching: folding, Chinese substrings vs Latin whole words, filters, explain."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from monitor import digest, ingest, store
from monitor.canonical import SiteRules
from monitor.config import parse_config
from monitor.match import FoldedStory, Hit, Matcher, Rule, explain, fold_story
from monitor.models import Item
from monitor.parsers import parse
from monitor.text import to_traditional

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
NOW = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


@cache
def seed(n: int) -> Item:
    (path,) = SEEDS.glob(f"{n:03d}_*.txt")
    (item,) = parse(path.read_bytes())
    return item


def m(rule: Rule, title: str = "", text: str = "", **kw):
    return Matcher(rule).match(title=title, text=text, **kw)


# --- folding -----------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["乌克兰", "烏克蘭", "泽连斯基", "澤連斯基"])
def test_script_variants_match_simplified_and_traditional_text(term):
    it = seed(4)
    assert m(Rule(any=(term,)), it.title, it.text)
    assert m(Rule(any=(term,)), to_traditional(it.title), to_traditional(it.text))


@pytest.mark.parametrize("term", ["NATO", "nato", "ＮＡＴＯ", "Nato"])
def test_width_and_case_fold_together(term):
    it = seed(2)  # "……加入北约（NATO）……"
    assert m(Rule(any=(term,)), it.title, it.text).terms == [term]
    assert m(Rule(any=(term,)), text="北约（ｎａｔｏ）峰会")


@pytest.mark.parametrize("dot", ["·", "‧", "・", "•", "･"])
def test_a_name_matches_whichever_dot_joins_its_parts(dot):
    # Epoch Times writes 乔‧拜登 (U+2027), RFI 乔·拜登 (U+00B7): one term finds both seeds.
    term = f"乔{dot}拜登"
    assert m(Rule(any=(term,)), seed(2).title, seed(2).text).terms == [term]
    assert m(Rule(any=(term,)), seed(4).title, seed(4).text).terms == [term]
    assert m(Rule(any=(f"弗拉基米尔{dot}普京",)), text="俄罗斯总统弗拉基米尔‧普京说") is not None
    assert m(Rule(any=(term,)), text="乔。拜登") is None  # a full stop is no name dot


def test_a_term_absent_from_a_seed_does_not_match():
    it = seed(1)  # the December video summit: Zelensky is not in it
    assert m(Rule(any=("泽连斯基",)), it.title, it.text) is None


# --- Chinese substrings, Latin whole words ---------------------------------------------------


@pytest.mark.parametrize(
    "term, text, expected",
    [
        ("nato", "The senator spoke.", False),  # inside a word
        ("nato", "NATO's summit", True),
        ("nato", "北约(NATO)峰会", True),
        ("nato", "北约NATO峰会", True),  # Chinese neighbours need no space
        ("G7", "G7峰会在德国举行", True),
        ("G7", "G70 is not G7", True),
        ("G7", "the G70 meeting", False),
        ("g7", "召开G7峰会", True),
        ("50", "通了50分钟的电话", True),
        ("50", "通了150分钟的电话", False),
        ("乌克兰", "俄乌克兰边境", True),  # no word boundaries in Chinese
        ("克兰", "乌克兰", True),
        ("5G", "5G网络", True),
        ("covid-19", "新冠(COVID-19)疫情", True),
        ("covid-19", "COVID-190", False),
    ],
)
def test_latin_edges_need_boundaries_chinese_never(term, text, expected):
    assert bool(m(Rule(any=(term,)), text=text)) is expected


@pytest.mark.parametrize(
    "term, text, expected",
    [
        ("joe biden", "President Joe  Biden said", True),
        ("joe biden", "Joe\nBiden", True),
        ("joe biden", "JoeBiden", False),  # two Latin words need a space between them
        ("joe biden", "joe bidens", False),
        ("拜登 普京", "拜登普京本月第二度通话", True),  # next to Chinese, spaces are optional
        ("拜登 普京", "拜登 普京", True),
        ("拜登 普京", "拜登与普京", False),
    ],
)
def test_spaces_inside_a_term_match_any_whitespace(term, text, expected):
    assert bool(m(Rule(any=(term,)), text=text)) is expected


def test_quotes_around_a_term_are_dropped_for_matching_explain_and_the_digest(tmp_path):
    """A term is a phrase already. Quoted as a search query quotes a phrase, it means the
    same to the matcher, to explain and to the digest's full-text prefilter."""
    assert Rule(any='"拜登 普京"', all=["＂G7＂"], exclude=[' " 美联社 " ']) == Rule(
        any="拜登 普京", all="G7", exclude="美联社"
    )
    config = parse_config(
        {"watch": [{"name": "call", "any": ['"拜登 普京"']}]}, file="t.toml", base=tmp_path
    )
    watch = config.watch("call")
    assert watch.rule.any == ("拜登 普京",)
    it = seed(2)  # 本月第二次会谈 拜登普京结束通话
    assert explain(watch.rule, title=it.title, text=it.text)[-1] == "verdict: MATCH — 拜登 普京"

    db = store.open_db(tmp_path / "m.db")
    files = ingest.find_files([SEEDS]).files
    ingest.import_files(db, files, SiteRules.load_default(), now=NOW)
    assert store.index_pending(db) == 5  # the prefilter reads the full-text index
    sel = digest.build(db, config, watch, now=NOW + timedelta(hours=1))
    titles = {s.title for e in sel.digest.entries for s in (e.headline, *e.also)}
    assert it.title in titles
    assert all(e.matched_terms == ["拜登 普京"] for e in sel.digest.entries)


# --- any / all / exclude / regex --------------------------------------------------------------


def test_any_all_exclude():
    it = seed(0)
    kw = dict(title=it.title, text=it.text)
    assert m(Rule(any=("北约", "不存在的词")), **kw).terms == ["北约"]
    assert m(Rule(any=("不存在的词",)), **kw) is None
    assert m(Rule(all=("拜登", "普京")), **kw).terms == ["拜登", "普京"]
    assert m(Rule(all=("拜登", "不存在的词")), **kw) is None
    assert m(Rule(any=("拜登",), exclude=("路透社",)), **kw) is None
    assert m(Rule(any=("拜登",), exclude=("体育",)), **kw)
    both = m(Rule(any=("乌克兰", "北约"), all=("普京",)), **kw)
    assert both.terms == ["乌克兰", "北约", "普京"]


def test_hits_say_where_and_show_the_original_text():
    it = seed(4)
    title, text = to_traditional(it.title), to_traditional(it.text)
    res = m(Rule(any=("乌克兰",), all=("泽连斯基",)), title, text)
    assert [(h.term, h.field) for h in res.hits] == [("乌克兰", "title"), ("泽连斯基", "text")]
    assert "烏克蘭" in res.hits[0].snippet  # the original, Traditional, not the folded form
    assert "澤連斯基" in res.hits[1].snippet
    assert all(len(h.snippet) <= 34 for h in res.hits)


def test_regex_runs_on_folded_text_and_ignores_case():
    it = seed(2)
    kw = dict(title=it.title, text=it.text)
    # The text says 北约（NATO）: folded, the parentheses are half-width and NATO lower case.
    assert m(Rule(regex=r"北约\(nato\)"), **kw)
    assert m(Rule(regex=r"北约\(NATO\)"), **kw)
    assert m(Rule(regex=r"北約"), **kw)  # Traditional in the pattern is folded too
    res = m(Rule(regex=r"\d+月\d+日"), **kw)
    assert res.terms == [r"\d+月\d+日"] and "12月30日" in res.hits[0].snippet
    assert m(Rule(any=("北约",), regex=r"莫斯科\d"), **kw) is None


@pytest.mark.parametrize(
    "pattern, title",
    [
        ("乾隆", "乾隆皇帝下江南"),  # written the same in both scripts
        ("藉口", "以此為藉口"),
        ("瞭解", "美方希望瞭解俄方立場"),
        ("了解", "美方希望了解俄方立场"),
        # Name dots fold to one in the text: a regex copied from Epoch Times (U+2027)
        # matched nothing once they did; a bullet list marker is one of them too.
        ("弗拉基米尔‧普京", "俄罗斯总统弗拉基米尔‧普京说"),
        ("乔‧拜登", "美国总统乔·拜登访问欧洲"),
        ("• 第一条", "今日要点：• 第一条"),
    ],
)
def test_a_regex_is_folded_as_the_text_is(pattern, title):
    """The pattern's Chinese is folded character by character, like the text it runs on:
    converted as phrases, ``乾隆`` stayed ``乾隆`` while the text became ``干隆``, and a
    regex of words a story holds verbatim never matched it, as a term of them does."""
    assert m(Rule(regex=pattern), title=title, text="")
    assert m(Rule(any=(pattern,)), title=title, text="")


@pytest.mark.parametrize(
    "rule",
    [
        Rule(any=("普京", "泽连斯基", "NATO")),
        Rule(all=("拜登", "普京"), exclude=("视频",)),
        Rule(any=("北约",), all=("峰会",)),
        Rule(regex=r"\d+月\d+日"),
        Rule(any=("普京",), regex=r"莫斯科"),
        Rule(any=("乌克兰",), sources=("rfi",)),
        Rule(any=("乌克兰",), sites=("大纪元",)),
    ],
)
def test_terms_without_snippets_agree_with_match(rule):
    matcher = Matcher(rule)
    for n in range(5):
        it = seed(n)
        story = fold_story(it.title, it.text)
        for sources in ([], ["rfi"], ["dw"]):
            full = matcher.match(story, sources=sources, site=it.site)
            terms = matcher.terms(story, sources=sources, site=it.site)
            assert terms == (full.terms if full else None), (n, sources)


def test_snippet_survives_folds_that_change_length():
    # ㍻ folds to two characters and ß to "ss": folded offsets differ from the original.
    text = "㍻" * 40 + "Straße " * 5 + "北约峰会在布鲁塞尔举行" + "㍿" * 40
    res = m(Rule(any=("北约",)), text=text)
    assert "北约" in res.hits[0].snippet
    for term in ("㍻", "strasse", "㍿"):
        assert m(Rule(any=(term,)), text=text).hits[0].snippet  # never empty, never raises
    assert m(Rule(any=("北约",)), text="北约").hits == [Hit("北约", "text", "北约")]


# --- sources and sites ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, sources, expected",
    [
        (Rule(any=("x",), sources=("rfi",)), ["rfi"], True),
        (Rule(any=("x",), sources=("rfi",)), ["dw", "rfi"], True),  # one allowed sighting
        (Rule(any=("x",), sources=("rfi",)), ["dw"], False),
        (Rule(any=("x",), sources=("rfi",)), [], False),  # unknown sighting: not included
        (Rule(any=("x",), exclude_sources=("dw",)), ["dw"], False),
        (Rule(any=("x",), exclude_sources=("dw",)), ["dw", "rfi"], True),  # also seen elsewhere
        (Rule(any=("x",), exclude_sources=("dw",)), [], True),
        (Rule(any=("x",), sources=("rfi", "dw"), exclude_sources=("voa",)), ["voa"], False),
    ],
)
def test_source_filters(rule, sources, expected):
    assert bool(m(rule, text="x", sources=sources)) is expected


@pytest.mark.parametrize(
    "rule, site, expected",
    [
        (Rule(any=("x",), sites=("BBC 中文",)), "bbc 中文", True),  # folded comparison
        (Rule(any=("x",), sites=("BBC 中文",)), "大纪元", False),
        (Rule(any=("x",), sites=("BBC 中文",)), None, False),
        (Rule(any=("x",), exclude_sites=("大紀元",)), "大纪元", False),
        (Rule(any=("x",), exclude_sites=("大纪元",)), "RFI", True),
        (Rule(any=("x",), exclude_sites=("大纪元",)), None, True),
    ],
)
def test_site_filters(rule, site, expected):
    assert bool(m(rule, text="x", site=site)) is expected


# --- rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, field",
    [
        (Rule(any=("乌克兰",), regex="("), "regex"),
        (Rule(any=("乌克兰",), regex="  "), "regex"),
        (Rule(any=("乌克兰", " ")), "any"),
        (Rule(all=("",)), "all"),
        (Rule(any=("a",), exclude=("\u3000",)), "exclude"),  # ideographic space folds to " "
        (Rule(exclude=("体育",)), "any/all/regex"),
        (Rule(sources=("rfi",)), "any/all/regex"),
        (Rule(any=("乌克兰",), exclude=("烏克蘭",)), "exclude"),
        (Rule(any=("x",), sources=("rfi",), exclude_sources=("rfi",)), "exclude_sources"),
        (Rule(any=("x",), sites=("",)), "sites"),
        (Rule(any=(1,)), "any"),
    ],
)
def test_validate_names_the_bad_field(rule, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        rule.validate()
    with pytest.raises(ValueError, match=f"^{field}:"):
        Matcher(rule)


@pytest.mark.parametrize(
    "rule, message",
    [
        (
            Rule(any=("乌克兰",), exclude=("乌克",)),
            "every story an 'any' term finds has an excluded term in it ('乌克兰' has '乌克')",
        ),
        (  # folded as the matcher folds: Traditional, width, case
            Rule(any=("烏克蘭", "ＮＡＴＯ峰会"), exclude=("乌克", "nato")),
            "('烏克蘭' has '乌克', 'ＮＡＴＯ峰会' has 'nato')",
        ),
        (
            Rule(any=("普京", "泽连斯基"), all=("乌克兰局势",), exclude=("乌克兰",)),
            "every story 'all' term '乌克兰局势' finds has '乌克兰' in it",
        ),
        (Rule(all=("nato summit",), regex="x", exclude=("NATO",)), "'nato summit' finds"),
        (Rule(any=("老拜登 普京",), exclude=("拜登 普京",)), "('老拜登 普京' has '拜登 普京')"),
        (Rule(any=("G7峰会",), exclude=("g7",)), "('G7峰会' has 'g7')"),
    ],
)
def test_a_rule_whose_every_story_holds_an_excluded_term_is_refused(rule, message):
    with pytest.raises(ValueError) as e:
        rule.validate()
    assert str(e.value).startswith("exclude: every story") and message in str(e.value)
    assert str(e.value).endswith(": it can never match")


@pytest.mark.parametrize(
    "rule",
    [
        Rule(any=("乌克兰", "俄罗斯"), exclude=("乌克",)),  # 俄罗斯 alone can match
        Rule(any=("乌克",), exclude=("乌克兰",)),  # 乌克 without 乌克兰
        Rule(any=("natos",), exclude=("nato",)),  # a Latin term is a whole word
        Rule(any=("anato",), exclude=("nato",)),
        Rule(any=("拜登 普京",), exclude=("登普",)),  # "拜登 普京": the space comes between
        Rule(any=("ab c",), exclude=("b c",)),
        Rule(regex="乌克兰|俄罗斯", exclude=("乌克",)),  # a real regex is not looked into
        Rule(any=("乌克兰",), all=("普京",), exclude=("普京总统",)),
    ],
)
def test_a_rule_that_can_match_despite_its_exclusions_is_kept(rule):
    rule.validate()


@pytest.mark.parametrize(
    "regex, exclude",
    [
        ("乌克兰", "乌克"),
        ("烏克蘭", "乌克"),  # folded as the text is
        ("乌克兰", "烏克"),
        (r"北约\(NATO\)", "nato"),  # escaped metacharacters are literal; case is ignored
        ("北约nato峰会", "NATO"),
        ("拜登  普京", "拜登 普京"),  # a space in a term is any whitespace
        ("乔‧拜登", "乔·拜登"),
    ],
)
def test_a_literal_regex_holding_an_excluded_term_is_refused(regex, exclude):
    rule = Rule(regex=regex, exclude=(exclude,))
    with pytest.raises(ValueError) as e:
        rule.validate()
    assert str(e.value) == (
        f"exclude: every story 'regex' {regex!r} finds has {exclude!r} in it: it can never match"
    )


@pytest.mark.parametrize(
    "regex, exclude, text",
    [
        ("乌克兰|俄罗斯", "乌克", "俄罗斯"),
        ("北约nato", "nato", "北约natos"),  # a regex has no word boundaries, a term has
        ("nato summit", "NATO", "senato summit"),
        ("nati", "nati", "natı"),  # IGNORECASE: i matches the dotless ı of folded text
        ("乌克兰", "克兰局势", "乌克兰"),
    ],
)
def test_a_literal_regex_that_can_match_despite_its_exclusions_is_kept(regex, exclude, text):
    rule = Rule(regex=regex, exclude=(exclude,))
    rule.validate()
    assert m(rule, title="", text=text)


@pytest.mark.parametrize("regex", ["乌克兰.", r"\d月乌克兰", "(乌克兰)", "乌克兰+", "^乌克兰"])
def test_a_regex_with_metacharacters_is_not_looked_into(regex):
    Rule(regex=regex, exclude=("乌克",)).validate()  # only a literal is certain


def test_rule_takes_lists_and_a_lone_string_is_one_term():
    rule = Rule(any="乌克兰", all=["普京"], sources=["rfi"])
    assert rule.any == ("乌克兰",) and rule.all == ("普京",) and rule.sources == ("rfi",)
    rule.validate()
    assert hash(rule) == hash(Rule(any=("乌克兰",), all=("普京",), sources=("rfi",)))


# --- folded stories and speed -----------------------------------------------------------------


def test_a_prefolded_story_gives_the_same_result_and_wins():
    it = seed(3)
    rule = Rule(any=("北约", "NATO"), all=("普京",))
    story = fold_story(it.title, it.text)
    assert isinstance(story, FoldedStory)
    assert Matcher(rule).match(story) == m(rule, it.title, it.text)
    assert Matcher(rule).match(story, title="无关", text="无关") is not None


def test_matching_prefolded_stories_is_fast():
    """10,000 story × watch checks: folding once per story is what keeps a digest fast."""
    items = [seed(n) for n in range(5)]
    stories = [fold_story(it.title + str(k), it.text) for k in range(400) for it in items]
    watches = [
        Matcher(Rule(any=("乌克兰", "NATO", "北约"))),
        Matcher(Rule(all=("拜登", "普京"), exclude=("体育",))),
        Matcher(Rule(any=("泽连斯基",), sources=("rfi", "seeds"))),
        Matcher(Rule(any=("G7", "senator", "joe biden"), exclude_sites=("大纪元",))),
        Matcher(Rule(any=("不存在",))),
    ]
    start = time.process_time()
    found = sum(bool(w.match(s, sources=["seeds"], site="RFI")) for s in stories for w in watches)
    elapsed = time.process_time() - start
    # every seed; 4 of 5 name Putin; 3 Zelensky; 004 says (Joe Biden); nothing else
    assert found == 2000 + 1600 + 1200 + 400 + 0
    assert elapsed < 1.0, f"{elapsed:.2f}s for 10,000 checks"


# --- explain -------------------------------------------------------------------------------


def test_explain_says_what_matched_what_is_missing_and_the_verdict():
    it = seed(0)
    lines = explain(
        Rule(any=("乌克兰", "G7"), all=("普京", "马克龙")), title=it.title, text=it.text
    )
    assert lines[0].startswith("any: 乌克兰 — found in text: “") and "乌克兰" in lines[0]
    assert lines[1] == "any: G7 — not found"
    assert lines[2].startswith("all: 普京 — found in title: “")
    assert lines[3] == "all: 马克龙 — missing"
    assert lines[-1] == "verdict: no match — `all` term 马克龙 missing"


def test_explain_names_the_blocking_exclude_and_filters():
    it = seed(2)
    lines = explain(
        Rule(any=("普京",), exclude=("美联社",), sources=("rfi",), exclude_sites=("大纪元",)),
        title=it.title,
        text=it.text,
        sources=["seeds"],
        site=it.site,
    )
    text = "\n".join(lines)
    assert "sources: seen via seeds; rule includes rfi, excludes none → excluded" in text
    assert "site: 大纪元; rule includes all, excludes 大纪元 → excluded" in text
    assert "exclude: 美联社 — found in text: “" in text and "blocks the story" in text
    assert lines[-1] == "verdict: no match — source filter; site filter; excluded by 美联社"


@pytest.mark.parametrize(
    "rule",
    [
        Rule(any=("乌克兰",)),
        Rule(any=("泽连斯基",), regex=r"1月2\d日"),
        Rule(all=("拜登", "普京"), exclude=("视频",)),
        Rule(regex="nato"),
        Rule(any=("拜登",), sites=("RFI",)),
        Rule(any=("拜登",), sources=("seeds",)),
    ],
)
def test_explain_verdict_agrees_with_match(rule):
    for n in range(5):
        it = seed(n)
        kw = dict(title=it.title, text=it.text, sources=["seeds"], site=it.site)
        verdict = explain(rule, **kw)[-1]
        assert verdict.startswith("verdict: MATCH") == bool(Matcher(rule).match(**kw)), n


def test_explain_rejects_an_invalid_rule():
    with pytest.raises(ValueError, match="^regex:"):
        explain(Rule(regex="[", any=("x",)), title="", text="")


def test_fold_paths_agree_on_simplified_traditional_and_mixed_text():
    from monitor.text import fold, to_traditional

    simplified = "美国总统拜登（Joe Biden）周五表示，他已经警告俄罗斯总统普京。" * 20
    for text in (
        simplified,
        to_traditional(simplified),
        simplified[:100] + to_traditional(simplified),
    ):
        folded = fold(text)
        assert folded == fold(folded)  # idempotent
        assert "美国总统拜登(joe biden)周五表示,他已经警告俄罗斯总统普京。" in folded


@pytest.mark.parametrize("seed", range(10))
def test_fold_chars_is_the_fold_table_applied_once(seed: int):
    """The replacements in C, the scan and the translate are three ways to one result."""
    import random

    from monitor.text import _fold_chars, _fold_table

    table = _fold_table()
    rng = random.Random(seed)
    keys = [chr(k) for k in sorted(table)]
    pool = [*keys[:50], *rng.sample(keys, 50), "美", "国", "，", "（", "a", " ", "。", "\u3000"]
    for _ in range(100):
        s = "".join(rng.choice(pool) for _ in range(rng.randint(0, 300)))
        assert _fold_chars(s) == s.translate(table)
