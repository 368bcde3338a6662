import random
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from monitor import similarity, state, store
from monitor.canonical import SiteRules, assign_keys
from monitor.fulltext import search_terms
from monitor.match import Matcher, Rule, fold_story
from monitor.models import Item
from monitor.parsers import PARSER_VERSION
from monitor.store import Sighting, save_items

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
RULES = SiteRules.load_default()


def item(title, url=None, site=None, text="", alt_urls=()):
    return assign_keys(
        Item(title=title, format="test", url=url, site=site, text=text, alt_urls=list(alt_urls)),
        RULES,
    )


@pytest.fixture
def db(tmp_path):
    return store.open_db(tmp_path / "m.db")


def count(db, table):
    return db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_open_sets_wal_and_schema_version(db):
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS)
    assert {"items", "item_keys", "item_urls", "sightings", "items_fts"} <= set(db.table_names())


def test_reopen_keeps_data_and_newer_schema_is_refused(tmp_path):
    path = tmp_path / "m.db"
    db = store.open_db(path)
    save_items(db, [(item("标题", "https://a.example/1"), Sighting("s", "x"))], now=NOW)
    db.conn.close()
    db = store.open_db(path)
    assert count(db, "items") == 1
    db.conn.execute("PRAGMA user_version = 999")
    db.conn.close()
    with pytest.raises(store.StoreError, match="newer"):
        store.open_db(path)


def test_same_story_is_stored_once_and_every_sighting_kept(db):
    a = item("拜登普京通话", "https://www.epochtimes.com/gb/21/12/31/n13473224.htm")
    b = item("拜登普京通話", "https://www.epochtimes.com/b5/21/12/31/n13473224.htm?utm_source=rss")
    first = save_items(db, [(a, Sighting("gb-feed", "u1"))], now=NOW)
    second = save_items(db, [(b, Sighting("b5-feed", "u2"))], now=LATER)
    again = save_items(db, [(b, Sighting("b5-feed", "u2"))], now=LATER)
    assert [s.status for s in first + second + again] == ["new", "merged", "seen"]
    assert count(db, "items") == 1
    # First seen wins for the content.
    assert db["items"].get(first[0].item_id)["title"] == "拜登普京通话"
    rows = list(db.query("SELECT source, times_seen FROM sightings ORDER BY id"))
    assert rows == [{"source": "gb-feed", "times_seen": 1}, {"source": "b5-feed", "times_seen": 2}]
    assert count(db, "item_urls") == 2


def test_link_less_copy_merges_with_the_linked_story_of_the_same_outlet(db):
    bare = item("担心战争爆发：拜登与普京", site="Aljazeera 半岛网")
    linked = item(
        "担心战争爆发:拜登与普京", "https://chinese.aljazeera.net/news/1", "Aljazeera 半岛网"
    )
    saved = save_items(
        db, [(bare, Sighting("import", "f")), (linked, Sighting("feed", "u"))], now=NOW
    )
    assert [s.status for s in saved] == ["new", "merged"]
    row = db["items"].get(saved[0].item_id)
    assert row["canonical_url"] == "https://chinese.aljazeera.net/news/1"
    # ... and in the other order too.
    other = save_items(
        db,
        [(item("担心战争爆发：拜登与普京", site="Aljazeera 半岛网"), Sighting("import", "g"))],
        now=LATER,
    )
    assert other[0].status == "merged"


def test_same_title_is_not_merged_across_outlets_or_between_two_linked_articles(db):
    saved = save_items(
        db,
        [
            (item("每日新闻", site="RFI"), Sighting("a", "1")),
            (item("每日新闻", site="DW 中文"), Sighting("b", "2")),
            (item("今日要闻", "https://www.rfi.fr/cn/1", "RFI"), Sighting("c", "3")),
            (item("今日要闻", "https://www.rfi.fr/cn/2", "RFI"), Sighting("c", "4")),
        ],
        now=NOW,
    )
    assert [s.status for s in saved] == ["new", "new", "new", "new"]


def test_alias_url_joins_a_story(db):
    save_items(db, [(item("A", "https://news.example/a"), Sighting("s", "1"))], now=NOW)
    copy = item("A copy", "https://mirror.example/copy", alt_urls=["http://NEWS.example/a#top"])
    assert save_items(db, [(copy, Sighting("m", "2"))], now=NOW)[0].status == "merged"


