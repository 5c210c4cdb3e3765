from __future__ import annotations

import pytest

from fulfillment.models import Delivery
from orders.models import ApiToken, Checkout, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def created(live_product, api_post, order_body):
    response = api_post(order_body)
    assert response.status_code == 201
    return response


def _counts() -> tuple[int, int, int]:
    return Order.objects.count(), Delivery.objects.count(), Checkout.objects.count()


def test_post_creates_order_with_201_and_its_deliveries(created):
    body = created.json()
    assert body["transaction_id"] == "txn_1001"
    assert body["status"] == "pending"
    assert body["email_status"] == "not_sent"
    assert body["product"] == "pixel-editor"
    assert body["quantity"] == 2
    assert body["created_at"]
    order = Order.objects.get()
    assert body["order_url"].endswith(f"/orders/{order.token}/")
    [delivery] = body["deliveries"]
    assert delivery["quantity"] == 2
    assert delivery["status"] == "pending"
    assert delivery["delivery_id"].startswith("dlv_")


def test_order_url_is_absolute_with_site_url(
    settings, live_product, api_post, order_body
):
    settings.SITE_URL = "https://shop.example.com"
    body = api_post(order_body).json()
    token = Order.objects.get().token
    assert body["order_url"] == f"https://shop.example.com/orders/{token}/"


def test_post_copies_prices_and_marks_source_api(created, live_product):
    order = Order.objects.get()
    assert order.source == "api"
    assert order.unit_price == live_product.price
    assert order.total == live_product.price * 2
    assert order.currency == live_product.currency


def test_api_orders_are_not_test_orders(created):
    # The payment provider behind the API takes real money.
    assert Order.objects.get().is_test is False


def test_separate_multibuy_gives_one_delivery_per_unit(
    live_product, api_post, order_body
):
    live_product.webhook_config.separate_multibuy = True
    live_product.webhook_config.save()
    body = api_post({**order_body, "quantity": 3}).json()
    items = [
        (d["item_index"], d["item_count"], d["quantity"]) for d in body["deliveries"]
    ]
    assert items == [(1, 3, 1), (2, 3, 1), (3, 3, 1)]


def test_api_generates_checkout_hash_when_absent(created):
    checkout = Order.objects.get().checkout
    assert len(checkout.hash) >= 16


def test_api_uses_given_checkout_hash(live_product, api_post, order_body):
    api_post({**order_body, "checkout_hash": "prov-abc_123"})
    assert Order.objects.get().checkout.hash == "prov-abc_123"


def test_taken_checkout_hash_is_a_409(live_product, api_post, order_body):
    api_post({**order_body, "checkout_hash": "prov-abc"})
    response = api_post(
        {**order_body, "transaction_id": "txn_other", "checkout_hash": "prov-abc"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "checkout_hash_conflict"
    assert Order.objects.count() == 1


def test_replay_with_same_contents_is_200_and_creates_nothing(
    created, api_post, order_body
):
    before = _counts()
    response = api_post(order_body)
    assert response.status_code == 200
    assert response.json() == created.json()
    assert _counts() == before


def test_replay_ignores_email_case(created, api_post, order_body):
    response = api_post({**order_body, "customer_email": "buyer@example.com"})
    assert response.status_code == 200


def test_replay_after_product_unpublished_still_returns_the_order(
    created, live_product, api_post, order_body
):
    live_product.status = "draft"
    live_product.save()
    assert api_post(order_body).status_code == 200


def test_same_transaction_id_with_different_contents_is_409(
    created, api_post, order_body
):
    before = _counts()
    response = api_post({**order_body, "quantity": 3})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transaction_conflict"
    assert _counts() == before


def test_bad_json_is_400_invalid_json(live_product, api_post):
    response = api_post("{not json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_json",
            "message": "The body is not valid JSON.",
            "fields": {},
        }
    }


def test_json_that_is_not_an_object_is_400_invalid_json(live_product, api_post):
    response = api_post("[1, 2]")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_bad_fields_are_400_with_a_message_per_field(live_product, api_post):
    response = api_post(
        {
            "product": "pixel-editor",
            "quantity": 0,
            "customer_email": "not-an-email",
            "transaction_id": "x" * 201,
            "coupon": "FREE",
        }
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_fields"
    assert set(error["fields"]) == {
        "quantity",
        "customer_email",
        "transaction_id",
        "coupon",
    }
    assert error["fields"]["coupon"] == ["Unknown field."]
    assert Order.objects.count() == 0


@pytest.mark.parametrize("quantity", [0, 101, "2", 2.5, True, None])
def test_quantity_must_be_an_integer_from_1_to_100(
    live_product, api_post, order_body, quantity
):
    response = api_post({**order_body, "quantity": quantity})
    assert response.status_code == 400
    assert "quantity" in response.json()["error"]["fields"]


def test_missing_required_fields_are_named(live_product, api_post):
    response = api_post({})
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"product", "quantity", "customer_email", "transaction_id"}


def test_empty_transaction_id_is_a_field_error(live_product, api_post, order_body):
    response = api_post({**order_body, "transaction_id": ""})
    assert "transaction_id" in response.json()["error"]["fields"]


def test_missing_token_is_401_with_www_authenticate(live_product, api_post, order_body):
    response = api_post(order_body, token=None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_token_is_401(live_product, api_post, order_body):
    response = api_post(order_body, token="fk_not-a-real-token")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_revoked_token_is_401(live_product, api_post, order_body):
    ApiToken.objects.update(revoked=True)
    response = api_post(order_body)
    assert response.status_code == 401
    assert Order.objects.count() == 0


def test_valid_token_records_last_use(live_product, api_post, order_body):
    api_post(order_body)
    assert ApiToken.objects.get().last_used_at is not None


def test_unknown_product_is_404(live_product, api_post, order_body):
    response = api_post({**order_body, "product": "nope"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "product_not_found"


def test_draft_product_is_409_not_live(product, api_post, order_body):
    response = api_post(order_body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "product_not_live"
    assert Order.objects.count() == 0


def test_wrong_method_is_405_json(client, api_token):
    response = client.put(
        "/api/v1/orders", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "POST"


def test_get_returns_the_order_with_current_states(created, client, api_token):
    Delivery.objects.update(status="in_flight")
    response = client.get(
        "/api/v1/orders/txn_1001", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["transaction_id"] == "txn_1001"
    assert body["deliveries"][0]["status"] == "in_flight"


def test_get_unknown_order_is_404(db, client, api_token):
    response = client.get(
        "/api/v1/orders/missing", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"


def test_get_without_token_is_401(created, client):
    response = client.get("/api/v1/orders/txn_1001")
    assert response.status_code == 401
