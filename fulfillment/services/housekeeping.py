"""Housekeeping: old attempt bodies are cleared, the attempt rows stay.

Bodies and headers are capped when an attempt is stored (`STORED_BODY_CHARS` in
`exchange`); after `ATTEMPT_RETENTION_DAYS` they are cleared altogether. They
hold customer data (the request carries the buyer's email when a seller asks for
it, the response the license), which we need for debugging a delivery, not for
its history. What stays: status, timing, URL without its query string, response
status, error kind and the readable reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, F, Q, TextField, Value, When
from django.db.models.functions import StrIndex, Substr
from django.utils import timezone

from ..models import AlertAttempt, AttemptRecord, DeliveryAttempt

# Rows per UPDATE: each batch is its own short transaction, so a big table is
# never locked for long and a purge interrupted midway keeps what it did.
PURGE_BATCH_SIZE = 1000


def _purgeable(model: type[AttemptRecord], cutoff: datetime):
    """Attempts older than `cutoff` that still hold something to clear."""
    holds_data = (
        ~Q(request_body="")
        | ~Q(response_body="")
        | ~Q(request_headers={})
        | ~Q(response_headers={})
        # A GET webhook sends its fields in the query string instead of a body.
        | Q(request_url__contains="?")
    )
    return model._default_manager.filter(holds_data, started_at__lt=cutoff)


def _url_without_query():
    return Case(
        When(
            request_url__contains="?",
            then=Substr(
                "request_url", 1, StrIndex("request_url", Value("?")) - Value(1)
            ),
        ),
        default=F("request_url"),
        output_field=TextField(),
    )


def attempts_purge(
    *, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE
) -> int:
    """Clear bodies, headers and query strings of attempts older than
    `ATTEMPT_RETENTION_DAYS`, `batch_size` rows at a time (walking the primary
    key, so no batch rescans the rows before it). Returns the attempts cleared;
    running it again clears nothing more. Alerts' attempts too: their bodies
    hold the same order data."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.FULFILLMENT["ATTEMPT_RETENTION_DAYS"])
    return sum(
        _purge(model, cutoff, batch_size) for model in (DeliveryAttempt, AlertAttempt)
    )


def _purge(model: type[AttemptRecord], cutoff: datetime, batch_size: int) -> int:
    purged, last_pk = 0, 0
    while True:
        pks = list(
            _purgeable(model, cutoff)
            .filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not pks:
            return purged
        purged += (
            _purgeable(model, cutoff)
            .filter(pk__in=pks)
            .update(
                request_body="",
                response_body="",
                request_headers={},
                response_headers={},
                request_url=_url_without_query(),
            )
        )
        last_pk = pks[-1]
