"""Input forms: the public checkout form and the orders API's field rules."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django import forms
from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from django.http import QueryDict

from orders.aftersale import OrderState
from orders.inputs import text_problem
from orders.models import (
    MAX_QUANTITY,
    PASSTHROUGH_MAX_LENGTH,
    DisputeStatus,
)
from products.models import Product
from web.orders.selectors import SERVED_FROM_LIST

QUANTITY_MESSAGE = f"Enter a quantity from 1 to {MAX_QUANTITY}."
PASSTHROUGH_REPEATED_MESSAGE = "Must be given once, not repeated."


def passthrough_problem(value: str) -> str | None:
    """Why `value` cannot be an order's passthrough, or None when it can.

    It comes from a URL anyone can edit and goes into the seller's request, their
    pages and admin: at most PASSTHROUGH_MAX_LENGTH characters, and no NUL, lone
    surrogate or control character (tabs and line breaks included). Refused, not
    cleaned: the seller gets exactly what their link carried, or nothing.
    """
    if len(value) > PASSTHROUGH_MAX_LENGTH:
        return (
            f"Must be at most {PASSTHROUGH_MAX_LENGTH:,} characters "
            f"(it has {len(value):,})."
        )
    return text_problem(value)


def _validate_passthrough(value: str) -> None:
    problem = passthrough_problem(value)
    if problem:
        raise forms.ValidationError(problem, code="invalid")


class PassthroughField(forms.CharField):
    """The seller's opaque data: optional, and kept exactly as given (no strip)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            required=False, strip=False, validators=[_validate_passthrough], **kwargs
        )
        # passthrough_problem names NUL itself: one message, not Django's too.
        self.validators = [
            v
            for v in self.validators
            if not isinstance(v, ProhibitNullCharactersValidator)
        ]


class CheckoutLinkForm(forms.Form):
    """The product page's query string: what the seller's link carries."""

    passthrough = PassthroughField()

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        # `?passthrough=a&passthrough=b`: guessing which one the seller meant
        # could tie the purchase to the wrong account.
        data = self.data
        if isinstance(data, QueryDict) and len(data.getlist("passthrough")) > 1:
            self.add_error("passthrough", PASSTHROUGH_REPEATED_MESSAGE)
        return cleaned


class CheckoutForm(forms.Form):
    customer_email = forms.EmailField(
        label="Email",
        max_length=254,
        help_text="We send your license here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    customer_name = forms.CharField(
        label="Name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    quantity = forms.IntegerField(
        label="Quantity",
        min_value=1,
        max_value=MAX_QUANTITY,
        initial=1,
        error_messages={
            "min_value": QUANTITY_MESSAGE,
            "max_value": QUANTITY_MESSAGE,
        },
    )

    # The signed, one-per-page token that makes a double-click one order. Checked
    # by the service (`checkout_submit`), which turns a bad one into a form error.
    checkout_token = forms.CharField(
        widget=forms.HiddenInput, required=False, max_length=500
    )
    # The product page's `?passthrough=`, carried to the order. Not signed: it
    # came from a URL the buyer could edit anyway. The page shows its errors as
    # an invalid link, not next to a field the buyer cannot see.
    passthrough = PassthroughField(widget=forms.HiddenInput)

    def __init__(self, *args, collect_name: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The seller decides whether we ask for a name; if not, we never collect it.
        if not collect_name:
            del self.fields["customer_name"]


class SellerOrderFilterForm(forms.Form):
    """The seller's order list filters; only their own products can be chosen."""

    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), required=False, empty_label="All products"
    )
    # The order's state after the sale (orders.aftersale.order_state): the
    # fulfillment statuses, then refunded, disputed, charged back, cancelled.
    # Named `status` as before, so that saved links keep working.
    status = forms.ChoiceField(
        label="State",
        choices=[
            ("", "Any state"),
            *OrderState.choices,
            (SERVED_FROM_LIST, "Served from your key list"),
        ],
        required=False,
    )

    def __init__(self, *args, seller, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        products = Product.objects.filter(seller=seller).order_by("name")
        cast(forms.ModelChoiceField, self.fields["product"]).queryset = products


class OrderEmailResendForm(forms.Form):
    """The seller's "Resend the order email", maybe to a corrected address."""

    email = forms.EmailField(
        label="Corrected email address (optional)",
        max_length=254,
        required=False,
        help_text="Leave empty to send to the address on the order. A corrected "
        "address replaces it, so later emails go there too.",
    )


class ApiOrderForm(forms.Form):
    """Field rules of `POST /api/v1/orders`; JSON types are checked before this."""

    product = forms.CharField(max_length=80)
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={
            "min_value": QUANTITY_MESSAGE,
            "max_value": QUANTITY_MESSAGE,
        },
    )
    customer_email = forms.EmailField(max_length=254)
    customer_name = forms.CharField(max_length=200, required=False)
    transaction_id = forms.CharField(min_length=1, max_length=200)
    checkout_hash = forms.CharField(
        max_length=64,
        required=False,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_-]+$",
                "Use only letters, digits, hyphens and underscores.",
            )
        ],
    )

    passthrough = forms.CharField(
        max_length=PASSTHROUGH_MAX_LENGTH, required=False, strip=False
    )

    # What each field must be in the JSON document, before form cleaning.
    JSON_TYPES: dict[str, type] = {
        "product": str,
        "quantity": int,
        "customer_email": str,
        "customer_name": str,
        "transaction_id": str,
        "checkout_hash": str,
        "passthrough": str,
    }


