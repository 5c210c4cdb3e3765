"""After the sale, in headless Chromium: Alerts, a passthrough and a half refund.

One story, as people would click it, by the labels they read: a seller (alice,
whose live product is wired to a license server) opens Alerts in the top
navigation, points the Alerts URL at her alerts server, chooses events, pastes
the Alerts signing secret from its own page into that server and sends a test
alert, which the page shows signed and answered. A buyer buys through her link
with `?passthrough=acct_42`, which reaches the license server. alice refunds half
the order from its page and confirms; her alerts server then holds exactly one
verified `order.refunded` for that half, carrying the passthrough, and the
customer's page and inbox say "partially refunded" once.

Both servers are real (127.0.0.1) and verify our signatures with the official
Standard Webhooks library. Celery runs eagerly here, as in every browser test:
each request is sent after its commit, inside the request that made it.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from standardwebhooks import Webhook, WebhookVerificationError

from orders.models import Order
from tests.browser.conftest import WAIT, log_in, shot, wait_for
from tests.browser.pages import (
    LicenseServer,
    fill,
    message,
    navigate,
    submit,
)
from tests.factories import CustomFieldFactory
from tests.httpserver import Route

pytestmark = pytest.mark.django_db(transaction=True)

HALF = Decimal("9.50")  # of the product's 19.00


class AlertsServer:
    """The seller's own system: accepts an alert only when its signature
    verifies with the Alerts signing secret, and keeps what it accepted."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.verified: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, request) -> Route:
        if self.secret is None:
            return Route(status=401, body="Paste the Alerts signing secret first.")
        try:
            Webhook(self.secret).verify(request.body, request.headers, json_parse=False)
        except WebhookVerificationError as exc:
            return Route(status=401, body=f"bad signature: {exc}")
        alert = json.loads(request.body)
        with self.lock:
            self.verified.append(alert)
        return Route(body=f"noted {alert['type']} {request.headers['webhook-id']}")

    def of_type(self, alert_type: str) -> list[dict]:
        with self.lock:
            return [a for a in self.verified if a["type"] == alert_type]


@pytest.fixture
def alerts_server(seller_server):
    server = AlertsServer()
    seller_server.set_route("/alerts", server)
    return server


@pytest.fixture
def license_server(seller_server):
    server = LicenseServer()
    seller_server.set_route("/issue", server)
    return server


@pytest.fixture
def wired_product(live_product, seller_server, license_server):
    """alice's live product, its webhook answered by the license server, which
    holds the product's signing secret (the journey test pastes it by hand)."""
    config = live_product.webhook_config
    config.url = seller_server.url("/issue")
    config.body_format = "json"
    config.save()
    CustomFieldFactory(config=config, kind="customer_email", name="buyer")
    CustomFieldFactory(config=config, kind="static", name="edition", value="std")
    license_server.secret = config.signing_secret
    return live_product


def field_labelled(driver, label: str):
    """The input a visible <label> names, as a person finds it (Django's form
    labels end with a colon, the checkout's do not)."""
    target = driver.find_element(
        By.XPATH,
        f"//label[normalize-space()='{label}' or normalize-space()='{label}:']",
    ).get_attribute("for")
    return driver.find_element(By.ID, target)


def main_text(driver) -> str:
    return wait_for(driver, (By.TAG_NAME, "main")).text


