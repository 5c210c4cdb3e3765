"""The orders API's contract as an OpenAPI 3.1 document, and the view serving it.

Built from the same constants the API enforces (field lengths from
ApiOrderForm, the quantity range, the body limit, the status choices), so the
document cannot drift from them. Every error status lists the exact `code`s it
may carry: tests/web/orders/test_api_fuzz.py checks every answer against this
document, so an undocumented status or code fails the tests.
"""

from __future__ import annotations

from functools import cache
from typing import cast

from django import forms
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from emails.models import EmailStatus
from fulfillment.models import DeliveryStatus
from orders.aftersale import OrderState
from orders.inputs import JSON_MAX_INT_DIGITS
from orders.models import (
    MAX_QUANTITY,
    ApiScope,
    DisputeStatus,
    FulfillmentStatus,
    OrderEventKind,
)
from web.orders.api import API_MAX_BODY_BYTES, API_MAX_JSON_DEPTH, method_not_allowed
from web.orders.forms import (
    AMOUNT_PATTERN,
    REASON_MAX_LENGTH,
    ApiOrderForm,
    ApiRefundForm,
)

DESCRIPTION = f"""\
Payment providers create orders, read them back, and report what happens to
them after the sale: refunds and disputes (chargebacks). JSON only, server to
server.

Authenticate with `Authorization: Bearer <token>`; a token carries scopes
(`orders:write` to create, `orders:read` to read, `orders:refund` to report
refunds and disputes) and is rate limited per window (429 with `Retry-After`,
in seconds).

Amounts are strings in the order's currency, with at most two decimals
(`"12.50"`), never JSON numbers. A refund or dispute event is idempotent on the
provider's `event_id`: the same event again answers 200 with the first one's
record and changes nothing; the same `event_id` with other contents is 409
`event_conflict`.

Every error is `{{"error": {{"code", "message", "fields"}}}}`: `code` is stable
and machine-readable, `message` is for people, `fields` maps a field of the
request body to its messages (empty when the error is about no field).

Limits: a body of at most {API_MAX_BODY_BYTES} bytes (413 `payload_too_large`,
answered before the body is read when Content-Length says so; a chunked body is
read up to the limit), JSON nested at most {API_MAX_JSON_DEPTH} levels,
UTF-8 only, no NaN or Infinity, no integer of more than {JSON_MAX_INT_DIGITS}
digits (400 `invalid_json`). Text fields refuse NUL,
lone surrogates and control characters, tabs and line breaks included (400
`invalid_fields`, naming the field). A transaction_id in the URL that no order
could have (one with a NUL or control character) is simply not found (404
`order_not_found`); percent-encode it like any path segment. Any other method
on these URLs answers 405 `method_not_allowed` with `Allow`.
"""


def _error(*codes: str) -> dict:
    return {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "enum": list(codes)},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "array",
                            "items": {"type": "string"},
                        },
                    },
                },
            }
        },
    }


def _response(description: str, *codes: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": _error(*codes)}},
    }
    if headers:
        response["headers"] = headers
    return response


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _string(field: str, form=ApiOrderForm, **extra) -> dict:
    """A text field of a request, with the form's length limits."""
    form_field = cast(forms.CharField, form.base_fields[field])
    schema = {"type": "string", "maxLength": form_field.max_length, **extra}
    if form_field.min_length:
        schema["minLength"] = form_field.min_length
    return schema


ORDER_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["product", "quantity", "customer_email", "transaction_id"],
    "properties": {
        "product": _string("product", minLength=1, description="The product's slug."),
        "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
        "customer_email": _string("customer_email", format="email"),
        "customer_name": _string("customer_name") | {"type": ["string", "null"]},
        "transaction_id": _string(
            "transaction_id",
            description="The provider's id of the payment: the idempotency key.",
        ),
        "checkout_hash": _string("checkout_hash", pattern="^[A-Za-z0-9_-]*$")
        | {"type": ["string", "null"]},
        "passthrough": _string(
            "passthrough",
            description="The seller's own data for this order (say, their "
            "account id for the buyer), sent to the seller's webhook as the "
            "field `passthrough`, exactly as given; never shown to the customer. "
            "Opaque text: NUL, lone surrogates and control characters (tabs "
            "and line breaks included) are refused with 400 `invalid_fields`, "
            "as is a longer one. Part of the contents a replay must repeat.",
        )
        | {"type": ["string", "null"]},
    },
}

