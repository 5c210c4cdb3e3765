"""`make chaos`: the production chaos run of issue 11.

The Procfile's processes (gunicorn with config/gunicorn.conf.py, two fulfillment
workers, one email worker, beat) on PostgreSQL and Redis with `PRODUCTION=true`,
sellers served over TLS on loopback. Two scenarios: `kills` (300 orders while
workers, gunicorn's master and the email worker are SIGKILLed and the broker is
flushed, one product answering 500 twice per delivery) and `hang` (a seller's
server hangs for 2 minutes, then recovers); `burst`, outside the issue, sends a
burst of orders with no fault. docs/chaos.md says how to run it and what the
last run showed.
"""
