"""The one read-only admin: records that only the application writes."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """Records that only the application writes; staff look, they do not edit."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
