from __future__ import annotations

from django import forms

from .models import FulfillmentMethod, Product
from .services import (
    EDITABLE_FIELDS,
    product_slug_available,
    product_slug_from_name,
)


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = EDITABLE_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "fulfillment_method": forms.RadioSelect,
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

    def clean(self) -> dict:
        cleaned = super().clean()
        slug = cleaned.get("slug")
        exclude_pk = self.instance.pk
        if slug:
            if not product_slug_available(slug=slug, exclude_pk=exclude_pk):
                self.add_error("slug", "Another product already uses this address.")
        elif cleaned.get("name"):
            cleaned["slug"] = product_slug_from_name(
                name=cleaned["name"], exclude_pk=exclude_pk
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

    def validate_unique(self) -> None:
        # clean() reports a slug clash with a clearer message than the default one.
        exclude = self._get_validation_exclusions()
        exclude.add("slug")
        try:
            self.instance.validate_unique(exclude=exclude)
        except forms.ValidationError as exc:
            self._update_errors(exc)