STORE_TABLES = {
    "items": "id",
    "item_keys": "key",
    "item_urls": "url_key",
    "sightings": "id",
    "item_sketches": "hash, item_id",
    "fts_pending": "item_id",
}


def dump(db):
    return {
        t: db.conn.execute(f"SELECT * FROM {t} ORDER BY {o}").fetchall()
        for t, o in STORE_TABLES.items()
    }


def random_batch(rng, n):
    """Items that meet each other every way a store joins stories: the same link in
    another form, an alias, an outlet's title with and without a link, a copied text."""
    paragraphs = [
        "\n".join(f"第{i}段：{who}周五表示，{what}。" for i in range(6))
        for who, what in [
            ("美国总统拜登", "已经警告俄罗斯总统普京对乌克兰采取行动将引发制裁"),
            ("乌克兰总统泽连斯基", "感谢盟友的支持而局势仍然紧张"),
            ("德国总理朔尔茨", "天然气管道的审批仍需等待欧盟的决定"),
        ]
    ]
    texts = [*paragraphs, *(p.replace("周五", "週五") + "\n（责任编辑：某某）" for p in paragraphs)]
    texts += ["短讯", ""]
    links = [None, None, *(f"https://news.example/{k}" for k in range(8))]
    out = []
    for _ in range(n):
        url = rng.choice(links)
        if url and rng.random() < 0.3:
            url = url.replace("https://news.", "http://NEWS.") + "?utm_source=rss#top"
        alt = [rng.choice(links[2:])] if rng.random() < 0.2 else []
        it = item(
            rng.choice(["每日新闻", "拜登警告普京", "今日要闻"]),
            url,
            rng.choice(["RFI", "DW 中文"]),
            text=rng.choice(texts),
            alt_urls=alt,
        )
        out.append((it, Sighting(rng.choice("ab"), rng.choice(["1", "2", url or "3"]))))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_a_batch_is_stored_as_its_items_one_at_a_time(tmp_path, seed):
    """The batch's lookups are read once and kept current: the same statuses, stories,
    keys, URLs, sightings and sketches as writing the items one by one."""
    rng = random.Random(seed)
    earlier, batch = random_batch(rng, 4), random_batch(rng, 30)
    whole, single = store.open_db(tmp_path / "a.db"), store.open_db(tmp_path / "b.db")
    for db in (whole, single):
        save_items(db, earlier, now=NOW)
    saved = save_items(whole, batch, now=LATER)
    one_by_one = [save_items(single, [entry], now=LATER)[0] for entry in batch]
    assert saved == one_by_one
    assert dump(whole) == dump(single)
    assert {s.status for s in saved} == {"new", "merged", "seen"}


def test_a_story_that_learns_its_link_in_a_batch_stops_matching_linked_titles(db):
    """A link-less story takes the first linked report of its title; a second linked report
    later in the same batch is another article, as it would be in a later batch."""
    save_items(db, [(item("每日新闻", site="RFI"), Sighting("import", "f"))], now=NOW)
    saved = save_items(
        db,
        [
            (item("每日新闻", "https://www.rfi.fr/cn/1", "RFI"), Sighting("feed", "1")),
            (item("每日新闻", "https://www.rfi.fr/cn/2", "RFI"), Sighting("feed", "2")),
        ],
        now=LATER,
    )
    assert [s.status for s in saved] == ["merged", "new"]


def test_a_failing_batch_leaves_the_store_as_before(db):
    good = item("好", "https://x.example/1")
    bad = Item(title="坏", format="test")  # no story key
    with pytest.raises(ValueError):
        save_items(db, [(good, Sighting("s", "1")), (bad, Sighting("s", "2"))], now=NOW)
    assert count(db, "items") == 0
    assert count(db, "sightings") == 0


@pytest.fixture(params=["queued", "indexed"])
def corpus(db, request):
    """Four stories, either still queued for the full-text index or indexed."""
    texts = {
        "a": ("拜登普京通话", "美国总统拜登警告俄罗斯总统普京（Vladimir Putin）。"),
        "b": ("乌克兰局势", "泽连斯基表示感谢。北约东扩。"),
        "c": ("台灣新聞", "烏克蘭總統澤連斯基與ＮＡＴＯ會談。"),
        "d": ("天气", "今天很热。"),
    }
    ids = {}
    for name, (title, text) in texts.items():
        ids[name] = save_items(
            db,
            [(item(title, f"https://n.example/{name}", text=text), Sighting("s", name))],
            now=NOW,
        )[0].item_id
    assert count(db, "fts_pending") == 4 and count(db, "items_fts") == 0
    if request.param == "indexed":
        assert store.index_pending(db) == 4
        assert count(db, "fts_pending") == 0 and count(db, "items_fts") == 4
    return ids


