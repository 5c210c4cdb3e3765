from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from standardwebhooks.webhooks import Webhook

from fulfillment.payload import (
    STANDARD_FIELDS,
    OrderFacts,
    build_fields,
    build_request,
    is_reserved_name,
    yielded_field,
)
from lib.ids import new_signing_secret
from tests.factories import CustomFieldFactory

DELIVERY_ID = "dlv_01TESTDELIVERY"


def _facts(**changes) -> OrderFacts:
    values = {
        "order_id": "ord_42",
        "transaction_id": "txn_42",
        "checkout_hash": "chk_abc",
        "customer_email": "dana@example.com",
        "customer_name": "Dana Ö",
        "product_id": 7,
        "product_name": "Pixel Editor",
        "quantity": 3,
        "unit_price": "19.00",
        "currency": "USD",
        "event_time": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    return OrderFacts(**{**values, **changes})


def _every_kind() -> list:
    # build() without a config: payload code never touches the database, and a
    # built config would hash a seller's password for nothing.
    return [
        CustomFieldFactory.build(config=None, kind="checkout_hash", name="hash"),
        CustomFieldFactory.build(config=None, kind="transaction_id", name="txn"),
        CustomFieldFactory.build(config=None, kind="customer_email", name="email"),
        CustomFieldFactory.build(config=None, kind="customer_name", name="name"),
        CustomFieldFactory.build(
            config=None, kind="static", name="plan", value="pro & more"
        ),
    ]


def _fields(facts=None, custom=(), quantity=3, item_index=1, item_count=1):
    return build_fields(
        facts=facts or _facts(),
        delivery_id=DELIVERY_ID,
        quantity=quantity,
        item_index=item_index,
        item_count=item_count,
        custom_fields=custom,
    )


def _request(
    method,
    body_format="form",
    url="https://lic.example.com/issue",
    fields=None,
    secrets=None,
):
    return build_request(
        url=url,
        method=method,
        body_format=body_format,
        fields=fields if fields is not None else _fields(custom=_every_kind()),
        delivery_id=DELIVERY_ID,
        secrets=secrets or [SECRET],
        timestamp=int(time.time()),
        user_agent="FulfillmentWebhooks/1.0",
    )


SECRET = new_signing_secret()


def test_standard_fields_come_first_in_their_documented_order():
    assert tuple(_fields()) == STANDARD_FIELDS


def test_standard_fields_have_native_types_and_utc_z_time():
    fields = _fields(facts=_facts(is_test=True))

    assert fields["event"] == "order.fulfillment"
    assert fields["test"] is True
    assert fields["product_id"] == 7
    assert fields["quantity"] == 3
    assert fields["price"] == "19.00"
    assert fields["event_time"] == "2025-01-02T03:04:05Z"


def test_event_time_in_another_zone_is_converted_to_utc():
    local = datetime(2025, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))

    assert _fields(facts=_facts(event_time=local))["event_time"] == (
        "2025-01-02T03:04:05Z"
    )


def test_custom_fields_follow_in_order_with_each_kind_value():
    fields = _fields(custom=_every_kind())

    assert list(fields)[len(STANDARD_FIELDS) :] == [
        "hash",
        "txn",
        "email",
        "name",
        "plan",
    ]
    assert fields["hash"] == "chk_abc"
    assert fields["txn"] == "txn_42"
    assert fields["email"] == "dana@example.com"
    assert fields["name"] == "Dana Ö"
    assert fields["plan"] == "pro & more"


def test_customer_name_not_collected_is_sent_as_empty_string():
    custom = [CustomFieldFactory.build(config=None, kind="customer_name", name="name")]

    assert _fields(facts=_facts(customer_name=""), custom=custom)["name"] == ""


def test_customer_data_is_not_sent_without_custom_fields():
    values = _fields().values()

    assert "dana@example.com" not in values
    assert "Dana Ö" not in values


def test_separate_multibuy_item_carries_its_index_and_quantity_one():
    fields = _fields(quantity=1, item_index=2, item_count=3)

    assert (fields["quantity"], fields["item_index"], fields["item_count"]) == (1, 2, 3)


def test_single_request_carries_the_order_quantity():
    fields = _fields(quantity=3, item_index=1, item_count=1)

    assert (fields["quantity"], fields["item_index"], fields["item_count"]) == (3, 1, 1)


def test_custom_field_with_a_reserved_name_never_overwrites_a_standard_field():
    custom = [CustomFieldFactory.build(config=None, kind="static", name="Quantity")]

    fields = _fields(custom=custom, quantity=2)

    assert fields["quantity"] == 2
    assert "Quantity" not in fields


@pytest.mark.parametrize("name", ["quantity", "Quantity", " EVENT_TIME "])
def test_standard_names_are_reserved_case_insensitively(name):
    assert is_reserved_name(name)


def test_other_names_are_not_reserved():
    assert not is_reserved_name("license_plan")


