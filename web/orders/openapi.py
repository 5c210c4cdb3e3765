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
from orders.inputs import JSON_MAX_INT_DIGITS
from orders.models import MAX_QUANTITY, ApiScope, FulfillmentStatus
from web.orders.api import API_MAX_BODY_BYTES, API_MAX_JSON_DEPTH, method_not_allowed
from web.orders.forms import ApiOrderForm

DESCRIPTION = f"""\
Payment providers create orders and read them back. JSON only, server to server.

Authenticate with `Authorization: Bearer <token>`; a token carries scopes
(`orders:write` to create, `orders:read` to read) and is rate limited per
window (429 with `Retry-After`, in seconds).

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


def _string(field: str, **extra) -> dict:
    """A text field of the order, with the form's length limits."""
    form_field = cast(forms.CharField, ApiOrderForm.base_fields[field])
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

ORDER_DETAIL = {
    "operationId": "order_detail",
    "summary": "Read an order with its current fulfillment states.",
    "description": "Needs the `orders:read` scope.",
    "security": [{"bearerAuth": [ApiScope.ORDERS_READ]}],
    "parameters": [
        {
            "name": "transaction_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
            "example": "txn-1001",
        }
    ],
    "responses": _guarded(
        {
            "200": _order_response("The order."),
            "404": _response("No order with this transaction_id.", "order_not_found"),
        }
    ),
}

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
            "/api/v1/openapi.json": OPENAPI_DOCUMENT,
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`manage.py api_token_create` or "
                    "Django admin), with the scopes orders:read and/or orders:write.",
                }
            },
            "schemas": {
                "OrderRequest": ORDER_REQUEST,
                "Order": ORDER,
                "Delivery": DELIVERY,
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
