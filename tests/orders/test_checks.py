"""A malformed API_RATE_LIMIT stops `manage.py check` (and so the deploy)
instead of answering 500 to every orders API request."""

from __future__ import annotations

from orders.checks import api_rate_limit_check, purchases_rate_limit_check


def test_a_well_formed_rate_passes(settings):
    settings.API_RATE_LIMIT = "120/60"

    assert api_rate_limit_check(None) == []


def test_a_malformed_rate_is_an_error_naming_the_setting(settings):
    settings.API_RATE_LIMIT = "1000000"

    [error] = api_rate_limit_check(None)

    assert error.id == "orders.E001"
    assert "API_RATE_LIMIT must look like '120/60'" in error.msg


def test_a_malformed_purchases_rate_is_an_error_naming_the_setting(settings):
    settings.PURCHASES_RATE_PER_IP = "twenty"

    [error] = purchases_rate_limit_check(None)

    assert error.id == "orders.E002"
    assert "PURCHASES_RATE_PER_IP must look like '120/60'" in error.msg
