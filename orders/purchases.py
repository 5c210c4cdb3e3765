"""A customer's own purchases, found by email address ("Find my purchase").

The link we email is a value signed with Django's `signing` (SECRET_KEY, and
SECRET_KEY_FALLBACKS during a rotation) over the normalised address and the
time it was made: whoever holds it may list that address's orders until it is
`PURCHASES_LINK_MAX_AGE` seconds old. Nothing is stored; docs/decisions.md says
why that is enough here and what it costs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet

from .models import Order

# A salt of its own: no other signed value of the project opens a purchase list,
# and a purchase link signs nothing else.
PURCHASES_LINK_SALT = "orders.purchases.link"


class LinkState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    email: str = ""  # the normalised address, when VALID


def customer_email_normalise(email: str) -> str:
    """One spelling per address: orders keep the address as typed
    ("Buyer@Example.com"), and a customer rarely types it the same way twice.
    Local parts are case-sensitive on paper only; every mail host we know of
    ignores case."""
    return email.strip().lower()


def purchases_link_token(*, email: str) -> str:
    return signing.dumps(customer_email_normalise(email), salt=PURCHASES_LINK_SALT)


def purchases_link_check(*, token: str) -> LinkCheck:
    """Whether `token` is a link we made, not yet expired, and for which address."""
    try:
        email = signing.loads(
            token, salt=PURCHASES_LINK_SALT, max_age=settings.PURCHASES_LINK_MAX_AGE
        )
    except signing.SignatureExpired:
        return LinkCheck(state=LinkState.EXPIRED)
    except signing.BadSignature:
        return LinkCheck(state=LinkState.INVALID)
    if not isinstance(email, str) or not email:
        return LinkCheck(state=LinkState.INVALID)
    return LinkCheck(state=LinkState.VALID, email=email)


def customer_orders(*, email: str) -> QuerySet[Order]:
    """Every order of `email`, whatever its case, from every seller, newest
    first. (`customer_email` is compared upper-cased: the index on
    Upper("customer_email") serves it on PostgreSQL.)"""
    return (
        Order.objects.filter(customer_email__iexact=customer_email_normalise(email))
        .select_related("product")
        .order_by("-completed_at", "-pk")
    )
