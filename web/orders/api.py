"""The orders API for payment providers: server to server, JSON only.

`POST /api/v1/orders` creates an order (idempotent on transaction_id) and
`GET /api/v1/orders/<transaction_id>` reads it back with current states;
`POST /api/v1/orders/<transaction_id>/refunds` and `/disputes` report what
happened to it after the sale (idempotent on the provider's event_id). Every
error is `{"error": {"code", "message", "fields"}}`. Creating needs a token with
the `orders:write` scope, reading `orders:read`, reporting refunds and disputes
`orders:refund` (403 `insufficient_scope`);
each token is rate limited (429 `rate_limited` with `Retry-After`). A body
over API_MAX_BODY_BYTES is refused (413 `payload_too_large`) before it is read.
The contract is published as OpenAPI at `GET /api/v1/openapi.json`
(web/orders/openapi.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from emails.models import EmailStatus
from emails.selectors import email_of
from orders.aftersale import order_refundable, order_state
from orders.auth import api_token_authenticate
from orders.errors import OrderError
from orders.inputs import JsonRefused, json_parse_bounded
from orders.models import ApiScope, ApiToken, Order, OrderEvent
from orders.ratelimit import RateDecision, api_rate_limit_hit
from web.orders.aftersale import order_dispute_from_api, order_refund_from_api
from web.orders.selectors import (
    order_deliveries,
    order_get_by_pk,
    order_get_by_transaction_id,
)
from web.orders.services import order_create_from_api

# An order is a few hundred bytes; 64 KiB leaves room for long names and future
# fields while keeping what one request can make us read small.
API_MAX_BODY_BYTES = 64 * 1024
# An order is a flat object (depth 1); a little room, never the thousands of
# levels that exhaust the json module's recursion.
API_MAX_JSON_DEPTH = 32


class ApiRequest(HttpRequest):
    """A request `api_view` let through, with the token it presented. (A type
    only: the decorator sets the attribute.)"""

    api_token: ApiToken


def error_response(
    code: str,
    message: str,
    *,
    status: int,
    fields: dict[str, list[str]] | None = None,
) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return JsonResponse(body, status=status)


def _email_status(order: Order) -> str:
    """The order's email status as the API reports it."""
    if order.planned_deliveries is not None and order.product.uses_webhook:
        # Placed by this request: its email is opened when it is fulfilled, and
        # the answer reports the order as placed, like its planned deliveries.
        return EmailStatus.NOT_SENT
    email = email_of(order)
    return email.status if email else EmailStatus.NOT_SENT


def order_json(order: Order) -> dict:
    return {
        "transaction_id": order.transaction_id,
        "status": order.fulfillment_status,
        "email_status": _email_status(order),
        "product": order.product.slug,
        "quantity": order.quantity,
        "order_url": settings.SITE_URL
        + reverse("orders:order", kwargs={"token": order.token}),
        "created_at": order.completed_at.isoformat(),
        "state": order_state(order),
        "total": _money(order.total),
        "currency": order.currency,
        "refunded_amount": _money(order.refunded_amount),
        "refundable_amount": _money(order_refundable(order)),
        "dispute_status": order.dispute_status or None,
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "deliveries": [
            {
                "delivery_id": d.delivery_id,
                "item_index": d.item_index,
                "item_count": d.item_count,
                "quantity": d.quantity,
                "status": d.status,
            }
            for d in order_deliveries(order=order)
        ],
    }


def _money(amount) -> str:
    return f"{amount:.2f}"


def order_event_json(event: OrderEvent, order: Order) -> dict:
    """A reported refund or dispute event, with its order as it is now."""
    return {
        "event": {
            "event_id": event.provider_event_id,
            "kind": event.kind,
            "amount": _money(event.amount),
            "reason": event.reason,
            "created_at": event.created_at.isoformat(),
        },
        "order": order_json(order),
    }


def method_not_allowed(method: str) -> JsonResponse:
    response = error_response(
        "method_not_allowed", f"Use {method} on this URL.", status=405
    )
    response["Allow"] = method
    return response


