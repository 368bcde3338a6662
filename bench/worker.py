"""One measurement in its own process, so its peak RSS is its own.

``python -m bench.worker JOB.json`` runs one (system, phase) and prints one JSON object on
its last line of stdout. The job says which system (``monitor`` or ``reader``), which
phase, where the corpus is served and where the store lives. The worker imports only what
its system needs; ground-truth checks happen in the parent (:mod:`bench.run`), so the
truth tables never count against the system's memory.

Phases:

``feeds``   poll every corpus feed once into ``db`` (cold on a new store, warm on an old one)
``mirror``  monitor only: poll the mirror index of ``known`` pages, then the grown index
``parse``   parse corpus documents from disk, one process, no network
``search``  monitor only: scenario 6 on the large store (see :mod:`bench.large`)
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit


def _rss_mb() -> float:
    """Peak RSS of this process, in MB.

    ``VmHWM`` from /proc, not ``ru_maxrss``: Linux carries ``ru_maxrss`` across fork and
    exec, so a worker would report the harness's own RSS (it holds the served corpus) when
    that is larger than its own peak. ``VmHWM`` belongs to the process's current memory map.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _stats(base: str, path: str = "stats") -> dict:
    parts = urlsplit(base)
    with urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/_bench/{path}", timeout=30) as r:
        return json.loads(r.read())


def _delta(after: dict, before: dict) -> dict:
    out = {}
    for k, v in after.items():
        if isinstance(v, dict):
            out[k] = {kk: vv - before.get(k, {}).get(kk, 0) for kk, vv in v.items()}
        elif k == "max_concurrent":
            out[k] = v
        else:
            out[k] = v - before.get(k, 0)
    return out


def feed_urls(base: str, feeds: int) -> list[str]:
    return [f"{base}/feeds/f{i:04d}.xml" for i in range(feeds)]


# --- monitor ---------------------------------------------------------------------------------


def monitor_config(job: dict, sources: list[dict]):
    from monitor.config import parse_config

    settings = {
        "concurrency": job.get("concurrency", 16),
        # Every corpus feed lives on one host (127.0.0.1); the default per_host = 2 would
        # make this a test of politeness, not of speed. See bench/README.md.
        "per_host": job.get("per_host", 16),
        "parse_workers": job.get("parse_workers", 0),
        "timeout": 120,
    }
    return parse_config({"monitor": settings, "source": sources})


def _count_parses():
    """Count the documents and items monitor's poller parses (wrapping, at run time and in
    this process, the one method every fetched document goes through, wherever it is then
    parsed: here or in a worker process)."""
    from monitor.pipeline import Poller

    counts = {"documents": 0, "items": 0}
    real = Poller._parse_fetched

    async def counting(self, source, res):
        items = await real(self, source, res)
        counts["documents"] += 1
        counts["items"] += len(items)
        return items

    Poller._parse_fetched = counting
    return counts


def _tree_rss_mb() -> float:
    """Peak RSS of this process plus the current RSS of its descendants (parse workers).

    Summing RSS counts the pages the workers share with each other (the fork server's
    imports) once per process: an upper bound of the memory the system uses.
    """
    import psutil

    total = _rss_mb()
    for child in psutil.Process().children(recursive=True):
        try:
            total += child.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return total


