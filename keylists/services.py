"""A key list's keys: read from a paste or a file, added, removed, claimed.

`license_keys_claim` is the only way a key leaves the list. It runs inside the
caller's transaction and takes free keys with `SELECT … FOR UPDATE SKIP LOCKED`
where the database has it (PostgreSQL): two transactions claiming at once take
different keys and neither waits for the other. SQLite (the embedded default)
runs one writing transaction at a time (IMMEDIATE transactions, see
config/settings.py), so the same read-then-update cannot interleave there.
Either way the UPDATE re-checks that each key is still free, and the
(delivery, unit) constraint refuses a second key for the same unit.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import (
    FALLBACK_MAX_MINUTES,
    FALLBACK_MIN_MINUTES,
    KEY_MAX_LENGTH,
    KeyList,
    LicenseKey,
)

logger = logging.getLogger(__name__)

# A CSV's first row is a header, not a key, when its first cell is one of these.
CSV_HEADERS = frozenset(
    {"key", "keys", "license", "license key", "license_key", "code"}
)


class KeyListError(ValueError):
    """Keys refused, with one readable message per problem (line numbers)."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class KeyLine:
    line: int  # 1-based line (or CSV row) of the paste or file
    key: str


@dataclass
class ParsedKeys:
    keys: list[KeyLine] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def license_keys_parse(*, text: str, is_csv: bool = False) -> ParsedKeys:
    """The keys of a paste (one per line) or a CSV (its first column), each
    trimmed, blank lines skipped. Errors name the lines: a key too long, or the
    same key twice in this upload."""
    parsed = ParsedKeys()
    rows = _csv_cells(text) if is_csv else enumerate(text.splitlines(), start=1)
    first_line: dict[str, int] = {}
    for number, raw in rows:
        key = raw.strip()
        if not key:
            continue
        if is_csv and not parsed.keys and not first_line and key.lower() in CSV_HEADERS:
            continue
        if len(key) > KEY_MAX_LENGTH:
            parsed.errors.append(
                f"Line {number}: a key has at most {KEY_MAX_LENGTH} characters."
            )
            continue
        if any(ord(char) < 32 or ord(char) == 127 for char in key):
            parsed.errors.append(f"Line {number}: the key has a control character.")
            continue
        if key in first_line:
            parsed.errors.append(
                f"Line {number} repeats the key of line {first_line[key]}."
            )
            continue
        first_line[key] = number
        parsed.keys.append(KeyLine(line=number, key=key))
    return parsed


def _csv_cells(text: str):
    reader = csv.reader(io.StringIO(text))
    for number, row in enumerate(reader, start=1):
        yield number, row[0] if row else ""


def key_list_for(*, product_id: int) -> KeyList:
    """The product's key list, created empty the first time it is asked for."""
    key_list, _ = KeyList.objects.get_or_create(product_id=product_id)
    return key_list


@transaction.atomic
def key_list_fallback_save(*, product_id: int, enabled: bool, minutes: int) -> bool:
    """Switch the Webhook method's fallback on or off and set its delay (the
    Webhook Editor's "Fallback: your key list"); True if anything changed.

    The fallback changes no request the seller's server gets, so the Webhook
    config's version (and the Release Checklist's test against it) stays."""
    if not FALLBACK_MIN_MINUTES <= minutes <= FALLBACK_MAX_MINUTES:
        raise ValueError(
            f"The delay is {FALLBACK_MIN_MINUTES} to {FALLBACK_MAX_MINUTES} minutes."
        )
    key_list = KeyList.objects.select_for_update().get(
        pk=key_list_for(product_id=product_id).pk
    )
    if (key_list.fallback_enabled, key_list.fallback_after_minutes) == (
        enabled,
        minutes,
    ):
        return False
    key_list.fallback_enabled, key_list.fallback_after_minutes = enabled, minutes
    key_list.save(
        update_fields=["fallback_enabled", "fallback_after_minutes", "updated_at"]
    )
    return True