# --- passthrough: the seller's own data from the checkout link ------------------


def test_passthrough_is_sent_as_given_as_the_last_standard_field():
    fields = _fields(facts=_facts(passthrough="acct_42 & ü"), custom=_every_kind())

    assert fields["passthrough"] == "acct_42 & ü"
    assert list(fields).index("passthrough") == len(STANDARD_FIELDS) - 1


def test_an_order_without_passthrough_sends_it_empty():
    assert _fields()["passthrough"] == ""


@pytest.mark.parametrize(("method", "body_format"), [("GET", "form"), ("POST", "form")])
def test_passthrough_survives_query_and_form_encoding(method, body_format):
    value = "acct 42&plan=pro/ü?#%"
    fields = _fields(facts=_facts(passthrough=value))

    request = _request(method, body_format, fields=fields)

    encoded = urlsplit(request.url).query if method == "GET" else request.body.decode()
    assert dict(parse_qsl(encoded))["passthrough"] == value


def test_passthrough_is_a_json_string():
    fields = _fields(facts=_facts(passthrough='{"account": 42}'))

    body = json.loads(_request("POST", "json", fields=fields).body)

    assert body["passthrough"] == '{"account": 42}'


def test_test_facts_stored_before_passthrough_existed_still_load():
    stored = _facts().to_json()
    del stored["passthrough"]

    facts = OrderFacts.from_json(stored)

    assert facts.passthrough == ""
    assert facts == _facts()


def test_facts_round_trip_through_json_with_passthrough():
    facts = _facts(passthrough="acct_42", is_test=True)

    assert OrderFacts.from_json(json.loads(json.dumps(facts.to_json()))) == facts


@pytest.mark.parametrize("name", ["passthrough", "Passthrough", " PASSTHROUGH "])
def test_a_custom_field_saved_as_passthrough_is_sent_in_its_place(name):
    # Saved before `passthrough` was standard: the seller's server reads it.
    custom = [
        CustomFieldFactory.build(config=None, kind="static", name=name, value="pro"),
        *_every_kind(),
    ]

    fields = _fields(facts=_facts(passthrough="acct_42"), custom=custom)

    assert fields[name] == "pro"
    assert "acct_42" not in fields.values()
    assert list(fields)[len(STANDARD_FIELDS) - 1] == name


def test_only_fields_that_became_standard_later_yield_to_custom_ones():
    assert yielded_field(" PassThrough ") == "passthrough"
    assert yielded_field("quantity") is None
    assert yielded_field("license_plan") is None


def test_get_sends_fields_as_query_with_text_booleans_and_no_body():
    request = _request("GET")
    query = dict(parse_qsl(urlsplit(request.url).query))

    assert request.method == "GET"
    assert request.body == b""
    assert "Content-Type" not in request.headers
    assert query["test"] == "false"
    assert query["quantity"] == "3"
    assert query["email"] == "dana@example.com"
    assert query["plan"] == "pro & more"


def test_get_keeps_the_sellers_own_query_first():
    request = _request("GET", url="https://lic.example.com/issue?product=pro")

    assert urlsplit(request.url).query.startswith("product=pro&event=")


def test_get_signature_verifies_over_the_query_string():
    request = _request("GET", url="https://lic.example.com/issue?product=pro")
    query = urlsplit(request.url).query

    Webhook(SECRET).verify(query, request.headers, json_parse=False)


def test_post_form_sends_urlencoded_body_with_text_booleans():
    request = _request("POST", "form")

    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    body = dict(parse_qsl(request.body.decode("ascii")))
    assert body["test"] == "false"
    assert body["name"] == "Dana Ö"
    assert body["plan"] == "pro & more"


def test_post_form_signature_verifies_over_the_body():
    request = _request("POST", "form")

    Webhook(SECRET).verify(request.body, request.headers, json_parse=False)


def test_post_json_sends_native_types_as_compact_utf8():
    request = _request("POST", "json")

    assert request.headers["Content-Type"] == "application/json"
    assert "Dana Ö".encode() in request.body
    assert b", " not in request.body
    data = json.loads(request.body)
    assert data["test"] is False
    assert data["product_id"] == 7
    assert data["hash"] == "chk_abc"


def test_post_json_signature_verifies_and_parses():
    request = _request("POST", "json")

    data = Webhook(SECRET).verify(request.body, request.headers)

    assert data["delivery_id"] == DELIVERY_ID


def test_post_signature_verifies_with_either_secret_during_rotation():
    new, old = new_signing_secret(), new_signing_secret()
    request = _request("POST", "json", secrets=[new, old])

    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)


def test_request_carries_user_agent_and_delivery_id_as_webhook_id():
    request = _request("POST", "json")

    assert request.headers["User-Agent"] == "FulfillmentWebhooks/1.0"
    assert request.headers["webhook-id"] == DELIVERY_ID
