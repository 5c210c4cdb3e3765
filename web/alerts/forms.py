"""The Alerts page's form: the Alerts URL and the events it receives."""

from __future__ import annotations

from django import forms

from fulfillment.services.alerts import ALERT_EVENTS
from web.fulfillment.forms import seller_url_checked


class AlertEndpointForm(forms.Form):
    url = forms.URLField(
        label="Alerts URL",
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="Where we send a signed JSON request for each event you choose "
        "below, for all your products. Leave it empty to send none.",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        required=False,
        choices=[(kind.value, f"{kind.value}: {kind.label}") for kind in ALERT_EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )

    def clean_url(self) -> str:
        return seller_url_checked(self.cleaned_data["url"])

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("events") and "url" in cleaned and not cleaned["url"]:
            self.add_error("url", "Set the Alerts URL the chosen events are sent to.")
        return cleaned
