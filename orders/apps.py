from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from anymail.signals import tracking

        from orders.receivers import email_tracking_received

        tracking.connect(
            email_tracking_received, dispatch_uid="orders.email_tracking_received"
        )