@pytest.mark.parametrize(
    "query, expected",
    [
        ("普京", {"a"}),
        ("泽连斯基", {"b", "c"}),
        ("澤連斯基", {"b", "c"}),
        ("烏克蘭", {"b", "c"}),
        ("putin", {"a"}),
        ("PUTIN", {"a"}),
        ("nato", {"c"}),
        ("put", set()),  # Latin words match whole, as the index tokenizes them
        ("拜登 putin", {"a"}),  # terms may sit in different columns (title, text)
        ("北约 泽连斯基", {"b"}),
        ("热", {"d"}),  # one character: scan fallback
        # With a one-character term every term is still required, each in both scripts.
        ("普 京", {"a"}),
        ("热 天气", {"d"}),
        ("热 北约", set()),
        ("烏 泽连斯基", {"b", "c"}),
        ("拜 putin", {"a"}),
        ("nato 烏", {"c"}),  # the text writes ＮＡＴＯ full-width
        ("台湾 新", {"c"}),  # 台灣: OpenCC's Traditional for 台湾 is 臺灣
        ("莫斯科", set()),
        # -term leaves out the stories holding it, in the index, the queue and the scan.
        ("泽连斯基 -北约", {"c"}),
        ("泽连斯基 -nato", {"b"}),
        ('泽连斯基 -"北约东扩"', {"c"}),
        ("泽连斯基 -北约 -nato", set()),
        ("泽连斯基 -烏", set()),  # one-character exclusion: the scan, both scripts
        ("热 -天气", set()),
        ("泽连斯基 -", {"b", "c"}),  # a lone "-" is no term
    ],
)
def test_search_finds_chinese_words_inside_sentences(db, corpus, query, expected):
    found = {r["id"] for r in store.search(db, query)}
    assert found == {corpus[n] for n in expected}


def _stored(db, texts: dict[str, str]) -> dict[str, int]:
    saved = save_items(
        db,
        [(item(n, f"https://d.example/{n}", text=t), Sighting("s", n)) for n, t in texts.items()],
        now=NOW,
    )
    return {n: s.item_id for n, s in zip(texts, saved, strict=True)}


@pytest.mark.parametrize("indexed", [False, True])
def test_a_one_character_search_reads_text_as_folded(db, indexed):
    """The scan for `乔·拜登` (乔 alone is no token) found RFI's 乔·拜登 but not Epoch
    Times' 乔‧拜登; LIKE's own characters in a term were wildcards."""
    ids = _stored(
        db,
        {
            "epoch": "美国总统乔‧拜登和俄罗斯总统普京周四通话。",
            "rfi": "感谢乔·拜登总统提供的持续军事援助。",
            "other": "乔治说拜登和普京通话。",  # 乔 and 拜登, one character apart
            "percent": "乔丹的支持率为5%左右。",
            "five": "乔丹的支持率为50左右。",
            "under": "乔a_b",
            "any": "乔axb",
        },
    )
    if indexed:
        store.index_pending(db)

    def found(query: str) -> set[str]:
        hits = {r["id"] for r in store.search(db, query)}
        return {n for n, i in ids.items() if i in hits}

    assert found("乔·拜登") == found("乔‧拜登") == found("乔・拜登") == {"epoch", "rfi"}
    assert found("乔·拜登 -军事") == {"epoch"}
    assert found("乔 5%") == {"percent"}
    assert found("乔 a_b") == {"under"}
    assert [r["id"] for r in store.search(db, "乔", limit=2)] == [ids["any"], ids["under"]]


@pytest.mark.parametrize("indexed", [False, True])
def test_a_one_character_search_finds_every_spelling_that_folds_to_it(db, indexed):
    """The scan's LIKE looked for a term as written and in OpenCC's Traditional only: 裡
    (OpenCC writes 裏), 麵 and 髮 (it writes 面 and 發) were missed, though watches and the
    index fold them to 里, 面 and 发."""
    ids = _stored(db, {"noodles": "這裡的牛肉麵很好吃。", "barber": "理髮店漲價。"})
    if indexed:
        store.index_pending(db)
    for query, expected in [("里", {"noodles"}), ("面", {"noodles"}), ("发", {"barber"})]:
        found = {r["id"] for r in store.search(db, query)}
        assert found == {ids[n] for n in expected}, query


