"""The URL policy as this deployment's settings make it: https in production,
the private-network allowlist, and the deploy check that warns about it."""

from __future__ import annotations

import pytest

from fulfillment.checks import fulfillment_allowlist_check
from fulfillment.services.config import check_url_from_settings
from lib.urlpolicy import UrlRefused


def test_settings_policy_requires_https_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(UrlRefused, match="must use https"):
        check_url_from_settings("http://lic.example.com/", resolve=False)


def test_settings_policy_uses_the_allowed_private_networks(
    settings, fulfillment_settings
):
    settings.PRODUCTION = False
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8"])

    assert check_url_from_settings("http://127.0.0.1:9/")


def test_allowlist_with_debug_off_is_a_deploy_warning(settings, fulfillment_settings):
    settings.DEBUG = False
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8"])

    warnings = fulfillment_allowlist_check(None)

    assert [w.id for w in warnings] == ["fulfillment.W001"]


def test_empty_allowlist_is_no_deploy_warning(settings, fulfillment_settings):
    settings.DEBUG = False
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=[])

    assert fulfillment_allowlist_check(None) == []
