"""Startup checks of the fulfillment settings that must agree with each other."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register()
def fulfillment_timing_check(app_configs, **kwargs) -> list[Error]:
    conf = settings.FULFILLMENT
    # The total deadline bounds the whole exchange, lookup and connection included.
    exchange = conf["TOTAL_TIMEOUT"]
    errors = []
    if conf["ATTEMPT_TIME_LIMIT"] <= exchange:
        errors.append(
            Error(
                "FULFILLMENT_ATTEMPT_TIME_LIMIT must exceed FULFILLMENT_TOTAL_TIMEOUT "
                f"({exchange:g} s), or attempts are killed mid-way.",
                id="fulfillment.E001",
            )
        )
    if conf["LEASE_SECONDS"] <= conf["ATTEMPT_TIME_LIMIT"]:
        errors.append(
            Error(
                "FULFILLMENT_LEASE_SECONDS must exceed FULFILLMENT_ATTEMPT_TIME_LIMIT, "
                "or a second worker may send a delivery while the first still runs.",
                id="fulfillment.E002",
            )
        )
    # Emails are sent by email tasks and, after the last delivery, by attempt
    # tasks; under the thread pool only the email timeouts bound a send.
    send_limit = max(
        conf["EMAIL_TASK_TIME_LIMIT"],
        conf["ATTEMPT_TIME_LIMIT"],
        settings.EMAIL_TIMEOUT,
    )
    if conf["EMAIL_CLAIM_TIMEOUT_SECONDS"] <= send_limit:
        errors.append(
            Error(
                "FULFILLMENT_EMAIL_CLAIM_TIMEOUT_SECONDS must exceed the time limit "
                f"of the tasks that send emails ({send_limit} s), or a running email "
                "send could be taken over and sent twice.",
                id="fulfillment.E003",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def fulfillment_allowlist_check(app_configs, **kwargs) -> list[Warning]:
    # The allowlist exists for tests and `make run`; in a deployment it lets any
    # seller reach the listed private networks through our workers.
    networks = settings.FULFILLMENT["ALLOWED_PRIVATE_NETWORKS"]
    if not networks or settings.DEBUG:
        return []
    return [
        Warning(
            "FULFILLMENT_ALLOWED_PRIVATE_NETWORKS is set "
            f"({', '.join(networks)}) while DEBUG is off: any seller's Webhook "
            "URL may reach these private networks.",
            hint="Unset FULFILLMENT_ALLOWED_PRIVATE_NETWORKS in production.",
            id="fulfillment.W001",
        )
    ]
