"""Identifiers that leave this system: delivery IDs, signing secrets, order tokens."""

from __future__ import annotations

import base64
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _base32(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 32)
        chars.append(_CROCKFORD[rest])
    return "".join(reversed(chars))


def _ulid(prefix: str) -> str:
    millis = int(time.time() * 1000)
    return prefix + _base32(millis, 10) + _base32(secrets.randbits(80), 16)


def new_delivery_id() -> str:
    """A ULID-style ID: sortable by creation time, 80 random bits, `dlv_` prefix.

    Sent as `webhook-id`, the seller's idempotency key: it never changes across
    retries of the same delivery.
    """
    return _ulid("dlv_")


def new_alert_id() -> str:
    """The same for an alert (`evt_`): its `webhook-id` on every retry."""
    return _ulid("evt_")


# What `new_delivery_id` and `new_alert_id` make, as regular expressions (URL
# patterns match them).
DELIVERY_ID_PATTERN = "dlv_[0-9A-HJKMNP-TV-Z]{26}"
ALERT_ID_PATTERN = "evt_[0-9A-HJKMNP-TV-Z]{26}"


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
