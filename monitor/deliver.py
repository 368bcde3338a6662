"""Getting a rendered digest to its reader: a file, an email, a webhook or standard output.

Every function either delivers completely or raises :class:`DeliveryError` with a message
that says what failed and where; none of them reports success for a partial delivery.
SMTP credentials come only from environment variables (:meth:`SmtpSettings.from_env`).
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import json
import logging
import math
import os
import re
import smtplib
import ssl
import sys
import tempfile
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import httpx

from monitor import __version__
from monitor.fetch import parse_retry_after
from monitor.models import Digest
from monitor.render import subject as digest_subject

__all__ = [
    "EXTENSIONS",
    "DeliveryError",
    "PartlyDelivered",
    "SmtpSettings",
    "build_email",
    "delivery_id",
    "digest_filename",
    "feed_filename",
    "post_webhook",
    "send_email",
    "slugify",
    "write_file",
    "write_stdout",
]

USER_AGENT = f"monitor/{__version__}"
EXTENSIONS = {"md": "md", "html": "html", "json": "json", "text": "txt", "atom": "atom"}
SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}

log = logging.getLogger("monitor.digest")


class DeliveryError(Exception):
    """A digest could not be delivered; the message says what and where."""


class PartlyDelivered(DeliveryError):
    """The digest went out, but not to everyone (a mail server refused some recipients):
    sending it again would repeat it to those who got it."""


# --- files -------------------------------------------------------------------------------

_WINDOWS_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com\d|lpt\d)$")
_NOT_NAME = re.compile(r"[^\w-]+")


def slugify(name: str, *, max_chars: int = 60) -> str:
    """A file-name-safe form of a watch name that keeps Chinese readable: ``乌克兰 局势`` →
    ``乌克兰-局势``, ``NATO/OTAN`` → ``nato-otan``; ``watch`` when nothing is left."""
    s = unicodedata.normalize("NFKC", name).lower()
    s = _NOT_NAME.sub("-", s).strip("-_")
    s = re.sub(r"-{2,}", "-", s)[:max_chars].strip("-_")
    if not s or _WINDOWS_RESERVED.match(s):
        s = f"watch-{s}" if s else "watch"
    return s


def _stamp(generated_at: str) -> str:
    try:
        return datetime.fromisoformat(generated_at.strip()).strftime("%Y%m%dT%H%M%S")
    except (ValueError, AttributeError) as e:
        raise DeliveryError(f"digest generated_at is not an ISO time: {generated_at!r}") from e


def feed_filename(watch: str) -> str:
    """``<watch-slug>.atom``: the one file of a watch's Atom feed in its folder. Watch names
    with the same slug (``NATO``, ``nato``) would share it: the config refuses that."""
    return f"{slugify(watch)}.{EXTENSIONS['atom']}"


def digest_filename(digest: Digest, fmt: str) -> str:
    """``<watch-slug>-<YYYYmmddTHHMMSS>.<ext>``, the time being ``generated_at`` as given;
    an Atom feed is one file, ``<watch-slug>.atom``, that a reader subscribes to and each
    digest rewrites (it holds the recent digests)."""
    if fmt not in EXTENSIONS:
        raise DeliveryError(
            f"unknown digest format {fmt!r} (expected one of {', '.join(EXTENSIONS)})"
        )
    if fmt == "atom":
        return feed_filename(digest.watch)
    return f"{slugify(digest.watch)}-{_stamp(digest.generated_at)}.{EXTENSIONS[fmt]}"


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable where the platform allows it.
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def write_file(folder: Path, digest: Digest, fmt: str, content: str) -> Path:
    """Write one digest to ``folder`` (created if missing), atomically; return its path.

    Rewriting the same digest with the same content is a no-op; a different digest that
    lands on the same name (same watch, same second) gets ``-2``, ``-3``… instead of
    replacing the earlier file. An Atom feed is the exception: one file, replaced.
    """
    folder = Path(folder)
    name = digest_filename(digest, fmt)
    data = content.encode("utf-8")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stem, dot, ext = name.rpartition(".")
        path = folder / name
        if fmt == "atom":  # the feed's one address: each digest replaces it
            _atomic_write(path, data)
            return path
        n = 1
        while path.exists():
            if path.is_file() and path.read_bytes() == data:
                return path
            n += 1
            path = folder / f"{stem}-{n}{dot}{ext}"
        _atomic_write(path, data)
    except OSError as e:
        raise DeliveryError(f"cannot write digest to {folder}: {e}") from e
    return path


def write_stdout(content: str, stream: TextIO | None = None) -> None:
    """Print a digest; a stream that cannot encode Chinese gets UTF-8 bytes instead."""
    stream = sys.stdout if stream is None else stream
    try:
        try:
            stream.write(content)
        except UnicodeEncodeError:
            buffer = getattr(stream, "buffer", None)
            if buffer is None:
                raise
            stream.flush()
            buffer.write(content.encode("utf-8"))
        stream.flush()
    except (OSError, ValueError, UnicodeEncodeError) as e:  # ValueError: closed stream
        raise DeliveryError(f"cannot write digest to standard output: {e}") from e


# --- email -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "starttls"
    timeout: float = 30.0
    # Trust anchors for the server's certificate; None = the system's (tests pass their own).
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise DeliveryError(
                f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {self.security!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        """Read SMTP_HOST, SMTP_FROM (required), SMTP_PORT, SMTP_USER, SMTP_PASSWORD,
        SMTP_SECURITY (starttls | ssl | none, default starttls) and SMTP_TIMEOUT."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        def required(name: str) -> str:
            if (value := get(name)) is None:
                raise DeliveryError(f"environment variable {name} is not set (needed for email)")
            return value

        host, sender = _host(required("SMTP_HOST")), required("SMTP_FROM")
        security = (get("SMTP_SECURITY") or "starttls").lower()
        if security not in SECURITY_MODES:
            raise DeliveryError(
                f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {security!r}"
            )
        port = DEFAULT_PORTS[security]
        if (raw := get("SMTP_PORT")) is not None:
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise DeliveryError(f"SMTP_PORT must be a port number, not {raw!r}")
            port = int(raw)
        timeout = 30.0
        if (raw := get("SMTP_TIMEOUT")) is not None:
            try:
                timeout = float(raw)
            except ValueError:
                timeout = math.nan
            # 0 would mean a non-blocking socket, inf or nan no timeout smtplib accepts.
            if not (math.isfinite(timeout) and timeout > 0):
                raise DeliveryError(
                    f"SMTP_TIMEOUT must be seconds, a number more than 0, not {raw!r}"
                )
        user = get("SMTP_USER")
        password = env.get("SMTP_PASSWORD") or None  # passwords may have edge spaces
        if user and password is None:
            raise DeliveryError("environment variable SMTP_PASSWORD is not set (SMTP_USER is)")
        if password is not None and not user:
            raise DeliveryError("environment variable SMTP_USER is not set (SMTP_PASSWORD is)")
        return cls(
            host=host,
            sender=sender,
            port=port,
            user=user,
            password=password,
            security=security,
            timeout=timeout,
        )


