"""The seller's low-stock email: "N keys left for <product>", once per crossing
of the threshold (services.key_list_stock_note stamps the crossing)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.urls import reverse

from emails.messages import message_build, message_id, message_send

from .models import KeyList
from .selectors import key_list_free_count

logger = logging.getLogger(__name__)


def key_list_low_stock_email_send(*, product_id: int) -> int:
    """Email the seller how many keys are left; the number of emails sent.

    Nothing when the list was refilled above the threshold meanwhile (the
    stamp is gone), or the seller has no address. The Message-ID is the
    crossing's, so a retry of the same email is recognisable as one."""
    key_list = (
        KeyList.objects.select_related("product__seller")
        .filter(product_id=product_id, low_stock_alerted_at__isnull=False)
        .first()
    )
    if key_list is None:
        return 0
    seller = key_list.product.seller
    if not seller.email:
        logger.warning(
            "Seller %s has no email address; low-stock email skipped", seller
        )
        return 0
    message_send(_low_stock_email_build(key_list=key_list, to=seller.email))
    return 1


def _low_stock_email_build(*, key_list: KeyList, to: str):
    product = key_list.product
    context = {
        "seller_name": product.seller.get_full_name() or product.seller.username,
        "product": product.name,
        "count": key_list_free_count(product_id=product.pk),
        "threshold": key_list.low_stock_threshold,
        "list_url": settings.SITE_URL + reverse("keylists:list", args=[product.pk]),
    }
    crossing = f"{product.pk}:{key_list.low_stock_alerted_at:%Y%m%d%H%M%S%f}"
    return message_build(
        template="keylist_low_stock",
        context=context,
        to=to,
        message_id=message_id("low-stock", crossing),
    )
