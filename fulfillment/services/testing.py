"""The Webhook Editor's "Send test request": what the seller's server answers, and
the email their customer would get, for one unit and for a multibuy.

A run is a quantity-1 request and then, if that succeeded, the requests of a
multibuy of MULTIBUY_QUANTITY exactly as a real order plans them (one request per
unit with Separate Multibuy, one request for the whole quantity otherwise). All of
them are real test deliveries through the same transport, signing and rules: with
a list response format the multibuy answer must hold MULTIBUY_QUANTITY licenses.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from emails.build import EmailPreview, order_email_preview

from ..models import Delivery, DeliveryAttempt, DeliveryStatus
from .deliveries import delivery_test_send

MULTIBUY_QUANTITY = 2


@dataclass(frozen=True)
class WebhookTestRun:
    run_id: str
    single: Delivery
    multibuy: list[Delivery]
    multibuy_quantity: int = MULTIBUY_QUANTITY

    @property
    def single_succeeded(self) -> bool:
        return self.single.status == DeliveryStatus.SUCCEEDED

    @property
    def multibuy_succeeded(self) -> bool:
        return bool(self.multibuy) and all(
            d.status == DeliveryStatus.SUCCEEDED for d in self.multibuy
        )

    @property
    def succeeded(self) -> bool:
        return self.single_succeeded and self.multibuy_succeeded

    @property
    def deliveries(self) -> list[Delivery]:
        return [self.single, *self.multibuy]

    @property
    def exchanges(self) -> list[tuple[Delivery, DeliveryAttempt | None]]:
        """Each delivery with its (only) attempt, as sent and answered."""
        return [
            (d, max(d.attempts.all(), key=lambda a: a.number, default=None))
            for d in self.deliveries
        ]

    def first_failure(self) -> Delivery | None:
        return next(
            (d for d in self.deliveries if d.status != DeliveryStatus.SUCCEEDED), None
        )


def webhook_test_run(*, product) -> WebhookTestRun:
    """Send the quantity-1 test, then the multibuy ones unless the first failed
    (a server that cannot answer one unit would only fail again, slower)."""
    single = delivery_test_send(product=product)
    multibuy: list[Delivery] = []
    if single.status == DeliveryStatus.SUCCEEDED:
        if product.webhook_config.separate_multibuy:
            for index in range(1, MULTIBUY_QUANTITY + 1):
                delivery = delivery_test_send(
                    product=product,
                    item_index=index,
                    item_count=MULTIBUY_QUANTITY,
                    test_run=single.delivery_id,
                )
                multibuy.append(delivery)
                if delivery.status != DeliveryStatus.SUCCEEDED:
                    break
        else:
            multibuy.append(
                delivery_test_send(
                    product=product,
                    quantity=MULTIBUY_QUANTITY,
                    test_run=single.delivery_id,
                )
            )
    return WebhookTestRun(run_id=single.delivery_id, single=single, multibuy=multibuy)


def webhook_test_run_get(*, product, run_id: str) -> WebhookTestRun:
    """A past run of `product`'s tests; 404 when it is not this product's."""
    deliveries = list(
        Delivery.objects.filter(product=product, is_test=True, test_run=run_id)
        .prefetch_related("attempts")
        .order_by("created_at", "item_index", "pk")
    )
    if not deliveries:
        # Tests sent before runs existed stand alone.
        deliveries = list(
            Delivery.objects.filter(product=product, is_test=True, delivery_id=run_id)
        )
    single = next((d for d in deliveries if d.delivery_id == run_id), None)
    if single is None:
        raise Http404("No such test request.")
    multibuy = [d for d in deliveries if d is not single]
    return WebhookTestRun(run_id=run_id, single=single, multibuy=multibuy)


def webhook_test_run_emails(*, product, run: WebhookTestRun) -> dict[str, EmailPreview]:
    """The customer emails the answers make, exactly as they would be sent."""
    emails = {}
    if run.single_succeeded:
        emails["single"] = order_email_preview(
            product=product, quantity=1, licenses=run.single.license_texts
        )
    if run.multibuy_succeeded:
        # With a list format the one multibuy answer holds every unit's license
        # (its count was checked), so the email shows "License i of N" as with
        # Separate Multibuy.
        emails["multibuy"] = order_email_preview(
            product=product,
            quantity=MULTIBUY_QUANTITY,
            licenses=[text for d in run.multibuy for text in d.license_texts],
        )
    return emails
