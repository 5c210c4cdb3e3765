"""A real Celery worker on PostgreSQL sizes its connection pool to its threads
(config/db_pool.py), the figure the connection budget counts."""

from __future__ import annotations

import pytest

from config.db_pool import CELERY_EXTRA_CONNECTIONS
from tests.integration.worker import Worker, wait_for

pytestmark = pytest.mark.integration


def test_a_worker_sizes_its_pool_to_its_concurrency(stack, transactional_db, tmp_path):
    if stack == "embedded":
        pytest.skip("SQLite has no connection pool to size")
    worker = Worker(mail_dir=tmp_path / "mail", concurrency=5).start()
    try:
        lines = wait_for(
            lambda: [line for line in worker.output if "database connections" in line],
            timeout=10,
            what="the worker's pool size in its log",
        )
    finally:
        worker.stop()

    assert f"at most {5 + CELERY_EXTRA_CONNECTIONS} database connections" in lines[0]
