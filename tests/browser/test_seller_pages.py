"""The Webhook Editor and the seller's Orders page as they look, in headless Chromium.

What a seller sees at 1280 px and on a phone (375 px): Custom Fields rows that
line up whether saved or blank, the Static value input only for the kinds that
send it (and on every row without JavaScript), the verification docs folded
away behind <details> and language tabs, a compact filter bar and an orders
table that fits. alice owns every product here.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

from fulfillment.models import CustomFieldKind
from fulfillment.services.aftersale import order_refund
from orders.aftersale import Actor
from orders.models import Order
from tests.browser.conftest import WINDOW, log_in, shot, wait_for
from tests.factories import (
    CustomFieldFactory,
    ProductFactory,
    WebhookConfigFactory,
    fulfill,
)
from web.fulfillment.forms import VALUE_KINDS
from web.orders.services import order_place

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = (375, 812)
# The editor was about 4,400 px tall at 1280 px with every doc inline.
EDITOR_MAX_HEIGHT = 2600

# Per Custom Fields row: where each input sits (null when it is not displayed).
ROW_BOXES = """
const box = element => {
  if (!element || element.offsetParent === null) return null;
  const r = element.getBoundingClientRect();
  return {left: r.left, right: r.right, width: r.width};
};
return Array.from(document.querySelectorAll(".custom-row")).map(row => ({
  row: box(row),
  kind: box(row.querySelector("select[name$='-kind']")),
  name: box(row.querySelector("input[name$='-name']")),
  value: box(row.querySelector("input[name$='-value']")),
  delete: box(row.querySelector("input[name$='-DELETE']")),
}));
"""

# The widest choice of a kind select against the room its text has (the room
# less the arrow), in px: a choice wider than that is cut off.
KIND_TEXT_ROOM = """
const select = document.querySelector("select[name$='-kind']");
const style = getComputedStyle(select);
const context = document.createElement("canvas").getContext("2d");
context.font = style.font;
const widest = Math.max(
  ...Array.from(select.options).map(option => context.measureText(option.text).width)
);
const room = select.clientWidth - parseFloat(style.paddingLeft)
  - parseFloat(style.paddingRight) - 20;
return [widest, room];
"""

SIDEWAYS = "return document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def editor(product):
    """alice's product with two saved custom fields, a customer email and a
    static one; the editor adds two blank rows below them."""
    config = product.webhook_config
    CustomFieldFactory(config=config, kind="customer_email", name="buyer", value="")
    CustomFieldFactory(config=config, kind="static", name="edition", value="pro")
    return product


def open_editor(browser, site, user, product) -> None:
    log_in(browser, site, user)
    browser.get(site + reverse("fulfillment:config-edit", args=[product.pk]))
    wait_for(browser, (By.ID, "verify-requests"))


def value_shown(browser, row: int) -> bool:
    return browser.find_element(By.NAME, f"custom_fields-{row}-value").is_displayed()


def choose_kind(browser, row: int, kind: str) -> None:
    Select(browser.find_element(By.NAME, f"custom_fields-{row}-kind")).select_by_value(
        kind
    )


def same(rows: list[dict], column: str) -> set[tuple[int, int]]:
    """The distinct (left, width) of a column's inputs, where displayed."""
    return {
        (round(r[column]["left"]), round(r[column]["width"])) for r in rows if r[column]
    }


# --- Webhook Editor: Custom Fields ------------------------------------------------


@pytest.mark.parametrize("size", [WINDOW, PHONE], ids=["1280px", "phone"])
def test_saved_and_blank_custom_field_rows_line_up(browser, site, alice, editor, size):
    browser.set_window_size(*size)
    open_editor(browser, site, alice, editor)
    # A blank row given the static kind shows its value input beside row 1's.
    choose_kind(browser, 2, "static")

    rows = browser.execute_script(ROW_BOXES)

    assert len(rows) == 4
    assert [bool(r["delete"]) for r in rows] == [True, True, False, False]
    for column in ("row", "kind", "name", "value"):
        assert len(same(rows, column)) == 1, f"{column} differs: {same(rows, column)}"
    for r in rows:
        for column in ("kind", "name", "value", "delete"):
            if r[column]:
                assert r[column]["right"] <= r["row"]["right"] + 0.5, column
    widest, room = browser.execute_script(KIND_TEXT_ROOM)
    assert widest <= room, f"a Send choice is cut: {widest:.0f} px in {room:.0f} px"
    assert browser.execute_script(SIDEWAYS) <= 0


def test_the_static_value_input_shows_only_for_the_kinds_that_send_it(
    browser, site, alice, editor
):
    open_editor(browser, site, alice, editor)

    # Saved: a customer email row, a static row; then a blank row.
    assert [value_shown(browser, row) for row in range(3)] == [False, True, False]
    for kind in CustomFieldKind.values:
        choose_kind(browser, 2, kind)
        assert value_shown(browser, 2) is (kind in VALUE_KINDS), kind


