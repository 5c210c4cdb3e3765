"""Input forms: the public checkout form and the orders API's field rules."""

from __future__ import annotations

from typing import cast

from django import forms
from django.core.validators import RegexValidator

from orders.models import MAX_QUANTITY, FulfillmentStatus
from products.models import Product

QUANTITY_MESSAGE = f"Enter a quantity from 1 to {MAX_QUANTITY}."


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

    # What each field must be in the JSON document, before form cleaning.
    JSON_TYPES: dict[str, type] = {
        "product": str,
        "quantity": int,
        "customer_email": str,
        "customer_name": str,
        "transaction_id": str,
        "checkout_hash": str,
    }
