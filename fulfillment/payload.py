"""What is sent to the seller: standard fields plus the seller's custom fields."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from requests import PreparedRequest, RequestException

from lib.signing import sign
from lib.transport import OutboundRequest


@dataclass(frozen=True)
class OrderFacts:
    """The order data a delivery may send, independent of the database.

    Real deliveries build it from their Order; test deliveries store a sample of it
    (`Delivery.test_facts`) so that they go through exactly the same code path.
    """

    order_id: str
    transaction_id: str
    checkout_hash: str
    customer_email: str
    customer_name: str
    product_id: int
    product_name: str
    quantity: int
    unit_price: str  # Decimal as a string, e.g. "19.00"
    currency: str
    event_time: datetime
    is_test: bool = False
    # The seller's own data from the checkout link or the orders API; empty when
    # there was none. Defaulted, so test facts stored before it existed load.
    passthrough: str = ""

    def to_json(self) -> dict:
        data = asdict(self)
        data["event_time"] = self.event_time.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> OrderFacts:
        """Facts stored by `to_json`, by this version or an earlier one (a field
        added since takes its default)."""
        return cls(**{**data, "event_time": datetime.fromisoformat(data["event_time"])})


# The fields every request carries, in the order they are sent. Custom field names
# must not clash with them (case-insensitively: some seller frameworks fold case),
# or the seller could not tell our value from theirs.
STANDARD_FIELDS: tuple[str, ...] = (
    "event",
    "test",
    "delivery_id",
    "order_id",
    "product_id",
    "product_name",
    "quantity",
    "item_index",
    "item_count",
    "price",
    "currency",
    "event_time",
    "passthrough",
)
_RESERVED_NAMES = frozenset(name.lower() for name in STANDARD_FIELDS)
# Standard fields added after sellers could already give a custom field their
# name (`passthrough`, issue 14). A seller's server that reads such a custom
# field must keep getting it: a custom field of that name that was saved before
# takes the standard field's place, which is then not sent to that product. The
# editor refuses new ones and says so on the old (see is_reserved_name).
YIELDING_FIELDS: tuple[str, ...] = ("passthrough",)
# The passthrough of a test request and of a test alert: a sample, so that the
# seller sees where it arrives, and one that names no account of theirs, like an
# edited link's, which their server must answer anyway (`test` says: a sample).
TEST_PASSTHROUGH = "test_passthrough_0001"

EVENT_NAME = "order.fulfillment"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class CustomFieldLike(Protocol):
    """What build_fields needs of a custom field (the model, or a form's data)."""

    kind: str
    name: str
    value: str


def is_reserved_name(name: str) -> bool:
    """True when `name` is a standard field name, ignoring case and outer spaces."""
    return name.strip().lower() in _RESERVED_NAMES


def yielded_field(name: str) -> str | None:
    """The standard field a custom field of this name replaces, or None.

    Only YIELDING_FIELDS are replaced, and only by custom fields that existed
    before they became standard: the editor refuses new ones.
    """
    key = name.strip().lower()
    return next((f for f in YIELDING_FIELDS if f.lower() == key), None)


def _utc_iso(moment: datetime) -> str:
    # Sellers parse this in many languages; a plain 'Z' is the most portable form.
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="seconds") + "Z"


def _custom_value(facts: OrderFacts, custom: CustomFieldLike) -> str:
    # Customer data leaves this system only when the seller added a field for it.
    values = {
        "checkout_hash": facts.checkout_hash,
        "transaction_id": facts.transaction_id,
        "customer_email": facts.customer_email,
        "customer_name": facts.customer_name or "",
        "static": custom.value,
    }
    if custom.kind not in values:
        raise ValueError(f"Unknown custom field kind: {custom.kind!r}")
    return values[custom.kind]


def build_fields(
    *,
    facts: OrderFacts,
    delivery_id: str,
    quantity: int,
    item_index: int,
    item_count: int,
    custom_fields: Iterable[CustomFieldLike],
) -> dict[str, object]:
    """The standard fields, then the seller's custom fields in their order.

    `quantity` is the delivery's own quantity (1 per request with separate
    multibuy, the order's quantity otherwise), not the order's.
    """
    fields: dict[str, object] = {
        "event": EVENT_NAME,
        "test": bool(facts.is_test),
        "delivery_id": delivery_id,
        "order_id": facts.order_id,
        "product_id": int(facts.product_id),
        "product_name": facts.product_name,
        "quantity": int(quantity),
        "item_index": int(item_index),
        "item_count": int(item_count),
        "price": str(facts.unit_price),
        "currency": facts.currency,
        "event_time": _utc_iso(facts.event_time),
        "passthrough": facts.passthrough,
    }
    for custom in custom_fields:
        replaced = yielded_field(custom.name)
        if replaced:
            # Saved before the field was standard: the seller's server reads it.
            fields.pop(replaced, None)
        elif is_reserved_name(custom.name):
            # The editor refuses reserved names; a row saved before that rule
            # must still never overwrite a standard value the seller relies on.
            continue
        fields[custom.name] = _custom_value(facts, custom)
    return fields


