"""The customer's order email, as built for sending and for the preview."""

from __future__ import annotations

import re

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


# --- Downloads: the product's files, with links made when the email is built --


@pytest.fixture
def with_files(live_product, downloads_storage):
    from tests.factories import add_file

    return [
        add_file(live_product, name="app.zip", content=b"x" * 3000),
        add_file(live_product, name="manual.pdf"),
    ]


def test_the_email_links_each_file_of_the_order(order, with_files, client):
    message = order_email_build(order=order, licenses=LICENSES)

    html, text = html_part(message), message.body
    for body in (html, text):
        assert body.index("app.zip") < body.index("manual.pdf")
        assert "work for 24 hours" in body
    links = re.findall(r'href="(http://127\.0\.0\.1:8000/d/[^"]+/)"', html)
    assert len(links) == 2
    assert all(link in text for link in links)
    path = links[0].removeprefix("http://127.0.0.1:8000")
    assert b"".join(client.get(path).streaming_content) == b"x" * 3000


def test_the_email_of_a_product_without_files_says_nothing_of_files(order):
    message = order_email_build(order=order, licenses=LICENSES)

    assert "Your file" not in message.body
    assert "/d/" not in html_part(message)


def test_the_preview_lists_the_files_with_sample_links(live_product, with_files):
    preview = order_email_preview(product=live_product)

    assert "app.zip" in preview.html and "manual.pdf" in preview.text
    assert "http://127.0.0.1:8000/d/sample/" in preview.html
