"""Seller endpoints: the key, the in-flight limit and the circuit breaker, against
real HTTP servers on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.models import Delivery, DeliveryStatus, EndpointHealth
from fulfillment.services import claims, endpoints, wakeups
from fulfillment.services import deliveries as services
from fulfillment.services.endpoints import (
    endpoint_admits,
    endpoint_failure_counts,
    endpoint_key_for,
    endpoint_record_failure,
    endpoint_record_success,
)
from tests.factories import LiveProductFactory
from tests.httpserver import Route, SellerServer
from web.orders.services import order_place

THRESHOLD = 3
OPEN_SECONDS = 60
MAX_OPEN_SECONDS = 240


@pytest.fixture
def endpoint_limits(loopback, fulfillment_settings):
    """Two requests in flight per endpoint and a small, fast circuit breaker."""
    fulfillment_settings(
        ENDPOINT_MAX_IN_FLIGHT=2,
        CIRCUIT_FAILURE_THRESHOLD=THRESHOLD,
        CIRCUIT_OPEN_SECONDS=OPEN_SECONDS,
        CIRCUIT_MAX_OPEN_SECONDS=MAX_OPEN_SECONDS,
    )


@pytest.fixture
def enqueued(monkeypatch):
    """(delivery pk, countdown) of every broker message, instead of sending it."""
    sent: list[tuple[int, float]] = []
    monkeypatch.setattr(
        wakeups,
        "delivery_enqueue",
        lambda pk, countdown=0: sent.append((pk, countdown)),
    )
    return sent


@pytest.fixture
def shop_a(db, seller_server, endpoint_limits):
    """A seller whose server answers on /license (a test sets how)."""
    seller_server.set_route("/license", Route(body="KEY-A"))
    return LiveProductFactory(webhook_config__url=seller_server.url("/license"))


@pytest.fixture
def shop_b(db, endpoint_limits):
    """Another seller on another server, which always works."""
    with SellerServer() as server:
        server.set_route("/license", Route(body="KEY-B"))
        yield LiveProductFactory(webhook_config__url=server.url("/license")), server


def new_delivery(product) -> Delivery:
    order = order_place(product=product, quantity=1, customer_email="b@example.com")
    return order.deliveries.get()


def attempt(delivery: Delivery) -> Delivery | None:
    return services.delivery_attempt(delivery_pk=delivery.pk)


# The server takes the connection and closes it without a word: nobody answers.
SILENT = Route(close=True)


def open_circuit(product, seller_server) -> EndpointHealth:
    """THRESHOLD deliveries get no answer, one after the other."""
    seller_server.set_route("/license", SILENT)
    for _ in range(THRESHOLD):
        attempt(new_delivery(product))
    return EndpointHealth.objects.get(key=endpoint_key_for(seller_server.url()))


def time_passes_until_due(health: EndpointHealth) -> None:
    """The open window ends; every held delivery is due."""
    past = timezone.now() - timedelta(seconds=1)
    EndpointHealth.objects.filter(pk=health.pk).update(open_until=past)
    Delivery.objects.filter(status__in=["pending", "retrying"]).update(
        next_attempt_at=past
    )


# --- The key -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://Licenses.Example.com/issue?x=1", "https://licenses.example.com:443"),
        ("HTTP://example.com/a", "http://example.com:80"),
        ("http://example.com:8080/a", "http://example.com:8080"),
        ("https://example.com:443/", "https://example.com:443"),
        ("http://[::1]:9000/x", "http://[::1]:9000"),
        ("", ""),
        ("not a url", ""),
        ("http://example.com:99999/", ""),
    ],
)
def test_endpoint_key_is_scheme_host_and_port(url, key):
    assert endpoint_key_for(url) == key


@pytest.mark.parametrize(
    ("kind", "counts"),
    [
        ("timeout", True),
        ("connect", True),  # refused, reset, closed without an answer, TLS
        ("status", False),  # any HTTP answer: 500, 503, 429, 404, 410 ...
        ("redirect", False),
        ("empty", False),
        ("html", False),
        ("too_large", False),
        ("not_text", False),
        ("dns", False),
        ("refused_url", False),
        ("config", False),
        ("interrupted", False),
    ],
)
def test_only_failures_in_which_nobody_answered_count(kind, counts):
    assert endpoint_failure_counts(error_kind=kind) is counts


# --- The in-flight limit ---------------------------------------------------------


def on_the_wire(delivery: Delivery, *, lease_seconds: float = 60) -> None:
    """Another worker is sending this delivery right now."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status="in_flight",
        attempt_count=1,
        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds),
    )


