"""A local HTTP server for the benchmark corpus, bound to 127.0.0.1 only.

- Serves files under a root directory (read once, kept in memory) with a strong ``ETag``
  (content hash) and a fixed ``Last-Modified``; answers ``304`` to ``If-None-Match`` /
  ``If-Modified-Since`` that still hold.
- Optional latency per response (default 50 ms), slept in the connection's own thread, so
  concurrent requests wait in parallel as they would on a real network.
- HTTP/1.1 keep-alive, one thread per connection (``ThreadingHTTPServer``), a listen
  backlog of 256: dozens of concurrent connections are fine.
- Counters of everything it answered (200s, 304s, conditional requests, per kind of path).
- Stops by itself after ``max_lifetime`` seconds, whatever its owner does.

Control endpoints (never counted, never delayed)::

    GET /_bench/stats                     counters as JSON
    GET /_bench/reset                     zero the counters
    GET /_bench/alias?from=/a&to=/b       serve file /b under path /a (a growing index)

Run alone: ``python -m bench.server ROOT [--port 0] [--latency 0.05] [--max-lifetime 3600]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .corpus import _T0

HOST = "127.0.0.1"
LAST_MODIFIED = format_datetime(_T0, usegmt=True)
_TYPES = {
    ".xml": "application/xml; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
}


def kind_of(path: str) -> str:
    if path.startswith("/feeds/") or "/feeds/" in path:
        return "feed"
    if "/mirror/pages/" in path:
        return "page"
    if "/mirror/index" in path:
        return "index"
    return "other"


@dataclass
class Counters:
    requests: int = 0
    ok: int = 0  # 200
    not_modified: int = 0  # 304
    not_found: int = 0
    conditional: int = 0  # requests carrying If-None-Match or If-Modified-Since
    bytes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    ok_by_kind: dict[str, int] = field(default_factory=dict)
    max_concurrent: int = 0
    connections: int = 0  # TCP connections accepted (keep-alive reuse shows here)
    _active: int = 0

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "200": self.ok,
            "304": self.not_modified,
            "404": self.not_found,
            "conditional": self.conditional,
            "bytes": self.bytes,
            "by_kind": dict(self.by_kind),
            "200_by_kind": dict(self.ok_by_kind),
            "max_concurrent": self.max_concurrent,
            "connections": self.connections,
        }


class _File:
    __slots__ = ("body", "etag", "ctype")

    def __init__(self, body: bytes, ctype: str):
        self.body = body
        self.etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        self.ctype = ctype


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: BenchServer._HTTP  # type: ignore[name-defined]

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def setup(self):
        super().setup()
        owner = self.server.owner
        with owner.lock:
            owner.counters.connections += 1

    def do_GET(self):  # noqa: N802 - stdlib name
        owner = self.server.owner
        parts = urlsplit(self.path)
        if parts.path.startswith("/_bench/"):
            return self._control(owner, parts.path, parse_qs(parts.query))
        with owner.lock:
            c = owner.counters
            c._active += 1
            c.max_concurrent = max(c.max_concurrent, c._active)
        try:
            if owner.latency:
                time.sleep(owner.latency)
            self._serve(owner, parts.path)
        finally:
            with owner.lock:
                owner.counters._active -= 1

    def _serve(self, owner: BenchServer, path: str) -> None:
        f = owner.file(path)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        kind = kind_of(path)
        status = 404 if f is None else 200
        if f is not None:
            if inm is not None:
                if f.etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
                    status = 304
            elif ims is not None and _not_modified_since(ims):
                status = 304
        with owner.lock:
            c = owner.counters
            c.requests += 1
            c.by_kind[kind] = c.by_kind.get(kind, 0) + 1
            c.conditional += inm is not None or ims is not None
            if status == 200:
                c.ok += 1
                c.ok_by_kind[kind] = c.ok_by_kind.get(kind, 0) + 1
                c.bytes += len(f.body)
            elif status == 304:
                c.not_modified += 1
            else:
                c.not_found += 1
        if status == 404:
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(status)
        self.send_header("ETag", f.etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        if status == 304:
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_header("Content-Type", f.ctype)
        self.send_header("Content-Length", str(len(f.body)))
        self.end_headers()
        self.wfile.write(f.body)

    def _control(self, owner: BenchServer, path: str, query: dict) -> None:
        if path == "/_bench/stats":
            payload = owner.stats()
        elif path == "/_bench/reset":
            owner.reset()
            payload = {"reset": True}
        elif path == "/_bench/alias":
            owner.aliases[query["from"][0]] = query["to"][0]
            payload = {"aliases": owner.aliases}
        else:
            payload = {"error": "unknown control path"}
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _not_modified_since(value: str) -> bool:
    try:
        since = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        return False
    return since >= _T0.replace(microsecond=0)


class BenchServer:
    """The corpus server; ``start()`` runs it on a thread, ``stop()`` (or its lifetime) ends it."""

    class _HTTP(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256
        allow_reuse_address = True

    def __init__(
        self,
        root: Path,
        *,
        port: int = 0,
        latency: float = 0.05,
        max_lifetime: float = 3600.0,
    ):
        self.root = Path(root).resolve()
        self.latency = latency
        self.max_lifetime = max_lifetime
        self.lock = threading.Lock()
        self.counters = Counters()
        self.aliases: dict[str, str] = {}
        self._files: dict[str, _File | None] = {}
        self._httpd = self._HTTP((HOST, port), _Handler)
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self.stopped = threading.Event()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def file(self, path: str) -> _File | None:
        path = self.aliases.get(path, path)
        if path in self._files:
            return self._files[path]
        target = (self.root / path.lstrip("/")).resolve()
        found = None
        if target.is_relative_to(self.root) and target.is_file():
            found = _File(
                target.read_bytes(), _TYPES.get(target.suffix, "application/octet-stream")
            )
        with self.lock:
            self._files[path] = found
        return found

    def stats(self) -> dict:
        with self.lock:
            return self.counters.as_dict()

    def reset(self) -> None:
        with self.lock:
            active = self.counters._active
            self.counters = Counters()
            self.counters._active = active

    def start(self) -> BenchServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        if self._timer is not None:
            self._timer.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Serve a benchmark corpus on 127.0.0.1.")
    ap.add_argument("root", type=Path)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds per response")
    ap.add_argument("--max-lifetime", type=float, default=3600.0, help="seconds, then stop")
    a = ap.parse_args(argv)
    server = BenchServer(a.root, port=a.port, latency=a.latency, max_lifetime=a.max_lifetime)
    server.start()
    print(f"serving {server.root} on {server.url} for at most {a.max_lifetime:g}s", flush=True)
    try:
        server.stopped.wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
