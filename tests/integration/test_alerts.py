"""Alerts on real processes: an API order's `order.completed` alert goes out
from a real Celery worker, signed with the Alerts secret, once; its answer is
emailed to nobody (the customer gets their one license email)."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from fulfillment.models import AlertDelivery
from fulfillment.services.alerts import (
    alert_endpoint_get_or_create,
    alert_endpoint_save,
)
from orders.services import api_token_create
from tests.httpserver import Route
from tests.integration.test_full_flow import (
    emailed,
    license_route,
    post_order,
    product_and_config,
    read_mail,
    text_part,
)
from tests.integration.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_api_order_sends_one_signed_order_completed_alert(
    worker, seller_server, client
):
    seller_server.set_route("/license", license_route)
    seller_server.set_route("/alerts", Route(body="ALERT-ANSWER-NEVER-EMAILED"))
    product, _ = product_and_config(
        seller_server.url("/license"), separate_multibuy=False
    )
    endpoint = alert_endpoint_get_or_create(seller_id=product.seller_id)
    url = seller_server.url("/alerts")
    alert_endpoint_save(endpoint=endpoint, url=url, events=["order.completed"])
    _, token = api_token_create(name="provider")

    response = post_order(
        client, token, product=product.slug, quantity=1,
        customer_email="alerts@example.com", transaction_id="txn-alert-1",
    )  # fmt: skip

    assert response.status_code == 201, response.content
    wait_for(
        lambda: (
            AlertDelivery.objects.filter(status="succeeded").exists()
            and emailed(transaction_id="txn-alert-1")
        ),
        timeout=60,
        what=f"the alert and the email; worker log:\n{worker.log()[-3000:]}",
    )
    (request,) = seller_server.requests_to("/alerts")
    body = Webhook(endpoint.signing_secret).verify(request.body, request.headers)
    assert body["type"] == "order.completed"
    assert body["data"]["transaction_id"] == "txn-alert-1"
    assert request.header("webhook-id") == AlertDelivery.objects.get().alert_id
    (message,) = read_mail(worker.mail_dir)
    assert "ALERT-ANSWER-NEVER-EMAILED" not in text_part(message)
