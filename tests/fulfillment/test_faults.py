"""The fault suite: a seller server that misbehaves in every way we know of.

Each case runs one real attempt against a real server on 127.0.0.1 and checks
the state the delivery ends in, the reason the seller reads, and that the
attempt did not outlive the total deadline by more than a second.
"""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.models import DeliveryStatus
from fulfillment.services import deliveries as services
from tests.httpserver import Route
from web.orders.services import order_place

pytestmark = pytest.mark.django_db

TOTAL = 2.0
HTML_PAGE = "<!DOCTYPE html><html><body><h1>Login</h1></body></html>"

# name, route, final status, error kind, words of the reason
FAULTS = [
    ("500", Route(status=500, body="boom"), "retrying", "status", "500"),
    ("404", Route(status=404), "retrying", "status", "check the Webhook URL"),
    ("410", Route(status=410), "failed", "status", "410 Gone"),
    ("empty", Route(body=""), "retrying", "empty", "empty body"),
    ("whitespace", Route(body=" \n\t "), "retrying", "empty", "empty body"),
    (
        "html page",
        Route(body=HTML_PAGE, content_type="text/html; charset=utf-8"),
        "retrying",
        "html",
        "HTML page",
    ),
    ("10 MB", Route(stream_bytes=10 * 1024 * 1024), "retrying", "too_large", "64 KiB"),
    (
        "10 MB unannounced",
        Route(stream_bytes=10 * 1024 * 1024, send_length=False),
        "retrying",
        "too_large",
        "64 KiB",
    ),
    (
        "invalid utf-8",
        Route(body=b"\xff\xfe\xfa license", content_type="text/plain; charset=utf-8"),
        "retrying",
        "not_text",
        "not valid utf-8",
    ),
    ("headers never come", Route(delay=30), "retrying", "timeout", "in time"),
    (
        "body drips a byte a second",
        Route(body="LICENSE-1234567890", drip_interval=1.0),
        "retrying",
        "timeout",
        "in time",
    ),
    (
        "hang after headers",
        Route(hang_after_headers=30),
        "retrying",
        "timeout",
        "in time",
    ),
    (
        "reset mid-body",
        Route(body="x" * 1000, reset_after=10),
        "retrying",
        "connect",
        "closed the connection",
    ),
    ("closed without answer", Route(close=True), "retrying", "connect", "connect"),
    (
        "302 to cloud metadata",
        Route.redirect("http://169.254.169.254/latest/meta-data/"),
        "retrying",
        "redirect",
        "we do not follow redirects",
    ),
]


@pytest.fixture
def impatient_product(live_product, loopback, fulfillment_settings):
    """The live product, giving up after 1 s to connect and TOTAL in all (each
    test points its Webhook URL somewhere)."""
    fulfillment_settings(CONNECT_TIMEOUT=1.0, TOTAL_TIMEOUT=TOTAL)
    return live_product


def attempt(product, url: str):
    config = product.webhook_config
    config.url = url
    config.save()
    order = order_place(product=product, quantity=1, customer_email="f@example.com")
    delivery = order.deliveries.get()
    started = time.monotonic()
    services.delivery_attempt(delivery_pk=delivery.pk)
    elapsed = time.monotonic() - started
    delivery.refresh_from_db()
    return delivery, elapsed


@pytest.mark.parametrize(
    ("route", "status", "kind", "reason"),
    [case[1:] for case in FAULTS],
    ids=[case[0] for case in FAULTS],
)
def test_misbehaving_server_ends_in_the_right_state_with_a_reason(
    impatient_product, seller_server, route, status, kind, reason
):
    seller_server.set_route("/license", route)

    delivery, elapsed = attempt(impatient_product, seller_server.url("/license"))

    attempt_row = delivery.attempts.get()
    assert delivery.status == status
    assert attempt_row.error_kind == kind
    assert reason.lower() in delivery.last_error.lower()
    assert elapsed <= TOTAL + 1
    assert attempt_row.duration_ms <= (TOTAL + 1) * 1000


def test_429_with_retry_after_waits_at_least_that_long(
    impatient_product, seller_server
):
    seller_server.set_route(
        "/license", Route(status=429, headers={"Retry-After": "120"})
    )

    delivery, _ = attempt(impatient_product, seller_server.url("/license"))

    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=110)
    assert "120" in delivery.last_error


def test_connection_refused_is_retried_with_a_reason(impatient_product):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    delivery, elapsed = attempt(impatient_product, f"http://127.0.0.1:{port}/license")

    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.attempts.get().error_kind == "connect"
    assert "could not connect" in delivery.last_error.lower()
    assert elapsed <= TOTAL + 1


def test_the_redirect_target_is_never_requested(impatient_product, seller_server):
    seller_server.set_route("/license", Route.redirect(seller_server.url("/secret")))

    attempt(impatient_product, seller_server.url("/license"))

    assert seller_server.requests_to("/secret") == []


def test_a_nul_byte_in_the_answer_is_not_text_and_the_attempt_is_recorded(
    impatient_product, seller_server
):
    # PostgreSQL cannot store NUL in text: the answer must be refused, and the
    # attempt record must still be written (or the delivery would stay in flight).
    seller_server.set_route("/license", Route(body=b"KEY\x00-1"))

    delivery, _ = attempt(impatient_product, seller_server.url("/license"))

    assert delivery.status == DeliveryStatus.RETRYING
    attempt_row = delivery.attempts.get()
    assert attempt_row.error_kind == "not_text"
    assert "\x00" not in attempt_row.response_body
    assert "NUL byte" in delivery.last_error
