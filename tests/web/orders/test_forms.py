"""The field rules of the checkout and the orders API: the passthrough's."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from web.orders.forms import (
    PASSTHROUGH_REPEATED_MESSAGE,
    CheckoutLinkForm,
    passthrough_problem,
)

CONTROL_MESSAGE = "Must not contain control characters (tabs, line breaks…)."


@pytest.mark.parametrize(
    "value",
    [
        "",
        "acct_42",
        " spaced out ",
        '{"account": 42, "plan": "pro"}',
        "<script>alert(1)</script>",
        "Zoë 🚀 中文",
        "x" * 1000,
        "🚀" * 1000,  # characters, not bytes
    ],
    ids=["empty", "id", "spaces", "json", "html", "unicode", "1000", "1000-emoji"],
)
def test_opaque_text_up_to_1000_characters_is_accepted(value):
    assert passthrough_problem(value) is None


def test_over_1000_characters_is_refused_with_the_count():
    assert passthrough_problem("x" * 1001) == (
        "Must be at most 1,000 characters (it has 1,001)."
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\x00b", "Must not contain NUL characters."),
        ("a\tb", CONTROL_MESSAGE),
        ("a\nb", CONTROL_MESSAGE),
        ("a\rb", CONTROL_MESSAGE),
        ("a\x1bb", CONTROL_MESSAGE),
        ("a\x7fb", CONTROL_MESSAGE),
        ("a\x85b", CONTROL_MESSAGE),  # C1: NEL
        ("a\x9fb", CONTROL_MESSAGE),
        ("a\ud800b", "Must be valid Unicode text (no lone surrogates)."),
    ],
    ids=["nul", "tab", "lf", "cr", "esc", "del", "c1-nel", "c1-last", "surrogate"],
)
def test_nul_control_characters_and_surrogates_are_refused(value, message):
    assert passthrough_problem(value) == message


def test_the_link_keeps_the_passthrough_exactly_unstripped():
    form = CheckoutLinkForm(QueryDict("passthrough=%20acct_42%20&utm_source=x"))

    assert form.is_valid()
    assert form.cleaned_data["passthrough"] == " acct_42 "


def test_a_link_without_passthrough_carries_an_empty_one():
    form = CheckoutLinkForm(QueryDict(""))

    assert form.is_valid()
    assert form.cleaned_data["passthrough"] == ""


def test_a_link_repeating_passthrough_is_refused():
    form = CheckoutLinkForm(QueryDict("passthrough=acct_1&passthrough=acct_2"))

    assert not form.is_valid()
    assert form.errors["passthrough"] == [PASSTHROUGH_REPEATED_MESSAGE]


def test_a_link_with_a_percent_encoded_line_break_is_refused():
    form = CheckoutLinkForm(QueryDict("passthrough=acct_42%0A"))

    assert not form.is_valid()
    assert form.errors["passthrough"] == [CONTROL_MESSAGE]
