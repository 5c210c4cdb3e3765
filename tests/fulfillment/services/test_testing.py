"""The Webhook Editor's "Send test request", against a real server on 127.0.0.1.

What the seller must see: each request exactly as sent (signature included), the
answer, how long it took, the verdict in plain words, and the customer email for
one unit and for a multibuy; with JavaScript (a fragment) and without (a page).
"""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs

import pytest
from django.urls import reverse
from standardwebhooks import Webhook

from fulfillment.models import Delivery
from fulfillment.payload import TEST_PASSTHROUGH
from fulfillment.services.testing import webhook_test_run
from tests.factories import CustomFieldFactory
from tests.httpserver import Route
from web.products.checklist import product_checklist

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_product(product, seller_server, loopback):
    config = product.webhook_config
    config.url = seller_server.url("/license")
    config.instructions = "Open **Settings → License** and paste the key."
    config.save()
    CustomFieldFactory(config=config, kind="customer_email", name="buyer")
    return product


def _licensing(request):
    """A seller server that answers one key per unit it was asked for."""
    fields = parse_qs(request.body.decode())
    quantity = int(fields["quantity"][0])
    keys = "\n".join(
        f"KEY-{request.headers['webhook-id'][-6:]}-{i}" for i in range(quantity)
    )
    return Route(body=keys)


def _test(client, product, **headers):
    return client.post(
        reverse("fulfillment:config-test", args=[product.pk]), follow=True, **headers
    )


def test_a_run_sends_one_unit_then_a_multibuy(editor_product, seller_server):
    seller_server.set_route("/license", _licensing)

    run = webhook_test_run(product=editor_product)

    requests = seller_server.requests_to("/license")
    assert [parse_qs(r.body.decode())["quantity"] for r in requests] == [["1"], ["2"]]
    assert all(parse_qs(r.body.decode())["test"] == ["true"] for r in requests)
    assert run.succeeded
    assert [d.quantity for d in run.deliveries] == [1, 2]
    assert {d.test_run for d in run.deliveries} == {run.run_id}


def test_separate_multibuy_tests_one_request_per_unit(editor_product, seller_server):
    editor_product.webhook_config.separate_multibuy = True
    editor_product.webhook_config.save()
    seller_server.set_route("/license", _licensing)

    run = webhook_test_run(product=editor_product)

    bodies = [parse_qs(r.body.decode()) for r in seller_server.requests_to("/license")]
    assert [b["quantity"] for b in bodies] == [["1"], ["1"], ["1"]]
    assert [(d.item_index, d.item_count) for d in run.multibuy] == [(1, 2), (2, 2)]
    assert run.succeeded


def test_a_failing_server_is_asked_once(editor_product, seller_server):
    seller_server.set_route("/license", Route(status=500, body="boom"))

    run = webhook_test_run(product=editor_product)

    assert len(seller_server.requests_to("/license")) == 1
    assert run.multibuy == []
    assert not run.succeeded


def test_the_result_page_shows_the_exchange_and_both_emails(
    alice_client, editor_product, seller_server
):
    seller_server.set_route("/license", _licensing)

    response = _test(alice_client, editor_product)

    page = unescape(response.content.decode())
    assert "Test request succeeded." in page
    sent = seller_server.requests_to("/license")[0]
    # The request exactly as sent: the signature a seller can check by hand.
    assert f"webhook-signature: {sent.headers['webhook-signature']}" in page
    assert f"webhook-id: {sent.headers['webhook-id']}" in page
    assert sent.body.decode() in page
    assert "buyer=customer%40example.com" in sent.body.decode()
    assert "HTTP 200" in page
    assert re.search(r"\d+ ms", page)
    # The customer email for one unit and for the multibuy of 2.
    emails = response.context["emails"]
    assert "KEY-" in emails["single"].text and emails["single"].text.count("KEY-") == 1
    assert emails["multibuy"].text.count("KEY-") == 2
    assert "<strong>Settings → License</strong>" in emails["single"].html
    assert emails["single"].subject in page
    assert "Quantity 1" in page and "Multibuy (quantity 2)" in page


