from __future__ import annotations

import gzip
import socket
import time
from datetime import UTC, datetime

import pytest
import requests
import responses
from standardwebhooks.webhooks import Webhook

from fulfillment.ids import new_signing_secret
from fulfillment.outcome import judge
from fulfillment.payload import OrderFacts, OutboundRequest, build_fields, build_request
from fulfillment.transport import send
from tests.httpserver import Route, seller_server_fixture  # noqa: F401

LOOPBACK = ["127.0.0.0/8"]
PUBLIC_URL = "https://93.184.216.34/issue"  # a literal, so no test needs DNS


def _send(url, *, method="GET", body=b"", allowed=LOOPBACK, **limits):
    options = {"connect_timeout": 1.0, "total_timeout": 1.0, "max_bytes": 64 * 1024}
    options.update(limits)
    request = OutboundRequest(method=method, url=url, headers={}, body=body)
    return send(request, allowed_networks=allowed, require_https=False, **options)


def _timed(func, *args, **kwargs):
    started = time.monotonic()
    result = func(*args, **kwargs)
    return result, time.monotonic() - started


def _free_port() -> int:
    # Bind and release: nothing listens there afterwards, so connecting is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Unit cases with `responses` -------------------------------------------------


@responses.activate
def test_completed_exchange_returns_status_headers_and_body():
    responses.get(PUBLIC_URL, body="KEY-1", headers={"X-Seller": "yes"})

    result = _send(PUBLIC_URL, allowed=[])

    assert (result.status, result.body, result.error_kind) == (200, b"KEY-1", "")
    assert result.headers["X-Seller"] == "yes"


@responses.activate
def test_connect_timeout_maps_to_timeout():
    responses.get(PUBLIC_URL, body=requests.exceptions.ConnectTimeout())

    assert _send(PUBLIC_URL, allowed=[]).error_kind == "timeout"


@responses.activate
def test_read_timeout_maps_to_timeout():
    responses.get(PUBLIC_URL, body=requests.exceptions.ReadTimeout())

    assert _send(PUBLIC_URL, allowed=[]).error_kind == "timeout"


@responses.activate
def test_connection_error_maps_to_connect():
    responses.get(PUBLIC_URL, body=requests.exceptions.ConnectionError())

    assert _send(PUBLIC_URL, allowed=[]).error_kind == "connect"


@responses.activate
def test_other_request_errors_map_to_error():
    responses.get(PUBLIC_URL, body=requests.exceptions.TooManyRedirects())

    result = _send(PUBLIC_URL, allowed=[])

    assert result.error_kind == "error"
    assert result.status is None


@responses.activate
def test_declared_length_over_the_cap_fails_without_reading():
    responses.get(PUBLIC_URL, body=b"x" * 2048, auto_calculate_content_length=True)

    result = _send(PUBLIC_URL, allowed=[], max_bytes=1024)

    assert result.error_kind == "too_large"
    assert result.body == b""
    assert result.message == "Your server's answer was larger than 1 KiB."


def test_refused_url_makes_no_connection():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        result = _send("http://10.0.0.5/issue", allowed=[])

        assert len(mock.calls) == 0
    assert result.error_kind == "refused_url"
    assert "private network" in result.message


# --- Against a real HTTP server on 127.0.0.1 --------------------------------------


def test_200_text_succeeds(seller_server):
    seller_server.set_route("/issue", Route(body="KEY-1234"))

    verdict = judge(_send(seller_server.url("/issue")))

    assert verdict.succeeded
    assert verdict.text == "KEY-1234"


def test_200_empty_fails(seller_server):
    seller_server.set_route("/issue", Route(body=b""))

    assert judge(_send(seller_server.url("/issue"))).error_kind == "empty"


def test_500_fails_with_reason(seller_server):
    seller_server.set_route("/issue", Route(status=500, body="boom"))

    verdict = judge(_send(seller_server.url("/issue")))

    assert verdict.error_kind == "status"
    assert "answered 500" in verdict.message


def test_redirect_fails_and_its_target_is_never_requested(seller_server):
    seller_server.set_route("/old", Route.redirect(seller_server.url("/new")))
    seller_server.set_route("/new", Route(body="KEY"))

    verdict = judge(_send(seller_server.url("/old")))

    assert verdict.error_kind == "redirect"
    assert "we do not follow redirects" in verdict.message
    assert seller_server.url("/new") in verdict.message
    assert seller_server.requests_to("/new") == []


def test_body_over_the_cap_fails_without_reading_it_all(seller_server):
    huge = 50 * 1024 * 1024
    seller_server.set_route("/issue", Route(stream_bytes=huge, send_length=False))

    result = _send(seller_server.url("/issue"), max_bytes=64 * 1024)

    assert result.error_kind == "too_large"
    assert result.message == "Your server's answer was larger than 64 KiB."
    assert len(result.body) == 64 * 1024
    assert seller_server.requests_to("/issue")[0].bytes_sent < huge


def test_declared_length_over_the_cap_fails_before_the_body(seller_server):
    seller_server.set_route("/issue", Route(stream_bytes=10 * 1024 * 1024))

    result = _send(seller_server.url("/issue"), max_bytes=64 * 1024)

    assert (result.error_kind, result.body) == ("too_large", b"")


