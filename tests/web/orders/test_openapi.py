from __future__ import annotations

import pytest

from orders.models import MAX_QUANTITY, PASSTHROUGH_MAX_LENGTH

pytestmark = pytest.mark.django_db


def test_the_openapi_document_is_public_json(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/api/v1/orders",
        "/api/v1/orders/{transaction_id}",
        "/api/v1/orders/{transaction_id}/refunds",
        "/api/v1/orders/{transaction_id}/disputes",
        "/api/v1/openapi.json",
    }


def test_the_document_states_the_limits_the_api_enforces(client):
    document = client.get("/api/v1/openapi.json").json()
    order = document["components"]["schemas"]["OrderRequest"]["properties"]
    create = document["paths"]["/api/v1/orders"]["post"]

    assert order["quantity"]["maximum"] == MAX_QUANTITY
    assert order["transaction_id"]["maxLength"] == 200
    assert order["passthrough"]["maxLength"] == PASSTHROUGH_MAX_LENGTH
    assert "passthrough" in create["responses"]["400"]["description"]
    assert "65536 bytes" in create["responses"]["413"]["description"]


def test_other_methods_on_the_document_are_405_json(client):
    response = client.post("/api/v1/openapi.json")

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["error"]["code"] == "method_not_allowed"
