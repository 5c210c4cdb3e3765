"""What every sender in the benchmark puts on the wire: our payload's fields, form
encoded and signed with the project's pure Standard Webhooks code.

raw, the naive peer, the conventional peer and the limit loop all send through
here, so the seller server verifies each of them exactly like ours. The seller
server's check of django-webhook's own signatures is here too. No Django.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Mapping
from urllib.parse import urlencode

import requests

from lib.signing import sign

FORM = "application/x-www-form-urlencoded"
# What the seller server answers is stored with each attempt, cut to this size.
RESPONSE_CHARS = 2000
# How old a signed timestamp a receiver accepts (Standard Webhooks' advice too).
TOLERANCE_SECONDS = 300


def webhook_fields(
    *,
    product: Mapping[str, object],
    order_id: object,
    delivery_id: str,
    email: str,
    event_time: str,
) -> dict[str, str]:
    """The fields one of our deliveries carries (see fulfillment/payload.py):
    the standard ones, then the seller's custom field (the customer's email)."""
    return {
        "event": "order.fulfillment",
        "test": "true",
        "delivery_id": delivery_id,
        "order_id": str(order_id),
        "product_id": str(product["id"]),
        "product_name": str(product["name"]),
        "quantity": "1",
        "item_index": "1",
        "item_count": "1",
        "price": str(product["price"]),
        "currency": str(product["currency"]),
        "event_time": event_time,
        "email": email,
    }


def signed_form(
    fields: Mapping[str, str], *, secret: str, msg_id: str
) -> tuple[bytes, dict[str, str]]:
    """The form-encoded body and its Standard Webhooks headers."""
    body = urlencode(fields).encode()
    headers = sign(
        msg_id=msg_id, timestamp=int(time.time()), payload=body, secrets=[secret]
    )
    headers["Content-Type"] = FORM
    return body, headers


_local = threading.local()


def session() -> requests.Session:
    """This thread's `requests.Session`: its connections stay alive between
    requests, and a Session is not meant to be shared between threads."""
    current = getattr(_local, "session", None)
    if current is None:
        current = _local.session = requests.Session()
    return current


def django_webhook_valid(
    secret: bytes, timestamp: str, body: bytes, signatures: list[str]
) -> bool:
    """How a receiver verifies django-webhook's requests: one of the hex
    HMAC-SHA256 signatures of "{timestamp}:{body}" matches, and the timestamp is
    recent."""
    if not secret or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    signed = timestamp.encode() + b":" + body
    digest = hmac.new(secret, signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(digest, s.strip()) for s in signatures)