def test_a_seller_hears_of_a_half_refund_with_the_buyers_passthrough(
    browser, site, alice, wired_product, seller_server, license_server, alerts_server
):
    b = browser

    # Alerts, from the top navigation: the URL and the events.
    log_in(b, site, alice)
    b.get(site + reverse("products:list"))
    navigate(
        b, b.find_element(By.XPATH, "//header//nav//a[normalize-space()='Alerts']")
    )
    wait_for(b, (By.XPATH, "//h1[normalize-space()='Alerts']"))
    url = field_labelled(b, "Alerts URL")
    url.clear()
    url.send_keys(seller_server.url("/alerts"))
    for event in ("order.completed", "order.refunded", "order.cancelled"):
        b.find_element(
            By.XPATH, f"//label[starts-with(normalize-space(), '{event}:')]"
        ).click()
    submit(b, "Save")
    assert "Alerts saved. Send a test alert next." in message(b)

    # The Alerts signing secret is on its own page; paste it into the server.
    navigate(b, b.find_element(By.LINK_TEXT, "Reveal the secret"))
    secret = wait_for(b, (By.ID, "signing-secret")).text
    assert secret.startswith("whsec_")
    assert secret != wired_product.webhook_config.signing_secret
    alerts_server.secret = secret
    navigate(b, b.find_element(By.LINK_TEXT, "Back to Alerts"))
    assert secret not in b.page_source

    # Send test alert: the request as signed and sent, and the server's answer.
    submit(b, "Send test alert")
    assert "Test alert accepted by your server." in message(b)
    attempt = wait_for(b, (By.CSS_SELECTOR, "section.attempt")).text
    assert "webhook-signature: v1," in attempt
    assert "noted test evt_" in attempt  # the answer of the server that verified it
    [test_alert] = alerts_server.of_type("test")
    assert test_alert["data"]["test"] is True
    shot(b, "after-sale-test-alert")

    # A buyer, in a fresh session, buys through alice's link with her own id
    # for them; the license server receives it with the fulfillment request.
    b.delete_all_cookies()
    b.get(site + f"/p/{wired_product.slug}/?passthrough=acct_42")
    fill(b, "customer_email", "sam@buyer.example")
    fill(b, "quantity", "1")
    submit(b, "Pay (test payment)")
    WebDriverWait(b, WAIT).until(lambda d: "TT-0001-STD" in main_text(d))
    assert "acct_42" not in main_text(b)  # the seller's, never the customer's
    order = Order.objects.get(customer_email="sam@buyer.example")
    [delivery] = order.deliveries.all()
    assert license_server.passthrough == {delivery.delivery_id: "acct_42"}
    [completed] = alerts_server.of_type("order.completed")
    assert completed["data"]["passthrough"] == "acct_42"
    customer_page = site + reverse("orders:order", args=[order.token])
    assert b.current_url == customer_page

    # alice refunds half of it from the order's page, and confirms.
    b.delete_all_cookies()
    log_in(b, site, alice)
    b.get(site + reverse("products:list"))
    navigate(
        b, b.find_element(By.XPATH, "//header//nav//a[normalize-space()='Orders']")
    )
    navigate(b, b.find_element(By.LINK_TEXT, order.transaction_id))
    assert "Passthrough\nacct_42" in main_text(b)
    amount = field_labelled(b, "Amount to refund")
    assert amount.get_attribute("value") == "19.00"  # all that is left, by default
    amount.clear()
    amount.send_keys(str(HALF))
    field_labelled(b, "Reason (optional)").send_keys("Bought one seat too many")
    submit(b, "Refund…")
    confirm = wait_for(b, (By.CSS_SELECTOR, "#confirm h1"))
    assert confirm.text == "Refund 9.50 USD?"
    assert alerts_server.of_type("order.refunded") == []  # nothing until confirmed
    submit(b, "Refund 9.50 USD")
    assert "Refunded 9.50 USD." in message(b)

    # Exactly one verified order.refunded, for the half, with the passthrough.
    WebDriverWait(b, WAIT).until(lambda _: alerts_server.of_type("order.refunded"))
    [refunded] = alerts_server.of_type("order.refunded")
    data = refunded["data"]
    assert data["transaction_id"] == order.transaction_id
    assert data["passthrough"] == "acct_42"
    assert data["refund"]["amount"] == "9.50"
    assert data["refund"]["reason"] == "Bought one seat too many"
    assert data["refund"]["refunded_total"] == "9.50"
    assert data["refund"]["fully_refunded"] is False

    # The seller's page shows the partial refund, and what is left to refund.
    page = main_text(b)
    state = b.find_element(By.ID, "after-sale-state").text
    assert state == "Partially refunded: 9.50 USD of 19.00 USD."
    assert "Refunded\n9.50 USD" in page
    events = b.find_element(By.CSS_SELECTOR, "#after-sale table.events").text
    assert "9.50 USD" in events and "Bought one seat too many" in events
    assert "9.50 USD of 19.00 USD can still be refunded" in page
    shot(b, "after-sale-partial-refund")

    # The customer's page says so, and the customer got one refund email.
    b.delete_all_cookies()
    b.get(customer_page)
    after_sale = wait_for(b, (By.ID, "after-sale")).text
    assert after_sale == "Partially refunded: 9.50 USD."
    assert "TT-0001-STD" in main_text(b)  # a partial refund keeps the license
    refund_emails = [
        m
        for m in mail.outbox
        if m.to == ["sam@buyer.example"] and m.subject.startswith("Your refund for")
    ]
    assert len(refund_emails) == 1
    assert "You have been refunded 9.50 USD" in refund_emails[0].body
