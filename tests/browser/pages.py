"""What the browser tests do as people do: fill, choose, click and wait for the
next page, read the message; and the seller's license server they wire."""

from __future__ import annotations

import json
import threading

from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait
from standardwebhooks import Webhook, WebhookVerificationError

from tests.browser.conftest import WAIT, wait_for
from tests.httpserver import Route


class LicenseServer:
    """The seller's server: verifies our signature, answers one key per unit,
    and gives the same key again for the same webhook-id."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.broken = False
        self.issued: dict[str, str] = {}
        # webhook-id -> the passthrough it carried (the seller's own data).
        self.passthrough: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, request) -> Route:
        if self.secret is None:
            return Route(status=401, body="Paste the signing secret first.")
        try:
            Webhook(self.secret).verify(request.body, request.headers, json_parse=False)
        except WebhookVerificationError as exc:
            return Route(status=401, body=f"bad signature: {exc}")
        if self.broken:
            return Route(status=500, body="database is down")
        fields = json.loads(request.body)
        with self.lock:
            self.passthrough[request.headers["webhook-id"]] = fields["passthrough"]
            key = self.issued.setdefault(
                request.headers["webhook-id"],
                f"TT-{len(self.issued) + 1:04d}-{fields['edition'].upper()}",
            )
        return Route(body=f"**License key:** `{key}`\n\nFor {fields['buyer']}")


def fill(driver, name: str, value: str) -> None:
    field = driver.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def choose(driver, name: str, value: str) -> None:
    """Pick `value` in a select or a radio group, whichever the form uses."""
    field = driver.find_element(By.NAME, name)
    if field.tag_name == "select":
        Select(field).select_by_value(value)
    else:
        driver.find_element(
            By.CSS_SELECTOR, f"input[name='{name}'][value='{value}']"
        ).click()


def navigate(driver, element) -> None:
    """Click a link or a plain form's button and wait until the next page has
    replaced this one and finished loading, so the next lookup cannot find the
    old page's elements. The old page is marked with a window property that
    the new document does not have (sturdier than an element's staleness,
    which chromedriver sometimes reports as a generic error)."""
    driver.execute_script("window.__leaving = true;")
    element.click()
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script(
            "return window.__leaving !== true && document.readyState === 'complete'"
        )
    )


def submit(driver, text: str) -> None:
    button = driver.find_element(
        By.XPATH, f"//button[normalize-space()='{text}'] | //input[@value='{text}']"
    )
    navigate(driver, button)


def message(driver) -> str:
    return wait_for(driver, (By.CSS_SELECTOR, ".messages")).text
