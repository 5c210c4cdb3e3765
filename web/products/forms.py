from __future__ import annotations

from typing import Any

from django import forms

from keylists.selectors import key_list_free_count
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
            "request to your server and email its answer to the customer. "
            "License key list: each unit sold takes one key from a list you "
            "upload. Manual: you deliver it yourself.",
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
        method = cleaned.get("fulfillment_method")
        if self._switches_live_product_to_an_empty_list(method):
            self.add_error(
                "fulfillment_method",
                "This product is live: add keys on its Key list page before "
                "switching to a license key list, or unpublish it first.",
            )
        wants_webhook = method == FulfillmentMethod.WEBHOOK
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

    def _switches_live_product_to_an_empty_list(self, method: str | None) -> bool:
        # Before _post_clean, the instance still holds the saved method.
        product = self.instance
        return bool(
            product.pk
            and product.is_live
            and method == FulfillmentMethod.KEY_LIST
            and not product.uses_key_list
            and not key_list_free_count(product_id=product.pk)
        )
