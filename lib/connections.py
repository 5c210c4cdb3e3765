"""Keep-alive connections to sellers' servers, reused only where it is safe.

A connection is reused only for the same scheme, port, TLS host name *and the
address the URL check just approved for this request*: every request still
resolves and checks the host (urlpolicy), so reuse never lets a DNS change
send a request somewhere the policy would refuse. Idle connections live per
thread (a Celery worker thread sends one request at a time), for at most
IDLE_SECONDS, which is under the shortest keep-alive timeout common servers
use (Apache's 5 s): a server rarely closes a connection we are about to use.
When it does, the transport retries once on a new connection.
"""

from __future__ import annotations

import contextlib
import http.client
import ssl
import threading
import time

# Under Apache's default KeepAliveTimeout (5 s); nginx keeps 75 s.
IDLE_SECONDS = 4.0
# Idle connections one thread keeps (one per seller server it talked to lately).
MAX_IDLE_PER_THREAD = 8

# (scheme, checked address, port, TLS host name)
Key = tuple[str, str, int, str]

_local = threading.local()


def _pool() -> dict[Key, tuple[http.client.HTTPConnection, float]]:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    return pool


def take(key: Key) -> http.client.HTTPConnection | None:
    """An idle connection for `key` that still looks open, or None."""
    entry = _pool().pop(key, None)
    if entry is None:
        return None
    conn, idle_since = entry
    if time.monotonic() - idle_since > IDLE_SECONDS or not _looks_open(conn):
        _close(conn)
        return None
    return conn


def give_back(key: Key, conn: http.client.HTTPConnection) -> None:
    """Keep `conn` for the next request to the same place (the oldest idle one
    goes when the thread keeps too many)."""
    pool = _pool()
    previous = pool.pop(key, None)
    if previous is not None:
        _close(previous[0])
    pool[key] = (conn, time.monotonic())
    while len(pool) > MAX_IDLE_PER_THREAD:
        oldest = next(iter(pool))
        _close(pool.pop(oldest)[0])


def close_all() -> None:
    """Close this thread's idle connections (tests; worker shutdown)."""
    pool = _pool()
    while pool:
        _close(pool.popitem()[1][0])


def _looks_open(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive connection has nothing to read. Readable means the
    server closed it (EOF) or sent something unasked: either way not reusable.
    A TLS 1.3 session ticket is consumed by the TLS layer and reads as nothing."""
    sock = conn.sock
    if sock is None:
        return False
    # A socket of the transport's, with its deadline: none for this probe, which
    # never blocks.
    sock.deadline_ends = None  # type: ignore[union-attr]
    try:
        sock.setblocking(False)
        data = sock.recv(1)
    except (BlockingIOError, ssl.SSLWantReadError):
        return True  # nothing to read: still open
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            sock.setblocking(True)
    del data  # b"" (closed) or bytes nobody asked for
    return False


def _close(conn: http.client.HTTPConnection) -> None:
    with contextlib.suppress(OSError):
        conn.close()
