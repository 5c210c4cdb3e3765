"""One signed request to a seller's server, as deliveries and alerts both make it.

The engine's policies in one place, so that a fulfillment delivery and an alert
go out the same way: the transport with this deployment's limits and SSRF
policy, the attempt row's columns (capped bodies, signatures redacted), the
retry schedule with Retry-After, and what an attempt teaches the endpoint's
circuit breaker.
"""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings

from lib import transport
from lib.signing import redact_headers

from .. import outcome
from ..models import AttemptedJob
from .endpoints import (
    endpoint_failure_counts,
    endpoint_record_failure,
    endpoint_record_success,
)
from .wakeups import deliveries_release_held

# Stored request and response bodies are cut to this many characters.
STORED_BODY_CHARS = 20_000


def _conf(key: str):
    return settings.FULFILLMENT[key]


def exchange_send(request: transport.OutboundRequest) -> transport.TransportResult:
    """Send through `lib.transport` with the deployment's timeouts, size limit
    and URL policy (https in production, private networks refused)."""
    return transport.send(
        request,
        connect_timeout=_conf("CONNECT_TIMEOUT"),
        total_timeout=_conf("TOTAL_TIMEOUT"),
        max_bytes=_conf("MAX_RESPONSE_BYTES"),
        allowed_networks=_conf("ALLOWED_PRIVATE_NETWORKS"),
        require_https=settings.PRODUCTION,
    )


def verdict_words(verdict: outcome.Verdict) -> str:
    if verdict.succeeded:
        return "succeeded"
    then = "will retry" if verdict.retryable else "will not retry"
    return f"failed ({verdict.error_kind}; {then})"


def storable(body: bytes) -> str:
    """A body as a capped text excerpt a database can hold: undecodable bytes and
    NUL (which PostgreSQL refuses in text) become U+FFFD."""
    text = body.decode("utf-8", "replace")[:STORED_BODY_CHARS]
    return text.replace("\x00", "\ufffd")


def storable_headers(request, *, keep_signature: bool) -> dict[str, str]:
    """Real requests keep no signature (a stored one could be replayed). A test
    keeps it: it carries sample data only, and the seller debugging their
    verification needs the exact headers we sent."""
    if request is None:
        return {}
    return dict(request.headers) if keep_signature else redact_headers(request.headers)


def attempt_fields(
    *, job: AttemptedJob, started_at, request, result, verdict: outcome.Verdict
) -> dict[str, Any]:
    """The columns of the attempt row (`models.AttemptRecord`) of `job`'s
    exchange just made; `request` and `result` are None when nothing was sent.
    Only a test keeps its request's signature."""
    return {
        "number": job.attempt_count,
        # When it was due (the claim leaves next_attempt_at as it was): how late
        # the workers were is started_at - due_at.
        "due_at": job.next_attempt_at or job.created_at,
        "started_at": started_at,
        "duration_ms": result.duration_ms if result else 0,
        "request_method": request.method if request else "",
        "request_url": request.url if request else "",
        "request_headers": storable_headers(request, keep_signature=job.is_test),
        "request_body": storable(request.body) if request else "",
        "response_status": result.status if result else None,
        "response_headers": (
            {k: v.replace("\x00", "\ufffd") for k, v in result.headers.items()}
            if result
            else {}
        ),
        "response_body": storable(result.body) if result else "",
        "succeeded": verdict.succeeded,
        "error_kind": verdict.error_kind,
        "message": verdict.message,
    }


def retry_delay(attempts_made: int) -> float | None:
    """Seconds until the next attempt after `attempts_made` failures, ±20 % jitter;
    None when the schedule is exhausted."""
    schedule = _conf("RETRY_SCHEDULE")
    if attempts_made > len(schedule):
        return None
    base = schedule[attempts_made - 1]
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


def next_attempt_delay(
    *, counted_attempts: int, verdict: outcome.Verdict, is_test: bool
) -> tuple[float | None, str]:
    """Seconds until the next attempt (None: no more) and a note for the seller.

    A Retry-After (429, 503) may lengthen the scheduled wait, up to
    RETRY_AFTER_MAX_SECONDS, but never adds attempts beyond the schedule. Tests
    are never retried: the seller is looking at the result.
    """
    if verdict.succeeded or not verdict.retryable or is_test:
        return None, ""
    delay = retry_delay(counted_attempts)
    asked = verdict.retry_after
    if delay is None or asked is None or asked <= delay:
        return delay, ""
    bound = _conf("RETRY_AFTER_MAX_SECONDS")
    note = f"it asked us to retry after {asked:.0f} s"
    if asked > bound:
        note += f"; we wait at most {bound} s"
    return max(delay, min(asked, bound)), note


def endpoint_learn(
    *, key: str, is_test: bool, result, verdict, started_at, has_failed: bool = True
) -> None:
    """Feed the endpoint's circuit breaker with one exchange.

    Any answer from the server closes the circuit, whatever its status (the
    server is up; this request's verdict is its own business) and a test's too
    (the seller is fixing the server), and releases the deliveries it held.
    Only no answer at all (timeout, connection or TLS failure) counts against
    the endpoint, and a test's never does: a seller debugging must not hold
    back their live orders. `has_failed=False` says the caller knows the
    endpoint has no breaker state to clear (the hot path skips a read).
    """
    if not key or result is None:
        return
    if endpoint_failure_counts(error_kind=verdict.error_kind):
        if not is_test:
            endpoint_record_failure(
                key=key, message=verdict.message, started_at=started_at
            )
        return
    if result.status is not None and has_failed:
        held_until = endpoint_record_success(key=key)
        if held_until is not None:
            deliveries_release_held(endpoint_key=key, until=held_until)
