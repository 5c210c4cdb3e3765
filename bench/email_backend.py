"""An email backend that counts instead of sending.

Each message is serialised (as an SMTP or file backend would, so building the
email is part of the cost measured) and counted with one Redis INCR, which the
benchmark driver reads across processes. Nothing is written to disk.
"""

from __future__ import annotations

from functools import cache

import redis
from django.core.mail.backends.base import BaseEmailBackend

from bench.env import EMAIL_COUNTER_KEY, broker_url


@cache
def _redis() -> redis.Redis:
    # One client (and connection pool) per process, shared by the worker's threads.
    return redis.Redis.from_url(broker_url())


class CountingBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        messages = list(email_messages)
        for message in messages:
            message.message().as_bytes()
        if messages:
            _redis().incrby(EMAIL_COUNTER_KEY, len(messages))
        return len(messages)


def emails_counted() -> int:
    return int(_redis().get(EMAIL_COUNTER_KEY) or 0)


def emails_counter_reset() -> None:
    _redis().delete(EMAIL_COUNTER_KEY)
