"""The benchmark's sellers, products and API token, built through the services.

One seller per fast server port, each with a few live webhook products (POST,
form-encoded, a Markdown Instructions text and one custom field, like the demo
product), and one seller whose products point at the slow server. As in
`demo_setup`, the one shortcut is publishing without a test delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from fulfillment.services.config import webhook_config_save
from orders.services import api_token_create
from products.models import Product, ProductStatus
from web.fulfillment.forms import CustomFieldFormSet, WebhookConfigForm
from web.products.services import product_create, product_email_preview_seen

INSTRUCTIONS = """\
1. Download the app from [our website](https://example.com/download).
2. Open **Preferences → License** and paste the key above.
"""


@dataclass
class BenchData:
    healthy: list[Product] = field(default_factory=list)
    slow: list[Product] = field(default_factory=list)
    api_token: str = ""

    def secrets(self) -> dict[str, str]:
        """{product id: signing secret}, what each seller's server knows."""
        return {
            str(p.pk): p.webhook_config.signing_secret for p in self.healthy + self.slow
        }

    def catalog(self) -> list[dict[str, object]]:
        """The healthy products as plain data, for the peers: they sell the same
        products to the same seller servers, which know these ids and secrets."""
        return [product_entry(p) for p in self.healthy]


def product_entry(product: Product) -> dict[str, object]:
    config = product.webhook_config
    return {
        "id": product.pk,
        "name": product.name,
        "price": str(product.price),
        "currency": product.currency,
        "url": config.url,
        "secret": config.signing_secret,
        "instructions": config.instructions,
    }


def _webhook_form_data(url: str, **editor: str) -> dict[str, str]:
    """The Webhook Editor's form as a seller fills it in; `editor` overrides a
    field (method, body_format, separate_multibuy="on")."""
    return {
        "url": url,
        "method": "POST",
        "body_format": "form",
        **editor,
        "instructions": INSTRUCTIONS,
        "custom_fields-TOTAL_FORMS": "1",
        "custom_fields-INITIAL_FORMS": "0",
        "custom_fields-0-kind": "customer_email",
        "custom_fields-0-name": "email",
    }


def live_product_create(seller, *, slug: str, url: str, **editor: str) -> Product:
    """A live webhook product wired to `url`, saved through the Webhook Editor's
    form and service (so the URL policy applies); `editor` as in
    `_webhook_form_data`."""
    product = product_create(
        seller=seller, name=f"Bench {slug}", slug=slug, price=Decimal("19.00")
    )
    config = product.webhook_config
    data = _webhook_form_data(url, **editor)
    form = WebhookConfigForm(data, instance=config)
    formset = CustomFieldFormSet(
        data, instance=config, form_kwargs={"product": product}
    )
    if not (form.is_valid() and formset.is_valid()):
        raise RuntimeError(f"Bench webhook invalid: {form.errors} {formset.errors}")
    webhook_config_save(config=config, **form.values(), custom_fields=formset.rows())
    product_email_preview_seen(product=product)
    product.status = ProductStatus.LIVE
    product.published_at = timezone.now()
    product.save(update_fields=["status", "published_at"])
    return Product.objects.select_related("webhook_config").get(pk=product.pk)


def seller_create(username: str):
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@bench.example", password=None
    )


def bench_data_create(
    *, fast_ports: list[int], slow_port: int, per_port: int, slow_products: int
) -> BenchData:
    data = BenchData()
    sellers = [
        seller_create(f"bench-seller-{index}") for index in range(len(fast_ports))
    ]
    # Interleaved, so that consecutive products (and orders) are on different
    # sellers' servers: product i is on port i % len(fast_ports).
    for n in range(per_port):
        for index, (seller, port) in enumerate(zip(sellers, fast_ports, strict=True)):
            url = f"http://127.0.0.1:{port}/license"
            data.healthy.append(
                live_product_create(seller, slug=f"fast-{index}-{n}", url=url)
            )
    seller = seller_create("bench-seller-slow")
    for n in range(slow_products):
        url = f"http://127.0.0.1:{slow_port}/license"
        data.slow.append(live_product_create(seller, slug=f"slow-{n}", url=url))
    _, data.api_token = api_token_create(name="bench")
    return data
