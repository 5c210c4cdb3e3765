"""The one place that talks HTTP to sellers' servers.

Everything a hostile or broken seller server could do to a worker is bounded
here: where we connect (urlpolicy), how long the whole exchange may take, how
many bytes we read, and that we never follow redirects. Other code replaces
`send` in its tests, never the internals.

How one exchange goes:

1. `urlpolicy.check_url` resolves the host once (waiting at most the time left,
   and never more than 5 s) and checks every address.
2. We connect to the first checked address itself (a socket we create) and
   never resolve the name again, so a DNS answer that changes between the
   check and the connection (DNS rebinding) cannot send us to 127.0.0.1 or
   another private address. A kept-alive connection is reused only when this
   request's check approved the very address it is connected to
   (lib/connections.py); a server that closed it meanwhile gets the
   request again on a new connection. For https the TLS layer still uses the URL's host
   name (SNI and certificate verification), and the Host header keeps the
   URL's host[:port].
3. http.client speaks HTTP/1.1 over that socket. The socket knows the
   deadline: before every connect, send and receive it sets its timeout to the
   time left, so nothing (slow connect, TLS handshake, a status line or header
   lines dripped one at a time, a slow body) can stretch the exchange past
   `total_timeout` by more than one scheduler tick.

`requests` is deliberately not used here: it resolves the host name again
when it connects (the check above would then prove nothing), and its read
timeout applies to each read separately, not to the whole response.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import os
import socket
import ssl
import time
import zlib
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, cast
from urllib.parse import SplitResult, urlsplit

from . import connections
from .endpoint_key import endpoint_key_for
from .urlpolicy import IPAddress, LookupFailed, UrlRefused, check_url

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP request exactly as it goes out (GET: the query string is in `url`)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


# Small reads keep the deadline and the size cap precise.
_CHUNK_BYTES = 8192
# Network-level failures while reading the body, after the status line arrived.
_BODY_ERRORS = (http.client.HTTPException, OSError)


@dataclass(frozen=True)
class TransportResult:
    """What happened on the wire. `error_kind` is "" when the exchange completed."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    duration_ms: int = 0
    error_kind: str = ""
    message: str = ""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.ends = self.started + seconds

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


if TYPE_CHECKING:
    _SocketBase = socket.socket
else:
    _SocketBase = object


class _DeadlineMixin(_SocketBase):
    """Every blocking call waits at most until `deadline_ends` (a monotonic time).

    http.client reads through `makefile()`, which calls `recv_into`; it writes
    with `sendall`. Setting the timeout before each call (rather than once)
    is what makes the deadline hold for the whole exchange, however the server
    spreads its bytes over time.
    """

    deadline_ends: float | None = None

    def _arm(self) -> None:
        if self.deadline_ends is None:
            return
        left = self.deadline_ends - time.monotonic()
        if left <= 0:
            raise TimeoutError("the exchange's deadline has passed")
        self.settimeout(left)

    def recv(self, *args, **kwargs):
        self._arm()
        return super().recv(*args, **kwargs)

    def recv_into(self, *args, **kwargs):
        self._arm()
        return super().recv_into(*args, **kwargs)

    def send(self, *args, **kwargs):
        self._arm()
        return super().send(*args, **kwargs)

    def sendall(self, *args, **kwargs):
        self._arm()
        return super().sendall(*args, **kwargs)


class _DeadlineSocket(_DeadlineMixin, socket.socket):
    """A TCP socket whose reads and writes end at the exchange's deadline."""


class _DeadlineSSLSocket(_DeadlineMixin, ssl.SSLSocket):
    """The TLS counterpart; created by the context (`SSLContext.sslsocket_class`)."""

    def do_handshake(self, *args, **kwargs):
        self._arm()
        return super().do_handshake(*args, **kwargs)


