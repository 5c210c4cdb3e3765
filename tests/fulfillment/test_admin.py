"""Django admin for staff: "where is my license?" in one search, and retry now."""

from __future__ import annotations

import pytest

from fulfillment.models import Delivery
from tests.factories import ProductFactory, WebhookConfigFactory, place
from tests.fulfillment.fallback import fallback_on, served_by_fallback
from web.orders.services import order_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(live_product):
    return (
        place(live_product, email="ada@example.com"),
        place(live_product, email="bo@example.com"),
    )


@pytest.mark.parametrize(
    "query",
    [
        lambda o: o.customer_email,
        lambda o: o.transaction_id,
        lambda o: o.deliveries.get().delivery_id,
    ],
    ids=["customer email", "transaction id", "delivery id"],
)
def test_one_search_finds_the_delivery(charlie_client, orders, query):
    wanted = orders[0]

    response = charlie_client.get("/admin/fulfillment/delivery/", {"q": query(wanted)})

    assert list(response.context["cl"].result_list) == [wanted.deliveries.get()]


def test_delivery_page_shows_its_attempts_read_only(charlie_client, orders):
    delivery = orders[0].deliveries.get()
    delivery.attempts.create(
        number=1,
        request_method="POST",
        request_url="https://licenses.example.com/issue",
        response_status=500,
        message="Your server answered 500.",
    )

    response = charlie_client.get(f"/admin/fulfillment/delivery/{delivery.pk}/change/")

    assert "Your server answered 500." in response.content.decode()


def test_retry_now_action_requeues_failed_deliveries(
    charlie_client, orders, monkeypatch, django_capture_on_commit_callbacks
):
    from fulfillment.services import wakeups

    sent = []
    monkeypatch.setattr(
        wakeups, "delivery_enqueue", lambda pk, countdown=0: sent.append(pk)
    )
    failed = orders[0].deliveries.get()
    Delivery.objects.filter(pk=failed.pk).update(status="failed", next_attempt_at=None)
    succeeded = orders[1].deliveries.get()
    Delivery.objects.filter(pk=succeeded.pk).update(status="succeeded")

    with django_capture_on_commit_callbacks(execute=True):
        response = charlie_client.post(
            "/admin/fulfillment/delivery/",
            {"action": "retry_now", "_selected_action": [failed.pk, succeeded.pk]},
            follow=True,
        )

    failed.refresh_from_db()
    succeeded.refresh_from_db()
    assert failed.status == "pending"
    assert succeeded.status == "succeeded"
    assert "1 queued for a new attempt; 1 skipped" in response.content.decode()
    assert sent == [failed.pk]


def test_list_filters_by_status_seller_product_and_date(charlie_client, orders, bob):
    other = ProductFactory(seller=bob, status="live")
    WebhookConfigFactory(product=other)
    order_place(product=other, quantity=1, customer_email="cy@example.com")

    response = charlie_client.get("/admin/fulfillment/delivery/")

    titles = [spec.title for spec in response.context["cl"].filter_specs]
    assert {"status", "seller", "product", "created at"} <= set(titles), titles


def test_resend_email_action_sends_fulfilled_orders_and_skips_pending_ones(
    charlie_client, orders, email_backend
):
    from django.core import mail

    done, pending = orders
    Delivery.objects.filter(order=done).update(status="succeeded", response_text="K")
    done.fulfillment_status = "fulfilled"
    done.save()

    response = charlie_client.post(
        "/admin/orders/order/",
        {"action": "resend_email", "_selected_action": [done.pk, pending.pk]},
        follow=True,
    )

    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    content = response.content.decode()
    assert "Sent 1 order email(s)." in content
    assert "not fulfilled yet" in content


def test_bulk_cancel_cancels_waiting_deliveries_and_skips_succeeded_ones(
    charlie_client, orders, charlie
):
    failed = orders[0].deliveries.get()
    Delivery.objects.filter(pk=failed.pk).update(status="failed", next_attempt_at=None)
    succeeded = orders[1].deliveries.get()
    Delivery.objects.filter(pk=succeeded.pk).update(status="succeeded")

    response = charlie_client.post(
        "/admin/fulfillment/delivery/",
        {"action": "cancel_selected", "_selected_action": [failed.pk, succeeded.pk]},
        follow=True,
    )

    failed.refresh_from_db()
    succeeded.refresh_from_db()
    assert failed.status == "cancelled"
    assert failed.handled_by == charlie
    assert succeeded.status == "succeeded"
    assert "1 cancelled; 1 skipped" in response.content.decode()


def _fulfill_page(client, pks):
    return client.post(
        "/admin/fulfillment/delivery/",
        {"action": "fulfill_by_hand", "_selected_action": pks},
    )