@pytest.mark.parametrize("indexed", [False, True])
def test_a_one_character_search_reads_latin_terms_as_whole_words(db, indexed):
    """`热 nato` found a queued story about a senator and lost it once indexed: the scan
    looked for nato inside words, the index and the watches take a Latin word whole."""
    ids = _stored(db, {"senator": "参议员（senator）批评热浪应对。", "nato": "热议NATO峰会。"})
    if indexed:
        store.index_pending(db)

    def found(query: str) -> set[str]:
        hits = {r["id"] for r in store.search(db, query)}
        return {n for n, i in ids.items() if i in hits}

    assert found("热 nato") == {"nato"}
    assert found("热 nat") == set()
    assert found("热 -nato") == {"senator"}
    assert found("热 -nat") == {"senator", "nato"}


@pytest.mark.parametrize("seed", range(4))
def test_a_narrowed_scan_finds_what_a_scan_of_every_story_finds(db, monkeypatch, seed):
    """`乔·拜登` is looked for among the stories the index finds for 拜登 (and those still
    queued), a few index rows at a time: the same stories, newest first, as reading all."""
    rng = random.Random(seed)
    pieces = ["乔", "‧", "·", "拜登", "克兰", "x", "xyz", "A股", "股市", "热", "。", " ", "美国"]
    texts = {f"s{k}": "".join(rng.choice(pieces) for _ in range(12)) for k in range(60)}
    ids = _stored(db, texts)
    store.index_pending(db)
    _stored(db, {f"q{k}": "".join(rng.choice(pieces) for _ in range(12)) for k in range(10)})
    monkeypatch.setattr(store, "_SCAN_CHUNK", 7)
    monkeypatch.setattr(store, "_RECENT_ROWS", 5)  # lone characters: past the newest, the index
    rows = db.conn.execute("SELECT id, title, text FROM items ORDER BY id DESC").fetchall()
    assert len(ids) == 60 and len(rows) == 70
    queries = ["乔·拜登", "兰x", "乔‧a股", "热 美国", "乔·拜登 -xyz", "股 克兰", '"乔 拜登"']
    # Nothing else to narrow: a character first in its run (股 of A股), last (乔 of 热乔),
    # alone (热 between 。), inside, or nowhere.
    queries += ["热", "乔", "股", "市", "兰", "股 -热", "乔 热", "登", "鲲"]
    for query in queries:
        terms, excluded = search_terms(query)
        watch = Matcher(Rule(all=terms, exclude=excluded))  # as a watch of the terms reads them
        expected = [i for i, title, text in rows if watch.terms(fold_story(title, text))]
        for limit in (3, 100):
            found = [r["id"] for r in store.search(db, query, limit=limit)]
            assert found == expected[:limit], (query, limit)


@pytest.mark.parametrize("query", ["普京", "热"])  # the index, and the one-character scan
def test_a_limit_beyond_sqlites_integers_is_no_limit(db, corpus, query):
    """`monitor search 普京 --limit 99999999999999999999` printed an OverflowError."""
    assert store.search(db, query, limit=2**70) == store.search(db, query)


def test_a_search_of_exclusions_alone_is_refused(db, corpus):
    with pytest.raises(ValueError, match="needs a term to find"):
        store.search(db, "-北约")


def test_index_pending_works_in_batches_and_search_merges_both_halves(db):
    ids = [
        save_items(
            db,
            [
                (
                    item(f"新闻{n}", f"https://n.example/{n}", text="普京讲话。"),
                    Sighting("s", str(n)),
                )
            ],
            now=NOW,
        )[0].item_id
        for n in range(5)
    ]
    steps = []
    assert store.index_pending(db, batch=2, progress=steps.append) == 5
    assert steps == [2, 2, 1]
    assert store.index_pending(db) == 0
    newer = [
        save_items(
            db,
            [(item(f"快讯{n}", f"https://n.example/q{n}", text="普京讲话。"), Sighting("s", n))],
            now=NOW,
        )[0].item_id
        for n in "ab"
    ]
    assert count(db, "fts_pending") == 2
    # Newest first across the index and the queue, cut at the limit.
    assert [r["id"] for r in store.search(db, "普京", limit=4)] == [*newer[::-1], ids[4], ids[3]]
    assert [r["id"] for r in store.search(db, "普京")] == [*newer[::-1], *ids[::-1]]