_MONEY = {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$"}
_AMOUNT = {
    "type": "string",
    "pattern": AMOUNT_PATTERN,
    "description": 'In the order\'s currency, greater than 0: `"12.50"`.',
    "example": "5.00",
}


def _event_request(*, extra: dict | None = None) -> dict:
    """A refund's or a dispute's request body."""
    form = ApiRefundForm
    properties = {
        "event_id": _string(
            "event_id",
            form,
            description="The provider's id of this event: the idempotency key.",
        ),
        "amount": _AMOUNT,
        "reason": _string("reason", form) | {"type": ["string", "null"]},
        "currency": _string(
            "currency",
            form,
            description="Optional; if given, it must be the order's currency.",
        )
        | {"type": ["string", "null"]},
        **(extra or {}),
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["event_id", "amount", *(extra or {})],
        "properties": properties,
    }


REFUND_REQUEST = _event_request()
DISPUTE_REQUEST = _event_request(
    extra={
        "status": {
            "type": "string",
            "enum": [status for status in DisputeStatus.values if status],
            "description": "opened, then won or lost (a close may come alone).",
        }
    }
)

ORDER_EVENT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["event_id", "kind", "amount", "reason", "created_at"],
    "properties": {
        "event_id": {"type": "string"},
        "kind": {
            "type": "string",
            "enum": [k for k in OrderEventKind.values if k != OrderEventKind.CANCEL],
        },
        "amount": _MONEY,
        "reason": {"type": "string", "maxLength": REASON_MAX_LENGTH},
        "created_at": {"type": "string", "format": "date-time"},
    },
}

ORDER_EVENT_RESULT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["event", "order"],
    "properties": {
        "event": _ref("schemas", "OrderEvent"),
        "order": _ref("schemas", "Order"),
    },
}

DELIVERY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["delivery_id", "item_index", "item_count", "quantity", "status"],
    "properties": {
        "delivery_id": {"type": "string"},
        "item_index": {"type": "integer", "minimum": 1},
        "item_count": {"type": "integer", "minimum": 1},
        "quantity": {"type": "integer", "minimum": 1},
        "status": {"type": "string", "enum": list(DeliveryStatus.values)},
    },
}

ORDER = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "transaction_id",
        "status",
        "email_status",
        "product",
        "quantity",
        "order_url",
        "created_at",
        "state",
        "total",
        "currency",
        "refunded_amount",
        "refundable_amount",
        "dispute_status",
        "cancelled_at",
        "deliveries",
    ],
    "properties": {
        "transaction_id": {"type": "string"},
        "status": {"type": "string", "enum": list(FulfillmentStatus.values)},
        "email_status": {"type": "string", "enum": list(EmailStatus.values)},
        "product": {"type": "string"},
        "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
        "order_url": {"type": "string", "format": "uri"},
        "created_at": {"type": "string", "format": "date-time"},
        "state": {
            "type": "string",
            "enum": list(OrderState.values),
            "description": "The fulfillment status, unless something happened "
            "after the sale: cancelled, charged_back, disputed, refunded or "
            "partially_refunded (in that precedence).",
        },
        "total": _MONEY,
        "currency": {"type": "string"},
        "refunded_amount": _MONEY,
        "refundable_amount": _MONEY,
        "dispute_status": {
            "type": ["string", "null"],
            "enum": [*(s for s in DisputeStatus.values if s), None],
        },
        "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
        "deliveries": {"type": "array", "items": _ref("schemas", "Delivery")},
    },
}