def monitor_feeds(job: dict) -> dict:
    from monitor.pipeline import poll_once
    from monitor.store import index_pending, open_db
    from monitor.workers import ParsePool

    base = job["base"]
    sources = [
        {"name": f"feed-{i:04d}", "kind": "feed", "url": u}
        for i, u in enumerate(feed_urls(base, job["feeds"]))
    ]
    config = monitor_config(job, sources)
    db = open_db(job["db"])
    parsed = _count_parses()
    rss_ready = _rss_mb()
    before = _stats(base)
    workers = config.settings.parse_workers
    started = time.perf_counter()
    # The pool starts inside the timed region (as `monitor poll` starts its own); it is
    # passed in only so that its workers' memory can be read before it stops.
    pool = ParsePool(config.rules, workers) if workers else None
    try:
        reports = poll_once(db, config, list(config.sources), now=datetime.now(UTC), pool=pool)
        rss = _tree_rss_mb()
    finally:
        if pool is not None:
            pool.close()
    wall = time.perf_counter() - started
    http = _delta(_stats(base), before)
    # The search index is brought up to date after the poll, as `monitor poll` and the
    # daemon do: timed apart, so both "stored" and "stored and searchable" can be reported.
    started = time.perf_counter()
    indexed = index_pending(db)
    index_wall = time.perf_counter() - started
    rss_poll = rss
    rss = max(rss, _rss_mb())
    items = db.conn.execute("SELECT count(*) FROM items").fetchone()[0]
    outcomes: dict[str, int] = {}
    for r in reports:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    return {
        "wall": wall,
        "index_wall": index_wall,
        "indexed": indexed,
        "parse_workers": workers,
        "http": http,
        "rss_mb": rss,
        "rss_poll_mb": rss_poll,
        "rss_ready_mb": rss_ready,
        "stored": items,
        "processed": sum(r.new + r.seen for r in reports),
        "new": sum(r.new for r in reports),
        "parsed_documents": parsed["documents"],
        "parsed_items": parsed["items"],
        "outcomes": outcomes,
        "errors": [r.line() for r in reports if not r.ok][:5],
    }


def monitor_mirror(job: dict) -> dict:
    from monitor.pipeline import poll_once
    from monitor.store import open_db

    base = job["base"]
    index = urlsplit(base).path + "/mirror/index.md"
    config = monitor_config(
        job,
        [{"name": "mirror", "kind": "mirror", "url": base + "/mirror/index.md"}],
    )
    db = open_db(job["db"])
    phases = []
    for n in (job["known"], job["pages"]):
        _stats(base, f"alias?from={index}&to={index[: -len('index.md')]}index-{n}.md")
        before = _stats(base)
        started = time.perf_counter()
        reports = poll_once(db, config, list(config.sources), now=datetime.now(UTC))
        wall = time.perf_counter() - started
        http = _delta(_stats(base), before)
        phases.append(
            {
                "index_entries": n,
                "wall": wall,
                "http": http,
                "page_fetches": http["by_kind"].get("page", 0),
                "new": sum(r.new for r in reports),
                "outcome": [r.outcome for r in reports],
                "errors": [r.error for r in reports if r.error][:3],
                "stored": db.conn.execute("SELECT count(*) FROM items").fetchone()[0],
            }
        )
    return {"phases": phases, "rss_mb": _rss_mb(), "wall": phases[-1]["wall"]}


def monitor_parse(job: dict) -> dict:
    from bench.corpus import MIRROR_FORMATS
    from monitor.parsers import parse

    root = Path(job["corpus"])
    out: dict = {"formats": {}}
    pages = sorted((root / "mirror" / "pages").glob("*.md"))
    step = len(MIRROR_FORMATS)  # page p is in format p % step
    for k, fmt in enumerate(MIRROR_FORMATS):
        docs = [(p.read_bytes(), f"http://127.0.0.1/mirror/pages/{p.name}") for p in pages[k::step]]
        for data, url in docs[:3]:  # warm-up: converters, sanitizer and regex caches
            parse(data, url=url)
        started = time.perf_counter()
        for data, url in docs:
            parse(data, url=url)
        wall = time.perf_counter() - started
        out["formats"][fmt] = {"documents": len(docs), "wall": wall, "per_s": len(docs) / wall}
    feeds = [
        (p.read_bytes(), f"http://127.0.0.1/feeds/{p.name}")
        for p in sorted((root / "feeds").glob("*.xml"))[: job["parse_feeds"]]
    ]
    parse(feeds[-1][0], url=feeds[-1][1])  # warm-up
    started = time.perf_counter()
    n = sum(len(parse(data, url=url)) for data, url in feeds)
    wall = time.perf_counter() - started
    out["feed_items"] = {"items": n, "documents": len(feeds), "wall": wall, "per_s": n / wall}
    out["rss_mb"] = _rss_mb()
    out["wall"] = wall
    return out


