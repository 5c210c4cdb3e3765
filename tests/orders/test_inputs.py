from __future__ import annotations

import pytest

from orders.inputs import text_problem


@pytest.mark.parametrize(
    "value", ["", "Ada Lovelace", "Zoë Ünal", "שלום", "李小龍", "🦄 txn_1", "a b-c.d"]
)
def test_text_in_any_script_is_fine(value):
    assert text_problem(value) is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("a\x00b", "NUL"),
        ("\ud800", "surrogate"),
        ("x\udfff", "surrogate"),
        ("a\x1b[31m", "control"),
        ("line\nbreak", "control"),
        ("tab\there", "control"),
        ("del\x7f", "control"),
        ("next line\x85", "control"),
    ],
)
def test_nul_surrogates_and_control_characters_are_named(value, says):
    assert says in text_problem(value)
