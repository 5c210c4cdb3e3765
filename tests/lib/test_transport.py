from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from fulfillment.outcome import judge
from fulfillment.payload import OrderFacts, build_fields, build_request
from lib import transport, urlpolicy
from lib.ids import new_signing_secret
from lib.transport import OutboundRequest, send
from tests.httpserver import Route, seller_server_fixture  # noqa: F401

LOOPBACK = ["127.0.0.0/8"]
LOOPBACK_V6 = ["::1/128"]
# Only ever an answer of the fake resolver below; no test sends traffic to it.
PUBLIC_IP = "93.184.216.34"


def _send(url, *, method="GET", body=b"", headers=None, allowed=LOOPBACK, **limits):
    options = {"connect_timeout": 1.0, "total_timeout": 1.0, "max_bytes": 64 * 1024}
    options.update(limits)
    request = OutboundRequest(
        method=method, url=url, headers=dict(headers or {}), body=body
    )
    return send(request, allowed_networks=allowed, require_https=False, **options)


def _timed(func, *args, **kwargs):
    started = time.monotonic()
    result = func(*args, **kwargs)
    return result, time.monotonic() - started


def _free_port() -> int:
    # Bind and release: nothing listens there afterwards, so connecting is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(
    not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)"
)


# --- Helpers: a fake resolver, a recorded connect, a raw byte-level server --------


class FakeDns:
    """Answers chosen names from a script; other names get the suite's fake DNS.

    `answers[host]` is a list of address lists: the first lookup gets the first
    list, the next lookup the next one (the last repeats), like a rebinding
    attacker's DNS server with a zero TTL.
    """

    def __init__(self, fallback) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self._fallback = fallback

    def __call__(self, host, port):
        if host not in self.answers:
            return self._fallback(host, port)
        self.lookups.append(host)
        script = self.answers[host]
        return list(script.pop(0) if len(script) > 1 else script[0])


@pytest.fixture
def dns(monkeypatch):
    # urlpolicy.resolve_host is the one function that asks DNS; a second lookup
    # anywhere (a rebinding attempt would need one) would show in `lookups`.
    fake = FakeDns(urlpolicy.resolve_host)
    monkeypatch.setattr(urlpolicy, "resolve_host", fake)
    return fake


@pytest.fixture
def refused_connects(monkeypatch):
    """Record every address the transport dials and refuse it, never dialling out."""
    targets: list[tuple] = []

    def connect(sock, address):
        targets.append((address, sock.gettimeout()))
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(transport._DeadlineSocket, "connect", connect)
    return targets


class RawServer:
    """A TCP server that answers with exact bytes and pauses: for what
    http.server cannot do (drip header lines, chunked bodies, broken HTTP,
    IPv6, silence during a TLS handshake)."""

    def __init__(self, steps, *, host="127.0.0.1", read_request=True) -> None:
        self.steps = steps
        self.read_request = read_request
        self.received: list[bytes] = []
        self.stopping = threading.Event()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.bind((host, 0))
        self._listener.listen(8)
        self._listener.settimeout(0.02)
        self.host, self.port = host, self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            if self.read_request:
                self.received.append(self._read_head(conn))
            for step in self.steps:
                if isinstance(step, bytes):
                    conn.sendall(step)
                elif self.stopping.wait(step):
                    return

    def _read_head(self, conn: socket.socket) -> bytes:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            piece = conn.recv(4096)
            if not piece:
                break
            data += piece
        return data


