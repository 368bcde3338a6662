"""``python -m bench``: monitor and lemon24/reader, in turn, on the same generated corpus.

Each (system, scenario phase, repetition) runs in its own ``python -m bench.worker``
process (its peak RSS is its own); the corpus server runs on a thread of this process and
every figure is the median of ``--repeat`` runs. Ground truth is checked here, after the
worker has exited. See bench/README.md for the scenarios and targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import corpus
from .corpus import MIRROR_FORMATS, SEED_FORMATS, Spec, Truth, story_of
from .server import BenchServer

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SYSTEMS = ("monitor", "reader")
DEFAULT_SCENARIOS = (1, 2, 3, 4, 5)
NAMES = {
    1: "1 cold poll",
    2: "2 warm poll",
    3: "3 scale",
    4: "4 mirror index",
    5: "5 parse from disk",
    6: "6 search (large store)",
}
FORMAT_LABELS = {"hexo-markdown": "hexo, Markdown body"}


class Failed(RuntimeError):
    pass


# --- arguments -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench", description="monitor vs lemon24/reader on a generated corpus"
    )
    ap.add_argument(
        "--scenarios",
        default=None,
        help="comma-separated, of 1-6 (default 1,2,3,4,5; 6 with --full/--large)",
    )
    ap.add_argument("--full", "--large", action="store_true", help="include scenario 6")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (median); default 3")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--latency", type=float, default=0.05, help="seconds per response")
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--scale-feeds", type=int, default=1000)
    ap.add_argument("--scale-items", type=int, default=20)
    ap.add_argument("--mirror-pages", type=int, default=1000)
    ap.add_argument("--mirror-known", type=int, default=990)
    ap.add_argument("--parse-feeds", type=int, default=40, help="feeds parsed in scenario 5")
    ap.add_argument("--large-items", type=int, default=1_000_000)
    ap.add_argument("--search-runs", type=int, default=30)
    ap.add_argument("--like-runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16, help="monitor [monitor] concurrency")
    ap.add_argument("--per-host", type=int, default=16, help="monitor [monitor] per_host")
    ap.add_argument("--parse-workers", type=int, default=0, help="monitor [monitor] parse_workers")
    ap.add_argument("--reader-workers", type=int, default=8)
    ap.add_argument("--cache", type=Path, default=corpus.DEFAULT_CACHE)
    ap.add_argument("--out", type=Path, default=RESULTS, help="where results go")
    ap.add_argument("--workdir", type=Path, default=None, help="stores (default: a temp dir)")
    ap.add_argument("--max-lifetime", type=float, default=4 * 3600, help="server, seconds")
    ap.add_argument("--worker-timeout", type=float, default=1800)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.scenarios:
        a.scenario_set = sorted({int(s) for s in a.scenarios.split(",") if s.strip()})
    else:
        a.scenario_set = [*DEFAULT_SCENARIOS, *([6] if a.full else [])]
    if not set(a.scenario_set) <= set(NAMES):
        ap.error(f"scenarios are 1-6, got {a.scenarios}")
    a.system_list = [s for s in a.systems.split(",") if s]
    return a


# --- running workers -------------------------------------------------------------------------


@dataclass
class Ctx:
    args: argparse.Namespace
    server: BenchServer
    work: Path
    log: list[str] = field(default_factory=list)

    def say(self, msg: str) -> None:
        if not self.args.quiet:
            print(msg, flush=True)


def run_worker(ctx: Ctx, job: dict) -> dict:
    job_path = ctx.work / f"job-{os.getpid()}-{time.monotonic_ns()}.json"
    job_path.write_text(json.dumps(job))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.worker", str(job_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=ctx.args.worker_timeout,
        )
    finally:
        job_path.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise Failed(f"worker {job['system']}/{job['phase']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def base_url(ctx: Ctx, root: Path) -> str:
    return f"{ctx.server.url}/{root.name}"


def fresh(path: Path) -> Path:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    return path


def feed_job(ctx: Ctx, system: str, root: Path, feeds: int, db: Path) -> dict:
    a = ctx.args
    return {
        "system": system,
        "phase": "feeds",
        "base": base_url(ctx, root),
        "feeds": feeds,
        "db": str(db),
        "concurrency": a.concurrency,
        "per_host": a.per_host,
        "parse_workers": a.parse_workers,
        "reader_workers": a.reader_workers,
    }


# --- ground truth ----------------------------------------------------------------------------


def check_monitor_store(db: Path, truth: Truth, expected_ids: set[int]) -> dict:
    """Every expected story stored exactly once, nothing else."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT url, title FROM items").fetchall()
    finally:
        conn.close()
    ids = [story_of(truth, url, title) for url, title in rows]
    found = {i for i in ids if i is not None}
    return {
        "stored": len(rows),
        "expected": len(expected_ids),
        "distinct_stories": len(found),
        "duplicates": len(rows) - len(set(ids)),
        "unknown": sum(i is None for i in ids),
        "missing": len(expected_ids - found),
        "ok": len(rows) == len(expected_ids) and found == expected_ids,
    }


