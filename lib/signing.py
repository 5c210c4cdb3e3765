"""Standard Webhooks signing: bytes and secrets in, headers out.

Pure on purpose (no Django): sellers verify with the official libraries in any
language, so this module must match https://www.standardwebhooks.com exactly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
SIGNATURE_HEADER = "webhook-signature"
REDACTED_SIGNATURE = "v1,<redacted>"
# Headers whose values are credentials; attempt records keep only a placeholder.
_REDACTED_HEADERS = {
    SIGNATURE_HEADER: REDACTED_SIGNATURE,
    "authorization": "<redacted>",
}


def _secret_key(secret: str) -> bytes:
    # The key is the base64 part after the prefix, exactly as the official
    # libraries decode it; a secret without the prefix is a programming error.
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("Signing secrets must start with 'whsec_'.")
    return base64.b64decode(secret[len(SECRET_PREFIX) :])


def signature(*, msg_id: str, timestamp: int, payload: bytes, secret: str) -> str:
    """One `v1,<base64>` signature over `{msg_id}.{timestamp}.{payload}`."""
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign(
    *, msg_id: str, timestamp: int, payload: bytes, secrets: list[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers.

    During a secret rotation every active secret signs, space-separated, so the
    seller's server verifies whichever secret it currently holds.
    """
    if not secrets:
        raise ValueError("At least one signing secret is needed.")
    signatures = " ".join(
        signature(msg_id=msg_id, timestamp=timestamp, payload=payload, secret=s)
        for s in secrets
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        SIGNATURE_HEADER: signatures,
    }


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """A copy safe to store: signatures and credentials replaced by placeholders.

    A stored signature is useless to us and would let anyone who reads the
    attempt log replay the request within the timestamp tolerance.
    """
    return {
        name: _REDACTED_HEADERS.get(name.lower(), value)
        for name, value in headers.items()
    }
