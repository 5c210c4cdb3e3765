"""Startup checks of the accounts settings: a typo fails the deploy, not a form."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from orders.ratelimit import rate_parse

from .limits import RATE_SETTINGS


@register()
def account_email_rate_check(app_configs, **kwargs) -> list[Error]:
    errors = []
    for name in RATE_SETTINGS:
        try:
            rate_parse(getattr(settings, name), setting=name)
        except ValueError as exc:
            errors.append(Error(str(exc), id="accounts.E001"))
    return errors
