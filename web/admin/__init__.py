"""The admin of the orders, products and key list models, with one read-only
mixin (fulfillment's own models keep theirs in fulfillment/admin.py: they need
nothing from above)."""

from . import keylists, orders, products  # noqa: F401 - each registers its ModelAdmins