def kept_features(db):
    return {
        r[0]: (r[1], similarity.StoredFeatures(*r[2:]))
        for r in db.conn.execute("SELECT * FROM event_features")
    }


def test_indexing_keeps_event_features_of_the_same_text(db):
    texts = {
        f"普京与拜登{n}月{n}日通话": f"据Reuters报道，双方讨论了{n}0万人的问题。乌克兰局势紧张。"
        for n in range(1, 8)
    }
    saved = [
        save_items(db, [(item(t, f"https://n.example/{k}", text=x), Sighting("s", t))], now=NOW)
        for k, (t, x) in enumerate(texts.items())
    ]
    assert kept_features(db) == {}  # a poll only queues; the catch-up makes them
    assert store.index_pending(db, batch=3) == 7
    kept = kept_features(db)
    assert set(kept) == {s[0].item_id for s in saved}
    for s, (title, text) in zip(saved, texts.items(), strict=True):
        version, stored = kept[s[0].item_id]
        assert version == similarity.FEATURES_VERSION
        assert stored == similarity.text_features(title, text)
        assert "@reuters" in stored.entities


def test_indexing_writes_no_other_row_among_a_batchs_index_rows(db):
    # FTS5 writes out its pending terms when another statement opens a savepoint, which
    # the features' INSERT OR REPLACE does: among the index rows it would cut the batch's
    # index into many small segments.
    entries = [
        (item(f"普京与拜登第{k}次通话", f"https://n.example/{k}"), Sighting("s", str(k)))
        for k in range(60)
    ]
    save_items(db, entries, now=NOW)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        assert store.index_pending(db, batch=55) == 60
    finally:
        db.conn.set_trace_callback(None)
    order = "".join(
        "i" if s.startswith("INSERT INTO items_fts (rowid") else "e"
        for s in statements
        if s.startswith(("INSERT INTO items_fts (rowid", "INSERT OR REPLACE INTO event_features"))
    )
    assert order == "i" * 55 + "e" * 55 + "i" * 5 + "e" * 5  # each batch's rows, then features


def test_event_features_are_kept_for_the_last_days_of_stories_only(db):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ids = []
    for day in (0, 1, 5, 9, 10):
        when = start + timedelta(days=day)
        s = save_items(
            db,
            [(item(f"新闻{day}", f"https://n.example/{day}"), Sighting("s", str(day)))],
            now=when,
        )
        ids.append(s[0].item_id)
    store.index_pending(db)
    # The newest story is from day 10: eight days back is day 2, so days 0 and 1 go.
    assert sorted(kept_features(db)) == ids[2:]
    # A later catch-up keeps what is still within the window and adds the new story.
    when = start + timedelta(days=14)
    s = save_items(db, [(item("新闻14", "https://n.example/14"), Sighting("s", "14"))], now=when)
    store.index_pending(db)
    assert sorted(kept_features(db)) == [*ids[3:], s[0].item_id]
    assert count(db, "items") == 6  # only the kept features go; the stories stay


def old_store(path, version: int) -> sqlite3.Connection:
    """A store as monitor left it at schema ``version``, not opened by this monitor yet."""
    conn = sqlite3.connect(path)
    for script in store.MIGRATIONS[:version]:
        for stmt in store._statements(script):
            conn.execute(stmt)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    return conn


def store_at_version(path, version: int):
    """A store as monitor left it at schema ``version``, opened (and so migrated) now."""
    old_store(path, version).close()
    return store.open_db(path)


def test_a_store_from_before_the_index_queue_is_migrated(tmp_path):
    db = store_at_version(tmp_path / "old.db", 2)
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS)
    assert count(db, "fts_pending") == 0
    save_items(db, [(item("标题", "https://a.example/1"), Sighting("s", "x"))], now=NOW)
    assert count(db, "fts_pending") == 1


def test_the_index_gathers_8_mb_of_terms_before_writing_new_and_migrated_stores(tmp_path):
    def hashsize(db):
        rows = db.conn.execute("SELECT v FROM items_fts_config WHERE k = 'hashsize'").fetchall()
        return rows[0][0] if rows else None

    assert hashsize(store.open_db(tmp_path / "new.db")) == 8 << 20
    db = store_at_version(tmp_path / "v4.db", 4)
    assert hashsize(db) == 8 << 20
    # Searching still works through the setting (a wrong config row would make FTS5 fail).
    save_items(db, [(item("普京讲话", "https://a.example/1"), Sighting("s", "x"))], now=NOW)
    assert store.index_pending(db) == 1
    assert [r["title"] for r in store.search(db, "普京")] == ["普京讲话"]