def test_without_javascript_every_row_shows_the_static_value_and_errors_stay_put(
    browser, site, alice, editor
):
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    open_editor(browser, site, alice, editor)
    assert all(value_shown(browser, row) for row in range(4))

    choose_kind(browser, 2, "static")
    browser.find_element(By.NAME, "custom_fields-2-name").send_keys("plan")
    browser.find_element(By.XPATH, "//button[normalize-space()='Save']").click()

    wait_for(browser, (By.CSS_SELECTOR, ".messages"))
    value = browser.find_element(By.NAME, "custom_fields-2-value")
    cell = value.find_element(By.XPATH, "./ancestor::div[@data-value-field]")
    assert "A static field needs a value." in cell.text
    assert value.is_displayed()


# --- Webhook Editor: the verification docs ----------------------------------------


def shown_panels(browser) -> list[str]:
    panels = browser.find_elements(By.CSS_SELECTOR, "#verify-examples section.snippet")
    return [panel.get_attribute("id") for panel in panels if panel.is_displayed()]


def test_the_verification_docs_are_folded_and_the_editor_is_short(
    browser, site, alice, editor
):
    open_editor(browser, site, alice, editor)

    height = browser.execute_script("return document.documentElement.scrollHeight")
    assert height < EDITOR_MAX_HEIGHT
    parts = browser.find_elements(By.CSS_SELECTOR, "#verify-requests details")
    assert len(parts) == 4
    assert not any(part.get_attribute("open") for part in parts)
    assert shown_panels(browser) == []
    shot(browser, "webhook-editor-full")


def test_the_examples_are_one_tab_per_language_from_the_keyboard(
    browser, site, alice, editor
):
    open_editor(browser, site, alice, editor)
    browser.find_element(By.CSS_SELECTOR, "#verify-examples > summary").click()

    tabs = browser.find_elements(By.CSS_SELECTOR, "#verify-examples [role=tab]")
    assert [tab.text for tab in tabs] == ["Python", "Node.js", "PHP"]
    assert shown_panels(browser) == ["snippet-python"]
    # Tab from the summary reaches the chosen tab (the others are not stops).
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element == tabs[0]
    # Arrows, End and Home move between tabs; the chosen one is the one to Tab to.
    for key, panel in [
        (Keys.ARROW_RIGHT, "snippet-node"),
        (Keys.END, "snippet-php"),
        (Keys.ARROW_RIGHT, "snippet-python"),
        (Keys.ARROW_LEFT, "snippet-php"),
        (Keys.HOME, "snippet-python"),
    ]:
        browser.switch_to.active_element.send_keys(key)
        active = browser.switch_to.active_element
        assert active.get_attribute("aria-controls") == panel
        assert active.get_attribute("aria-selected") == "true"
        assert active.get_attribute("tabindex") == "0"
        assert shown_panels(browser) == [panel]
    # Tab leaves the tab list for the open panel, whose code is there to read.
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "snippet-python"
    assert "standardwebhooks" in browser.switch_to.active_element.text


def test_without_javascript_the_examples_are_plain_sections(
    browser, site, alice, editor
):
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    open_editor(browser, site, alice, editor)
    browser.find_element(By.CSS_SELECTOR, "#verify-examples > summary").click()

    assert browser.find_elements(By.CSS_SELECTOR, "[role=tablist]") == []
    assert shown_panels(browser) == ["snippet-python", "snippet-node", "snippet-php"]


# --- The seller's Orders page ----------------------------------------------------


@pytest.fixture
def orders(live_product, alice):
    """Five of alice's orders over two products, with long names and addresses."""
    teams = ProductFactory(
        seller=alice, slug="pixel-teams", name="Pixel Editor Pro Edition for Teams"
    )
    WebhookConfigFactory(product=teams)
    teams.status = "live"
    teams.save(update_fields=["status"])
    for n in range(4):
        order_place(
            product=live_product,
            quantity=n + 1,
            customer_email=f"customer.number{n}@a-long-company-domain.example.com",
        )
    order_place(product=teams, quantity=12, customer_email="jo@example.com")
    # Two of them after the sale: one refunded in full, one in part.
    seller = Actor.seller(user_id=alice.pk, username=alice.username)
    refunds = Order.objects.filter(product=live_product).order_by("pk")[:2]
    for order, amount in zip(refunds, ("19.00", "10.00"), strict=True):
        fulfill(order, "KEY")
        order_refund(order_id=order.pk, amount=Decimal(amount), reason="", actor=seller)


