"""Fetch layer: outcomes, validators, redirects, size cap, Chinese decoding, politeness.

Mocked with respx except for the 127.0.0.1 tests at the end. pytest-asyncio is not
used: each test drives its coroutine with asyncio.run.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
import respx
from localhttp import LocalServer

from monitor import __version__
from monitor.fetch import (
    MAX_REDIRECTS,
    MB,
    BodyTooLarge,
    FetchRequest,
    FetchResult,
    HostLimiter,
    Outcome,
    _explain,
    classify,
    decode_body,
    fetch,
    make_client,
    origin_of,
    parse_max_age,
    parse_retry_after,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
URL = "https://news.example.com/rss.xml"

# One small RSS document and one HTML page, as a mainland (GBK) and a Taiwan/Hong Kong
# (Big5) site would serve them.
RSS_SIMPLIFIED = (
    '<?xml version="1.0"{decl}?>\n'
    '<rss version="2.0"><channel><title>新华网 时政新闻</title>\n'
    "<item><title>国务院常务会议研究部署进一步稳定经济增长的政策措施</title>\n"
    "<description>会议指出，要坚持稳中求进工作总基调，朱镕基等出席。</description>\n"
    "<link>https://news.example.com/2024/05/01/c_1.htm</link></item>\n"
    "</channel></rss>\n"
)
HTML_TRADITIONAL = (
    "<!DOCTYPE html>\n<html><head>{meta}<title>中央社 即時新聞</title></head>\n"
    "<body><h1>行政院長今日在立法院接受質詢</h1>\n"
    "<p>行政院長表示，政府將持續推動經濟轉型與產業升級，並加強對中小企業的支持。</p>\n"
    "<p>香港特區政府宣布，由下月起放寬入境檢疫措施。</p></body></html>\n"
)


def rss(decl: str = "") -> str:
    return RSS_SIMPLIFIED.format(decl=decl)


def html(meta: str = "") -> str:
    return HTML_TRADITIONAL.format(meta=meta)


def run(req: FetchRequest, **client_kwargs) -> FetchResult:
    async def main() -> FetchResult:
        async with make_client(**client_kwargs) as client:
            return await fetch(client, req, now=NOW)

    return asyncio.run(main())


# --------------------------------------------------------------------------- 200 / 304


@respx.mock
def test_ok_captures_body_and_validators():
    body = rss(' encoding="utf-8"').encode()
    route = respx.get(URL).respond(
        200,
        content=body,
        headers={
            "Content-Type": "application/rss+xml; charset=utf-8",
            "ETag": 'W/"abc123"',
            "Last-Modified": "Tue, 30 Apr 2024 08:00:00 GMT",
        },
    )
    r = run(FetchRequest(URL))
    assert r.outcome is Outcome.OK and not r.outcome.is_error
    assert (r.status, r.url, r.final_url) == (200, URL, URL)
    assert r.content == body and r.bytes == len(body)
    assert r.text == rss(' encoding="utf-8"') and r.encoding == "utf-8"
    assert r.content_type == "application/rss+xml; charset=utf-8"
    assert r.etag == 'W/"abc123"'
    assert r.last_modified == "Tue, 30 Apr 2024 08:00:00 GMT"
    assert r.error is None and r.permanent_redirect is None and r.duration >= 0
    sent = route.calls.last.request.headers
    assert sent["user-agent"] == f"monitor/{__version__} (feed monitor)"
    assert "if-none-match" not in sent and "if-modified-since" not in sent


@respx.mock
def test_conditional_headers_sent_and_304_keeps_validators():
    def respond(request: httpx.Request) -> httpx.Response:
        fresh = request.headers.get("if-none-match") == '"v7"' and request.headers.get(
            "if-modified-since"
        ) == ("Tue, 30 Apr 2024 08:00:00 GMT")
        return httpx.Response(304) if fresh else httpx.Response(200, content=b"<rss/>")

    respx.get(URL).mock(side_effect=respond)
    req = FetchRequest(
        URL,
        etag='"v7"',
        last_modified="Tue, 30 Apr 2024 08:00:00 GMT",
        headers={"X-Extra": "1"},
    )
    r = run(req)
    assert r.outcome is Outcome.NOT_MODIFIED and not r.outcome.is_error
    assert r.status == 304 and r.content is None and r.text is None and r.bytes == 0
    # No new validators in the 304: the request's come back so the caller can store them.
    assert r.etag == '"v7"' and r.last_modified == "Tue, 30 Apr 2024 08:00:00 GMT"
    assert respx.calls.last.request.headers["x-extra"] == "1"


@respx.mock
def test_a_last_modified_stored_in_the_future_is_not_sent():
    """One an older monitor stored: a file server would answer 304 until that date."""
    route = respx.get(URL).respond(200, content=b"<rss/>")
    run(FetchRequest(URL, etag='"v7"', last_modified="Wed, 01 Jan 2031 00:00:00 GMT"))
    sent = route.calls.last.request.headers
    assert sent["if-none-match"] == '"v7"' and "if-modified-since" not in sent


# --------------------------------------------------------------------------- HTTP errors


@respx.mock
@pytest.mark.parametrize(
    "status, outcome, error",
    [
        (404, Outcome.NOT_FOUND, "HTTP 404 Not Found"),
        (410, Outcome.GONE, "HTTP 410 Gone"),
        (403, Outcome.CLIENT_ERROR, "HTTP 403 Forbidden"),
        (500, Outcome.SERVER_ERROR, "HTTP 500 Internal Server Error"),
        (502, Outcome.SERVER_ERROR, "HTTP 502 Bad Gateway"),
    ],
)
def test_http_error_statuses(status, outcome, error):
    respx.get(URL).respond(status, content=b"<html>error page</html>")
    r = run(FetchRequest(URL))
    assert r.outcome is outcome and r.outcome.is_error
    assert r.status == status and r.error == error
    assert r.content is None and r.text is None


@respx.mock
@pytest.mark.parametrize(
    "header, seconds",
    [
        ("120", 120.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),  # already passed
        ("soon", None),
    ],
)
def test_429_retry_after_seconds_and_http_date(header, seconds):
    respx.get(URL).respond(429, headers={"Retry-After": header})
    r = run(FetchRequest(URL))
    assert r.outcome is Outcome.RATE_LIMITED
    assert r.retry_after == seconds
    assert r.error == "HTTP 429 Too Many Requests"


@respx.mock
def test_503_retry_after():
    respx.get(URL).respond(503, headers={"Retry-After": "3600"})
    r = run(FetchRequest(URL))
    assert r.outcome is Outcome.UNAVAILABLE and r.retry_after == 3600.0
    assert r.error == "HTTP 503 Service Unavailable"


# --------------------------------------------------------------------------- transport errors


@respx.mock
@pytest.mark.parametrize(
    "exc, outcome, error",
    [
        (httpx.ReadTimeout, Outcome.TIMEOUT, "read timeout after 20s"),
        (httpx.ConnectTimeout, Outcome.TIMEOUT, "connect timeout after 5s"),
        (httpx.ConnectError, Outcome.CONNECT_ERROR, "connection failed: Mock Error"),
        (httpx.RemoteProtocolError, Outcome.PROTOCOL_ERROR, "RemoteProtocolError: Mock Error"),
    ],
)
def test_transport_errors_become_outcomes(exc, outcome, error):
    respx.get(URL).mock(side_effect=exc)
    r = run(FetchRequest(URL), timeout_connect=5, timeout_read=20)
    assert r.outcome is outcome and r.error == error
    assert r.status is None and r.content is None and r.final_url == URL


def test_unsupported_scheme_is_protocol_error_not_exception():
    r = run(FetchRequest("ftp://news.example.com/rss.xml"))
    assert r.outcome is Outcome.PROTOCOL_ERROR
    assert r.error.startswith("UnsupportedProtocol")


# --------------------------------------------------------------------------- size and emptiness


@respx.mock
def test_oversize_declared_length_is_refused_without_content():
    respx.get(URL).respond(200, content=b"x" * (10 * MB + 1))
    r = run(FetchRequest(URL))
    assert r.outcome is Outcome.TOO_LARGE and r.status == 200
    assert r.content is None and r.text is None
    assert r.error == "body larger than 10 MB"


@respx.mock
@pytest.mark.parametrize(
    "limit, said",
    [(20_000, "19.5 KB"), (20 * 1024, "20 KB"), (1536 * 1024, "1.5 MB"), (1_500_000, "1.43 MB")],
)
def test_oversize_error_gives_the_limit_in_readable_units(limit, said):
    respx.get(URL).respond(200, content=b"x" * (limit + 1))
    r = run(FetchRequest(URL, max_bytes=limit))
    assert r.outcome is Outcome.TOO_LARGE and r.error == f"body larger than {said}"


@respx.mock
def test_oversize_stream_stops_at_max_bytes():
    pulled = []

    async def chunks():
        for _ in range(100):
            pulled.append(1)
            yield b"y" * 100

    respx.get(URL).mock(return_value=httpx.Response(200, content=chunks()))
    r = run(FetchRequest(URL, max_bytes=1000))
    assert r.outcome is Outcome.TOO_LARGE and r.content is None
    assert r.error == "body larger than 1000 bytes"
    assert len(pulled) == 11 and r.bytes == 1100  # stopped right after passing the cap


@respx.mock
@pytest.mark.parametrize("status, body", [(200, b""), (200, b" \r\n\t"), (204, b"")])
def test_empty_body(status, body):
    respx.get(URL).respond(status, content=body)
    r = run(FetchRequest(URL))
    assert r.outcome is Outcome.EMPTY and r.outcome.is_error
    assert r.content is None and r.error.startswith("empty body (HTTP")


# --------------------------------------------------------------------------- redirects


@respx.mock
def test_redirect_loop():
    a, b = "https://a.example.com/feed", "https://b.example.com/feed"
    route_a = respx.get(a).respond(302, headers={"Location": b})
    route_b = respx.get(b).respond(302, headers={"Location": a})
    r = run(FetchRequest(a))
    assert r.outcome is Outcome.REDIRECT_LOOP and r.status is None
    assert r.error.startswith(f"redirect loop: {a} -> {b} -> {a}")
    assert route_a.call_count + route_b.call_count == MAX_REDIRECTS + 1


@respx.mock
def test_long_chain_without_loop_is_capped():
    for i in range(10):
        respx.get(f"https://news.example.com/{i}").respond(301, headers={"Location": f"/{i + 1}"})
    r = run(FetchRequest("https://news.example.com/0"))
    assert r.outcome is Outcome.REDIRECT_LOOP
    assert r.error.startswith("too many redirects")


@respx.mock
@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_reported(status):
    new = "https://www.example.com/feed.xml"
    respx.get(URL).respond(status, headers={"Location": new})
    respx.get(new).respond(200, content=b"<rss/>", headers={"ETag": '"n"'})
    r = run(FetchRequest(URL))
    assert r.outcome is Outcome.OK and r.content == b"<rss/>"
    assert r.url == URL and r.final_url == new and r.permanent_redirect == new
    assert r.etag == '"n"'


@respx.mock
@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_not_reported(status):
    new = "https://cdn.example.com/feed.xml"
    respx.get(URL).respond(status, headers={"Location": new})
    respx.get(new).respond(200, content=b"<rss/>")
    r = run(FetchRequest(URL))
    assert r.outcome is Outcome.OK and r.final_url == new
    assert r.permanent_redirect is None


@respx.mock
def test_permanent_then_temporary_moves_only_to_permanent_target():
    b, c = "https://b.example.com/feed", "https://c.example.com/feed"
    respx.get(URL).respond(301, headers={"Location": b})
    respx.get(b).respond(302, headers={"Location": c})
    respx.get(c).respond(200, content=b"<rss/>")
    r = run(FetchRequest(URL))
    assert r.final_url == c and r.permanent_redirect == b


@respx.mock
def test_permanent_redirect_to_an_error_is_not_reported():
    new = "https://www.example.com/feed.xml"
    respx.get(URL).respond(301, headers={"Location": new})
    respx.get(new).respond(404)
    r = run(FetchRequest(URL))
    assert r.outcome is Outcome.NOT_FOUND and r.permanent_redirect is None


@respx.mock
def test_conditional_headers_follow_the_redirect():
    new = "https://www.example.com/feed.xml"
    respx.get(URL).respond(301, headers={"Location": new})
    target = respx.get(new).respond(304)
    r = run(FetchRequest(URL, etag='"e"'))
    assert r.outcome is Outcome.NOT_MODIFIED and r.permanent_redirect == new
    assert target.calls.last.request.headers["if-none-match"] == '"e"'


# --------------------------------------------------------------------------- caching headers


@respx.mock
def test_cache_control_max_age():
    respx.get(URL).respond(
        200, content=b"<rss/>", headers={"Cache-Control": "public, s-maxage=60, max-age=600"}
    )
    assert run(FetchRequest(URL)).max_age == 600.0


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"cache-control": "max-age=300"}, 300.0),
        ({"cache-control": 'max-age="45", must-revalidate'}, 45.0),
        ({"cache-control": "s-maxage=60"}, None),
        ({"cache-control": "no-cache"}, None),
        # max-age beats Expires
        ({"cache-control": "max-age=10", "expires": "Wed, 01 May 2024 13:00:00 GMT"}, 10.0),
        ({"expires": "Wed, 01 May 2024 12:30:00 GMT"}, 1800.0),
        ({"expires": "Wed, 01 May 2024 11:00:00 GMT"}, 0.0),
        ({"expires": "0"}, 0.0),  # invalid Expires means "already stale"
        ({}, None),
    ],
)
def test_parse_max_age(headers, expected):
    assert parse_max_age(httpx.Headers(headers), NOW) == expected


def test_parse_retry_after_naive_now_is_utc():
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Wed, 01 May 2024 12:01:00 GMT", naive) == 60.0
    assert parse_retry_after(" 5 ", NOW) == 5.0
    assert parse_retry_after(None, NOW) is None


# --------------------------------------------------------------------------- decoding


@respx.mock
def test_gbk_rss_without_declared_charset():
    respx.get(URL).respond(200, content=rss().encode("gbk"), headers={"Content-Type": "text/xml"})
    r = run(FetchRequest(URL))
    assert r.outcome is Outcome.OK
    assert r.text == rss() and r.encoding == "gb18030"


@respx.mock
def test_big5_html_without_declared_charset():
    respx.get(URL).respond(
        200, content=html().encode("big5"), headers={"Content-Type": "text/html"}
    )
    r = run(FetchRequest(URL))
    assert r.text == html() and r.encoding == "big5hkscs"


@pytest.mark.parametrize(
    "text, codec",
    [(rss(), "gbk"), (html(), "gbk"), (rss(), "gb18030"), (html(), "big5"), (html(), "cp950")],
)
def test_undeclared_legacy_chinese_is_detected(text, codec):
    got, encoding = decode_body(text.encode(codec), None)
    assert got == text
    assert encoding == ("big5hkscs" if codec in ("big5", "cp950") else "gb18030")


def test_charset_in_header_upgrades_gb2312():
    # 镕 is GBK but not GB2312: a literal gb2312 decode would fail on it.
    got, encoding = decode_body(rss().encode("gbk"), "application/rss+xml; charset=GB2312")
    assert got == rss() and encoding == "gb18030"


@pytest.mark.parametrize(
    "label, codec, expected",
    [
        ("gb2312", "gb2312", "gb18030"),
        ("GBK", "gbk", "gb18030"),
        ("x-gbk", "gbk", "gb18030"),
        ("big5", "big5", "big5hkscs"),
        ("Big5-HKSCS", "big5hkscs", "big5hkscs"),
    ],
)
def test_legacy_labels_are_read_as_supersets(label, codec, expected):
    assert decode_body("中文新年".encode(codec), f"text/html; charset={label}") == (
        "中文新年",
        expected,
    )


def test_charset_in_xml_prolog():
    doc = rss(' encoding="gb2312"')
    got, encoding = decode_body(doc.encode("gbk"), "application/xml")
    assert got == doc and encoding == "gb18030"


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="big5">',
        "<meta charset=BIG5>",
        '<meta http-equiv="Content-Type" content="text/html; charset=big5">',
    ],
)
def test_meta_charset_big5_upgraded_to_hkscs(meta):
    page = html(meta).replace("宣布", "宣布佢哋嘅")  # Cantonese: HKSCS-only characters
    got, encoding = decode_body(page.encode("big5hkscs"), "text/html")
    assert got == page and encoding == "big5hkscs"


def test_meta_gbk_page():
    page = html('<meta http-equiv="Content-Type" content="text/html; charset=gbk">')
    page = page.replace("行政院長", "国务院总理")
    got, encoding = decode_body(page.encode("gbk"), None)
    assert got == page and encoding == "gb18030"


def test_header_utf8_over_gbk_body_falls_back_to_meta():
    page = html('<meta charset="gbk">')
    got, encoding = decode_body(page.encode("gbk"), "text/html; charset=utf-8")
    assert got == page and encoding == "gb18030"


def test_header_utf8_over_undeclared_gbk_body_is_detected():
    got, encoding = decode_body(rss().encode("gbk"), "text/xml; charset=utf-8")
    assert got == rss() and encoding == "gb18030"


def test_iso_8859_1_header_loses_to_meta_and_to_chinese():
    page = html('<meta charset="big5">')
    assert decode_body(page.encode("big5"), "text/html;charset=ISO-8859-1")[1] == "big5hkscs"
    assert decode_body(rss().encode("gbk"), "text/xml;charset=ISO-8859-1")[1] == "gb18030"
    latin = "Café crème".encode("latin-1")
    assert decode_body(latin, "text/html;charset=ISO-8859-1") == ("Café crème", "iso8859-1")


def test_bom_beats_labels():
    page = html('<meta charset="gbk">')
    assert decode_body(b"\xef\xbb\xbf" + page.encode(), None) == (page, "utf-8-sig")


def test_undeclared_utf8_and_unknown_label():
    assert decode_body(rss().encode(), "text/xml; charset=x-unknown") == (rss(), "utf-8")
    assert decode_body(b"plain ascii", None) == ("plain ascii", "utf-8")


def test_meta_inside_a_feed_is_ignored():
    doc = '<?xml version="1.0"?><rss><description><![CDATA[<meta charset="big5">]]></description>'
    doc += "<title>中文标题 新华网</title></rss>"
    assert decode_body(doc.encode(), None) == (doc, "utf-8")


def test_truncated_multibyte_tail_still_uses_label():
    body = rss().encode("gbk") + "国".encode("gbk")[:1]
    text, encoding = decode_body(body, "text/xml; charset=gbk")
    assert encoding == "gb18030" and text.startswith(rss())


# --------------------------------------------------------------------------- classify


@pytest.mark.parametrize(
    "status, exc, body_len, expected",
    [
        (200, None, 10, Outcome.OK),
        (203, None, 10, Outcome.OK),
        (200, None, 0, Outcome.EMPTY),
        (204, None, 0, Outcome.EMPTY),
        (304, None, 0, Outcome.NOT_MODIFIED),
        (404, None, 0, Outcome.NOT_FOUND),
        (410, None, 0, Outcome.GONE),
        (429, None, 0, Outcome.RATE_LIMITED),
        (503, None, 0, Outcome.UNAVAILABLE),
        (400, None, 0, Outcome.CLIENT_ERROR),
        (451, None, 0, Outcome.CLIENT_ERROR),
        (500, None, 0, Outcome.SERVER_ERROR),
        (504, None, 0, Outcome.SERVER_ERROR),
        (302, None, 0, Outcome.PROTOCOL_ERROR),  # a redirect we could not follow
        (101, None, 0, Outcome.PROTOCOL_ERROR),
        (600, None, 0, Outcome.PROTOCOL_ERROR),
        (None, httpx.TooManyRedirects("x"), 0, Outcome.REDIRECT_LOOP),
        (None, httpx.ReadTimeout("x"), 0, Outcome.TIMEOUT),
        (None, httpx.ConnectTimeout("x"), 0, Outcome.TIMEOUT),
        (None, httpx.PoolTimeout("x"), 0, Outcome.TIMEOUT),
        (None, httpx.ConnectError("x"), 0, Outcome.CONNECT_ERROR),
        (None, httpx.RemoteProtocolError("x"), 0, Outcome.PROTOCOL_ERROR),
        (None, httpx.ReadError("x"), 0, Outcome.PROTOCOL_ERROR),
        (None, httpx.InvalidURL("x"), 0, Outcome.PROTOCOL_ERROR),
        # The exception wins over the status it interrupted.
        (200, BodyTooLarge(10, 11), 0, Outcome.TOO_LARGE),
        (200, httpx.ReadTimeout("x"), 0, Outcome.TIMEOUT),
    ],
)
def test_classify(status, exc, body_len, expected):
    assert classify(status, exc, body_len) is expected


def test_classify_needs_something():
    with pytest.raises(ValueError):
        classify(None, None, 0)


def test_outcomes_have_values_flags_and_descriptions():
    assert {o for o in Outcome if not o.is_error} == {Outcome.OK, Outcome.NOT_MODIFIED}
    assert Outcome.RATE_LIMITED == "rate_limited" and Outcome("gone") is Outcome.GONE
    descriptions = [o.describe() for o in Outcome]
    assert all(descriptions) and len(set(descriptions)) == len(descriptions)


# --------------------------------------------------------------------------- client


def test_clients_share_one_tls_context_instead_of_reloading_the_ca_bundle(monkeypatch):
    """Each poll (each daemon tick) makes a client; loading the CA bundle costs ~40 ms."""
    import ssl

    asyncio.run(make_client().aclose())  # the process's first client loads it
    loads = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        loads.append(args or kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    for proxy in (None, None, "http://127.0.0.1:9"):
        asyncio.run(make_client(proxy=proxy).aclose())
    assert loads == []


def test_make_client_configuration():
    client = make_client(timeout_connect=3, timeout_read=7, user_agent="ua/1")
    assert client.headers["user-agent"] == "ua/1"
    assert client.timeout.connect == 3 and client.timeout.read == 7
    assert client.follow_redirects is False
    # Both proxy kinds are accepted (socks via the httpx[socks] extra).
    for proxy in ("http://127.0.0.1:8080", "socks5://127.0.0.1:1080"):
        asyncio.run(make_client(proxy=proxy).aclose())
    asyncio.run(client.aclose())


# --------------------------------------------------------------------------- HostLimiter


def test_host_limiter_caps_each_host_separately():
    async def main() -> Counter:
        limiter = HostLimiter(per_host=2)
        active: Counter = Counter()
        peak: Counter = Counter()

        async def job(host: str) -> None:
            async with limiter.slot(host):
                active[host] += 1
                peak[host] = max(peak[host], active[host])
                await asyncio.sleep(0.01)
                active[host] -= 1

        await asyncio.gather(*(job("a.example") for _ in range(6)), job("b.example"))
        return peak

    assert asyncio.run(main()) == Counter({"a.example": 2, "b.example": 1})


def test_host_limiter_full_host_does_not_freeze_others():
    async def main() -> None:
        limiter = HostLimiter(per_host=2)
        release = asyncio.Event()

        async def hold() -> None:
            async with limiter.slot("busy.example"):
                await release.wait()

        holders = [asyncio.create_task(hold()) for _ in range(2)]
        waiter = asyncio.create_task(hold())
        await asyncio.sleep(0)

        async def other() -> str:
            async with limiter.slot("free.example"):
                return "done"

        assert await asyncio.wait_for(other(), timeout=1) == "done"
        assert not waiter.done()  # the third request to the busy host is still queued
        release.set()
        await asyncio.wait_for(asyncio.gather(*holders, waiter), timeout=1)

    asyncio.run(main())


def test_host_limiter_block_and_expiry():
    limiter = HostLimiter()
    until = NOW + timedelta(minutes=5)
    assert limiter.blocked_until("a.example") is None
    limiter.block("A.example", until)
    limiter.block("a.example", NOW + timedelta(minutes=1))  # an earlier deadline is ignored
    assert limiter.blocked_until("a.example") == until
    assert limiter.blocked_until("a.example", now=NOW) == until
    assert limiter.blocked_until("b.example", now=NOW) is None
    assert limiter.blocked_until("a.example", now=until) is None  # expired and forgotten
    assert limiter.blocked_until("a.example") is None


def test_host_limiter_blocks_outlive_the_limiter_through_a_shared_dict():
    shared: dict[str, datetime] = {}
    HostLimiter(blocked=shared).block("A.example", NOW + timedelta(minutes=5))
    assert shared == {"a.example": NOW + timedelta(minutes=5)}
    later = HostLimiter(blocked=shared)
    assert later.blocked_until("a.example", now=NOW) == NOW + timedelta(minutes=5)
    assert later.blocked_until("a.example", now=NOW + timedelta(minutes=6)) is None
    assert shared == {}


@pytest.mark.parametrize(
    "outcome, retry_after, blocked_for",
    [
        (Outcome.RATE_LIMITED, 120.0, timedelta(seconds=120)),
        (Outcome.UNAVAILABLE, None, timedelta(seconds=60)),  # default back-off
        (Outcome.RATE_LIMITED, 10**9, timedelta(days=1)),  # absurd Retry-After capped
        (Outcome.SERVER_ERROR, 120.0, None),
        (Outcome.OK, None, None),
    ],
)
def test_host_limiter_observe(outcome, retry_after, blocked_for):
    limiter = HostLimiter()
    result = FetchResult(outcome=outcome, url=URL, final_url=URL, retry_after=retry_after)
    until = limiter.observe(result, now=NOW)
    expected = None if blocked_for is None else NOW + blocked_for
    assert until == expected
    assert limiter.blocked_until("news.example.com") == expected


def test_host_limiter_blocks_only_the_port_that_said_429():
    """Bridges (RSSHub, rss-bridge) often share one box on different ports: a 429 from one
    port holds back that port only; the scheme's default port is the bare host name."""
    limiter = HostLimiter()
    limited = "http://127.0.0.1:8765/rsshub/feed"
    result = FetchResult(Outcome.RATE_LIMITED, url=limited, final_url=limited, retry_after=600)
    until = limiter.observe(result, now=NOW)
    assert until == NOW + timedelta(seconds=600)
    assert limiter.blocked_until(origin_of(limited), now=NOW) == until
    assert limiter.blocked_until(origin_of("http://127.0.0.1:8765/other"), now=NOW) == until
    assert limiter.blocked_until(origin_of("http://127.0.0.1:8766/feed"), now=NOW) is None
    assert limiter.blocked_until(origin_of("http://127.0.0.1/feed"), now=NOW) is None


