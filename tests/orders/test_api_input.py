"""The orders API and malformed input: text no field may hold. Each gets a 4xx
from the contract, logged below ERROR, never a 500."""

from __future__ import annotations

import pytest

from orders.models import Order

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


@pytest.mark.parametrize("path", ["%00", "a%00b", "%1B", "%ED%A0%80"])
def test_get_of_an_id_no_order_can_have_is_404_json(
    client, api_token, no_errors_logged, path
):
    response = client.get(
        f"/api/v1/orders/{path}", headers={"Authorization": f"Bearer {api_token}"}
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
