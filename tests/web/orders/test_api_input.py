"""The orders API and malformed input: text no field may hold, JSON out of
bounds, bodies past the limit or without a length. Each gets a 4xx from the
contract, logged below ERROR, never a 500."""

from __future__ import annotations

import io
import json

import pytest

from orders.models import Order
from web.orders import api

pytestmark = pytest.mark.django_db


def _fields(response) -> dict:
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_fields"
    return error["fields"]


@pytest.mark.parametrize(
    "field", ["product", "transaction_id", "customer_name", "customer_email"]
)
def test_a_lone_surrogate_is_a_field_error_naming_the_field(
    live_product, api_post, order_body, no_errors_logged, field
):
    # json.dumps writes it as the escape "\ud800", valid JSON syntax.
    response = api_post({**order_body, field: "a\ud800b"})

    assert _fields(response) == {
        field: ["Must be valid Unicode text (no lone surrogates)."]
    }
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\x00b", "Must not contain NUL characters."),
        ("a\x1b[2Jb", "Must not contain control characters (tabs, line breaks…)."),
        (
            "Bea\nBcc: x@example.com",
            "Must not contain control characters (tabs, line breaks…).",
        ),
    ],
)
def test_nul_and_control_characters_are_field_errors(
    live_product, api_post, order_body, no_errors_logged, value, message
):
    response = api_post({**order_body, "customer_name": value})

    assert _fields(response) == {"customer_name": [message]}


@pytest.mark.parametrize("path", ["%00", "a%00b", "a%0Ab", "%1B", "%ED%A0%80", ""])
def test_get_of_an_id_no_order_can_have_is_404_json(
    client, api_token, no_errors_logged, path
):
    response = client.get(
        f"/api/v1/orders/{path}", headers={"Authorization": f"Bearer {api_token}"}
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"


@pytest.mark.parametrize("nesting", [33, 1_000, 30_000])
def test_json_nested_too_deep_is_400_invalid_json(
    live_product, api_post, no_errors_logged, nesting
):
    response = api_post("[" * nesting + "]" * nesting)

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_json",
        "message": "The body nests deeper than 32 levels.",
        "fields": {},
    }


def test_nan_is_400_invalid_json(live_product, api_post, order_body):
    response = api_post(json.dumps({**order_body, "quantity": float("nan")}))

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "NaN is not a JSON value."


def test_a_body_that_is_not_utf8_is_400_invalid_json(live_product, api_post):
    response = api_post(b'{"product": "\xed\xa0\x80"}')

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The body is not UTF-8."


# --- The body limit ---------------------------------------------------------------


def test_a_body_over_the_limit_is_413_json(live_product, api_post, no_errors_logged):
    response = api_post("x" * (api.API_MAX_BODY_BYTES + 1))

    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "The body is larger than 65536 bytes.",
        "fields": {},
    }


def test_a_body_of_3_mb_never_reaches_djangos_limit(
    live_product, api_post, no_errors_logged
):
    # Above DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), where Django answers an HTML
    # 400 and logs RequestDataTooBig at ERROR with a traceback.
    response = api_post("x" * 3_000_000)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"


class _Unread(io.BytesIO):
    def read(self, *args):
        raise AssertionError("the body was read")


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client, live_product, api_token
):
    response = client.generic(
        "POST",
        "/api/v1/orders",
        headers={"Authorization": f"Bearer {api_token}"},
        CONTENT_LENGTH=str(api.API_MAX_BODY_BYTES + 1),
        **{"wsgi.input": _Unread()},
    )

    assert response.status_code == 413


def test_a_content_length_that_is_not_a_number_is_400(client, live_product, api_token):
    response = client.generic(
        "POST",
        "/api/v1/orders",
        b"{}",
        headers={"Authorization": f"Bearer {api_token}"},
        CONTENT_LENGTH="²",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


# --- Bodies without a length (Transfer-Encoding: chunked) ------------------------


def _post_chunked(client, api_token, stream) -> object:
    """POST as gunicorn hands a chunked body over: no CONTENT_LENGTH, the
    decoded body in wsgi.input up to its end, wsgi.input_terminated set."""
    return client.generic(
        "POST",
        "/api/v1/orders",
        headers={"Authorization": f"Bearer {api_token}"},
        CONTENT_LENGTH="",
        **{"wsgi.input": stream, "wsgi.input_terminated": True},
    )


def test_a_chunked_order_is_read_to_its_end_and_created(
    client, live_product, api_token, order_body
):
    response = _post_chunked(
        client, api_token, io.BytesIO(json.dumps(order_body).encode())
    )

    assert response.status_code == 201
    assert Order.objects.get().transaction_id == "txn_1001"


def test_a_chunked_body_over_the_limit_is_413(client, live_product, api_token):
    endless = io.BytesIO(b" " * (3 * api.API_MAX_BODY_BYTES))

    response = _post_chunked(client, api_token, endless)

    assert response.status_code == 413
    # Read no further than the limit and one byte to know it was passed.
    assert endless.tell() == api.API_MAX_BODY_BYTES + 1


class _Broken(io.BytesIO):
    def read(self, *args):
        raise ValueError("Invalid chunk size")  # as gunicorn's ParseException


def test_a_chunked_body_that_cannot_be_read_is_400(
    client, live_product, api_token, no_errors_logged
):
    response = _post_chunked(client, api_token, _Broken())

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The body could not be read."
