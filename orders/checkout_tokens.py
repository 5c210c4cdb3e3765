"""The signed token the public checkout form carries, one per page view.

It holds a random nonce that becomes the checkout's identity, so posting the same
form twice (a double-click, a browser retry) completes one checkout, not two. It
is signed so a buyer cannot forge or copy one onto another product, and it
expires so an old page cannot be replayed forever.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.core import signing

SALT = "orders.checkout-token"
# Long enough for a buyer who leaves the page open while they decide.
MAX_AGE = timedelta(days=1)
_NONCE = re.compile(r"^[0-9a-f]{32}$")


class CheckoutTokenInvalid(Exception):
    """Missing, tampered with, expired or issued for another product."""


def checkout_token_issue(*, product_pk: int) -> str:
    return signing.dumps({"p": product_pk, "n": secrets.token_hex(16)}, salt=SALT)


def checkout_token_nonce(*, token: str, product_pk: int) -> str:
    """The nonce inside a token this site issued for this product."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:  # Also SignatureExpired, its subclass.
        raise CheckoutTokenInvalid from None
    if not isinstance(data, dict) or data.get("p") != product_pk:
        raise CheckoutTokenInvalid
    nonce = data.get("n")
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise CheckoutTokenInvalid
    return nonce
