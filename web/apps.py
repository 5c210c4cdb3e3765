from django.apps import AppConfig


class WebConfig(AppConfig):
    """Every page, the orders API and the admin: the layer that speaks HTTP and
    composes the domain apps below it (products ← orders ← emails ←
    fulfillment), which import nothing from here."""

    name = "web"
