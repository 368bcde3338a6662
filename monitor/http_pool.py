"""httpcore's connection pool with bookkeeping linear in its connections.

httpcore 1.0's pool runs an assignment pass on every request and every release. Each pass
rebuilds a list of all connections for every idle one (a square in the pool's size), and
asks each idle socket whether the server closed it through anyio's typed attributes, which
build a dict and call ``getpeername`` every time. With a poll's 16–20 connections that was
~1 ms of CPU per request: most of a poll in which every feed answers 304. The fix upstream
(encode/httpcore#1035) is not released; this is the same pass done once per connection.

Used for direct connections only; proxied ones keep httpx's own pool. When the installed
httpx or httpcore lacks what this relies on, :func:`install` leaves the client as it is.
"""

from __future__ import annotations

import select
import socket
from typing import Any

import httpcore
import httpx

try:
    from httpcore._async.connection_pool import AsyncPoolRequest
except ImportError:  # another httpcore: install() then leaves the stock pool in place
    AsyncPoolRequest = None


def _readable(sock: socket.socket | None) -> bool:
    """True when reading would not block: data or EOF (an idle keep-alive connection that
    the server closed), or the socket is gone."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _Stream(httpcore.AsyncNetworkStream):
    """anyio's stream, with the raw socket looked up once instead of on every check."""

    def __init__(self, inner: httpcore.AsyncNetworkStream):
        self._inner = inner
        self._sock = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> _Stream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._sock)
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, *args, **kwargs) -> _Stream:
        return _Stream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args, **kwargs) -> _Stream:
        return _Stream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class LinearPool(httpcore.AsyncConnectionPool):
    """The stock pool, with its assignment pass rewritten to look at each connection once.

    Same decisions as httpcore 1.0.9: closed connections are dropped, expired ones closed
    (checked when a request is waiting, the only time a dead one could be handed out), idle
    ones beyond ``max_keepalive_connections`` closed (oldest first; the stock pass
    compares the count of *all* connections there, a bug fixed upstream in the same
    change), then each queued request gets the first connection that can take it, else a
    new one, else an idle one is closed to make room.

    One decision differs: a connection already handed to a request that has not started
    on it is not handed out again. Its state still reads idle until that request sends,
    so the stock pass gives it to the next request too; one of the two then fails with
    ConnectionNotAvailable and goes round the pool again (three times a request on average
    in a poll of 1,000 feeds, ~0.27 ms of CPU each time). The client is HTTP/1.1 only
    (``make_client``), so a connection serves one request at a time.
    """

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        queued = [r for r in self._requests if r.is_queued()]
        # Handed to a request that has not started on it yet: its state still says idle.
        promised = {r.connection for r in self._requests if r.connection is not None}
        closing = []
        live = []
        for conn in self._connections:
            if conn.is_closed():
                continue
            # Only an idle connection expires (past keep-alive, or the server closed it),
            # and asking polls its socket: done before handing connections to waiting
            # requests, not on every release.
            if queued and conn.is_idle() and conn.has_expired():
                closing.append(conn)
            else:
                live.append(conn)
        idle = [conn for conn in live if conn.is_idle() and conn not in promised]
        surplus = idle[: max(0, len(idle) - self._max_keepalive_connections)]
        for conn in surplus:
            live.remove(conn)
        closing += surplus
        self._connections = live

        for request in queued:
            origin = request.request.url.origin
            conn = next(
                (
                    c
                    for c in live
                    if c not in promised and c.can_handle_request(origin) and c.is_available()
                ),
                None,
            )
            if conn is None:
                if len(live) >= self._max_connections:
                    spare = next((c for c in live if c.is_idle() and c not in promised), None)
                    if spare is None:
                        continue  # stays queued until a connection is released
                    live.remove(spare)
                    closing.append(spare)
                conn = self.create_connection(origin)
                live.append(conn)
            request.assign_to_connection(conn)
            promised.add(conn)
        return closing


def _supported() -> bool:
    """Whether the installed httpx and httpcore have the internals used here."""
    pool = httpcore.AsyncConnectionPool()
    names = ("_connections", "_requests", "_max_connections", "_max_keepalive_connections")
    if AsyncPoolRequest is None:
        return False
    waiting = AsyncPoolRequest(httpcore.Request("GET", "http://localhost/"))
    return (
        all(hasattr(pool, name) for name in names)
        and getattr(waiting, "connection", False) is None
        and callable(getattr(pool, "create_connection", None))
        and callable(getattr(pool, "_assign_requests_to_connections", None))
        and hasattr(httpx.AsyncHTTPTransport(verify=False), "_pool")
    )


SUPPORTED = _supported()


def install(client: httpx.AsyncClient, ssl_context, limits: httpx.Limits) -> bool:
    """Give ``client``'s transport for direct connections a :class:`LinearPool` built with
    the same TLS context and limits; proxies (explicit or from the environment) are
    mounted transports and keep theirs. False when the installed httpx or httpcore is not
    one this was written for: the client then keeps httpx's stock pool."""
    transport = getattr(client, "_transport", None)
    if not SUPPORTED or type(getattr(transport, "_pool", None)) is not httpcore.AsyncConnectionPool:
        return False
    transport._pool = LinearPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_Backend(),
    )
    return True