@pytest.mark.parametrize(
    "url, key",
    [
        ("https://News.Example.com/rss.xml", "news.example.com"),
        ("https://news.example.com:443/rss.xml", "news.example.com"),  # the default port
        ("http://news.example.com:80/rss.xml", "news.example.com"),
        ("https://news.example.com:80/rss.xml", "news.example.com:80"),
        ("http://127.0.0.1:8765/feed", "127.0.0.1:8765"),
        ("http://[::1]:1200/feed", "[::1]:1200"),
    ],
)
def test_origin_of(url, key):
    assert origin_of(url) == key


# --------------------------------------------------------------------------- real sockets


class _Server(LocalServer):
    """A stdlib HTTP server on 127.0.0.1 serving one GBK feed with an ETag."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        seen = self.seen
        body = rss(' encoding="gbk"').encode("gbk")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.path, dict(self.headers)))
                if self.headers.get("If-None-Match") == '"v1"':
                    self.send_response(304)
                    self.send_header("ETag", '"v1"')
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", '"v1"')
                self.send_header("Last-Modified", "Tue, 30 Apr 2024 08:00:00 GMT")
                self.send_header("Cache-Control", "max-age=300")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)


@pytest.fixture
def no_env_proxy(monkeypatch):
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


def test_real_server_200_then_304(no_env_proxy):
    async def main(url: str) -> tuple[FetchResult, FetchResult]:
        async with make_client(timeout_connect=2, timeout_read=5) as client:
            first = await fetch(client, FetchRequest(url), now=NOW)
            again = FetchRequest(url, etag=first.etag, last_modified=first.last_modified)
            return first, await fetch(client, again, now=NOW)

    with _Server() as server:
        first, second = asyncio.run(main(server.url + "/rss.xml"))

    assert first.outcome is Outcome.OK and first.status == 200
    assert first.text == rss(' encoding="gbk"') and first.encoding == "gb18030"
    assert first.etag == '"v1"' and first.max_age == 300.0
    assert second.outcome is Outcome.NOT_MODIFIED and second.status == 304
    assert second.etag == '"v1"' and second.content is None
    (path1, h1), (path2, h2) = server.seen
    assert path1 == path2 == "/rss.xml"
    assert h1["User-Agent"].startswith("monitor/") and "If-None-Match" not in h1
    assert h2["If-None-Match"] == '"v1"'
    assert h2["If-Modified-Since"] == "Tue, 30 Apr 2024 08:00:00 GMT"


def test_a_last_modified_in_the_server_s_future_is_not_sent_back(tmp_path, no_env_proxy):
    """A feed file whose time is ahead (a clock gone wrong, an archive unpacked with future
    times): Python's file server, like others, answers 304 to every If-Modified-Since not
    before the file's time, so sending that date back hid the feed's changes until then."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    path = tmp_path / "rss.xml"
    path.write_text(rss(), encoding="utf-8")
    ahead = time.time() + 30 * 86400
    os.utime(path, (ahead, ahead))

    async def main(url: str) -> tuple[FetchResult, FetchResult]:
        async with make_client(timeout_connect=2, timeout_read=5) as client:
            first = await fetch(client, FetchRequest(url), now=NOW)
            path.write_text(rss().replace("朱镕基", "李强"), encoding="utf-8")  # time: now
            again = FetchRequest(url, etag=first.etag, last_modified=first.last_modified)
            return first, await fetch(client, again, now=NOW)

    with LocalServer(partial(Quiet, directory=str(tmp_path))) as server:
        first, second = asyncio.run(main(server.url + "/rss.xml"))

    assert second.outcome is Outcome.OK and "李强" in second.text
    assert first.outcome is Outcome.OK and first.last_modified is None


