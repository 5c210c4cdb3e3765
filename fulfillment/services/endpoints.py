"""Seller endpoints: the unit of the in-flight limit and of the circuit breaker.

An endpoint is `scheme://host:port` of a Webhook URL, so every product (and every
seller) behind one server shares its health: a dead server is dead for all of
them.

The circuit breaker protects our workers, not the seller's error rate. Only
failures that cost worker time and say nobody is answering count: timeouts,
refused or broken connections, TLS failures (`endpoint_failure_counts`). A fast
wrong answer (a 500 in milliseconds, a 404) is one delivery's business: it is
retried on that delivery's own schedule and never holds another delivery back,
so one flaky product cannot stall its neighbours on a shared host.

After CIRCUIT_FAILURE_THRESHOLD consecutive counted failures the circuit opens
for CIRCUIT_OPEN_SECONDS. While it is open, deliveries to the endpoint wait in
the database without a request and without spending an attempt. When the window
ends, one probe delivery goes through: any answer from the server (whatever its
status) closes the circuit and releases every held delivery at once; no answer
reopens it, for twice as long up to CIRCUIT_MAX_OPEN_SECONDS, counted from the
start of the probe that failed. The defaults (30 s, at most 30 s) start a probe
about every 30 s, so held deliveries go out within about 30 s of the server
coming back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lib.endpoint_key import endpoint_key_for  # noqa: F401 - re-exported

from ..models import EndpointHealth

# What counts toward opening a circuit: nobody answered, and finding out cost a
# worker time. "connect" covers refused and reset connections and TLS failures.
CIRCUIT_ERROR_KINDS = ("timeout", "connect")


def _conf(key: str):
    return settings.FULFILLMENT[key]


def endpoint_failure_counts(*, error_kind: str) -> bool:
    """Does this failure say nobody is answering at the endpoint?

    Timeouts (a hang, a drip past the deadline) and refused, broken or failed
    (TLS) connections do: they are what occupies workers. A complete HTTP answer
    does not, however wrong (a 500 or a 429 in milliseconds, a 404, a redirect,
    an HTML page): the server is up, the delivery retries on its own schedule
    (honouring Retry-After), and the other products on the host go on. A
    refused URL, a failed DNS lookup or a missing config never reached the
    server at all.
    """
    return error_kind in CIRCUIT_ERROR_KINDS


def endpoint_admits(*, key: str, now: datetime) -> bool | datetime:
    """True if a delivery to `key` may be attempted now, else when to try again.

    Once the circuit is due, exactly one caller wins the compare-and-set that
    moves `open_until` forward by a lease: that caller is the probe, and everyone
    else waits until the probe's lease ends (or until its success releases them).
    """
    open_until = (
        EndpointHealth.objects.filter(key=key)
        .values_list("open_until", flat=True)
        .first()
    )
    if open_until is None:
        return True
    if open_until > now:
        return open_until
    return _probe_claim(key=key, seen=open_until, now=now)


def _probe_claim(*, key: str, seen: datetime, now: datetime) -> bool | datetime:
    """The window that ended at `seen` is over: try to become the probe. True if
    this caller won the compare-and-set, else until when to wait: the probe's
    lease as the winner stored it, not our own clock's version of it, so that the
    probe's success (which releases everything held up to that stored time)
    releases us too."""
    probe_until = now + timedelta(seconds=_conf("LEASE_SECONDS"))
    won = EndpointHealth.objects.filter(key=key, open_until=seen).update(
        open_until=probe_until
    )
    if won:
        return True
    stored = (
        EndpointHealth.objects.filter(key=key)
        .values_list("open_until", flat=True)
        .first()
    )
    if stored is None:
        return True  # closed meanwhile: the probe succeeded
    return stored if stored > now else probe_until


def endpoint_probe_now(*, key: str) -> bool:
    """A seller or staff member asked for a retry: let the next delivery through
    as the probe now rather than at the end of the window. A probe already on the
    wire may get company: at most one extra request per click."""
    return bool(
        EndpointHealth.objects.filter(key=key, open_until__gt=timezone.now()).update(
            open_until=timezone.now()
        )
    )


def endpoint_record_success(*, key: str) -> datetime | None:
    """The server answered: close the circuit. Returns the `open_until` it
    cleared (None if it was closed): deliveries held until then may go now."""
    row = EndpointHealth.objects.filter(key=key).values_list("open_until").first()
    if row is None:
        return None  # never failed: no row, nothing to write on the hot path
    EndpointHealth.objects.filter(key=key).update(
        consecutive_failures=0, open_until=None, last_success_at=timezone.now()
    )
    return row[0]


def endpoint_record_failure(
    *, key: str, message: str, started_at: datetime | None = None
) -> EndpointHealth:
    """Count a failure that says the server is down; open the circuit at the
    threshold, reopen it for longer when a probe fails.

    An attempt that started before the circuit last opened (it was already on the
    wire) is a straggler: it tells us nothing new, so it is not counted, or every
    hanging request would double the next window.
    """
    now = timezone.now()
    with transaction.atomic():
        health, _ = EndpointHealth.objects.select_for_update().get_or_create(key=key)
        health.last_error = message
        if not _is_straggler(health, started_at):
            health.consecutive_failures += 1
            health.last_failure_at = now
            if health.consecutive_failures >= _conf("CIRCUIT_FAILURE_THRESHOLD"):
                health.open_until = _next_probe_at(health, started_at or now, now)
        health.save()
    return health


def _next_probe_at(health: EndpointHealth, started_at: datetime, now: datetime):
    """The window counts from the start of the request that failed, not from its
    end: a probe that hung for the whole deadline must not push the next one a
    deadline later, or a server that recovers while a probe hangs would wait a
    window and a deadline for its held deliveries. Never in the past."""
    opens = started_at + timedelta(seconds=_open_seconds(health))
    return max(opens, now + timedelta(seconds=1))


def _is_straggler(health: EndpointHealth, started_at: datetime | None) -> bool:
    return (
        health.open_until is not None
        and started_at is not None
        and health.last_failure_at is not None
        and started_at < health.last_failure_at
    )


def _open_seconds(health: EndpointHealth) -> float:
    # Failures beyond the threshold are failed probes: each one doubles the wait,
    # up to the bound (by default the same 30 s: the probe interval stays short).
    reopens = health.consecutive_failures - _conf("CIRCUIT_FAILURE_THRESHOLD")
    seconds = _conf("CIRCUIT_OPEN_SECONDS") * 2 ** min(reopens, 20)
    bound = max(_conf("CIRCUIT_MAX_OPEN_SECONDS"), _conf("CIRCUIT_OPEN_SECONDS"))
    return min(seconds, bound)
