"""Product health for the seller dashboard: how a product's webhook did lately.

Pure reads, no writes. Every figure covers real deliveries only: test deliveries
belong to the Webhook Editor and say nothing about what customers received.

- Counts are of deliveries *created* in the window. The success rate is
  succeeded / (succeeded + failed) among them: deliveries still pending or
  retrying have not finished, and a cancelled one was a seller's decision, so
  neither counts for or against the server. A delivery fulfilled by hand
  finished, but not through the server: it counts as failed.
- Response times are of attempts *started* in the window that got an HTTP
  response (any status): a timeout or a refused connection has no response time.
  Percentiles use the nearest-rank method, computed in the database with
  window functions (ROW_NUMBER and COUNT over each product's attempts; SQLite
  3.25+ and PostgreSQL both have them, and Django wraps the query to filter on
  them). That is one query per percentile for every product of the list, where
  ORDER BY ... OFFSET would take one per product, and only one row per product
  comes back to Python.
- The last failure is the newest failed attempt started in the window.
- The circuit is that of the endpoint of the product's current Webhook URL.
"""

from __future__ import annotations

from .figures import LastFailure, ProductHealth
from .selectors import WINDOW, product_health, products_health

__all__ = [
    "WINDOW",
    "LastFailure",
    "ProductHealth",
    "product_health",
    "products_health",
]