def check_reader_store(db: Path, truth: Truth) -> dict:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT link, title FROM entries").fetchall()
    finally:
        conn.close()
    ids = {story_of(truth, link, title) for link, title in rows}
    ids.discard(None)
    return {
        "stored": len(rows),
        "expected_entries": truth.entries,
        "distinct_stories": len(ids),
        "ok": len(rows) == truth.entries,
    }


# --- scenarios -------------------------------------------------------------------------------


def poll_scenarios(ctx: Ctx, root: Path, truth: Truth, cold_no: int, warm: bool) -> list[dict]:
    """Cold poll on a fresh store, then (``warm``) the same store again; per system, per rep."""
    a = ctx.args
    runs = []
    feeds = truth.spec["feeds"]
    expected = set(truth.story_ids)
    for rep in range(a.repeat):
        order = a.system_list if rep % 2 == 0 else list(reversed(a.system_list))
        for system in order:
            db = fresh(ctx.work / f"{system}-{cold_no}.db")
            job = feed_job(ctx, system, root, feeds, db)
            cold = run_worker(ctx, job)
            cold["check"] = (
                check_monitor_store(db, truth, expected)
                if system == "monitor"
                else check_reader_store(db, truth)
            )
            cold.update(system=system, scenario=cold_no, phase="cold", rep=rep)
            runs.append(cold)
            ctx.say(_line(cold, truth.entries))
            if warm:
                hot = run_worker(ctx, job)
                hot.update(system=system, scenario=cold_no + 1 if cold_no == 1 else cold_no)
                hot.update(phase="warm", rep=rep)
                runs.append(hot)
                ctx.say(_line(hot, truth.entries))
            fresh(db)
    return runs


def _line(r: dict, entries: int) -> str:
    h = r["http"]
    return (
        f"  sc{r['scenario']} {r['phase']:<4} {r['system']:<7} rep{r['rep']}: {r['wall']:7.2f}s "
        f"{entries / r['wall']:8.0f} entries/s  req={h['requests']} 200={h['200']} "
        f"304={h['304']} rss={r['rss_mb']:.0f}MB stored={r.get('stored')}"
        + (f" index={r['index_wall']:.2f}s" if r.get("indexed") else "")
        + (f" errors={r['errors']}" if r.get("errors") else "")
    )


def mirror_scenario(ctx: Ctx, root: Path, truth: Truth) -> list[dict]:
    runs = []
    expected = set(truth.url_story.values()) - set(truth.story_ids) | set(
        truth.title_story.values()
    )
    for rep in range(ctx.args.repeat):
        db = fresh(ctx.work / "mirror.db")
        job = {
            "system": "monitor",
            "phase": "mirror",
            "base": base_url(ctx, root),
            "db": str(db),
            "known": truth.mirror_known,
            "pages": truth.mirror_pages,
            "concurrency": ctx.args.concurrency,
            "per_host": ctx.args.per_host,
        }
        r = run_worker(ctx, job)
        r["check"] = check_monitor_store(db, truth, expected)
        r.update(system="monitor", scenario=4, phase="grown index", rep=rep)
        p1, p2 = r["phases"]
        ctx.say(
            f"  sc4 monitor rep{rep}: first index {p1['page_fetches']} page fetches "
            f"{p1['wall']:.2f}s; grown index {p2['page_fetches']} page fetches {p2['wall']:.2f}s; "
            f"stored {r['check']['stored']}/{truth.mirror_pages}"
        )
        runs.append(r)
        fresh(db)
    return runs


