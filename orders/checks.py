"""Startup checks of the orders settings: a typo fails the deploy, not a request."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from .ratelimit import DEFAULT_RATE, rate_parse


@register()
def api_rate_limit_check(app_configs, **kwargs) -> list[Error]:
    try:
        rate_parse(getattr(settings, "API_RATE_LIMIT", DEFAULT_RATE))
    except ValueError as exc:
        return [Error(str(exc), id="orders.E001")]
    return []


# The "Find my purchase" form's limits (orders.purchases), same format.
PURCHASES_RATE_SETTINGS = ("PURCHASES_RATE_PER_ADDRESS", "PURCHASES_RATE_PER_IP")


@register()
def purchases_rate_limit_check(app_configs, **kwargs) -> list[Error]:
    errors = []
    for name in PURCHASES_RATE_SETTINGS:
        try:
            rate_parse(getattr(settings, name), setting=name)
        except ValueError as exc:
            errors.append(Error(str(exc), id="orders.E002"))
    return errors