def _as_text(value: object) -> str:
    # Form and query encodings have no types; JSON-style booleans are what most
    # seller code compares against, and Python's "True" would surprise them.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _encode_pairs(fields: dict[str, object]) -> str:
    return urlencode([(name, _as_text(value)) for name, value in fields.items()])


def _with_query(url: str, query: str) -> str:
    # Keep the seller's own query parameters (e.g. ?product=pro) before ours.
    parts = urlsplit(url)
    combined = f"{parts.query}&{query}" if parts.query else query
    return _as_sent(urlunsplit(parts._replace(query=combined, fragment="")))


def _as_sent(url: str) -> str:
    # requests re-quotes URLs before sending (spaces, non-ASCII in the seller's own
    # query). Signing the URL requests will actually put on the wire keeps the GET
    # signature valid; a URL it cannot parse is left alone for the URL check to refuse.
    prepared = PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except RequestException:
        return url
    return prepared.url or url


def _encode_body(body_format: str, fields: dict[str, object]) -> tuple[bytes, str]:
    if body_format == "json":
        text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8"), "application/json"
    if body_format == "form":
        return _encode_pairs(fields).encode("ascii"), FORM_CONTENT_TYPE
    raise ValueError(f"Unknown body format: {body_format!r}")


def build_request(
    *,
    url: str,
    method: str,
    body_format: str,
    fields: dict[str, object],
    delivery_id: str,
    secrets: list[str],
    timestamp: int,
    user_agent: str,
) -> OutboundRequest:
    """The signed request exactly as it goes out.

    What is signed (the Standard Webhooks payload):
    - POST: the request body bytes exactly as sent (form-encoded or JSON).
    - GET: the full query string of the final URL, i.e. everything after '?'
      (the seller's own parameters from the Webhook URL, then ours), as ASCII
      bytes. Sellers verify with `urlsplit(request_url).query` or their
      framework's raw query string, never a re-encoded one.
    `webhook-id` is the delivery ID, the same on every retry.
    """
    method = method.upper()
    headers = {"User-Agent": user_agent}
    if method == "GET":
        final_url = _with_query(url, _encode_pairs(fields))
        body = b""
        signed = urlsplit(final_url).query.encode("ascii")
    elif method == "POST":
        final_url = url
        body, headers["Content-Type"] = _encode_body(body_format, fields)
        signed = body
    else:
        raise ValueError(f"Unsupported method: {method!r}")
    headers.update(
        sign(msg_id=delivery_id, timestamp=timestamp, payload=signed, secrets=secrets)
    )
    return OutboundRequest(method=method, url=final_url, headers=headers, body=body)


# --- Alerts: JSON events to the seller's Alerts URL --------------------------------

# The version of the alert body's shape; a change a seller's code could trip on
# gets a new date, and the old shape stays for sellers who pinned it.
ALERT_API_VERSION = "2026-11-01"


def utc_iso(moment: datetime) -> str:
    """A moment as sellers parse it in any language: UTC with a plain `Z`."""
    return _utc_iso(moment)


def alert_body(*, alert_type: str, created_at: datetime, data: dict) -> dict:
    """The versioned envelope of every alert."""
    return {
        "type": alert_type,
        "api_version": ALERT_API_VERSION,
        "created_at": _utc_iso(created_at),
        "data": data,
    }


def build_alert_request(
    *,
    url: str,
    body: dict,
    alert_id: str,
    secrets: list[str],
    timestamp: int,
    user_agent: str,
) -> OutboundRequest:
    """The signed POST of one alert: the JSON body exactly as sent is the signed
    payload, and `webhook-id` is the alert ID, the same on every retry."""
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"User-Agent": user_agent, "Content-Type": "application/json"}
    headers.update(
        sign(msg_id=alert_id, timestamp=timestamp, payload=data, secrets=secrets)
    )
    return OutboundRequest(method="POST", url=url, headers=headers, body=data)
