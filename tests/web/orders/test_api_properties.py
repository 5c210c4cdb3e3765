"""Property tests: hostile input anywhere gets an answer from the contract.

Hypothesis generates what schemathesis does not (its strings are valid UTF-8
without lone surrogates): NUL, lone surrogates and control characters in every
field of the POST body, in the URL path of the GET, and in the token; values of
every JSON type in every field; bytes that are not UTF-8; JSON nested far too
deep; bodies past the limit. Every answer must be 2xx or 4xx with the body the
OpenAPI document gives that status (tests/web/orders/contract.py), never a 500, and
nothing may be logged at ERROR.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.orders.contract import assert_documented_answer

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
ORDER = "/api/v1/orders/{transaction_id}"

# The same examples on every run and no example database in the checkout; the
# database, the client and the token are function-scoped fixtures shared by
# every example on purpose (one live product, one token), so Hypothesis'
# warning about them does not apply. Some examples are 70 KB or 40,000 levels
# deep: no deadline.
PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SURROGATES = st.characters(categories=["Cs"])
CONTROLS = st.characters(categories=["Cc"])  # NUL, the other C0s, DEL, C1
# Any code point at all: Hypothesis leaves surrogates out unless asked.
ANY_CHAR = st.characters() | SURROGATES | CONTROLS
# The characters that broke the API, and their kin, where a real value has them.
HOSTILE_CHARS = st.sampled_from(["\x00", "\ud800", "\udfff", "\x1b", "\n", "\x85"])
HOSTILE_TEXT = st.one_of(
    st.builds(
        lambda before, char, after: before + char + after,
        st.text(max_size=10),
        HOSTILE_CHARS | SURROGATES | CONTROLS,
        st.text(max_size=10),
    ),
    st.text(ANY_CHAR, max_size=30),
    # Around and past every field's maximum length (80, 200, 254).
    st.text(st.characters(), min_size=70, max_size=300),
    # Past the body limit, once serialised.
    st.just("x" * 70_000),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),  # NaN/Infinity: not JSON
    HOSTILE_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(ANY_CHAR, max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = (
    "product",
    "quantity",
    "customer_email",
    "customer_name",
    "transaction_id",
    "checkout_hash",
)
# A valid order for the live product, each with its own transaction.
VALID_BODIES = st.integers(min_value=1, max_value=10**9).map(
    lambda n: {
        "product": "pixel-editor",
        "quantity": 2,
        "customer_email": "ada@example.com",
        "customer_name": "Ada",
        "transaction_id": f"txn-{n}",
    }
)
ORDER_BODIES = st.one_of(
    # One field hostile, the others valid: the input reaches every step the
    # valid ones do (fingerprint, insert), where the 500s were.
    st.builds(
        lambda body, field, value: {**body, field: value},
        VALID_BODIES,
        st.sampled_from(FIELDS),
        HOSTILE_TEXT | JSON_VALUES,
    ),
    # One field missing.
    st.builds(
        lambda body, field: {k: v for k, v in body.items() if k != field},
        VALID_BODIES,
        st.sampled_from(FIELDS),
    ),
    # Anything at all: known keys with any values, unknown keys.
    st.dictionaries(
        st.sampled_from(FIELDS) | st.text(ANY_CHAR, max_size=8),
        JSON_VALUES,
        max_size=8,
    ),
)
DEEP_JSON = st.integers(min_value=1, max_value=40_000).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, "[" * n])
)
RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    DEEP_JSON.map(str.encode),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
)


@pytest.fixture
def hostile(client, live_product, api_token, settings, no_errors_logged):
    """Send hostile requests; afterwards, nothing may have been logged at ERROR."""
    settings.API_RATE_LIMIT = "1000000/60"

    def send(method: str, path: str, body: bytes = b"", *, token: str = api_token):
        headers = {"Authorization": f"Bearer {token}"}
        if method == "GET":
            return client.get(path, headers=headers)
        return client.post(
            path, data=body, content_type="application/json", headers=headers
        )

    return send


def _encoded(body: dict, *, escaped: bool) -> bytes:
    # Lone surrogates travel as JSON escapes ("\ud800"), or as the bytes a
    # careless encoder writes for them (not UTF-8 at all).
    return json.dumps(body, ensure_ascii=escaped).encode("utf-8", "surrogatepass")


@settings(PROPERTY, max_examples=300)
@given(body=ORDER_BODIES, escaped=st.booleans())
def test_any_order_body_gets_a_documented_answer(hostile, body, escaped):
    response = hostile("POST", ORDERS, _encoded(body, escaped=escaped))

    assert response.status_code in (200, 201, 400, 404, 409, 413)
    assert_documented_answer(ORDERS, "POST", response.status_code, response.content)


@settings(PROPERTY, max_examples=200)
@given(raw=RAW_BODIES)
def test_any_bytes_as_a_body_get_a_documented_answer(hostile, raw):
    response = hostile("POST", ORDERS, raw)

    assert response.status_code in (400, 413)
    assert_documented_answer(ORDERS, "POST", response.status_code, response.content)


@settings(PROPERTY, max_examples=200)
@given(transaction_id=st.text(ANY_CHAR, max_size=40))
def test_any_transaction_id_in_the_path_is_not_found(hostile, transaction_id):
    # Percent-encoded as a client must; a surrogate as the bytes it would be.
    encoded = quote(transaction_id.encode("utf-8", "surrogatepass"), safe="")
    response = hostile("GET", f"{ORDERS}/{encoded}")

    assert response.status_code == 404
    assert_documented_answer(ORDER, "GET", 404, response.content)


@settings(PROPERTY, max_examples=100)
@given(token=st.text(st.characters(max_codepoint=0xFF), max_size=60))
def test_any_token_that_is_not_one_is_unauthorized(hostile, token):
    response = hostile("GET", f"{ORDERS}/txn-1", token=token)

    assert response.status_code == 401
    assert_documented_answer(ORDER, "GET", 401, response.content)
