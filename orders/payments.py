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

    def charge(self, *, checkout: Checkout) -> PaymentResult: ...


class TestPaymentProvider:
    """Accepts every checkout without moving money (development, demos, tests)."""

    __test__ = False  # Not a pytest test class despite its name.

    name = "test"
    label = "Test payment — no money moves"

    def charge(self, *, checkout: Checkout) -> PaymentResult:
        return PaymentResult(transaction_id=f"test_{secrets.token_hex(12)}")


PROVIDERS: dict[str, type[PaymentProvider]] = {
    TestPaymentProvider.name: TestPaymentProvider,
}


def get_provider() -> PaymentProvider:
    """The provider named by `settings.PAYMENT_PROVIDER`; unknown names fail loudly."""
    name = settings.PAYMENT_PROVIDER
    try:
        return PROVIDERS[name]()
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ImproperlyConfigured(
            f"PAYMENT_PROVIDER={name!r} is not a known payment provider ({known})."
        ) from None
