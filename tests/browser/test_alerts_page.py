"""The Alerts page as a seller sees it, in headless Chromium: "Send test alert"
from the page, the answer on the alert's page, a page that never scrolls
sideways at 1280 px or on a phone. alice owns the Alerts endpoint here."""

from __future__ import annotations

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from tests.browser.conftest import WINDOW, log_in, shot, wait_for
from tests.browser.test_seller_pages import PHONE, SIDEWAYS
from tests.httpserver import Route

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(live_server, settings):
    """The live server's URL, its alerts allowed to reach 127.0.0.1."""
    settings.FULFILLMENT = {
        **settings.FULFILLMENT,
        "ALLOWED_PRIVATE_NETWORKS": ["127.0.0.0/8"],
        "TOTAL_TIMEOUT": 3.0,
    }
    return live_server.url


def test_a_seller_sets_alerts_and_sends_a_test_alert(
    browser, site, alice, seller_server
):
    seller_server.set_route("/alerts", Route(body="received"))
    log_in(browser, site, alice)
    browser.get(site + reverse("alerts:edit"))
    browser.find_element(By.NAME, "url").send_keys(seller_server.url("/alerts"))
    browser.find_element(By.CSS_SELECTOR, "input[value='order.completed']").click()
    browser.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    wait_for(browser, (By.CSS_SELECTOR, ".message.success"))
    assert browser.execute_script(SIDEWAYS) <= 0
    shot(browser, "alerts-page")

    browser.find_element(By.CSS_SELECTOR, "#send-test button").click()

    wait_for(browser, (By.CSS_SELECTOR, "section.attempt"))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Test alert accepted by your server." in page
    assert "received" in page
    assert len(seller_server.requests_to("/alerts")) == 1
    shot(browser, "alert-test-result")

    browser.set_window_size(*PHONE)
    browser.get(site + reverse("alerts:edit"))
    wait_for(browser, (By.ID, "alert-log"))
    assert browser.execute_script(SIDEWAYS) <= 0
    browser.set_window_size(*WINDOW)
