from __future__ import annotations

import time

import pytest

from orders.inputs import JsonRefused, json_depth, json_parse_bounded, text_problem


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


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[[[[", "{{"]', 1),
        (r'{"a": "quote \" and [ inside"}', 1),
        (r'["backslash at the end \\", [[]]]', 3),
    ],
)
def test_json_depth_counts_nesting_outside_strings(text, depth):
    assert json_depth(text) == depth


@pytest.mark.parametrize(
    "text",
    [
        '"\\' * 32_768,  # one string that never ends, escaping every quote
        '\\"' * 32_768,
        '"' + "\\" * 65_535,
        "[" * 65_536,
    ],
)
def test_json_depth_takes_linear_time_on_hostile_text(text):
    started = time.perf_counter()
    json_depth(text)
    # Quadratic scanning took over 10 s on these 64 KiB; linear takes milliseconds.
    assert time.perf_counter() - started < 0.5


def test_parse_accepts_json_within_the_depth():
    assert json_parse_bounded(b'{"a": [[1]]}', max_depth=3) == {"a": [[1]]}


def test_parse_accepts_integers_of_100_digits():
    assert json_parse_bounded(b"-" + b"9" * 100, max_depth=1) == -int("9" * 100)


def test_parse_ignores_a_byte_order_mark():
    assert json_parse_bounded(b'\xef\xbb\xbf{"a": 1}', max_depth=1) == {"a": 1}


@pytest.mark.parametrize("body", [b"[" * 1000 + b"]" * 1000, b'{"a":' * 5 + b"1}}}}}"])
def test_parse_refuses_nesting_deeper_than_the_limit(body):
    with pytest.raises(JsonRefused, match="deeper than 4 levels"):
        json_parse_bounded(body, max_depth=4)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"a": NaN}', "NaN is not a JSON value"),
        (b"[Infinity]", "Infinity is not a JSON value"),
        (b'{"a": "\xed\xa0\x80"}', "not UTF-8"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"9" * 5000, "more than 100 digits"),  # past Python's own limit, 4,300
        (b'{"q": ' + b"9" * 101 + b"}", "more than 100 digits"),
    ],
)
def test_parse_refuses_what_is_not_json(body, says):
    with pytest.raises(JsonRefused, match=says):
        json_parse_bounded(body, max_depth=32)
