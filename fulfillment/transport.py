"""The one place that talks HTTP to sellers' servers.

Everything a hostile or broken seller server could do to a worker is bounded
here: where we connect (urlpolicy), how long the whole exchange may take, how
many bytes we read, and that we never follow redirects. Tests and other code
replace `send`, never the internals.
"""

from __future__ import annotations

import http.cookiejar
import logging
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from .payload import OutboundRequest
from .urlpolicy import UrlRefused, check_url

logger = logging.getLogger(__name__)

# Small reads keep the deadline and the size cap precise.
_CHUNK_BYTES = 8192
# Network-level failures while reading the body, after the status line arrived.
_BODY_ERRORS = (
    urllib3.exceptions.HTTPError,
    requests.exceptions.RequestException,
    OSError,
)


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


def _new_session() -> requests.Session:
    session = requests.Session()
    # No proxies or .netrc credentials from the environment: a seller's request
    # must never carry our credentials or leave through an unexpected route.
    session.trust_env = False
    # No cookies: the shared session must not carry state from one seller's
    # answer into the next request.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    # Retries are the delivery schedule's job (every attempt is recorded), and a
    # large pool lets many worker threads call sellers at once.
    adapter = HTTPAdapter(max_retries=0, pool_connections=32, pool_maxsize=64)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# Reused across calls for keep-alive; urllib3's pool is thread-safe and the
# session holds no other per-request state (cookies are disabled above).
_session = _new_session()


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
    connection, the headers and the body); `connect_timeout` additionally bounds
    opening the connection. Redirects are never followed.

    Known gap: while http.client reads the status line and headers, each read
    waits up to the time left at the start, but a server that drips header lines
    can stretch that phase past the deadline. The IP-pinning adapter is the
    place to close it (a deadline-aware socket from connect onwards).
    """
    deadline = _Deadline(total_timeout)
    try:
        check_url(
            request.url, require_https=require_https, allowed_networks=allowed_networks
        )
    except UrlRefused as exc:
        return _log(
            request, TransportResult(None, error_kind="refused_url", message=exc.reason)
        )
    return _log(request, _exchange(request, deadline, connect_timeout, max_bytes))


def _exchange(
    request: OutboundRequest,
    deadline: _Deadline,
    connect_timeout: float,
    max_bytes: int,
) -> TransportResult:
    try:
        response = _session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body or None,
            allow_redirects=False,
            stream=True,
            timeout=(connect_timeout, max(deadline.remaining(), 0.001)),
        )
    except requests.exceptions.RequestException as exc:
        return _failure(exc, deadline)
    try:
        return _read(response, deadline, max_bytes)
    finally:
        # Close rather than release: a half-read body must not go back to the pool.
        response.close()


def _failure(
    exc: requests.exceptions.RequestException, deadline: _Deadline
) -> TransportResult:
    kind, message = _describe(exc)
    return TransportResult(
        None, duration_ms=deadline.elapsed_ms(), error_kind=kind, message=message
    )


def _describe(exc: Exception) -> tuple[str, str]:
    # Order matters: ConnectTimeout is also a ConnectionError.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "timeout", "We could not connect to your server in time."
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "timeout", "Your server did not answer in time."
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connect", (
            "We could not connect to your server, or it closed the connection "
            "without answering."
        )
    return "error", f"The request failed: {type(exc).__name__}."


def _read(
    response: requests.Response, deadline: _Deadline, max_bytes: int
) -> TransportResult:
    headers = dict(response.headers)
    partial = TransportResult(response.status_code, headers)
    if _declared_length(headers) > max_bytes:
        return _too_large(partial, b"", deadline, max_bytes)
    body = bytearray()
    while True:
        if deadline.remaining() <= 0:
            return _timed_out(partial, bytes(body), deadline)
        _set_socket_timeout(response, deadline.remaining())
        try:
            chunk = response.raw.read1(
                min(_CHUNK_BYTES, max_bytes + 1 - len(body)), decode_content=True
            )
        except _BODY_ERRORS as exc:
            return _body_error(partial, bytes(body), deadline, exc)
        if not chunk:
            break
        body += chunk
        if len(body) > max_bytes:
            return _too_large(partial, bytes(body), deadline, max_bytes)
    return _replace(partial, body=bytes(body), duration_ms=deadline.elapsed_ms())


def _declared_length(headers: dict[str, str]) -> int:
    # A declared length over the cap fails at once, without reading anything.
    value = next((v for k, v in headers.items() if k.lower() == "content-length"), "")
    return int(value) if value.strip().isdigit() else -1


def _socket_of(response: requests.Response) -> socket.socket | None:
    # urllib3 keeps the connection on the response while the body is unread;
    # the second path reaches the same socket through http.client's file object.
    raw = response.raw
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is None:
        fp = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock


def _set_socket_timeout(response: requests.Response, seconds: float) -> None:
    # Each read then waits at most the time left, so a server dripping one byte
    # at a time cannot stretch the exchange past the deadline.
    sock = _socket_of(response)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


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
    if _is_timeout(exc) or deadline.remaining() <= 0:
        return _timed_out(partial, body, deadline)
    return _replace(
        partial,
        body=body,
        duration_ms=deadline.elapsed_ms(),
        error_kind="connect",
        message="Your server closed the connection before its answer was complete.",
    )


def _is_timeout(exc: Exception) -> bool:
    timeouts = (
        TimeoutError,
        socket.timeout,
        urllib3.exceptions.TimeoutError,
        requests.exceptions.Timeout,
    )
    return isinstance(exc, timeouts)


def _log(request: OutboundRequest, result: TransportResult) -> TransportResult:
    # Scheme, host and path only: the query may hold customer data, and headers
    # hold signatures, so neither is logged.
    parts = urlsplit(request.url)
    logger.info(
        "webhook %s %s://%s%s -> %s %s in %d ms",
        request.method,
        parts.scheme,
        parts.hostname,
        parts.path,
        result.status,
        result.error_kind or "ok",
        result.duration_ms,
    )
    return result
