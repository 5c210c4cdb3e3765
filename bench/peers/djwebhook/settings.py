"""Settings of the django-webhook peer (its own database; see base_settings)."""

from __future__ import annotations

from bench.peers.base_settings import *  # noqa: F403

INSTALLED_APPS = ["django_webhook", "bench.peers.djwebhook"]
# Whitelist the model whose changes send webhooks (the library's README).
DJANGO_WEBHOOK = {"MODELS": ["djwebhook.Order"]}
