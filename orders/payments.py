"""Payment providers behind one small interface.

Only the test provider exists today. A real provider implements `PaymentProvider`,
is added to `PROVIDERS` and is chosen with the `PAYMENT_PROVIDER` setting; nothing
else in the checkout has to change.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from orders.models import Checkout


@dataclass(frozen=True)
class PaymentResult:
    # The provider's reference; it becomes the Order's unique transaction_id.
    transaction_id: str


class PaymentDeclined(Exception):
    """The provider refused the payment; the message is safe to show the buyer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PaymentProvider(Protocol):
    name: str
    # Shown to buyers on the product page, next to the pay button.
    label: str
    # True when no money moves: its orders are marked as test orders, and it is
    # refused in production unless ALLOW_TEST_PAYMENTS says this is staging.
    is_test: bool

    def charge(self, *, checkout: Checkout) -> PaymentResult: ...


class TestPaymentProvider:
    """Accepts every checkout without moving money (development, demos, tests)."""

    __test__ = False  # Not a pytest test class despite its name.

    name = "test"
    label = "Test payment — no money moves"
    is_test = True

    def charge(self, *, checkout: Checkout) -> PaymentResult:
        return PaymentResult(transaction_id=f"test_{secrets.token_hex(12)}")


PROVIDERS: dict[str, type[PaymentProvider]] = {
    TestPaymentProvider.name: TestPaymentProvider,
}


TEST_PROVIDER_IN_PRODUCTION = (
    "PAYMENT_PROVIDER=test takes no money; set a real provider, or "
    "ALLOW_TEST_PAYMENTS=true for a staging site."
)


def get_provider() -> PaymentProvider:
    """The provider named by `settings.PAYMENT_PROVIDER`; unknown names fail loudly.

    A production site with a provider that takes no money would give licenses
    away for free, so that fails loudly too, unless the site says it is staging.
    """
    name = settings.PAYMENT_PROVIDER
    try:
        provider = PROVIDERS[name]()
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ImproperlyConfigured(
            f"PAYMENT_PROVIDER={name!r} is not a known payment provider ({known})."
        ) from None
    allow_test = getattr(settings, "ALLOW_TEST_PAYMENTS", False)
    if provider.is_test and settings.PRODUCTION and not allow_test:
        raise ImproperlyConfigured(TEST_PROVIDER_IN_PRODUCTION)
    return provider
