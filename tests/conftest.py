"""Shared people and things.

Who may see what: alice owns the products in these fixtures; bob is another
seller and must get a 404 on every one of alice's pages; charlie is staff and
uses Django admin.
"""

from __future__ import annotations

import pytest

from tests.factories import ProductFactory, UserFactory, WebhookConfigFactory


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
def product(alice):
    """alice's webhook product, draft, with a POST form-encoded config."""
    product = ProductFactory(seller=alice, name="Pixel Editor", slug="pixel-editor")
    WebhookConfigFactory(product=product)
    return product


@pytest.fixture
def email_backend(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
