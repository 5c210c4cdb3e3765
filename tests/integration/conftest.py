from __future__ import annotations

import pytest

from tests.integration.worker import Worker, purge_queues
from tests.services import SERVICES_HINT, services_required, stack_name

STACKS = ["embedded", "production"]


@pytest.fixture(params=STACKS)
def stack(request):
    """Each integration test is listed for both stacks; the one not configured is
    skipped with the reason, unless CI requires services (then it must run)."""
    wanted, current = request.param, stack_name()
    if wanted == current:
        return current
    if wanted == "production" and services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but the stack is {current}")
    if wanted == "production":
        pytest.skip(f"PostgreSQL + Redis not configured: {SERVICES_HINT}")
    pytest.skip(f"running on the {current} stack; embedded runs without DATABASE_URL")


@pytest.fixture
def worker(stack, transactional_db, tmp_path):
    purge_queues()
    worker = Worker(mail_dir=tmp_path / "mail").start()
    yield worker
    worker.stop()


@pytest.fixture
def fast_recovery(fulfillment_settings):
    """The test process plays beat: its dispatchers use short graces matching
    the workers' FAST_RECOVERY_ENV."""
    fulfillment_settings(
        DISPATCH_GRACE_SECONDS=2,
        EMAIL_DISPATCH_GRACE_SECONDS=2,
        EMAIL_CLAIM_TIMEOUT_SECONDS=8,
    )
