"""Load the demo seller and product used by `make run`. Safe to run again."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from fulfillment.models import CustomField, WebhookConfig
from products.models import Product

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-seller-2026"  # noqa: S105 - local demo data only
DEMO_STAFF = "staff"
DEMO_STAFF_PASSWORD = "demo-staff-2026"  # noqa: S105
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
        product, created = Product.objects.get_or_create(
            slug="pixel-editor-pro",
            defaults={
                "seller": seller,
                "name": "Pixel Editor Pro",
                "description": "A fast pixel-art editor for macOS, Windows and Linux.",
                "price": Decimal("29.00"),
                "currency": "USD",
                "collect_customer_name": True,
                "status": "live",
                "published_at": timezone.now(),
                "email_preview_seen_at": timezone.now(),
            },
        )
        config, _ = WebhookConfig.objects.get_or_create(
            product=product,
            defaults={
                "url": LICENSE_SERVER_URL,
                "method": "POST",
                "body_format": "form",
                "instructions": INSTRUCTIONS,
                "separate_multibuy": True,
            },
        )
        if created:
            CustomField.objects.create(
                config=config, kind="customer_email", name="email", position=0
            )
            CustomField.objects.create(
                config=config, kind="static", name="edition", value="pro", position=1
            )
        secret_file = settings.VAR_DIR / "demo_webhook_secret"
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(config.signing_secret)
        self.stdout.write(
            f"Demo seller: {DEMO_USERNAME} / {DEMO_PASSWORD}   "
            f"staff (admin): {DEMO_STAFF} / {DEMO_STAFF_PASSWORD}\n"
            f"Demo product: {settings.SITE_URL}/p/{product.slug}/"
        )

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
