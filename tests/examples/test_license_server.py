"""The reference license server that `make run` uses for the demo product."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from fulfillment.payload import build_request
from lib.ids import new_signing_secret

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def license_server(tmp_path):
    secret, port = new_signing_secret(), free_port()
    process = subprocess.Popen(
        [sys.executable, "examples/license_server.py", "--port", str(port),
         "--secret", secret],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/license", secret
    process.terminate()
    process.wait(timeout=5)


def signed(url: str, secret: str, *, delivery_id: str = "dlv_1", method="POST"):
    request = build_request(
        url=url,
        method=method,
        body_format="form",
        fields={"quantity": 1, "item_index": 1},
        delivery_id=delivery_id,
        secrets=[secret],
        timestamp=int(time.time()),
        user_agent="test",
    )
    return requests.request(
        request.method, request.url, headers=request.headers, data=request.body,
        timeout=5,
    )  # fmt: skip


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_signed_request_gets_a_markdown_license(license_server, method):
    url, secret = license_server

    response = signed(url, secret, method=method)

    assert response.status_code == 200
    assert response.text.startswith("**License key:** `")


def test_same_delivery_id_gets_the_same_license(license_server):
    url, secret = license_server

    first = signed(url, secret, delivery_id="dlv_same").text
    second = signed(url, secret, delivery_id="dlv_same").text

    assert first == second
    assert signed(url, secret, delivery_id="dlv_other").text != first


def test_wrong_secret_is_refused_with_how_to_fix_it(license_server):
    url, _ = license_server

    response = signed(url, new_signing_secret())

    assert response.status_code == 401
    assert "Paste your product's signing secret" in response.text