def test_full_endpoint_defers_a_delivery_without_an_attempt_or_a_request(
    shop_a, seller_server, enqueued, django_capture_on_commit_callbacks
):
    on_the_wire(new_delivery(shop_a))
    on_the_wire(new_delivery(shop_a))
    waiting = new_delivery(shop_a)

    with django_capture_on_commit_callbacks(execute=True):
        assert attempt(waiting) is None

    waiting.refresh_from_db()
    assert seller_server.requests == []
    assert (waiting.status, waiting.attempt_count) == ("pending", 0)
    wait = (waiting.next_attempt_at - timezone.now()).total_seconds()
    assert 0 < wait <= 3
    assert len(enqueued) == 1
    assert enqueued[0][0] == waiting.pk
    assert 1 <= enqueued[0][1] <= 3.5


def test_a_slot_freed_before_the_deferral_still_leaves_the_delivery_a_message(
    shop_a, enqueued, django_capture_on_commit_callbacks
):
    """The claim lost to a full endpoint, then a slot freed before the deferral's
    UPDATE: the delivery is still deferred with a message, not left to the
    dispatcher's sweep (the chaos run saw 7-9 of 225 deliveries wait 15-20 s)."""
    waiting = new_delivery(shop_a)

    with django_capture_on_commit_callbacks(execute=True):
        claims._defer_if_busy(waiting.pk, timezone.now())  # nobody is on the wire

    assert [pk for pk, _ in enqueued] == [waiting.pk]


def test_expired_leases_do_not_fill_the_endpoint(shop_a, seller_server):
    on_the_wire(new_delivery(shop_a), lease_seconds=-1)  # its worker died
    on_the_wire(new_delivery(shop_a), lease_seconds=-1)
    delivery = new_delivery(shop_a)

    attempt(delivery)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED


def test_a_full_endpoint_does_not_hold_back_another_endpoint(
    shop_a, shop_b, seller_server
):
    product_b, server_b = shop_b
    on_the_wire(new_delivery(shop_a))
    on_the_wire(new_delivery(shop_a))
    delivery = new_delivery(product_b)

    attempt(delivery)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert len(server_b.requests) == 1


def test_test_delivery_is_not_limited(shop_a, seller_server):
    on_the_wire(new_delivery(shop_a))
    on_the_wire(new_delivery(shop_a))

    delivery = services.delivery_test_send(product=shop_a)

    assert delivery.status == DeliveryStatus.SUCCEEDED


# --- The circuit breaker ---------------------------------------------------------


def test_circuit_opens_after_consecutive_failures(shop_a, seller_server):
    health = open_circuit(shop_a, seller_server)

    assert health.consecutive_failures == THRESHOLD
    assert "could not connect" in health.last_error
    wait = (health.open_until - timezone.now()).total_seconds()
    assert OPEN_SECONDS - 5 < wait <= OPEN_SECONDS


def test_fewer_failures_than_the_threshold_keep_it_closed(shop_a, seller_server):
    seller_server.set_route("/license", SILENT)
    for _ in range(THRESHOLD - 1):
        attempt(new_delivery(shop_a))

    health = EndpointHealth.objects.get()
    assert health.open_until is None
    assert endpoint_admits(key=health.key, now=timezone.now()) is True


@pytest.mark.parametrize("answer", [Route(), Route(status=500)], ids=["200", "500"])
def test_any_answer_resets_the_count(shop_a, seller_server, answer):
    seller_server.set_route("/license", [SILENT] * 2 + [answer])
    for _ in range(3):
        attempt(new_delivery(shop_a))

    health = EndpointHealth.objects.get()
    assert (health.consecutive_failures, health.open_until) == (0, None)
    assert health.last_success_at is not None


@pytest.mark.parametrize("status", [500, 503, 429, 404])
def test_fast_error_answers_never_open_the_circuit(shop_a, seller_server, status):
    seller_server.set_route("/license", Route(status=status))
    for _ in range(THRESHOLD + 2):
        attempt(new_delivery(shop_a))

    assert not EndpointHealth.objects.exists()


