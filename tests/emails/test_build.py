"""The customer's order email, as built for sending and for the preview."""

from __future__ import annotations

import pytest

from emails.build import order_email_build, order_email_preview
from tests.factories import place

pytestmark = pytest.mark.django_db

# The seller's answer, as their server wrote it.
LICENSES = ['**KEY-1** <img src=x onerror="alert(1)"> [x](javascript:alert(2))']


@pytest.fixture
def order(live_product):
    return place(live_product, email="ada@example.com")


def html_part(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def test_subject_is_plain_text_not_html(product):
    product.name = "Tom & Jerry <Pro>"

    preview = order_email_preview(product=product)

    assert preview.subject == "Your Tom & Jerry <Pro> license"


def test_license_markdown_is_rendered_and_raw_html_shown_as_text(order):
    html = html_part(order_email_build(order=order, licenses=LICENSES))

    assert "<strong>KEY-1</strong>" in html
    assert "&lt;img src=x" in html
    assert "<img" not in html
    assert "javascript:" not in html


def test_text_part_carries_the_license_and_instructions_as_written(order):
    message = order_email_build(order=order, licenses=LICENSES)

    assert "**KEY-1**" in message.body
    assert "Open the app and paste your **license key**." in message.body


def test_message_id_is_the_same_for_every_build_of_one_order(order):
    first = order_email_build(order=order, licenses=LICENSES)
    again = order_email_build(order=order, licenses=LICENSES)

    first, again = (m.extra_headers["Message-ID"] for m in (first, again))

    assert first == again
    assert order.transaction_id not in first  # nothing guessable leaks


def test_corrected_address_replaces_the_recipient(order):
    message = order_email_build(order=order, licenses=LICENSES, to="right@example.com")

    assert message.to == ["right@example.com"]


def test_the_preview_of_a_list_format_shows_one_sample_license_per_unit(live_product):
    live_product.webhook_config.response_format = "json"
    live_product.webhook_config.save()

    preview = order_email_preview(product=live_product, quantity=3)

    assert "License 3 of 3" in preview.text


def test_the_preview_of_the_text_format_shows_one_license_for_the_quantity(
    live_product,
):
    preview = order_email_preview(product=live_product, quantity=3)

    assert "License 1 of" not in preview.text
