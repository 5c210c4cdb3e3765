"""`{% load rendering %}{{ text|markdown }}`: seller Markdown as safe HTML."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from lib.rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(value: object) -> SafeString:
    # mark_safe is sound here only because render_markdown escapes raw HTML and
    # sanitizes the result with nh3 against an allowlist.
    return mark_safe(render_markdown(str(value or "")))  # noqa: S308
