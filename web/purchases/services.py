"""Asking for a "Find my purchase" link: the limits, then the email's task.

What the visitor learns must not depend on the address having orders: every
request that passes the limits does the same work (two counts, one enqueue) and
gets the same answer, and the task looks the orders up after the response.
"""

from __future__ import annotations

import enum
import logging

from emails.tasks import purchases_link_email_send_task
from orders.purchases import customer_email_normalise
from orders.ratelimit import COUNTER_FAILURES, client_and_address_allowed

logger = logging.getLogger(__name__)


class LinkRequest(enum.Enum):
    SENT = "sent"  # to the task: an email if the address has orders
    LIMITED = "limited"  # too many requests from this IP or for this address
    UNAVAILABLE = "unavailable"  # the limits could not be counted, or no queue


def purchases_link_request(*, email: str, client_ip: str) -> LinkRequest:
    """Email `email` a link to its purchases, unless this IP or this address
    asked too often. The answer says nothing about the address's orders."""
    email = customer_email_normalise(email)
    try:
        if not _allowed(email=email, client_ip=client_ip):
            return LinkRequest.LIMITED
    except COUNTER_FAILURES as exc:
        # Closed, unlike the orders API's limit: refusing loses nothing here,
        # and an uncounted form would mail a customer as often as asked.
        logger.warning("Purchase links refused: the limit cannot count (%s)", exc)
        return LinkRequest.UNAVAILABLE
    try:
        purchases_link_email_send_task.delay(email)
    except Exception:
        logger.exception("Purchase link not enqueued")
        return LinkRequest.UNAVAILABLE
    return LinkRequest.SENT


def _allowed(*, email: str, client_ip: str) -> bool:
    return client_and_address_allowed(
        kind="purchases",
        client_ip=client_ip,
        address=email,
        ip_setting="PURCHASES_RATE_PER_IP",
        address_setting="PURCHASES_RATE_PER_ADDRESS",
    )