@cache
def _tls_context() -> ssl.SSLContext:
    # Built once: loading the CA bundle is slow, and a context is safe to share
    # between threads. Certificates and host names are verified (the defaults
    # of create_default_context); certifi's bundle when present, as `requests`
    # used, so sellers whose chain worked before keep working. SSL_CERT_FILE
    # replaces it (OpenSSL's own variable: a private CA, or a test's).
    cafile = os.environ.get("SSL_CERT_FILE")
    if not cafile:
        try:
            import certifi
        except ImportError:  # pragma: no cover - certifi comes with requests
            cafile = None
        else:
            cafile = certifi.where()
    context = ssl.create_default_context(cafile=cafile)
    context.sslsocket_class = _DeadlineSSLSocket
    return context


def send(
    request: OutboundRequest,
    *,
    connect_timeout: float,
    total_timeout: float,
    max_bytes: int,
    allowed_networks: list[str],
    require_https: bool,
) -> TransportResult:
    """Send one request and read at most `max_bytes` of the answer.

    `total_timeout` bounds the whole exchange from the start of this call (the
    connection, the TLS handshake, the request, the status line, the headers
    and the body); `connect_timeout` additionally bounds opening the
    connection. The host name is resolved once (by the URL check) and the
    connection goes to the checked address; the lookup counts against
    `total_timeout`. Redirects are never followed: a 3xx is returned as it is.
    """
    deadline = _Deadline(total_timeout)
    try:
        addresses = check_url(
            request.url,
            require_https=require_https,
            allowed_networks=allowed_networks,
            timeout=deadline.remaining(),
        )
    except LookupFailed as exc:
        # A name that does not resolve (or a resolver that fails or is slow) may
        # be a passing problem: retried, never counted against the server. Only
        # an address the policy refuses is permanent.
        return _failed(deadline, "dns", _retried(exc.reason))
    except UrlRefused as exc:
        return TransportResult(None, error_kind="refused_url", message=exc.reason)
    return _exchange(request, addresses, deadline, connect_timeout, max_bytes)


def _exchange(
    request: OutboundRequest,
    addresses: list[IPAddress],
    deadline: _Deadline,
    connect_timeout: float,
    max_bytes: int,
) -> TransportResult:
    parts = urlsplit(request.url.strip())
    port = parts.port or (443 if parts.scheme == "https" else 80)
    # Reuse only a connection to the address the check above just approved.
    key: connections.Key = (parts.scheme, str(addresses[0]), port, parts.hostname or "")
    conn = connections.take(key)
    if conn is not None:
        result = _over(conn, key, request, parts, deadline, max_bytes, reused=True)
        if result is not None:
            return result
        # The server had closed the idle connection before reading our request:
        # send it again on a new one (the seller dedupes on webhook-id anyway).
    try:
        conn = _open(addresses[0], port, parts, deadline, connect_timeout)
    except _ConnectFailed as failed:
        return _failed(deadline, failed.kind, failed.message)
    result = _over(conn, key, request, parts, deadline, max_bytes, reused=False)
    # Only a reused connection answers None; a new one always has a result.
    return result or _failed(deadline, "connect", _CONNECT_ERROR)


def _open(
    address: IPAddress,
    port: int,
    parts: SplitResult,
    deadline: _Deadline,
    connect_timeout: float,
) -> http.client.HTTPConnection:
    sock: _DeadlineSocket | _DeadlineSSLSocket
    sock = _connect(address, port, deadline, connect_timeout)
    if parts.scheme == "https":
        sock = _start_tls(sock, parts.hostname or "", deadline)
    conn = http.client.HTTPConnection(str(address), port)
    # The socket is ours: http.client must never connect (or resolve) itself.
    conn.sock = sock
    return conn