def test_every_test_request_carries_the_sample_passthrough_shown_as_sent(
    alice_client, editor_product, seller_server
):
    seller_server.set_route("/license", _licensing)

    response = _test(alice_client, editor_product)

    sent = [parse_qs(r.body.decode()) for r in seller_server.requests_to("/license")]
    assert [f["passthrough"] for f in sent] == [[TEST_PASSTHROUGH]] * 2
    assert f"passthrough={TEST_PASSTHROUGH}" in unescape(response.content.decode())
    # The customer's emails for the test never show it.
    for email in response.context["emails"].values():
        assert TEST_PASSTHROUGH not in email.text + email.html


def test_the_signature_shown_verifies_with_the_official_library(
    alice_client, editor_product, seller_server
):
    seller_server.set_route("/license", _licensing)

    _test(alice_client, editor_product)

    attempt = Delivery.objects.filter(is_test=True).first().attempts.get()
    # What the page shows is enough to verify by hand: headers, body, the secret.
    Webhook(editor_product.webhook_config.signing_secret).verify(
        attempt.request_body, attempt.request_headers, json_parse=False
    )


def test_real_deliveries_still_store_no_signature(editor_product, seller_server):
    from fulfillment.services.deliveries import delivery_attempt
    from web.orders.services import order_place

    seller_server.set_route("/license", _licensing)
    editor_product.status = "live"
    editor_product.save()
    order = order_place(
        product=editor_product, quantity=1, customer_email="jo@example.com"
    )
    delivery_attempt(delivery_pk=order.deliveries.get().pk)

    attempt = order.deliveries.get().attempts.get()
    assert attempt.request_headers["webhook-signature"] == "v1,<redacted>"


def test_a_redirect_is_explained_in_plain_words(
    alice_client, editor_product, seller_server
):
    seller_server.set_route("/license", Route.redirect("https://example.com/new"))

    response = _test(alice_client, editor_product)

    page = unescape(response.content.decode())
    assert (
        "Your server answered 302 and pointed to https://example.com/new; we do not "
        "follow redirects. Point the Webhook URL at the final address." in page
    )
    assert "HTTP 302" in page
    assert "location: https://example.com/new" in page.lower()
    assert "The multibuy request was not sent because the first one failed." in page
    assert response.context["emails"] == {}


