"""Several licenses in one answer: the list response formats against a real
seller server, from the attempt to the customer's email and order page."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.urls import reverse

from fulfillment.models import DeliveryStatus, ErrorKind, ResponseFormat
from fulfillment.services import deliveries as services
from fulfillment.services import wakeups
from orders.models import FulfillmentStatus
from tests.factories import place
from tests.httpserver import Route

pytestmark = pytest.mark.django_db


@pytest.fixture
def list_product(answering_product):
    """The answering product, Separate Multibuy off, reading one license per line."""
    config = answering_product.webhook_config
    config.response_format = ResponseFormat.LINES
    config.save()
    return answering_product


def _set_format(product, response_format: str) -> None:
    product.webhook_config.response_format = response_format
    product.webhook_config.save()


def _attempt(order, capture):
    delivery = order.deliveries.get()
    with capture(execute=True):
        services.delivery_attempt(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_three_lines_for_a_multibuy_of_three_make_one_email_of_three_licenses(
    list_product, seller_server, email_backend, django_capture_on_commit_callbacks
):
    seller_server.set_route("/license", Route(body="KEY-A\n\n  KEY-B  \nKEY-C\n"))
    order = place(list_product, quantity=3)

    delivery = _attempt(order, django_capture_on_commit_callbacks)

    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.license_texts == ["KEY-A", "KEY-B", "KEY-C"]
    assert len(seller_server.requests) == 1
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    for index, key in enumerate(["KEY-A", "KEY-B", "KEY-C"], start=1):
        assert f"License {index} of 3:\n\n{key}" in body
    assert "License 1 of 3" in mail.outbox[0].alternatives[0][0]


def test_a_json_list_for_a_multibuy_of_three_makes_one_email_of_three_licenses(
    list_product, seller_server, email_backend, django_capture_on_commit_callbacks
):
    _set_format(list_product, ResponseFormat.JSON)
    answer = json.dumps({"licenses": ["**KEY-1**", " KEY-2 ", "KEY-3"]})
    seller_server.set_route(
        "/license", Route(body=answer, content_type="application/json")
    )
    order = place(list_product, quantity=3)

    delivery = _attempt(order, django_capture_on_commit_callbacks)

    assert delivery.license_texts == ["**KEY-1**", "KEY-2", "KEY-3"]
    body = mail.outbox[0].body
    assert "License 1 of 3:\n\n**KEY-1**" in body
    assert "License 3 of 3:\n\nKEY-3" in body
    assert "<strong>KEY-1</strong>" in mail.outbox[0].alternatives[0][0]


def test_the_order_page_shows_each_license_of_the_answer(
    list_product, seller_server, client, django_capture_on_commit_callbacks
):
    seller_server.set_route("/license", Route(body="KEY-A\nKEY-B"))
    order = place(list_product, quantity=2)
    _attempt(order, django_capture_on_commit_callbacks)

    page = client.get(reverse("orders:order", kwargs={"token": order.token}))

    html = page.content.decode()
    assert "Your licenses" in html
    assert "License 1 of 2" in html and "License 2 of 2" in html
    assert html.index("KEY-A") < html.index("KEY-B")


def test_a_wrong_count_fails_the_attempt_with_the_reason_and_is_retried(
    list_product, seller_server, django_capture_on_commit_callbacks
):
    seller_server.set_route("/license", Route(body="KEY-A\nKEY-B"))
    order = place(list_product, quantity=3)

    delivery = _attempt(order, django_capture_on_commit_callbacks)

    assert delivery.status == DeliveryStatus.RETRYING
    attempt = delivery.attempts.get()
    assert attempt.error_kind == ErrorKind.LICENSE_COUNT
    assert attempt.message.startswith(
        "Your server sent 2 licenses for a quantity of 3:"
    )
    assert delivery.last_error.startswith("Your server sent 2 licenses")
    order.refresh_from_db()
    assert order.fulfillment_status == FulfillmentStatus.PENDING


def test_the_reason_of_a_wrong_count_is_on_the_delivery_page(
    list_product, seller_server, client, alice, django_capture_on_commit_callbacks
):
    seller_server.set_route("/license", Route(body="KEY-A\nKEY-B"))
    order = place(list_product, quantity=3)
    delivery = _attempt(order, django_capture_on_commit_callbacks)
    client.force_login(alice)

    page = client.get(
        reverse(
            "fulfillment:delivery-detail",
            args=[list_product.pk, delivery.delivery_id],
        )
    )

    assert "Your server sent 2 licenses for a quantity of 3" in page.content.decode()


def test_after_the_seller_fixes_the_server_the_retry_succeeds(
    list_product, seller_server, email_backend, django_capture_on_commit_callbacks
):
    seller_server.set_route("/license", Route(body="KEY-A"))
    order = place(list_product, quantity=2)
    delivery = _attempt(order, django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.RETRYING
    seller_server.set_route("/license", Route(body="KEY-A\nKEY-B"))

    assert wakeups.delivery_retry_now(delivery=delivery) is True
    delivery = _attempt(order, django_capture_on_commit_callbacks)

    assert delivery.license_texts == ["KEY-A", "KEY-B"]
    assert "License 2 of 2:\n\nKEY-B" in mail.outbox[0].body


def test_with_separate_multibuy_each_request_answers_one_line(
    list_product, seller_server, email_backend, django_capture_on_commit_callbacks
):
    list_product.webhook_config.separate_multibuy = True
    list_product.webhook_config.save()
    seller_server.set_route(
        "/license", lambda r: Route(body=f"\nKEY-{r.header('webhook-id')[-4:]}\n")
    )
    order = place(list_product, quantity=2)

    with django_capture_on_commit_callbacks(execute=True):
        for delivery in order.deliveries.order_by("item_index"):
            services.delivery_attempt(delivery_pk=delivery.pk)

    rows = list(order.deliveries.order_by("item_index"))
    assert [d.status for d in rows] == [DeliveryStatus.SUCCEEDED] * 2
    assert "License 2 of 2" in mail.outbox[0].body


def test_a_json_answer_that_is_not_json_fails_with_the_reason(
    list_product, seller_server, django_capture_on_commit_callbacks
):
    _set_format(list_product, ResponseFormat.JSON)
    seller_server.set_route("/license", Route(body="KEY-A, KEY-B"))
    order = place(list_product, quantity=2)

    delivery = _attempt(order, django_capture_on_commit_callbacks)

    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.attempts.get().error_kind == ErrorKind.BAD_LIST
    assert "not valid JSON" in delivery.last_error


def test_a_one_item_json_list_shows_the_license_not_the_json(
    list_product,
    seller_server,
    email_backend,
    client,
    alice,
    django_capture_on_commit_callbacks,
):
    _set_format(list_product, ResponseFormat.JSON)
    seller_server.set_route("/license", Route(body='{"licenses": ["ONLY-KEY"]}'))
    order = place(list_product, quantity=1)

    delivery = _attempt(order, django_capture_on_commit_callbacks)

    assert delivery.license_texts == ["ONLY-KEY"]
    assert "ONLY-KEY" in mail.outbox[0].body
    assert '{"licenses"' not in mail.outbox[0].body
    client.force_login(alice)
    page = client.get(
        reverse(
            "fulfillment:delivery-detail",
            args=[list_product.pk, delivery.delivery_id],
        )
    ).content.decode()
    assert "<pre>ONLY-KEY</pre>" in page


def test_the_sellers_order_page_shows_each_license(
    list_product, seller_server, client, alice, django_capture_on_commit_callbacks
):
    seller_server.set_route("/license", Route(body="KEY-A\nKEY-B"))
    order = place(list_product, quantity=2)
    _attempt(order, django_capture_on_commit_callbacks)
    client.force_login(alice)

    page = client.get(reverse("orders:seller-order", args=[order.pk])).content.decode()

    assert "License 1 of 2" in page and "<pre>KEY-B</pre>" in page
