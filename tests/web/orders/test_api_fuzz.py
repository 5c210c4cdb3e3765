"""The orders API against its own OpenAPI document, by schemathesis.

The document is loaded from the running app (`GET /api/v1/openapi.json`
through the WSGI application), and schemathesis generates requests for every
operation from it: valid ones and, in its negative mode, ones that break the
schema (wrong types, missing or extra fields, too long, bad patterns). Each
answer must not be a server error and must conform to the document: a
documented status, JSON, a body matching that status's schema (the error codes
are enums there), the documented headers (Retry-After, Allow, ...).
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orders.services import api_token_create
from web.orders.openapi import openapi_document
from web.orders.services import order_create_from_api

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Per operation and per phase (examples, coverage, fuzzing): enough to find
# the probe's kind of input, few enough that the file runs in seconds.
MAX_EXAMPLES = 300


# Loaded when pytest collects this file, as the API serves it (the view needs
# no database). schemathesis' lazy `from_fixture` loader would be the natural
# fit but renames pytest nodes through an attribute pytest 9.2 no longer has.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
schema.config.generation.update(
    modes=list(GenerationMode),
    max_examples=MAX_EXAMPLES,
    # The same requests on every run, and no example database written into the
    # checkout (.hypothesis/): CI must be repeatable and leave the tree clean.
    deterministic=True,
    database="none",
    # Our token in every request, not one schemathesis makes up: a made-up
    # one only ever meets the 401 it has checked a few times already.
    with_security_parameters=False,
)


@pytest.fixture
def api_app(db, settings):
    """The app as the fuzzer calls it: in this thread, inside the test's
    transaction, with a limit that the fuzzer's few hundred requests stay under
    (the limiter has its own tests, and its 429 is checked like any answer)."""
    settings.API_RATE_LIMIT = "1000000/60"
    # Each request would start and end by closing the test's database
    # connection, and with it the transaction the fixtures live in; Django's
    # test client disconnects the same receiver around its requests.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_the_document_is_valid_openapi():
    schema.validate()


@pytest.fixture
def statuses(capsys):
    """The statuses an operation answered, printed with the run's output."""
    seen: Counter[tuple[str, int]] = Counter()
    yield seen
    with capsys.disabled():  # the figures belong in the test run's output
        for label in sorted({label for label, _ in seen}):
            counts = {status: n for (op, status), n in seen.items() if op == label}
            listed = ", ".join(
                f"{n} x {status}" for status, n in sorted(counts.items())
            )
            print(f"\nschemathesis {label}: {sum(counts.values())} requests: {listed}")


@pytest.fixture
def example_order(live_product):
    """The order of the document's POST example, so that the GET example finds
    it (200) and the POST example replays it (200); fuzzed ones make others."""
    operation = openapi_document()["paths"]["/api/v1/orders"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    order, _ = order_create_from_api(data=example)
    return order


# One test per operation. pytest 9.2 gives both the same node id (it builds
# ids from the function's name, not the name schemathesis sets); the figures
# printed by `statuses` say which operation each is.
@schema.parametrize()
# pytest-django's database, the token and the product are function-scoped
# fixtures, shared by every example of an operation; that is the point (one
# token, one live product), so Hypothesis' warning about it does not apply.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_answer_conforms_to_the_openapi_document(
    case, api_app, example_order, api_token, statuses
):
    response = case.call(headers={"Authorization": f"Bearer {api_token}"})
    statuses[case.operation.label, response.status_code] += 1
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize(
    ("scopes", "limit", "status"),
    [
        (None, "100/60", 401),  # no such token
        (["orders:write"], "100/60", 403),
        (["orders:read"], "1/60", 429),
    ],
)
def test_refusals_the_fuzzer_does_not_reach_conform_too(
    api_app, example_order, settings, scopes, limit, status
):
    settings.API_RATE_LIMIT = limit
    raw = api_token_create(name="Provider", scopes=scopes)[1] if scopes else "fk_no"
    case = schema["/api/v1/orders/{transaction_id}"]["GET"].Case(
        path_parameters={"transaction_id": "txn-1001"}
    )

    responses = [case.call(headers={"Authorization": f"Bearer {raw}"}) for _ in "12"]

    assert responses[-1].status_code == status
    case.validate_response(responses[-1], checks=CHECKS)
