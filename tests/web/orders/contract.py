"""What the orders API's OpenAPI document promises about an answer, for the
tests that check answers themselves (property tests, the malformed-input table)
rather than through schemathesis."""

from __future__ import annotations

import json
import re

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
        responses = openapi_document()["paths"][path][method.lower()]["responses"]
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        assert_conforms(body, schema)
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


_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "null": type(None),
    "boolean": bool,
}


def assert_conforms(value, schema: dict, where: str = "body") -> None:
    """`value` fits `schema` as far as this API's documents go: object keys
    (required, no others), types, enums, string patterns, array items. Enough
    for our own answers; the fuzz test runs schemathesis' full validation."""
    schema = _resolve(schema)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        assert isinstance(value, tuple(_TYPES[k] for k in kinds)), (where, value)
    if "enum" in schema:
        assert value in schema["enum"], (where, value)
    if isinstance(value, str) and "pattern" in schema:
        assert re.search(schema["pattern"], value), (where, value)
    if isinstance(value, dict) and "properties" in schema:
        assert set(schema.get("required", [])) <= set(value), (where, value)
        assert set(value) <= set(schema["properties"]), (where, value)
        for key, item in value.items():
            assert_conforms(item, schema["properties"][key], f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            assert_conforms(item, schema["items"], f"{where}[{index}]")
