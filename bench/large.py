"""Scenario 6: search (and, later, digests) on a store of a million items.

Building the store
    ``python -m bench.large build --items 1000000`` (the harness calls it on first use) writes
    ``<cache>/large-<VERSION>-<items>.db`` with monitor's own schema (``monitor.store.open_db``)
    and rows exactly as ``monitor.store.write_items`` would leave them for new stories:
    ``items``, ``item_keys``, ``item_urls``, ``sightings`` and the contentless ``items_fts``
    filled with ``monitor.fulltext.segment`` of the title and text; and, for the stories of
    the last ``monitor.store.FEATURES_KEEP``, the ``event_features`` the daemon's index
    catch-up keeps (``monitor.store.keep_event_features``, the same code).

    Speed comes from segmenting less, not differently: a text is a sequence of sentences from
    a pool of :data:`POOL` sentences, every sentence ends in ``。``, and bigrams never cross a
    non-CJK character, so ``segment(text)`` equals the space-joined ``segment`` of its
    sentences. The pool is segmented once; every generated text's segmentation is composed,
    and the build checks the identity with ``segment`` on a sample (it stops if one differs).
    Rows go in with ``executemany`` in transactions of 50,000, ``synchronous=OFF``.

Planted terms
    Characters that appear nowhere else in the vocabulary, planted in a known share of texts,
    so searches of every selectivity exist: see :data:`PLANTED`.

Measuring (``phase=search`` in :mod:`bench.worker`)
    ``monitor.store.search(db, term, limit=50)`` many times (median, p95), against the
    brute-force ``SELECT ... WHERE title LIKE '%term%' OR text LIKE '%term%' ORDER BY id DESC
    LIMIT 50`` on the same table; the two id lists must be equal. Beside them, the least any
    method returning those rows must spend: reading the same 50 rows by primary key
    (``fetch_ms``). ``LIKE`` over it (``bound``) is the most any index can gain over ``LIKE``
    for that term: for a term in most texts ``LIKE`` stops after ~75 rows, near that floor.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .corpus import DEFAULT_CACHE, OUTLETS, WORDS, Writer

# v3: ascii tokenizer, item_sketches (v1 could have a corrupt FTS index); v4: event_features
VERSION = "large-v4"
POOL = 30000
BATCH = 50000
# term -> share of texts it is planted in (its own characters occur nowhere else).
PLANTED = {"鲲鹏": 0.0001, "龙舟": 0.01, "麒麟芯片": 0.001, "饕餮盛宴": 0.0}
# Search terms measured: (term, why).
TERMS = (
    ("普京", "2 chars, common (vocabulary word, in most texts)"),
    ("鲲鹏", "2 chars, rare (planted in 0.01 % of texts)"),
    ("龙舟", "2 chars, 1 % of texts"),
    ("人道主义", "4 chars, common (vocabulary word)"),
    ("麒麟芯片", "4 chars, 0.1 % of texts"),
    ("饕餮盛宴", "4 chars, absent"),
)
T0 = datetime(2020, 1, 1, tzinfo=UTC)


def store_path(items: int, cache: Path = DEFAULT_CACHE) -> Path:
    return Path(cache) / f"{VERSION}-{items}.db"


def build(items: int, cache: Path = DEFAULT_CACHE, *, seed: int = 7) -> dict:
    """Build (or find) the large store; returns facts about it (and how long it took)."""
    from monitor.canonical import url_key
    from monitor.fulltext import segment
    from monitor.store import FEATURES_KEEP, iso, keep_event_features, open_db

    path = store_path(items, cache)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        meta["cached"] = True
        return meta
    started = time.perf_counter()
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    db = open_db(tmp)
    conn = db.conn
    # Explicit transactions only: with journal_mode=OFF, a statement left in one of
    # Python's implicit transactions would be rolled back at close, which without a
    # journal corrupts the file.
    conn.isolation_level = None
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    conn.execute("PRAGMA foreign_keys = OFF")
    # Bulk load: no incremental merging of FTS segments (one 'optimize' merge at the end),
    # and a bigger pending-terms buffer where this SQLite knows the option.
    conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('automerge', 0)")
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('hashsize', 67108864)")

    rng = random.Random(seed)
    w = Writer(rng)
    pool = [w.sentence() for _ in range(POOL)]
    pool_seg = [segment(s) for s in pool]
    plant_seg: dict[str, list[tuple[str, str]]] = {}
    for term in PLANTED:
        sents = []
        for _ in range(50):
            words = rng.choices(WORDS, k=8)
            words.insert(rng.randrange(len(words)), term)
            s = "".join(words) + "。"
            sents.append((s, segment(s)))
        plant_seg[term] = sents
    t_pool = time.perf_counter() - started

    sites = [name for name, _ in OUTLETS]
    checked = mismatches = 0
    t_seg = 0.0
    for start in range(0, items, BATCH):
        rows_items, rows_fts, rows_keys, rows_urls, rows_sight = [], [], [], [], []
        for i in range(start, min(items, start + BATCH)):
            n = rng.randint(8, 24)  # ~300-900 characters
            idx = rng.choices(range(POOL), k=n)
            sents = [pool[k] for k in idx]
            segs = [pool_seg[k] for k in idx]
            for term, share in PLANTED.items():
                if share and rng.random() < share:
                    s, sg = rng.choice(plant_seg[term])
                    at = rng.randrange(n)
                    sents.insert(at, s)
                    segs.insert(at, sg)
            cut = len(sents) // 2
            text = "".join(sents[:cut]) + "\n" + "".join(sents[cut:])
            body = " ".join(segs)
            if checked < 300 and i % 997 == 0:
                checked += 1
                mismatches += segment(text) != body
            title = "".join(rng.choices(WORDS, k=rng.randint(3, 6))) + w.name()
            t = time.perf_counter()
            title_seg = segment(title)
            t_seg += time.perf_counter() - t
            when = T0 + timedelta(seconds=i * 60)
            ts = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            url = f"https://news{i % 7}.example-large.com/{when:%Y/%m/%d}/{i}.html"
            key = url_key(url)
            site = sites[i % len(sites)]
            html = "<p>" + "".join(sents[:cut]) + "</p>\n<p>" + "".join(sents[cut:]) + "</p>"
            item_id = i + 1
            rows_items.append(
                (
                    item_id,
                    "url:" + key,
                    title,
                    url,
                    url,
                    site,
                    None,
                    ts,
                    text[:120],
                    text,
                    html,
                    "[]",
                    "[]",
                    "zh-Hans",
                    "rss",
                    None,
                    ts,
                    ts,
                )
            )
            rows_fts.append((item_id, title_seg, body))
            rows_keys.append(("url:" + key, item_id))
            rows_urls.append((key, url, item_id, ts))
            rows_sight.append((item_id, f"feed-{i % 200:04d}", "bench", url, "rss", ts, ts))
        if mismatches:
            raise RuntimeError("composed segmentation differs from monitor.fulltext.segment")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO items (id, story_key, title, url, canonical_url, site, author, "
            "published, summary, text, html, images, tags, lang, format, title_key, "
            "first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows_items,
        )
        conn.executemany("INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)", rows_fts)
        conn.executemany("INSERT INTO item_keys (key, item_id) VALUES (?, ?)", rows_keys)
        conn.executemany(
            "INSERT INTO item_urls (url_key, url, item_id, first_seen) VALUES (?, ?, ?, ?)",
            rows_urls,
        )
        conn.executemany(
            "INSERT INTO sightings (item_id, source, location, url, format, first_seen, "
            "last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows_sight,
        )
        conn.execute("COMMIT")
        done = min(items, start + BATCH)
        elapsed = time.perf_counter() - started
        print(f"  large store: {done:,}/{items:,} items, {elapsed:.0f}s", flush=True)
    t = time.perf_counter()
    features_since = T0 + timedelta(seconds=(items - 1) * 60) - FEATURES_KEEP
    conn.execute("BEGIN")
    keep_event_features(
        conn,
        conn.execute(
            "SELECT id, title, text FROM items WHERE first_seen >= ?", (iso(features_since),)
        ).fetchall(),
    )
    conn.execute("COMMIT")
    t_features = time.perf_counter() - t
    t = time.perf_counter()
    conn.execute("INSERT INTO items_fts (items_fts) VALUES ('optimize')")
    conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('automerge', 4)")
    t_optimize = time.perf_counter() - t
    conn.execute("PRAGMA journal_mode = WAL")
    probe = conn.execute(
        "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?", (f'"{TERMS[0][0]}"',)
    )
    if not probe.fetchone()[0]:
        raise RuntimeError("the new store's full-text index finds nothing")
    conn.close()
    os.replace(tmp, path)
    meta = {
        "items": items,
        "version": VERSION,
        "path": str(path),
        "size_mb": round(path.stat().st_size / 2**20, 1),
        "build_s": round(time.perf_counter() - started, 1),
        "pool_s": round(t_pool, 1),
        "title_segment_s": round(t_seg, 1),
        "fts_optimize_s": round(t_optimize, 1),
        "features_s": round(t_features, 1),
        "segment_checks": checked,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cached": False,
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


def _timed(fn, runs: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return times, result


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def search_phase(job: dict) -> dict:
    """Runs in a worker: every term through monitor.store.search and through LIKE."""
    from monitor.store import _LIST_COLUMNS, open_db, search

    db = open_db(job["db"])
    conn = db.conn
    limit = job.get("limit", 50)
    runs = job.get("search_runs", 30)
    like_runs = job.get("like_runs", 3)
    out = []
    for term, why in TERMS:
        search(db, term, limit=limit)  # first touch of this term's pages
        times, rows = _timed(lambda t=term: search(db, t, limit=limit), runs)
        ids = [r["id"] for r in rows]
        like_sql = (
            f"SELECT {_LIST_COLUMNS} FROM items WHERE title LIKE ? OR text LIKE ? "
            "ORDER BY items.id DESC LIMIT ?"
        )
        pat = f"%{term}%"
        like_times, like_rows = _timed(
            lambda p=pat, q=like_sql: conn.execute(q, (p, p, limit)).fetchall(), like_runs
        )
        like_ids = [r[0] for r in like_rows]
        by_id = (
            f"SELECT {_LIST_COLUMNS} FROM items WHERE id IN ({','.join('?' * len(ids))}) "
            "ORDER BY items.id DESC"
        )
        fetch_times, _ = _timed(lambda q=by_id, i=ids: conn.execute(q, i).fetchall(), runs)
        total = conn.execute(
            "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?",
            ('"' + " ".join(_bigrams(term)) + '"',),
        ).fetchone()[0]
        med, like_med = statistics.median(times), statistics.median(like_times)
        fetch_med = statistics.median(fetch_times)
        out.append(
            {
                "term": term,
                "chars": len(term),
                "why": why,
                "matches": total,
                "returned": len(ids),
                "median_ms": med * 1000,
                "p95_ms": _p95(times) * 1000,
                "like_median_ms": like_med * 1000,
                "speedup": like_med / med if med else None,
                "fetch_ms": fetch_med * 1000,
                "bound": like_med / fetch_med if fetch_med else None,
                "same_results": ids == like_ids,
                "runs": runs,
                "like_runs": like_runs,
            }
        )
    return {"terms": out, "digest": digest_phase(db), "wall": sum(t["median_ms"] for t in out)}


def _bigrams(term: str) -> list[str]:
    return [term[i : i + 2] for i in range(len(term) - 1)] or [term]


# --- digest (scenario 6b) -------------------------------------------------------------------

DIGEST_TARGET_S = 2.0
DIGEST_NEW_ITEMS = 10000


# Five watches of different selectivity over the newest DIGEST_NEW_ITEMS stories.
DIGEST_WATCHES = (
    {"name": "putin", "any": ("普京", "乌克兰")},  # most stories
    {"name": "nato", "all": ("北约", "峰会")},
    {"name": "boats", "any": ("龙舟", "鲲鹏")},  # about 1 %
    {"name": "chips", "any": ("麒麟芯片",)},  # about 0.1 %
    {"name": "aid", "any": ("人道主义",), "exclude": ("疫苗",)},
)


def digest_phase(db, runs: int = 3) -> dict:
    """Digest building: the newest 10,000 items as "new", 5 watches, target < 2 s in all.

    Calls ``monitor.digest.build`` (selection, matching, grouping, ordering; nothing is
    written) for each watch, the five sharing one story cache as in one ``monitor digest``
    run, with ``since`` = the span of the newest
    :data:`DIGEST_NEW_ITEMS` items (one item per minute in this store). When monitor has no
    digest builder, reports "not yet available" rather than a number.
    """
    import importlib.util

    if importlib.util.find_spec("monitor.digest") is None:
        return {
            "status": "not yet available",
            "reason": "monitor.digest does not exist",
            "target_s": DIGEST_TARGET_S,
        }
    from monitor import digest
    from monitor.config import Watch, parse_config
    from monitor.match import Rule

    (last,) = db.conn.execute("SELECT max(first_seen) FROM items").fetchone()
    now = datetime.fromisoformat(last.replace("Z", "+00:00")) + timedelta(seconds=30)
    since = f"{DIGEST_NEW_ITEMS}m"
    config = parse_config({"monitor": {}, "source": []})
    watches = [
        Watch(name=w["name"], rule=Rule(**{k: v for k, v in w.items() if k != "name"}))
        for w in DIGEST_WATCHES
    ]
    (window_items,) = db.conn.execute(
        "SELECT count(*) FROM items WHERE first_seen >= ?",
        ((now - timedelta(minutes=DIGEST_NEW_ITEMS)).strftime("%Y-%m-%dT%H:%M:%SZ"),),
    ).fetchone()
    totals, per_watch = [], {}
    for _ in range(runs):
        # One run builds every watch's digest, as `monitor digest` and a shared schedule do:
        # with one story cache, each story is folded once (and, where the cache is a context
        # manager, the cycle collector waits for the run, as in the CLI).
        cache = digest.StoryCache() if hasattr(digest, "StoryCache") else None
        run = cache if hasattr(cache, "__enter__") else contextlib.nullcontext()
        shared = {"cache": cache} if cache is not None else {}
        started = time.perf_counter()
        with run:
            for w in watches:
                t = time.perf_counter()
                sel = digest.build(db, config, w, since=since, now=now, **shared)
                per_watch.setdefault(w.name, []).append(
                    {
                        "s": time.perf_counter() - t,
                        "stories": len(sel.members),
                        "groups": len(sel.digest.entries),
                    }
                )
        totals.append(time.perf_counter() - started)
    total = statistics.median(totals)
    return {
        "status": "measured",
        "total_s": total,
        "totals": totals,
        "new_items": window_items,
        "watches": {
            name: {
                "median_s": statistics.median(r["s"] for r in rs),
                "stories": rs[0]["stories"],
                "groups": rs[0]["groups"],
            }
            for name, rs in per_watch.items()
        },
        "target_s": DIGEST_TARGET_S,
        "reason": "",
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Build the large store of scenario 6.")
    ap.add_argument("command", choices=["build"])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    a = ap.parse_args(argv)
    print(json.dumps(build(a.items, a.cache)), flush=True)


if __name__ == "__main__":
    main()
