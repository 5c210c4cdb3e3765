"""The release checklist, computed from the product's state and never stored.

Because nothing here is saved, an item cannot drift from the facts: editing the
webhook config bumps its version, and the "test delivery succeeded" item un-ticks by
itself until a test against the new version succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from fulfillment.models import Delivery, DeliveryStatus, WebhookConfig
from keylists.models import KeyList
from keylists.selectors import key_list_free_count
from products.models import Product


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    done: bool
    url: str  # The page where the seller completes this item.
    required: bool = True
    action: str = "Complete this"  # The link's words while the item is open.
    hint: str = ""  # What exactly is missing, in a sentence.


def _config_for(product: Product) -> WebhookConfig | None:
    return WebhookConfig.objects.filter(product=product).first()


def _test_delivery_succeeded(product: Product, config: WebhookConfig | None) -> bool:
    if config is None:
        return False
    return Delivery.objects.filter(
        product=product,
        is_test=True,
        status=DeliveryStatus.SUCCEEDED,
        config_version=config.version,
    ).exists()


def _email_preview_seen(product: Product, config: WebhookConfig | None) -> bool:
    seen = product.email_preview_seen_at
    if seen is None:
        return False
    # A webhook product's email shows its Instructions: a preview seen before the
    # last config change no longer shows what customers get.
    if product.uses_webhook and config is not None:
        return seen > config.updated_at
    return True


def product_checklist(product: Product) -> list[ChecklistItem]:
    edit_url = reverse("products:edit", args=[product.pk])
    editor_url = reverse("fulfillment:config-edit", args=[product.pk])
    config = _config_for(product) if product.uses_webhook else None
    items = [
        ChecklistItem(
            "details",
            "Product details",
            bool(product.name.strip() and product.description.strip()),
            edit_url,
            action="Add a name and description",
            hint="Customers see the description on the product page.",
        ),
        ChecklistItem(
            "price",
            "Price set",
            product.price > 0,
            edit_url,
            action="Set a price",
        ),
        ChecklistItem(
            "fulfillment",
            "Fulfillment configured",
            bool(config and config.url) if product.uses_webhook else True,
            editor_url if product.uses_webhook else edit_url,
            action="Set the Webhook URL",
            hint="The address of your license server, in the Webhook Editor.",
        ),
    ]
    if product.uses_webhook:
        items.append(
            ChecklistItem(
                "test_delivery",
                "Test delivery succeeded",
                _test_delivery_succeeded(product, config),
                editor_url + "#send-test",
                action="Send a test request",
                hint=(
                    f"A test against the current config (version {config.version})"
                    " must succeed; each save of the Webhook Editor asks for a new one."
                    if config is not None
                    else ""
                ),
            )
        )
    items += _key_list_items(product)
    items.append(
        ChecklistItem(
            "email_preview",
            "Email preview seen",
            _email_preview_seen(product, config),
            reverse("products:email-preview", args=[product.pk]),
            action="See the customer email",
            hint="Look at the email your customers get, with your Instructions.",
        )
    )
    return items


def _key_list_items(product: Product) -> list[ChecklistItem]:
    """The list method needs keys to publish; the Webhook method's fallback,
    when switched on, only warns: the seller's server still serves orders."""
    url = reverse("keylists:list", args=[product.pk])
    if product.uses_key_list:
        return [
            ChecklistItem(
                "keys",
                "Keys in your list",
                key_list_free_count(product_id=product.pk) > 0,
                url,
                action="Add keys",
                hint="Each unit sold takes one key: with none, nobody can buy.",
            )
        ]
    fallback_on = KeyList.objects.filter(
        product=product, fallback_enabled=True
    ).exists()
    if product.uses_webhook and fallback_on:
        return [
            ChecklistItem(
                "fallback_keys",
                "Keys for the fallback",
                key_list_free_count(product_id=product.pk) > 0,
                url,
                required=False,
                action="Add keys",
                hint="Your fallback is on but your key list is empty: when your "
                "server does not answer, orders wait for it.",
            )
        ]
    return []


def checklist_item_done(items: list[ChecklistItem], key: str) -> bool:
    """Is the item `key` (e.g. "test_delivery") ticked?"""
    return any(item.key == key and item.done for item in items)


def checklist_missing(items: list[ChecklistItem]) -> list[str]:
    return [item.label for item in items if item.required and not item.done]
