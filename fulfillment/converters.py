"""URL converters: a path segment that cannot be one of our IDs never reaches a view.

A delivery (or alert) ID in a URL is matched by its exact form, so anything else (a NUL
byte, which PostgreSQL refuses in a query, control characters, a 10 KB string)
is a 404 without a query.
"""

from __future__ import annotations

from django.urls import register_converter

from lib.ids import ALERT_ID_PATTERN, DELIVERY_ID_PATTERN


class DeliveryIdConverter:
    regex = DELIVERY_ID_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DeliveryIdConverter, "delivery_id")


class AlertIdConverter(DeliveryIdConverter):
    regex = ALERT_ID_PATTERN


register_converter(AlertIdConverter, "alert_id")
