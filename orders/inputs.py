"""Checks on untrusted input that know nothing of Django: the text a field may
hold.

The orders API validates with these before anything reaches the database or an
encoder: PostgreSQL refuses NUL in text, and UTF-8 cannot encode a lone
surrogate (which JSON's `\\ud800` escape smuggles into a Python str).
"""

from __future__ import annotations

import re

# Control characters (C0, DEL, C1): none belongs in a single-line field such as
# a name, an email address or an identifier.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# A lone surrogate is not a character: it cannot be encoded, stored or sent.
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be a single-line text field, or None when it can."""
    if "\x00" in value:
        return "Must not contain NUL characters."
    if _SURROGATE.search(value):
        return "Must be valid Unicode text (no lone surrogates)."
    if _CONTROL.search(value):
        return "Must not contain control characters (tabs, line breaks…)."
    return None
