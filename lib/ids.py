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


def new_delivery_id() -> str:
    """A ULID-style ID: sortable by creation time, 80 random bits, `dlv_` prefix.

    Sent as `webhook-id`, the seller's idempotency key: it never changes across
    retries of the same delivery.
    """
    millis = int(time.time() * 1000)
    return "dlv_" + _base32(millis, 10) + _base32(secrets.randbits(80), 16)


# What `new_delivery_id` makes, as a regular expression (URL patterns match it).
DELIVERY_ID_PATTERN = "dlv_[0-9A-HJKMNP-TV-Z]{26}"


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
