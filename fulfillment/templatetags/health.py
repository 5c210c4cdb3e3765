"""`{% load health %}`: the health pages' wording helpers."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

JUST_NOW = timedelta(minutes=1)


@register.filter
def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest unit only: "just now" under a minute, then
    "3 minutes ago", "2 hours ago", "1 day ago"; never "0 minutes ago"."""
    if value is None:
        return ""
    now = now or timezone.now()
    if now - value < JUST_NOW:
        return "just now"
    return f"{timesince(value, now, depth=1)} ago"
