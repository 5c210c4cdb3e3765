from __future__ import annotations

from django import forms

from .models import Product
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
        return cleaned

    def validate_unique(self) -> None:
        # clean() reports a slug clash with a clearer message than the default one.
        exclude = self._get_validation_exclusions()
        exclude.add("slug")
        try:
            self.instance.validate_unique(exclude=exclude)
        except forms.ValidationError as exc:
            self._update_errors(exc)
