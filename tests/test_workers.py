"""Parse worker processes: same items and stored rows as parsing in process, errors cross
back, a pool that dies falls back to parsing in process, the polling process takes what
is beyond the workers' backlog and what comes before they are up."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import respx

from monitor import ingest, pipeline, workers
from monitor.canonical import SiteRules
from monitor.config import parse_config
from monitor.models import ParseError
from monitor.pipeline import poll_once
from monitor.store import open_db
from monitor.workers import BACKLOG, PIPE_BYTES, ParsePool

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
RULES = SiteRules.load_default()
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def seed_bytes(prefix: str) -> bytes:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_bytes()


def parse_with(pool: ParsePool, data: bytes):
    return asyncio.run(pool.parse(data, url=None, site=None))


@pytest.fixture
def pool():
    with ParsePool(RULES, 1) as p:
        p.start()
        assert p.ready(timeout=30)
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


def test_the_pools_pipes_are_widened(pool):
    """Fails when a Python upgrade renames what _widen_pipes reaches for, so the narrow
    default pipes (and the workers' waits on them) come back noticed, not silently."""
    for conn in (pool._pool._call_queue._reader, pool._pool._result_queue._reader):
        assert fcntl.fcntl(conn.fileno(), fcntl.F_GETPIPE_SZ) >= PIPE_BYTES


def test_documents_parse_in_this_process_until_the_workers_are_up(monkeypatch):
    gate = threading.Event()
    real = workers.ProcessPoolExecutor

    def slow_to_start(*args, **kwargs):
        assert gate.wait(30)
        return real(*args, **kwargs)

    here = []

    def counted(data, rules, **kw):
        here.append(data)
        return ingest.parse_and_key(data, rules, **kw)

    monkeypatch.setattr(workers, "ProcessPoolExecutor", slow_to_start)
    monkeypatch.setattr(workers, "parse_and_key", counted)
    with ParsePool(RULES, 1) as p:
        (first,) = parse_with(p, seed_bytes("000"))  # starts the workers, does not wait
        assert here == [seed_bytes("000")] and first.story_key == "epochtimes:n13473224"
        assert not p.ready(timeout=0)
        gate.set()
        assert p.ready(timeout=30)
        (second,) = parse_with(p, seed_bytes("002"))
        assert len(here) == 1  # the worker parsed it
        assert second.story_key == "epochtimes:n13470319"


def test_a_poll_with_nothing_to_parse_starts_no_workers(tmp_path):
    """A poll where every feed answers 304 must not pay for starting processes."""
    config = parse_config({"source": [{"name": "none", "kind": "dir", "path": str(tmp_path)}]})
    with ParsePool(RULES, 1) as p:
        poll_once(open_db(tmp_path / "m.db"), config, config.sources, now=NOW, pool=p)
        assert p._booting is None and p._pool is None


def test_a_poll_whose_documents_all_go_to_the_workers_stores_what_one_process_stores(
    tmp_path, monkeypatch
):
    urls = [f"https://mirror.example/{k}.md" for k in range(5)]
    config = parse_config(
        {"source": [{"name": f"page-{k}", "kind": "page", "url": u} for k, u in enumerate(urls)]}
    )

    def stored(path: Path, pool: ParsePool | None) -> list[tuple]:
        with respx.mock() as mock:
            for k, url in enumerate(urls):
                mock.get(url).respond(200, content=seed_bytes(f"00{k}"))
            db = open_db(path)
            reports = poll_once(db, config, config.sources, now=NOW, pool=pool)
        assert [r.new for r in reports if r.ok] == [1] * 5
        return db.conn.execute(
            "SELECT story_key, title, url, site, published, summary, text, html, images, lang "
            "FROM items ORDER BY story_key"
        ).fetchall()

    expected = stored(tmp_path / "one-process.db", None)

    def not_here(*_a, **_kw):
        raise AssertionError("parsed in the polling process")

    with ParsePool(RULES, 1) as p:
        p.start()
        assert p.ready(timeout=30)
        for module in (workers, pipeline):  # the worker keeps the real one
            monkeypatch.setattr(module, "parse_and_key", not_here)
        assert stored(tmp_path / "workers.db", p) == expected


def test_workers_that_cannot_start_leave_parsing_in_this_process(monkeypatch, caplog):
    def no_semaphores(*_a, **_kw):
        raise OSError("[Errno 38] Function not implemented")  # no /dev/shm in a container

    monkeypatch.setattr(workers, "ProcessPoolExecutor", no_semaphores)
    with ParsePool(RULES, 2) as p:
        (item,) = parse_with(p, seed_bytes("002"))
        assert not p.ready(timeout=30)
        (again,) = parse_with(p, seed_bytes("000"))  # not tried again
    assert (item.story_key, again.story_key) == ("epochtimes:n13470319", "epochtimes:n13473224")
    assert [r.message for r in caplog.records].count(
        "parse workers unavailable ([Errno 38] Function not implemented); parsing in process"
    ) == 1


@pytest.mark.parametrize("in_workers", [False, True])
def test_a_sources_time_zone_reaches_the_parser_in_either_process(tmp_path, in_workers):
    """A hexo bridge's zone-less 2022-03-29 00:43:13 in Beijing time is 16:43 UTC the day
    before, whether the page is parsed here or in a worker."""
    url = "https://mirror.example/post.md"
    hexo = (Path(__file__).parent / "fixtures" / "parsers" / "hexo_naive_date.md").read_bytes()
    config = parse_config(
        {"source": [{"name": "bridge", "kind": "page", "url": url, "timezone": "Asia/Shanghai"}]}
    )
    db = open_db(tmp_path / "m.db")
    with respx.mock() as mock, ParsePool(RULES, 1) as p:
        mock.get(url).respond(200, content=hexo)
        if in_workers:
            p.start()
            assert p.ready(timeout=30)
        (report,) = poll_once(db, config, config.sources, now=NOW, pool=p if in_workers else None)
    assert report.new == 1
    assert db.conn.execute("SELECT published FROM items").fetchall() == [("2022-03-28T16:43:13Z",)]
