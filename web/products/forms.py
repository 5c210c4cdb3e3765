from __future__ import annotations

from typing import Any

from django import forms

from products.models import FulfillmentMethod, Product

from .services import EDITABLE_FIELDS, product_slug_from_name


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = EDITABLE_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "fulfillment_method": forms.RadioSelect,
        }
        error_messages = {
            "slug": {"unique": "Another product already uses this address."}
        }
        help_texts = {
            "slug": "The product page's address: /p/your-slug/. "
            "Leave blank to make one from the name.",
            "description": "Shown on the product page.",
            "fulfillment_method": "Webhook: after each order we send an HTTP "
            "request to your server and email its answer to the customer.",
            "send_order_emails": "Order emails can be disabled: when off, the "
            "customer still sees everything on their order page.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        # A slug given is checked by the model's unique constraint (the message
        # is Meta.error_messages'); an empty one is made from the name.
        if not cleaned.get("slug") and cleaned.get("name"):
            cleaned["slug"] = product_slug_from_name(
                name=cleaned["name"], exclude_pk=self.instance.pk
            )
        self._check_live_product_stays_fulfillable(cleaned)
        return cleaned

    def _check_live_product_stays_fulfillable(self, cleaned: dict) -> None:
        # The release checklist gates going live; a live product's edits must not
        # leave its next orders with nowhere to go.
        product = self.instance
        wants_webhook = cleaned.get("fulfillment_method") == FulfillmentMethod.WEBHOOK
        config = getattr(product, "webhook_config", None) if product.pk else None
        if (
            product.pk
            and product.is_live
            and wants_webhook
            and not (config and config.url)
        ):
            self.add_error(
                "fulfillment_method",
                "This product is live: set its Webhook URL in the Webhook Editor "
                "before switching to Webhook, or unpublish it first.",
            )
