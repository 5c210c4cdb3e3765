from django.apps import AppConfig


class KeylistsConfig(AppConfig):
    name = "keylists"
    verbose_name = "License key lists"
    default_auto_field = "django.db.models.BigAutoField"
