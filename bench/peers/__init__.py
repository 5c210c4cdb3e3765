"""The peers B1 measures ours against, each on its own PostgreSQL database.

- conventional/: plain Django + Celery as a competent developer writes it (Order,
  Delivery, Attempt; a task per delivery; one email per order with send_mail).
- djwebhook/: the `django-webhook` library from PyPI, set up as its docs say.
- limit.py: the same durable writes in bare psycopg, no ORM and no broker.

runs.py starts them against the same seller servers and measures them the way
bench/throughput.py measures ours; place.py is the process that places their
orders.
"""
