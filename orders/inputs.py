"""Checks on untrusted input that know nothing of Django: the text a field may
hold, and JSON parsed within bounds.

The orders API validates with these before anything reaches the database or an
encoder: PostgreSQL refuses NUL in text, UTF-8 cannot encode a lone surrogate
(which JSON's `\\ud800` escape smuggles into a Python str), and the json module
recurses once per nesting level.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

# Control characters (C0, DEL, C1): none belongs in a single-line field such as
# a name, an email address or an identifier.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# A lone surrogate is not a character: it cannot be encoded, stored or sent.
_SURROGATE = re.compile("[\ud800-\udfff]")

# A JSON string (escapes included), whose brackets are text, not nesting. An
# unterminated one runs to the end: always matching, possessively, keeps the
# scan linear (a failed match retried at every later quote would be quadratic).
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.?)*+(?:"|\Z)', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be a single-line text field, or None when it can."""
    if "\x00" in value:
        return "Must not contain NUL characters."
    if _SURROGATE.search(value):
        return "Must be valid Unicode text (no lone surrogates)."
    if _CONTROL.search(value):
        return "Must not contain control characters (tabs, line breaks…)."
    return None


class JsonRefused(ValueError):
    """The body is not JSON we accept; the message says why, for the client."""


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in `text`, without parsing it.

    Counts brackets outside strings: linear time and no recursion, whatever the
    input. On malformed text the figure is meaningless, but parsing fails anyway.
    """
    brackets = _JSON_BRACKET.findall(_JSON_STRING.sub('""', text))
    steps = (1 if bracket in "[{" else -1 for bracket in brackets)
    return max(accumulate(steps), default=0)


# JSON sets no limit on an integer's digits; Python refuses over 4,300 as a
# bare ValueError, after work that grows with their square. No field of ours
# needs more than a few.
JSON_MAX_INT_DIGITS = 100


def _constant_refuse(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON value.")


def _int_bounded(digits: str) -> int:
    if len(digits.lstrip("-")) > JSON_MAX_INT_DIGITS:
        raise JsonRefused(f"A number has more than {JSON_MAX_INT_DIGITS} digits.")
    return int(digits)


def json_parse_bounded(raw: bytes, *, max_depth: int) -> Any:
    """Parse a UTF-8 JSON document nested at most `max_depth` deep.

    Refuses (JsonRefused) what `json.loads` would accept but JSON does not
    (NaN, Infinity) and what it cannot survive (nesting deep enough to exhaust
    the interpreter's recursion limit, integers of thousands of digits).
    """
    try:
        # RFC 8259 lets a parser ignore a byte order mark; json.loads on bytes did.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise JsonRefused("The body is not UTF-8.") from None
    if json_depth(text) > max_depth:
        raise JsonRefused(f"The body nests deeper than {max_depth} levels.")
    try:
        return json.loads(text, parse_constant=_constant_refuse, parse_int=_int_bounded)
    except JsonRefused:
        raise
    except ValueError:
        raise JsonRefused("The body is not valid JSON.") from None
