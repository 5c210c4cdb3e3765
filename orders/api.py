"""The orders API for payment providers: server to server, JSON only.

`POST /api/v1/orders` creates an order (idempotent on transaction_id) and
`GET /api/v1/orders/<transaction_id>` reads it back with current states. Every
error is `{"error": {"code", "message", "fields"}}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from orders.auth import api_token_authenticate
from orders.errors import OrderError
from orders.models import Order
from orders.selectors import order_deliveries, order_get_by_transaction_id
from orders.services import order_create_from_api


def error_response(
    code: str,
    message: str,
    *,
    status: int,
    fields: dict[str, list[str]] | None = None,
) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return JsonResponse(body, status=status)


def order_json(order: Order) -> dict:
    return {
        "transaction_id": order.transaction_id,
        "status": order.fulfillment_status,
        "email_status": order.email_status,
        "product": order.product.slug,
        "quantity": order.quantity,
        "order_url": settings.SITE_URL
        + reverse("orders:order", kwargs={"token": order.token}),
        "created_at": order.completed_at.isoformat(),
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


def api_view(method: str) -> Callable:
    """csrf-exempt, one HTTP method, Bearer token required, OrderError -> JSON."""

    def decorator(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> JsonResponse:
            if request.method != method:
                response = error_response(
                    "method_not_allowed",
                    f"Use {method} on this URL.",
                    status=405,
                )
                response["Allow"] = method
                return response
            if api_token_authenticate(request) is None:
                response = error_response(
                    "unauthorized",
                    "Send a valid API token: 'Authorization: Bearer <token>'.",
                    status=401,
                )
                response["WWW-Authenticate"] = 'Bearer realm="orders"'
                return response
            try:
                return view(request, *args, **kwargs)
            except OrderError as exc:
                return error_response(
                    exc.code, exc.message, status=exc.status, fields=exc.fields
                )

        return wrapper

    return decorator


@api_view("POST")
def orders_create(request: HttpRequest) -> JsonResponse:
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return error_response("invalid_json", "The body is not valid JSON.", status=400)
    order, created = order_create_from_api(data=data)
    order = order_get_by_transaction_id(transaction_id=order.transaction_id)
    return JsonResponse(order_json(order), status=201 if created else 200)


@api_view("GET")
def order_detail(request: HttpRequest, transaction_id: str) -> JsonResponse:
    order = order_get_by_transaction_id(transaction_id=transaction_id)
    if order is None:
        return error_response(
            "order_not_found", "No order with this transaction_id.", status=404
        )
    return JsonResponse(order_json(order))
