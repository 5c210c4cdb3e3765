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
