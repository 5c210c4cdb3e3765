"""The key list page's forms: keys pasted or uploaded, and the threshold."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from keylists.models import KeyList

CSV_SUFFIX = ".csv"
UPLOAD_SUFFIXES = (".txt", CSV_SUFFIX)


class KeyUploadForm(forms.Form):
    file_is_csv = False  # set by clean_file from the upload's name

    keys = forms.CharField(
        label="Paste keys",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="One key per line. Blank lines are skipped.",
    )
    file = forms.FileField(
        label="Or upload a file",
        required=False,
        help_text="A .txt file (one key per line) or a .csv file (the first column; "
        "a header row named key, license or code is skipped).",
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        limit = settings.KEY_LIST_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; "
                f"the largest accepted is {filesizeformat(limit)}."
            )
        name = (upload.name or "").lower()
        if not name.endswith(UPLOAD_SUFFIXES):
            raise forms.ValidationError("Upload a .txt or a .csv file.")
        self.file_is_csv = name.endswith(CSV_SUFFIX)
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not UTF-8 text: save it as UTF-8 and upload it again."
            ) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        pasted, uploaded = cleaned.get("keys", "").strip(), cleaned.get("file")
        if pasted and uploaded is not None:
            raise forms.ValidationError("Paste keys or upload a file, not both.")
        if not pasted and uploaded is None:
            self.add_error("keys", "Paste at least one key, or upload a file.")
        return cleaned

    @property
    def source_field(self) -> str:
        """The field the keys came from: where their errors are shown."""
        return "file" if self.cleaned_data.get("file") is not None else "keys"

    def keys_input(self) -> dict[str, Any]:
        """The arguments of `key_list_keys_add` for the valid form."""
        if self.source_field == "file":
            return {"text": self.cleaned_data["file"], "is_csv": self.file_is_csv}
        return {"text": self.cleaned_data["keys"], "is_csv": False}


class ThresholdForm(forms.ModelForm):
    class Meta:
        model = KeyList
        fields = ["low_stock_threshold"]
