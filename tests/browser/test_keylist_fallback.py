"""The key list fallback with a real worker and a real beat, in headless Chromium.

alice sells a webhook product whose server is down (it answers 503 to every
request). She switches the fallback on in the Webhook Editor with N = 1 minute,
her list holding two keys. A buyer buys through the public checkout; the
worker's attempts fail and retry, and the beat's sweep (every second here)
serves the order from the list once a minute has passed. A "minute" lasts
2 seconds in this test (FULFILLMENT_KEY_LIST_FALLBACK_MINUTE_SECONDS): the
customer's page shows the key by itself, they get one email, and alice's
delivery page says "Served from your key list".

Unlike the other browser tests Celery does not run eagerly here: the
`integration` marker sends the tasks to the broker, and the Procfile's
processes (`celery worker`, `celery beat`) run them.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from fulfillment.models import Delivery, DeliverySource, DeliveryStatus
from keylists.models import KeyList
from keylists.services import license_keys_add
from tests.browser.conftest import log_in, shot, wait_for
from tests.browser.pages import fill, message, navigate, submit
from tests.factories import LiveProductFactory
from tests.httpserver import Route
from tests.integration.conftest import stack  # noqa: F401 - both stacks
from tests.integration.test_full_flow import read_mail, text_part
from tests.integration.worker import Beat, Worker, purge_queues

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MINUTE_SECONDS = "2"
PROCESS_ENV = {
    "FULFILLMENT_KEY_LIST_FALLBACK_MINUTE_SECONDS": MINUTE_SECONDS,
    "FULFILLMENT_KEY_LIST_INTERVAL": "1",
}
# The sweep runs a minute (2 s) after the order, then every second; the
# customer's page polls. Generous for a loaded machine.
SERVED_WITHIN = 60


@pytest.fixture
def processes(stack, transactional_db, tmp_path, fulfillment_settings):  # noqa: F811
    """The Procfile's worker (both queues) and beat, with a short minute."""
    fulfillment_settings(KEY_LIST_FALLBACK_MINUTE_SECONDS=float(MINUTE_SECONDS))
    purge_queues()
    worker = Worker(mail_dir=tmp_path / "mail", extra_env=PROCESS_ENV).start()
    beat = Beat(schedule_dir=tmp_path, extra_env=PROCESS_ENV).start()
    yield worker
    beat.stop()
    worker.stop()


@pytest.fixture
def down_product(alice, seller_server):
    """alice's live webhook product; her server answers 503 to everything."""
    seller_server.set_route("/issue", Route(status=503, body="maintenance"))
    product = LiveProductFactory(
        seller=alice,
        name="Tile Tamer",
        slug="tile-tamer",
        webhook_config__url=seller_server.url("/issue"),
    )
    license_keys_add(product_id=product.pk, text="TT-SPARE-0001\nTT-SPARE-0002\n")
    return product


def test_a_down_server_is_replaced_by_the_key_list_after_the_delay(
    browser, site, processes, down_product, alice, seller_server
):
    b = browser
    product = down_product

    # alice switches the fallback on in the Webhook Editor, N = 1 minute.
    log_in(b, site, alice)
    b.get(site + reverse("fulfillment:config-edit", args=[product.pk]))
    section = wait_for(b, (By.ID, "fallback"))
    assert "(off)" in section.text  # folded: the editor stays short
    section.find_element(By.TAG_NAME, "summary").click()
    assert "Keys left in your list: 2." in section.text
    b.find_element(By.NAME, "fallback-enabled").click()
    fill(b, "fallback-minutes", "1")
    b.execute_script("arguments[0].scrollIntoView()", section)
    shot(b, "webhook-editor-fallback", full_page=False)
    submit(b, "Save")
    assert "Fallback saved." in message(b)
    key_list = KeyList.objects.get(product=product)
    assert (key_list.fallback_enabled, key_list.fallback_after_minutes) == (True, 1)

    # A buyer, in a fresh session, buys through the public checkout.
    b.delete_all_cookies()
    b.get(site + reverse("orders:product", args=[product.slug]))
    fill(b, "customer_email", "sam@buyer.example")
    navigate(b, b.find_element(By.CSS_SELECTOR, ".checkout button[type=submit]"))
    # The page refreshes itself until the key from the list is there.
    WebDriverWait(b, SERVED_WITHIN).until(
        lambda d: "TT-SPARE-0001" in d.find_element(By.TAG_NAME, "body").text
    )
    page = b.find_element(By.TAG_NAME, "body").text
    assert "Your license" in page and "TT-SPARE-0002" not in page
    shot(b, "order-page-fallback")
    delivery = Delivery.objects.get(order__customer_email="sam@buyer.example")
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.source == DeliverySource.FALLBACK
    # The worker did try the server first; its 503s are the delivery's attempts.
    assert seller_server.requests_to("/issue")
    assert delivery.attempts.filter(response_status=503).exists()

    # One email, with the key.
    mails = WebDriverWait(b, SERVED_WITHIN).until(
        lambda d: read_mail(processes.mail_dir)
    )
    [sent] = [m for m in mails if m["To"] == "sam@buyer.example"]
    assert "TT-SPARE-0001" in text_part(sent)

    # alice's delivery page says it was served from her list, and why.
    log_in(b, site, alice)
    b.get(
        site
        + reverse(
            "fulfillment:delivery-detail",
            kwargs={"pk": product.pk, "delivery_id": delivery.delivery_id},
        )
    )
    main = wait_for(b, (By.TAG_NAME, "main")).text
    assert "Served from your key list" in main
    assert (
        "Your server had not answered successfully after 1 minute; we stopped "
        "sending requests and sent a key from your list instead." in main
    )
    assert "TT-SPARE-0001" in main
    shot(b, "delivery-served-from-key-list")
