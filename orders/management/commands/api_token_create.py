"""Create an orders API token from the command line (demo setup, scripts).

Staff normally create tokens in Django admin; both show the secret only once.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from orders.services import api_token_create


class Command(BaseCommand):
    help = "Create an orders API token and print it once (only its hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="Who uses it.")

    def handle(self, *args, name: str, **options) -> None:
        _, raw = api_token_create(name=name)
        self.stdout.write(raw)
