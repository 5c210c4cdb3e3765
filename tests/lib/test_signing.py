from __future__ import annotations

import base64
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from fulfillment.services.config import webhook_config_secret_regenerate
from lib.ids import new_signing_secret
from lib.signing import redact_headers, sign


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


@pytest.fixture
def rotated(product):
    """alice's config right after a rotation: (config, old secret, new secret)."""
    config = product.webhook_config
    old = config.signing_secret
    webhook_config_secret_regenerate(config=config)
    config.refresh_from_db()
    return config, old, config.signing_secret


def test_new_secret_is_32_random_bytes_behind_the_prefix():
    secret = new_signing_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_signing_secret() != secret


def test_before_rotation_one_signature_verifies_with_the_stored_secret(product):
    config = product.webhook_config
    payload = b"order_id=ord_1"

    headers = _headers(payload, config.active_secrets())

    assert len(headers["webhook-signature"].split(" ")) == 1
    Webhook(config.signing_secret).verify(payload, headers, json_parse=False)


def test_during_rotation_the_stored_secrets_each_verify_alone(rotated):
    config, old, new = rotated
    payload = b"order_id=ord_1"

    headers = _headers(payload, config.active_secrets())

    Webhook(new).verify(payload, headers, json_parse=False)
    Webhook(old).verify(payload, headers, json_parse=False)


def test_after_the_grace_period_the_old_secret_no_longer_verifies(rotated):
    config, old, new = rotated
    payload = b"order_id=ord_1"
    after_grace = timezone.now() + timedelta(hours=24, minutes=1)

    headers = _headers(payload, config.active_secrets(now=after_grace))

    Webhook(new).verify(payload, headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
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