def test_a_flaky_product_does_not_hold_back_its_neighbour_on_the_same_host(
    shop_a, seller_server
):
    """Two products on one server: one's license path answers 500 every time,
    the other's works. Every delivery of the healthy one goes out at once."""
    seller_server.set_route("/flaky", Route(status=500, body="generator broke"))
    flaky = LiveProductFactory(webhook_config__url=seller_server.url("/flaky"))
    for _ in range(THRESHOLD * 3):
        attempt(new_delivery(flaky))

    healthy = [new_delivery(shop_a) for _ in range(3)]
    for delivery in healthy:
        attempt(delivery)

    assert {d.status for d in Delivery.objects.filter(product=flaky)} == {"retrying"}
    assert all(
        Delivery.objects.get(pk=d.pk).status == DeliveryStatus.SUCCEEDED
        for d in healthy
    )
    assert not EndpointHealth.objects.filter(open_until__isnull=False).exists()


def test_open_circuit_holds_deliveries_without_requests_while_others_go_out(
    shop_a, shop_b, seller_server
):
    product_b, server_b = shop_b
    health = open_circuit(shop_a, seller_server)
    requests_before = len(seller_server.requests)
    held, other = new_delivery(shop_a), new_delivery(product_b)

    assert attempt(held) is None
    attempt(other)

    held.refresh_from_db()
    other.refresh_from_db()
    assert len(seller_server.requests) == requests_before
    assert (held.status, held.attempt_count) == ("pending", 0)
    assert held.next_attempt_at == health.open_until
    assert other.status == DeliveryStatus.SUCCEEDED
    assert len(server_b.requests) == 1


@pytest.mark.parametrize(("status", "attempts"), [("pending", 0), ("retrying", 1)])
def test_a_delivery_moved_to_an_endpoint_whose_circuit_is_open_waits_for_it(
    shop_a, shop_b, seller_server, status, attempts
):
    """Planned for one server, sent after the seller moved the Webhook URL to
    another whose circuit is open: it waits, without a request or an attempt."""
    product_b, server_b = shop_b
    health = open_circuit(shop_a, seller_server)
    moved = new_delivery(product_b)
    Delivery.objects.filter(pk=moved.pk).update(status=status, attempt_count=attempts)
    config = product_b.webhook_config
    config.url = seller_server.url("/license")
    config.save()
    requests_before = len(seller_server.requests)

    assert attempt(moved) is None

    moved.refresh_from_db()
    assert (moved.status, moved.attempt_count) == (status, attempts)
    assert moved.lease_expires_at is None
    assert moved.endpoint_key == health.key
    assert moved.next_attempt_at == health.open_until
    assert len(seller_server.requests) == requests_before
    assert server_b.requests == []


def test_a_short_hold_is_enqueued_with_a_countdown(
    shop_a, seller_server, enqueued, django_capture_on_commit_callbacks
):
    open_circuit(shop_a, seller_server)
    held = new_delivery(shop_a)

    with django_capture_on_commit_callbacks(execute=True):
        attempt(held)

    assert [pk for pk, _ in enqueued] == [held.pk]
    assert OPEN_SECONDS - 5 < enqueued[0][1] <= OPEN_SECONDS + 1


