"""The replay fingerprint is stored with orders and events: its form is fixed."""

from __future__ import annotations

import hashlib

from lib.fingerprint import request_fingerprint


def test_the_canonical_form_is_sorted_compact_json_of_the_text_itself():
    expected = hashlib.sha256('{"a":1,"b":"ü"}'.encode()).hexdigest()

    assert request_fingerprint({"b": "ü", "a": 1}) == expected


def test_any_difference_in_what_was_asked_changes_it():
    asked = {"product": "p", "quantity": 1}

    assert request_fingerprint(asked) != request_fingerprint({**asked, "quantity": 2})
    assert request_fingerprint(asked) != request_fingerprint({**asked, "quantity": "1"})
