"""A tiny run of the benchmark harness (bench/): both systems, no timing assertions.

It proves the harness still works end to end — corpus, local server, one worker process
per measurement, ground-truth checks, the Markdown table and the JSON file — so a change to
monitor's polling API breaks CI instead of the next benchmark run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("reader", reason="the bench extra (reader, psutil) is not installed")

# bench/ is a top-level package of the repository, not part of the installed monitor.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    args = harness.parse_args(
        [
            "--feeds", "5", "--items", "5",
            "--mirror-pages", "12", "--mirror-known", "10",
            "--parse-feeds", "5", "--repeat", "1", "--latency", "0",
            "--scenarios", "1,2,4,5",
            "--cache", str(tmp / "cache"), "--out", str(tmp / "out"),
            "--max-lifetime", "300", "--worker-timeout", "120", "--quiet",
        ]
    )  # fmt: skip
    res = harness.run(args)
    harness.write(res, args.out)
    return res, args.out


def rows(res, scenario, system):
    return [
        r for r in res["summary"] if r["scenario"].startswith(scenario) and r["system"] == system
    ]


def test_cold_poll_stores_every_story_once(results):
    res, _ = results
    cold = [r for r in res["runs"] if r["phase"] == "cold"]
    assert {r["system"] for r in cold} == {"monitor", "reader"}
    truth = res["meta"]["corpus"]["main"]
    assert truth["entries"] == 25 and truth["stories"] < 25  # the corpus has copies
    mon = next(r for r in cold if r["system"] == "monitor")
    assert mon["check"]["ok"], mon["check"]
    assert mon["stored"] == truth["stories"]
    assert mon["check"]["duplicates"] == 0
    assert mon["http"]["200"] == 5
    assert mon["parsed_items"] == 25  # counted wherever parsing runs
    assert mon["indexed"] == mon["stored"]  # the index catch-up after the poll took them all
    rdr = next(r for r in cold if r["system"] == "reader")
    assert rdr["stored"] == truth["entries"]  # reader keeps every feed's copy


def test_warm_poll_is_all_304_and_parses_nothing(results):
    res, _ = results
    for r in (r for r in res["runs"] if r["phase"] == "warm"):
        assert r["http"]["requests"] == r["http"]["304"] == r["http"]["conditional"] == 5
        assert r["http"]["200"] == 0
        assert r["parsed_items"] == 0


def test_mirror_fetches_only_new_pages(results):
    res, _ = results
    (run,) = [r for r in res["runs"] if r["scenario"] == 4]
    first, grown = run["phases"]
    assert first["page_fetches"] == 10
    assert grown["page_fetches"] == 2
    assert run["check"]["ok"]


def test_summary_table_and_json(results):
    res, out = results
    for scenario in ("1 cold", "2 warm"):
        for system in ("monitor", "reader"):
            (row,) = rows(res, scenario, system)
            assert row["wall_s"] > 0 and row["rss_mb"] > 10 and row["requests"] == 5
    (parse_row,) = rows(res, "5 parse from disk: feed items", "monitor")
    assert parse_row["rate"] > 0
    md = res["markdown"]
    assert "| 1 cold poll | monitor |" in md and "| 2 warm poll | reader |" in md
    saved = json.loads((out / "latest.json").read_text())
    assert saved["summary"] == json.loads(json.dumps(res["summary"]))
    # the three seed formats, plain Markdown, Hexo with Markdown bodies, and feed items (2)
    assert (out / "latest.md").read_text().count("| 5 parse from disk") == 7
    (markdown,) = rows(res, "5 parse from disk: markdown", "monitor")
    assert markdown["rate"] > 0 and markdown["verdict"] == ""


def test_the_fixed_workload_for_instruction_counts_runs(tmp_path, capsys):
    """bench/ingest_once.py: parse, key and store a few corpus feeds, and parse only."""
    from bench import corpus, ingest_once

    root, _ = corpus.ensure(corpus.Spec(feeds=3, items=5, mirror_pages=4, mirror_known=2), tmp_path)
    assert ingest_once.main([str(root), "--feeds", "2"]) == 0
    assert ingest_once.main([str(root), "--feeds", "2", "--parse-only", "--root", "."]) == 0
    assert capsys.readouterr().out.splitlines() == ["10 items from 2 feeds"] * 2


def test_the_index_variants_are_filled_and_priced_against_the_shipped_table(tmp_path, capsys):
    """bench/fts_variants.py: every variant gets the same stories; ratios are to the shipped."""
    from bench import corpus, fts_variants

    root, _ = corpus.ensure(corpus.Spec(feeds=3, items=5, mirror_pages=4, mirror_known=2), tmp_path)
    assert fts_variants.main([str(root), "--feeds", "2", "--repeat", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("10 stories, 2 feeds: ")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in out if line.startswith("| ")}
    assert set(fts_variants.VARIANTS) <= set(rows)
    assert " | 1.00× | " in rows["shipped"]
