"""Product health for the seller dashboard: how a product's webhook did lately.

Pure reads, no writes. Every figure covers real deliveries only: test deliveries
belong to the Webhook Editor and say nothing about what customers received.

- The window is the last 7 days as the charts show them: today and the six
  calendar days before it, in the site's time zone (a day is a day of the
  charts, not 24 hours back from now). So the week's figures are the sums of
  the days', and a chart's bars add up to the number beside it.
- Counts are of deliveries *created* in the window. The success rate is
  succeeded / (succeeded + failed) among them: deliveries still pending or
  retrying have not finished, and a cancelled one was a seller's decision, so
  neither counts for or against the server. A delivery fulfilled by hand
  finished, but not through the server: it counts as failed. A delivery that
  failed for good and is still failed (nobody fulfilled, retried or cancelled
  it) needs the seller's attention.
- Response times are of attempts *started* in the window that got an HTTP
  response (any status): a timeout or a refused connection has no response time.
  Percentiles use the nearest-rank method, computed in the database with
  window functions (ROW_NUMBER and COUNT over each group's attempts: a product,
  a product's day, or all of a seller's products; SQLite 3.25+ and PostgreSQL
  both have them, and Django wraps the query to filter on them). That is one
  query per percentile and grouping for every product of the list, where
  ORDER BY ... OFFSET would take one per product and day, and only one row per
  group comes back to Python.
- The last failure is the newest failed attempt started in the window.
- The circuit is that of the endpoint of the product's current Webhook URL.
"""

from __future__ import annotations

from .figures import DayHealth, DayTally, LastFailure, ProductHealth, SellerHealth
from .selectors import (
    DAYS,
    product_health,
    products_health,
    seller_health,
    window_days,
)

__all__ = [
    "DAYS",
    "DayHealth",
    "DayTally",
    "LastFailure",
    "ProductHealth",
    "SellerHealth",
    "product_health",
    "products_health",
    "seller_health",
    "window_days",
]