def test_a_store_from_before_parser_versions_keeps_every_row_and_retries_old_rejections(
    tmp_path,
):
    """v9: the entries a monitor before parser versions handled are kept as they were, read
    by version 0: its rejections are read once more by today's parsers, nothing else is."""
    path = tmp_path / "v8.db"
    conn = old_store(path, 8)
    conn.execute(
        "INSERT INTO items (id, story_key, title, format, first_seen, last_seen) "
        "VALUES (7, 'url://a.example/1', '标题', 'hexo', '2026-01-01T00:00:00Z', "
        "'2026-01-01T00:00:00Z')"
    )
    rows = [
        ("files", "a.md", "stored", 7, 10, 11, "aa", None),
        ("files", "README.md", "rejected", None, 20, 21, "bb", "unrecognised document format"),
        ("mirror", "https://m.example/1.md", "rejected", None, None, None, None, "not an article"),
        ("mirror", "https://m.example/2.md", "missing", None, None, None, None, "HTTP 404"),
        ("mirror", "https://m.example/3.md", "gone", None, None, None, None, "HTTP 410"),
        ("mirror", "https://m.example/4.md", "stored", 7, None, None, None, None),
    ]
    conn.executemany(
        "INSERT INTO source_entries (source, location, status, item_id, size, mtime_ns, "
        "sha256, reason, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
        "'2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')",
        rows,
    )
    conn.commit()
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    before = {t: sorted(conn.execute(f"SELECT * FROM {t}"), key=repr) for t in tables}
    columns = {t: [c[1] for c in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    conn.close()

    db = store.open_db(path)

    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS)
    for t in tables:
        cols = ", ".join(columns[t])
        assert sorted(db.conn.execute(f"SELECT {cols} FROM {t}"), key=repr) == before[t]
    versions = db.conn.execute(
        "SELECT location, parser_version FROM source_entries ORDER BY rowid"
    ).fetchall()
    assert [v for _, v in versions] == [0, 0, 0, None, None, 0]
    assert state.rejected_before(db.conn, "files", PARSER_VERSION) == ["README.md"]
    assert state.rejected_before(db.conn, "mirror", PARSER_VERSION) == ["https://m.example/1.md"]
    retried = {
        location
        for source in ("files", "mirror")
        for location, e in state.load_entries(db.conn, source).items()
        if e.rejected_before(PARSER_VERSION)
    }
    assert retried == {"README.md", "https://m.example/1.md"}
    # A mirror asks at every poll: its rejected pages are found by an index of their own.
    query = "SELECT sql FROM sqlite_master WHERE name = 'source_entries_rejected'"
    assert "WHERE status = 'rejected'" in db.conn.execute(query).fetchone()[0]


def test_find_item_by_key_url_or_id(db):
    s = save_items(
        db, [(item("标题", "https://www.rfi.fr/cn/x?utm_source=a"), Sighting("s", "1"))], now=NOW
    )[0]
    assert store.find_item_id(db, s.story_key) == s.item_id
    assert store.find_item_id(db, "http://www.rfi.fr/cn/x") == s.item_id
    assert store.find_item_id(db, str(s.item_id)) == s.item_id
    assert store.find_item_id(db, "nope") is None
    # As users paste them: a capitalised scheme, the spaces a table put around an id.
    assert store.find_item_id(db, "Https://WWW.rfi.fr/cn/x#top") == s.item_id
    assert store.find_item_id(db, f" {s.item_id} ") == s.item_id
    story = store.get_story(db, s.item_id)
    assert story["sightings"][0]["source"] == "s"
    assert story["keys"] == [s.story_key]


def test_find_item_by_a_url_never_seen_that_a_site_rule_keys(db):
    gb = "https://www.epochtimes.com/gb/21/12/31/n13473224.htm"
    s = save_items(db, [(item("标题", gb), Sighting("s", "1"))], now=NOW)[0]
    b5 = "https://www.epochtimes.com/b5/21/12/31/n13473224.htm"
    assert s.story_key == "epochtimes:n13473224"
    assert store.find_item_id(db, b5) is None  # never stored under that URL
    assert store.find_item_id(db, b5, RULES) == s.item_id
    assert store.find_item_id(db, "https://www.epochtimes.com/b5/21/12/31/n1.htm", RULES) is None


def test_url_keys_are_found_in_their_readable_form(db):
    s = save_items(
        db,
        [(item("标题", "https://www.rfi.fr/cn/%E6%AC%A7%E6%B4%B2/x"), Sighting("s", "1"))],
        now=NOW,
    )[0]
    assert s.story_key.startswith("url://")
    assert store.find_item_id(db, "url://www.rfi.fr/cn/欧洲/x") == s.item_id


COPY = "\n".join(
    f"第{i}段：美国总统拜登周五表示，他已经警告俄罗斯总统普京，对乌克兰采取行动将引发制裁。"
    for i in range(6)
)


def test_a_copy_without_a_shared_link_is_one_more_sighting(db):
    original = item("拜登警告普京", "https://news.example/a", "RFI", text=COPY)
    repost = item(
        "转载：拜登警告普京",
        "https://blog.example/x",
        "某博客",
        text="【转载】\n" + COPY.replace("美国", "美國") + "\n（责任编辑：某某）",
    )
    saved = save_items(
        db, [(original, Sighting("rfi", "u1")), (repost, Sighting("blog", "u2"))], now=NOW
    )
    assert [s.status for s in saved] == ["new", "merged"]
    assert count(db, "items") == 1
    story = store.get_story(db, saved[0].item_id)
    assert {s["source"] for s in story["sightings"]} == {"rfi", "blog"}
    assert repost.story_key in story["keys"]
    assert story["title"] == "拜登警告普京"  # first seen wins


def test_same_topic_different_text_is_not_a_copy(db):
    other = "\n".join(
        f"第{i}段：乌克兰总统泽连斯基表示，感谢盟友的支持，局势仍然紧张。" for i in range(6)
    )
    saved = save_items(
        db,
        [
            (item("A", "https://a.example/1", text=COPY), Sighting("a", "1")),
            (item("B", "https://b.example/2", text=other), Sighting("b", "2")),
        ],
        now=NOW,
    )
    assert [s.status for s in saved] == ["new", "new"]


def test_copy_threshold_is_a_setting(db):
    half = "\n".join(
        COPY.split("\n")[:3] + [f"另一段{i}：完全不同的内容在这里继续写下去。" for i in range(3)]
    )
    a = item("A", "https://a.example/1", text=COPY)
    b = item("B", "https://b.example/2", text=half)
    save_items(db, [(a, Sighting("a", "1"))], now=NOW)
    strict = save_items(db, [(b, Sighting("b", "2"))], now=NOW, copy_similarity=0.9)
    assert strict[0].status == "new"


def test_group_commit_keeps_units_whole_and_commits_in_batches(db):
    statements = []
    db.conn.set_trace_callback(statements.append)
    batch = store.GroupCommit(db, max_units=2, max_seconds=3600)
    for n in range(3):
        with batch.unit() as conn:
            conn.execute("INSERT INTO sources (name, kind) VALUES (?, 'feed')", (f"s{n}",))
    assert statements.count("COMMIT") == 1  # after the second unit; the third is open
    with pytest.raises(RuntimeError), batch.unit() as conn:
        conn.execute("INSERT INTO sources (name, kind) VALUES ('broken', 'feed')")
        raise RuntimeError("this unit fails")
    batch.commit()
    db.conn.set_trace_callback(None)
    assert statements.count("COMMIT") == 2
    names = [r[0] for r in db.conn.execute("SELECT name FROM sources ORDER BY name")]
    assert names == ["s0", "s1", "s2"]  # the failed unit alone was rolled back


def test_group_commit_commits_an_old_batch_when_asked(db):
    batch = store.GroupCommit(db, max_units=100, max_seconds=0)
    with batch.unit() as conn:
        conn.execute("INSERT INTO sources (name, kind) VALUES ('a', 'feed')")
    assert batch.opened is None  # already committed: a batch of age >= max_seconds
    batch = store.GroupCommit(db, max_units=100, max_seconds=3600)
    with batch.unit() as conn:
        conn.execute("INSERT INTO sources (name, kind) VALUES ('b', 'feed')")
    batch.commit_if_due()
    assert batch.opened is not None  # young: still open
    batch.commit()
    assert batch.opened is None


def test_an_old_store_is_migrated_when_opened_only_to_read(tmp_path):
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    for stmt in store._statements(store.MIGRATIONS[0]):
        conn.execute(stmt)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    db = store.open_db(path, create=False)
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS)
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("create", [False, True])
def test_a_damaged_store_is_refused_as_damaged_and_left_as_it_was(tmp_path, create):
    path = tmp_path / "m.db"
    store.open_db(path).conn.close()
    size = path.stat().st_size
    with open(path, "r+b") as f:  # the schema's pages, past the first, overwritten
        f.seek(4096)
        f.write(bytes(size - 2 * 4096))
    before = path.read_bytes()
    with pytest.raises(store.StoreError) as e:
        store.open_db(path, create=create)
    assert str(e.value).startswith(
        f"store {path} is damaged (database disk image is malformed); restore it from a backup"
    )
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.db"]


