"""The admin of the orders and products models (fulfillment's own models keep
theirs in fulfillment/admin.py: they need nothing from above)."""

from . import orders, products  # noqa: F401 - each registers its ModelAdmins
