"""The seller's own data through checkout: `/p/<slug>/?passthrough=…` to the
order, to the seller's server, and nowhere the customer looks.

The buyer's browser is played by the test client reading the product page's
form as a browser would submit it; the seller by the real HTTP server of
tests/httpserver.py.
"""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote

import pytest
from django.core import mail
from django.urls import reverse

from emails.notices import order_delay_notices_send
from orders.models import FulfillmentStatus, Order
from web.orders.forms import PASSTHROUGH_REPEATED_MESSAGE

pytestmark = pytest.mark.django_db

CONTROL_MESSAGE = "Must not contain control characters (tabs, line breaks…)."


class _FormInputs(HTMLParser):
    """Each <input> of the page's checkout form, name → value, as submitted."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inputs: dict[str, str] = {}
        self.forms = 0

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms += 1
        elif tag == "input" and attributes.get("type") == "hidden":
            self.inputs[attributes["name"]] = attributes.get("value", "")


def _page(client, query: str = ""):
    return client.get(f"/p/pixel-editor/{query}")


def _hidden_inputs(response) -> dict[str, str]:
    parser = _FormInputs()
    parser.feed(response.content.decode())
    return parser.inputs


def _buy(client, hidden: dict[str, str], **fields):
    url = reverse("orders:checkout", kwargs={"slug": "pixel-editor"})
    data = {**hidden, "customer_email": "buyer@example.com", "quantity": 1, **fields}
    return client.post(url, data)


def _link_errors(response) -> list[str]:
    return list(response.context["link_errors"] or [])


# --- The link carries it into the form, and the form into the order ------------


@pytest.mark.parametrize(
    "value",
    ["acct_42", ' x" onmouseover="alert(1)', "<b>Zoë</b> & 🚀", " a  b "],
    ids=["id", "attribute-break", "markup", "spaces"],
)
def test_the_product_page_carries_the_links_passthrough_in_its_form(
    client, live_product, value
):
    response = _page(client, f"?passthrough={quote(value)}")

    assert response.status_code == 200
    assert _hidden_inputs(response)["passthrough"] == value


def test_a_plain_product_page_carries_an_empty_passthrough(client, live_product):
    assert _hidden_inputs(_page(client)).get("passthrough", "") == ""


def test_checkout_through_the_link_reaches_the_sellers_server(
    client,
    answering_product,
    seller_server,
    email_backend,
    django_capture_on_commit_callbacks,
):
    hidden = _hidden_inputs(_page(client, "?passthrough=acct_42&utm_source=app"))

    with django_capture_on_commit_callbacks(execute=True):
        response = _buy(client, hidden)

    order = Order.objects.get()
    assert response.status_code == 302
    assert order.passthrough == "acct_42"
    [request] = seller_server.requests_to("/license")
    assert parse_qs(request.body.decode())["passthrough"] == ["acct_42"]
    order.refresh_from_db()
    assert order.fulfillment_status == FulfillmentStatus.FULFILLED
    # The customer's email has the license, never the seller's data.
    [message] = mail.outbox
    assert "LICENSE-OK" in message.body
    assert "acct_42" not in message.body
    assert "acct_42" not in message.alternatives[0][0]


def test_a_checkout_without_a_link_sends_an_empty_passthrough(
    client, answering_product, seller_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _buy(client, _hidden_inputs(_page(client)))

    [request] = seller_server.requests_to("/license")
    fields = parse_qs(request.body.decode(), keep_blank_values=True)
    assert fields["passthrough"] == [""]


def test_the_same_form_posted_with_another_passthrough_is_refused(client, live_product):
    hidden = _hidden_inputs(_page(client, "?passthrough=acct_42"))
    _buy(client, hidden)

    response = _buy(client, {**hidden, "passthrough": "acct_43"})

    assert response.status_code == 200
    assert "This checkout was already used" in response.content.decode()
    assert Order.objects.get().passthrough == "acct_42"


# --- A link we refuse: a readable page, never a 500, never an order -------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?passthrough=acct%0A42", CONTROL_MESSAGE),
        ("?passthrough=acct%0942", CONTROL_MESSAGE),
        ("?passthrough=acct%C2%8542", CONTROL_MESSAGE),  # C1 NEL, UTF-8 encoded
        ("?passthrough=acct%0042", "Must not contain NUL characters."),
        (
            "?passthrough=" + "x" * 1001,
            "Must be at most 1,000 characters (it has 1,001).",
        ),
        ("?passthrough=acct_1&passthrough=acct_2", PASSTHROUGH_REPEATED_MESSAGE),
    ],
    ids=["newline", "tab", "c1", "nul", "too-long", "repeated"],
)
def test_an_invalid_link_says_so_on_the_product_page_without_a_form(
    client, live_product, query, message
):
    response = _page(client, query)

    content = response.content.decode()
    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store"
    assert "This link is invalid." in content
    assert _link_errors(response) == [message]
    assert live_product.name in content
    # No form to pay through; a way to buy without the link's data instead.
    assert 'name="checkout_token"' not in content
    assert 'href="/p/pixel-editor/">buy without it</a>' in content


def test_a_posted_form_whose_passthrough_was_edited_creates_nothing(
    client, live_product
):
    hidden = _hidden_inputs(_page(client, "?passthrough=acct_42"))

    response = _buy(client, {**hidden, "passthrough": "acct_42\r\nX-Injected: 1"})

    assert response.status_code == 400
    assert _link_errors(response) == [CONTROL_MESSAGE]
    assert "This link is invalid." in response.content.decode()
    assert Order.objects.count() == 0


# --- Never shown to the customer ------------------------------------------------


def test_the_customers_order_page_never_shows_the_passthrough(client, live_product):
    _buy(client, _hidden_inputs(_page(client, "?passthrough=acct_secret_42")))
    order = Order.objects.get()

    content = client.get(f"/orders/{order.token}/").content.decode()

    assert order.passthrough == "acct_secret_42"
    assert "acct_secret_42" not in content


def test_the_delay_notice_never_shows_the_passthrough(
    client, live_product, email_backend
):
    _buy(client, _hidden_inputs(_page(client, "?passthrough=acct_secret_42")))
    order = Order.objects.get()

    sent = order_delay_notices_send(now=order.completed_at + timedelta(hours=1))

    [message] = mail.outbox
    assert sent == 1
    assert "acct_secret_42" not in message.body
    assert "acct_secret_42" not in message.alternatives[0][0]
