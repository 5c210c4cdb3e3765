"""A real `celery worker` process on the test database and the configured broker."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("fulfillment", "email")
# Short timings so a killed worker's leases and claims expire within a test. The
# circuit breaker keeps its shipped settings.
FAST_RECOVERY_ENV = {
    "FULFILLMENT_CONNECT_TIMEOUT": "1",
    "FULFILLMENT_TOTAL_TIMEOUT": "2",
    "FULFILLMENT_ATTEMPT_TIME_LIMIT": "5",
    "FULFILLMENT_LEASE_SECONDS": "6",
    "FULFILLMENT_RETRY_SCHEDULE": "1,1,2,2,3",
    "FULFILLMENT_EMAIL_TASK_TIME_LIMIT": "6",
    "EMAIL_TIMEOUT": "5",
    "FULFILLMENT_EMAIL_CLAIM_TIMEOUT_SECONDS": "8",
}


def test_database_url() -> str:
    """The URL of the database pytest-django created, for the worker to share."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def empty_broker() -> None:
    """Lose every queued message, as a broker restarted without persistence does.

    On Redis: FLUSHDB on the database number of CELERY_BROKER_URL (the one the
    tests own), never the whole server. On the filesystem broker: delete the
    queued message files."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        import redis

        redis.Redis.from_url(url).flushdb()
        return
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    for message in folder.glob("*.msg"):
        message.unlink(missing_ok=True)


def purge_queues() -> None:
    """Drop messages a previous run left behind, so they cannot confuse this one."""
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in QUEUES:
            try:
                channel.queue_purge(queue)
            except Exception:  # noqa: S112 - a queue that does not exist yet is empty
                continue


class Worker:
    def __init__(
        self,
        *,
        mail_dir: Path,
        extra_env: dict[str, str] | None = None,
        queues: tuple[str, ...] = QUEUES,
        name: str = "worker",
        concurrency: int = 4,
    ):
        self.mail_dir = mail_dir
        self.queues, self.name, self.concurrency = queues, name, concurrency
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "FULFILLMENT_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
            "FULFILLMENT_TOTAL_TIMEOUT": "5",
            **(extra_env or {}),
        }
        self.output: list[str] = []
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Worker:
        cmd = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--queues", ",".join(self.queues), "--hostname", f"{self.name}@%h",
            "--pool", "threads", "--concurrency", str(self.concurrency),
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "INFO",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(" ready." in line for line in self.output):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            "Celery worker did not start:\n" + "".join(self.output[-40:])
        )

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acks; what a crash or the OOM killer does."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return "".join(self.output)


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}")


class Beat:
    """A real `celery beat` process (the Procfile's), sending the shipped
    CELERY_BEAT_SCHEDULE to the configured broker for the workers to run.
    `extra_env` shortens its intervals (e.g. FULFILLMENT_KEY_LIST_INTERVAL)."""

    def __init__(self, *, schedule_dir: Path, extra_env: dict[str, str] | None = None):
        self.schedule = schedule_dir / "celerybeat-schedule"
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            **(extra_env or {}),
        }
        self.output: list[str] = []
        self.process: subprocess.Popen | None = None

    def start(self) -> Beat:
        cmd = [
            sys.executable, "-m", "celery", "-A", "config", "beat",
            "--schedule", str(self.schedule), "--loglevel", "INFO",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return "".join(self.output)
