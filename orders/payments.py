"""Payment providers behind one small interface.

Only the test provider exists today. A real provider implements `PaymentProvider`,
is added to `PROVIDERS` and is chosen with the `PAYMENT_PROVIDER` setting; nothing
else in the checkout has to change. A refund made from the dashboard or admin
goes back through the provider that took the money (`refund_provider_for`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from orders.models import Checkout


@dataclass(frozen=True)
class PaymentResult:
    # The provider's reference; it becomes the Order's unique transaction_id.
    transaction_id: str


@dataclass(frozen=True)
class RefundResult:
    # The provider's reference of the refund it made.
    refund_id: str


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

    def refund(
        self, *, transaction_id: str, amount: Decimal, currency: str
    ) -> RefundResult:
        """Give `amount` of the payment back; PaymentDeclined if the provider
        refuses (its message is shown to the seller)."""
        ...


class TestPaymentProvider:
    """Accepts every checkout without moving money (development, demos, tests)."""

    __test__ = False  # Not a pytest test class despite its name.

    name = "test"
    label = "Test payment — no money moves"
    is_test = True

    def charge(self, *, checkout: Checkout) -> PaymentResult:
        return PaymentResult(transaction_id=f"test_{secrets.token_hex(12)}")

    def refund(
        self, *, transaction_id: str, amount: Decimal, currency: str
    ) -> RefundResult:
        return RefundResult(refund_id=f"test_refund_{secrets.token_hex(12)}")


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


def refund_provider_for(*, is_test: bool) -> PaymentProvider:
    """The provider that took a checkout order's money, to give it back.

    A test order was paid with the test provider, so it is refunded there (no
    money moves) even on a site that has a real provider now, or runs in
    production: refunding a test order is always allowed.
    """
    if is_test:
        return TestPaymentProvider()
    return get_provider()
