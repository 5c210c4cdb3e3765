"""Load the demo seller and products used by `make run`. Safe to run again.

Everything is built through the services and the Webhook Editor's own forms, so
the demo holds only states the application can produce. The one shortcut: the
demo product is published without a test delivery, because the demo license
server is not running yet when this command runs.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from downloads.services import product_file_add
from fulfillment.services.config import CustomFieldRow, webhook_config_save
from fulfillment.services.keylist import key_list_keys_add
from products.models import Product, ProductStatus
from web.products.services import (
    product_create,
    product_email_preview_seen,
    product_publish,
)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-seller-2026"  # noqa: S105 - local demo data only
DEMO_STAFF = "staff"
DEMO_STAFF_PASSWORD = "demo-staff-2026"  # noqa: S105
DEMO_SLUG = "pixel-editor-pro"
# A second product, sold from a license key list, with a file to download.
DEMO_KEYS_SLUG = "pixel-brush-pack"
DEMO_KEY_COUNT = 25
BRUSH_PACK_README = """\
Pixel Brush Pack
================
Unzip the pack into Pixel Editor Pro's Brushes folder, then enter your key
under Preferences > Brushes.
"""
LICENSE_SERVER_URL = "http://127.0.0.1:8765/license"

INSTRUCTIONS = """\
1. Download Pixel Editor Pro from [our website](https://example.com/download).
2. Open **Preferences → License** and paste the key above.

Questions? Write to [support@example.com](mailto:support@example.com).
"""


class Command(BaseCommand):
    help = (
        "Create the demo seller, a staff user, a live product wired to the demo "
        "license server and one sold from a key list with a file."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        seller = self._user(DEMO_USERNAME, DEMO_PASSWORD, staff=False)
        self._user(DEMO_STAFF, DEMO_STAFF_PASSWORD, staff=True)
        product = Product.objects.filter(slug=DEMO_SLUG).first()
        if product is None:
            product = self._create_product(seller)
        keys_product = Product.objects.filter(slug=DEMO_KEYS_SLUG).first()
        if keys_product is None:
            keys_product = self._create_key_list_product(seller)
        secret_file = settings.VAR_DIR / "demo_webhook_secret"
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(product.webhook_config.signing_secret)
        self.stdout.write(
            f"Demo seller: {DEMO_USERNAME} / {DEMO_PASSWORD}   "
            f"staff (admin): {DEMO_STAFF} / {DEMO_STAFF_PASSWORD}\n"
            f"Demo products: {settings.SITE_URL}/p/{product.slug}/ (webhook), "
            f"{settings.SITE_URL}/p/{keys_product.slug}/ (key list, a file)"
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

    def _create_key_list_product(self, seller) -> Product:
        product = product_create(
            seller=seller,
            name="Pixel Brush Pack",
            slug=DEMO_KEYS_SLUG,
            description="120 hand-made brushes for Pixel Editor Pro.",
            price=Decimal("9.00"),
            fulfillment_method="key_list",
        )
        keys = [f"BRUSH-{n:04d}-DEMO" for n in range(1, DEMO_KEY_COUNT + 1)]
        key_list_keys_add(product_id=product.pk, text="\n".join(keys))
        product_file_add(
            product=product,
            upload=ContentFile(BRUSH_PACK_README.encode(), name="README.txt"),
            filename="pixel-brush-pack-README.txt",
            content_type="text/plain",
        )
        product_email_preview_seen(product=product)
        # Its whole Release Checklist is done: published the way a seller does.
        missing = product_publish(product=product)
        if missing:
            raise CommandError(f"The demo key list product misses {missing}")
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