def test_with_javascript_the_answer_is_a_fragment(
    alice_client, editor_product, seller_server
):
    seller_server.set_route("/license", _licensing)

    response = alice_client.post(
        reverse("fulfillment:config-test", args=[editor_product.pk]),
        headers={"X-Requested-With": "fetch"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="test-result-title"' in body
    assert "“Test delivery succeeded” is ticked for config version" in body
    # The email preview iframe needs the inline-style allowance on this response.
    assert "'unsafe-inline'" in response.headers["Content-Security-Policy"]


def test_success_ticks_the_checklist_and_an_edit_clears_it(
    alice_client, editor_product, seller_server
):
    seller_server.set_route("/license", _licensing)

    def ticked():
        editor_product.refresh_from_db()
        items = {i.key: i.done for i in product_checklist(editor_product)}
        return items["test_delivery"]

    _test(alice_client, editor_product)
    assert ticked()

    config = editor_product.webhook_config
    alice_client.post(
        reverse("fulfillment:config-edit", args=[editor_product.pk]),
        {
            "url": config.url,
            "method": "POST",
            "body_format": "json",
            "instructions": config.instructions,
            "custom_fields-TOTAL_FORMS": "0",
            "custom_fields-INITIAL_FORMS": "0",
        },
    )
    assert not ticked()


def test_json_format_is_shown_as_sent(alice_client, editor_product, seller_server):
    config = editor_product.webhook_config
    config.body_format = "json"
    config.save()

    def answer(request):
        return Route(body=f"KEY-{json.loads(request.body)['quantity']}")

    seller_server.set_route("/license", answer)

    response = _test(alice_client, editor_product)

    page = unescape(response.content.decode())
    assert "content-type: application/json" in page.lower()
    assert json.loads(seller_server.requests_to("/license")[0].body)["test"] is True
    assert response.context["run"].multibuy[0].response_text == "KEY-2"


def test_another_seller_cannot_see_a_run(bob_client, editor_product, seller_server):
    seller_server.set_route("/license", _licensing)
    run = webhook_test_run(product=editor_product)

    url = reverse(
        "fulfillment:config-test-result", args=[editor_product.pk, run.run_id]
    )

    assert bob_client.get(url).status_code == 404


def test_a_run_of_another_product_is_not_found(
    alice_client, editor_product, seller_server
):
    from tests.factories import ProductFactory, WebhookConfigFactory

    other = ProductFactory(seller=editor_product.seller, name="Other", slug="other")
    WebhookConfigFactory(product=other)
    seller_server.set_route("/license", _licensing)
    run = webhook_test_run(product=editor_product)

    url = reverse("fulfillment:config-test-result", args=[other.pk, run.run_id])

    assert alice_client.get(url).status_code == 404


def test_live_instructions_preview_uses_the_email_renderer(alice_client, product):
    url = reverse("fulfillment:config-instructions-preview", args=[product.pk])

    response = alice_client.post(
        url, {"instructions": "**Bold** <script>alert(1)</script> [docs](javascript:x)"}
    )

    html = response.content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html
    assert "javascript:" not in html


def test_preview_button_renders_typed_instructions_without_saving(
    alice_client, product
):
    config = product.webhook_config
    response = alice_client.post(
        reverse("fulfillment:config-edit", args=[product.pk]),
        {
            "url": config.url,
            "method": config.method,
            "body_format": config.body_format,
            "instructions": "Step *one*",
            "custom_fields-TOTAL_FORMS": "0",
            "custom_fields-INITIAL_FORMS": "0",
            "preview_instructions": "1",
        },
    )

    assert "Step <em>one</em>" in response.content.decode()
    config.refresh_from_db()
    assert config.instructions != "Step *one*"


def test_another_seller_gets_no_preview(bob_client, product):
    url = reverse("fulfillment:config-instructions-preview", args=[product.pk])

    assert bob_client.post(url, {"instructions": "x"}).status_code == 404


def test_a_list_format_tests_the_multibuy_in_one_request_and_previews_each_license(
    alice_client, editor_product, seller_server
):
    editor_product.webhook_config.response_format = "lines"
    editor_product.webhook_config.save()
    seller_server.set_route("/license", _licensing)

    response = _test(alice_client, editor_product)

    requests = seller_server.requests_to("/license")
    assert [parse_qs(r.body.decode())["quantity"] for r in requests] == [["1"], ["2"]]
    run = response.context["run"]
    assert run.succeeded
    assert len(run.multibuy[0].license_texts) == 2
    multibuy = response.context["emails"]["multibuy"]
    assert "License 1 of 2" in multibuy.text and "License 2 of 2" in multibuy.text
    assert "License 1 of" not in response.context["emails"]["single"].text


def test_a_list_format_multibuy_answered_with_one_license_fails_the_test(
    editor_product, seller_server
):
    editor_product.webhook_config.response_format = "lines"
    editor_product.webhook_config.save()
    seller_server.set_route("/license", Route(body="ONE-KEY"))

    run = webhook_test_run(product=editor_product)

    assert run.single_succeeded and not run.multibuy_succeeded
    failure = run.first_failure()
    assert failure is not None
    assert failure.last_error.startswith(
        "Your server sent 1 license for a quantity of 2:"
    )
