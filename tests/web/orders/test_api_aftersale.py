"""`POST /api/v1/orders/<transaction_id>/refunds` and `/disputes`: the
payment provider reports what happened after the sale.

Every answer is checked against the OpenAPI document (`contract`), so a status
or an error code the document does not list fails here as in the fuzz test.
"""

from __future__ import annotations

import json

import pytest
from django.core import mail

from emails.models import RefundNotice
from orders.models import Order, OrderEvent
from orders.services import api_token_create
from tests.factories import fulfill, place
from tests.web.orders.contract import assert_documented_answer

pytestmark = pytest.mark.django_db

REFUNDS = "/api/v1/orders/{transaction_id}/refunds"
DISPUTES = "/api/v1/orders/{transaction_id}/disputes"


@pytest.fixture
def order(live_product) -> Order:
    order = place(live_product, email="ada@example.com")
    fulfill(order, "KEY-1")
    return order


@pytest.fixture
def report(client, api_token):
    """POST a body to the order's refunds or disputes URL; the answer must be
    one the document allows, and is returned with its JSON."""

    def post(path: str, transaction_id: str, body, *, token=api_token):
        content = body if isinstance(body, str | bytes) else json.dumps(body)
        response = client.post(
            path.format(transaction_id=transaction_id),
            data=content,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        body = assert_documented_answer(
            path, "POST", response.status_code, response.content
        )
        return response, body

    return post


def _refund(report, order, **fields):
    body = {"event_id": "re_1", "amount": "5.00", "reason": "Asked", **fields}
    return report(REFUNDS, order.transaction_id, body)


def test_a_reported_refund_is_201_with_the_event_and_the_order(report, order):
    response, body = _refund(report, order)

    assert response.status_code == 201
    assert body["event"] == {
        "event_id": "re_1",
        "kind": "refund",
        "amount": "5.00",
        "reason": "Asked",
        "created_at": body["event"]["created_at"],
    }
    assert body["order"]["state"] == "partially_refunded"
    assert body["order"]["refunded_amount"] == "5.00"
    assert body["order"]["refundable_amount"] == "14.00"
    event = OrderEvent.objects.get()
    assert (event.actor_kind, event.actor_name) == ("provider", "Test provider")


def test_a_replay_is_200_with_the_same_answer_and_one_email(
    report, order, email_backend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first, first_body = _refund(report, order)
    with django_capture_on_commit_callbacks(execute=True):
        again, again_body = _refund(report, order)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again_body == first_body
    assert OrderEvent.objects.count() == 1
    assert RefundNotice.objects.count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]


def test_the_same_event_id_with_other_contents_is_409(report, order):
    _refund(report, order)

    response, body = _refund(report, order, amount="6.00")

    assert response.status_code == 409
    assert body["error"]["code"] == "event_conflict"
    order.refresh_from_db()
    assert str(order.refunded_amount) == "5.00"


def test_a_refund_of_an_unknown_order_is_404(report, db):
    response, body = report(REFUNDS, "txn-nobody", {"event_id": "e", "amount": "1"})

    assert response.status_code == 404
    assert body["error"]["code"] == "order_not_found"


def test_a_refund_above_what_is_left_is_400_on_the_amount(report, order):
    _refund(report, order, amount="15.00")

    response, body = _refund(report, order, event_id="re_2", amount="4.50")

    assert response.status_code == 400
    assert body["error"]["code"] == "amount_too_large"
    assert body["error"]["fields"] == {
        "amount": ["Only 4.00 USD of this order can still be refunded."]
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": 5}, "amount", 'Must be a string. Enter an amount like "12.50"'),
        ({"amount": "5.001"}, "amount", 'Enter an amount like "12.50"'),
        ({"amount": "0.00"}, "amount", "Enter an amount greater than 0."),
        ({"amount": "-1"}, "amount", 'Enter an amount like "12.50"'),
        ({"event_id": ""}, "event_id", "This field is required."),
        ({"reason": "a\nb"}, "reason", "Must not contain control characters"),
        ({"reason": "x" * 501}, "reason", "at most 500 characters"),
        ({"currency": "EUR"}, "currency", "This order is in USD."),
        ({"refunded_by": "me"}, "refunded_by", "Unknown field."),
    ],
)
def test_bad_fields_are_400_with_a_message_on_the_field(
    report, order, fields, field, message
):
    response, body = _refund(report, order, **fields)

    assert response.status_code == 400
    assert body["error"]["code"] == "invalid_fields"
    assert message in " ".join(body["error"]["fields"][field])
    assert not OrderEvent.objects.exists()


