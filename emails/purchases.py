"""The "Find my purchase" email: a link that lists every order of an address.

Sent by a task, after the web request has answered, so that the page a visitor
sees, and how long it takes, is the same whether or not the address has orders.
An address without orders gets nothing: the form must not become a way to send
our email to any address at all.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from orders.purchases import customer_orders, purchases_link_token

from .messages import message_build, message_id, message_send

# The email names the products bought, not every order: a customer with
# hundreds of orders gets the newest ones and the link to all of them.
ORDERS_LISTED = 20


def purchases_link_url(*, email: str) -> str:
    token = purchases_link_token(email=email)
    return settings.SITE_URL + reverse("purchases:list", args=[token])


def purchases_link_lifetime() -> str:
    """How long the link works, in words ("30 minutes")."""
    now = timezone.now()
    max_age = timedelta(seconds=settings.PURCHASES_LINK_MAX_AGE)
    return timesince(now - max_age, now)


def purchases_link_email_send(*, email: str) -> int:
    """Email `email` a link to its purchases if it has orders; the number sent."""
    orders = list(customer_orders(email=email)[: ORDERS_LISTED + 1])
    if not orders:
        return 0
    context = {
        "orders": orders[:ORDERS_LISTED],
        "more": len(orders) > ORDERS_LISTED,
        "link_url": purchases_link_url(email=email),
        "lifetime": purchases_link_lifetime(),
        "find_url": settings.SITE_URL + reverse("purchases:find"),
        "site_url": settings.SITE_URL,
    }
    # Each request is its own email: a random key, never threaded with the last.
    key = secrets.token_hex(8)
    message = message_build(
        template="purchases_link",
        context=context,
        to=orders[0].customer_email,
        message_id=message_id("purchases", key),
    )
    message_send(message)
    return 1
