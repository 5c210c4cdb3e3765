from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
from django.core.cache import cache
from django.utils import timezone

from fulfillment.models import Delivery
from orders import ratelimit
from orders.models import ApiToken, Checkout, Order
from orders.services import api_token_create

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


# --- passthrough: the seller's own data ------------------------------------------


def test_post_stores_the_passthrough_exactly_as_given(
    live_product, api_post, order_body
):
    value = ' {"account": "acct_42"} ü '
    response = api_post({**order_body, "passthrough": value})

    assert response.status_code == 201
    order = Order.objects.get()
    assert order.passthrough == value
    assert order.checkout.passthrough == value


@pytest.mark.parametrize("absent", [{}, {"passthrough": None}, {"passthrough": ""}])
def test_an_order_without_passthrough_has_an_empty_one(
    live_product, api_post, order_body, absent
):
    assert api_post({**order_body, **absent}).status_code == 201
    assert Order.objects.get().passthrough == ""


@pytest.mark.parametrize(
    ("passthrough", "message"),
    [
        ("acct\x0042", "Must not contain NUL characters."),
        ("acct\t42", "Must not contain control characters (tabs, line breaks…)."),
        ("acct_42\n", "Must not contain control characters (tabs, line breaks…)."),
        ("acct\x9b42", "Must not contain control characters (tabs, line breaks…)."),
        ("x" * 1001, "Ensure this value has at most 1000 characters (it has 1001)."),
        (42, "Must be a string."),
    ],
    ids=["nul", "tab", "newline", "c1", "too-long", "not-a-string"],
)
def test_a_bad_passthrough_is_400_naming_the_field(
    live_product, api_post, order_body, passthrough, message, no_errors_logged
):
    response = api_post({**order_body, "passthrough": passthrough})

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_fields",
        "message": "Some fields are invalid.",
        "fields": {"passthrough": [message]},
    }
    assert _counts() == (0, 0, 0)


def test_a_passthrough_of_1000_characters_is_accepted(
    live_product, api_post, order_body
):
    response = api_post({**order_body, "passthrough": "ü" * 1000})

    assert response.status_code == 201
    assert Order.objects.get().passthrough == "ü" * 1000


def test_replay_with_the_same_passthrough_is_200(live_product, api_post, order_body):
    body = {**order_body, "passthrough": "acct_42"}
    first = api_post(body)

    replay = api_post(body)

    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json() == first.json()
    assert Order.objects.count() == 1


@pytest.mark.parametrize("other", [{"passthrough": "acct_43"}, {"passthrough": ""}, {}])
def test_replay_with_another_passthrough_is_409(
    live_product, api_post, order_body, other
):
    api_post({**order_body, "passthrough": "acct_42"})
    before = _counts()

    response = api_post({**order_body, **other})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transaction_conflict"
    assert _counts() == before
    assert Order.objects.get().passthrough == "acct_42"