def test_the_currency_may_be_given_when_it_is_the_orders(report, order):
    response, _ = _refund(report, order, currency="usd")

    assert response.status_code == 201


def test_a_body_that_is_not_json_is_400(report, order):
    response, body = report(REFUNDS, order.transaction_id, "{")

    assert response.status_code == 400
    assert body["error"]["code"] == "invalid_json"


def test_reporting_needs_the_refund_scope(report, order):
    _, raw = api_token_create(name="Orders only", scopes=["orders:write"])

    body = {"event_id": "re_1", "amount": "5.00"}
    response, body = report(REFUNDS, order.transaction_id, body, token=raw)

    assert response.status_code == 403
    assert body["error"]["code"] == "insufficient_scope"


def test_a_get_on_the_refunds_url_is_405(client, api_token, order):
    response = client.get(
        REFUNDS.format(transaction_id=order.transaction_id),
        headers={"Authorization": f"Bearer {api_token}"},
    )

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_a_transaction_id_with_a_slash_is_found(report, live_product, api_post):
    api_post(
        {
            "product": live_product.slug,
            "quantity": 1,
            "customer_email": "slash@example.com",
            "transaction_id": "shop/2026/77",
        }
    )

    response, body = report(
        REFUNDS, "shop/2026/77", {"event_id": "re_9", "amount": "1.00"}
    )

    assert response.status_code == 201
    assert body["order"]["transaction_id"] == "shop/2026/77"


def test_the_order_itself_reports_its_state_after_the_sale(
    report, client, api_token, order
):
    _refund(report, order, amount="19.00")

    response = client.get(
        f"/api/v1/orders/{order.transaction_id}",
        headers={"Authorization": f"Bearer {api_token}"},
    )

    body = assert_documented_answer(
        "/api/v1/orders/{transaction_id}", "GET", 200, response.content
    )
    assert (body["state"], body["refundable_amount"]) == ("refunded", "0.00")


# --- Disputes -------------------------------------------------------------------


def _dispute(report, order, event_id: str, status: str, **fields):
    body = {"event_id": event_id, "status": status, "amount": "19.00", **fields}
    return report(DISPUTES, order.transaction_id, body)


def test_a_dispute_is_opened_then_lost(report, order):
    opened, opened_body = _dispute(report, order, "dp_1", "opened", reason="Fraud")
    lost, lost_body = _dispute(report, order, "dp_2", "lost")

    assert (opened.status_code, lost.status_code) == (201, 201)
    assert opened_body["event"]["kind"] == "dispute_opened"
    assert opened_body["order"]["state"] == "disputed"
    assert lost_body["order"]["state"] == "charged_back"
    assert lost_body["order"]["dispute_status"] == "lost"
    assert lost_body["order"]["refundable_amount"] == "0.00"


def test_a_second_opening_is_409_dispute_conflict(report, order):
    _dispute(report, order, "dp_1", "opened")

    response, body = _dispute(report, order, "dp_2", "opened")

    assert response.status_code == 409
    assert body["error"]["code"] == "dispute_conflict"


def test_a_replayed_dispute_event_is_200(report, order):
    _dispute(report, order, "dp_1", "opened")

    response, _ = _dispute(report, order, "dp_1", "opened")

    assert response.status_code == 200
    assert OrderEvent.objects.count() == 1


def test_an_unknown_dispute_status_is_a_field_error(report, order):
    response, body = _dispute(report, order, "dp_1", "reversed")

    assert response.status_code == 400
    assert body["error"]["fields"]["status"] == ["Must be one of opened, won, lost."]


def test_a_dispute_of_an_unknown_order_is_404(report, db):
    response, body = report(
        DISPUTES, "txn-nobody", {"event_id": "e", "status": "opened", "amount": "1"}
    )

    assert response.status_code == 404
    assert body["error"]["code"] == "order_not_found"
