"""The customer's email: text and HTML from templates, the seller's Markdown
rendered and then cleaned with nh3 (a seller's answer is never trusted HTML)."""

from __future__ import annotations

import markdown
import nh3
from django.template.loader import render_to_string


def _html(text: str) -> str:
    return nh3.clean(markdown.markdown(text), link_rel="nofollow noopener noreferrer")


def license_email(*, order, licenses: list[str]) -> tuple[str, str, str]:
    """Subject, text and HTML of the email that brings an order's licenses."""
    product = order.product
    context = {
        "order": order,
        "product": product,
        "licenses": [{"text": text, "html": _html(text)} for text in licenses],
        "instructions": product.instructions,
        "instructions_html": _html(product.instructions),
    }
    subject = f"Your license for {product.name}"
    text = render_to_string("conventional/license_email.txt", context)
    html = render_to_string("conventional/license_email.html", context)
    return subject, text, html
