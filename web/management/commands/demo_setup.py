"""Load the demo seller and product used by `make run`. Safe to run again.

Everything is built through the services and the Webhook Editor's own forms, so
the demo holds only states the application can produce. The one shortcut: the
demo product is published without a test delivery, because the demo license
server is not running yet when this command runs.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from fulfillment.services.config import CustomFieldRow, webhook_config_save
from products.models import Product, ProductStatus
from web.products.services import product_create, product_email_preview_seen

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-seller-2026"  # noqa: S105 - local demo data only
DEMO_STAFF = "staff"
DEMO_STAFF_PASSWORD = "demo-staff-2026"  # noqa: S105
DEMO_SLUG = "pixel-editor-pro"
LICENSE_SERVER_URL = "http://127.0.0.1:8765/license"

INSTRUCTIONS = """\
1. Download Pixel Editor Pro from [our website](https://example.com/download).
2. Open **Preferences → License** and paste the key above.

Questions? Write to [support@example.com](mailto:support@example.com).
"""


class Command(BaseCommand):
    help = (
        "Create the demo seller, a staff user and a live product wired to the "
        "demo license server."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        seller = self._user(DEMO_USERNAME, DEMO_PASSWORD, staff=False)
        self._user(DEMO_STAFF, DEMO_STAFF_PASSWORD, staff=True)
        product = Product.objects.filter(slug=DEMO_SLUG).first()
        if product is None:
            product = self._create_product(seller)
        secret_file = settings.VAR_DIR / "demo_webhook_secret"
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(product.webhook_config.signing_secret)
        self.stdout.write(
            f"Demo seller: {DEMO_USERNAME} / {DEMO_PASSWORD}   "
            f"staff (admin): {DEMO_STAFF} / {DEMO_STAFF_PASSWORD}\n"
            f"Demo product: {settings.SITE_URL}/p/{product.slug}/"
        )

    def _create_product(self, seller) -> Product:
        product = product_create(
            seller=seller,
            name="Pixel Editor Pro",
            slug=DEMO_SLUG,
            description="A fast pixel-art editor for macOS, Windows and Linux.",
            price=Decimal("29.00"),
            collect_customer_name=True,
        )
        webhook_config_save(
            config=product.webhook_config,
            url=LICENSE_SERVER_URL,
            method="POST",
            body_format="form",
            instructions=INSTRUCTIONS,
            separate_multibuy=True,
            response_format="text",
            custom_fields=[
                CustomFieldRow("customer_email", "email"),
                CustomFieldRow("static", "edition", "pro"),
            ],
        )
        product_email_preview_seen(product=product)
        product.status = ProductStatus.LIVE
        product.published_at = timezone.now()
        product.save(update_fields=["status", "published_at"])
        return product

    def _user(self, username: str, password: str, *, staff: bool):
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={
                "email": f"{username}@example.com",
                "is_staff": staff,
                "is_superuser": staff,
            },
        )
        if created:
            user.set_password(password)
            user.save()
        return user
