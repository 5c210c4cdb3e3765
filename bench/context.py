"""What every scenario needs: the running stack, the data, the sizes."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings

from bench.env import EMAIL_ROLE, ROLE_ENV, WORKER_ROLE
from bench.fixtures import BenchData
from bench.stack import (
    Proc,
    Stack,
    beat_start,
    broker_flush,
    worker_start,
    workers_wait,
)


@dataclass
class Context:
    stack: Stack
    data: BenchData
    fast: Proc  # the fast seller server process; info["ports"]
    slow: Proc  # the slow one
    broker_url: str
    workers: int  # fulfillment worker processes in B1 and B2 (naive ones in naive)
    concurrency: int  # threads of each fulfillment worker (and of each naive one)
    email_concurrency: int
    creators: int  # driver threads placing orders
    timeout: float  # seconds to wait for a batch to finish

    def log(self, message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    def seller_stats(self, proc: Proc | None = None) -> dict:
        port = (proc or self.fast).info["ports"][0]
        url = f"http://127.0.0.1:{port}/_bench/stats"
        return requests.get(url, timeout=5).json()

    def celery_stack(self, *, fulfillment_workers: int, beat: bool) -> list[Proc]:
        """An empty broker, then fulfillment and email workers (and beat), ready."""
        from config.celery import app

        broker_flush(self.broker_url)
        workers = [
            worker_start(
                self.stack,
                name=f"fulfillment{k + 1}",
                queues="fulfillment",
                concurrency=self.concurrency,
                env=self.env_with_role(WORKER_ROLE),
            )
            for k in range(fulfillment_workers)
        ]
        workers.append(
            worker_start(
                self.stack,
                name="email",
                queues="email",
                concurrency=self.email_concurrency,
                env=self.env_with_role(EMAIL_ROLE),
            )
        )
        workers_wait(workers, app)
        if beat:
            # A schedule left by an earlier run would make beat run tasks at once.
            schedule = Path(settings.CELERY_BEAT_SCHEDULE_FILENAME)
            for path in schedule.parent.glob(schedule.name + "*"):
                path.unlink()
            workers.append(beat_start(self.stack))
        return workers

    def env_with_role(self, role: str) -> dict[str, str]:
        """For a worker: its own PostgreSQL role, so that pg_stat_statements
        puts its statements down to it (bench/pgstats.py)."""
        return {**self.stack.env, ROLE_ENV: role}

    def env_without_django(self) -> dict[str, str]:
        """For the naive worker: without DJANGO_SETTINGS_MODULE Celery's Django
        fix-up stays off, so that process has no Django at all."""
        env = dict(self.stack.env)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        return env
