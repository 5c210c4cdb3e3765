"""How often one client, and one address, may make us send an account email:
a sign-up's confirmation, its resend, a password reset.

Each of these forms mails an address typed by anyone, so without a limit it
could flood a stranger's inbox in our name. Counted like "Find my purchase"
(orders.ratelimit, in the cache), the client's IP first so one client cannot
use up an address's allowance, then the address (hashed: the cache need not
hold it). Closed when the cache cannot count: refusing loses nothing, the
person tries again a few minutes later.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings

from orders.ratelimit import COUNTER_FAILURES, rate_limit_hit

logger = logging.getLogger(__name__)

LIMITED = (
    "Too many emails were asked for from here or for this address. "
    "Try again in an hour."
)
UNAVAILABLE = "We cannot send emails right now. Try again in a few minutes."
# The settings, for the system check (accounts.checks).
RATE_SETTINGS = ("ACCOUNT_EMAIL_RATE_PER_IP", "ACCOUNT_EMAIL_RATE_PER_ADDRESS")


def account_email_refusal(*, email: str, client_ip: str) -> tuple[int, str] | None:
    """None if an account email to `email` may be sent for this client now,
    else the HTTP status and the sentence to show (429 over a limit, 503 when
    the limits cannot be counted). Each call counts one."""
    try:
        by_ip = rate_limit_hit(
            key=f"account-email-ip:{client_ip}",
            rate=settings.ACCOUNT_EMAIL_RATE_PER_IP,
            setting="ACCOUNT_EMAIL_RATE_PER_IP",
            fail_open=False,
        )
        if not by_ip.allowed:
            return 429, LIMITED
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        by_address = rate_limit_hit(
            key=f"account-email-address:{digest}",
            rate=settings.ACCOUNT_EMAIL_RATE_PER_ADDRESS,
            setting="ACCOUNT_EMAIL_RATE_PER_ADDRESS",
            fail_open=False,
        )
    except COUNTER_FAILURES as exc:
        logger.warning("Account email refused: the limit cannot count (%s)", exc)
        return 503, UNAVAILABLE
    return None if by_address.allowed else (429, LIMITED)