def parse_scenario(ctx: Ctx, root: Path) -> list[dict]:
    runs = []
    for rep in range(ctx.args.repeat):
        for system in ctx.args.system_list:
            job = {
                "system": system,
                "phase": "parse",
                "corpus": str(root),
                "parse_feeds": ctx.args.parse_feeds,
            }
            r = run_worker(ctx, job)
            r.update(system=system, scenario=5, phase="parse", rep=rep)
            fmts = " ".join(f"{k}={v['per_s']:.0f}/s" for k, v in r.get("formats", {}).items())
            ctx.say(
                f"  sc5 {system:<7} rep{rep}: feed items {r['feed_items']['per_s']:.0f}/s {fmts}"
            )
            runs.append(r)
    return runs


def large_scenario(ctx: Ctx) -> tuple[dict, list[dict]]:
    a = ctx.args
    ctx.say(f"  sc6: large store of {a.large_items:,} items (built once, then cached)")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.large",
            "build",
            "--items",
            str(a.large_items),
            "--cache",
            str(a.cache),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=4 * 3600,
    )
    if proc.returncode != 0:
        raise Failed(f"large store build failed:\n{proc.stderr[-3000:]}")
    meta = json.loads(proc.stdout.strip().splitlines()[-1])
    ctx.say(
        f"  sc6: store {meta['path']} ({meta['size_mb']} MB), "
        f"{'cached' if meta['cached'] else 'built'} (build took {meta['build_s']}s)"
    )
    job = {
        "system": "monitor",
        "phase": "search",
        "db": meta["path"],
        "search_runs": a.search_runs,
        "like_runs": a.like_runs,
    }
    r = run_worker(ctx, job)
    r.update(system="monitor", scenario=6, phase="search", rep=0)
    for t in r["terms"]:
        ctx.say(
            f"  sc6 {t['term']}: {t['matches']} matches, search median {t['median_ms']:.2f}ms "
            f"p95 {t['p95_ms']:.2f}ms, LIKE {t['like_median_ms']:.2f}ms, "
            f"the same rows by id {t['fetch_ms']:.2f}ms, same results: {t['same_results']}"
        )
    return meta, [r]


# --- summary ---------------------------------------------------------------------------------


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _summ(runs: list[dict], entries: int | None) -> dict:
    walls = [r["wall"] for r in runs]
    out = {
        "n": len(runs),
        "wall_s": med(walls),
        "walls": walls,
        "requests": med([r["http"]["requests"] for r in runs if "http" in r]),
        "200": med([r["http"]["200"] for r in runs if "http" in r]),
        "304": med([r["http"]["304"] for r in runs if "http" in r]),
        "rss_mb": med([r["rss_mb"] for r in runs]),
        "stored": med([r.get("stored") for r in runs]),
        "index_s": med([r.get("index_wall") for r in runs]),
    }
    if entries:
        out["items_per_s"] = med([entries / w for w in walls])
        if out["index_s"] is not None:
            # Stored and searchable: the poll plus the index catch-up that follows it.
            out["searchable_per_s"] = med(
                [entries / (r["wall"] + r.get("index_wall", 0)) for r in runs]
            )
    return out


