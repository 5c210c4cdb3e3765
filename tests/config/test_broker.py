"""The embedded broker never shows a consumer a half-written message (kombu #1551)."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from kombu import Connection
from kombu.transport import redis
from kombu.transport.virtual.base import BrokerState

import config.broker


def test_a_message_appears_under_its_queue_name_only_when_complete(
    tmp_path, monkeypatch
):
    real_replace = os.replace
    seen = []

    def checking_replace(partial, final):
        # At the moment of the rename the consumer cannot see the message yet,
        # and what it will see is a whole JSON document.
        assert not os.path.exists(final)
        with open(partial, "rb") as f:
            seen.append(json.loads(f.read()))
        real_replace(partial, final)

    monkeypatch.setattr(config.broker.os, "replace", checking_replace)
    # kombu keeps exchanges and bindings in one state shared by every
    # filesystem connection in the process. After the integration tests had
    # used the Celery app, this test's message no longer arrived; a state of
    # its own makes it independent of what ran before.
    monkeypatch.setattr(config.broker.Transport, "global_state", BrokerState())
    # Every folder under tmp_path: kombu's default control folder is ./control.
    options = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "control_folder": str(tmp_path / "control"),
    }
    with Connection(
        "filesystem://localhost//",
        transport=config.broker.Transport,
        transport_options=options,
    ) as conn:
        queue = conn.SimpleQueue("fulfillment")
        queue.put({"delivery": 1})
        message = queue.get(timeout=1)
        message.ack()

    assert message.payload == {"delivery": 1}
    assert len(seen) == 1
    assert not list(tmp_path.glob("*.partial"))


def test_on_redis_publishing_reuses_one_client_until_the_pool_changes(settings):
    from tests.services import SERVICES_HINT, on_redis

    if not on_redis():
        pytest.skip(f"Redis not configured: {SERVICES_HINT}")
    assert settings.CELERY_BROKER_TRANSPORT == "config.broker:RedisTransport"
    queue = f"test-broker-{uuid.uuid4().hex}"
    with Connection(
        settings.CELERY_BROKER_URL, transport=settings.CELERY_BROKER_TRANSPORT
    ) as conn:
        channel = conn.default_channel
        built = []
        real = redis.Channel._create_client

        def counting(self, asynchronous=False):
            built.append(asynchronous)
            return real(self, asynchronous=asynchronous)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(redis.Channel, "_create_client", counting)
            for n in range(3):
                conn.SimpleQueue(queue).put({"n": n})
            first = channel._create_client()
            channel._disconnect_pools()  # what a reconnect or a fork does
            second = channel._create_client()
            assert second.connection_pool is channel.pool
            received = []
            for _ in range(3):
                message = conn.SimpleQueue(queue).get(timeout=5)
                received.append(message.payload["n"])
                message.ack()

    assert received == [0, 1, 2]
    # One client for the first pool, one for the new pool: not one per message.
    assert built.count(False) == 2
    assert first is not second
