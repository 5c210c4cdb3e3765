"""API token secrets: generated once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

TOKEN_PREFIX = "fk_"  # noqa: S105 - a public marker, not a secret
# How much of the token is kept in clear, to recognise it in lists.
VISIBLE_CHARS = len(TOKEN_PREFIX) + 8


@dataclass(frozen=True)
class NewToken:
    raw: str  # Shown to staff exactly once, never stored.
    prefix: str
    token_hash: str


def token_hash(raw: str) -> str:
    # A plain SHA-256 is enough: the token has 256 random bits, so there is
    # nothing for a slow password hash to protect against.
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_generate() -> NewToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return NewToken(raw=raw, prefix=raw[:VISIBLE_CHARS], token_hash=token_hash(raw))