def test_bulk_fulfill_by_hand_first_shows_one_license_field_per_delivery(
    charlie_client, orders
):
    first, second = (o.deliveries.get() for o in orders)
    Delivery.objects.filter(pk=second.pk).update(status="succeeded")

    response = _fulfill_page(charlie_client, [first.pk, second.pk])

    assert response.status_code == 200
    content = response.content.decode()
    assert content.count("<textarea") == 1
    assert first.delivery_id in content
    assert f'name="_selected_action" value="{first.pk}"' in content
    assert 'name="apply" value="yes"' in content
    assert "1 selected deliveries are left out" in content
    first.refresh_from_db()
    assert first.status == "pending"


def test_bulk_fulfill_by_hand_applies_each_license_and_emails_the_customers(
    charlie_client, orders, charlie, email_backend, django_capture_on_commit_callbacks
):
    from django.core import mail

    first, second = (o.deliveries.order_by("pk").get() for o in orders)
    with django_capture_on_commit_callbacks(execute=True):
        response = charlie_client.post(
            "/admin/fulfillment/delivery/",
            {
                "action": "fulfill_by_hand",
                "_selected_action": [first.pk, second.pk],
                "apply": "yes",
                "fulfill-TOTAL_FORMS": "2",
                "fulfill-INITIAL_FORMS": "2",
                "fulfill-0-delivery": str(first.pk),
                "fulfill-0-license_text": "KEY-ADA",
                "fulfill-1-delivery": str(second.pk),
                "fulfill-1-license_text": "KEY-BO",
            },
            follow=True,
        )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.response_text) == ("succeeded", "KEY-ADA")
    assert (second.status, second.response_text) == ("succeeded", "KEY-BO")
    assert first.handled_by == charlie
    assert "2 fulfilled by hand; 0 skipped" in response.content.decode()
    sent = sorted(
        (m.to[0], "KEY-ADA" in m.body, "KEY-BO" in m.body) for m in mail.outbox
    )
    assert sent == [("ada@example.com", True, False), ("bo@example.com", False, True)]


def test_bulk_fulfill_by_hand_with_an_empty_license_changes_nothing(
    charlie_client, orders
):
    first = orders[0].deliveries.get()

    response = charlie_client.post(
        "/admin/fulfillment/delivery/",
        {
            "action": "fulfill_by_hand",
            "_selected_action": [first.pk],
            "apply": "yes",
            "fulfill-TOTAL_FORMS": "1",
            "fulfill-INITIAL_FORMS": "1",
            "fulfill-0-delivery": str(first.pk),
            "fulfill-0-license_text": "  ",
        },
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    first.refresh_from_db()
    assert first.status == "pending"


def test_bulk_fulfill_by_hand_cannot_name_an_unselected_delivery(
    charlie_client, orders
):
    first, other = (o.deliveries.get() for o in orders)

    charlie_client.post(
        "/admin/fulfillment/delivery/",
        {
            "action": "fulfill_by_hand",
            "_selected_action": [first.pk],
            "apply": "yes",
            "fulfill-TOTAL_FORMS": "1",
            "fulfill-INITIAL_FORMS": "1",
            "fulfill-0-delivery": str(other.pk),
            "fulfill-0-license_text": "KEY",
        },
    )

    other.refresh_from_db()
    assert other.status == "pending"


def test_staff_find_an_alert_and_read_its_attempts(
    charlie_client, alice, seller_server, loopback
):
    from fulfillment.services.alert_engine import alert_test_send
    from fulfillment.services.alerts import (
        alert_endpoint_get_or_create,
        alert_endpoint_save,
    )
    from tests.httpserver import Route

    seller_server.set_route("/alerts", Route(status=500, body="ALERT-BROKEN"))
    endpoint = alert_endpoint_get_or_create(seller_id=alice.pk)
    alert_endpoint_save(endpoint=endpoint, url=seller_server.url("/alerts"), events=[])
    alert = alert_test_send(seller_id=alice.pk)

    found = charlie_client.get(
        "/admin/fulfillment/alertdelivery/", {"q": alert.alert_id}
    )
    page = charlie_client.get(f"/admin/fulfillment/alertdelivery/{alert.pk}/change/")

    assert alert.alert_id in found.content.decode()
    assert "ALERT-BROKEN" in page.content.decode()
    assert "Save" not in page.content.decode()


def test_the_delivery_list_shows_and_filters_by_source(charlie_client, live_product):
    fallback_on(live_product, "SPARE-1")
    served = served_by_fallback(live_product)
    place(live_product, email="from-server@example.com")

    response = charlie_client.get(
        "/admin/fulfillment/delivery/", {"source": "fallback"}
    )

    assert list(response.context["cl"].result_list) == [served]
    assert "Served from your key list" in response.content.decode()
    assert "source" in response.context["cl"].list_display
