from __future__ import annotations

from django import forms


class PurchasesFindForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="The address you bought with.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
