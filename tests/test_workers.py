"""Parse worker processes: same items as parsing in process, errors cross back, and a pool
that dies falls back to parsing in process."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
from pathlib import Path

import pytest

from monitor import ingest, workers
from monitor.canonical import SiteRules
from monitor.models import ParseError
from monitor.workers import BACKLOG, PIPE_BYTES, ParsePool

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
RULES = SiteRules.load_default()


def seed_bytes(prefix: str) -> bytes:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_bytes()


def parse_with(pool: ParsePool, data: bytes):
    return asyncio.run(pool.parse(data, url=None, site=None))


@pytest.fixture
def pool():
    with ParsePool(RULES, 1) as p:
        yield p


def test_workers_give_the_same_keyed_and_sketched_items(pool, monkeypatch):
    expected = ingest.parse_and_key(seed_bytes("000"), RULES, with_sketch=True)

    def not_here(*_a, **_kw):
        raise AssertionError("parsed in the polling process")

    monkeypatch.setattr(ingest, "parse", not_here)  # the workers keep the real one
    (item,) = parse_with(pool, seed_bytes("000"))
    assert item.to_dict() == expected[0].to_dict()
    assert item.story_key == "epochtimes:n13473224"
    assert item.sketch == expected[0].sketch and len(item.sketch) == 8


def test_a_parse_error_comes_back_as_itself(pool):
    with pytest.raises(ParseError):
        parse_with(pool, b"\x00\x01 not a document")


def test_a_killed_pool_falls_back_to_parsing_in_process(pool):
    assert parse_with(pool, seed_bytes("001"))
    for pid in list(pool._pool._processes):
        os.kill(pid, signal.SIGKILL)
    (item,) = parse_with(pool, seed_bytes("002"))
    assert item.story_key == "epochtimes:n13470319"
    assert pool._pool is None  # and later documents go straight to this process
    assert parse_with(pool, seed_bytes("003"))


def test_a_backed_up_pool_leaves_the_documents_beyond_its_backlog_to_this_process(
    pool, monkeypatch
):
    here = []

    def counted(data, rules, **kw):
        here.append(data)
        return ingest.parse_and_key(data, rules, **kw)

    monkeypatch.setattr(workers, "parse_and_key", counted)  # the workers keep the real one
    docs = [seed_bytes(f"00{k % 5}") for k in range(BACKLOG + 5)]
    expected = [ingest.parse_and_key(d, RULES)[0].story_key for d in docs]

    async def all_at_once():
        return await asyncio.gather(*(pool.parse(d, url=None, site=None) for d in docs))

    results = asyncio.run(all_at_once())
    # The first BACKLOG went to the worker before any came back; the 5 after them did not wait.
    assert here == docs[BACKLOG:]
    assert [items[0].story_key for items in results] == expected
    assert pool.waiting == 0


def test_the_waiting_count_comes_down_when_a_worker_raises(pool):
    with pytest.raises(ParseError):
        parse_with(pool, b"\x00\x01 not a document")
    assert pool.waiting == 0


def test_the_pools_pipes_are_widened():
    """Fails when a Python upgrade renames what _widen_pipes reaches for, so the narrow
    default pipes (and the workers' waits on them) come back noticed, not silently."""
    with ParsePool(RULES, 1) as p:
        assert parse_with(p, seed_bytes("000"))
        for conn in (p._pool._call_queue._reader, p._pool._result_queue._reader):
            assert fcntl.fcntl(conn.fileno(), fcntl.F_GETPIPE_SZ) >= PIPE_BYTES