def test_a_long_hold_stays_in_the_database(
    shop_a, seller_server, fulfillment_settings, enqueued,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    fulfillment_settings(CIRCUIT_OPEN_SECONDS=1800)
    open_circuit(shop_a, seller_server)
    held = new_delivery(shop_a)

    with django_capture_on_commit_callbacks(execute=True):
        attempt(held)

    assert enqueued == []  # the dispatcher sends it when it is due


def test_when_the_window_ends_exactly_one_probe_is_let_through(shop_a, seller_server):
    health = open_circuit(shop_a, seller_server)
    time_passes_until_due(health)
    now = timezone.now()

    first = endpoint_admits(key=health.key, now=now)
    second = endpoint_admits(key=health.key, now=now)

    assert first is True
    assert second > now  # everyone else waits for the probe's lease


def test_a_loser_of_the_probe_race_waits_for_the_winners_stored_lease(
    shop_a, seller_server
):
    """Two workers saw the window end at the same moment; one became the probe.
    The other must wait until the lease the winner stored, which the probe's
    success releases, not until its own clock's lease a moment later."""
    health = open_circuit(shop_a, seller_server)
    time_passes_until_due(health)
    health.refresh_from_db()
    seen, now = health.open_until, timezone.now()
    assert endpoint_admits(key=health.key, now=now) is True  # the winner

    loser = endpoints._probe_claim(
        key=health.key, seen=seen, now=now + timedelta(seconds=1)
    )

    health.refresh_from_db()
    assert loser == health.open_until


def test_closing_the_circuit_releases_retries_after_silence_not_after_answers(
    shop_a, seller_server, enqueued, django_capture_on_commit_callbacks
):
    """The probe's own delivery (and any other that timed out before the circuit
    opened) goes with the held ones; a retry after an error answer keeps its
    schedule: that answer was its own."""
    health = open_circuit(shop_a, seller_server)  # THRESHOLD silent failures
    silent = Delivery.objects.filter(status="retrying").first()
    seller_server.set_route("/license", Route(status=500))
    answered = new_delivery(shop_a)
    Delivery.objects.filter(pk=answered.pk).update(next_attempt_at=timezone.now())
    EndpointHealth.objects.filter(pk=health.pk).update(open_until=None)
    attempt(answered)  # a 500: retrying on its own schedule
    later = timezone.now() + timedelta(minutes=5)
    Delivery.objects.filter(pk__in=[silent.pk, answered.pk]).update(
        next_attempt_at=later
    )

    with django_capture_on_commit_callbacks(execute=True):
        wakeups.deliveries_release_held(
            endpoint_key=health.key, until=timezone.now() + timedelta(seconds=25)
        )

    released = {pk for pk, _ in enqueued}
    assert silent.pk in released
    assert answered.pk not in released


def test_a_successful_probe_closes_the_circuit(shop_a, seller_server):
    health = open_circuit(shop_a, seller_server)
    probe = new_delivery(shop_a)
    time_passes_until_due(health)
    seller_server.set_route("/license", Route(body="KEY-BACK"))
    requests_before = len(seller_server.requests)

    attempt(probe)

    probe.refresh_from_db()
    health.refresh_from_db()
    assert probe.status == DeliveryStatus.SUCCEEDED
    assert (health.consecutive_failures, health.open_until) == (0, None)
    assert len(seller_server.requests) == requests_before + 1


def test_while_the_probe_is_out_others_wait_for_it_and_go_when_it_succeeds(
    shop_a, seller_server, enqueued, django_capture_on_commit_callbacks
):
    health = open_circuit(shop_a, seller_server)
    time_passes_until_due(health)
    assert endpoint_admits(key=health.key, now=timezone.now()) is True  # the probe
    held = new_delivery(shop_a)
    requests_before = len(seller_server.requests)

    assert attempt(held) is None
    held.refresh_from_db()
    health.refresh_from_db()
    assert held.next_attempt_at == health.open_until  # the probe's lease
    assert len(seller_server.requests) == requests_before

    # The probe's worker: the server answered again.
    seller_server.set_route("/license", Route(body="KEY-BACK"))
    until = endpoint_record_success(key=health.key)
    with django_capture_on_commit_callbacks(execute=True):
        released = wakeups.deliveries_release_held(endpoint_key=health.key, until=until)

    assert released == 1
    assert enqueued == [(held.pk, 0)]
    attempt(held)
    held.refresh_from_db()
    assert held.status == DeliveryStatus.SUCCEEDED


@pytest.mark.parametrize("answer", [Route(body="KEY-BACK"), Route(status=500)])
def test_a_probe_that_gets_any_answer_releases_every_held_delivery(
    shop_a, seller_server, answer, enqueued, django_capture_on_commit_callbacks
):
    """Even a 500: the server answers again, so nothing is held for it any more;
    each delivery then gets its own verdict."""
    health = open_circuit(shop_a, seller_server)
    held = [new_delivery(shop_a) for _ in range(3)]
    for delivery in held:
        attempt(delivery)
    probe = new_delivery(shop_a)
    time_passes_until_due(health)
    # They wait for the probe's lease, as deliveries claimed while it is out do.
    Delivery.objects.filter(pk__in=[d.pk for d in held]).update(
        next_attempt_at=timezone.now() + timedelta(seconds=20)
    )
    seller_server.set_route("/license", answer)

    with django_capture_on_commit_callbacks(execute=True):
        attempt(probe)

    health.refresh_from_db()
    assert (health.consecutive_failures, health.open_until) == (0, None)
    released = {pk for pk, countdown in enqueued if countdown == 0}
    assert {d.pk for d in held} <= released


def test_a_failed_probe_reopens_the_circuit_for_twice_as_long(shop_a, seller_server):
    health = open_circuit(shop_a, seller_server)
    probe = new_delivery(shop_a)
    time_passes_until_due(health)

    attempt(probe)

    health.refresh_from_db()
    probe.refresh_from_db()
    assert probe.attempt_count == 1
    wait = (health.open_until - timezone.now()).total_seconds()
    assert 2 * OPEN_SECONDS - 5 < wait <= 2 * OPEN_SECONDS


def test_the_open_window_doubles_up_to_its_bound(endpoint_limits, db):
    key = "https://down.example.com:443"
    for _ in range(THRESHOLD + 20):
        health = endpoint_record_failure(key=key, message="down")

    wait = (health.open_until - timezone.now()).total_seconds()
    assert MAX_OPEN_SECONDS - 5 < wait <= MAX_OPEN_SECONDS


def test_with_the_shipped_settings_a_probe_goes_out_every_30_seconds(db):
    key = "https://down.example.com:443"
    waits = []
    for _ in range(12):
        health = endpoint_record_failure(key=key, message="down")
        if health.open_until is not None:
            waits.append((health.open_until - timezone.now()).total_seconds())

    assert len(waits) == 12 - 5 + 1
    assert all(25 < wait <= 30 for wait in waits)


def test_a_request_already_on_the_wire_when_it_opened_is_not_counted(
    endpoint_limits, db
):
    key = "https://down.example.com:443"
    started_before = timezone.now()
    for _ in range(THRESHOLD):
        opened = endpoint_record_failure(key=key, message="down")

    straggler = endpoint_record_failure(
        key=key, message="timed out", started_at=started_before
    )

    assert straggler.consecutive_failures == THRESHOLD
    assert straggler.open_until == opened.open_until


def test_success_on_a_healthy_endpoint_writes_nothing(db):
    assert endpoint_record_success(key="https://fine.example.com:443") is None
    assert not EndpointHealth.objects.exists()


def test_test_delivery_bypasses_an_open_circuit_and_its_failure_is_not_counted(
    shop_a, seller_server
):
    health = open_circuit(shop_a, seller_server)

    delivery = services.delivery_test_send(product=shop_a)

    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts.count() == 1
    health_after = EndpointHealth.objects.get(pk=health.pk)
    assert health_after.consecutive_failures == THRESHOLD
    assert health_after.open_until == health.open_until


def test_a_successful_test_delivery_closes_the_circuit(shop_a, seller_server):
    health = open_circuit(shop_a, seller_server)
    seller_server.set_route("/license", Route(body="FIXED"))

    services.delivery_test_send(product=shop_a)

    health.refresh_from_db()
    assert health.open_until is None


def test_retry_now_lets_a_held_delivery_through_as_the_probe(shop_a, seller_server):
    health = open_circuit(shop_a, seller_server)
    held = new_delivery(shop_a)
    attempt(held)
    seller_server.set_route("/license", Route(body="FIXED"))

    wakeups.delivery_retry_now(delivery=Delivery.objects.get(pk=held.pk))
    attempt(held)

    held.refresh_from_db()
    health.refresh_from_db()
    assert held.status == DeliveryStatus.SUCCEEDED
    assert health.open_until is None


def test_the_next_probe_counts_from_the_start_of_the_one_that_hung(db):
    """A probe that hung for the whole deadline reopens the circuit until a window
    after it started, so the next one starts a window after this one started."""
    key = "https://hangs.example.com:443"
    for _ in range(5):
        endpoint_record_failure(key=key, message="timed out")
    started = timezone.now() - timedelta(seconds=15)  # the deadline ago
    # The circuit opened before the probe started (else it is a straggler).
    EndpointHealth.objects.filter(key=key).update(
        last_failure_at=started - timedelta(seconds=30), open_until=started
    )

    health = endpoint_record_failure(key=key, message="timed out", started_at=started)

    assert health.open_until == started + timedelta(seconds=30)


def test_a_delivery_is_not_held_once_the_probe_has_closed_the_circuit(
    shop_a, seller_server
):
    """A loser of the probe race that gets to its hold after the probe closed
    the circuit (and released what it held) is not held for the probe's lease:
    it goes now."""
    health = open_circuit(shop_a, seller_server)
    late = new_delivery(shop_a)
    lease_end = timezone.now() + timedelta(seconds=25)
    endpoint_record_success(key=health.key)  # the probe closed it

    held = claims._hold(late.pk, timezone.now(), lease_end, health.key)

    late.refresh_from_db()
    assert held is False
    assert late.next_attempt_at <= timezone.now()
