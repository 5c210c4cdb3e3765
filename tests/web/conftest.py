"""Fixtures of the pages and the orders API: an API token and ways to reach
states (the live product is in tests/conftest.py).

Who may see what: the public (no login) sees live products and an order page only
through its secret token; payment providers reach the API with a Bearer token;
charlie (staff) uses Django admin.
"""

from __future__ import annotations

import json
import logging

import pytest

from orders.services import api_token_create


@pytest.fixture
def api_token(db):
    """The raw secret of a valid token, as a payment provider would hold it."""
    _, raw = api_token_create(name="Test provider")
    return raw


@pytest.fixture
def api_post(client, api_token):
    def post(body, *, token=api_token):
        content = body if isinstance(body, str | bytes) else json.dumps(body)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.post(
            "/api/v1/orders",
            data=content,
            content_type="application/json",
            headers=headers,
        )

    return post


@pytest.fixture
def order_body():
    return {
        "product": "pixel-editor",
        "quantity": 2,
        "customer_email": "Buyer@Example.com",
        "customer_name": "Bea Buyer",
        "transaction_id": "txn_1001",
    }


@pytest.fixture
def no_errors_logged(caplog):
    """Malformed input is the client's mistake: a WARNING line at most, nothing
    at ERROR and no traceback, or anyone could flood the error log."""
    caplog.set_level(logging.INFO)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]