def _over(
    conn: http.client.HTTPConnection,
    key: connections.Key,
    request: OutboundRequest,
    parts: SplitResult,
    deadline: _Deadline,
    max_bytes: int,
    *,
    reused: bool,
) -> TransportResult | None:
    """One exchange over `conn`. Keeps the connection for the next request when
    the answer was read completely and the server keeps it open. None when a
    reused connection turned out closed before any answer arrived."""
    cast(_DeadlineMixin, conn.sock).deadline_ends = deadline.ends
    response = None
    keep = False
    try:
        try:
            conn.request(
                request.method,
                _target(parts),
                body=request.body or None,
                headers=_headers(request, parts),
            )
        except (ValueError, http.client.HTTPException) as exc:
            # Includes UnicodeEncodeError and InvalidURL: nothing was sent.
            return _failed(deadline, "error", f"The request failed: {_name(exc)}.")
        except OSError as exc:
            if reused and not isinstance(exc, TimeoutError):
                return None
            return _failed(deadline, *_describe(exc, deadline))
        try:
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            if reused and isinstance(exc, _STALE_ERRORS):
                return None
            return _failed(deadline, *_describe(exc, deadline))
        result = _read(response, deadline, max_bytes)
        keep = not result.error_kind and not response.will_close
        return result
    finally:
        if response is not None:
            response.close()
        if keep and conn.sock is not None:
            connections.give_back(key, conn)
        else:
            conn.close()


# A reused connection the server had already closed fails like this, before any
# byte of an answer: worth one more try on a new connection.
_STALE_ERRORS = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)


def _retried(reason: str) -> str:
    if "try again" in reason:
        return reason
    return f"{reason.rstrip('.')}; we will try again."


def _failed(deadline: _Deadline, kind: str, message: str) -> TransportResult:
    return TransportResult(
        None, duration_ms=deadline.elapsed_ms(), error_kind=kind, message=message
    )


def _name(exc: Exception) -> str:
    return type(exc).__name__


