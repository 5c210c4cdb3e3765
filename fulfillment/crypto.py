"""Encryption at rest for signing secrets.

A database dump alone must not let anyone forge our webhooks, so secrets are
stored as Fernet tokens (AES-128-CBC + HMAC-SHA256) under a key that lives in the
environment, never in the database. The model field decrypts on load, so the rest
of the code reads `config.signing_secret` in clear.

Key rotation: `SECRET_ENCRYPTION_KEYS` is a list. The first key encrypts, every
key decrypts (MultiFernet). To rotate, put a new key first, re-save every config
(`webhook_config_secrets_reencrypt`), then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

# Plaintext Standard Webhooks secrets start with this; Fernet tokens never do
# (they start with "gAAAAA"), which is how the data migration tells them apart.
PLAINTEXT_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
_DERIVATION_LABEL = b"lib.signing-secrets.v1:"


class SecretDecryptionError(ImproperlyConfigured):
    """A stored secret does not decrypt with any configured key."""


def _derived_key(secret_key: str) -> bytes:
    # Development and tests only: without SECRET_ENCRYPTION_KEYS we derive a key
    # from SECRET_KEY so that `make run` and the test suite work with no setup.
    # Production must set SECRET_ENCRYPTION_KEYS (settings make it mandatory when
    # PRODUCTION is on): SECRET_KEY rotates for other reasons, and a derived key
    # ties the secrets' confidentiality to a value many tools read.
    digest = hashlib.sha256(_DERIVATION_LABEL + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(_derived_key(secret_key))])
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            # Name the position, never the value: the key is a credential.
            raise ImproperlyConfigured(
                f"SECRET_ENCRYPTION_KEYS entry {position} is not a Fernet key; "
                "generate one with `python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'`."
            ) from None
    return MultiFernet(fernets)


def _current() -> MultiFernet:
    keys = getattr(settings, "SECRET_ENCRYPTION_KEYS", None) or ()
    return _fernet(tuple(keys), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    """A Fernet token for `plaintext`, under the first configured key."""
    return _current().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a token made by any configured key."""
    try:
        return _current().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        # The token itself stays out of the message: it is still sensitive.
        raise SecretDecryptionError(
            "A stored signing secret does not decrypt with SECRET_ENCRYPTION_KEYS: "
            "is a key missing from the list, or was the database restored from "
            "another environment?"
        ) from None


def is_plaintext(value: str) -> bool:
    return value.startswith(PLAINTEXT_PREFIX)


class EncryptedTextField(models.TextField):
    """A text column holding Fernet tokens; Python code sees the plaintext.

    Encryption is randomised, so the column cannot be filtered or indexed on.
    The empty string stays empty (an unset previous secret), so blank checks
    work without decrypting anything.
    """

    description = "Text encrypted at rest with SECRET_ENCRYPTION_KEYS"

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
