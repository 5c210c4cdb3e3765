"""A real gunicorn (config/gunicorn.conf.py) on the test database, and API clients
that behave as payment providers do: retry with the same transaction_id until the
order is acknowledged."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from django.conf import settings

from tests.integration.worker import ROOT, test_database_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebServer:
    """gunicorn with the production config, in its own session so that a kill
    of the master leaves its workers orphaned, as a real crash does."""

    def __init__(self, *, port: int, workers: int = 2) -> None:
        self.port = port
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            "WEB_THREADS": "4",
            "STATIC_MANIFEST": "false",
            # Many retries from one token must measure recovery, not the limit.
            "API_RATE_LIMIT": "100000/60",
            "LOG_LEVEL": "WARNING",
        }
        self.masters: list[subprocess.Popen] = []
        self.output: list[str] = []

    def start(self, timeout: float = 60) -> WebServer:
        cmd = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "-c", "config/gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
        ]  # fmt: skip
        master = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        self.masters.append(master)
        threading.Thread(target=self._drain, args=(master,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if master.poll() is not None:
                break
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start:\n" + "".join(self.output[-40:]))

    def _drain(self, master: subprocess.Popen) -> None:
        for line in master.stdout:
            self.output.append(line)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("/healthz"), timeout=1) as answer:  # noqa: S310
                return answer.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def kill_master(self) -> None:
        """SIGKILL the master only: its workers notice and exit on their own."""
        master = self.masters[-1]
        master.kill()
        master.wait()

    def stop(self) -> None:
        for master in self.masters:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(master.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                master.wait(timeout=5)


@dataclass
class ApiClients:
    """Threads posting orders; each retries the same transaction_id after a
    connection error, a timeout or a 5xx until it gets 201 or 200."""

    server: WebServer
    token: str
    tries: dict[str, int] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def place(self, order: dict) -> float:
        """Blocks until acknowledged; returns when it was (monotonic)."""
        txn = order["transaction_id"]
        while True:
            with self.lock:
                self.tries[txn] = self.tries.get(txn, 0) + 1
            status = self._post(order)
            with self.lock:
                self.statuses.append(status)
            if status in (200, 201):
                return time.monotonic()
            if 400 <= status < 500:
                raise AssertionError(f"order {txn} refused with {status}")
            time.sleep(0.2)

    def _post(self, order: dict) -> int:
        request = urllib.request.Request(  # noqa: S310 - our own server
            self.server.url("/api/v1/orders"),
            data=json.dumps(order).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0  # no answer at all: the server was down

    @property
    def repeats(self) -> int:
        return sum(self.tries.values()) - len(self.tries)


def percentile(values: list[float], percent: int) -> float:
    """Nearest rank, as the dashboard computes it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[rank - 1]