def test_dripping_server_times_out_at_the_total_deadline(seller_server):
    # 20 bytes at 0.3 s each would take 6 s; every single read is quick, so only a
    # whole-response deadline stops it.
    seller_server.set_route("/issue", Route(body="x" * 20, drip_interval=0.3))

    result, seconds = _timed(_send, seller_server.url("/issue"), total_timeout=1.0)

    assert result.error_kind == "timeout"
    assert 0.9 <= seconds < 1.6
    assert result.status == 200


def test_server_hanging_before_headers_times_out(seller_server):
    seller_server.set_route("/issue", Route(delay=10))

    result, seconds = _timed(_send, seller_server.url("/issue"), total_timeout=1.0)

    assert result.error_kind == "timeout"
    assert seconds < 1.6


def test_server_hanging_after_headers_times_out(seller_server):
    seller_server.set_route("/issue", Route(hang_after_headers=10))

    result, seconds = _timed(_send, seller_server.url("/issue"), total_timeout=1.0)

    assert result.error_kind == "timeout"
    assert seconds < 1.6


def test_connection_refused_fails_as_connect():
    result = _send(f"http://127.0.0.1:{_free_port()}/issue")

    assert result.error_kind == "connect"
    assert judge(result).retryable


def test_server_closing_without_answer_fails_as_connect(seller_server):
    seller_server.set_route("/issue", Route(close=True))

    assert _send(seller_server.url("/issue")).error_kind == "connect"


def test_loopback_is_refused_without_an_allowlist_and_never_contacted(seller_server):
    result = _send(seller_server.url("/issue"), allowed=[])

    assert result.error_kind == "refused_url"
    assert "loopback" in result.message
    assert seller_server.requests == []


def test_html_page_fails(seller_server):
    page = "<!doctype html><html><body>Please log in</body></html>"
    seller_server.set_route("/issue", Route(body=page, content_type="text/html"))

    assert judge(_send(seller_server.url("/issue"))).error_kind == "html"


def test_undecodable_bytes_fail(seller_server):
    seller_server.set_route("/issue", Route(body=b"\xff\xfe\xfa\xfb"))

    assert judge(_send(seller_server.url("/issue"))).error_kind == "not_text"


def test_latin1_charset_decodes(seller_server):
    route = Route(
        body="clé".encode("latin-1"), content_type="text/plain; charset=latin-1"
    )
    seller_server.set_route("/issue", route)

    assert judge(_send(seller_server.url("/issue"))).text == "clé"


# --- The signed request as the seller's server receives it ------------------------


def _signed(url: str, method: str, body_format: str, secret: str) -> OutboundRequest:
    facts = OrderFacts(
        order_id="ord_1",
        transaction_id="txn_1",
        checkout_hash="chk_1",
        customer_email="dana@example.com",
        customer_name="Dana",
        product_id=1,
        product_name="Pixel Editor",
        quantity=1,
        unit_price="19.00",
        currency="EUR",
        event_time=datetime(2025, 1, 1, tzinfo=UTC),
    )
    fields = build_fields(
        facts=facts,
        delivery_id="dlv_1",
        quantity=1,
        item_index=1,
        item_count=1,
        custom_fields=[],
    )
    return build_request(
        url=url,
        method=method,
        body_format=body_format,
        fields=fields,
        delivery_id="dlv_1",
        secrets=[secret],
        timestamp=int(time.time()),
        user_agent="FulfillmentWebhooks/1.0",
    )


def _send_signed(request: OutboundRequest):
    return send(
        request,
        connect_timeout=1.0,
        total_timeout=2.0,
        max_bytes=1024,
        allowed_networks=LOOPBACK,
        require_https=False,
    )


def test_seller_verifies_a_received_get_by_its_raw_query(seller_server):
    secret = new_signing_secret()
    url = seller_server.url("/issue?plan=pro%20plus")

    _send_signed(_signed(url, "GET", "form", secret))

    received = seller_server.requests[0]
    assert received.query.startswith("plan=pro%20plus&event=order.fulfillment")
    Webhook(secret).verify(received.query, received.headers, json_parse=False)


@pytest.mark.parametrize("body_format", ["form", "json"])
def test_seller_verifies_a_received_post_by_its_body(seller_server, body_format):
    secret = new_signing_secret()

    _send_signed(_signed(seller_server.url("/issue"), "POST", body_format, secret))

    received = seller_server.requests[0]
    assert received.header("User-Agent") == "FulfillmentWebhooks/1.0"
    Webhook(secret).verify(received.body, received.headers, json_parse=False)


def test_gzip_answer_is_decoded(seller_server):
    route = Route(body=gzip.compress(b"KEY-GZ"), headers={"Content-Encoding": "gzip"})
    seller_server.set_route("/issue", route)

    assert judge(_send(seller_server.url("/issue"))).text == "KEY-GZ"


def test_compressed_answer_is_capped_after_decompression(seller_server):
    # 10 MiB of zeros compress to about 10 KiB: the cap must count what we decode.
    bomb = gzip.compress(b"0" * 10 * 1024 * 1024)
    route = Route(body=bomb, headers={"Content-Encoding": "gzip"})
    seller_server.set_route("/issue", route)

    result = _send(seller_server.url("/issue"), max_bytes=64 * 1024)

    assert result.error_kind == "too_large"
    assert len(result.body) == 64 * 1024