def _header(schema: dict) -> dict:
    return {"required": True, "schema": schema}


_TEXT = {"type": "string", "minLength": 1}
SHARED_RESPONSES = {
    "Unauthorized": _response(
        "No token, or an unknown or revoked one.",
        "unauthorized",
        headers={"WWW-Authenticate": _header(_TEXT)},
    ),
    "InsufficientScope": _response(
        "The token lacks the operation's scope.",
        "insufficient_scope",
        headers={"WWW-Authenticate": _header(_TEXT)},
    ),
    "MethodNotAllowed": _response(
        "Another method on this URL.",
        "method_not_allowed",
        headers={"Allow": _header(_TEXT)},
    ),
    "RateLimited": _response(
        "Too many requests with this token in the current window.",
        "rate_limited",
        headers={"Retry-After": _header({"type": "integer", "minimum": 1})},
    ),
}


def _order_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("schemas", "Order")}},
    }


def _guarded(responses: dict) -> dict:
    """An operation's own responses plus those of every token-guarded one."""
    return {
        **responses,
        "401": _ref("responses", "Unauthorized"),
        "403": _ref("responses", "InsufficientScope"),
        "405": _ref("responses", "MethodNotAllowed"),
        "429": _ref("responses", "RateLimited"),
    }


ORDERS_CREATE = {
    "operationId": "orders_create",
    "summary": "Create an order (idempotent on transaction_id).",
    "description": "Needs the `orders:write` scope. The same transaction_id with "
    "the same contents answers 200 with the existing order; with other contents, "
    "409 `transaction_conflict`.",
    "security": [{"bearerAuth": [ApiScope.ORDERS_WRITE]}],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": _ref("schemas", "OrderRequest"),
                "example": {
                    "product": "pixel-editor",
                    "quantity": 2,
                    "customer_email": "ada@example.com",
                    "customer_name": "Ada Lovelace",
                    "transaction_id": "txn-1001",
                    "passthrough": "acct_42",
                },
            }
        },
    },
    "responses": _guarded(
        {
            "200": _order_response("A replay: the order this transaction made."),
            "201": _order_response("Created, with its deliveries planned."),
            "400": _response(
                "The body is not a JSON object we accept (`invalid_json`), or "
                "fields are invalid (`invalid_fields`, messages per field): "
                "for example a `passthrough` over its maxLength or with a "
                "control character.",
                "invalid_json",
                "invalid_fields",
            ),
            "404": _response("No product with this slug.", "product_not_found"),
            "409": _response(
                "The product is not on sale, the transaction_id has an order "
                "with other contents, or the checkout_hash is taken.",
                "product_not_live",
                "transaction_conflict",
                "checkout_hash_conflict",
            ),
            "413": _response(
                f"The body is larger than {API_MAX_BODY_BYTES} bytes.",
                "payload_too_large",
            ),
        }
    ),
}

_TRANSACTION_ID = {
    "name": "transaction_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1},
    "example": "txn-1001",
}


ORDER_DETAIL = {
    "operationId": "order_detail",
    "summary": "Read an order with its current fulfillment states.",
    "description": "Needs the `orders:read` scope.",
    "security": [{"bearerAuth": [ApiScope.ORDERS_READ]}],
    "parameters": [_TRANSACTION_ID],
    "responses": _guarded(
        {
            "200": _order_response("The order."),
            "404": _response("No order with this transaction_id.", "order_not_found"),
        }
    ),
}


def _event_result(description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": _ref("schemas", "OrderEventResult")}
        },
    }


