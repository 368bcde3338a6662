"""Where monitor's feed-ingest time goes, stage by stage, on the benchmark corpus.

``python -m bench.profile [--feeds 40] [--cprofile]`` (one process, corpus from the cache):

1. HTTP: the N feeds fetched with monitor.fetch (its client, 16 at once, no added latency),
   from a corpus server in a separate process.
2. Parsing: ``monitor.parsers.parse`` over the same bytes, with each step of
   ``monitor.parsers.feed`` and ``monitor.parsers.body`` timed through wrappers installed
   in this process only (feedparser, nh3 sanitizing, text and images off its output, the
   stored HTML's whitespace, the tree path for the bodies that need it, language
   detection, summary). OpenCC conversions are timed on their own as well; they happen
   inside language detection and keying.
3. Keying: ``monitor.canonical.assign_keys``.
4. Store: ``monitor.store.write_items`` into a fresh store in one transaction (folding and
   the content sketch timed apart from the SQL), then the full-text catch-up that
   ``monitor poll`` runs after the poll (``store.index_pending``).
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
FAST = "fastfeed.read (lxml feed reader, entry dicts, plain bodies' nh3 prediction)"
FEEDPARSER = "feedparser.parse (feeds fastfeed declines)"
STORE = "store (write_items)"
INDEX = "full-text catch-up after the poll (index_pending)"
INDEX_FOLD = "of which folding for the index (NFKC + casefold + t2s)"
SANITIZE = "sanitize (nh3, block tags kept for the text)"
# (module, attribute, label): the parse steps timed in place.
PARSE_STEPS = (
    ("body", "lines_of", "plain markup: text lines (lines_of)"),
    ("body", "tidy_pieces", "plain markup: stored HTML's whitespace (tidy_pieces)"),
    ("body", "text_of_clean", "text off the sanitizer's output"),
    ("body", "images_of_clean", "images off the sanitizer's output"),
    ("body", "tidy", "stored HTML: whitespace squeezed (tidy)"),
    ("feed", "body_text", "summary text (body.text)"),
    ("feed", "fragment", "tree path: lxml fragment parse (bodies that need it)"),
    ("feed", "html_to_text", "tree path: text"),
    ("feed", "images_in", "tree path: images"),
    ("feed", "clean_html", "tree path: sanitize"),
    ("feed", "detect_lang", "language detection (detect_lang)"),
    ("feed", "summarize", "summary (summarize)"),
)
STORE_STEPS = (
    ("story_sketch", "content sketch (story_sketch)"),
    ("_Known.find_copy", "copy lookup by sketch (find_copy)"),
    ("fold", INDEX_FOLD),
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


def _owner(module, name: str) -> tuple[object, str] | None:
    """``(object, attribute)`` for ``name`` or ``Class.method`` in module, if it is there."""
    *path, attr = name.split(".")
    owner = module
    for part in path:
        owner = getattr(owner, part, None)
    return (owner, attr) if callable(getattr(owner, attr, None)) else None


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

        import monitor.parsers.body as bodymod

        modules = {"body": bodymod, "feed": feedmod}
        patched = [(modules[m], attr) for m, attr, _ in PARSE_STEPS]
        for (module, attr), (_m, _a, label) in zip(patched, PARSE_STEPS, strict=True):
            patch(module, attr, label)
        plain_cleaner = bodymod.cleaner
        bodymod.cleaner = lambda *a: timed(SANITIZE, plain_cleaner(*a))
        feedmod.feedparser.parse = timed(FEEDPARSER, feedmod.feedparser.parse)
        patch(feedmod.fastfeed, "read", FAST)
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
        steps = [(*_owner(store, m), lab) for m, lab in STORE_STEPS if _owner(store, m)]
        for owner, attr, label in steps:
            patch(owner, attr, label)
        t = time.perf_counter()
        with transaction(db) as conn:
            write_items(conn, where, now=datetime.now(UTC))
        TIMES[STORE] = time.perf_counter() - t
        t = time.perf_counter()
        store.index_pending(db)
        TIMES[INDEX] = time.perf_counter() - t

        # The end-to-end poll below runs without the wrappers.
        for owner, attr, _label in steps:
            setattr(owner, attr, getattr(owner, attr).__wrapped__)
        for module, attr in patched:
            setattr(module, attr, getattr(module, attr).__wrapped__)
        bodymod.cleaner = plain_cleaner
        feedmod.feedparser.parse = feedmod.feedparser.parse.__wrapped__
        feedmod.fastfeed.read = feedmod.fastfeed.read.__wrapped__
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
    print("| stage | s | µs/item | share of parse+key+store+index |")
    print("|---|---:|---:|---:|")
    parse_steps = [FAST, FEEDPARSER, SANITIZE, *(label for _m, _a, label in PARSE_STEPS)]
    store_steps = [label for _m, label in STORE_STEPS if label in TIMES]
    stages = {
        "HTTP fetch (monitor.fetch, 16 at once, 0 ms latency)": http_wall,
        **{k: TIMES[k] for k in parse_steps},
        "rest of parse (entry mapping, dates, detect, decode)": parse_wall
        - sum(TIMES[k] for k in parse_steps),
        "keying (assign_keys)": TIMES["keying (assign_keys)"],
        **{label: TIMES[label] for label in store_steps if label != INDEX_FOLD},
        "SQLite: everything else in write_items": TIMES[STORE]
        - sum(TIMES[label] for label in store_steps if label != INDEX_FOLD),
        INDEX: TIMES[INDEX],
        INDEX_FOLD: TIMES[INDEX_FOLD],  # store.fold runs in the catch-up, not in write_items
    }
    total = parse_wall + TIMES["keying (assign_keys)"] + TIMES[STORE] + TIMES[INDEX]
    for k, v in stages.items():
        share = "" if k.startswith("HTTP") else f"{100 * v / total:.0f} %"
        print(f"| {k} | {v:.2f} | {1e6 * v / n:.0f} | {share} |")
    opencc = TIMES[T2S] + TIMES[S2T]
    calls = CALLS[T2S] + CALLS[S2T]
    print(
        f"| of which OpenCC conversions ({calls} calls; inside lang and keys) "
        f"| {opencc:.2f} | {1e6 * opencc / n:.0f} | {100 * opencc / total:.0f} % |"
    )
    print(
        f"| **parse + key + store + index, one thread** | {total:.2f} | {1e6 * total / n:.0f} | "
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
