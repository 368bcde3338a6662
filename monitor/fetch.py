"""HTTP fetching: one GET in, one classified :class:`FetchResult` out.

This module knows nothing of parsing or storage. :func:`fetch` never raises for
network or HTTP trouble; every response and exception is mapped to an
:class:`Outcome` in exactly one place, :func:`classify`:

    ===========================================  ===============  ========
    response / exception                          Outcome          is_error
    ===========================================  ===============  ========
    2xx with a body                               OK               no
    304                                           NOT_MODIFIED     no
    2xx, body empty or only whitespace            EMPTY            yes
    404                                           NOT_FOUND        yes
    410                                           GONE             yes
    429                                           RATE_LIMITED     yes
    503                                           UNAVAILABLE      yes
    other 4xx                                     CLIENT_ERROR     yes
    other 5xx                                     SERVER_ERROR     yes
    more than MAX_REDIRECTS hops                  REDIRECT_LOOP    yes
    httpx.TimeoutException (connect/read/...)     TIMEOUT          yes
    httpx.ConnectError (refused, DNS, TLS)        CONNECT_ERROR    yes
    body over FetchRequest.max_bytes              TOO_LARGE        yes
    any other httpx error, bad URL, 1xx, a 3xx    PROTOCOL_ERROR   yes
    that cannot be followed, status >= 600
    ===========================================  ===============  ========

An exception wins over the status it interrupted (a read timeout after
``200 OK`` is TIMEOUT).  Bodies are read only for 2xx responses.
"""

from __future__ import annotations

import asyncio
import enum
import os
import re
import ssl
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

import httpx

from monitor import __version__, http_pool
from monitor.charset import decode_body

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MB
MAX_REDIRECTS = 5
# A reader of server logs sees who is polling and why.
DEFAULT_USER_AGENT = f"monitor/{__version__} (feed monitor)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)


# --------------------------------------------------------------------------- outcomes