def test_replay_adding_a_passthrough_to_an_order_without_one_is_409(
    created, api_post, order_body
):
    response = api_post({**order_body, "passthrough": "acct_42"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transaction_conflict"


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


def test_last_use_is_written_at_most_once_a_minute(live_product, api_post, order_body):
    recently = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.update(last_used_at=recently)
    api_post({**order_body, "transaction_id": "t-1"})
    assert ApiToken.objects.get().last_used_at == recently

    long_ago = timezone.now() - timedelta(seconds=90)
    ApiToken.objects.update(last_used_at=long_ago)
    api_post({**order_body, "transaction_id": "t-2"})
    assert ApiToken.objects.get().last_used_at > long_ago + timedelta(seconds=60)


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


# --- Scopes ---------------------------------------------------------------------


def _raw_token(*scopes: str) -> str:
    _, raw = api_token_create(name="Scoped provider", scopes=scopes)
    return raw


def test_new_tokens_get_every_scope_by_default(db):
    token, _ = api_token_create(name="Provider")
    assert token.scope_list == ["orders:read", "orders:write", "orders:refund"]


def test_token_with_unknown_scope_is_refused(db):
    with pytest.raises(ValueError, match="scopes"):
        api_token_create(name="Provider", scopes=["orders:delete"])


def test_post_without_write_scope_is_403_insufficient_scope(
    live_product, api_post, order_body
):
    response = api_post(order_body, token=_raw_token("orders:read"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert Order.objects.count() == 0


def test_post_with_write_scope_only_creates_the_order(
    live_product, api_post, order_body
):
    response = api_post(order_body, token=_raw_token("orders:write"))
    assert response.status_code == 201


def test_get_without_read_scope_is_403_insufficient_scope(created, client):
    raw = _raw_token("orders:write")
    response = client.get(
        "/api/v1/orders/txn_1001", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert "txn_1001" not in response.text


def test_get_with_read_scope_only_reads_the_order(created, client):
    raw = _raw_token("orders:read")
    response = client.get(
        "/api/v1/orders/txn_1001", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 200


# --- Rate limit -----------------------------------------------------------------


@pytest.fixture
def small_limit(settings, monkeypatch):
    """3 requests a minute, on a clock the test moves (t=1000 is 20s before reset)."""
    settings.API_RATE_LIMIT = "3/60"
    clock = {"now": 1000.0}
    monkeypatch.setattr(ratelimit, "_now", lambda: clock["now"])
    return clock


def _get(client, raw: str, transaction_id: str = "missing"):
    return client.get(
        f"/api/v1/orders/{transaction_id}", headers={"Authorization": f"Bearer {raw}"}
    )


def test_request_past_the_limit_is_429_with_retry_after(db, client, small_limit):
    _, raw = api_token_create(name="Provider")
    assert [_get(client, raw).status_code for _ in range(3)] == [404, 404, 404]
    response = _get(client, raw)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert response["Retry-After"] == "20"


def test_rate_limit_applies_to_post_too(live_product, api_post, order_body, settings):
    settings.API_RATE_LIMIT = "1/60"
    assert api_post(order_body).status_code == 201
    response = api_post({**order_body, "transaction_id": "txn_2"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert Order.objects.count() == 1


def test_rate_limit_is_per_token(db, client, small_limit):
    _, busy = api_token_create(name="Busy")
    _, other = api_token_create(name="Other")
    for _ in range(4):
        _get(client, busy)
    assert _get(client, busy).status_code == 429
    assert _get(client, other).status_code == 404


def test_requests_pass_again_after_the_window(db, client, small_limit):
    _, raw = api_token_create(name="Provider")
    for _ in range(4):
        _get(client, raw)
    small_limit["now"] = 1020.0
    assert _get(client, raw).status_code == 404


def test_anonymous_requests_are_401_and_not_counted(db, client, small_limit):
    _, raw = api_token_create(name="Provider")
    for _ in range(5):
        assert client.get("/api/v1/orders/missing").status_code == 401
        assert _get(client, "fk_wrong").status_code == 401
    assert _get(client, raw).status_code == 404


def test_default_limit_is_120_a_minute(settings):
    if hasattr(settings, "API_RATE_LIMIT"):
        del settings.API_RATE_LIMIT
    for _ in range(120):
        decision = ratelimit.api_rate_limit_hit(token_pk=1_000_000)
    assert decision.allowed
    assert not ratelimit.api_rate_limit_hit(token_pk=1_000_000).allowed


@pytest.mark.parametrize("rate", ["120", "0/60", "10/0", "a/b", ""])
def test_malformed_rate_setting_fails_loudly(rate):
    with pytest.raises(ValueError, match="API_RATE_LIMIT"):
        ratelimit.rate_parse(rate)


# The limiter's counter, on the local cache and on Redis as production runs it.
@pytest.fixture(params=["locmem", "redis"])
def limiter_cache(request, settings):
    from tests.services import SERVICES_HINT, on_redis

    settings.API_RATE_LIMIT = "3/60"
    if request.param == "redis":
        if not on_redis():
            pytest.skip(f"Redis not configured: {SERVICES_HINT}")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": settings.CELERY_BROKER_URL,
                # Its own keys: clearing would empty the broker's database.
                "KEY_PREFIX": f"test-ratelimit-{uuid.uuid4().hex}",
            }
        }
    return request.param


def test_the_counter_counts_every_request_of_the_window(limiter_cache):
    decisions = [ratelimit.api_rate_limit_hit(token_pk=7) for _ in range(5)]

    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]


class _RivalCreatesTheCounterFirst:
    """The cache as a request sees it that loses the race to start the window."""

    def __init__(self, real):
        self.real, self.raced = real, False

    def incr(self, key):
        return self.real.incr(key)

    def add(self, key, value, timeout):
        if not self.raced:
            self.raced = True
            self.real.add(key, 1, timeout=timeout)  # the rival request's count
        return self.real.add(key, value, timeout=timeout)

    def set(self, key, value, timeout):
        return self.real.set(key, value, timeout=timeout)


def test_a_counter_started_by_a_racing_request_counts_both(limiter_cache, monkeypatch):
    if limiter_cache == "redis":
        pytest.skip("on Redis one INCR creates and counts: no add to race")
    monkeypatch.setattr(ratelimit, "cache", _RivalCreatesTheCounterFirst(cache))

    decision = ratelimit.api_rate_limit_hit(token_pk=8)

    assert (decision.allowed, decision.remaining) == (True, 1)


def test_on_redis_a_request_is_counted_in_one_round_trip_that_sets_the_expiry(
    limiter_cache, monkeypatch
):
    if limiter_cache != "redis":
        pytest.skip("the local cache has no round trips")
    monkeypatch.setattr(ratelimit, "_now", lambda: 1000.0)
    sent = []
    real = redis.connection.Connection.send_packed_command

    def counting(connection, command, *args, **kwargs):
        sent.append(command)
        return real(connection, command, *args, **kwargs)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counting)
    ratelimit.api_rate_limit_hit(token_pk=9)

    assert len(sent) == 1  # INCR and EXPIRE, pipelined
    client = ratelimit._redis(ratelimit._redis_url())
    key = cache.make_key("api-rate:9:60:960")
    assert client.get(key) == b"1"
    # The counter dies a little after its window (60 s, ending at t=1020).
    assert 0 < client.ttl(key) <= 65


class _BrokenPipeline:
    """A pipeline whose connection was closed under it, as redis-py fails then."""

    def __init__(self, failures: list[int]):
        self.failures = failures

    def incr(self, key):
        return self

    def expire(self, key, ttl):
        return self

    def execute(self):
        if self.failures[0] > 0:
            self.failures[0] -= 1
            raise ValueError("I/O operation on closed file.")
        return [1, True]


@pytest.fixture
def flaky_counter(monkeypatch):
    """The limiter counts on "Redis", whose next `n` round trips fail."""
    failures = [0]
    client = type(
        "Client", (), {"pipeline": lambda self, **kw: _BrokenPipeline(failures)}
    )
    monkeypatch.setattr(ratelimit, "_redis_url", lambda: "redis://127.0.0.1:1/0")
    monkeypatch.setattr(ratelimit, "_redis", lambda url: client())
    return failures


def test_a_counter_that_fails_once_is_counted_on_the_second_try(flaky_counter):
    flaky_counter[0] = 1

    decision = ratelimit.api_rate_limit_hit(token_pk=11)

    assert (decision.allowed, decision.remaining) == (True, decision.limit - 1)


def test_an_order_goes_through_when_the_counter_is_unavailable(
    flaky_counter, api_post, order_body, live_product, caplog
):
    flaky_counter[0] = 10  # every round trip fails

    with caplog.at_level("WARNING", logger="orders.ratelimit"):
        response = api_post(order_body)

    assert response.status_code == 201
    assert "rate limit not counted (ValueError" in caplog.text
