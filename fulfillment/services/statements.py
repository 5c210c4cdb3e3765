"""The hot path's compare-and-set statements, written once as SQL.

Every delivery starts with one of these UPDATEs (the customer email's claim is
written the same way, in `emails.services`). Built with the ORM, each cost more
Python than the rest of its attempt (the profile of `make bench`: a quarter of a
fulfillment worker's CPU went to compiling the claim alone), so they are plain
parametrised SQL that SQLite and PostgreSQL both run.
The conditions are the same as the ORM versions they replace; the tests of
`claims` and `emails` run against both databases.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from ..models import DeliveryStatus

# Due, its lease free, its endpoint's circuit closed (unless the caller has just
# admitted it as the probe) and a free in-flight slot at its endpoint (test
# deliveries bypass both). The in-flight check is "there is no
# n-th request on the wire": EXISTS over the row at OFFSET n - 1.
_CLAIM_DELIVERY = """
UPDATE fulfillment_delivery
SET status = %(in_flight)s, lease_expires_at = %(lease_until)s,
    attempt_count = attempt_count + 1
WHERE id = %(pk)s
  AND status IN (%(pending)s, %(retrying)s)
  AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)
  AND (lease_expires_at IS NULL OR lease_expires_at <= %(now)s)
  AND (is_test OR NOT %(check_circuit)s OR NOT EXISTS (
        SELECT 1 FROM fulfillment_endpointhealth h
        WHERE h.key = fulfillment_delivery.endpoint_key
          AND h.open_until IS NOT NULL))
  AND (is_test OR endpoint_key = '' OR NOT EXISTS (
        SELECT 1 FROM fulfillment_delivery f
        WHERE f.endpoint_key = fulfillment_delivery.endpoint_key
          AND f.status = %(in_flight)s AND f.lease_expires_at > %(now)s
        LIMIT 1 OFFSET %(busy_offset)s))
"""

# Due and its lease free, and only while its endpoint's circuit is still open.
# On PostgreSQL the circuit's row is read FOR SHARE: a probe closing the circuit
# at this moment holds that row until it commits, so we wait for it and then see
# the circuit closed, instead of holding the delivery after the probe released
# everything it held (the chaos run: ~90 of 110 deliveries waited out the
# probe's lease that way). SQLite runs one writer at a time, so there the check
# is exact without a lock.
_HOLD_DELIVERY = """
UPDATE fulfillment_delivery SET next_attempt_at = %(until)s
WHERE id = %(pk)s
  AND status IN (%(pending)s, %(retrying)s)
  AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)
  AND (lease_expires_at IS NULL OR lease_expires_at <= %(now)s)
  AND EXISTS (
        SELECT 1 FROM fulfillment_endpointhealth h
        WHERE h.key = %(key)s AND h.open_until IS NOT NULL {lock})
"""


def _when(moment: datetime):
    """A datetime as this database's driver wants it for a DateTimeField."""
    return connection.ops.adapt_datetimefield_value(moment)


def delivery_claim(
    *,
    pk: int,
    now: datetime,
    lease_until: datetime,
    max_in_flight: int,
    check_circuit: bool = True,
) -> bool:
    """Claim the delivery for one attempt if it is due, nobody holds it, its
    endpoint has a free slot and (with `check_circuit`) its circuit is closed."""
    params = {
        "pk": pk,
        "check_circuit": check_circuit,
        "now": _when(now),
        "lease_until": _when(lease_until),
        "in_flight": DeliveryStatus.IN_FLIGHT.value,
        "pending": DeliveryStatus.PENDING.value,
        "retrying": DeliveryStatus.RETRYING.value,
        "busy_offset": max_in_flight - 1,
    }
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_DELIVERY, params)
        return cursor.rowcount == 1


def delivery_hold(*, pk: int, now: datetime, until: datetime, key: str) -> bool:
    """Hold a due delivery until `until` while its endpoint's circuit is open;
    False when it is not due any more or the circuit has closed meanwhile."""
    lock = "FOR SHARE" if connection.features.has_select_for_update else ""
    params = {
        "pk": pk,
        "now": _when(now),
        "until": _when(until),
        "key": key,
        "pending": DeliveryStatus.PENDING.value,
        "retrying": DeliveryStatus.RETRYING.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_HOLD_DELIVERY.format(lock=lock), params)
        return cursor.rowcount == 1