def summarize(results: dict, truth: Truth | None, scale_truth: Truth | None) -> list[dict]:
    """One row per (scenario, system) with the median figures, ratio, target and verdict."""
    rows: list[dict] = []
    runs = results["runs"]

    def pick(scenario, system, phase=None):
        return [
            r
            for r in runs
            if r["scenario"] == scenario
            and r["system"] == system
            and (phase is None or r["phase"] == phase)
        ]

    def ratio(a, b):
        return a / b if a is not None and b else None

    if truth and pick(1, "monitor") + pick(1, "reader"):
        s = {sys_: _summ(pick(1, sys_, "cold"), truth.entries) for sys_ in SYSTEMS}
        for sys_ in SYSTEMS:
            if not s[sys_]["n"]:
                continue
            cks = [r["check"] for r in pick(1, sys_, "cold")]
            if sys_ == "monitor":
                ok = all(c["ok"] for c in cks)
                note = (
                    f"stories {cks[0]['stored']}/{cks[0]['expected']}, "
                    f"{cks[0]['duplicates']} duplicates"
                )
                m = s["monitor"]
                if m.get("searchable_per_s") and s["reader"].get("items_per_s"):
                    note += (
                        f"; search index after the poll {m['index_s']:.2f} s: stored and "
                        f"searchable {m['searchable_per_s']:.0f} items/s = "
                        f"{m['searchable_per_s'] / s['reader']['items_per_s']:.2f}× reader"
                    )
                r = ratio(s["monitor"].get("items_per_s"), s["reader"].get("items_per_s"))
                verdict = _cmp(r, lambda x: x >= 5) + " speed, " + _v(ok) + " stories"
                target = "≥ 5× reader items/s; stories = truth"
            else:
                note = (
                    f"entries {cks[0]['stored']}/{truth.entries} "
                    f"({cks[0]['distinct_stories']} distinct stories; no cross-feed dedupe)"
                )
                r, verdict, target = 1.0, "", "baseline"
            rows.append(_row(NAMES[1], sys_, s[sys_], r, target, verdict, note))
    if truth and pick(2, "monitor") + pick(2, "reader"):
        s = {sys_: _summ(pick(2, sys_, "warm"), None) for sys_ in SYSTEMS}
        for sys_ in SYSTEMS:
            if not s[sys_]["n"]:
                continue
            warm = pick(2, sys_, "warm")
            all304 = all(
                w["http"]["304"] == w["http"]["requests"] == w["http"]["conditional"]
                and w["http"]["requests"] == truth.spec["feeds"]
                for w in warm
            )
            parsed = max(w.get("parsed_items", 0) for w in warm)
            note = f"all conditional → 304: {all304}; items parsed: {parsed}"
            if sys_ == "monitor":
                r = ratio(s["monitor"]["wall_s"], s["reader"]["wall_s"])
                verdict = _cmp(r, lambda x: x <= 0.6) + " time, " + _v(all304 and parsed == 0)
                target = "≤ 0.6× reader wall; all 304; 0 parsed"
            else:
                r, verdict, target = 1.0, "", "baseline"
            rows.append(_row(NAMES[2], sys_, s[sys_], r, target, verdict, note))
    if scale_truth and pick(3, "monitor") + pick(3, "reader"):
        sc1 = _summ(pick(1, "monitor", "cold"), truth.entries) if truth else {}
        for phase in ("cold", "warm"):
            s = {
                sys_: _summ(pick(3, sys_, phase), scale_truth.entries if phase == "cold" else None)
                for sys_ in SYSTEMS
            }
            for sys_ in SYSTEMS:
                if not s[sys_]["n"]:
                    continue
                note = ""
                if sys_ == "monitor":
                    rss_ok = s[sys_]["rss_mb"] <= 100
                    if phase == "cold":
                        r = ratio(s["monitor"].get("items_per_s"), s["reader"].get("items_per_s"))
                        rel = ratio(s["monitor"].get("items_per_s"), sc1.get("items_per_s"))
                        cks = [x["check"] for x in pick(3, "monitor", "cold")]
                        note = (
                            f"items/s = {rel:.2f}× scenario 1's; " if rel else ""
                        ) + f"stories {cks[0]['stored']}/{cks[0]['expected']}"
                        verdict = (
                            _v(rss_ok)
                            + " RSS, "
                            + _v(rel is None or rel >= 0.8)
                            + " items/s, "
                            + _v(all(c["ok"] for c in cks))
                            + " stories"
                        )
                        target = "RSS ≤ 100 MB; items/s ≥ 0.8× sc.1"
                    else:
                        r = ratio(s["monitor"]["wall_s"], s["reader"]["wall_s"])
                        verdict, target = _v(rss_ok) + " RSS", "RSS ≤ 100 MB"
                else:
                    r, verdict, target = 1.0, "", "baseline"
                rows.append(_row(f"{NAMES[3]} {phase}", sys_, s[sys_], r, target, verdict, note))
    if pick(4, "monitor"):
        m = pick(4, "monitor")
        p2 = [r["phases"][1] for r in m]
        fetches = [p["page_fetches"] for p in p2]
        expected_new = truth.mirror_new if truth else None
        ok = all(f == expected_new for f in fetches) and all(r["check"]["ok"] for r in m)
        s = {
            "n": len(m),
            "wall_s": med([p["wall"] for p in p2]),
            "walls": [p["wall"] for p in p2],
            "requests": med([p["http"]["requests"] for p in p2]),
            "200": med([p["http"]["200"] for p in p2]),
            "304": med([p["http"]["304"] for p in p2]),
            "rss_mb": med([r["rss_mb"] for r in m]),
        }
        first = med([r["phases"][0]["wall"] for r in m])
        note = (
            f"page fetches {fetches} (expected {expected_new}); first index of "
            f"{truth.mirror_known} pages took {first:.2f}s; stored "
            f"{m[0]['check']['stored']}/{truth.mirror_pages}"
        )
        rows.append(
            _row(NAMES[4], "monitor", s, None, f"exactly {expected_new} page fetches", _v(ok), note)
        )
        rows.append(
            _row(NAMES[4], "reader", None, None, "—", "", "n/a: reader has no mirror/index source")
        )
    if pick(5, "monitor") + pick(5, "reader"):
        mon, rdr = pick(5, "monitor"), pick(5, "reader")
        for fmt in MIRROR_FORMATS if mon else ():
            per_s = med([r["formats"][fmt]["per_s"] for r in mon])
            docs = mon[0]["formats"][fmt]["documents"]
            seed = fmt in SEED_FORMATS  # the target is the seed formats'; the rest are reported
            rows.append(
                {
                    "table": "rate",
                    "scenario": f"{NAMES[5]}: {FORMAT_LABELS.get(fmt, fmt)}",
                    "system": "monitor",
                    "rate": per_s,
                    "unit": "docs/s",
                    "rss_mb": med([r["rss_mb"] for r in mon]),
                    "target": "≥ 1,000 docs/s" if seed else "— (not a seed format)",
                    "verdict": _v(per_s >= 1000) if seed else "",
                    "note": f"{docs} documents",
                }
            )
        feed_rate = {
            name: med([r["feed_items"]["per_s"] for r in rs])
            for name, rs in (("monitor", mon), ("reader", rdr))
            if rs
        }
        for name, rs in (("monitor", mon), ("reader", rdr)):
            if not rs:
                continue
            fi = rs[0]["feed_items"]
            rows.append(
                {
                    "table": "rate",
                    "scenario": f"{NAMES[5]}: feed items",
                    "system": name,
                    "rate": feed_rate[name],
                    "unit": "items/s",
                    "rss_mb": med([r["rss_mb"] for r in rs]),
                    "ratio": ratio(feed_rate.get(name), feed_rate.get("reader")),
                    "target": "≥ 10,000 items/s (incl. text extraction)"
                    if name == "monitor"
                    else "baseline: reader's FeedparserParser",
                    "verdict": _v(feed_rate[name] >= 10000) if name == "monitor" else "",
                    "note": f"{fi['items']} items in {fi['documents']} feeds",
                }
            )
    if pick(6, "monitor"):
        r = pick(6, "monitor")[0]
        for t in r["terms"]:
            ok = (
                t["median_ms"] < 50
                and t["p95_ms"] < 200
                and (t["speedup"] or 0) >= 20
                and t["same_results"]
            )
            rows.append(
                {
                    "table": "search",
                    "scenario": f"{NAMES[6]}: {t['term']}",
                    "system": "monitor",
                    "search_ms": t["median_ms"],
                    "p95_ms": t["p95_ms"],
                    "like_ms": t["like_median_ms"],
                    "ratio": t["speedup"],
                    "target": "median < 50 ms, p95 < 200 ms, ≥ 20× LIKE, same results",
                    "verdict": _v(ok),
                    "note": f"{t['why']}; {t['matches']} matches; same results: "
                    f"{t['same_results']}; the same rows read by id {t['fetch_ms']:.2f} ms, "
                    f"so no method can beat LIKE by more than {t['bound']:,.1f}×",
                }
            )
        d = r["digest"]
        if d["status"] == "measured":
            slow = max(d["watches"].items(), key=lambda kv: kv[1]["median_s"])
            note = (
                f"{d['new_items']:,} new items; "
                + ", ".join(
                    f"{k}: {v['median_s']:.2f}s/{v['stories']} stories/{v['groups']} groups"
                    for k, v in d["watches"].items()
                )
                + f"; slowest {slow[0]}"
            )
            verdict = _v(d["total_s"] < d["target_s"])
        else:
            note, verdict = d["reason"], d["status"]
        rows.append(
            {
                "table": "search",
                "scenario": "6 digest (10,000 new items, 5 watches)",
                "system": "monitor",
                "search_ms": d["total_s"] * 1000 if d.get("total_s") is not None else None,
                "target": f"< {d['target_s']:g} s for all 5",
                "verdict": verdict,
                "note": note,
            }
        )
    return rows