class _ConnectFailed(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


_CONNECT_TIMEOUT = "We could not connect to your server in time."
_CONNECT_ERROR = (
    "We could not connect to your server, or it closed the connection "
    "without answering."
)


def _connect(
    address: IPAddress, port: int, deadline: _Deadline, connect_timeout: float
) -> _DeadlineSocket:
    sockaddr: tuple[str, int] | tuple[str, int, int, int]
    if isinstance(address, ipaddress.IPv6Address):
        family, sockaddr = socket.AF_INET6, (str(address), port, 0, 0)
    else:
        family, sockaddr = socket.AF_INET, (str(address), port)
    sock = _DeadlineSocket(family, socket.SOCK_STREAM)
    try:
        if deadline.remaining() <= 0:
            raise TimeoutError
        sock.settimeout(min(connect_timeout, deadline.remaining()))
        sock.connect(sockaddr)
        # As http.client does: the request goes out without waiting for ACKs.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except TimeoutError as exc:
        sock.close()
        raise _ConnectFailed("timeout", _CONNECT_TIMEOUT) from exc
    except OSError as exc:
        sock.close()
        raise _ConnectFailed("connect", _CONNECT_ERROR) from exc
    sock.deadline_ends = deadline.ends
    return sock


def _start_tls(
    sock: _DeadlineSocket, hostname: str, deadline: _Deadline
) -> _DeadlineSSLSocket:
    # server_hostname is the URL's name, not the address we dialled: SNI and the
    # certificate check are about the name the seller typed.
    try:
        # The context makes _DeadlineSSLSocket (its sslsocket_class).
        tls = cast(
            _DeadlineSSLSocket,
            _tls_context().wrap_socket(
                sock, server_hostname=hostname, do_handshake_on_connect=False
            ),
        )
    except (OSError, ValueError) as exc:
        sock.close()
        raise _tls_failure(exc) from exc
    try:
        tls.deadline_ends = deadline.ends
        tls.do_handshake()
    except OSError as exc:
        tls.close()
        raise _tls_failure(exc) from exc
    return tls


def _tls_failure(exc: Exception) -> _ConnectFailed:
    if isinstance(exc, TimeoutError):
        return _ConnectFailed("timeout", _CONNECT_TIMEOUT)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _ConnectFailed(
            "connect",
            "We could not verify your server's TLS certificate "
            f"({exc.verify_message or 'certificate verify failed'}); check that "
            "it is valid and issued for the Webhook URL's host name.",
        )
    if isinstance(exc, ssl.SSLError):
        return _ConnectFailed(
            "connect",
            "We could not set up a secure (TLS) connection with your server "
            f"({exc.reason or 'handshake failed'}); check that it serves https "
            "on this port.",
        )
    if isinstance(exc, OSError):
        return _ConnectFailed("connect", _CONNECT_ERROR)
    return _ConnectFailed("error", f"The request failed: {_name(exc)}.")


def _target(parts: SplitResult) -> str:
    # The path and the query exactly as they are in the URL: a GET's signature
    # covers the query string byte for byte, so nothing is re-encoded here.
    target = parts.path or "/"
    return f"{target}?{parts.query}" if parts.query else target


def _headers(request: OutboundRequest, parts: SplitResult) -> dict[str, str]:
    headers = {
        # What `requests` used to send; some seller frameworks choose their
        # answer's format by Accept.
        "Accept": "*/*",
        # HTTP/1.1 keeps the connection open for the next request to the same
        # checked address (lib/connections.py).
        **request.headers,
    }
    lowered = {name.lower() for name in headers}
    if "host" not in lowered:
        headers["Host"] = _host_header(parts)
    # http.client adds `Accept-Encoding: identity` itself: we ask for no
    # compression (see _Decoder for servers that compress anyway).
    return headers


def _host_header(parts: SplitResult) -> str:
    # The URL's own host[:port] (brackets kept for IPv6), never the address we
    # connected to, so name-based virtual hosts work.
    netloc = parts.netloc.rpartition("@")[2]  # credentials are refused anyway
    if netloc.isascii():
        return netloc
    host = (parts.hostname or "").encode("idna").decode("ascii")
    return f"{host}:{parts.port}" if parts.port else host


def _describe(exc: Exception, deadline: _Deadline) -> tuple[str, str]:
    """A failure between connecting and the end of the answer's headers."""
    if isinstance(exc, TimeoutError) or deadline.remaining() <= 0:
        return "timeout", "Your server did not answer in time."
    if isinstance(exc, OSError):
        # Includes http.client.RemoteDisconnected: closed without a status line.
        return "connect", _CONNECT_ERROR
    return "error", f"Your server's answer was not valid HTTP ({_name(exc)})."


def _response_headers(response: http.client.HTTPResponse) -> dict[str, str]:
    # A repeated header is joined with ", " (as requests did), first spelling kept.
    headers: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for name, value in response.getheaders():
        key = spelled.setdefault(name.lower(), name)
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _read(
    response: http.client.HTTPResponse, deadline: _Deadline, max_bytes: int
) -> TransportResult:
    headers = _response_headers(response)
    partial = TransportResult(response.status, headers)
    if _declared_length(headers) > max_bytes:
        return _too_large(partial, b"", deadline, max_bytes)
    decoder = _Decoder.for_encoding(response.getheader("Content-Encoding", ""))
    body = bytearray()
    while True:
        try:
            # read1: at most one receive, so a slow body yields what arrived.
            chunk = response.read1(_CHUNK_BYTES)
            decoded = decoder.decode(chunk, max_bytes + 1 - len(body))
        except zlib.error:
            return _replace(
                partial,
                body=bytes(body),
                duration_ms=deadline.elapsed_ms(),
                error_kind="error",
                message="Your server's compressed answer could not be decoded.",
            )
        except _BODY_ERRORS as exc:
            return _body_error(partial, bytes(body), deadline, exc)
        body += decoded
        if len(body) > max_bytes:
            return _too_large(partial, bytes(body), deadline, max_bytes)
        if not chunk:
            break
    if response.length:
        # EOF before the declared Content-Length (http.client's read1 does not
        # raise for this; chunked bodies raise IncompleteRead above).
        return _body_error(partial, bytes(body), deadline, ConnectionResetError())
    return _replace(partial, body=bytes(body), duration_ms=deadline.elapsed_ms())


class _Decoder:
    """Undo gzip/deflate, never producing more bytes than asked for.

    We send `Accept-Encoding: identity`, but some servers compress anyway. The
    output limit keeps a small compressed answer from expanding past the size
    cap (a decompression bomb): the cap counts decoded bytes.
    """

    def __init__(self, wbits: int | None) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits) if wbits is not None else None
        self._started = False

    @classmethod
    def for_encoding(cls, encoding: str) -> _Decoder:
        value = encoding.strip().lower()
        if value in ("gzip", "x-gzip"):
            return cls(16 + zlib.MAX_WBITS)
        if value == "deflate":
            return cls(zlib.MAX_WBITS)
        # identity, or an encoding we do not decode: passed through unchanged.
        return cls(None)

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._zlib is None or not data:
            return data
        try:
            out = self._zlib.decompress(data, limit)
        except zlib.error:
            if self._started or self._wbits != zlib.MAX_WBITS:
                raise
            # "deflate" is often sent raw, without the zlib wrapper.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(data, limit)
        self._started = True
        return out