# --- After the sale -------------------------------------------------------------

# An amount of money in the order's currency, as text: digits, at most two
# decimals ("12.50", "3"). Text, not a JSON number, so that no float ever holds
# money on the way in.
AMOUNT_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
AMOUNT_MESSAGE = 'Enter an amount like "12.50": digits, at most two decimals.'
REASON_MAX_LENGTH = 500


def _amount_field(**kwargs) -> forms.CharField:
    return forms.CharField(
        max_length=13,
        validators=[RegexValidator(AMOUNT_PATTERN, AMOUNT_MESSAGE)],
        **kwargs,
    )


def _amount_clean(value: str) -> Decimal:
    amount = Decimal(value).quantize(Decimal("0.01"))
    if amount <= 0:
        raise forms.ValidationError("Enter an amount greater than 0.")
    return amount


class ApiRefundForm(forms.Form):
    """Field rules of `POST /api/v1/orders/<transaction_id>/refunds`."""

    event_id = forms.CharField(min_length=1, max_length=200)
    amount = _amount_field()
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, required=False)
    # Optional: when given, it must be the order's, so that an amount in
    # another currency is never taken for one in the order's.
    currency = forms.CharField(min_length=3, max_length=3, required=False)

    JSON_TYPES: dict[str, type] = {
        "event_id": str,
        "amount": str,
        "reason": str,
        "currency": str,
    }
    # A JSON number is refused with the form the amount must take instead.
    JSON_HINTS = {"amount": f"Must be a string. {AMOUNT_MESSAGE}"}

    def clean_amount(self) -> Decimal:
        return _amount_clean(self.cleaned_data["amount"])


class ApiDisputeForm(ApiRefundForm):
    """Field rules of `POST /api/v1/orders/<transaction_id>/disputes`."""

    status = forms.ChoiceField(
        choices=[(s, s) for s in DisputeStatus.values if s],
        error_messages={"invalid_choice": "Must be one of opened, won, lost."},
    )

    JSON_TYPES: dict[str, type] = {**ApiRefundForm.JSON_TYPES, "status": str}


class SellerRefundForm(forms.Form):
    """The seller's (and staff's) refund: an amount, by default all that is
    left, and a reason for the record. `nonce` makes the confirmed form one
    refund however often it is posted."""

    amount = _amount_field(
        label="Amount to refund",
        help_text="Paid back through the payment provider; at most what is "
        "left of the order.",
    )
    reason = forms.CharField(
        label="Reason (optional)",
        max_length=REASON_MAX_LENGTH,
        required=False,
        help_text="For your records; the customer is not shown it.",
    )
    nonce = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean_amount(self) -> Decimal:
        return _amount_clean(self.cleaned_data["amount"])

    def clean_reason(self) -> str:
        return _reason_clean(self.cleaned_data["reason"])


class SellerCancelForm(forms.Form):
    """The seller's (and staff's) cancellation of an order not delivered yet."""

    reason = forms.CharField(
        label="Reason (optional)",
        max_length=REASON_MAX_LENGTH,
        required=False,
        help_text="For your records; the customer is not shown it.",
    )

    def clean_reason(self) -> str:
        return _reason_clean(self.cleaned_data["reason"])


def _reason_clean(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise forms.ValidationError(problem)
    return value