def _unauthorized() -> JsonResponse:
    response = error_response(
        "unauthorized",
        "Send a valid API token: 'Authorization: Bearer <token>'.",
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="orders"'
    return response


def _rate_limited(decision: RateDecision) -> JsonResponse:
    response = error_response(
        "rate_limited",
        f"Too many requests with this token: at most {decision.limit} per window. "
        f"Retry after {decision.retry_after} seconds.",
        status=429,
    )
    response["Retry-After"] = str(decision.retry_after)
    return response


def _insufficient_scope(scope: str) -> JsonResponse:
    response = error_response(
        "insufficient_scope", f"This token lacks the '{scope}' scope.", status=403
    )
    response["WWW-Authenticate"] = (
        f'Bearer realm="orders", error="insufficient_scope", scope="{scope}"'
    )
    return response


def _refusal(request: HttpRequest, *, method: str, scope: str) -> JsonResponse | None:
    """Why this request may not reach the view, or None when it may.

    Order matters: anonymous requests are answered 401 before any counting, and
    a token is counted before its scope is checked, so a token hammering a URL it
    may not use is throttled like any other.
    """
    if request.method != method:
        return method_not_allowed(method)
    token = api_token_authenticate(request)
    if token is None:
        return _unauthorized()
    decision = api_rate_limit_hit(token_pk=token.pk)
    if not decision.allowed:
        return _rate_limited(decision)
    if not token.has_scope(scope):
        return _insufficient_scope(scope)
    # Let through: the view may need to know who asked (after-sale events
    # record the provider's token).
    cast(ApiRequest, request).api_token = token
    return None


def api_view(method: str, *, scope: str) -> Callable:
    """csrf-exempt, one HTTP method, a Bearer token with `scope`, rate limited,
    OrderError -> JSON."""

    def decorator(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> JsonResponse:
            refusal = _refusal(request, method=method, scope=scope)
            if refusal is not None:
                return refusal
            try:
                return view(request, *args, **kwargs)
            except OrderError as exc:
                return error_response(
                    exc.code, exc.message, status=exc.status, fields=exc.fields
                )

        return wrapper

    return decorator


def _payload_too_large() -> OrderError:
    return OrderError(
        "payload_too_large",
        f"The body is larger than {API_MAX_BODY_BYTES} bytes.",
        status=413,
    )


def _body_read(request: HttpRequest) -> bytes:
    """The request body, at most API_MAX_BODY_BYTES of it, or a 413.

    A declared length is checked before anything is read, so Django's own limit
    (DATA_UPLOAD_MAX_MEMORY_SIZE, an HTML 400 logged as an ERROR) is never
    reached. A chunked body has no length: Django would read nothing of it, so it
    is read here to its end, which a server that decodes chunks marks with
    `wsgi.input_terminated` (gunicorn), and no further than the limit.
    """
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared and not (declared.isascii() and declared.isdigit()):
        raise OrderError("invalid_json", "Content-Length is not a number.")
    if declared and int(declared) > API_MAX_BODY_BYTES:
        raise _payload_too_large()
    chunked = not declared and request.META.get("wsgi.input_terminated")
    try:
        if not chunked:
            return request.body
        body = request.META["wsgi.input"].read(API_MAX_BODY_BYTES + 1)
    # The server's stream fails in its own ways (a connection reset, a malformed
    # chunk: gunicorn's ParseException is no OSError); each means the same.
    except Exception:
        raise OrderError("invalid_json", "The body could not be read.") from None
    if len(body) > API_MAX_BODY_BYTES:
        raise _payload_too_large()
    return body


def _json_body(request: HttpRequest) -> Any:
    try:
        return json_parse_bounded(_body_read(request), max_depth=API_MAX_JSON_DEPTH)
    except JsonRefused as exc:
        raise OrderError("invalid_json", str(exc)) from None


@api_view("POST", scope=ApiScope.ORDERS_WRITE)
def orders_create(request: HttpRequest) -> JsonResponse:
    order, created = order_create_from_api(data=_json_body(request))
    return JsonResponse(order_json(order), status=201 if created else 200)


@api_view("GET", scope=ApiScope.ORDERS_READ)
def order_detail(request: HttpRequest, transaction_id: str) -> JsonResponse:
    order = order_get_by_transaction_id(transaction_id=transaction_id)
    if order is None:
        return error_response(
            "order_not_found", "No order with this transaction_id.", status=404
        )
    return JsonResponse(order_json(order))


def _event_answer(event: OrderEvent, created: bool) -> JsonResponse:
    order = order_get_by_pk(pk=event.order_id)
    return JsonResponse(order_event_json(event, order), status=201 if created else 200)


@api_view("POST", scope=ApiScope.ORDERS_REFUND)
def order_refunds(request: HttpRequest, transaction_id: str) -> JsonResponse:
    event, created = order_refund_from_api(
        transaction_id=transaction_id,
        data=_json_body(request),
        token=cast(ApiRequest, request).api_token,
    )
    return _event_answer(event, created)


@api_view("POST", scope=ApiScope.ORDERS_REFUND)
def order_disputes(request: HttpRequest, transaction_id: str) -> JsonResponse:
    event, created = order_dispute_from_api(
        transaction_id=transaction_id,
        data=_json_body(request),
        token=cast(ApiRequest, request).api_token,
    )
    return _event_answer(event, created)
