"""Payment providers: the test one is marked, and refused on a production site."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from orders.payments import TestPaymentProvider, get_provider

MESSAGE = (
    "PAYMENT_PROVIDER=test takes no money; set a real provider, or "
    "ALLOW_TEST_PAYMENTS=true for a staging site."
)


def test_test_provider_says_it_takes_no_money():
    assert TestPaymentProvider.is_test is True


def test_test_provider_is_used_outside_production(settings):
    settings.PRODUCTION = False
    settings.PAYMENT_PROVIDER = "test"
    assert get_provider().is_test


def test_test_provider_is_refused_in_production(settings):
    settings.PRODUCTION = True
    settings.PAYMENT_PROVIDER = "test"
    settings.ALLOW_TEST_PAYMENTS = False
    with pytest.raises(ImproperlyConfigured) as excinfo:
        get_provider()
    assert str(excinfo.value) == MESSAGE


def test_test_provider_is_refused_in_production_without_the_setting(settings):
    settings.PRODUCTION = True
    settings.PAYMENT_PROVIDER = "test"
    if hasattr(settings, "ALLOW_TEST_PAYMENTS"):
        del settings.ALLOW_TEST_PAYMENTS
    with pytest.raises(ImproperlyConfigured, match="ALLOW_TEST_PAYMENTS=true"):
        get_provider()


def test_a_staging_site_may_allow_test_payments(settings):
    settings.PRODUCTION = True
    settings.PAYMENT_PROVIDER = "test"
    settings.ALLOW_TEST_PAYMENTS = True
    assert get_provider().is_test


def test_unknown_provider_fails_loudly(settings):
    settings.PAYMENT_PROVIDER = "nope"
    with pytest.raises(ImproperlyConfigured, match="not a known payment provider"):
        get_provider()
