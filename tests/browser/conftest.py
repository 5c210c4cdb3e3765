"""Headless Chromium for the browser tests: Debian's `chromium` and `chromedriver`.

Nothing downloads a browser: the binary and the driver are passed by path
(CHROMIUM_PATH, CHROMEDRIVER_PATH; defaults /usr/bin/chromium, /usr/bin/chromedriver),
and Selenium Manager is told to stay offline. Without them the tests skip locally
(`apt-get install chromium chromium-driver`) and fail in CI (REQUIRE_TOOLS=1).

Screenshots go to SCREENSHOT_DIR (default var/screenshots); the best ones are
copied by hand into docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.tools import skip_or_fail

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_PATH", "/usr/bin/chromedriver")
WINDOW = (1280, 1000)
WAIT = 15  # seconds; generous for a loaded CI machine, never reached when it works
INSTALL_HINT = "apt-get install chromium chromium-driver"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _missing() -> list[str]:
    problems = []
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            problems.append(f"{path} is missing")
    try:
        import selenium  # noqa: F401
    except ImportError:
        problems.append("selenium is not installed (make install)")
    return problems


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = Path(
        os.environ.get("SCREENSHOT_DIR", str(django_settings.VAR_DIR / "screenshots"))
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def browser(screenshot_dir):
    problems = _missing()
    if problems:
        skip_or_fail(
            "the browser tests need Debian's Chromium: "
            + "; ".join(problems)
            + f" ({INSTALL_HINT})"
        )
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=Service(executable_path=CHROMEDRIVER), options=options
    )
    driver.set_window_size(*WINDOW)
    driver.implicitly_wait(0)
    driver.screenshots = screenshot_dir
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def site(live_server, settings):
    """The live server's URL, its webhooks allowed to reach 127.0.0.1."""
    settings.FULFILLMENT = {
        **settings.FULFILLMENT,
        "ALLOWED_PRIVATE_NETWORKS": ["127.0.0.0/8"],
        "TOTAL_TIMEOUT": 3.0,
    }
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return live_server.url


def wait_for(driver, locator, timeout=WAIT):
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        EC.visibility_of_element_located(locator)
    )


def log_in(browser, site, user) -> None:
    """Log `user` in through a session cookie (the journey covers the form)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    browser.get(site + "/accounts/login/")
    browser.add_cookie(
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"}
    )


def shot(driver, name: str, *, full_page: bool = True) -> Path | None:
    """Save a screenshot: the whole page, or (`full_page=False`) the window as
    scrolled. A full page grows the window to the page's height for the shot.

    A screenshot is an artifact, not a check: if Chromium cannot take one (a
    resize of a tall page can time out on a loaded machine) the test goes on
    and a warning says which one is missing.
    """
    from selenium.common.exceptions import WebDriverException

    path = driver.screenshots / f"{name}.png"
    try:
        if full_page:
            # The window's height includes the browser's own bars: add them, so
            # the page's bottom is in the shot too.
            height, bars = driver.execute_script(
                "return [document.documentElement.scrollHeight,"
                " window.outerHeight - window.innerHeight]"
            )
            driver.set_window_size(WINDOW[0], min(max(height, 600), 3000) + bars)
            driver.execute_script("window.scrollTo(0, 0)")
            time.sleep(0.5)  # let iframes repaint at the new size
        driver.save_screenshot(str(path))
    except WebDriverException as exc:
        warnings.warn(f"screenshot {name} not saved: {exc.msg}", stacklevel=2)
        return None
    finally:
        if full_page:
            driver.set_window_size(*WINDOW)
    return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """On a failure, keep what the browser showed: a screenshot and the HTML."""
    report = yield
    driver = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and driver is not None:
        name = f"FAILED-{item.name}"
        try:
            driver.save_screenshot(str(driver.screenshots / f"{name}.png"))
            (driver.screenshots / f"{name}.html").write_text(driver.page_source)
            report.sections.append(
                (
                    "browser",
                    f"{driver.current_url}\nsaved {driver.screenshots}/{name}.*",
                )
            )
        except Exception as exc:  # the browser may be the thing that broke
            report.sections.append(("browser", f"no screenshot: {exc}"))
    return report