FILTER_BAR = """
const form = document.querySelector("form.filters");
const bottoms = Array.from(form.querySelectorAll("select, button"))
  .map(element => Math.round(element.getBoundingClientRect().bottom));
const widths = Array.from(form.querySelectorAll("select"))
  .map(element => element.getBoundingClientRect().width);
return [form.getBoundingClientRect().height, bottoms, widths];
"""

# Cells whose content is wider than they are, and headers that wrap.
TABLE_FIT = """
const table = document.querySelector("table.orders");
const main = document.querySelector("main");
const room = main.getBoundingClientRect().right
  - parseFloat(getComputedStyle(main).paddingRight);
const overflowing = Array.from(table.querySelectorAll("td"))
  .filter(td => td.scrollWidth > td.clientWidth + 1).map(td => td.textContent.trim());
const lineHeight = parseFloat(getComputedStyle(table.querySelector("th")).lineHeight);
const wrapped = Array.from(table.querySelectorAll("th"))
  .filter(th => th.querySelector("*") === null)
  .filter(th => th.getBoundingClientRect().height > 2 * lineHeight)
  .map(th => th.textContent);
return [table.getBoundingClientRect().right - room, overflowing, wrapped];
"""


def test_the_orders_filter_bar_is_one_compact_line(browser, site, alice, orders):
    log_in(browser, site, alice)
    browser.get(site + reverse("orders:seller-orders"))
    wait_for(browser, (By.CSS_SELECTOR, "table.orders"))

    height, bottoms, widths = browser.execute_script(FILTER_BAR)

    assert height < 120, f"the filter bar is {height:.0f} px tall"
    assert max(bottoms) - min(bottoms) <= 2, f"not on one line: {bottoms}"
    assert all(width <= 20 * 16 for width in widths), widths


def test_the_orders_table_fits_1280px_and_a_phone(browser, site, alice, orders):
    log_in(browser, site, alice)
    browser.get(site + reverse("orders:seller-orders"))
    wait_for(browser, (By.CSS_SELECTOR, "table.orders"))

    beyond, overflowing, wrapped = browser.execute_script(TABLE_FIT)
    assert beyond <= 0.5, f"the table sticks out of the page by {beyond:.0f} px"
    assert overflowing == []
    assert wrapped == []
    assert browser.execute_script(SIDEWAYS) <= 0
    shot(browser, "orders-page")

    browser.set_window_size(*PHONE)
    browser.get(site + reverse("orders:seller-orders"))
    wait_for(browser, (By.CSS_SELECTOR, "table.orders"))
    assert browser.execute_script(SIDEWAYS) <= 0
    head = browser.find_element(By.CSS_SELECTOR, "table.orders thead")
    assert not head.is_displayed()  # stacked rows, each cell labelled
    shot(browser, "phone-orders-page", full_page=False)


# --- After the sale: a refund from the order page, as the customer then sees it ---


def test_a_refund_is_confirmed_without_script_and_strikes_the_license(
    browser, site, alice, live_product
):
    """JavaScript off: the order page's refund form leads to a confirmation
    page, whose button refunds; the customer's page then strikes the license."""
    order = order_place(product=live_product, quantity=1, customer_email="jo@x.com")
    fulfill(order, "**License key:** `PIX-2026-ABCD`")
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    log_in(browser, site, alice)
    browser.get(site + reverse("orders:seller-order", args=[order.pk]))
    amount = wait_for(browser, (By.ID, "id_amount"))
    amount.clear()
    amount.send_keys("19.00")
    browser.find_element(By.ID, "id_reason").send_keys("Bought the wrong edition")
    browser.find_element(By.CSS_SELECTOR, "#after-sale button[type=submit]").click()

    heading = wait_for(browser, (By.CSS_SELECTOR, "#confirm h1"))
    assert heading.text == "Refund 19.00 USD?"
    shot(browser, "refund-confirm")
    for size in (WINDOW, PHONE):
        browser.set_window_size(*size)
        assert browser.execute_script(SIDEWAYS) <= 0
    browser.set_window_size(*WINDOW)
    browser.find_element(By.CSS_SELECTOR, "#confirm button[type=submit]").click()

    wait_for(browser, (By.ID, "after-sale-state"))
    assert "Refunded 19.00 USD." in browser.find_element(By.TAG_NAME, "main").text
    shot(browser, "order-refunded-seller")
    browser.get(site + reverse("orders:order", args=[order.token]))
    license_box = wait_for(browser, (By.CSS_SELECTOR, ".license.revoked"))
    style = browser.execute_script(
        "return getComputedStyle(arguments[0]).textDecorationLine", license_box
    )
    assert style == "line-through"
    assert "PIX-2026-ABCD" in license_box.text
    assert browser.find_element(By.CSS_SELECTOR, ".revoked-note").text.startswith(
        "Refunded on "
    )
    shot(browser, "order-page-refunded")