def test_only_a_store_opens_without_create(tmp_path):
    with pytest.raises(store.StoreError, match="cannot open store"):
        store.open_db(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(store.StoreError, match=r"empty\.db is not a monitor store \(it is empty"):
        store.open_db(empty, create=False)
    assert empty.read_bytes() == b""
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(store.StoreError, match=r"junk\.db is not a monitor store"):
        store.open_db(junk)
    assert store.open_db(empty).conn.execute("PRAGMA user_version").fetchone()[0] == len(
        store.MIGRATIONS
    )


# --- site rules new to the store ----------------------------------------------------------

BEFORE = SiteRules.from_dicts([{"name": "A", "hosts": ["a.example"]}])
AFTER = BEFORE.extended(
    SiteRules.from_dicts(
        [{"name": "N", "key_prefix": "n", "patterns": [r"^https?://news\.example/(?:gb|b5)/(\d+)"]}]
    )
)


def keyed(rules: SiteRules, title: str, url: str) -> Item:
    return assign_keys(Item(title=title, format="test", url=url, text="正文。"), rules)


def test_a_rule_added_after_a_story_was_stored_gives_the_story_its_key(db):
    """A copy keyed by a rule the store did not know (an upgrade's, or the config's) found
    no story and became a second one: the stored stories get the new rule's keys first."""
    save_items(
        db, [(keyed(BEFORE, "标题", "https://news.example/gb/42"), Sighting("s", "1"))], now=NOW
    )
    assert store.apply_site_rules(db, BEFORE) == 0  # nothing new to these rules

    assert store.apply_site_rules(db, AFTER) == 1
    assert store.apply_site_rules(db, AFTER) == 0  # once per set of rules
    copy = keyed(AFTER, "標題", "https://news.example/b5/42")
    assert copy.story_key == "n:42"
    (saved,) = save_items(db, [(copy, Sighting("t", "2"))], now=LATER)
    assert saved.status == "merged"
    assert count(db, "items") == 1
    # Only added: the story's own key and content are as stored.
    assert db.conn.execute("SELECT story_key, title FROM items").fetchone() == (
        "url://news.example/gb/42",
        "标题",
    )


def test_stories_that_a_new_rule_names_alike_stay_apart_and_the_first_keeps_the_key(db):
    for n, url in enumerate(("https://news.example/gb/7", "https://news.example/b5/7")):
        save_items(db, [(keyed(BEFORE, f"标题{n}", url), Sighting("s", str(n)))], now=NOW)
    assert store.apply_site_rules(db, AFTER) == 1
    first = db.conn.execute("SELECT min(id) FROM items").fetchone()[0]
    assert store.find_item_id(db, "n:7") == first
    assert count(db, "items") == 2


def test_rules_fingerprints_differ_with_anything_that_decides_keys():
    base = {"name": "N", "key_prefix": "n", "hosts": ["n.example"], "patterns": [r"/(\d+)"]}
    fingerprints = {
        SiteRules.from_dicts([{**base, **change}]).fingerprint()
        for change in (
            {},
            {"name": "M"},
            {"key_prefix": "m"},
            {"hosts": ["m.example"]},
            {"patterns": [r"/a(\d+)"]},
            {"link_patterns": [r"/a(\d+)"]},
            {"aliases": ["M"]},
        )  # fmt: skip
    }
    assert len(fingerprints) == 7
    assert SiteRules.from_dicts([base]).fingerprint() == SiteRules.from_dicts([base]).fingerprint()