def _v(ok: bool) -> str:
    return "✅" if ok else "❌"


def _cmp(value, test) -> str:
    """A verdict on a ratio to reader; "n/a" when reader did not run."""
    return "n/a" if value is None else _v(test(value))


def _row(scenario, system, s, ratio, target, verdict, note) -> dict:
    row = {"table": "poll", "scenario": scenario, "system": system}
    row.update(target=target, verdict=verdict)
    row["note"] = note
    if s:
        row.update(
            wall_s=s["wall_s"],
            items_per_s=s.get("items_per_s"),
            requests=s.get("requests"),
            ok200=s.get("200"),
            not_modified=s.get("304"),
            rss_mb=s.get("rss_mb"),
            runs=s["n"],
        )
    row["ratio"] = ratio
    return row


def _f(v, fmt="{:.2f}") -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and v.is_integer() and fmt == "{:d}":
        v = int(v)
    return fmt.format(v)


def markdown(rows: list[dict], meta: dict) -> str:
    m = meta["machine"]
    lines = [
        f"Run {meta['started']} · {m['cpus']} CPUs (nproc {m['nproc']}) · Python {m['python']} "
        f"· SQLite {m['sqlite']} · load avg {m['load_start']} → {m['load_end']} · "
        f"repeat {meta['args']['repeat']} (medians) · "
        f"latency {meta['args']['latency'] * 1000:g} ms · commit {meta['git']['commit']}"
        + (" + uncommitted monitor/ changes" if meta["git"]["monitor_dirty"] else ""),
        "",
        "| scenario | system | wall s | items/s | requests | 200 | 304 | peak RSS MB "
        "| × reader | target | met | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        if r["table"] != "poll":
            continue
        lines.append(
            f"| {r['scenario']} | {r['system']} | {_f(r.get('wall_s'))} | "
            f"{_f(r.get('items_per_s'), '{:,.0f}')} | {_f(r.get('requests'), '{:.0f}')} | "
            f"{_f(r.get('ok200'), '{:.0f}')} | {_f(r.get('not_modified'), '{:.0f}')} | "
            f"{_f(r.get('rss_mb'), '{:.0f}')} | {_f(r.get('ratio'), '{:.2f}×')} | "
            f"{r['target']} | {r['verdict']} | {r['note']} |"
        )
    rate_rows = [r for r in rows if r["table"] == "rate"]
    if rate_rows:
        lines += [
            "",
            "| scenario | system | rate | peak RSS MB | × reader | target | met | notes |",
            "|---|---|---:|---:|---:|---|---|---|",
        ]
        for r in rate_rows:
            lines.append(
                f"| {r['scenario']} | {r['system']} | {r['rate']:,.0f} {r['unit']} | "
                f"{_f(r.get('rss_mb'), '{:.0f}')} | {_f(r.get('ratio'), '{:.2f}×')} | "
                f"{r['target']} | {r['verdict']} | {r['note']} |"
            )
    search_rows = [r for r in rows if r["table"] == "search"]
    if search_rows:
        large = meta.get("large") or {}
        lines += [
            "",
            f"Large store: {large.get('items', 0):,} items, {large.get('size_mb')} MB, "
            f"generation {large.get('build_s')} s"
            + (" (cached from an earlier run)" if large.get("cached") else ""),
            "",
            "| scenario | search median ms | p95 ms | LIKE median ms | speed-up | target | met "
            "| notes |",
            "|---|---:|---:|---:|---:|---|---|---|",
        ]
        for r in search_rows:
            lines.append(
                f"| {r['scenario']} | {_f(r.get('search_ms'))} | {_f(r.get('p95_ms'))} | "
                f"{_f(r.get('like_ms'), '{:,.1f}')} | {_f(r.get('ratio'), '{:,.1f}×')} | "
                f"{r['target']} | {r['verdict']} | {r['note']} |"
            )
    return "\n".join(lines) + "\n"


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "nproc": nproc,
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def git_state() -> dict:
    """The commit measured and whether monitor/ had uncommitted changes at the time."""

    def git(*a):
        r = subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    dirty = git("status", "--porcelain", "--", "monitor")
    return {"commit": git("rev-parse", "--short", "HEAD"), "monitor_dirty": dirty or ""}


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# --- main ------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict:
    started = datetime.now(UTC)
    meta = {
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {**machine(), "load_start": _load()},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "git": git_state(),
    }
    sc = set(args.scenario_set)
    truth = scale_truth = None
    root = scale_root = None
    t = time.perf_counter()
    if sc & {1, 2, 4, 5}:
        spec = Spec(args.feeds, args.items, mirror_pages=args.mirror_pages)
        spec = Spec(**{**spec.__dict__, "mirror_known": args.mirror_known})
        root, truth = corpus.ensure(spec, args.cache)
    if 3 in sc:
        root3, scale_truth = corpus.ensure(
            Spec(args.scale_feeds, args.scale_items, mirror_pages=0, mirror_known=0), args.cache
        )
        scale_root = root3
    meta["corpus_s"] = round(time.perf_counter() - t, 1)
    meta["corpus"] = {
        name: {
            "dir": str(r),
            "entries": tr.entries,
            "stories": tr.stories,
            "copies": tr.copies,
            "variants": tr.variants,
            "mirror_pages": tr.mirror_pages,
            "mirror_formats": tr.mirror_formats,
            "bytes": sum(f.stat().st_size for f in (r / "feeds").glob("*.xml")),
        }
        for name, r, tr in (("main", root, truth), ("scale", scale_root, scale_truth))
        if tr is not None
    }
    work = Path(args.workdir or tempfile.mkdtemp(prefix="monitor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    runs: list[dict] = []
    server = BenchServer(args.cache, latency=args.latency, max_lifetime=args.max_lifetime)
    with server:
        ctx = Ctx(args, server, work)
        ctx.say(
            f"corpus server on {server.url}, latency {args.latency * 1000:g} ms; work in {work}"
        )
        try:
            if sc & {1, 2}:
                ctx.say(
                    f"{NAMES[1]} / {NAMES[2]}: {truth.spec['feeds']} feeds × "
                    f"{truth.spec['items']} items"
                )
                runs += poll_scenarios(ctx, root, truth, 1, warm=2 in sc)
                if 1 not in sc:
                    runs = [r for r in runs if r["phase"] != "cold"]
            if 3 in sc:
                ctx.say(
                    f"{NAMES[3]}: {scale_truth.spec['feeds']} feeds × "
                    f"{scale_truth.spec['items']} items"
                )
                runs += poll_scenarios(ctx, scale_root, scale_truth, 3, warm=True)
            if 4 in sc:
                ctx.say(f"{NAMES[4]}: {truth.mirror_known} known pages, then {truth.mirror_pages}")
                runs += mirror_scenario(ctx, root, truth)
            if 5 in sc:
                ctx.say(NAMES[5])
                runs += parse_scenario(ctx, root)
            if 6 in sc:
                ctx.say(NAMES[6])
                meta["large"], more = large_scenario(ctx)
                runs += more
        finally:
            meta["server"] = server.stats()
            if args.workdir is None:
                shutil.rmtree(work, ignore_errors=True)
    meta["machine"]["load_end"] = _load()
    meta["wall_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    results = {"meta": meta, "runs": runs}
    results["summary"] = summarize(results, truth, scale_truth)
    results["markdown"] = markdown(results["summary"], meta)
    return results


def write(results: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stamp = results["meta"]["started"].replace(":", "").replace("-", "")
    json_path = out / f"{stamp}.json"
    json_path.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    md_path = out / "latest.md"
    md_path.write_text(
        f"# Latest benchmark results\n\nCommand: `{results['meta']['command']}`\n\n"
        + results["markdown"]
    )
    shutil.copyfile(json_path, out / "latest.json")
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        results = run(args)
    except Failed as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    json_path, md_path = write(results, args.out)
    print()
    print(results["markdown"])
    print(f"results: {json_path} (summary: {md_path})")
    return 0
