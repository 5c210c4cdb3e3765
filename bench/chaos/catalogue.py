"""The chaos run's seller, products and API token, made through the app's
services (the Webhook Editor's form, so the production URL policy applies), and
the sellers' servers told each product's signing secret, read from the app."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.chaos.deploy import Seller
from bench.fixtures import live_product_create, seller_create
from orders.models import ApiScope
from orders.services import api_token_create
from products.models import Product


@dataclass(frozen=True)
class ProductSpec:
    slug: str
    # The Webhook Editor's fields besides the URL (POST form-encoded by default).
    editor: dict[str, str] = field(default_factory=dict)
    # Requests of each delivery answered 500 before the first 200.
    fail_first: int = 0
    # Quantities its orders cycle through.
    quantities: tuple[int, ...] = (1,)
    # Which sellers' server it is on (a key of the run's servers).
    server: str = "main"

    @property
    def healthy(self) -> bool:
        return self.fail_first == 0


@dataclass
class Catalogue:
    specs: dict[str, ProductSpec]
    products: dict[str, Product]
    token: str


def catalogue_create(
    specs: tuple[ProductSpec, ...], servers: dict[str, Seller]
) -> Catalogue:
    seller = seller_create("chaos-seller")
    products = {
        spec.slug: live_product_create(
            seller,
            slug=spec.slug,
            url=servers[spec.server].url(f"/license/{spec.slug}"),
            **spec.editor,
        )
        for spec in specs
    }
    for name, server in servers.items():
        server.products_learn(
            {
                spec.slug: {
                    "secret": products[spec.slug].webhook_config.signing_secret,
                    "fail_first": spec.fail_first,
                }
                for spec in specs
                if spec.server == name
            }
        )
    _, token = api_token_create(name="chaos", scopes=[ApiScope.ORDERS_WRITE])
    return Catalogue({spec.slug: spec for spec in specs}, products, token)