def _event_operation(
    *,
    operation_id: str,
    summary: str,
    description: str,
    schema: str,
    example: dict,
    conflicts: dict[str, str],
) -> dict:
    """A refund or dispute report: the same contract, its own body and its own
    409 codes (`conflicts`, each with when it is answered)."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "security": [{"bearerAuth": [ApiScope.ORDERS_REFUND]}],
        "parameters": [_TRANSACTION_ID],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": _ref("schemas", schema),
                    "example": example,
                }
            },
        },
        "responses": _guarded(
            {
                "200": _event_result("A replay: the event this event_id recorded."),
                "201": _event_result("Recorded; the order as it is now."),
                "400": _response(
                    "The body is not a JSON object we accept (`invalid_json`), "
                    "fields are invalid (`invalid_fields`), or the amount is more "
                    "than the order still holds (`amount_too_large`, with a "
                    "message on `amount`).",
                    "invalid_json",
                    "invalid_fields",
                    "amount_too_large",
                ),
                "404": _response(
                    "No order with this transaction_id.", "order_not_found"
                ),
                "409": _response("; ".join(conflicts.values()) + ".", *conflicts),
                "413": _response(
                    f"The body is larger than {API_MAX_BODY_BYTES} bytes.",
                    "payload_too_large",
                ),
            }
        ),
    }


_EVENT_CONFLICT = "The event_id was used with other contents"

ORDER_REFUNDS = _event_operation(
    operation_id="order_refunds",
    summary="Report a refund of the order (idempotent on event_id).",
    description="Needs the `orders:refund` scope. Full or partial: at most what "
    "is still refundable (the total less earlier refunds and a lost dispute). A "
    "refund that leaves nothing paid stops the order's deliveries still "
    "waiting. The customer gets one short email per refund.",
    schema="RefundRequest",
    example={"event_id": "re-2001", "amount": "5.00", "reason": "Asked by customer"},
    conflicts={"event_conflict": _EVENT_CONFLICT},
)

ORDER_DISPUTES = _event_operation(
    operation_id="order_disputes",
    summary="Report a dispute (chargeback) opened, won or lost.",
    description="Needs the `orders:refund` scope. One dispute per order: opened "
    "once, then won or lost once. A lost dispute stops the order's deliveries "
    "still waiting, like a full refund.",
    schema="DisputeRequest",
    example={"event_id": "dp-3001", "status": "opened", "amount": "19.00"},
    conflicts={
        "event_conflict": _EVENT_CONFLICT,
        "dispute_conflict": "The order's dispute cannot move to this status "
        "(opened twice, or closed twice)",
    },
)

OPENAPI_DOCUMENT = {
    "get": {
        "operationId": "openapi_document",
        "summary": "This document. Public: no token.",
        "security": [],
        "responses": {
            "200": {
                "description": "The OpenAPI document.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "405": _ref("responses", "MethodNotAllowed"),
        },
    }
}


@cache
def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Orders API", "version": "1", "description": DESCRIPTION},
        "paths": {
            "/api/v1/orders": {"post": ORDERS_CREATE},
            "/api/v1/orders/{transaction_id}": {"get": ORDER_DETAIL},
            "/api/v1/orders/{transaction_id}/refunds": {"post": ORDER_REFUNDS},
            "/api/v1/orders/{transaction_id}/disputes": {"post": ORDER_DISPUTES},
            "/api/v1/openapi.json": OPENAPI_DOCUMENT,
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`manage.py api_token_create` or "
                    "Django admin), with the scopes orders:read, orders:write "
                    "and/or orders:refund.",
                }
            },
            "schemas": {
                "OrderRequest": ORDER_REQUEST,
                "Order": ORDER,
                "Delivery": DELIVERY,
                "RefundRequest": REFUND_REQUEST,
                "DisputeRequest": DISPUTE_REQUEST,
                "OrderEvent": ORDER_EVENT,
                "OrderEventResult": ORDER_EVENT_RESULT,
            },
            "responses": SHARED_RESPONSES,
        },
    }


@csrf_exempt
def openapi_json(request: HttpRequest) -> JsonResponse:
    """The contract, public: a provider's tooling reads it before it has a token."""
    if request.method != "GET":
        return method_not_allowed("GET")
    return JsonResponse(openapi_document())