class _Trickle(LocalServer):
    """Answers 200 and then a byte every 50 ms: each read is quick, the body never ends."""

    def __init__(self) -> None:
        self.finished = threading.Event()
        finished = self.finished

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.end_headers()
                try:
                    for _ in range(200):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    return  # the client hung up
                finished.set()

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)


def test_a_response_that_trickles_in_is_cut_at_the_deadline(no_env_proxy):
    async def main(url: str) -> FetchResult:
        async with make_client(timeout_connect=2, timeout_read=5) as client:
            return await fetch(client, FetchRequest(url, deadline=0.5), now=NOW)

    with _Trickle() as server:
        r = asyncio.run(main(server.url + "/rss.xml"))
        assert not server.finished.is_set()

    assert (r.outcome, r.status, r.content) == (Outcome.TIMEOUT, 200, None)
    assert r.error == "no complete response within 0.5s"


class _HangUp(LocalServer):
    """Accepts a connection and closes it at once, before a byte of TLS or HTTP."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def handle(self) -> None:
                pass

        super().__init__(Handler)


def test_a_transport_error_without_a_message_is_named_by_its_cause(no_env_proxy):
    """httpx raises some errors with an empty message and the reason in their cause (a
    server that hangs up in the TLS handshake): the error must say what went wrong, not
    ``connection failed: ConnectError``."""

    async def main(url: str) -> FetchResult:
        async with make_client(timeout_connect=2, timeout_read=5) as client:
            return await fetch(client, FetchRequest(url), now=NOW)

    with _HangUp() as server:
        r = asyncio.run(main(server.url.replace("http://", "https://") + "/rss.xml"))

    assert r.outcome is Outcome.CONNECT_ERROR
    assert r.error.startswith("connection failed: ") and "EOF" in r.error


def test_real_http_proxy_is_used(no_env_proxy):
    """make_client(proxy=...) really routes through the proxy: it sees the absolute URL."""

    async def main(proxy: str) -> FetchResult:
        async with make_client(proxy=proxy, timeout_connect=2, timeout_read=5) as client:
            return await fetch(client, FetchRequest("http://feeds.invalid/rss.xml"), now=NOW)

    with _Server() as server:
        r = asyncio.run(main(server.url))

    assert r.outcome is Outcome.OK
    assert server.seen[0][0] == "http://feeds.invalid/rss.xml"


def test_a_refused_connection_says_refused(no_env_proxy):
    """anyio's "All connection attempts failed" hid why: the reason under it is named."""
    with socket.socket() as s:  # a port just free on 127.0.0.1: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main() -> FetchResult:
        async with make_client(timeout_connect=2, timeout_read=5) as client:
            return await fetch(client, FetchRequest(f"http://127.0.0.1:{port}/rss.xml"), now=NOW)

    r = asyncio.run(main())

    assert r.outcome is Outcome.CONNECT_ERROR
    refused = f"[Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}"
    assert r.error == f"connection failed: {refused}"


def test_each_address_tried_says_why_once():
    """A host with several addresses (IPv6 and IPv4) fails each its own way."""
    tried = [
        ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 80)"),
        OSError(errno.ENETUNREACH, "Connect call failed ('::1', 80)"),
        ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('10.0.0.1', 80)"),
    ]
    try:
        try:
            raise OSError("All connection attempts failed") from ExceptionGroup("failed", tried)
        except OSError as e:
            raise httpx.ConnectError(str(e)) from e
    except httpx.ConnectError as e:
        error = _explain(e)

    assert error == (
        f"connection failed: [Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}; "
        f"[Errno {errno.ENETUNREACH}] {os.strerror(errno.ENETUNREACH)}"
    )
