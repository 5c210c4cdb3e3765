"""Shared people and things.

Who may see what: alice owns the products in these fixtures; bob is another
seller and must get a 404 on every one of alice's pages; charlie is staff and
uses Django admin.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import ProductFactory, UserFactory, WebhookConfigFactory
from tests.httpserver import (
    Route,
    seller_server_fixture,  # noqa: F401 - shared fixture
)

# Hypothesis keeps its files (the constants it collects from our source) under
# var/, not in a .hypothesis/ of the checkout: tests write only there or in
# their tmp_path.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(settings.VAR_DIR) / "hypothesis")
)


@pytest.fixture(autouse=True)
def _empty_cache():
    # The rate limits count in the cache; one test's requests must not count in
    # another (a token's pk comes back after each test's rollback, and every
    # test client is 127.0.0.1).
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs half a second per user; tests do not need its strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The one address the fake resolver answers for documentation names; tests
# never dial it (they stop connections first, or the URL is refused).
FAKE_PUBLIC_IP = "93.184.216.34"


@pytest.fixture(autouse=True)
def _fake_dns(monkeypatch):
    """Tests have no DNS: urlpolicy's resolver answers from a fixed table.

    Names under example.com, example.org and .test resolve to FAKE_PUBLIC_IP,
    IP literals to themselves, localhost to 127.0.0.1; every other name fails
    like an unknown host. A test needing other answers patches
    `lib.urlpolicy.resolve_host` itself.
    """
    import ipaddress
    import socket

    from lib import urlpolicy

    def resolve_host(host: str, port: int) -> list[str]:
        name = host.lower().rstrip(".")
        if name.endswith((".example.com", ".example.org", ".test")):
            return [FAKE_PUBLIC_IP]
        if name == "localhost":
            return ["127.0.0.1"]
        try:
            return [str(ipaddress.ip_address(name))]
        except ValueError:
            raise socket.gaierror(
                socket.EAI_NONAME, "Name or service not known"
            ) from None

    monkeypatch.setattr(urlpolicy, "resolve_host", resolve_host)


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def charlie(db):
    return UserFactory(
        username="charlie",
        email="charlie@example.com",
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def charlie_client(client, charlie):
    client.force_login(charlie)
    return client


@pytest.fixture
def product(alice):
    """alice's webhook product, draft, with a POST form-encoded config."""
    product = ProductFactory(seller=alice, name="Pixel Editor", slug="pixel-editor")
    WebhookConfigFactory(product=product)
    return product


@pytest.fixture
def live_product(product):
    """alice's product, live: buyers may order it."""
    product.status = "live"
    product.save(update_fields=["status"])
    return product


@pytest.fixture
def key_list_product(alice):
    """alice's live product sold from her license key list (empty: tests add
    the keys they need)."""
    return ProductFactory(
        seller=alice,
        name="Key Tamer",
        slug="key-tamer",
        status="live",
        fulfillment_method="key_list",
    )


@pytest.fixture
def fulfillment_settings(settings):
    """Call it with keys of settings.FULFILLMENT to override them for one test.

    The rest of FULFILLMENT stays as it is; pytest-django's `settings` puts the
    whole dictionary back after the test.
    """

    def override(**overrides) -> None:
        settings.FULFILLMENT = {**settings.FULFILLMENT, **overrides}

    return override


@pytest.fixture
def loopback(fulfillment_settings):
    """Webhooks may reach the test seller servers on 127.0.0.1 (production allows
    no private network), and give up after 2 s instead of 15."""
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8"], TOTAL_TIMEOUT=2.0)


@pytest.fixture
def wired_product(live_product, seller_server, loopback):
    """The live product's Webhook URL points at the test seller server's /license
    (each test sets how it answers)."""
    config = live_product.webhook_config
    config.url = seller_server.url("/license")
    config.save()
    return live_product


@pytest.fixture
def answering_product(wired_product, seller_server):
    """The wired product; the test seller server answers it with LICENSE-OK."""
    seller_server.set_route("/license", Route(body="LICENSE-OK"))
    return wired_product


@pytest.fixture
def downloads_storage(settings, tmp_path):
    """Products' files go to this test's own folder instead of var/downloads."""
    settings.STORAGES = {
        **settings.STORAGES,
        "downloads": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "downloads"), "base_url": None},
        },
    }
    return tmp_path / "downloads"


@pytest.fixture
def email_backend(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


def pytest_sessionstart(session):
    """Fail at once, before any test, when CI expects services that are missing."""
    from tests.services import check_services, services_required

    if services_required():
        problems = check_services()
        if problems:
            pytest.exit("REQUIRE_SERVICES=1 but: " + "; ".join(problems), returncode=3)


def pytest_report_header(config):
    from tests.services import stack_name

    return f"stack: {stack_name()} (database and broker from the environment)"


@pytest.fixture(autouse=True)
def _celery_mode(request):
    """Unit tests run Celery tasks eagerly; integration tests use a real worker."""
    from config.celery import app

    app.conf.task_always_eager = request.node.get_closest_marker("integration") is None
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = True
