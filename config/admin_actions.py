"""The admin's bulk actions that need a form per selected object (a license
for each delivery fulfilled by hand, an address for each email resent): one
intermediate page, shared by the apps' admins."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse

# The marker the intermediate page of a bulk action posts back; without it the
# action shows the page, with it the action applies (as Django's own
# delete_selected does with "post").
APPLY_MARKER = "apply"


def formset_action_page(
    modeladmin: admin.ModelAdmin,
    request,
    *,
    action: str,
    title: str,
    intro: str,
    submit_label: str,
    formset,
    rows: Sequence[tuple[forms.Form, str, str]],
    selected: list[int],
) -> TemplateResponse:
    """The intermediate page of a bulk action with one form per selected object.

    It posts back to the changelist with the selection as `_selected_action`, the
    action's name and the apply marker, the admin's action-confirmation pattern.
    """
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.opts,
        "title": title,
        "intro": intro,
        "submit_label": submit_label,
        "action": action,
        "apply_marker": APPLY_MARKER,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "selected": selected,
        "formset": formset,
        "rows": rows,
    }
    return TemplateResponse(request, "admin/bulk_formset_action.html", context)
