"""Signal receivers of the emails app: thin, each hands over to one service."""

from __future__ import annotations

from .tracking import email_event_record


def email_tracking_received(sender, event, esp_name: str, **kwargs) -> None:
    """Anymail's `tracking` signal, sent by its webhook view for every ESP event.

    Errors propagate on purpose: Anymail answers 500 and the ESP retries later,
    which is right for a database that is briefly away. Events we cannot place
    are not errors (`email_event_record` logs and drops them).
    """
    email_event_record(event=event, esp_name=esp_name)
