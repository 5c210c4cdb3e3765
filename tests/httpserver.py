"""A real HTTP server on 127.0.0.1 that plays the seller's license server.

Reusable by any test: import the fixture into a test module (or tests/conftest.py)
with `from tests.httpserver import seller_server_fixture  # noqa: F401` and ask
for `seller_server`:

    seller_server.set_route("/issue", Route(body="LICENSE-123"))
    url = seller_server.url("/issue")
    ...
    assert seller_server.requests[0].method == "POST"

Each route can misbehave on purpose (delay, drip, huge body, redirect, closed
connection, hang), because the transport's limits are only proven against a
server that really does these things. Requests are recorded before the route
runs, so a test can also prove that a path was never requested.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest


@dataclass(frozen=True)
class Route:
    """How the server answers one path.

    - status, body, headers: the answer; `content_type` is added unless None.
    - delay: seconds to wait before the status line.
    - drip_interval: send the body one byte at a time, this many seconds apart.
    - hang_after_headers: send the headers, then wait this long (or until the
      server stops) before the body.
    - stream_bytes: send this many bytes of filler instead of `body`
      (a huge body); `send_length=False` omits Content-Length for it.
    - close: close the connection without answering at all.
    - reset_after: send the headers and this many body bytes, then reset the
      connection (TCP RST) in the middle of the promised body.
    """

    status: int = 200
    body: bytes | str = b"LICENSE-OK"
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/plain; charset=utf-8"
    delay: float = 0.0
    drip_interval: float = 0.0
    hang_after_headers: float = 0.0
    stream_bytes: int = 0
    send_length: bool = True
    close: bool = False
    reset_after: int | None = None

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Route:
        return cls(status=status, body=b"", headers={"Location": location})

    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


# A route may also be computed per request (e.g. fail twice, then succeed).
RouteSpec = Route | Callable[["RecordedRequest"], Route] | list[Route]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    # How much of the answer's body the server managed to write.
    bytes_sent: int = 0
    # When it arrived (time.monotonic()).
    received_at: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str:
        return next(
            (v for k, v in self.headers.items() if k.lower() == name.lower()), ""
        )


NOT_FOUND = Route(status=404, body=b"no route configured in the test server")


class SellerServer:
    """A threaded HTTP server on a random 127.0.0.1 port. Use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, RouteSpec] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.seller = self
        # A short poll interval keeps stop() (and so every test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set_route(self, path: str, spec: RouteSpec) -> None:
        """Answer `path` (without query) with a Route, a list (one per request,
        the last repeats) or a callable taking the RecordedRequest."""
        with self._lock:
            self._routes[path] = list(spec) if isinstance(spec, list) else spec

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> SellerServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        # Wake sleeping handlers first, so a hanging route cannot delay the suite.
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SellerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record_and_route(self, recorded: RecordedRequest) -> Route:
        with self._lock:
            self.requests.append(recorded)
            spec = self._routes.get(recorded.path, NOT_FOUND)
            if isinstance(spec, list):
                return spec.pop(0) if len(spec) > 1 else spec[0]
        return spec(recorded) if callable(spec) else spec


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Do not wait for handler threads on close; they stop when `stopping` is set.
    block_on_close = False
    seller: SellerServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.0: one request per connection, so no pooled connection outlives a test.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _handle(self) -> None:
        recorded = self._record()
        if recorded is None:
            return
        route = self.server.seller._record_and_route(recorded)
        seller = self.server.seller
        # The client may give up mid-answer (size cap, deadline): exactly what
        # some tests want, so a broken pipe is not an error here.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            _Answer(self, route, recorded, seller.stopping).send()

    def _record(self) -> RecordedRequest | None:
        """The request, or None when its body never fully arrived: a client
        killed mid-send (the crash suite's SIGKILLs) left a truncated request
        that no real server would hand to its application."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            return None
        parts = urlsplit(self.path)
        return RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers=dict(self.headers.items()),
            body=body,
        )


class _Answer:
    def __init__(
        self,
        handler: _Handler,
        route: Route,
        recorded: RecordedRequest,
        stopping: threading.Event,
    ) -> None:
        self.handler, self.route, self.recorded = handler, route, recorded
        self.stopping = stopping

    def send(self) -> None:
        if self.route.close:
            self.handler.close_connection = True
            return
        if self.route.delay and self.stopping.wait(self.route.delay):
            return
        self._send_headers()
        if self.route.hang_after_headers and self.stopping.wait(
            self.route.hang_after_headers
        ):
            return
        if self.route.reset_after is not None:
            self._write(self.route.body_bytes()[: self.route.reset_after])
            self._reset()
            return
        for piece in self._pieces():
            self._write(piece)

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        sock = self.handler.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        self.handler.close_connection = True

    def _length(self) -> int | None:
        if self.route.stream_bytes:
            return self.route.stream_bytes if self.route.send_length else None
        return len(self.route.body_bytes())

    def _send_headers(self) -> None:
        self.handler.send_response(self.route.status)
        if self.route.content_type is not None:
            self.handler.send_header("Content-Type", self.route.content_type)
        length = self._length()
        if length is not None:
            self.handler.send_header("Content-Length", str(length))
        for name, value in self.route.headers.items():
            self.handler.send_header(name, value)
        self.handler.end_headers()

    def _pieces(self) -> Iterator[bytes]:
        if self.route.stream_bytes:
            remaining = self.route.stream_bytes
            while remaining > 0 and not self.stopping.is_set():
                size = min(65536, remaining)
                remaining -= size
                yield b"x" * size
            return
        body = self.route.body_bytes()
        if not self.route.drip_interval:
            yield body
            return
        for index in range(len(body)):
            if self.stopping.wait(self.route.drip_interval):
                return
            yield body[index : index + 1]

    def _write(self, piece: bytes) -> None:
        self.handler.wfile.write(piece)
        self.handler.wfile.flush()
        self.recorded.bytes_sent += len(piece)


# Registered as `seller_server` under a different function name, so importing it
# into a test module (`from tests.httpserver import seller_server_fixture`) does
# not shadow the test's `seller_server` argument (ruff F811).
@pytest.fixture(name="seller_server")
def seller_server_fixture() -> Iterator[SellerServer]:
    """A running SellerServer, stopped after the test.

    Point webhooks at `seller_server.url("/path")`; the transport refuses
    127.0.0.1 unless the test allows 127.0.0.0/8 (e.g. via
    settings.FULFILLMENT["ALLOWED_PRIVATE_NETWORKS"]).
    """
    with SellerServer() as server:
        yield server
