"""The naive peer: one Celery task per webhook that signs, posts and stores nothing.

What a first version of webhook fulfillment would be: no database, no claim, no
attempt record, no email, `requests.post` with Celery's defaults. It runs in the
same kind and number of workers as ours (`celery -A bench.naive worker --pool
threads`, same processes and concurrency) against the same seller server, so B1
can say what all our bookkeeping costs. It signs with the same Standard Webhooks
code, so the seller server verifies its requests exactly like ours. No Django in
this process.
"""

from __future__ import annotations

import requests
from celery import Celery

from bench.env import broker_url
from bench.wire import signed_form

QUEUE = "naive"

app = Celery("naive", broker=broker_url())
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_default_queue=QUEUE,
)


@app.task(name="bench.naive.webhook_post")
def webhook_post(url: str, fields: dict, secret: str, msg_id: str) -> None:
    body, headers = signed_form(fields, secret=secret, msg_id=msg_id)
    requests.post(url, data=body, headers=headers, timeout=15)