def _host(host: str) -> str:
    """SMTP_HOST, checked now: a typo (``smtp..example.org``) failed only at sending time,
    as an error of the command line, not of the settings."""
    if re.fullmatch(r"[^:]+:\d+", host):
        raise DeliveryError(
            f"SMTP_HOST must be a host name, not {host!r} (the port goes in SMTP_PORT)"
        )
    try:
        host.encode("idna")
    except UnicodeError:
        raise DeliveryError(f"SMTP_HOST must be a host name, not {host!r}") from None
    return host


def _domain(address: str) -> str | None:
    _, addr = email.utils.parseaddr(address)
    domain = addr.rpartition("@")[2]
    return domain or None


def build_email(
    digest: Digest, *, sender: str, to: list[str], text: str, html: str, now: datetime | None = None
) -> EmailMessage:
    """A multipart/alternative message: the text digest, then the HTML one (both UTF-8)."""
    msg = EmailMessage(policy=SMTP)
    try:
        msg["Subject"] = digest_subject(digest)
        msg["From"] = sender
        msg["To"] = ", ".join(to)
        msg["Date"] = email.utils.format_datetime(now or datetime.now(UTC))
        msg["Message-ID"] = email.utils.make_msgid(domain=_domain(sender))
        msg["X-Mailer"] = USER_AGENT
        msg.set_content(text, subtype="plain", charset="utf-8")
        msg.add_alternative(html, subtype="html", charset="utf-8")
    except (ValueError, TypeError) as e:  # header injection, malformed addresses
        raise DeliveryError(f"cannot build the digest email: {e}") from e
    for name in ("From", "To"):
        if any(not isinstance(a, Address) or not a.domain for a in msg[name].addresses):
            raise DeliveryError(f"invalid {name} address in {msg[name]!r}")
    return msg


