"""The connection pool behind make_client, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler

import httpcore
import httpx
import pytest
from localhttp import LocalServer
from tlscert import client_tls, server_tls

from monitor import http_pool
from monitor.fetch import make_client, tls_context


class _Server(LocalServer):
    """HTTP/1.1 with keep-alive; counts connections and requests. ``close_after`` makes it
    close each connection that long after a response, without saying so (as servers do
    when their keep-alive timeout is shorter than the client's)."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        close_after: float | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.connections = 0
        self.requests = 0
        self.active = 0
        self.peak = 0
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with lock:
                    owner.connections += 1

            def do_GET(self) -> None:
                with lock:
                    owner.requests += 1
                    owner.active += 1
                    owner.peak = max(owner.peak, owner.active)
                time.sleep(delay)
                body = self.path.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                with lock:
                    owner.active -= 1
                if close_after is not None:
                    time.sleep(close_after)
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler, tls=tls)


@pytest.fixture(autouse=True)
def no_env_proxy(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


def _get_all(client: httpx.AsyncClient, urls: list[str]) -> list[httpx.Response]:
    async def one(url: str) -> httpx.Response:
        r = await client.get(url)
        await r.aread()
        return r

    return asyncio.run(_gather_then_close(client, [one(u) for u in urls]))


async def _gather_then_close(client, coros):
    try:
        return await asyncio.gather(*coros)
    finally:
        await client.aclose()


def test_the_installed_httpcore_gets_the_linear_pool():
    """Fails when an httpx or httpcore upgrade makes make_client fall back to the stock
    pool, so the fallback is noticed (and this module revisited) rather than silent."""
    assert http_pool.SUPPORTED
    client = make_client()
    assert type(client._transport._pool) is http_pool.LinearPool
    proxied = make_client(proxy="http://127.0.0.1:9")
    assert all(type(t._pool) is not http_pool.LinearPool for t in proxied._mounts.values())
    asyncio.run(client.aclose())
    asyncio.run(proxied.aclose())


def test_many_requests_share_a_bounded_set_of_connections():
    with _Server(delay=0.02) as server:
        client = make_client(max_connections=4)
        urls = [f"{server.url}/r{i}" for i in range(30)]
        responses = _get_all(client, urls)
    assert [r.status_code for r in responses] == [200] * 30
    assert [r.text for r in responses] == [f"/r{i}" for i in range(30)]
    assert server.requests == 30
    assert server.peak <= 4  # requests beyond the limit waited in the queue
    assert server.connections == 4  # and then reused the same connections


def test_a_connection_goes_to_one_waiting_request_at_a_time(monkeypatch):
    """A connection handed to a request that has not started on it still reads as idle;
    handed to a second request as well, one of the two bounced off it with
    ConnectionNotAvailable and went round the pool again (three times a request, on
    average, in a 1,000-feed poll)."""
    from httpcore._async.connection import AsyncHTTPConnection

    bounced = 0
    send = AsyncHTTPConnection.handle_async_request

    async def counting(self, request):
        nonlocal bounced
        try:
            return await send(self, request)
        except httpcore.ConnectionNotAvailable:
            bounced += 1
            raise

    monkeypatch.setattr(AsyncHTTPConnection, "handle_async_request", counting)
    with _Server(delay=0.002) as server:
        client = make_client(max_connections=4)
        responses = _get_all(client, [f"{server.url}/r{i}" for i in range(60)])
    assert [r.text for r in responses] == [f"/r{i}" for i in range(60)]
    assert server.connections == 4
    assert bounced == 0


def test_a_connection_the_server_closed_while_idle_is_replaced_not_used():
    with _Server(close_after=0.0) as server:

        async def main() -> list[int]:
            async with make_client() as client:
                out = []
                for i in range(3):
                    r = await client.get(f"{server.url}/{i}")
                    out.append(r.status_code)
                    await asyncio.sleep(0.2)  # the server has closed it by now
                return out

        assert asyncio.run(main()) == [200, 200, 200]
    assert server.connections == 3


def _pool(
    tls: ssl.SSLContext | None = None, **kwargs
) -> tuple[httpx.AsyncClient, http_pool.LinearPool]:
    client = httpx.AsyncClient()
    limits = httpx.Limits(**kwargs)
    assert http_pool.install(client, tls or tls_context(), limits)
    return client, client._transport._pool


def test_https_through_the_pool_verifies_and_reuses_the_connection(certificate):
    with _Server(tls=server_tls(certificate)) as server:

        async def main() -> list[tuple[int, str]]:
            client, pool = _pool(client_tls(certificate))
            async with client:
                out = []
                for i in range(3):
                    r = await client.get(f"{server.url}/{i}")
                    stream = r.extensions["network_stream"]
                    out.append((r.status_code, stream.get_extra_info("ssl_object").version()))
                return out

        results = asyncio.run(main())
    assert [code for code, _ in results] == [200, 200, 200]
    assert all(version.startswith("TLS") for _, version in results)
    assert server.connections == 1


def test_https_to_an_untrusted_certificate_fails(certificate):
    with _Server(tls=server_tls(certificate)) as server:

        async def main() -> None:
            client, _ = _pool()  # the system's CAs do not know the test certificate
            async with client:
                await client.get(server.url + "/")

        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            asyncio.run(main())


def test_idle_connections_beyond_the_keepalive_limit_are_closed():
    with _Server(delay=0.05) as server:

        async def main() -> tuple[int, int]:
            client, pool = _pool(max_connections=6, max_keepalive_connections=2)
            async with client:
                await asyncio.gather(*(client.get(f"{server.url}/{i}") for i in range(6)))
                busy = len(pool.connections)
                await client.get(server.url + "/again")  # one more pass over the pool
                return busy, len(pool.connections)

        busy, after = asyncio.run(main())
    assert busy >= 2 and after == 2


def test_a_connection_idle_past_its_keepalive_is_closed_before_the_next_request():
    with _Server() as server:

        async def main() -> list[int]:
            client, pool = _pool(keepalive_expiry=0.1)
            async with client:
                first = await client.get(server.url + "/1")
                kept = pool.connections[0]
                await asyncio.sleep(0.3)
                second = await client.get(server.url + "/2")
                assert pool.connections and kept not in pool.connections
                return [first.status_code, second.status_code]

        assert asyncio.run(main()) == [200, 200]
    assert server.connections == 2


def test_a_full_pool_closes_an_idle_connection_to_another_host():
    with _Server() as a, _Server() as b:

        async def main() -> list[int]:
            client, pool = _pool(max_connections=1)
            async with client:
                codes = []
                for url in (a.url, b.url, a.url):
                    codes.append((await client.get(url + "/x")).status_code)
                    assert len(pool.connections) == 1
                return codes

        assert asyncio.run(main()) == [200, 200, 200]
    assert (a.connections, b.connections) == (2, 1)


def test_install_leaves_a_client_it_was_not_written_for_alone():
    class OtherPool(httpcore.AsyncConnectionPool):
        pass

    client = httpx.AsyncClient()
    client._transport._pool = other = OtherPool()
    assert not http_pool.install(client, tls_context(), httpx.Limits())
    assert client._transport._pool is other
    asyncio.run(client.aclose())
