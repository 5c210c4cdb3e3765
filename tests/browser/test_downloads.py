"""Downloads, in headless Chromium: a seller uploads a file, a buyer gets it
from the order page, and a link used after it expired says how to get a fresh
one (issue 15 §3, "Must show").

The link lifetime is shortened by its setting (DOWNLOAD_LINK_MAX_AGE) to a few
seconds. The file itself is fetched with `requests` from the live server (a
headless browser saves downloads silently), which is also how its headers are
checked.
"""

from __future__ import annotations

import time

import pytest
import requests
from django.urls import reverse
from selenium.webdriver.common.by import By

from orders.models import Order
from tests.browser.conftest import log_in, shot, wait_for
from tests.browser.pages import fill, message, navigate, submit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("downloads_storage"),
]

LINK_SECONDS = 3


@pytest.fixture
def manual_product(live_product):
    """alice's live product, delivered by hand: its files are what we deliver."""
    live_product.fulfillment_method = "manual"
    live_product.save(update_fields=["fulfillment_method"])
    return live_product


def _file_link(b) -> str:
    link = wait_for(b, (By.CSS_SELECTOR, "#downloads a"))
    assert link.text == "pixel-manual.pdf"
    return link.get_attribute("href")


def test_a_buyer_downloads_a_file_and_renews_an_expired_link(
    browser, site, alice, manual_product, settings, tmp_path
):
    b = browser
    settings.DOWNLOAD_LINK_MAX_AGE = LINK_SECONDS
    upload = tmp_path / "pixel-manual.pdf"
    upload.write_bytes(b"%PDF-1.7 the manual")

    # alice adds the file from her product's page, through Files.
    log_in(b, site, alice)
    b.get(site + reverse("products:detail", args=[manual_product.pk]))
    navigate(b, b.find_element(By.LINK_TEXT, "Manage files"))
    b.find_element(By.NAME, "file").send_keys(str(upload))
    submit(b, "Upload")
    assert "“pixel-manual.pdf” added." in message(b)
    row = b.find_element(By.CSS_SELECTOR, "table.files tbody tr").text
    assert "pixel-manual.pdf" in row and "19 bytes" in row
    shot(b, "downloads-files-page")

    # A buyer pays; the order page lists the file.
    b.delete_all_cookies()
    b.get(site + f"/p/{manual_product.slug}/")
    fill(b, "customer_email", "sam@buyer.example")
    fill(b, "quantity", "1")
    submit(b, "Pay (test payment)")
    href = _file_link(b)
    order_page = b.current_url
    shot(b, "downloads-order-page")

    fetched = requests.get(href, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == b"%PDF-1.7 the manual"
    assert fetched.headers["Content-Disposition"] == (
        'attachment; filename="pixel-manual.pdf"'
    )
    assert fetched.headers["Content-Type"] == "application/octet-stream"

    # After its lifetime the same link says so, and how to get a fresh one.
    time.sleep(LINK_SECONDS + 1.5)
    b.get(href)
    heading = wait_for(b, (By.TAG_NAME, "h1")).text
    assert heading == "This download link has expired"
    assert "open your order page from your order email" in b.page_source
    shot(b, "downloads-link-expired")
    navigate(b, b.find_element(By.CSS_SELECTOR, "#download-refused a"))
    assert b.current_url == site + reverse("purchases:find")

    # The order page makes a fresh link, which works.
    b.get(order_page)
    fresh = _file_link(b)
    assert fresh != href
    assert requests.get(fresh, timeout=10).status_code == 200

    # alice's order page counts both downloads.
    order = Order.objects.get(customer_email="sam@buyer.example")
    log_in(b, site, alice)
    b.get(site + reverse("orders:seller-order", args=[order.pk]))
    counts = wait_for(b, (By.CSS_SELECTOR, "#downloads tbody tr")).text
    assert counts.startswith("pixel-manual.pdf 2 ")