def send_email(
    digest: Digest, *, to: list[str], text: str, html: str, settings: SmtpSettings
) -> str:
    """Send the digest to every address in ``to``; return the Message-ID.

    ``starttls`` upgrades the connection before anything else is said (a server without
    STARTTLS is an error, never a silent downgrade); ``ssl`` is TLS from the first byte;
    ``none`` is plain SMTP and refuses to send credentials. Certificates are verified.
    A server that refuses every recipient makes the call fail; one that refuses some
    raises :class:`PartlyDelivered` once the others were sent the digest.
    """
    to = [a.strip() for a in to if a and a.strip()]
    if not to:
        raise DeliveryError("no email recipients given")
    if settings.security == "none" and settings.user:
        raise DeliveryError(
            "refusing to send SMTP credentials over an unencrypted connection "
            "(set SMTP_SECURITY=starttls or ssl)"
        )
    msg = build_email(digest, sender=settings.sender, to=to, text=text, html=html)
    envelope_from = msg["From"].addresses[0].addr_spec
    envelope_to = [a.addr_spec for a in msg["To"].addresses]
    where = f"{settings.host}:{settings.port}"
    context = settings.ssl_context or ssl.create_default_context()
    try:
        if settings.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            smtp.ehlo()
            if settings.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.user:
                _login(smtp, settings.user, settings.password or "")
            refused = smtp.send_message(msg, from_addr=envelope_from, to_addrs=envelope_to)
        finally:
            _quit(smtp)
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError(
            f"SMTP server {where} refused every recipient: {_refusals(e.recipients)}"
        ) from e
    except smtplib.SMTPResponseException as e:
        reply = (
            e.smtp_error.decode("utf-8", "replace")
            if isinstance(e.smtp_error, bytes)
            else e.smtp_error
        )
        raise DeliveryError(f"SMTP server {where} answered {e.smtp_code} {reply}") from e
    except (smtplib.SMTPException, OSError) as e:  # OSError covers refused, timeouts, TLS
        raise DeliveryError(f"email via {where} failed: {e.__class__.__name__}: {e}") from e
    if refused:
        raise PartlyDelivered(
            f"SMTP server {where} refused some recipients (the others were sent the digest): "
            f"{_refusals(refused)}"
        )
    return str(msg["Message-ID"])


def _quit(smtp: smtplib.SMTP) -> None:
    """End the session whatever the server answers: once it took the message, an error
    here (a QUIT answered 4xx, a dropped connection) must not fail the delivery, which
    would mail the same digest again on the next run."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN in UTF-8 (RFC 4616) when offered, else whatever smtplib negotiates.

    smtplib encodes credentials as ASCII, so a Chinese password would crash it; and after a
    refused PLAIN it retries with LOGIN, which only delays the same answer.
    """
    methods = (smtp.esmtp_features.get("auth") or "").upper().split()
    if "PLAIN" in methods:
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
        code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
        if code not in (235, 503):  # 503: already authenticated
            raise smtplib.SMTPAuthenticationError(code, reply)
        return
    try:
        smtp.login(user, password)
    except UnicodeEncodeError:
        raise DeliveryError(
            "SMTP_USER/SMTP_PASSWORD contain non-ASCII characters, which need AUTH PLAIN; "
            f"the server offers only {', '.join(methods) or 'no AUTH'}"
        ) from None


def _refusals(recipients: dict) -> str:
    parts = []
    for addr, (code, reply) in recipients.items():
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        parts.append(f"{addr} ({code} {text})")
    return ", ".join(parts)


