"""Where monitor's feed-ingest time goes, stage by stage, on the benchmark corpus.

``python -m bench.profile [--feeds 40] [--cprofile]`` (one process, corpus from the cache):

1. HTTP: the N feeds fetched with monitor.fetch (its client, 16 at once, no added latency),
   from a corpus server in a separate process.
2. Parsing: ``monitor.parsers.parse`` over the same bytes, with each step of
   ``monitor.parsers.feed`` timed through wrappers installed in this process only
   (feedparser, lxml fragment parse, text extraction, image scan, nh3 sanitizing,
   language detection, summary). OpenCC conversions are timed on their own as well; they
   happen inside language detection, keying and FTS segmentation.
3. Keying: ``monitor.canonical.assign_keys``.
4. Store: ``monitor.store.write_items`` into a fresh store in one transaction, with
   ``segment`` (the FTS bigram text) timed apart from the SQL.
5. End to end: ``monitor.pipeline.poll_once`` of the same feeds into another fresh store.

With ``--cprofile`` the end-to-end poll also runs under cProfile; the top functions by own
time are printed (cProfile inflates pure-Python code, so use the stage table for shares).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path

from .corpus import DEFAULT_CACHE, Spec, ensure

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
T2S, S2T = "OpenCC t2s", "OpenCC s2t"
FAST = "fastfeed.read (lxml feed reader, entry dicts)"
STORE = "store (write_items)"
FTS_SQL = "SQLite: FTS5 index inserts (items_fts, replayed alone)"
STORE_STEPS = (
    ("fold", "fold for the store (NFKC + casefold + OpenCC t2s)"),
    ("segment", "FTS bigram segmentation (segment)"),
    ("segment_folded", "FTS bigram segmentation (segment_folded)"),
    ("sketch", "content sketch (sketch)"),
    ("_find_copy", "copy lookup by sketch (_find_copy)"),
)


def timed(name: str, fn):
    @wraps(fn)
    def wrapper(*a, **kw):
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            TIMES[name] += time.perf_counter() - t
            CALLS[name] += 1

    return wrapper


def patch(module, attr: str, name: str) -> None:
    setattr(module, attr, timed(name, getattr(module, attr)))


def start_server(root: Path, cache: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.server", str(cache), "--latency", "0"]
        + ["--max-lifetime", "900"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    line = proc.stdout.readline()
    url = line.split(" on ", 1)[1].split(" ")[0]
    return proc, f"{url}/{root.name}"


async def fetch_all(urls: list[str]) -> tuple[list[bytes], float]:
    from monitor import fetch as fetching

    client = fetching.make_client()
    sem = asyncio.Semaphore(16)
    now = datetime.now(UTC)

    async def one(u):
        async with sem:
            r = await fetching.fetch(client, fetching.FetchRequest(url=u), now=now)
            return r.content

    t = time.perf_counter()
    bodies = await asyncio.gather(*(one(u) for u in urls))
    wall = time.perf_counter() - t
    await client.aclose()
    return bodies, wall


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=40)
    ap.add_argument("--corpus-feeds", type=int, default=200)
    ap.add_argument("--corpus-items", type=int, default=50)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--cprofile", action="store_true")
    a = ap.parse_args(argv)

    root, truth = ensure(Spec(a.corpus_feeds, a.corpus_items), a.cache)
    import monitor.canonical as canonical
    import monitor.parsers.feed as feedmod
    import monitor.store as store
    import monitor.text as text
    from monitor.config import parse_config
    from monitor.parsers import parse
    from monitor.pipeline import poll_once
    from monitor.store import Sighting, open_db, transaction, write_items

    server, base = start_server(root, a.cache)
    try:
        urls = [f"{base}/feeds/f{i:04d}.xml" for i in range(a.feeds)]
        # Warm-up (imports, OpenCC dictionaries, sanitizer) outside every timing.
        parse((root / "feeds" / "f0000.xml").read_bytes(), url=urls[0])

        bodies, http_wall = asyncio.run(fetch_all(urls))
        nbytes = sum(len(b) for b in bodies)

        for attr, name in (
            ("fragment", "lxml fragment parse"),
            ("html_to_text", "text extraction (html_to_text)"),
            ("images_in", "image scan (images_in)"),
            ("clean_html", "sanitize (clean_html: serialize + nh3 + squeeze)"),
            ("detect_lang", "language detection (detect_lang)"),
            ("summarize", "summary (summarize)"),
        ):
            patch(feedmod, attr, name)
        feedmod.feedparser.parse = timed("feedparser.parse", feedmod.feedparser.parse)
        fast = getattr(feedmod, "fastfeed", None)  # the lxml fast path, where monitor has it
        if fast is not None:
            patch(fast, "read", FAST)
        patch(text, "to_simplified", T2S)
        patch(text, "to_traditional", S2T)

        t = time.perf_counter()
        parsed = [parse(b, url=u) for b, u in zip(bodies, urls, strict=True)]
        parse_wall = time.perf_counter() - t
        items = [it for batch in parsed for it in batch]

        config = parse_config({"monitor": {"per_host": 16}, "source": []})
        t = time.perf_counter()
        for it in items:
            canonical.assign_keys(it, config.rules)
        TIMES["keying (assign_keys)"] = time.perf_counter() - t

        tmp = Path(tempfile.mkdtemp(prefix="monitor-profile-"))
        db = open_db(tmp / "stages.db")
        where = [
            (it, Sighting(f"feed-{i:04d}", u))
            for i, (batch, u) in enumerate(zip(parsed, urls, strict=True))
            for it in batch
        ]
        # The store's own steps, whichever this version of monitor.store has.
        steps = [(m, lab) for m, lab in STORE_STEPS if callable(getattr(store, m, None))]
        for attr, label in steps:
            patch(store, attr, label)
        t = time.perf_counter()
        with transaction(db) as conn:
            write_items(conn, where, now=datetime.now(UTC))
        TIMES[STORE] = time.perf_counter() - t
        for attr, _label in steps:
            setattr(store, attr, getattr(store, attr).__wrapped__)
        # Replay only the FTS5 inserts into an empty index: the index's share of the SQL.
        from monitor.fulltext import segment

        fts_rows = [
            (i, segment(title), segment(body))
            for i, title, body in db.conn.execute("SELECT id, title, text FROM items")
        ]
        db3 = open_db(tmp / "fts-only.db")
        t = time.perf_counter()
        with transaction(db3) as conn:
            conn.executemany(
                "INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)", fts_rows
            )
        TIMES[FTS_SQL] = time.perf_counter() - t

        # The end-to-end poll below runs without the wrappers.
        feedmod.feedparser.parse = feedmod.feedparser.parse.__wrapped__
        if fast is not None:
            fast.read = fast.read.__wrapped__
        for attr in ("fragment", "html_to_text", "images_in", "clean_html", "detect_lang"):
            setattr(feedmod, attr, getattr(feedmod, attr).__wrapped__)
        feedmod.summarize = feedmod.summarize.__wrapped__
        text.to_simplified = text.to_simplified.__wrapped__
        text.to_traditional = text.to_traditional.__wrapped__

        cfg = parse_config(
            {
                "monitor": {"per_host": 16, "timeout": 120},
                "source": [
                    {"name": f"feed-{i:04d}", "kind": "feed", "url": u} for i, u in enumerate(urls)
                ],
            }
        )
        db2 = open_db(tmp / "e2e.db")
        prof = cProfile.Profile() if a.cprofile else None
        t = time.perf_counter()
        if prof:
            prof.enable()
        poll_once(db2, cfg, list(cfg.sources), now=datetime.now(UTC))
        if prof:
            prof.disable()
        e2e = time.perf_counter() - t
    finally:
        server.terminate()
        server.wait(timeout=10)
        if "tmp" in locals():
            shutil.rmtree(tmp, ignore_errors=True)

    n = len(items)
    print(
        f"{a.feeds} feeds, {n} items, {nbytes / 2**20:.1f} MB, one process (corpus {root.name})\n"
    )
    print("| stage | s | µs/item | share of parse+key+store |")
    print("|---|---:|---:|---:|")
    stages = {
        "HTTP fetch (monitor.fetch, 16 at once, 0 ms latency)": http_wall,
        FAST: TIMES[FAST],
        "feedparser.parse (feeds fastfeed declines)": TIMES["feedparser.parse"],
        **{
            k: TIMES[k]
            for k in (
                "lxml fragment parse",
                "text extraction (html_to_text)",
                "image scan (images_in)",
                "sanitize (clean_html: serialize + nh3 + squeeze)",
                "language detection (detect_lang)",
                "summary (summarize)",
            )
        },
        "rest of parse (entry mapping, detect, decode)": parse_wall
        - sum(
            TIMES[k]
            for k in TIMES
            if k
            in (
                FAST,
                "feedparser.parse",
                "lxml fragment parse",
                "text extraction (html_to_text)",
                "image scan (images_in)",
                "sanitize (clean_html: serialize + nh3 + squeeze)",
                "language detection (detect_lang)",
                "summary (summarize)",
            )
        ),
        "keying (assign_keys)": TIMES["keying (assign_keys)"],
        **{label: TIMES[label] for _m, label in STORE_STEPS if label in TIMES},
        FTS_SQL: TIMES[FTS_SQL],
        "SQLite: everything else in write_items": TIMES[STORE]
        - sum(TIMES[label] for _m, label in STORE_STEPS if label in TIMES)
        - TIMES[FTS_SQL],
    }
    total = parse_wall + TIMES["keying (assign_keys)"] + TIMES[STORE]
    for k, v in stages.items():
        share = "" if k.startswith("HTTP") else f"{100 * v / total:.0f} %"
        print(f"| {k} | {v:.2f} | {1e6 * v / n:.0f} | {share} |")
    opencc = TIMES[T2S] + TIMES[S2T]
    calls = CALLS[T2S] + CALLS[S2T]
    print(
        f"| of which OpenCC conversions ({calls} calls; inside lang, keys, fold) "
        f"| {opencc:.2f} | {1e6 * opencc / n:.0f} | {100 * opencc / total:.0f} % |"
    )
    print(
        f"| **parse + key + store, one thread** | {total:.2f} | {1e6 * total / n:.0f} | "
        f"{n / total:,.0f} items/s |"
    )
    print(
        f"| **poll_once end to end (fetch+parse+store)** | {e2e:.2f} | {1e6 * e2e / n:.0f} | "
        f"{n / e2e:,.0f} items/s |"
    )
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(25)
        print("\ncProfile of poll_once, top 25 by own time:\n")
        print(s.getvalue())


if __name__ == "__main__":
    main()
