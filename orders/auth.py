"""The orders API's one token check."""

from __future__ import annotations

import hmac

from django.http import HttpRequest

from orders.models import ApiToken
from orders.services import api_token_touch
from orders.tokens import token_hash


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def api_token_authenticate(request: HttpRequest) -> ApiToken | None:
    """The unrevoked ApiToken the request presents as a Bearer token, or None."""
    presented = _bearer(request)
    if presented is None:
        return None
    presented_hash = token_hash(presented)
    token = ApiToken.objects.filter(token_hash=presented_hash, revoked=False).first()
    # The lookup is by hash, so timing reveals nothing about the token itself; the
    # constant-time compare keeps it that way whatever the database does.
    if token is None or not hmac.compare_digest(token.token_hash, presented_hash):
        return None
    api_token_touch(token=token)
    return token
