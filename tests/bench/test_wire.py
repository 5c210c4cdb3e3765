"""What the benchmark's senders put on the wire, and the seller server's check of
django-webhook's signatures."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qs

from standardwebhooks.webhooks import Webhook

from bench.wire import django_webhook_valid, signed_form, webhook_fields

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PRODUCT = {"id": 7, "name": "Pro", "price": "19.00", "currency": "EUR"}


def _hex(secret: bytes, timestamp: str, body: bytes) -> str:
    signed = timestamp.encode() + b":" + body
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()


def test_signed_form_verifies_with_the_official_library():
    fields = webhook_fields(
        product=PRODUCT, order_id=1, delivery_id="d1", email="a@b.example",
        event_time="2026-01-01T00:00:00Z",
    )  # fmt: skip
    body, headers = signed_form(fields, secret=SECRET, msg_id="d1")
    Webhook(SECRET).verify(body, headers, json_parse=False)
    assert parse_qs(body.decode())["product_id"] == ["7"]


def test_django_webhook_signature_is_accepted():
    now = str(int(time.time()))
    signature = _hex(b"token-123456", now, b"{}")
    assert django_webhook_valid(b"token-123456", now, b"{}", ["other", signature])


def test_django_webhook_signature_with_another_secret_is_refused():
    now = str(int(time.time()))
    signature = _hex(b"someone-else", now, b"{}")
    assert not django_webhook_valid(b"token-123456", now, b"{}", [signature])


def test_django_webhook_old_timestamp_is_refused():
    old = str(int(time.time()) - 301)
    signature = _hex(b"token-123456", old, b"{}")
    assert not django_webhook_valid(b"token-123456", old, b"{}", [signature])
