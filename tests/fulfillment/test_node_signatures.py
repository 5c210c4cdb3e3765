"""Our signatures, verified by the official Standard Webhooks npm package.

Each test builds a real signed request with `build_request` and hands it to
tests/node/verify.mjs, which calls `new Webhook(secret).verify(payload, headers)`
from `standardwebhooks` (the version pinned in tests/node/package.json). Locally
the tests skip without Node or `npm ci --prefix tests/node`; in CI
(REQUIRE_SERVICES=1) a missing Node setup fails them instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from fulfillment.payload import OrderFacts, build_fields, build_request
from fulfillment.services.config import webhook_config_secret_regenerate
from lib.ids import new_signing_secret
from lib.transport import OutboundRequest
from tests.tools import skip_or_fail

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
VERIFIED, REFUSED = 0, 1  # verify.mjs exit codes; 2 means the script itself broke
DELIVERY_ID = "dlv_01NODEVERIFY"
# The shapes a seller can configure: GET signs the query string, POST the body.
SHAPES = [("GET", "form"), ("POST", "form"), ("POST", "json")]


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    problems = []
    if path is None:
        problems.append("`node` is not on PATH")
    if not (NODE_DIR / "node_modules" / "standardwebhooks").is_dir():
        problems.append(
            "tests/node/node_modules is missing (`npm ci --prefix tests/node`)"
        )
    if problems:
        skip_or_fail("Node verification needs: " + "; ".join(problems))
    return path


def _request(method: str, body_format: str, secrets: list[str]) -> OutboundRequest:
    facts = OrderFacts(
        order_id="ord_42",
        transaction_id="txn_42",
        checkout_hash="chk_abc",
        customer_email="dana@example.com",
        customer_name="Dana Ö",
        product_id=7,
        product_name="Pixel Editor — Pro & more",
        quantity=2,
        unit_price="19.00",
        currency="USD",
        event_time=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    fields = build_fields(
        facts=facts,
        delivery_id=DELIVERY_ID,
        quantity=1,
        item_index=1,
        item_count=2,
        custom_fields=[],
    )
    return build_request(
        url="https://licenses.example.com/issue?edition=pro",
        method=method,
        body_format=body_format,
        fields=fields,
        delivery_id=DELIVERY_ID,
        secrets=secrets,
        timestamp=int(time.time()),
        user_agent="FulfillmentWebhooks/test",
    )


def _verify(node: str, secret: str, request: OutboundRequest) -> int:
    """verify.mjs's exit code for the request as the seller receives it."""
    if request.method == "GET":
        payload = urlsplit(request.url).query
    else:
        payload = request.body.decode("utf-8")
    is_json = request.headers.get("Content-Type") == "application/json"
    message = {
        "secret": secret,
        "payload": payload,
        "headers": request.headers,
        "json": is_json,
    }
    result = subprocess.run(  # noqa: S603 - fixed script, input on stdin
        [node, "verify.mjs"],
        cwd=NODE_DIR,
        input=json.dumps(message),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode in (VERIFIED, REFUSED), result.stderr
    return result.returncode


def _signature_count(request: OutboundRequest) -> int:
    return len(request.headers["webhook-signature"].split(" "))


@pytest.mark.parametrize(("method", "body_format"), SHAPES)
def test_node_library_verifies_a_request(node, method, body_format):
    secret = new_signing_secret()

    assert _verify(node, secret, _request(method, body_format, [secret])) == VERIFIED


@pytest.mark.parametrize(("method", "body_format"), SHAPES)
def test_node_library_refuses_another_secret(node, method, body_format):
    request = _request(method, body_format, [new_signing_secret()])

    assert _verify(node, new_signing_secret(), request) == REFUSED


def test_node_library_refuses_a_tampered_body(node):
    secret = new_signing_secret()
    request = _request("POST", "form", [secret])
    tampered = OutboundRequest(
        method=request.method,
        url=request.url,
        headers=request.headers,
        body=request.body.replace(b"quantity=1", b"quantity=9"),
    )

    assert tampered.body != request.body
    assert _verify(node, secret, tampered) == REFUSED


@pytest.fixture
def rotated(product):
    """alice's config right after a rotation: (config, old secret, new secret)."""
    config = product.webhook_config
    old = config.signing_secret
    webhook_config_secret_regenerate(config=config)
    config.refresh_from_db()
    return config, old, config.signing_secret


@pytest.mark.parametrize(("method", "body_format"), SHAPES)
def test_node_before_rotation_the_one_secret_verifies(
    node, product, method, body_format
):
    config = product.webhook_config
    request = _request(method, body_format, config.active_secrets())

    assert _signature_count(request) == 1
    assert _verify(node, config.signing_secret, request) == VERIFIED


@pytest.mark.parametrize(("method", "body_format"), SHAPES)
def test_node_during_rotation_each_secret_verifies_alone(
    node, rotated, method, body_format
):
    config, old, new = rotated
    request = _request(method, body_format, config.active_secrets())

    assert _signature_count(request) == 2
    assert _verify(node, new, request) == VERIFIED
    assert _verify(node, old, request) == VERIFIED


@pytest.mark.parametrize(("method", "body_format"), SHAPES)
def test_node_after_rotation_only_the_new_secret_verifies(
    node, rotated, method, body_format
):
    config, old, new = rotated
    after_grace = timezone.now() + timedelta(hours=24, minutes=1)
    request = _request(method, body_format, config.active_secrets(now=after_grace))

    assert _signature_count(request) == 1
    assert _verify(node, new, request) == VERIFIED
    assert _verify(node, old, request) == REFUSED
