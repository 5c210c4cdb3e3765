"""A new seller's first hour and a buyer's purchase, in headless Chromium.

One story, as people would click it: sign up and open the confirmation link
from the email, create a product, fill the Webhook Editor (every seed field and
two custom fields), paste the signing secret into the license server, send a
test request (no page reload), look at the email preview, complete the Release
Checklist and publish; a buyer follows the seller's link (with a passthrough,
which reaches the license server) and buys quantity 2 and sees both licenses; the
seller sees the deliveries, one fails, and the seller fulfills it by hand. The
license server is real (127.0.0.1) and verifies our signature with the official
Standard Webhooks library.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from fulfillment.models import Delivery, DeliveryStatus
from orders.models import Order
from orders.purchases import purchases_link_token
from tests.browser.conftest import WAIT, log_in, shot, wait_for
from tests.browser.pages import (
    LicenseServer,
    choose,
    fill,
    message,
    navigate,
    submit,
)
from tests.factories import CustomFieldFactory, DeliveryFactory, fulfill
from web.orders.services import order_place

pytestmark = pytest.mark.django_db(transaction=True)

LOGGED_IN = (By.XPATH, "//button[normalize-space()='Log out (tina)']")


@pytest.fixture
def license_server(seller_server):
    server = LicenseServer()
    seller_server.set_route("/issue", server)
    return server


def test_a_new_seller_wires_a_webhook_publishes_and_sells(
    browser, site, seller_server, license_server
):
    b = browser

    # Sign up.
    b.get(site + "/accounts/signup/")
    fill(b, "username", "tina")
    fill(b, "email", "tina@tiletamer.example")
    fill(b, "password1", "a long and unusual passphrase 42")
    fill(b, "password2", "a long and unusual passphrase 42")
    submit(b, "Sign up")
    wait_for(b, (By.XPATH, "//h1[normalize-space()='Check your inbox']"))
    # The link is in the email, never on the page: open it from there.
    [confirmation] = [m for m in mail.outbox if m.to == ["tina@tiletamer.example"]]
    [link] = re.findall(r"\S+/accounts/signup/confirm/\S+", confirmation.body)
    assert link.startswith(site) and link not in b.page_source
    b.get(link)
    submit(b, "Confirm and log in")
    wait_for(b, LOGGED_IN)
    assert "Welcome, tina" in message(b)

    # Create the product; a webhook product opens the Webhook Editor next.
    navigate(b, b.find_element(By.PARTIAL_LINK_TEXT, "New product"))
    fill(b, "name", "Tile Tamer")
    fill(b, "description", "Arranges your windows into tidy tiles.")
    fill(b, "price", "19.00")
    choose(b, "fulfillment_method", "webhook")
    collect = b.find_element(By.NAME, "collect_customer_name")
    if not collect.is_selected():
        collect.click()
    submit(b, "Create product")
    wait_for(b, (By.XPATH, "//h1[normalize-space()='Webhook Editor']"))
    assert "created as a draft" in message(b)

    # Every seed field, and two custom fields.
    fill(b, "url", seller_server.url("/issue"))
    choose(b, "method", "POST")
    choose(b, "body_format", "json")
    fill(
        b,
        "instructions",
        "Open **Tile Tamer → Preferences → License** and paste the key.",
    )
    # The live preview comes from the server's Markdown renderer, as the email's.
    WebDriverWait(b, WAIT).until(
        lambda d: (
            "Preferences → License"
            in d.find_element(By.CSS_SELECTOR, "#instructions-preview strong").text
        )
    )
    b.find_element(By.NAME, "separate_multibuy").click()
    choose(b, "custom_fields-0-kind", "customer_email")
    fill(b, "custom_fields-0-name", "buyer")
    choose(b, "custom_fields-1-kind", "static")
    fill(b, "custom_fields-1-name", "edition")
    fill(b, "custom_fields-1-value", "pro")
    b.execute_script("window.scrollTo(0, 0)")
    shot(b, "webhook-editor", full_page=False)
    submit(b, "Save")
    assert "Webhook saved" in message(b)

    # How to verify us: the examples follow this product's method and format.
    # Each part is folded away until the seller opens it.
    snippets = b.find_element(By.ID, "verify-requests")
    assert "webhook-signature" not in snippets.text
    summary = "//summary[normalize-space()='Headers we send']"
    snippets.find_element(By.XPATH, "." + summary).click()
    assert "webhook-signature" in snippets.text
    b.execute_script("arguments[0].scrollIntoView()", snippets)
    shot(b, "verify-snippets", full_page=False)

    # Paste the secret into the license server, as the editor says. The
    # editor's page shows its last characters; the secret is on its own page.
    b.find_element(By.LINK_TEXT, "Reveal the secret").click()
    secret = wait_for(b, (By.ID, "signing-secret")).text
    assert secret.startswith("whsec_")
    b.back()
    assert secret not in b.page_source
    b.forward()
    license_server.secret = secret
    b.find_element(By.LINK_TEXT, "Back to the Webhook Editor").click()
    wait_for(b, (By.ID, "verify-requests"))

    # Send a test request: the result appears without a page reload.
    b.execute_script("window.__samePage = true;")
    b.find_element(By.XPATH, "//button[normalize-space()='Send test request']").click()
    title = wait_for(b, (By.ID, "test-result-title"))
    assert "Succeeded" in title.text
    assert b.execute_script("return window.__samePage === true;")
    result = b.find_element(By.ID, "test-result").text
    assert "HTTP 200" in result
    assert "webhook-signature: v1," in result
    assert "TT-0001-PRO" in result
    frames = b.find_elements(By.CSS_SELECTOR, "#test-result iframe.email")
    assert len(frames) == 2  # quantity 1 and the multibuy of 2
    b.switch_to.frame(frames[1])
    email_html = b.find_element(By.TAG_NAME, "body").text
    b.switch_to.default_content()
    assert "TT-0002-PRO" in email_html and "TT-0003-PRO" in email_html
    assert "Preferences → License" in email_html
    assert "ticked" in b.find_element(By.ID, "checklist-summary").text
    b.execute_script("document.getElementById('test-result').scrollIntoView()")
    shot(b, "test-request", full_page=False)
    b.execute_script(
        "document.querySelector('#test-result iframe.email').scrollIntoView()"
    )
    shot(b, "test-request-email", full_page=False)

    # Release Checklist: the email preview is the last item; then publish.
    navigate(b, b.find_element(By.LINK_TEXT, "Open the Release Checklist"))
    wait_for(b, (By.ID, "checklist-progress"))
    assert "4 of 5 done" in b.find_element(By.CSS_SELECTOR, ".progress-line").text
    navigate(b, b.find_element(By.LINK_TEXT, "See the customer email"))
    wait_for(b, (By.CSS_SELECTOR, "iframe.email"))
    b.get(site + b.current_url.split(site, 1)[1].replace("email-preview", "checklist"))
    wait_for(b, (By.ID, "checklist-progress"))
    assert "5 of 5 done" in b.find_element(By.CSS_SELECTOR, ".progress-line").text
    shot(b, "release-checklist")
    submit(b, "Publish")
    assert "live" in message(b).lower()
    public_url = b.find_element(By.LINK_TEXT, "its public page").get_attribute("href")

    # A buyer, in a fresh session, buys two through the seller's link, which
    # carries the seller's own id for them.
    b.delete_all_cookies()
    b.get(public_url + "?passthrough=acct_42")
    fill(b, "customer_email", "sam@buyer.example")
    fill(b, "customer_name", "Sam Buyer")
    fill(b, "quantity", "2")
    navigate(b, b.find_element(By.CSS_SELECTOR, ".checkout button[type=submit]"))
    WebDriverWait(b, WAIT).until(
        lambda d: "License 2 of 2" in d.find_element(By.TAG_NAME, "body").text
    )
    page = b.find_element(By.TAG_NAME, "body").text
    assert "License 1 of 2" in page
    assert "acct_42" not in page  # the seller's, never the customer's
    order = Order.objects.get(customer_email="sam@buyer.example")
    keys = [d.response_text for d in order.deliveries.order_by("item_index")]
    assert all("TT-" in key for key in keys) and len(set(keys)) == 2
    assert [
        license_server.passthrough[d.delivery_id] for d in order.deliveries.all()
    ] == [
        "acct_42",
        "acct_42",
    ]
    shot(b, "order-page")
    sent = [m for m in mail.outbox if "sam@buyer.example" in m.to]
    assert len(sent) == 1 and all(k.split("`")[1] in sent[0].body for k in keys)

    # The license server breaks; the next order's delivery fails visibly.
    license_server.broken = True
    b.get(public_url)
    fill(b, "customer_email", "kim@buyer.example")
    fill(b, "customer_name", "Kim Buyer")
    fill(b, "quantity", "1")
    navigate(b, b.find_element(By.CSS_SELECTOR, ".checkout button[type=submit]"))
    wait_for(b, (By.CSS_SELECTOR, "[role=status], [role=alert]"))
    failing = Delivery.objects.get(order__customer_email="kim@buyer.example")
    assert failing.status == DeliveryStatus.RETRYING

    # The seller logs in, finds it, and fulfills it by hand.
    b.get(site + "/accounts/login/")
    fill(b, "username", "tina")
    fill(b, "password", "a long and unusual passphrase 42")
    submit(b, "Log in")
    wait_for(b, LOGGED_IN)
    navigate(b, b.find_element(By.LINK_TEXT, "Tile Tamer"))
    navigate(b, b.find_element(By.PARTIAL_LINK_TEXT, "Deliveries"))
    rows = wait_for(b, (By.CSS_SELECTOR, "table")).text
    assert "Succeeded" in rows and "Retrying" in rows
    navigate(b, b.find_element(By.LINK_TEXT, failing.delivery_id))
    page = wait_for(b, (By.TAG_NAME, "main")).text
    assert "Your server answered 500" in page
    submit(b, "Fulfill by hand")
    # The error sits beside the license field.
    field_group = b.find_element(By.NAME, "license_text").find_element(By.XPATH, "..")
    assert "This field is required." in field_group.text
    fill(b, "license_text", "**License key:** `TT-HAND-0001`")
    submit(b, "Fulfill by hand")
    message(b)
    shot(b, "fulfilled-by-hand")
    failing.refresh_from_db()
    assert failing.status == DeliveryStatus.SUCCEEDED
    kim = [m for m in mail.outbox if "kim@buyer.example" in m.to]
    assert len(kim) == 1 and "TT-HAND-0001" in kim[0].body

    # Health at a glance: the failure and its reason are on the product list.
    navigate(b, b.find_element(By.LINK_TEXT, "Products"))
    listing = wait_for(b, (By.TAG_NAME, "table")).text
    assert "3 deliveries · 66 % ok" in listing
    assert "Your server answered 500" in listing
    shot(b, "product-health")
    # The seller's order page: deliveries, attempts and the email's status.
    navigate(b, b.find_element(By.LINK_TEXT, "Orders"))
    navigate(b, b.find_element(By.PARTIAL_LINK_TEXT, order.transaction_id))
    page = wait_for(b, (By.TAG_NAME, "main")).text
    assert "sam@buyer.example" in page and "Succeeded" in page
    assert "Passthrough\nacct_42" in page
    shot(b, "seller-order")


@pytest.fixture
def verified_product(product, seller_server, license_server):
    config = product.webhook_config
    config.url = seller_server.url("/issue")
    config.body_format = "json"
    config.save()
    CustomFieldFactory(config=config, kind="customer_email", name="buyer")
    CustomFieldFactory(config=config, kind="static", name="edition", value="std")
    license_server.secret = config.signing_secret
    return product


def test_without_javascript_the_test_request_is_a_page(
    browser, site, alice, verified_product
):
    """The same button works as a plain form post with scripts disabled."""
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    log_in(browser, site, alice)
    browser.get(site + reverse("fulfillment:config-edit", args=[verified_product.pk]))
    send = "//button[normalize-space()='Send test request']"
    navigate(browser, browser.find_element(By.XPATH, send))
    wait_for(browser, (By.XPATH, "//h1[normalize-space()='Test request']"))
    assert "/webhook/test/" in browser.current_url
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "HTTP 200" in main and "TT-0001-STD" in main


# Every page a seller or a buyer opens with GET, in the order a seller meets them.
SELLER_PAGES = [
    ("products:list", False),
    ("products:create", False),
    ("products:detail", True),
    ("products:edit", True),
    ("fulfillment:config-edit", True),
    ("fulfillment:config-secret-reveal", True),
    ("products:checklist", True),
    ("products:email-preview", True),
    ("fulfillment:delivery-list", True),
    ("orders:seller-orders", False),
]
SIGNED_OUT_PAGES = [
    "login",
    "signup",
    "signup-sent",
    "signup-resend",
    "password_reset",
    "purchases:find",
    "purchases:sent",
]
SIZES = {"desktop": (1280, 1000), "phone": (375, 812)}


@pytest.mark.parametrize("size", SIZES)
def test_every_page_fits_its_screen_and_loads_nothing_from_elsewhere(
    browser, site, alice, verified_product, size
):
    """At desktop and at phone width no page scrolls sideways, and every
    resource (styles, scripts, icons) comes from this site: no CDN."""
    verified_product.status = "live"
    verified_product.save()
    order = order_place(
        product=verified_product, quantity=2, customer_email="jo@example.com"
    )
    delivery = order.deliveries.order_by("item_index").first()
    test_delivery = DeliveryFactory(product=verified_product)
    browser.set_window_size(*SIZES[size])
    signed_out = [reverse(name) for name in SIGNED_OUT_PAGES] + [
        reverse("orders:product", args=[verified_product.slug]),
        reverse("orders:order", args=[order.token]),
        # The emailed link's list of the buyer's orders, and a broken link.
        reverse(
            "purchases:list", args=[purchases_link_token(email=order.customer_email)]
        ),
        reverse("purchases:list", args=["not-a-link"]),
    ]
    for url in signed_out:
        _assert_fits(browser, site, url, size)
    log_in(browser, site, alice)
    seller = [
        reverse(name, args=[verified_product.pk] if needs_pk else [])
        for name, needs_pk in SELLER_PAGES
    ]
    seller += [
        reverse(
            "fulfillment:delivery-detail",
            args=[verified_product.pk, delivery.delivery_id],
        ),
        reverse(
            "fulfillment:config-test-result",
            args=[verified_product.pk, test_delivery.delivery_id],
        ),
        reverse("orders:seller-order", args=[order.pk]),
    ]
    for url in seller:
        _assert_fits(browser, site, url, size)
        if size == "phone" and url == reverse(
            "fulfillment:config-edit", args=[verified_product.pk]
        ):
            shot(browser, "phone-webhook-editor", full_page=False)


def _assert_fits(browser, site, url: str, size: str) -> None:
    browser.get(site + url)
    wait_for(browser, (By.TAG_NAME, "main"))
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"{url} scrolls sideways by {overflow}px ({size})"
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    foreign = [r for r in resources if not r.startswith(site)]
    assert foreign == [], f"{url} loads {foreign}"
    assert browser.find_elements(By.CSS_SELECTOR, "link[rel=stylesheet]")


def test_the_editor_works_from_the_keyboard(browser, site, alice, verified_product):
    """Tab reaches the Webhook URL; Enter in a field saves (Save comes first)."""
    from selenium.webdriver.common.keys import Keys

    log_in(browser, site, alice)
    browser.get(site + reverse("fulfillment:config-edit", args=[verified_product.pk]))
    url_field = browser.find_element(By.NAME, "url")
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(30):
        if browser.switch_to.active_element == url_field:
            break
        body.send_keys(Keys.TAB)
    else:
        pytest.fail("Tab never reached the Webhook URL field")
    focused = browser.execute_script(
        "return getComputedStyle(document.activeElement).outlineStyle"
    )
    assert focused != "none"
    url_field.send_keys(Keys.END, "?v=2", Keys.ENTER)
    assert "Webhook saved" in message(browser)
    verified_product.webhook_config.refresh_from_db()
    assert verified_product.webhook_config.url.endswith("/issue?v=2")


def test_the_order_page_shows_the_license_soon_after_it_arrives(
    browser, site, live_product
):
    """A browser that runs scripts gets no reload timer: the page asks for its
    status and reloads itself once the license is there."""
    order = order_place(
        product=live_product, quantity=1, customer_email="wait@buyer.example"
    )
    browser.get(site + reverse("orders:order", args=[order.token]))
    wait_for(browser, (By.CSS_SELECTOR, "[role=status]"))
    browser.execute_script("window.__samePage = true;")

    fulfill(order, "**License key:** `TT-WAIT-0001`")

    WebDriverWait(browser, WAIT).until(
        lambda d: "TT-WAIT-0001" in d.find_element(By.TAG_NAME, "body").text
    )
    # The page reloaded itself (a new document), which only the script does.
    assert browser.execute_script("return window.__samePage !== true;")
