"""Input forms: the public checkout form and the orders API's field rules."""

from __future__ import annotations

from typing import cast

from django import forms
from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from django.http import QueryDict

from orders.inputs import text_problem
from orders.models import MAX_QUANTITY, PASSTHROUGH_MAX_LENGTH, FulfillmentStatus
from products.models import Product

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
    status = forms.ChoiceField(
        label="Fulfillment status",
        choices=[("", "Any status"), *FulfillmentStatus.choices],
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
