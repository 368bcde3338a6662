"""A store whose URLs were keyed by an older canonical_url gets this version's keys when it
opens, so the next copy of a story stored before meets it instead of becoming a second one."""

from contextlib import contextmanager
from datetime import UTC, datetime

from monitor import canonical, store
from monitor.canonical import SiteRules
from monitor.ingest import import_files
from monitor.models import Item
from monitor.store import Sighting, save_items

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = SiteRules.load_default()
RFA = "https://www.rfa.org/mandarin/yataibaodao/gangtai/hk-01032022101010.html"
AMP = RFA + "/ampRFA"


@contextmanager
def older_canonical(monkeypatch, name, value):
    """canonical_url as an older version had it: ``name`` of canonical.py replaced, and no
    canonicalization version recorded by the stores opened meanwhile."""
    with monkeypatch.context() as patched:
        patched.setattr(canonical, name, value)
        patched.setattr(store, "upgrade_url_keys", lambda db: 0)
        canonical.canonical_url.cache_clear()
        try:
            yield
        finally:
            canonical.canonical_url.cache_clear()


def page(path, url, title, text):
    path.write_text(f"# {title}\n\n原文链接：{url}\n\n{text}\n", encoding="utf-8")
    return path


def import_pages(db, *paths, now):
    return import_files(db, list(paths), RULES, now=now)


def count(db, table):
    return db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_an_amp_story_stored_before_meets_its_next_copy(tmp_path, monkeypatch, caplog):
    path = tmp_path / "m.db"
    first = page(tmp_path / "a.md", AMP, "香港法院裁定记者罪成", "区域法院周四裁定两名编辑罪成。")
    with older_canonical(monkeypatch, "_AMP_SUFFIXES", {}):
        db = store.open_db(path)
        assert import_pages(db, first, now=NOW).new == 1
        assert store._meta(db.conn, "canonical") is None
        db.conn.close()
    again = page(tmp_path / "b.md", AMP, "立场新闻案：编辑罪成", "记者组织批评判决，呼吁释放记者。")
    caplog.set_level("INFO", logger="monitor.store")
    db = store.open_db(path)
    assert [r.getMessage() for r in caplog.records if r.name == "monitor.store"] == [
        "giving stored URLs this version's keys (once)",
        "stored URLs given this version's keys: 2 changed",  # the URL's key and the story's
    ]
    assert store.find_item_id(db, AMP) == store.find_item_id(db, RFA) == 1
    report = import_pages(db, again, now=LATER)
    assert (report.new, report.merged) == (0, 1)
    assert (count(db, "items"), count(db, "item_urls")) == (1, 1)
    assert store._meta(db.conn, "canonical") == str(canonical.CANONICAL_VERSION)
    # Only added: the story's own key and content are as stored.
    assert store.get_story(db, 1)["keys"] == ["url:" + AMP[6:], "url:" + RFA[6:]]


def test_urls_that_now_key_alike_keep_their_rows_and_stories(tmp_path, monkeypatch):
    """The AMP page and its article were two stories: they stay two, every URL kept, and the
    story first holding the key keeps it."""
    path = tmp_path / "m.db"
    article = page(tmp_path / "a.md", RFA, "立场新闻案宣判", "两名前总编辑被判有罪。")
    amp = page(tmp_path / "b.md", AMP, "香港法院裁定记者罪成", "区域法院周四裁定两名编辑罪成。")
    with older_canonical(monkeypatch, "_AMP_SUFFIXES", {}):
        db = store.open_db(path)
        assert import_pages(db, article, amp, now=NOW).new == 2
        db.conn.close()
    db = store.open_db(path)
    assert count(db, "items") == 2
    assert sorted(r[0] for r in db.conn.execute("SELECT url FROM item_urls")) == [RFA, AMP]
    assert store.find_item_id(db, "url:" + RFA[6:]) == store.find_item_id(db, AMP) == 1
    assert store.get_story(db, 2)["keys"] == ["url:" + AMP[6:]]
    assert store._meta(db.conn, "canonical") == str(canonical.CANONICAL_VERSION)


def story(url, text):
    return canonical.assign_keys(Item(title="标题", format="test", url=url, text=text), RULES)


def test_a_story_keyed_by_a_relative_link_gets_the_new_form_of_its_key(tmp_path, monkeypatch):
    """A feed entry read from a file whose page is not known is keyed by its relative link,
    with no host to make an absolute key of and no URL row: its key gets the new form (here:
    of a version that kept percent-escapes as written)."""
    path = tmp_path / "m.db"
    url = "/news/%e6%ac%a7%e7%9b%9f.html"
    with older_canonical(monkeypatch, "_normalize_escapes", lambda s: s):
        db = store.open_db(path)
        save_items(db, [(story(url, "欧盟峰会今天开幕。"), Sighting("s", "1"))], now=NOW)
        db.conn.close()
    db = store.open_db(path)
    copy = story(url, "峰会讨论乌克兰问题。")
    assert copy.story_key == "url:/news/%E6%AC%A7%E7%9B%9F.html"
    (saved,) = save_items(db, [(copy, Sighting("s", "2"))], now=LATER)
    assert saved.status == "merged"
    assert store.get_story(db, 1)["keys"] == ["url:" + url, copy.story_key]


def test_a_store_of_this_version_is_not_keyed_again(tmp_path):
    path = tmp_path / "m.db"
    db = store.open_db(path)
    assert store._meta(db.conn, "canonical") == str(canonical.CANONICAL_VERSION)
    save_items(db, [(story(RFA, "正文。"), Sighting("s", "1"))], now=NOW)
    with store.transaction(db) as conn:
        conn.execute("UPDATE item_urls SET url_key = 'stale'")
    db.conn.close()
    db = store.open_db(path)
    assert db.conn.execute("SELECT url_key FROM item_urls").fetchall() == [("stale",)]
    assert store.upgrade_url_keys(db) == 0
    with store.transaction(db) as conn:
        store._set_meta(conn, "canonical", "1")
    assert store.upgrade_url_keys(db) == 1
    assert db.conn.execute("SELECT url_key FROM item_urls").fetchall() == [(RFA[6:],)]
