"""A scripted HTTP server on 127.0.0.1 for connector tests (reusable by every source's tests).

    from fixtures_http import FakeClock, FixtureServer, Reply   # tests/ is on sys.path under pytest

    with FixtureServer() as srv:
        srv.route("/2/tweets/search/recent", Reply(429, {"title": "Too Many Requests"}, {"retry-after": "1"}),
                  Reply(200, {"data": [...]}))
        srv.route("/xrpc/app.bsky.feed.searchPosts", handler=lambda req: Reply(200, page_for(req.query)))
        client = HttpClient("x", base_url=srv.url, sleep=fake_sleep)
        ...
        assert srv.requests[0].query["query"] == "..."

A route's replies are served in order; the last one repeats. A handler gets the RecordedRequest and
returns a Reply. Reply(delay=...) sleeps before answering (timeouts); Reply(body=bytes) is sent as is.
The `fixture_server` pytest fixture yields a started server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

HTML_BLOCK_PAGE = (
    b"<!DOCTYPE html><html><head><title>Access denied</title></head>"
    b"<body><h1>Access denied</h1><p>Please verify you are a human.</p></body></html>"
)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            ctype = "text/html; charset=utf-8" if self.body.lstrip()[:1] == b"<" else "application/octet-stream"
            return self.body, ctype
        if isinstance(self.body, str):
            ctype = "text/html; charset=utf-8" if self.body.lstrip()[:1] == "<" else "text/plain; charset=utf-8"
            return self.body.encode(), ctype
        if self.body is None:
            return b"", "application/json"
        return json.dumps(self.body).encode(), "application/json; charset=utf-8"


def block_page(status: int = 403) -> Reply:
    return Reply(status, HTML_BLOCK_PAGE)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]           # last value of each parameter
    query_all: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class FixtureServer:
    def __init__(self, host: str = "127.0.0.1"):
        self._routes: dict[str, tuple[list[Reply], Callable[[RecordedRequest], Reply] | None]] = {}
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet test output
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                qs = parse_qs(parts.query, keep_blank_values=True)
                req = RecordedRequest(self.command, parts.path, {k: v[-1] for k, v in qs.items()}, qs,
                                      {k.lower(): v for k, v in self.headers.items()}, body)
                reply = server._reply_for(req)
                if reply.delay:
                    time.sleep(reply.delay)
                data, ctype = reply.encoded()
                try:
                    self.send_response(reply.status)
                    headers = {"content-type": ctype, **{k.lower(): v for k, v in reply.headers.items()}}
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, *replies: Reply, handler: Callable[[RecordedRequest], Reply] | None = None) -> None:
        if not replies and handler is None:
            raise ValueError("route needs replies or a handler")
        with self._lock:
            self._routes[path] = (list(replies), handler)
            self._served[path] = 0

    def _reply_for(self, req: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(req)
            if req.path not in self._routes:
                return Reply(404, {"error": "NotFound", "message": f"no fixture route for {req.path}"})
            replies, handler = self._routes[req.path]
            i = self._served[req.path]
            self._served[req.path] = i + 1
        if replies and (handler is None or i < len(replies)):
            return replies[min(i, len(replies) - 1)]
        return handler(req)  # type: ignore[misc]

    def calls(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def fixture_server():
    with FixtureServer() as srv:
        yield srv


class FakeClock:
    """Injectable sleep/clock for HttpClient: sleeping advances time instantly and is recorded."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
