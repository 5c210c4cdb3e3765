"""State changes of the orders app that need no other app: API tokens."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from orders.models import ApiScope, ApiToken
from orders.tokens import token_generate

# --- API tokens -----------------------------------------------------------------


def api_token_create(
    *, name: str, scopes: Iterable[str] | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns it with the raw secret, which is never stored.

    `scopes` defaults to every ApiScope. An unknown or empty set is refused: a
    token that can do nothing, or something the API does not know, is a mistake.
    """
    chosen = list(ApiScope.values) if scopes is None else sorted(set(scopes))
    unknown = set(chosen) - set(ApiScope.values)
    if not chosen or unknown:
        raise ValueError(f"API token scopes must be among {ApiScope.values}.")
    new = token_generate()
    token = ApiToken.objects.create(
        name=name,
        prefix=new.prefix,
        token_hash=new.token_hash,
        scopes=",".join(chosen),
    )
    return token, new.raw


# "Last used" is kept to this precision: a busy token is not written per request.
API_TOKEN_TOUCH_SECONDS = 60


def api_token_touch(*, token: ApiToken) -> None:
    now = timezone.now()
    last = token.last_used_at
    if last is not None and (now - last).total_seconds() < API_TOKEN_TOUCH_SECONDS:
        return
    # An UPDATE rather than save(): concurrent requests with the same token must
    # not overwrite each other's other fields (e.g. a revocation by staff).
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
