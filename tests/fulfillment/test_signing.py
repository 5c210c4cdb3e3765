from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from fulfillment.ids import new_signing_secret
from fulfillment.signing import redact_headers, sign


def _headers(payload: bytes, secrets: list[str]) -> dict[str, str]:
    return sign(
        msg_id="dlv_TEST", timestamp=int(time.time()), payload=payload, secrets=secrets
    )


def test_sign_returns_the_three_standard_webhooks_headers():
    headers = sign(
        msg_id="dlv_1",
        timestamp=1700000000,
        payload=b"x",
        secrets=[new_signing_secret()],
    )

    assert headers["webhook-id"] == "dlv_1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")


def test_signature_verifies_with_the_official_library():
    secret = new_signing_secret()
    payload = b'{"order_id":"ord_1"}'

    Webhook(secret).verify(payload, _headers(payload, [secret]))


def test_signature_over_other_bytes_does_not_verify():
    secret = new_signing_secret()
    headers = _headers(b"quantity=1", [secret])

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b"quantity=2", headers, json_parse=False)


def test_rotation_sends_one_signature_per_secret_and_both_verify():
    new, old = new_signing_secret(), new_signing_secret()
    payload = b"order_id=ord_1"

    headers = _headers(payload, [new, old])

    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(payload, headers, json_parse=False)
    Webhook(old).verify(payload, headers, json_parse=False)


def test_secret_without_whsec_prefix_is_rejected():
    with pytest.raises(ValueError, match="whsec_"):
        sign(msg_id="dlv_1", timestamp=1, payload=b"", secrets=["not-a-secret"])


def test_redact_headers_hides_signature_and_authorization_and_keeps_the_rest():
    headers = {
        "webhook-id": "dlv_1",
        "webhook-signature": "v1,abc v1,def",
        "Authorization": "Bearer token",
        "User-Agent": "FulfillmentWebhooks/1.0",
    }

    redacted = redact_headers(headers)

    assert redacted == {
        "webhook-id": "dlv_1",
        "webhook-signature": "v1,<redacted>",
        "Authorization": "<redacted>",
        "User-Agent": "FulfillmentWebhooks/1.0",
    }
    assert headers["webhook-signature"] == "v1,abc v1,def"
