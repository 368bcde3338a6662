"""What filling the full-text index costs, for the shipped table and the alternatives.

``python -m bench.fts_variants CORPUS [--feeds 40] [--repeat 3]``: the corpus items' titles and
texts, folded and bigram-segmented as ``store.index_pending`` makes them, are inserted 500 to a
transaction into a fresh store per variant, as the catch-up after a poll does. Prints µs per
story (median of the runs), file size and the ratio to the shipped table.

The variants are the ideas for a cheaper index: each story's tokens once, FTS5's
``detail=column`` and ``detail=none`` (positions dropped; FTS5 then refuses phrase queries,
so a word of three or more characters would need a verifying pass over the text), larger
pending-terms hashes (``hashsize``, 4 to 32 MB) and lazier merging (``automerge``).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

# name -> (added to the table's options, FTS5 config settings, each story's tokens once)
VARIANTS = {
    "shipped": ("", [], False),
    "distinct tokens (only to price the repeats)": ("", [], True),
    "distinct tokens, detail=column": (", detail=column", [], True),
    "distinct tokens, detail=none": (", detail=none", [], True),
    "hashsize 4 MB": ("", [("hashsize", 4 << 20)], False),
    "hashsize 8 MB": ("", [("hashsize", 8 << 20)], False),
    "hashsize 16 MB": ("", [("hashsize", 16 << 20)], False),
    "hashsize 32 MB": ("", [("hashsize", 32 << 20)], False),
    "automerge 16": ("", [("automerge", 16)], False),
}


def _rows(corpus: Path, feeds: int) -> list[tuple[int, str, str]]:
    from monitor.fulltext import segment
    from monitor.parsers import parse

    paths = sorted((corpus / "feeds").glob("*.xml"))[:feeds]
    if not paths:
        raise SystemExit(f"{corpus}: no feeds/*.xml")
    items = [it for p in paths for it in parse(p.read_bytes(), url=f"http://127.0.0.1/{p.name}")]
    return [(i, segment(it.title), segment(it.text)) for i, it in enumerate(items, 1)]


def _distinct(rows):
    return [(i, *(" ".join(dict.fromkeys(c.split())) for c in cols)) for i, *cols in rows]


def _shipped_ddl(tmp: Path) -> str:
    from monitor.store import open_db

    db = open_db(tmp / "shipped.db")
    (ddl,) = db.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'items_fts'").fetchone()
    db.conn.close()
    return ddl


def fill(path: Path, ddl: str, options, rows) -> float:
    """Seconds to insert ``rows`` into a new table made by ``ddl``, 500 a transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(ddl)
    for name, value in options:
        conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES (?, ?)", (name, value))
    started = time.perf_counter()
    for k in range(0, len(rows), 500):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)", rows[k : k + 500]
        )
        conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="a corpus folder (python -m bench.corpus)")
    ap.add_argument("--feeds", type=int, default=40, help="how many feeds (default 40)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per variant (default 3)")
    args = ap.parse_args(argv)
    rows = _rows(args.corpus, args.feeds)
    distinct = _distinct(rows)
    tokens = sum(len(t.split()) + len(b.split()) for _, t, b in rows) / len(rows)
    once = sum(len(t.split()) + len(b.split()) for _, t, b in distinct) / len(rows)
    with tempfile.TemporaryDirectory() as tmp:
        ddl = _shipped_ddl(Path(tmp))
        results = {}
        for _ in range(args.repeat):
            for k, (name, (detail, options, once_each)) in enumerate(VARIANTS.items()):
                path = Path(tmp) / f"variant-{k}.db"
                variant_ddl = ddl.replace("tokenize='ascii'", f"tokenize='ascii'{detail}")
                took = fill(path, variant_ddl, options, distinct if once_each else rows)
                results.setdefault(name, []).append((took, path.stat().st_size))
                path.unlink()
    print(
        f"{len(rows)} stories, {args.feeds} feeds: {tokens:.0f} tokens each ({once:.0f} distinct)"
    )
    print()
    print("| index | µs per story | × shipped | file MB |")
    print("|---|---:|---:|---:|")
    base = statistics.median(t for t, _ in results["shipped"])
    for name, runs in results.items():
        took = statistics.median(t for t, _ in runs)
        size = statistics.median(s for _, s in runs) / 1e6
        print(f"| {name} | {took / len(rows) * 1e6:,.0f} | {took / base:.2f}× | {size:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