# --- webhooks ----------------------------------------------------------------------------


def webhook_host(url: str) -> str:
    """A webhook URL fit for logs and the store: its path and query often hold the token
    (``https://hooks.example.com/services/T0/B0/XXXX``), so only the host is shown."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]  # never credentials either
    return f"{parts.scheme}://{host}" + ("/…" if parts.path.strip("/") or parts.query else "")


def delivery_id(url: str, payload: dict) -> str:
    """The ``X-Monitor-Delivery`` id of ``payload`` sent to ``url``.

    A digest (``monitor-digest/1``) is named by its webhook, its watch and its stories, not
    by when it was made: the digest a failed delivery gets again on the next run has the
    same id, so a receiver that did get it (the answer was lost, or monitor was stopped
    before recording it) can drop the resend. An empty digest, or any other payload, is
    named by its whole content.
    """
    entries = payload.get("entries")
    if isinstance(entries, list) and entries:
        keys = sorted(
            str(story.get("story_key"))
            for entry in entries
            if isinstance(entry, dict)
            for story in [entry.get("headline"), *(entry.get("also") or [])]
            if isinstance(story, dict)
        )
        name = json.dumps([url, payload.get("watch"), keys], ensure_ascii=False)
    else:
        name = json.dumps([url, payload], ensure_ascii=False, sort_keys=True)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def post_webhook(
    url: str,
    payload: dict,
    *,
    client: httpx.Client | None = None,
    retries: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], object] | None = None,
    timeout: float = 15.0,
    max_delay: float = 60.0,
    stop: threading.Event | None = None,
) -> httpx.Response:
    """POST ``payload`` as JSON; return the 2xx response.

    Connection errors, timeouts, 5xx and 429 are retried up to ``retries`` more times,
    waiting ``backoff * 2**n`` seconds, or the server's ``Retry-After`` (seconds or an HTTP
    date); every wait is capped at ``max_delay``. Any other status fails at once: a 4xx
    means the request itself is wrong, and redirects are not followed for a POST.
    Every attempt carries the same ``X-Monitor-Delivery`` id (:func:`delivery_id`) so a
    receiver can drop duplicates (a timed-out attempt may still have arrived).

    Once ``stop`` is set (the daemon is stopping), no attempt starts and a wait ends at
    once: the call fails. ``sleep`` replaces the wait (tests).
    """
    if sleep is None:
        sleep = stop.wait if stop is not None else time.sleep
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("http", "https"):
        raise DeliveryError(f"webhook URL must be http(s): {url!r}")
    try:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise DeliveryError(f"webhook payload is not JSON-serialisable: {e}") from e
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Monitor-Delivery": delivery_id(url, payload),
    }
    where = webhook_host(url)
    own = client is None
    http = httpx.Client(timeout=timeout) if own else client
    try:
        attempt = 0
        problem = ""
        while True:
            if stop is not None and stop.is_set():
                raise DeliveryError(
                    f"webhook {where} not sent: monitor is stopping"
                    + (
                        f" (after {attempt} attempt{'s' * (attempt > 1)}: {problem})"
                        if attempt
                        else ""
                    )
                )
            delay = min(backoff * 2**attempt, max_delay)
            try:
                response = http.post(url, content=body, headers=headers)
            except httpx.TransportError as e:
                problem = f"{e.__class__.__name__}: {e}"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return response
                problem = f"HTTP {status} {response.reason_phrase}".rstrip()
                if status != 429 and status < 500:
                    raise DeliveryError(f"webhook {where} rejected the digest: {problem}")
                after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
                if after is not None:
                    delay = min(after, max_delay)
            if attempt >= retries:
                raise DeliveryError(
                    f"webhook {where} failed after {attempt + 1} attempts: {problem}"
                )
            attempt += 1
            # Retries can take minutes: say why the send waits, and for how long.
            log.warning(
                "webhook %s: %s; attempt %d of %d in %gs",
                where,
                problem,
                attempt + 1,
                retries + 1,
                delay,
            )
            sleep(delay)
    finally:
        if own:
            http.close()
