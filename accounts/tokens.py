"""The token in a sign-up confirmation link.

Django's `PasswordResetTokenGenerator` rather than `django.core.signing` with a
`max_age`: it is the generator Django's own password reset relies on, kept and
reviewed with Django. Its HMAC covers the account's state (password hash, last
login, email), so a token dies as soon as that state changes, which makes the
link single-use without a table of issued tokens; it expires after
`PASSWORD_RESET_TIMEOUT` (3 days), accepts tokens signed with
`SECRET_KEY_FALLBACKS` during a key rotation and compares in constant time. A
signed value with a `max_age` would stay valid, and reusable, until it expires.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils import timezone
from django.utils.timesince import timesince


class SignupConfirmationTokenGenerator(PasswordResetTokenGenerator):
    # A salt of its own: a confirmation token is no password reset token, and a
    # password reset token confirms no account.
    key_salt = "accounts.tokens.SignupConfirmationTokenGenerator"

    def _make_hash_value(self, user, timestamp: int) -> str:
        # Activation changes the state the token is made of, so a link that was
        # used once is refused even before the login that follows it.
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


signup_confirmation_token = SignupConfirmationTokenGenerator()


def confirmation_link_lifetime() -> str:
    """How long a confirmation link works, in words ("3 days")."""
    now = timezone.now()
    return timesince(now - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT), now)
