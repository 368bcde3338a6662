"""Parse, key and store the first N feeds of a corpus once, in one process, no HTTP.

A fixed workload for instruction counts: on a shared machine wall time moves by ±30 %
within minutes, while ``valgrind --tool=callgrind`` counts the same instructions for the
same work every time. Two versions of monitor compare side by side by pointing ``--root``
at a checkout of each; the difference between N feeds and 1 feed is the cost of N-1 feeds
(start-up, imports and the first-use tables cancel out)::

    git archive OLD monitor | tar -x -C /tmp/old
    for root in /tmp/old .; do for n in 1 21; do
      valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/ingest_once.py CORPUS --feeds $n --root $root 2>&1 |
        grep Collected
    done; done

``--parse-only`` stops after parsing (``monitor.parsers.parse``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="a corpus folder (python -m bench.corpus)")
    ap.add_argument("--feeds", type=int, default=21, help="how many feeds (default 21)")
    ap.add_argument("--root", help="the checkout whose monitor package to import")
    ap.add_argument("--parse-only", action="store_true", help="parse, do not key or store")
    args = ap.parse_args(argv)
    if args.root:
        sys.path.insert(0, args.root)

    from monitor.canonical import SiteRules
    from monitor.ingest import parse_and_key
    from monitor.parsers import parse
    from monitor.store import Sighting, open_db, save_items

    paths = sorted((args.corpus / "feeds").glob("*.xml"))[: args.feeds]
    if not paths:
        ap.error(f"{args.corpus}: no feeds/*.xml")
    feeds = [(p.read_bytes(), f"http://127.0.0.1/feeds/{p.name}") for p in paths]
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        rules = SiteRules.load_default()
        db = open_db(Path(tmp) / "monitor.db")
        now = datetime(2026, 1, 1, tzinfo=UTC)
        for data, url in feeds:
            if args.parse_only:
                n += len(parse(data, url=url))
                continue
            items = parse_and_key(data, rules, url=url)
            save_items(db, [(it, Sighting("bench", url)) for it in items], now=now)
            n += len(items)
        db.conn.close()
    print(f"{n} items from {len(feeds)} feeds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