def _declared_length(headers: dict[str, str]) -> int:
    # A declared length over the cap fails at once, without reading anything.
    value = next((v for k, v in headers.items() if k.lower() == "content-length"), "")
    return int(value) if value.strip().isdigit() else -1


def _replace(result: TransportResult, **changes: object) -> TransportResult:
    return TransportResult(**{**result.__dict__, **changes})


def _too_large(
    partial: TransportResult, body: bytes, deadline: _Deadline, max_bytes: int
) -> TransportResult:
    return _replace(
        partial,
        body=body[:max_bytes],
        duration_ms=deadline.elapsed_ms(),
        error_kind="too_large",
        message=f"Your server's answer was larger than {_size(max_bytes)}.",
    )


def _size(num_bytes: int) -> str:
    if num_bytes % 1024 == 0:
        return f"{num_bytes // 1024} KiB"
    return f"{num_bytes} bytes"


def _timed_out(
    partial: TransportResult, body: bytes, deadline: _Deadline
) -> TransportResult:
    return _replace(
        partial,
        body=body,
        duration_ms=deadline.elapsed_ms(),
        error_kind="timeout",
        message="Your server did not finish its answer in time.",
    )


def _body_error(
    partial: TransportResult, body: bytes, deadline: _Deadline, exc: Exception
) -> TransportResult:
    if isinstance(exc, TimeoutError) or deadline.remaining() <= 0:
        return _timed_out(partial, body, deadline)
    return _replace(
        partial,
        body=body,
        duration_ms=deadline.elapsed_ms(),
        error_kind="connect",
        message="Your server closed the connection before its answer was complete.",
    )


def log_exchange(
    request: OutboundRequest, result: TransportResult, *, verdict: str
) -> None:
    """One line per exchange: the URL without its query, the status (or that
    nothing answered), the time, and `verdict`, the caller's judgement of the
    answer ("succeeded", "failed (status)", ...).

    The query may hold customer data and headers hold signatures, so neither is
    logged. The delivery ID is the `webhook-id` header (not a secret: it is the
    seller's idempotency key); the order is on the delivery's own lines.
    """
    logger.log(
        logging.INFO if verdict == "succeeded" else logging.WARNING,
        "webhook %s %s -> %s in %d ms: %s",
        request.method,
        loggable_url(request.url),
        result.status if result.status is not None else "no answer",
        result.duration_ms,
        verdict,
        extra={
            "delivery_id": request.headers.get("webhook-id"),
            "endpoint": endpoint_key_for(request.url),
            "status": result.status,
            "duration_ms": result.duration_ms,
        },
    )


def loggable_url(url: str) -> str:
    """scheme://host:port/path: the full address without query or fragment."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "(not a valid URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{port}{parts.path or '/'}"