@pytest.fixture
def raw_server() -> Iterator:
    servers: list[RawServer] = []

    def start(steps, **kwargs) -> RawServer:
        servers.append(RawServer(steps, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


# --- A completed exchange, as the seller's server receives it --------------------


def test_completed_exchange_returns_status_headers_and_body(seller_server):
    seller_server.set_route("/issue", Route(body="KEY-1", headers={"X-Seller": "yes"}))

    result = _send(seller_server.url("/issue"))

    assert (result.status, result.body, result.error_kind) == (200, b"KEY-1", "")
    assert result.headers["X-Seller"] == "yes"
    assert result.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert result.message == ""
    assert result.duration_ms >= 0


def test_request_arrives_with_our_headers_and_body(seller_server):
    _send(
        seller_server.url("/issue"),
        method="POST",
        body=b"a=1&b=2",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Mine": "1"},
    )

    received = seller_server.requests[0]
    assert (received.method, received.body) == ("POST", b"a=1&b=2")
    assert received.header("Content-Type") == "application/x-www-form-urlencoded"
    assert received.header("Content-Length") == "7"
    assert received.header("X-Mine") == "1"
    assert received.header("Host") == f"127.0.0.1:{seller_server.port}"
    # We ask for an uncompressed answer; HTTP/1.1 keeps the connection open.
    assert received.header("Accept-Encoding") == "identity"
    assert received.header("Connection") == ""


def test_query_string_is_sent_byte_for_byte(seller_server):
    # Mixed escapes that a re-encoding client would normalise (%7E -> ~, %2f ->
    # %2F, + -> %20); a GET's signature covers these exact bytes.
    query = "b=%7E~&a=%2f&empty=&x=1+2&y=%C3%A9"

    _send(seller_server.url(f"/issue?{query}"))

    assert seller_server.requests[0].query == query


def test_200_text_succeeds(seller_server):
    seller_server.set_route("/issue", Route(body="KEY-1234"))

    verdict = judge(_send(seller_server.url("/issue")))

    assert verdict.succeeded
    assert verdict.text == "KEY-1234"


def test_200_empty_fails(seller_server):
    seller_server.set_route("/issue", Route(body=b""))

    assert judge(_send(seller_server.url("/issue"))).error_kind == "empty"


def test_500_fails_with_reason(seller_server):
    seller_server.set_route("/issue", Route(status=500, body="boom"))

    verdict = judge(_send(seller_server.url("/issue")))

    assert verdict.error_kind == "status"
    assert "answered 500" in verdict.message


def test_redirect_fails_and_its_target_is_never_requested(seller_server):
    seller_server.set_route("/old", Route.redirect(seller_server.url("/new")))
    seller_server.set_route("/new", Route(body="KEY"))

    result = _send(seller_server.url("/old"))
    verdict = judge(result)

    assert (result.status, result.error_kind) == (302, "")
    assert verdict.error_kind == "redirect"
    assert "we do not follow redirects" in verdict.message
    assert seller_server.url("/new") in verdict.message
    assert seller_server.requests_to("/new") == []


def test_html_page_fails(seller_server):
    page = "<!doctype html><html><body>Please log in</body></html>"
    seller_server.set_route("/issue", Route(body=page, content_type="text/html"))

    assert judge(_send(seller_server.url("/issue"))).error_kind == "html"


def test_undecodable_bytes_fail(seller_server):
    seller_server.set_route("/issue", Route(body=b"\xff\xfe\xfa\xfb"))

    assert judge(_send(seller_server.url("/issue"))).error_kind == "not_text"


def test_latin1_charset_decodes(seller_server):
    route = Route(
        body="clé".encode("latin-1"), content_type="text/plain; charset=latin-1"
    )
    seller_server.set_route("/issue", route)

    assert judge(_send(seller_server.url("/issue"))).text == "clé"


def test_repeated_response_headers_are_joined(raw_server):
    server = raw_server(
        [
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Tag: a\r\n"
            b"x-tag: b\r\nContent-Length: 2\r\n\r\nOK"
        ]
    )

    result = _send(server.url("/issue"))

    assert result.headers["X-Tag"] == "a, b"


# --- Size cap ---------------------------------------------------------------------


def test_body_over_the_cap_fails_without_reading_it_all(seller_server):
    huge = 50 * 1024 * 1024
    seller_server.set_route("/issue", Route(stream_bytes=huge, send_length=False))

    result = _send(seller_server.url("/issue"), max_bytes=64 * 1024)

    assert result.error_kind == "too_large"
    assert result.message == "Your server's answer was larger than 64 KiB."
    assert len(result.body) == 64 * 1024
    assert seller_server.requests_to("/issue")[0].bytes_sent < huge


def test_declared_length_over_the_cap_fails_before_the_body(seller_server):
    seller_server.set_route("/issue", Route(stream_bytes=10 * 1024 * 1024))

    result = _send(seller_server.url("/issue"), max_bytes=1024)

    assert (result.error_kind, result.body) == ("too_large", b"")
    assert result.message == "Your server's answer was larger than 1 KiB."


def test_chunked_answer_is_read(raw_server):
    server = raw_server(
        [
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            b"4\r\nKEY-\r\n",
            0.05,
            b"3\r\n123\r\n0\r\n\r\n",
        ]
    )

    result = _send(server.url("/issue"))

    assert (result.status, result.body, result.error_kind) == (200, b"KEY-123", "")


def test_chunked_answer_over_the_cap_fails(raw_server):
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
    server = raw_server(
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"] + [chunk] * 64
    )

    result = _send(server.url("/issue"), max_bytes=4096)

    assert result.error_kind == "too_large"
    assert len(result.body) == 4096


def test_gzip_answer_is_decoded(seller_server):
    route = Route(body=gzip.compress(b"KEY-GZ"), headers={"Content-Encoding": "gzip"})
    seller_server.set_route("/issue", route)

    assert judge(_send(seller_server.url("/issue"))).text == "KEY-GZ"


def test_compressed_answer_is_capped_after_decompression(seller_server):
    # We ask for no compression, but a server may compress anyway. 10 MiB of
    # zeros compress to about 10 KiB: the cap must count what we decode.
    bomb = gzip.compress(b"0" * 10 * 1024 * 1024)
    route = Route(body=bomb, headers={"Content-Encoding": "gzip"})
    seller_server.set_route("/issue", route)

    result = _send(seller_server.url("/issue"), max_bytes=64 * 1024)

    assert result.error_kind == "too_large"
    assert len(result.body) == 64 * 1024


def test_corrupt_compressed_answer_fails_as_error(seller_server):
    route = Route(body=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    seller_server.set_route("/issue", route)

    result = _send(seller_server.url("/issue"))

    assert (result.status, result.error_kind) == (200, "error")
    assert "could not be decoded" in result.message


# --- The whole-exchange deadline --------------------------------------------------


def test_dripping_body_times_out_at_the_total_deadline(seller_server):
    # 20 bytes at 0.3 s each would take 6 s; every single read is quick, so only a
    # whole-response deadline stops it.
    seller_server.set_route("/issue", Route(body="x" * 20, drip_interval=0.3))

    result, seconds = _timed(_send, seller_server.url("/issue"), total_timeout=1.0)

    assert result.error_kind == "timeout"
    assert result.message == "Your server did not finish its answer in time."
    assert 0.9 <= seconds < 1.6
    assert result.status == 200
    assert 0 < len(result.body) < 20


def test_dripping_header_lines_time_out_at_the_total_deadline(raw_server):
    # One header line every 0.3 s: each read is quick, 12 lines would take 3.6 s.
    steps: list = [b"HTTP/1.1 200 OK\r\n"]
    for number in range(12):
        steps += [0.3, f"X-Drip-{number}: 1\r\n".encode()]
    server = raw_server([*steps, b"Content-Length: 2\r\n\r\nOK"])

    result, seconds = _timed(_send, server.url("/issue"), total_timeout=1.0)

    assert result.error_kind == "timeout"
    assert result.message == "Your server did not answer in time."
    assert result.status is None
    assert 0.9 <= seconds < 1.6


def test_dripping_status_line_times_out_at_the_total_deadline(raw_server):
    steps: list = []
    for byte in b"HTTP/1.1 200 OK\r\n":
        steps += [0.2, bytes([byte])]
    server = raw_server(steps)

    result, seconds = _timed(_send, server.url("/issue"), total_timeout=1.0)

    assert result.error_kind == "timeout"
    assert seconds < 1.6


def test_server_hanging_before_headers_times_out(seller_server):
    seller_server.set_route("/issue", Route(delay=10))

    result, seconds = _timed(_send, seller_server.url("/issue"), total_timeout=1.0)

    assert result.error_kind == "timeout"
    assert result.message == "Your server did not answer in time."
    assert seconds < 1.6


def test_server_hanging_after_headers_times_out(seller_server):
    seller_server.set_route("/issue", Route(hang_after_headers=10))

    result, seconds = _timed(_send, seller_server.url("/issue"), total_timeout=1.0)

    assert result.error_kind == "timeout"
    assert result.message == "Your server did not finish its answer in time."
    assert seconds < 1.6


def test_connect_timeout_maps_to_timeout(monkeypatch):
    waits: list[float] = []

    def slow_connect(sock, address):
        waits.append(sock.gettimeout())
        raise TimeoutError("timed out")

    monkeypatch.setattr(transport._DeadlineSocket, "connect", slow_connect)

    result = _send(f"http://127.0.0.1:{_free_port()}/", connect_timeout=0.5)

    assert result.error_kind == "timeout"
    assert result.message == "We could not connect to your server in time."
    assert waits == [0.5]


def test_connecting_never_waits_longer_than_the_total_deadline(refused_connects):
    _send(f"http://127.0.0.1:{_free_port()}/", connect_timeout=10, total_timeout=1)

    [(_, waited)] = refused_connects
    assert 0 < waited <= 1.0


def test_deadline_socket_refuses_to_wait_once_the_deadline_passed():
    with transport._DeadlineSocket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.deadline_ends = time.monotonic() - 1

        with pytest.raises(TimeoutError):
            sock.recv(1)
        with pytest.raises(TimeoutError):
            sock.sendall(b"x")


# --- Failures to connect or to speak HTTP -----------------------------------------


def test_connection_refused_fails_as_connect():
    result = _send(f"http://127.0.0.1:{_free_port()}/issue")

    assert result.error_kind == "connect"
    assert result.message.startswith("We could not connect to your server")
    assert judge(result).retryable


def test_server_closing_without_answer_fails_as_connect(seller_server):
    seller_server.set_route("/issue", Route(close=True))

    assert _send(seller_server.url("/issue")).error_kind == "connect"


def test_answer_cut_short_of_its_length_fails_as_connect(raw_server):
    server = raw_server([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nKEY"])

    result = _send(server.url("/issue"))

    assert (result.status, result.error_kind, result.body) == (200, "connect", b"KEY")
    assert "closed the connection before its answer was complete" in result.message


def test_answer_that_is_not_http_fails_as_error(raw_server):
    server = raw_server([b"SSH-2.0-OpenSSH_9.6\r\n\r\n"])

    result = _send(server.url("/issue"))

    assert (result.status, result.error_kind) == (None, "error")
    assert "not valid HTTP" in result.message


def test_url_that_cannot_be_sent_fails_as_error(seller_server):
    result = _send(seller_server.url("/issue?q=caf\u00e9"))

    assert result.error_kind == "error"
    assert seller_server.requests == []


# --- Where we connect: the checked address, never a second lookup ----------------


def test_refused_url_makes_no_connection(refused_connects):
    result = _send("http://10.0.0.5/issue", allowed=[])

    assert result.error_kind == "refused_url"
    assert "private network" in result.message
    assert refused_connects == []


def test_loopback_is_refused_without_an_allowlist_and_never_contacted(seller_server):
    result = _send(seller_server.url("/issue"), allowed=[])

    assert result.error_kind == "refused_url"
    assert "loopback" in result.message
    assert seller_server.requests == []


def test_dns_rebinding_cannot_reach_loopback(seller_server, dns, refused_connects):
    # The attacker's DNS answers a public address for our check and 127.0.0.1
    # for any later lookup. Only the checked address may be dialled; the
    # recorded connect refuses it, so nothing leaves this machine.
    dns.answers["rebind.example"] = [[PUBLIC_IP], ["127.0.0.1"]]
    url = f"http://rebind.example:{seller_server.port}/issue"

    result = _send(url, allowed=[])

    assert [target for target, _ in refused_connects] == [
        (PUBLIC_IP, seller_server.port)
    ]
    assert dns.lookups == ["rebind.example"]
    assert result.error_kind == "connect"
    assert seller_server.requests == []


def test_connects_to_the_first_checked_address(dns, refused_connects):
    dns.answers["multi.example"] = [[PUBLIC_IP, "93.184.216.35"]]

    _send("http://multi.example/issue", allowed=[])

    assert [target for target, _ in refused_connects] == [(PUBLIC_IP, 80)]


def test_name_is_resolved_once_and_kept_in_the_host_header(seller_server, dns):
    dns.answers["seller.example"] = [["127.0.0.1"], ["10.9.9.9"]]
    seller_server.set_route("/issue", Route(body="KEY-NAME"))

    result = _send(f"http://seller.example:{seller_server.port}/issue")

    assert result.body == b"KEY-NAME"
    assert dns.lookups == ["seller.example"]
    assert seller_server.requests[0].header("Host") == (
        f"seller.example:{seller_server.port}"
    )


def test_ipv4_loopback_server_answers(raw_server):
    server = raw_server([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nKEY-4"])

    result = _send(server.url("/issue"))

    assert (result.status, result.body) == (200, b"KEY-4")


@needs_ipv6
def test_ipv6_literal_url_connects_over_ipv6(raw_server):
    server = raw_server(
        [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nKEY-6"], host="::1"
    )

    result = _send(server.url("/issue"), allowed=LOOPBACK_V6)

    assert (result.status, result.body, result.error_kind) == (200, b"KEY-6", "")
    assert f"Host: [::1]:{server.port}\r\n".encode() in server.received[0]


@needs_ipv6
def test_ipv6_address_from_dns_connects_over_ipv6(raw_server, dns):
    server = raw_server(
        [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nKEY-6"], host="::1"
    )
    dns.answers["v6.example"] = [["::1"]]

    result = _send(f"http://v6.example:{server.port}/issue", allowed=LOOPBACK_V6)

    assert (result.status, result.body) == (200, b"KEY-6")
    assert f"Host: v6.example:{server.port}\r\n".encode() in server.received[0]


# --- TLS ---------------------------------------------------------------------------


def _send_https(url, **limits):
    options = {"connect_timeout": 1.0, "total_timeout": 1.0, "max_bytes": 1024}
    options.update(limits)
    request = OutboundRequest(method="GET", url=url)
    return send(request, allowed_networks=LOOPBACK, require_https=True, **options)


def test_tls_context_verifies_certificates_and_host_names():
    context = transport._tls_context()

    assert context.check_hostname is True
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.sslsocket_class is transport._DeadlineSSLSocket
    assert context.get_ca_certs()  # certifi's bundle is loaded


def test_tls_uses_the_url_host_name_while_dialling_the_checked_address(
    raw_server, dns, monkeypatch
):
    # A server that answers plain HTTP at once cannot complete a handshake: the
    # point is what we dial and which name we ask the TLS layer to verify.
    server = raw_server([b"HTTP/1.1 400 Bad Request\r\n\r\n"], read_request=False)
    dns.answers["shop.example"] = [["127.0.0.1"]]
    context = transport._tls_context()
    real_wrap = context.wrap_socket
    calls: list[tuple] = []

    def wrap_socket(sock, **kwargs):
        calls.append((sock.getpeername(), kwargs))
        return real_wrap(sock, **kwargs)

    monkeypatch.setattr(context, "wrap_socket", wrap_socket)

    result = _send_https(f"https://shop.example:{server.port}/issue")

    [(peer, kwargs)] = calls
    assert peer == ("127.0.0.1", server.port)
    assert kwargs["server_hostname"] == "shop.example"
    assert dns.lookups == ["shop.example"]
    assert result.error_kind == "connect"
    assert "secure (TLS) connection" in result.message


def test_certificate_failure_is_explained(seller_server, monkeypatch):
    context = transport._tls_context()

    def wrap_socket(sock, **kwargs):
        error = ssl.SSLCertVerificationError(1, "certificate verify failed")
        error.verify_message = "Hostname mismatch"
        raise error

    monkeypatch.setattr(context, "wrap_socket", wrap_socket)

    result = _send_https(f"https://127.0.0.1:{seller_server.port}/issue")

    assert result.error_kind == "connect"
    assert "TLS certificate (Hostname mismatch)" in result.message


def test_silent_tls_handshake_times_out_at_the_total_deadline(raw_server):
    server = raw_server([10.0], read_request=False)
    url = f"https://127.0.0.1:{server.port}/issue"

    result, seconds = _timed(_send_https, url, total_timeout=1.0)

    assert result.error_kind == "timeout"
    assert result.message == "We could not connect to your server in time."
    assert seconds < 1.6


# --- The signed request as the seller's server receives it ------------------------


def _signed(url: str, method: str, body_format: str, secret: str) -> OutboundRequest:
    facts = OrderFacts(
        order_id="ord_1",
        transaction_id="txn_1",
        checkout_hash="chk_1",
        customer_email="dana@example.com",
        customer_name="Dana",
        product_id=1,
        product_name="Pixel Editor",
        quantity=1,
        unit_price="19.00",
        currency="EUR",
        event_time=datetime(2025, 1, 1, tzinfo=UTC),
    )
    fields = build_fields(
        facts=facts,
        delivery_id="dlv_1",
        quantity=1,
        item_index=1,
        item_count=1,
        custom_fields=[],
    )
    return build_request(
        url=url,
        method=method,
        body_format=body_format,
        fields=fields,
        delivery_id="dlv_1",
        secrets=[secret],
        timestamp=int(time.time()),
        user_agent="FulfillmentWebhooks/1.0",
    )


def _send_signed(request: OutboundRequest):
    return send(
        request,
        connect_timeout=1.0,
        total_timeout=2.0,
        max_bytes=1024,
        allowed_networks=LOOPBACK,
        require_https=False,
    )


def test_seller_verifies_a_received_get_by_its_raw_query(seller_server):
    secret = new_signing_secret()
    url = seller_server.url("/issue?plan=pro%20plus")

    _send_signed(_signed(url, "GET", "form", secret))

    received = seller_server.requests[0]
    assert received.query.startswith("plan=pro%20plus&event=order.fulfillment")
    Webhook(secret).verify(received.query, received.headers, json_parse=False)


@pytest.mark.parametrize("body_format", ["form", "json"])
def test_seller_verifies_a_received_post_by_its_body(seller_server, body_format):
    secret = new_signing_secret()

    _send_signed(_signed(seller_server.url("/issue"), "POST", body_format, secret))

    received = seller_server.requests[0]
    assert received.header("User-Agent") == "FulfillmentWebhooks/1.0"
    Webhook(secret).verify(received.body, received.headers, json_parse=False)
