from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from downloads.services import too_large_message


class ProductFileForm(forms.Form):
    file = forms.FileField(
        label="File",
        allow_empty_file=True,  # the service refuses it, with our own words
        max_length=None,
    )

    def __init__(self, *args, too_large: bool = False, **kwargs) -> None:
        """`too_large`: the request declared a body over the limit, so it was
        refused before it was read; the form shows why, next to the field."""
        super().__init__(*args, **kwargs)
        self.too_large = too_large
        limit = filesizeformat(settings.DOWNLOAD_MAX_FILE_BYTES)
        self.fields["file"].help_text = (
            f"Up to {limit}. Customers download it from their order page and "
            "their order email; it is always saved, never opened in the browser."
        )

    def full_clean(self) -> None:
        if not self.too_large:
            super().full_clean()
            return
        self.cleaned_data = {}
        self._errors = forms.utils.ErrorDict(
            file=self.error_class([too_large_message()], renderer=self.renderer)
        )
