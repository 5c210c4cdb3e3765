from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "emails"

    def ready(self) -> None:
        from anymail.signals import tracking

        from .receivers import email_tracking_received

        tracking.connect(
            email_tracking_received, dispatch_uid="emails.email_tracking_received"
        )