# --- reader ----------------------------------------------------------------------------------


def _reader_env() -> None:
    """reader 3.26 vendors a feedparser that imports ``sgmllib`` (the sgmllib3k package),
    which the feedparser 6.0.14 it depends on no longer pulls in (it ships
    ``feedparser_sgmllib``). reader's documented switch makes it use the installed
    feedparser instead: the same one monitor uses."""
    os.environ.setdefault("READER_NO_VENDORED_FEEDPARSER", "1")


def reader_feeds(job: dict) -> dict:
    _reader_env()
    from reader import make_reader
    from reader._parser import feedparser as reader_feedparser  # only to count parses

    counts = {"documents": 0, "items": 0}
    real = reader_feedparser.FeedparserParser.__call__

    def counting(self, *a, **kw):
        feed, entries = real(self, *a, **kw)
        counts["documents"] += 1
        counts["items"] += len(entries)
        return feed, entries

    reader_feedparser.FeedparserParser.__call__ = counting

    base = job["base"]
    reader = make_reader(job["db"])
    for url in feed_urls(base, job["feeds"]):
        reader.add_feed(url, exist_ok=True)
    rss_ready = _rss_mb()
    before = _stats(base)
    started = time.perf_counter()
    # scheduled=False: update every feed now (warm polls would otherwise wait for the
    # feeds' next scheduled update and do nothing).
    reader.update_feeds(workers=job.get("reader_workers", 8), scheduled=False)
    wall = time.perf_counter() - started
    http = _delta(_stats(base), before)
    rss = _rss_mb()
    total = reader.get_entry_counts().total
    errors = [f"{f.url}: {f.last_exception}" for f in reader.get_feeds(broken=True)][:5]
    reader.close()
    return {
        "wall": wall,
        "http": http,
        "rss_mb": rss,
        "rss_ready_mb": rss_ready,
        "stored": total,
        "parsed_documents": counts["documents"],
        "parsed_items": counts["items"],
        "errors": errors,
    }


def reader_parse(job: dict) -> dict:
    """reader's own parse step (feedparser with sanitizing on, then its entry mapping)."""
    import io

    _reader_env()
    from reader._parser.feedparser import FeedparserParser

    parser = FeedparserParser()
    root = Path(job["corpus"])
    feeds = [
        (p.read_bytes(), f"http://127.0.0.1/feeds/{p.name}")
        for p in sorted((root / "feeds").glob("*.xml"))[: job["parse_feeds"]]
    ]
    parser(feeds[-1][1], io.BytesIO(feeds[-1][0]), {})  # warm-up
    started = time.perf_counter()
    n = 0
    for data, url in feeds:
        _feed, entries = parser(url, io.BytesIO(data), {"content-location": url})
        n += len(entries)
    wall = time.perf_counter() - started
    return {
        "feed_items": {"items": n, "documents": len(feeds), "wall": wall, "per_s": n / wall},
        "rss_mb": _rss_mb(),
        "wall": wall,
    }


PHASES = {
    ("monitor", "feeds"): monitor_feeds,
    ("monitor", "mirror"): monitor_mirror,
    ("monitor", "parse"): monitor_parse,
    ("reader", "feeds"): reader_feeds,
    ("reader", "parse"): reader_parse,
}


def run(job: dict) -> dict:
    if job["phase"] == "search":
        from .large import search_phase

        result = search_phase(job)
    else:
        result = PHASES[(job["system"], job["phase"])](job)
    result.setdefault("rss_mb", _rss_mb())
    return result


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    print(json.dumps(run(job), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
