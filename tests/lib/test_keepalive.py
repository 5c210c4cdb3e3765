"""Connection reuse (lib/connections.py) against a real HTTP/1.1 server.

Reuse must save connections without weakening anything: only to the address
this request's URL check approved, never after an incomplete answer, and a
server that closed an idle connection still gets the request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lib import connections, urlpolicy
from lib.transport import OutboundRequest, send

LOOPBACK = ["127.0.0.0/8"]


class KeepAliveServer:
    """Answers 200 with a Content-Length over HTTP/1.1 and counts connections."""

    def __init__(self, body: bytes = b"LICENSE-OK") -> None:
        self.body = body
        self.connections = 0
        self.requests = 0
        self.close_after_each = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                outer.connections += 1

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(outer.body)))
                if outer.close_after_each:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/issue"


@pytest.fixture
def server() -> Iterator[KeepAliveServer]:
    connections.close_all()
    srv = KeepAliveServer()
    yield srv
    connections.close_all()
    srv.server.shutdown()
    srv.server.server_close()


def _post(url: str, **limits):
    options = {"connect_timeout": 1.0, "total_timeout": 2.0, "max_bytes": 64 * 1024}
    options.update(limits)
    request = OutboundRequest(method="POST", url=url, headers={}, body=b"a=1")
    return send(request, allowed_networks=LOOPBACK, require_https=False, **options)


def test_requests_to_one_server_share_a_connection(server):
    results = [_post(server.url()) for _ in range(5)]

    assert [r.status for r in results] == [200] * 5
    assert all(r.body == b"LICENSE-OK" for r in results)
    assert (server.requests, server.connections) == (5, 1)


def test_a_server_that_closes_gets_a_new_connection_each_time(server):
    server.close_after_each = True

    results = [_post(server.url()) for _ in range(3)]

    assert [r.status for r in results] == [200] * 3
    assert server.connections == 3


def test_an_idle_connection_the_server_closed_is_replaced(server):
    assert _post(server.url()).status == 200
    # The server's keep-alive timeout passes: it closes its end.
    for conn, _ in connections._pool().values():
        conn.sock.shutdown(2)  # both directions, as a closed peer looks

    result = _post(server.url())

    assert result.status == 200
    assert server.connections == 2


def test_a_stale_connection_is_retried_once_on_a_new_one(server, monkeypatch):
    assert _post(server.url()).status == 200
    # The probe cannot see it closing (it closes after we looked): the request
    # fails on the old connection and goes again on a new one.
    monkeypatch.setattr(connections, "_looks_open", lambda conn: True)
    for conn, _ in connections._pool().values():
        conn.sock.shutdown(2)

    result = _post(server.url())

    assert (result.status, result.error_kind) == (200, "")
    assert (server.requests, server.connections) == (2, 2)


def test_reuse_follows_the_address_the_check_approved(server, monkeypatch):
    """A name that resolves elsewhere on the next request never reuses the
    connection to the old address (the pinned-IP check still holds)."""
    answers = iter(["127.0.0.1", "127.0.0.2"])
    monkeypatch.setattr(urlpolicy, "resolve_host", lambda host, port: [next(answers)])

    first = _post(server.url("seller.test"))
    second = _post(server.url("seller.test"))

    assert first.status == 200
    # Nothing listens on 127.0.0.2: the request went there, not over the old
    # connection to 127.0.0.1.
    assert second.error_kind == "connect"
    assert server.requests == 1


def test_an_incomplete_answer_is_never_reused(server):
    server.body = b"x" * 2048

    too_large = _post(server.url(), max_bytes=100)
    assert too_large.error_kind == "too_large"
    server.body = b"LICENSE-OK"
    assert _post(server.url()).status == 200

    assert server.connections == 2


def test_idle_connections_expire(server, monkeypatch):
    assert _post(server.url()).status == 200
    monkeypatch.setattr(connections, "IDLE_SECONDS", -1.0)

    assert _post(server.url()).status == 200

    assert server.connections == 2
