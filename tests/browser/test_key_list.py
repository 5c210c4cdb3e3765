"""Issue 15's "Must show", part 1, in headless Chromium: a new seller sells
from a license key list of 3.

The seller creates a "License key list" product, pastes 3 keys on its key list
page, completes the Release Checklist and publishes. Buyers go through the
public checkout: one asking for more than is left is refused next to the
quantity ("Only 1 left."), three purchases each get a different key on their
order page, and the fourth visitor finds the product "Sold out", with no form.
"""

from __future__ import annotations

import pytest
from django.core import mail
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from keylists.models import LicenseKey
from orders.models import Order
from tests.browser.conftest import WAIT, log_in, shot, wait_for
from tests.browser.pages import choose, fill, message, navigate, submit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

KEYS = ["KL-AAAA-1111", "KL-BBBB-2222", "KL-CCCC-3333"]


def _buy(b, public_url: str, email: str, quantity: int = 1) -> None:
    b.delete_all_cookies()
    b.get(public_url)
    fill(b, "customer_email", email)
    fill(b, "quantity", str(quantity))
    navigate(b, b.find_element(By.CSS_SELECTOR, ".checkout button[type=submit]"))


def _page_text(b) -> str:
    return b.find_element(By.TAG_NAME, "body").text


def test_a_new_seller_sells_three_keys_and_the_fourth_buyer_sees_sold_out(
    browser, site
):
    b = browser
    seller = UserFactory(username="kira", email="kira@keys.example")
    log_in(b, site, seller)

    # A new product sold from a key list opens its key list page.
    b.get(site + "/dashboard/")
    navigate(b, b.find_element(By.PARTIAL_LINK_TEXT, "New product"))
    fill(b, "name", "Key Keeper")
    fill(b, "description", "Keeps your keys.")
    fill(b, "price", "9.00")
    choose(b, "fulfillment_method", "key_list")
    submit(b, "Create product")
    wait_for(b, (By.XPATH, "//h1[normalize-space()='License key list of Key Keeper']"))
    assert b.find_element(By.ID, "keys-left").text == "0"

    # A repeat is refused with its line; then the 3 keys are added.
    fill(b, "keys", "\n".join([*KEYS, KEYS[0]]))
    submit(b, "Add keys")
    assert (
        "Line 4 repeats the key of line 1."
        in wait_for(b, (By.ID, "id_keys_error")).text
    )
    fill(b, "keys", "\n".join(KEYS))
    submit(b, "Add keys")
    assert "3 keys added." in message(b)
    assert b.find_element(By.ID, "keys-left").text == "3"
    shot(b, "key-list")

    # The Release Checklist: keys are in, the email preview is the last item.
    navigate(b, b.find_element(By.LINK_TEXT, "Release Checklist"))
    progress = wait_for(b, (By.CSS_SELECTOR, ".progress-line")).text
    assert "4 of 5 done" in progress
    assert "Keys in your list — done" in _page_text(b)
    navigate(b, b.find_element(By.LINK_TEXT, "See the customer email"))
    wait_for(b, (By.CSS_SELECTOR, "iframe.email"))
    navigate(b, b.find_element(By.LINK_TEXT, "Back to the Release Checklist"))
    assert "5 of 5 done" in wait_for(b, (By.CSS_SELECTOR, ".progress-line")).text
    submit(b, "Publish")
    assert "live" in message(b).lower()
    public_url = b.find_element(By.LINK_TEXT, "its public page").get_attribute("href")

    # Two buyers take a key each.
    seen = []
    for n in (1, 2):
        _buy(b, public_url, f"buyer{n}@example.com")
        WebDriverWait(b, WAIT).until(lambda d: "KL-" in _page_text(d))
        seen += [key for key in KEYS if key in _page_text(b)]

    # The third asks for two of the one left: refused before paying.
    _buy(b, public_url, "buyer3@example.com", quantity=2)
    error = wait_for(b, (By.ID, "id_quantity_error")).text
    assert error == "Only 1 left."
    assert not Order.objects.filter(customer_email="buyer3@example.com").exists()
    shot(b, "checkout-only-1-left")
    fill(b, "quantity", "1")
    navigate(b, b.find_element(By.CSS_SELECTOR, ".checkout button[type=submit]"))
    WebDriverWait(b, WAIT).until(lambda d: "KL-" in _page_text(d))
    seen += [key for key in KEYS if key in _page_text(b)]
    shot(b, "key-list-order-page")

    # Each purchase got its own key; each key went once.
    assert sorted(seen) == KEYS
    assert LicenseKey.objects.filter(used_at__isnull=False).count() == 3
    for n in (1, 2, 3):
        [email] = [m for m in mail.outbox if m.to == [f"buyer{n}@example.com"]]
        assert sum(key in email.body for key in KEYS) == 1

    # The fourth visitor: sold out, no form to pay with.
    b.delete_all_cookies()
    b.get(public_url)
    assert "Sold out." in wait_for(b, (By.ID, "sold-out")).text
    assert b.find_elements(By.NAME, "quantity") == []
    shot(b, "sold-out")
    assert Order.objects.count() == 3
