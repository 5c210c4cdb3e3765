"""What the orders API's OpenAPI document promises about an answer, for the
tests that check answers themselves (property tests, the malformed-input table)
rather than through schemathesis."""

from __future__ import annotations

import json

from web.orders.openapi import openapi_document


def _resolve(node: dict) -> dict:
    document = openapi_document()
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = document["components"][kind][name]
    return node


def documented_codes(path: str, method: str, status: int) -> list[str]:
    """The error codes the document allows for this status of this operation."""
    responses = openapi_document()["paths"][path][method.lower()]["responses"]
    if str(status) not in responses:
        raise AssertionError(f"{method} {path} documents no {status}")
    schema = _resolve(responses[str(status)])["content"]["application/json"]
    error = _resolve(schema["schema"])["properties"]["error"]
    return error["properties"]["code"]["enum"]


def assert_documented_answer(
    path: str, method: str, status: int, content: bytes
) -> dict:
    """The JSON body of an answer the document allows: an order for 200 and 201,
    an error with a documented code otherwise. Returns the body."""
    body = json.loads(content)
    if status in (200, 201):
        order = _resolve(openapi_document()["components"]["schemas"]["Order"])
        assert set(body) == set(order["required"]), body
        return body
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert error["code"] in documented_codes(path, method, status), (status, error)
    assert isinstance(error["message"], str) and error["message"]
    assert all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        for messages in error["fields"].values()
    ), error
    return body
