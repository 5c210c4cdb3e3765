"""The chaos run's own machinery (bench/chaos, bench/stack.py): the Procfile's
commands as a process manager runs them, and the TLS seller server's answers
and records. The run itself needs PostgreSQL and Redis: `make chaos`."""

from __future__ import annotations

import ssl
import sys
import threading
import time

import pytest
import requests

from bench.chaos.seller import SellerServer, SellerState
from bench.chaos.tls import tls_files_create
from bench.stack import procfile_command
from lib.ids import new_delivery_id, new_signing_secret
from lib.signing import sign


def test_procfile_command_takes_the_environment_then_the_default():
    default = procfile_command("fulfillment", {})
    tuned = procfile_command("fulfillment", {"FULFILLMENT_CONCURRENCY": "4"})

    assert default[:3] == [sys.executable, "-m", "celery"]
    assert default[default.index("--concurrency") + 1] == "16"
    assert tuned[tuned.index("--concurrency") + 1] == "4"


@pytest.fixture
def seller(tmp_path):
    """A chaos seller server over TLS on loopback, in this process; its port,
    CA file and state."""
    tls = tls_files_create(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.server_cert, tls.server_key)
    state = SellerState()
    server = SellerServer(context, state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], str(tls.ca_cert), state
    server.shutdown()
    server.server_close()


def _post(port: int, ca: str, secret: str, delivery_id: str) -> int:
    body = f"delivery_id={delivery_id}&product_id=7&quantity=1".encode()
    headers = sign(
        msg_id=delivery_id, timestamp=int(time.time()), payload=body, secrets=[secret]
    )
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    answer = requests.post(
        f"https://localhost:{port}/license/flaky",
        data=body,
        headers=headers,
        verify=ca,
        timeout=5,
    )
    return answer.status_code


def test_a_flaky_product_answers_500_twice_per_delivery_then_200(seller):
    port, ca, state = seller
    secret = new_signing_secret()
    state.products_learn({"flaky": {"secret": secret, "fail_first": 2}})
    first, second = new_delivery_id(), new_delivery_id()

    statuses = [_post(port, ca, secret, first) for _ in range(3)]
    statuses.append(_post(port, ca, secret, second))

    assert statuses == [500, 500, 200, 500]
    assert all(record["verified"] for record in state.records)
    assert [r["delivery_id"] for r in state.records] == [first] * 3 + [second]


def test_a_request_signed_with_another_secret_is_refused_and_recorded(seller):
    port, ca, state = seller
    state.products_learn({"flaky": {"secret": new_signing_secret()}})

    status = _post(port, ca, new_signing_secret(), new_delivery_id())

    assert status == 401
    assert state.records[0]["verified"] is False