class Outcome(enum.StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    REDIRECT_LOOP = "redirect_loop"
    NOT_FOUND = "not_found"
    GONE = "gone"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    CLIENT_ERROR = "client_error"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect_error"
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    PROTOCOL_ERROR = "protocol_error"

    @property
    def is_error(self) -> bool:
        """Only OK and NOT_MODIFIED mean "the source is healthy"."""
        return self not in (Outcome.OK, Outcome.NOT_MODIFIED)

    def describe(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Outcome.OK: "fetched",
    Outcome.NOT_MODIFIED: "not modified since last fetch",
    Outcome.REDIRECT_LOOP: "too many redirects",
    Outcome.NOT_FOUND: "not found (404)",
    Outcome.GONE: "gone for good (410)",
    Outcome.RATE_LIMITED: "rate limited (429)",
    Outcome.UNAVAILABLE: "service unavailable (503)",
    Outcome.CLIENT_ERROR: "client error (4xx)",
    Outcome.SERVER_ERROR: "server error (5xx)",
    Outcome.TIMEOUT: "timed out",
    Outcome.CONNECT_ERROR: "could not connect (refused, DNS or TLS)",
    Outcome.TOO_LARGE: "response body too large",
    Outcome.EMPTY: "empty response body",
    Outcome.PROTOCOL_ERROR: "HTTP protocol or transport error",
}


class BodyTooLarge(Exception):
    """Raised inside :func:`fetch` when the body passes ``max_bytes``; never escapes it."""

    def __init__(self, limit: int, seen: int):
        super().__init__(f"body larger than {_size(limit)}")
        self.limit = limit
        self.seen = seen


class ResponseTooSlow(httpx.TimeoutException):
    """The whole exchange passed ``FetchRequest.deadline``: httpx's timeouts are per
    connect and per read, so a server trickling a byte at a time would hold a poll for ever."""

    def __init__(self, seconds: float):
        super().__init__(f"no complete response within {seconds:g}s")


_STATUS_OUTCOMES = {
    304: Outcome.NOT_MODIFIED,
    404: Outcome.NOT_FOUND,
    410: Outcome.GONE,
    429: Outcome.RATE_LIMITED,
    503: Outcome.UNAVAILABLE,
}


def classify(status: int | None, exc: Exception | None, body_len: int) -> Outcome:
    """The one mapping from what happened to an :class:`Outcome` (see module table).

    ``body_len`` is the length of the body with surrounding whitespace removed.
    """
    if exc is not None:
        if isinstance(exc, BodyTooLarge):
            return Outcome.TOO_LARGE
        if isinstance(exc, httpx.TooManyRedirects):
            return Outcome.REDIRECT_LOOP
        if isinstance(exc, httpx.TimeoutException):
            return Outcome.TIMEOUT
        if isinstance(exc, httpx.ConnectError):
            return Outcome.CONNECT_ERROR
        return Outcome.PROTOCOL_ERROR
    if status is None:
        raise ValueError("classify() needs a status or an exception")
    if status in _STATUS_OUTCOMES:
        return _STATUS_OUTCOMES[status]
    if 200 <= status < 300:
        return Outcome.OK if body_len > 0 else Outcome.EMPTY
    if 400 <= status < 500:
        return Outcome.CLIENT_ERROR
    if 500 <= status < 600:
        return Outcome.SERVER_ERROR
    return Outcome.PROTOCOL_ERROR


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class FetchRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    max_bytes: int = DEFAULT_MAX_BYTES
    deadline: float | None = None  # seconds for the whole exchange, redirects and body
    # Read by whoever builds the client (make_client); fetch() itself ignores it.
    proxy: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """What one fetch produced. ``content``/``text`` are set only when outcome is OK.

    For NOT_MODIFIED, ``etag``/``last_modified`` fall back to the request's, so the
    caller can always store what it gets back.
    """

    outcome: Outcome
    url: str
    final_url: str
    status: int | None = None
    content: bytes | None = None
    text: str | None = None
    encoding: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    max_age: float | None = None
    # Set only for a healthy result reached through a leading run of 301/308 hops:
    # the new permanent address to poll instead of ``url``.
    permanent_redirect: str | None = None
    bytes: int = 0
    duration: float = 0.0
    error: str | None = None


# --------------------------------------------------------------------------- fetch


async def fetch(client: httpx.AsyncClient, req: FetchRequest, *, now: datetime) -> FetchResult:
    """GET ``req.url`` once (following redirects); never raises for network/HTTP trouble.

    ``now`` anchors Retry-After / Expires dates, so the only clock read here is the
    monotonic timer behind ``duration``.
    """
    started = time.monotonic()
    headers = dict(req.headers)
    if req.etag:
        headers["If-None-Match"] = req.etag
    if _past(req.last_modified, None, now):  # one stored by an older monitor may not be
        headers["If-Modified-Since"] = req.last_modified

    response: httpx.Response | None = None
    permanent: str | None = None
    body = b""
    failure: Exception | None = None
    try:
        async with asyncio.timeout(req.deadline):
            request = client.build_request("GET", req.url, headers=headers)
            response, permanent = await _follow(client, request)
            try:
                if response.is_success:
                    body = await _read_capped(response, req.max_bytes)
                elif response.status_code == 304:
                    # An unread body makes httpcore drop the connection; a 304 has none, so
                    # reading it keeps the connection (and its TLS session) for the next poll.
                    await response.aread()
            finally:
                await response.aclose()
    except TimeoutError:
        failure = ResponseTooSlow(req.deadline or 0)
        body = b""
    except (httpx.HTTPError, httpx.InvalidURL, BodyTooLarge) as exc:
        failure = exc

    duration = time.monotonic() - started
    status = response.status_code if response is not None else None
    outcome = classify(status, failure, len(body.strip()))
    if response is None:
        return FetchResult(
            outcome=outcome,
            url=req.url,
            final_url=_failed_url(failure, req.url),
            duration=duration,
            error=_explain(failure),
        )

    h = response.headers
    ok = outcome is Outcome.OK
    text = encoding = None
    if ok:
        text, encoding = decode_body(body, h.get("content-type"))
    not_modified = outcome is Outcome.NOT_MODIFIED
    if failure is not None:
        error = _explain(failure)
    elif outcome is Outcome.EMPTY:
        error = f"empty body ({_status_line(response.status_code)})"
    elif outcome.is_error:
        error = _status_line(response.status_code)
    else:
        error = None
    return FetchResult(
        outcome=outcome,
        url=req.url,
        final_url=str(response.url),
        status=response.status_code,
        content=body if ok else None,
        text=text,
        encoding=encoding,
        content_type=h.get("content-type"),
        etag=h.get("etag") or (req.etag if not_modified else None),
        last_modified=_past(h.get("last-modified"), h.get("date"), now)
        or (req.last_modified if not_modified else None),
        retry_after=parse_retry_after(h.get("retry-after"), now),
        max_age=parse_max_age(h, now),
        permanent_redirect=permanent if not outcome.is_error else None,
        bytes=failure.seen if isinstance(failure, BodyTooLarge) else len(body),
        duration=duration,
        error=error,
    )


async def _follow(
    client: httpx.AsyncClient, request: httpx.Request
) -> tuple[httpx.Response, str | None]:
    """Send, following redirects by hand so redirect bodies are never read and the cap
    does not depend on how the client was built. Returns the open final response and
    the permanent redirect target, if any.
    """
    chain = [str(request.url)]
    permanent: str | None = None
    all_permanent = True
    while True:
        response = await client.send(request, stream=True, follow_redirects=False)
        nxt = response.next_request
        if nxt is None:
            return response, permanent
        await response.aclose()
        # Only a leading run of permanent hops moves the feed: A -301-> B -302-> C means B.
        all_permanent = all_permanent and response.status_code in (301, 308)
        if all_permanent:
            permanent = str(nxt.url)
        chain.append(str(nxt.url))
        if len(chain) - 1 > MAX_REDIRECTS:
            kind = "redirect loop" if len(set(chain)) < len(chain) else "too many redirects"
            raise httpx.TooManyRedirects(f"{kind}: {' -> '.join(chain)}", request=nxt)
        request = nxt


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """Stream the (decompressed) body, giving up as soon as it passes ``max_bytes``."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(max_bytes, 0)
    buf = bytearray()
    async for chunk in response.aiter_bytes():
        buf += chunk
        if len(buf) > max_bytes:
            raise BodyTooLarge(max_bytes, len(buf))
    return bytes(buf)


def _status_line(status: int) -> str:
    return f"HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip()


def _failed_url(exc: Exception | None, default: str) -> str:
    try:
        return str(exc.request.url)  # type: ignore[union-attr]
    except (AttributeError, RuntimeError):
        return default


def _explain(exc: Exception | None) -> str | None:
    """A one-line, human reason for a log or a status page."""
    if exc is None:
        return None
    if isinstance(exc, BodyTooLarge | httpx.TooManyRedirects | ResponseTooSlow):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException):
        kind = {
            httpx.ConnectTimeout: "connect",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }.get(type(exc), "")
        try:
            seconds = exc.request.extensions["timeout"][kind]
        except (RuntimeError, KeyError, TypeError):
            seconds = None
        after = f" after {seconds:g}s" if isinstance(seconds, int | float) else ""
        return f"{kind} timeout{after}".strip()
    detail = str(exc) or _cause(exc) or type(exc).__name__
    if detail == _ALL_FAILED:
        detail = _attempts(exc) or detail
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {detail}"
    if isinstance(exc, httpx.InvalidURL):
        return f"invalid URL: {detail}"
    return f"{type(exc).__name__}: {detail}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions under ``exc``, nearest first (each once: a chain may loop)."""
    seen = {id(exc)}
    while (exc := exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc


def _cause(exc: BaseException) -> str:
    """The first message in the chain of causes: httpx raises some errors without one of
    their own (a TLS handshake the server hung up in, a connection reset), and only the
    ``ssl`` or ``OSError`` under them says what happened."""
    return next((str(e) for e in _causes(exc) if str(e)), "")


# What anyio says when no address of the host took the connection; its cause says why.
_ALL_FAILED = "All connection attempts failed"


def _attempts(exc: BaseException) -> str:
    """Why the connection attempts failed, each reason once: ``[Errno 111] Connection
    refused`` (asyncio words it ``Connect call failed ('127.0.0.1', 9)``), or ""."""
    for e in _causes(exc):
        tried = e.exceptions if isinstance(e, BaseExceptionGroup) else (e,)  # an address each
        reasons = [_reason(t) for t in tried if str(t) not in ("", _ALL_FAILED)]
        if reasons:
            return "; ".join(dict.fromkeys(reasons))
    return ""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return f"[Errno {exc.errno}] {os.strerror(exc.errno)}"
    return str(exc)


def _size(n: int) -> str:
    """``1000 bytes``, ``19.5 KB``, ``1.43 MB``, ``10 MB``: three figures at most, without
    trailing zeros."""
    for unit, size in (("GB", 1024 * MB), ("MB", MB), ("KB", 1024)):
        if n >= size:
            x = n / size
            text = f"{x:.{0 if x >= 99.5 else 1 if x >= 9.95 else 2}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{text} {unit}"
    return "1 byte" if n == 1 else f"{n} bytes"


# --------------------------------------------------------------------------- headers


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _http_date(value: str | None) -> datetime | None:
    try:
        return _aware(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        return None


def _http_date_delta(value: str, now: datetime) -> float | None:
    when = _http_date(value)
    if when is None:
        return None
    return max(0.0, (when - _aware(now)).total_seconds())


def _past(last_modified: str | None, date: str | None, now: datetime) -> str | None:
    """Last-Modified, unless it is later than the response's Date (``now`` without one):
    sent back as If-Modified-Since, a time in the server's future makes many servers answer
    304, "not modified since", to every poll until then, whatever changes."""
    when = _http_date(last_modified)
    clock = _http_date(date) or _aware(now)
    return None if when is not None and when > clock else last_modified


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from ``now``: either ``120`` or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    return _http_date_delta(value, now)


_MAX_AGE = re.compile(r'(?:^|,)\s*max-age\s*=\s*"?(\d+)"?', re.IGNORECASE)


def parse_max_age(headers: Mapping[str, str], now: datetime) -> float | None:
    """Freshness lifetime: Cache-Control max-age, else Expires relative to ``now``.

    An unparsable Expires (``0``, ``-1``) means "already stale" per RFC 9111, so 0.
    """
    m = _MAX_AGE.search(headers.get("cache-control", ""))
    if m:
        return float(m.group(1))
    expires = headers.get("expires")
    if expires is None:
        return None
    delta = _http_date_delta(expires, now)
    return 0.0 if delta is None else delta


# --------------------------------------------------------------------------- client


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """One TLS context per process. Loading the CA bundle costs ~40 ms of CPU, which every
    poll (every daemon tick) paid again for its new client; ``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` are honoured as httpx honours them."""
    return httpx.create_ssl_context()


def make_client(
    *,
    timeout_connect: float = 10,
    timeout_read: float = 30,
    proxy: str | None = None,
    user_agent: str = DEFAULT_USER_AGENT,
    max_connections: int = 20,
) -> httpx.AsyncClient:
    """The daemon's shared client: honest User-Agent, HTTP/1.1, optional http/socks5 proxy.

    Redirects stay off here because :func:`fetch` follows them itself.
    """
    limits = httpx.Limits(max_connections=max_connections)
    tls = tls_context()
    client = httpx.AsyncClient(
        headers={"User-Agent": user_agent, "Accept": ACCEPT},
        timeout=httpx.Timeout(timeout_read, connect=timeout_connect),
        limits=limits,
        proxy=proxy,
        verify=tls,
        http2=False,
        follow_redirects=False,
    )
    # Direct connections: a pool whose bookkeeping stays linear in its size.
    http_pool.install(client, tls, limits)
    return client


# --------------------------------------------------------------------------- politeness


_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_of(url: str) -> str:
    """The host name: the key of the concurrency limit (one machine, whatever the port)."""
    return (urlsplit(url).hostname or "").lower()


def origin_of(url: str) -> str:
    """Host name and port (none for the scheme's default): the key of a Retry-After block.

    A 429/503 comes from one server; another port of the same machine (bridges such as
    RSSHub or rss-bridge side by side) is another server and is not held back.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class HostLimiter:
    """Per-host politeness, leaving other hosts untouched.

    ``slot(host)`` caps concurrent requests to a host (by name, see :func:`host_of`);
    ``block(origin, until)`` records a server's "come back later" (429/503) so the
    scheduler can skip that server — host and port, see :func:`origin_of` — and only that
    one until then.  Blocking is advisory: callers check :meth:`blocked_until` before
    fetching.  Pass your own ``blocked`` dict (origin -> deadline) to keep blocks across
    limiter instances, e.g. from one batch to the next.
    """

    def __init__(
        self,
        per_host: int = 2,
        *,
        blocked: dict[str, datetime] | None = None,
        default_backoff: float = 60.0,
        max_backoff: float = 86400.0,
    ):
        self.per_host = per_host
        self.default_backoff = default_backoff
        self.max_backoff = max_backoff
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._blocked = {} if blocked is None else blocked

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        sem = self._slots.setdefault(host.lower(), asyncio.Semaphore(self.per_host))
        async with sem:
            yield

    def block(self, host: str, until: datetime) -> None:
        """Keep the later of the existing and the new deadline."""
        host = host.lower()
        current = self._blocked.get(host)
        if current is None or until > current:
            self._blocked[host] = until

    def blocked_until(self, host: str, *, now: datetime | None = None) -> datetime | None:
        """The deadline for ``host``; with ``now``, None once it has passed."""
        host = host.lower()
        until = self._blocked.get(host)
        if until is not None and now is not None and until <= now:
            del self._blocked[host]
            return None
        return until

    def observe(self, result: FetchResult, *, now: datetime) -> datetime | None:
        """Block the result's origin after a 429/503, for Retry-After (capped) or a default."""
        if result.outcome not in (Outcome.RATE_LIMITED, Outcome.UNAVAILABLE):
            return None
        seconds = self.default_backoff if result.retry_after is None else result.retry_after
        until = now + timedelta(seconds=min(seconds, self.max_backoff))
        origin = origin_of(result.final_url)
        self.block(origin, until)
        return self.blocked_until(origin)
