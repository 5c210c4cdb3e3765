"""The whole path on real processes: API → planned deliveries → a real Celery
worker → a real seller server on 127.0.0.1 → one email written by the worker.

Runs on SQLite + kombu's filesystem broker without services, and on PostgreSQL +
Redis in CI (see the `stack` fixture)."""

from __future__ import annotations

import email
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from standardwebhooks.webhooks import Webhook

from emails.models import OrderEmail
from fulfillment.models import Delivery
from fulfillment.services import wakeups
from orders.models import Order
from orders.services import api_token_create
from tests.factories import LiveProductFactory
from tests.httpserver import Route
from tests.integration.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def read_mail(folder: Path) -> list[email.message.Message]:
    separator = "\n" + "-" * 79 + "\n"
    messages = []
    for path in sorted(folder.glob("*.log")) if folder.exists() else []:
        for chunk in path.read_text().split(separator):
            if chunk.strip():
                messages.append(email.message_from_string(chunk.lstrip("\n")))
    return messages


def emailed(*, transaction_id: str) -> bool:
    """Whether the order's email is recorded as sent (no row yet: not owed yet)."""
    sent = OrderEmail.objects.filter(order__transaction_id=transaction_id)
    return sent.filter(status="sent").exists()


def text_part(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset())
    raise AssertionError("no text part")


def license_route(request) -> Route:
    # A license derived from the delivery ID, as an idempotent seller would.
    return Route(body=f"**Key:** `KEY-{request.header('webhook-id')[-8:]}`")


def product_and_config(url: str, *, separate_multibuy: bool):
    product = LiveProductFactory(
        webhook_config__url=url, webhook_config__separate_multibuy=separate_multibuy
    )
    return product, product.webhook_config


def post_order(client, token: str, **fields):
    return client.post(
        "/api/v1/orders",
        data=json.dumps(fields),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def verify_signature(config, request) -> None:
    payload = request.body if request.method == "POST" else request.query.encode()
    headers = {
        k: request.header(k)
        for k in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    Webhook(config.signing_secret).verify(payload, headers, json_parse=False)


def test_api_order_of_three_sends_three_signed_requests_and_one_email(
    worker, seller_server, client
):
    seller_server.set_route("/license", license_route)
    product, config = product_and_config(
        seller_server.url("/license"), separate_multibuy=True
    )
    _, token = api_token_create(name="provider")

    response = post_order(
        client, token, product=product.slug, quantity=3,
        customer_email="buyer@example.com", transaction_id="txn-int-1",
        passthrough="acct_42",
    )  # fmt: skip

    assert response.status_code == 201, response.content
    order = Order.objects.get(transaction_id="txn-int-1")
    wait_for(
        lambda: emailed(transaction_id=order.transaction_id),
        timeout=60,
        what=f"the order email; worker log:\n{worker.log()[-3000:]}",
    )
    requests = seller_server.requests_to("/license")
    assert len(requests) == 3
    for request in requests:
        verify_signature(config, request)
    fields = [parse_qs(r.body.decode()) for r in requests]
    assert sorted(f["item_index"][0] for f in fields) == ["1", "2", "3"]
    assert {f["quantity"][0] for f in fields} == {"1"}
    assert {f["item_count"][0] for f in fields} == {"3"}
    # The seller's own data reaches their server with every unit, and not the
    # customer (below: the email).
    assert {f["passthrough"][0] for f in fields} == {"acct_42"}
    assert len({r.header("webhook-id") for r in requests}) == 3
    messages = read_mail(worker.mail_dir)
    assert len(messages) == 1
    assert messages[0]["To"] == "buyer@example.com"
    body = text_part(messages[0])
    for request in requests:
        assert f"KEY-{request.header('webhook-id')[-8:]}" in body
    parts = [p for p in messages[0].walk() if not p.is_multipart()]
    assert all(b"acct_42" not in part.get_payload(decode=True) for part in parts)


def test_failed_attempt_is_retried_with_the_same_delivery_id_and_one_email(
    worker, seller_server, client, settings
):
    seller_server.set_route(
        "/license", [Route(status=503, body="busy"), Route(body="KEY-AFTER-RETRY")]
    )
    product, config = product_and_config(
        seller_server.url("/license"), separate_multibuy=False
    )
    _, token = api_token_create(name="provider")

    response = post_order(
        client, token, product=product.slug, quantity=2,
        customer_email="retry@example.com", transaction_id="txn-int-2",
    )  # fmt: skip

    assert response.status_code == 201, response.content
    order = Order.objects.get(transaction_id="txn-int-2")
    # The first retry waits 10 s ± 20 %.
    wait_for(
        lambda: emailed(transaction_id=order.transaction_id),
        timeout=60,
        what=f"the order email; worker log:\n{worker.log()[-3000:]}",
    )
    requests = seller_server.requests_to("/license")
    assert [r.header("webhook-id") for r in requests] == [
        requests[0].header("webhook-id")
    ] * 2
    delivery = Delivery.objects.get(order=order)
    assert delivery.attempt_count == 2
    assert [a.response_status for a in delivery.attempts.order_by("number")] == [
        503,
        200,
    ]
    messages = read_mail(worker.mail_dir)
    assert len(messages) == 1
    assert "KEY-AFTER-RETRY" in text_part(messages[0])


def test_delivery_whose_message_was_lost_is_sent_by_the_dispatcher(
    worker, seller_server, client, fulfillment_settings, monkeypatch
):
    seller_server.set_route("/license", license_route)
    product, _ = product_and_config(
        seller_server.url("/license"), separate_multibuy=False
    )
    _, token = api_token_create(name="provider")
    # The broker "loses" the message: enqueueing after commit does nothing.
    monkeypatch.setattr(wakeups, "delivery_enqueue", lambda *a, **k: None)
    post_order(
        client, token, product=product.slug, quantity=1,
        customer_email="lost@example.com", transaction_id="txn-int-3",
    )  # fmt: skip
    monkeypatch.undo()
    fulfillment_settings(DISPATCH_GRACE_SECONDS=0)

    assert wakeups.deliveries_dispatch_due() == 1

    wait_for(
        lambda: emailed(transaction_id="txn-int-3"),
        timeout=60,
        what="the order email after dispatch",
    )
    assert len(seller_server.requests_to("/license")) == 1
