"""The customer's order email: built from templates, the same for sending and preview.

Markdown (Instructions and the seller's answers) is rendered by
`lib.rendering.render_markdown` for the HTML part and kept as written for
the text part, so raw HTML in a seller's answer is never interpreted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from downloads.links import download_link_lifetime
from downloads.selectors import (
    DownloadLink,
    order_download_links,
    product_download_samples,
)
from lib.rendering import render_markdown, render_markdown_shared

SAMPLE_LICENSE = "**License key:** `DEMO-{index:04d}-ABCD-EFGH`"
# A key list's sample: a key as the list gives it, a code span of the key.
SAMPLE_LIST_KEY = "`DEMO-{index:04d}-ABCD-EFGH`"


@dataclass(frozen=True)
class EmailPreview:
    subject: str
    text: str
    html: str


def _instructions_for(product) -> str:
    config = getattr(product, "webhook_config", None)
    return config.instructions if config is not None else ""


def _render(
    *,
    product,
    customer_name: str,
    quantity: int,
    licenses: list[str],
    order_url: str,
    manual: bool,
    downloads: list[DownloadLink],
) -> EmailPreview:
    instructions = _instructions_for(product)
    context = {
        "product": product,
        "customer_name": customer_name,
        "quantity": quantity,
        "manual": manual,
        "order_url": order_url,
        "find_url": settings.SITE_URL + reverse("purchases:find"),
        "instructions": instructions,
        "instructions_html": (
            render_markdown_shared(instructions) if instructions else ""
        ),
        "licenses": [
            {"text": text, "html": render_markdown(text)} for text in licenses
        ],
        "downloads": downloads,
        "download_link_lifetime": download_link_lifetime(),
    }
    subject = render_to_string("emails/order_fulfilled_subject.txt", context)
    return EmailPreview(
        subject=" ".join(subject.split()),
        # The text part holds the seller's words unescaped (it is plain text), so
        # it must not stay "safe": a page that shows it has to escape it.
        text=_plain(render_to_string("emails/order_fulfilled.txt", context)),
        html=render_to_string("emails/order_fulfilled.html", context),
    )


def _plain(text: str) -> str:
    """A plain `str` copy of a template result (which Django marks as safe HTML)."""
    return str.__str__(text)  # a plain str copy, without the SafeString type


def order_url(order) -> str:
    return settings.SITE_URL + reverse("orders:order", args=[order.token])


def order_message_id(order) -> str:
    """Deterministic, so a resend of the same order's email threads with the first
    one and an ESP that deduplicates on Message-ID can recognise a repeat."""
    digest = hashlib.sha256(order.transaction_id.encode()).hexdigest()[:24]
    return f"<order-{digest}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"


def order_email_build(
    *, order, licenses: list[str], to: str | None = None
) -> EmailMultiAlternatives:
    """The email for a completed order: its licenses (the answers of its
    deliveries, in item order), or for a manual product a confirmation that the
    seller delivers it."""
    manual = order.product.is_manual
    preview = _render(
        product=order.product,
        customer_name=order.customer_name,
        quantity=order.quantity,
        licenses=[] if manual else licenses,
        order_url=order_url(order),
        manual=manual,
        # Made now: they work for DOWNLOAD_LINK_MAX_AGE from the email's build.
        downloads=order_download_links(order=order, absolute=True),
    )
    message = AnymailMessage(
        subject=preview.subject,
        body=preview.text,
        to=[to or order.customer_email],
        headers={"Message-ID": order_message_id(order)},
    )
    message.attach_alternative(preview.html, "text/html")
    # Anymail reads these; other backends ignore them.
    message.tags = ["order-fulfillment"]
    message.metadata = {"order": order.transaction_id, "product": order.product_id}
    return message


def order_email_preview(
    *, product, quantity: int = 1, licenses: list[str] | None = None
) -> EmailPreview:
    """The email a customer of `product` would get, with sample data.

    Without `licenses`, sample ones stand in: one per unit with Separate Multibuy
    or a list Response format (anything but "text"), otherwise one for the whole
    quantity.
    """
    config = getattr(product, "webhook_config", None)
    if licenses is None and product.uses_key_list:
        # One key per unit, as the list gives them.
        licenses = [SAMPLE_LIST_KEY.format(index=i) for i in range(1, quantity + 1)]
    if licenses is None:
        per_unit = config is not None and (
            config.separate_multibuy or config.response_format != "text"
        )
        count = quantity if per_unit else 1
        licenses = [SAMPLE_LICENSE.format(index=i) for i in range(1, count + 1)]
    return _render(
        product=product,
        customer_name="Sam Sample",
        quantity=quantity,
        licenses=[] if product.is_manual else licenses,
        order_url=settings.SITE_URL + "/orders/sample/",
        manual=product.is_manual,
        downloads=product_download_samples(
            product_id=product.pk, url=settings.SITE_URL + "/d/sample/"
        ),
    )
