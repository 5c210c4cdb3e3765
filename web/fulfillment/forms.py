"""The Webhook Editor's forms: the config and its custom-field rows."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory

from fulfillment.models import (
    CustomField,
    CustomFieldKind,
    DeliveryStatus,
    WebhookConfig,
)
from fulfillment.services.config import (
    CONFIG_FIELDS,
    CustomFieldRow,
    check_url_from_settings,
    is_reserved_name,
    yielded_field,
)
from keylists.models import FALLBACK_MAX_MINUTES, FALLBACK_MIN_MINUTES
from lib.urlpolicy import UrlRefused

# Extra blank rows on the page; the "Add rows" button adds this many more without JS.
EXTRA_ROWS = 2
MAX_CUSTOM_FIELDS = 50
# The kinds that send the row's typed value. The editor's script shows the value
# input only for them (static/js/editor.js reads `data-value-kinds`); without
# JavaScript every row shows it and `CustomFieldForm.clean` drops it for others.
VALUE_KINDS = (CustomFieldKind.STATIC,)


class WebhookConfigForm(forms.ModelForm):
    def values(self) -> dict[str, Any]:
        """The valid form's values, as `webhook_config_save` takes them."""
        return {name: self.cleaned_data[name] for name in CONFIG_FIELDS}

    url = forms.URLField(
        label="Webhook URL",
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="The URL that we will send the HTTP request to (http or https).",
    )

    class Meta:
        model = WebhookConfig
        fields = CONFIG_FIELDS
        labels = {"body_format": "Body format (POST only)"}
        widgets = {
            "method": forms.RadioSelect,
            "body_format": forms.RadioSelect,
            "response_format": forms.Select,
            "instructions": forms.Textarea(attrs={"rows": 12}),
        }
        help_texts = {
            "method": "The HTTP request method. GET sends the fields as query "
            "parameters; POST sends them in the request body.",
            "body_format": "How a POST body is encoded. Ignored for GET.",
            "instructions": "Some text that will be sent along with the response "
            "from your webhook to the customer, such as activation instructions. "
            "Markdown allowed; HTML is not.",
            "separate_multibuy": "On: one request per unit bought (quantity 1, "
            "item i of N). Off: one request carrying the quantity.",
            "response_format": "How we read your server's answer. A list holds "
            "one license per unit of the request's quantity.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A post without it (a script written before the option existed) keeps
        # the saved format rather than failing: the page always sends one.
        self.fields["response_format"].required = False

    def clean_response_format(self) -> str:
        return self.cleaned_data["response_format"] or self.instance.response_format

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        product = self.instance.product
        if not url and product.is_live and product.uses_webhook:
            raise forms.ValidationError(
                "This product is live and its orders need this URL. Unpublish it "
                "on the Release Checklist before removing the URL."
            )
        return seller_url_checked(url)


def seller_url_checked(url: str) -> str:
    """A seller's URL we will call (a Webhook or Alerts URL), checked as at every
    send, lookup included, so the seller learns now (not from a failed request)
    that the host is private or unknown; ValidationError with the reason. The
    transport checks again at every send: DNS can change."""
    if not url:
        return url
    try:
        check_url_from_settings(url)
    except UrlRefused as exc:
        raise forms.ValidationError(exc.reason) from exc
    return url


WHOLE_MINUTES = (
    f"Enter whole minutes, from {FALLBACK_MIN_MINUTES} to {FALLBACK_MAX_MINUTES} "
    "(a week)."
)


class KeyListFallbackForm(forms.Form):
    """The Webhook Editor's "Fallback: your key list" (saved by
    keylists.services.key_list_fallback_save)."""

    enabled = forms.BooleanField(
        label="If my server has not answered successfully after N minutes, send a "
        "key from my list instead",
        required=False,
    )
    minutes = forms.IntegerField(
        label="N: minutes to wait for my server",
        min_value=FALLBACK_MIN_MINUTES,
        max_value=FALLBACK_MAX_MINUTES,
        initial=10,
        error_messages=dict.fromkeys(
            ("required", "invalid", "min_value", "max_value"), WHOLE_MINUTES
        ),
        help_text=f"From {FALLBACK_MIN_MINUTES} to {FALLBACK_MAX_MINUTES} (a week), "
        "counted from the order. Orders already waiting longer get their key at "
        "once.",
    )


class CustomFieldForm(forms.ModelForm):
    class Meta:
        model = CustomField
        fields = ("kind", "name", "value")
        labels = {"kind": "Send", "value": "Static value"}
        help_texts = {"value": "Only for a static value or message."}
        widgets = {
            "kind": forms.Select(attrs={"data-value-kinds": " ".join(VALUE_KINDS)}),
        }

    def __init__(self, *args, product=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.product = product

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if is_reserved_name(name) and not self._kept_from_before(name):
            raise forms.ValidationError(
                f"“{name}” is a standard field we always send; choose another name."
            )
        return name

    def _kept_from_before(self, name: str) -> bool:
        """A saved row named like a field that became standard later keeps its
        name (the seller's server reads it; see payload.YIELDING_FIELDS). A new
        row, or a row renamed to it, is refused like any standard name."""
        saved = self.instance.name if self.instance.pk else ""
        return bool(yielded_field(name)) and saved.strip().lower() == name.lower()

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        kind = cleaned.get("kind")
        if kind in VALUE_KINDS:
            if not cleaned.get("value", "").strip():
                self.add_error("value", "A static field needs a value.")
        else:
            # Only static fields carry a value; a leftover one would only confuse.
            cleaned["value"] = ""
        if (
            kind == CustomFieldKind.CUSTOMER_NAME
            and self.product is not None
            and not self.product.collect_customer_name
        ):
            self.add_error(
                "kind",
                "This product does not ask for the customer's name at checkout. "
                "Turn that on in the product settings first.",
            )
        return cleaned

    def validate_unique(self) -> None:
        # The formset checks names against each other, ignoring case; the stored
        # rows are replaced as a whole, so comparing with them would be wrong.
        pass


class BaseCustomFieldFormSet(BaseInlineFormSet):
    def rows(self) -> list[CustomFieldRow]:
        """The valid formset's rows in page order, without deleted and untouched
        blank ones, as `webhook_config_save` takes them."""
        rows = []
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            rows.append(
                CustomFieldRow(
                    data["kind"], data["name"].strip(), data.get("value", "")
                )
            )
        return rows

    def clean(self) -> None:
        seen: set[str] = set()
        for form in self.forms:
            name = (getattr(form, "cleaned_data", {}) or {}).get("name")
            if not name or form.cleaned_data.get("DELETE"):
                continue
            key = name.lower()
            if key in seen:
                form.add_error("name", f"Another row already sends “{name}”.")
            seen.add(key)

    def validate_unique(self) -> None:
        pass


CustomFieldFormSet = cast(
    type[BaseCustomFieldFormSet],
    inlineformset_factory(
        WebhookConfig,
        CustomField,
        form=CustomFieldForm,
        formset=BaseCustomFieldFormSet,
        extra=EXTRA_ROWS,
        max_num=MAX_CUSTOM_FIELDS,
        validate_max=True,
        can_delete=True,
    ),
)


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *DeliveryStatus.choices], required=False
    )
    created_from = forms.DateField(
        label="Created from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_to = forms.DateField(
        label="Created to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", "Choose a date on or after “Created from”.")
        return cleaned


class DeliveryFulfillForm(forms.Form):
    # CharField strips whitespace, so a blank answer is "required" too.
    license_text = forms.CharField(
        label="License text (Markdown allowed)",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Exactly what the customer gets as their license, in their email "
        "and on their order page.",
    )
    # Offered for a delivery that carries a quantity (Separate Multibuy off).
    one_per_line = forms.BooleanField(
        label="One license per line",
        required=False,
        help_text="Each line is one license, shown as “License i of N”: type as "
        "many lines as the quantity. Blank lines are ignored.",
    )