@transaction.atomic
def license_keys_add(*, product_id: int, text: str, is_csv: bool = False) -> int:
    """Add the keys of a paste or a file to the product's list; returns how many.

    All or nothing: a key already in the list (used or not), a repeat within
    the upload, an over-long line or an upload without keys refuses every key,
    with the line numbers (`KeyListError`)."""
    parsed = license_keys_parse(text=text, is_csv=is_csv)
    key_list = KeyList.objects.select_for_update().get(
        pk=key_list_for(product_id=product_id).pk
    )
    existing = set(
        LicenseKey.objects.filter(
            key_list=key_list, key__in=[line.key for line in parsed.keys]
        ).values_list("key", flat=True)
    )
    errors = list(parsed.errors)
    errors += [
        f"Line {line.line} is already in your list."
        for line in parsed.keys
        if line.key in existing
    ]
    if not errors and not parsed.keys:
        errors.append("There are no keys in it: put one key per line.")
    if errors:
        raise KeyListError(sorted(errors, key=_line_number))
    now = timezone.now()
    try:
        with transaction.atomic():
            LicenseKey.objects.bulk_create(
                LicenseKey(key_list=key_list, key=line.key, added_at=now)
                for line in parsed.keys
            )
    except IntegrityError as exc:  # the same key added by another request
        raise KeyListError(
            ["Some of these keys were added to your list meanwhile: try again."]
        ) from exc
    _low_stock_rearm(key_list)
    return len(parsed.keys)


def _low_stock_rearm(key_list: KeyList) -> None:
    """Stock above the threshold again: the next crossing is told again."""
    free = LicenseKey.objects.filter(key_list=key_list, used_at__isnull=True).count()
    if free > key_list.low_stock_threshold:
        KeyList.objects.filter(
            pk=key_list.pk, low_stock_alerted_at__isnull=False
        ).update(low_stock_alerted_at=None)


@transaction.atomic
def key_list_threshold_save(*, product_id: int, threshold: int) -> KeyList:
    """Set the low-stock threshold. A threshold now below the stock re-arms the
    alert; one at or above it alerts at the next key given out, not now (the
    seller is looking at the stock as they save it)."""
    key_list = KeyList.objects.select_for_update().get(
        pk=key_list_for(product_id=product_id).pk
    )
    key_list.low_stock_threshold = threshold
    key_list.save(update_fields=["low_stock_threshold", "updated_at"])
    _low_stock_rearm(key_list)
    key_list.refresh_from_db(fields=["low_stock_alerted_at"])
    return key_list


def key_list_stock_note(*, product_id: int, now) -> bool:
    """After keys were claimed, inside the claim's transaction: if the free keys
    fell to the threshold and the seller was not told since the last refill,
    stamp the list (one conditional UPDATE, so concurrent claims stamp it once)
    and, on commit, enqueue the low-stock email. True if this call stamped it."""
    armed = KeyList.objects.filter(
        product_id=product_id, low_stock_alerted_at__isnull=True
    )
    threshold = armed.values_list("low_stock_threshold", flat=True).first()
    if threshold is None:  # told already (or no list): no count needed
        return False
    free = LicenseKey.objects.filter(
        key_list__product_id=product_id, used_at__isnull=True
    ).count()
    if free > threshold or not armed.update(low_stock_alerted_at=now):
        return False
    transaction.on_commit(lambda: _low_stock_email_enqueue(product_id))
    return True


def _low_stock_email_enqueue(product_id: int) -> None:
    """At most once: a broker that is down loses this one alert (the stock
    stays on the key list page and the checkout says "Sold out")."""
    from .tasks import key_list_low_stock_email_send_task

    try:
        key_list_low_stock_email_send_task.delay(product_id)
    except Exception:
        logger.exception(
            "Could not enqueue the low-stock email of product %s", product_id
        )


def _line_number(message: str) -> int:
    words = message.split()
    return int(words[1].rstrip(":")) if len(words) > 1 and words[1][:1].isdigit() else 0


def license_key_remove(*, product_id: int, key_id: int) -> bool:
    """Remove an unused key; False if it is used (or not this product's)."""
    deleted, _ = LicenseKey.objects.filter(
        pk=key_id, key_list__product_id=product_id, used_at__isnull=True
    ).delete()
    return bool(deleted)


def license_keys_claim(
    *, product_id: int, delivery_pk: int, count: int, now
) -> list[str] | None:
    """Take `count` free keys of the product's list for units 1..count of the
    delivery, inside the caller's transaction. None, taking nothing, when fewer
    are free (or free but held by another transaction that has not finished:
    it may yet give them back, and the caller tries again later)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("license_keys_claim must run inside a transaction")
    free = LicenseKey.objects.filter(
        key_list__product_id=product_id, used_at__isnull=True
    ).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        free = free.select_for_update(skip_locked=True, of=("self",))
    picked = list(free.values_list("pk", "key")[:count])
    if len(picked) < count:
        return None
    for unit, (pk, _key) in enumerate(picked, start=1):
        taken = LicenseKey.objects.filter(pk=pk, used_at__isnull=True).update(
            delivery_id=delivery_pk, unit_index=unit, used_at=now
        )
        if taken != 1:  # cannot happen under the locks above; never hand it out
            raise RuntimeError(f"License key {pk} was taken by another claim")
    return [key for _pk, key in picked]
