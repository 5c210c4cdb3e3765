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

import logging

from orders.ratelimit import COUNTER_FAILURES, client_and_address_allowed

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
        allowed = client_and_address_allowed(
            kind="account-email",
            client_ip=client_ip,
            address=email,
            ip_setting="ACCOUNT_EMAIL_RATE_PER_IP",
            address_setting="ACCOUNT_EMAIL_RATE_PER_ADDRESS",
        )
    except COUNTER_FAILURES as exc:
        logger.warning("Account email refused: the limit cannot count (%s)", exc)
        return 503, UNAVAILABLE
    return None if allowed else (429, LIMITED)
