"""Delivery against real local servers: aiosmtpd for email, http.server for webhooks.

Everything listens on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import io
import json
import os
import socket
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
from test_render import empty_digest, seed_digest
from tlscert import client_tls, server_tls

from monitor import deliver
from monitor.deliver import (
    DeliveryError,
    SmtpSettings,
    digest_filename,
    post_webhook,
    send_email,
    slugify,
    webhook_host,
    write_file,
    write_stdout,
)
from monitor.render import render, subject

HOST = "127.0.0.1"
SENDER = "monitor <monitor@example.org>"
TO = ["reader@example.org", "二号读者 <second@example.org>"]


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("乌克兰", "乌克兰"),
        ("乌克兰 局势/NATO", "乌克兰-局势-nato"),
        ("Ｕｋｒａｉｎｅ：俄乌", "ukraine-俄乌"),  # full width folded
        ("../../etc/passwd", "etc-passwd"),
        ('a\\b:c*d?e"f<g>h|i', "a-b-c-d-e-f-g-h-i"),
        (".hidden", "hidden"),
        ("", "watch"),
        ("///", "watch"),
        ("CON", "watch-con"),
        ("台" * 200, "台" * 60),
    ],
)
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_filename_uses_watch_and_local_time():
    assert digest_filename(seed_digest(), "md") == "乌克兰-20220129T080000.md"
    assert digest_filename(seed_digest(), "text") == "乌克兰-20220129T080000.txt"
    with pytest.raises(DeliveryError, match="unknown digest format"):
        digest_filename(seed_digest(), "pdf")
    with pytest.raises(DeliveryError, match="not an ISO time"):
        digest_filename(replace(seed_digest(), generated_at="soon"), "md")


def test_write_file_creates_folder_and_leaves_no_temp_files(tmp_path):
    folder = tmp_path / "out" / "digests"
    content = render(seed_digest(), "md")
    path = write_file(folder, seed_digest(), "md", content)
    assert path == folder / "乌克兰-20220129T080000.md"
    assert path.read_text(encoding="utf-8") == content
    assert sorted(p.name for p in folder.iterdir()) == [path.name]
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_write_file_same_digest_again_is_a_noop_another_gets_a_suffix(tmp_path):
    d = seed_digest()
    first = write_file(tmp_path, d, "md", "one\n")
    assert write_file(tmp_path, d, "md", "one\n") == first
    second = write_file(tmp_path, d, "md", "two\n")
    assert second.name == "乌克兰-20220129T080000-2.md"
    assert first.read_text() == "one\n" and second.read_text() == "two\n"
    assert len(list(tmp_path.iterdir())) == 2


def test_write_file_failure_raises_and_cleans_up(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(DeliveryError, match="No space left on device"):
        write_file(tmp_path, seed_digest(), "json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_write_file_into_a_file_path_fails(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(DeliveryError, match="cannot write digest"):
        write_file(blocker / "sub", seed_digest(), "md", "x")


# --- stdout ------------------------------------------------------------------------------


def test_write_stdout():
    out = io.StringIO()
    write_stdout("乌克兰\n", stream=out)
    assert out.getvalue() == "乌克兰\n"


def test_write_stdout_falls_back_to_utf8_bytes_on_a_narrow_terminal():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    write_stdout("乌克兰\n", stream=stream)
    assert raw.getvalue() == "乌克兰\n".encode()


def test_write_stdout_to_a_closed_stream_fails():
    stream = io.StringIO()
    stream.close()
    with pytest.raises(DeliveryError, match="standard output"):
        write_stdout("x", stream=stream)


# --- SMTP settings -----------------------------------------------------------------------

ENV = {"SMTP_HOST": "smtp.example.org", "SMTP_FROM": SENDER}


def test_smtp_settings_from_env_defaults():
    s = SmtpSettings.from_env(ENV)
    assert (s.host, s.port, s.security, s.user, s.password) == (
        "smtp.example.org",
        587,
        "starttls",
        None,
        None,
    )
    assert SmtpSettings.from_env({**ENV, "SMTP_SECURITY": "SSL"}).port == 465
    assert SmtpSettings.from_env({**ENV, "SMTP_SECURITY": "none"}).port == 25
    s = SmtpSettings.from_env(
        {**ENV, "SMTP_PORT": "2525", "SMTP_USER": "u", "SMTP_PASSWORD": " p "}
    )
    assert (s.port, s.user, s.password) == (2525, "u", " p ")
    assert "p " not in repr(s)  # the password stays out of logs


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMTP_FROM": SENDER}, "SMTP_HOST is not set"),
        ({"SMTP_HOST": "h", "SMTP_FROM": "  "}, "SMTP_FROM is not set"),
        ({**ENV, "SMTP_HOST": "smtp..example.org"}, "SMTP_HOST must be a host name, not 'smtp"),
        ({**ENV, "SMTP_HOST": "smtp.example.org:587"}, r"the port goes in SMTP_PORT\)"),
        ({**ENV, "SMTP_USER": "u"}, "SMTP_PASSWORD is not set"),
        ({**ENV, "SMTP_PASSWORD": "p"}, "SMTP_USER is not set"),
        ({**ENV, "SMTP_SECURITY": "tls"}, "SMTP_SECURITY must be one of starttls, ssl, none"),
        ({**ENV, "SMTP_PORT": "smtp"}, "SMTP_PORT must be a port number"),
        ({**ENV, "SMTP_PORT": "70000"}, "SMTP_PORT must be a port number"),
        ({**ENV, "SMTP_TIMEOUT": "long"}, "SMTP_TIMEOUT must be seconds"),
        (
            {**ENV, "SMTP_TIMEOUT": "0"},
            "SMTP_TIMEOUT must be seconds, a number more than 0, not '0'",
        ),
        ({**ENV, "SMTP_TIMEOUT": "-1"}, "SMTP_TIMEOUT must be seconds, a number more than 0"),
        ({**ENV, "SMTP_TIMEOUT": "nan"}, "SMTP_TIMEOUT must be seconds, a number more than 0"),
        ({**ENV, "SMTP_TIMEOUT": "inf"}, "SMTP_TIMEOUT must be seconds, a number more than 0"),
        ({**ENV, "SMTP_TIMEOUT": "1e999"}, "not '1e999'"),
    ],
)
def test_smtp_settings_from_env_errors_name_the_variable(env, message):
    with pytest.raises(DeliveryError, match=message):
        SmtpSettings.from_env(env)


@pytest.mark.parametrize("host", ["smtp.example.org.", "邮件.example.org", "127.0.0.1", "::1"])
def test_smtp_host_names_and_addresses(host):
    assert SmtpSettings.from_env({**ENV, "SMTP_HOST": host}).host == host


# --- a real SMTP server ------------------------------------------------------------------


class Collector:
    """aiosmtpd handler: keeps every accepted message; can refuse a recipient or DATA."""

    def __init__(self, *, refuse_rcpt: str | None = None, refuse_data: str | None = None):
        self.envelopes = []
        self.logins = []
        self.refuse_rcpt = refuse_rcpt
        self.refuse_data = refuse_data

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt and address == self.refuse_rcpt:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return self.refuse_data
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (b"reader", "秘密 pass".encode())
        return AuthResult(success=ok, handled=False)  # False: let aiosmtpd answer 535


@pytest.fixture
def smtp_server():
    """Start an aiosmtpd Controller; yields a function (handler, **kwargs) -> port."""
    started = []

    def start(handler, **kwargs):
        port = free_port()
        controller = Controller(handler, hostname=HOST, port=port, **kwargs)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def plain(port: int, **kw) -> SmtpSettings:
    return SmtpSettings(host=HOST, port=port, sender=SENDER, security="none", timeout=10, **kw)


def test_email_arrives_with_headers_and_both_parts(smtp_server):
    handler = Collector()
    port = smtp_server(handler)
    d = seed_digest()
    text, html = render(d, "text"), render(d, "html")
    message_id = send_email(d, to=TO, text=text, html=html, settings=plain(port))

    (envelope,) = handler.envelopes
    assert envelope.mail_from == "monitor@example.org"
    assert envelope.rcpt_tos == ["reader@example.org", "second@example.org"]
    raw = envelope.original_content
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # 7-bit headers only
    raw_subject = next(h for h in headers.split("\r\n") if h.startswith("Subject:"))
    assert "=?utf-8?" in raw_subject.lower()  # RFC 2047 encoded words, not raw UTF-8

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == subject(d) == "[monitor] 乌克兰: 3 new stories (2022-01-29)"
    assert msg["From"].addresses[0].addr_spec == "monitor@example.org"
    assert [a.addr_spec for a in msg["To"].addresses] == [
        "reader@example.org",
        "second@example.org",
    ]
    assert msg["To"].addresses[1].display_name == "二号读者"
    sent = email.utils.parsedate_to_datetime(msg["Date"])
    assert abs((dt.datetime.now(dt.UTC) - sent).total_seconds()) < 60
    assert msg["Message-ID"] == message_id
    assert message_id.startswith("<") and message_id.endswith("@example.org>")

    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    body_text = parts[0].get_content().replace("\r\n", "\n")
    body_html = parts[1].get_content().replace("\r\n", "\n")
    assert body_text == text
    assert body_html == html
    assert "拜登普京本月第二度通话 双方互发警告" in body_text
    assert "视频2小时！拜登威胁制裁，普京：北约需承诺不东扩" in body_html


def test_email_data_refused_raises(smtp_server):
    port = smtp_server(Collector(refuse_data="550 5.7.1 Message rejected as spam"))
    with pytest.raises(DeliveryError, match="550 5.7.1 Message rejected as spam"):
        send_email(seed_digest(), to=TO[:1], text="t", html="<p>h</p>", settings=plain(port))


def test_email_one_recipient_refused_is_not_a_silent_success(smtp_server):
    handler = Collector(refuse_rcpt="second@example.org")
    port = smtp_server(handler)
    with pytest.raises(DeliveryError, match=r"refused some recipients.*second@example\.org.*550"):
        send_email(seed_digest(), to=TO, text="t", html="<p>h</p>", settings=plain(port))


def test_email_every_recipient_refused_raises(smtp_server):
    port = smtp_server(Collector(refuse_rcpt="reader@example.org"))
    with pytest.raises(DeliveryError, match="refused every recipient"):
        send_email(seed_digest(), to=TO[:1], text="t", html="<p>h</p>", settings=plain(port))


class QuitFails(SMTP):
    """A server that takes the message, then answers QUIT with an error and hangs up."""

    async def smtp_QUIT(self, arg):
        await self.push("451 4.3.0 Temporary failure on quit")
        self.transport.close()


class QuitFailsController(Controller):
    def factory(self):
        return QuitFails(self.handler, **self.SMTP_kwargs)


def test_email_taken_by_the_server_is_delivered_whatever_quit_answers():
    handler = Collector()
    controller = QuitFailsController(handler, hostname=HOST, port=free_port())
    controller.start()
    try:
        settings = plain(controller.port)
        message_id = send_email(seed_digest(), to=TO[:1], text="t", html="h", settings=settings)
    finally:
        controller.stop()
    (envelope,) = handler.envelopes  # sent once: a failure here would send it again
    assert message_id in envelope.original_content.decode("ascii", "replace")


def test_email_to_a_closed_port_raises():
    with pytest.raises(DeliveryError, match=r"127\.0\.0\.1:\d+ failed: ConnectionRefusedError"):
        send_email(seed_digest(), to=TO, text="t", html="h", settings=plain(free_port()))


def test_email_needs_recipients_and_clean_headers():
    with pytest.raises(DeliveryError, match="no email recipients"):
        send_email(seed_digest(), to=[" "], text="t", html="h", settings=plain(1))
    with pytest.raises(DeliveryError, match="cannot build the digest email"):
        send_email(
            seed_digest(),
            to=["a@example.org\r\nBcc: victim@example.org"],
            text="t",
            html="h",
            settings=plain(1),
        )
    with pytest.raises(DeliveryError, match="invalid To address"):
        send_email(seed_digest(), to=["not an address"], text="t", html="h", settings=plain(1))


def test_email_refuses_credentials_without_tls():
    settings = plain(1, user="reader", password="secret")
    with pytest.raises(DeliveryError, match="unencrypted"):
        send_email(seed_digest(), to=TO, text="t", html="h", settings=settings)


# --- TLS ---------------------------------------------------------------------------------


def tls_settings(port, certificate, security, **kw) -> SmtpSettings:
    return SmtpSettings(
        host=HOST,
        port=port,
        sender=SENDER,
        security=security,
        timeout=10,
        ssl_context=client_tls(certificate),
        **kw,
    )


def test_starttls_with_login(smtp_server, certificate):
    handler = Collector()
    port = smtp_server(
        handler,
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=handler.authenticate,
        auth_require_tls=True,
    )
    settings = tls_settings(port, certificate, "starttls", user="reader", password="秘密 pass")
    send_email(seed_digest(), to=TO[:1], text="纯文本", html="<p>网页</p>", settings=settings)
    assert handler.logins == [(b"reader", "秘密 pass".encode())]
    (envelope,) = handler.envelopes
    assert envelope.rcpt_tos == ["reader@example.org"]


def test_starttls_wrong_password_raises(smtp_server, certificate):
    handler = Collector()
    port = smtp_server(
        handler,
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=handler.authenticate,
    )
    settings = tls_settings(port, certificate, "starttls", user="reader", password="wrong")
    with pytest.raises(DeliveryError, match="535"):
        send_email(seed_digest(), to=TO[:1], text="t", html="h", settings=settings)
    assert handler.envelopes == []


def test_starttls_server_refuses_plain_smtp(smtp_server, certificate):
    port = smtp_server(Collector(), tls_context=server_tls(certificate), require_starttls=True)
    with pytest.raises(DeliveryError, match="530"):
        send_email(seed_digest(), to=TO[:1], text="t", html="h", settings=plain(port))


def test_starttls_verifies_the_certificate(smtp_server, certificate):
    port = smtp_server(Collector(), tls_context=server_tls(certificate), require_starttls=True)
    untrusting = SmtpSettings(host=HOST, port=port, sender=SENDER, security="starttls", timeout=10)
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        send_email(seed_digest(), to=TO[:1], text="t", html="h", settings=untrusting)


def test_starttls_missing_is_an_error_not_a_downgrade(smtp_server, certificate):
    handler = Collector()
    port = smtp_server(handler)  # no TLS offered
    with pytest.raises(DeliveryError, match="STARTTLS"):
        send_email(
            seed_digest(),
            to=TO[:1],
            text="t",
            html="h",
            settings=tls_settings(port, certificate, "starttls"),
        )
    assert handler.envelopes == []


def test_implicit_tls(smtp_server, certificate):
    handler = Collector()
    port = smtp_server(handler, ssl_context=server_tls(certificate))
    send_email(
        seed_digest(),
        to=TO[:1],
        text="t",
        html="h",
        settings=tls_settings(port, certificate, "ssl"),
    )
    assert len(handler.envelopes) == 1


# --- a real HTTP server for webhooks -----------------------------------------------------


class Hook:
    """A scripted webhook receiver: answers each request with the next (status, headers)."""

    def __init__(self, *answers: tuple[int, dict[str, str]] | int):
        self.answers = [a if isinstance(a, tuple) else (a, {}) for a in answers]
        self.requests: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status, headers = hook.answers.pop(0) if hook.answers else (200, {})
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hooks/monitor"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def hook():
    made = []

    def make(*answers):
        made.append(Hook(*answers))
        return made[-1]

    yield make
    for h in made:
        h.close()


@pytest.fixture
def client():
    with httpx.Client(trust_env=False, timeout=10) as c:  # never via a proxy
        yield c


PAYLOAD = json.loads(render(seed_digest(), "json"))


def test_webhook_500_then_200_is_delivered_once(hook, client):
    h = hook(500, 200)
    sleeps = []
    response = post_webhook(h.url, PAYLOAD, client=client, sleep=sleeps.append)
    assert response.status_code == 200
    assert len(h.requests) == 2
    assert sleeps == [1.0]
    first, second = h.requests
    assert first["path"] == "/hooks/monitor"
    assert json.loads(second["body"].decode("utf-8")) == PAYLOAD
    assert "乌克兰".encode() in second["body"]  # UTF-8, not \u escapes
    assert second["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert second["headers"]["User-Agent"].startswith("monitor/")
    # Same delivery id on every attempt, so the receiver can drop a duplicate.
    assert first["headers"]["X-Monitor-Delivery"] == second["headers"]["X-Monitor-Delivery"]


def test_webhook_delivery_id_names_the_digest_not_the_attempt_or_the_time(hook, client):
    """A digest sent again (its delivery failed, or monitor stopped before recording it)
    carries the same id, so the receiver can drop it; another digest gets another id."""
    h = hook()

    def sent_id(url, payload) -> str:
        post_webhook(url, payload, client=client, sleep=pytest.fail)
        return h.requests[-1]["headers"]["X-Monitor-Delivery"]

    first = sent_id(h.url, PAYLOAD)
    assert first == deliver.delivery_id(h.url, PAYLOAD)
    later = {**PAYLOAD, "generated_at": "2031-01-01T08:00:00+08:00", "digest_id": 7}
    assert sent_id(h.url, later) == first  # made again next run: the same stories
    fewer = {**PAYLOAD, "entries": PAYLOAD["entries"][1:]}
    assert sent_id(h.url, fewer) != first
    assert sent_id(h.url, {**PAYLOAD, "watch": "other"}) != first
    assert sent_id(h.url + "/other", PAYLOAD) != first  # another webhook
    empty = json.loads(render(empty_digest(), "json"))
    assert empty["entries"] == []
    # Empty digests (send_empty) hold no stories: each is one of its own.
    tomorrow = {**empty, "generated_at": "2031-01-02T08:00:00+08:00"}
    assert sent_id(h.url, empty) != sent_id(h.url, tomorrow)
    assert sent_id(h.url, empty) == sent_id(h.url, empty)


def test_webhook_stops_retrying_once_monitor_is_stopping(hook, client):
    """The attempt in flight ends; no wait for a retry (Retry-After: 60 here), no other
    attempt: the call fails at once, so the daemon can record the delivery as failed."""
    h = hook((503, {"Retry-After": "60"}), (503, {"Retry-After": "60"}), 200)
    stop = threading.Event()
    # SIGTERM arrives while the first attempt is in flight.
    hooks = {"response": [lambda _response: stop.set()]}
    with httpx.Client(trust_env=False, timeout=10, event_hooks=hooks) as c:
        with pytest.raises(DeliveryError) as e:
            post_webhook(h.url, PAYLOAD, client=c, stop=stop)
        assert str(e.value) == (
            f"webhook http://{HOST}:{h.server.server_address[1]}/… not sent: monitor is "
            "stopping (after 1 attempt: HTTP 503 Service Unavailable)"
        )
        assert len(h.requests) == 1
        # Called again while stopping: it fails before any attempt.
        with pytest.raises(DeliveryError, match="is stopping$"):
            post_webhook(h.url, PAYLOAD, client=c, stop=stop)
        assert len(h.requests) == 1  # stopped before another attempt started
    h2 = hook(200)
    post_webhook(h2.url, PAYLOAD, client=client, sleep=pytest.fail)  # not stopping: sent
    assert len(h2.requests) == 1


def test_webhook_400_fails_at_once(hook, client):
    h = hook(400)
    sleeps = []
    with pytest.raises(DeliveryError, match="rejected the digest: HTTP 400 Bad Request"):
        post_webhook(h.url, PAYLOAD, client=client, sleep=sleeps.append)
    assert len(h.requests) == 1 and sleeps == []


def test_webhook_errors_name_the_host_but_not_the_token(hook, client):
    h = hook(400)
    url = h.url + "/T0/SECRET?token=SECRET2"
    with pytest.raises(DeliveryError) as e:
        post_webhook(url, PAYLOAD, client=client, sleep=lambda _s: None)
    assert "SECRET" not in str(e.value)
    port = h.server.server_address[1]
    assert str(e.value).startswith(f"webhook http://{HOST}:{port}/… rejected the digest")


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://hooks.example.com/services/T0/B0/XXXX", "https://hooks.example.com/…"),
        ("https://user:pw@hooks.example.com:8443/?k=v", "https://hooks.example.com:8443/…"),
        ("https://hooks.example.com/", "https://hooks.example.com"),
    ],
)
def test_webhook_host(url, shown):
    assert webhook_host(url) == shown


def test_webhook_429_honours_retry_after_capped(hook, client):
    h = hook((429, {"Retry-After": "7"}), (503, {"Retry-After": "3600"}), 204)
    sleeps = []
    assert post_webhook(h.url, PAYLOAD, client=client, sleep=sleeps.append).status_code == 204
    assert sleeps == [7.0, 60.0]
    assert len(h.requests) == 3


def test_webhook_keeps_failing_gives_up_after_retries(hook, client):
    h = hook(502, 503, 500, 504, 200)
    sleeps = []
    with pytest.raises(DeliveryError, match="failed after 4 attempts: HTTP 504"):
        post_webhook(h.url, PAYLOAD, client=client, sleep=sleeps.append, backoff=0.5)
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(h.requests) == 4


def test_webhook_says_why_it_waits_before_each_retry(hook, client, caplog):
    """Four attempts may take minutes: a silent `digest --send` looks hung."""
    h = hook(503, 500, 200)
    with caplog.at_level("WARNING", logger="monitor.digest"):
        post_webhook(h.url, PAYLOAD, client=client, sleep=lambda _s: None)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"webhook {webhook_host(h.url)}: HTTP 503 Service Unavailable; attempt 2 of 4 in 1s",
        f"webhook {webhook_host(h.url)}: HTTP 500 Internal Server Error; attempt 3 of 4 in 2s",
    ]


def test_webhook_connection_refused_retries_then_fails(client):
    url = f"http://{HOST}:{free_port()}/hook"
    sleeps = []
    with pytest.raises(DeliveryError, match="failed after 4 attempts: ConnectError"):
        post_webhook(url, PAYLOAD, client=client, sleep=sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0]


def test_webhook_with_its_own_client(hook, monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    h = hook(200)
    post_webhook(h.url, {"text": "乌克兰"}, sleep=pytest.fail)
    assert json.loads(h.requests[0]["body"]) == {"text": "乌克兰"}


def test_webhook_redirect_is_not_followed(hook, client):
    h = hook((302, {"Location": "http://127.0.0.1:9/elsewhere"}))
    with pytest.raises(DeliveryError, match="HTTP 302"):
        post_webhook(h.url, PAYLOAD, client=client, sleep=pytest.fail)
    assert len(h.requests) == 1


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "hooks/monitor"])
def test_webhook_needs_an_http_url(url):
    with pytest.raises(DeliveryError, match="must be http"):
        post_webhook(url, PAYLOAD, sleep=pytest.fail)


def test_webhook_payload_must_be_json():
    with pytest.raises(DeliveryError, match="not JSON-serialisable"):
        post_webhook("http://127.0.0.1:9/", {"when": object()}, sleep=pytest.fail)


def test_empty_digest_email_subject_and_file(tmp_path):
    d = empty_digest()
    path = write_file(tmp_path, d, "text", render(d, "text"))
    assert "No new stories" in path.read_text(encoding="utf-8")
    assert (
        deliver.build_email(d, sender=SENDER, to=TO, text="t", html="h")["Subject"]
        == "[monitor] 乌克兰: no new stories (2022-01-29)"
    )
