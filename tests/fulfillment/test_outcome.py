from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fulfillment.outcome import judge
from lib.transport import TransportResult


def _answer(status=200, body=b"LICENSE-1", content_type="text/plain", **headers):
    if content_type is not None:
        headers["Content-Type"] = content_type
    return TransportResult(status=status, headers=headers, body=body, duration_ms=5)


def test_200_with_text_succeeds_with_the_stripped_text():
    verdict = judge(_answer(body=b"  LICENSE-1\n"))

    assert verdict.succeeded
    assert verdict.text == "LICENSE-1"
    assert verdict.error_kind == ""


def test_200_without_content_type_is_read_as_utf8():
    verdict = judge(_answer(body="Schlüssel".encode(), content_type=None))

    assert verdict.text == "Schlüssel"


def test_markdown_content_type_succeeds():
    assert judge(_answer(body=b"**KEY**", content_type="text/markdown")).succeeded


def test_latin1_charset_is_decoded():
    verdict = judge(
        _answer(
            body="clé".encode("latin-1"), content_type="text/plain; charset=ISO-8859-1"
        )
    )

    assert verdict.text == "clé"


def test_undecodable_bytes_fail_as_not_text():
    verdict = judge(_answer(body=b"\xff\xfe\xfa license"))

    assert verdict.error_kind == "not_text"
    assert "not valid utf-8 text" in verdict.message
    assert verdict.retryable


def test_unknown_charset_fails_as_not_text():
    verdict = judge(_answer(content_type="text/plain; charset=klingon"))

    assert verdict.error_kind == "not_text"


def test_binary_content_type_fails_as_not_text():
    verdict = judge(_answer(body=b"PK\x03\x04", content_type="application/zip"))

    assert verdict.error_kind == "not_text"
    assert "application/zip" in verdict.message


@pytest.mark.parametrize("body", [b"", b"  \n\t "])
def test_200_with_empty_or_blank_body_fails_as_empty(body):
    verdict = judge(_answer(body=body))

    assert verdict.error_kind == "empty"
    assert not verdict.succeeded


@pytest.mark.parametrize(
    "body", [b"<!DOCTYPE html><html><body>Login</body></html>", b"\n<html lang=en>x"]
)
def test_html_page_fails_as_html(body):
    verdict = judge(_answer(body=body, content_type="text/html; charset=utf-8"))

    assert verdict.error_kind == "html"
    assert "HTML page" in verdict.message


def test_html_tags_in_a_plain_text_answer_are_accepted_as_text():
    # Rendering escapes them; failing would punish a license that contains '<'.
    verdict = judge(_answer(body=b"<b>KEY-1</b>"))

    assert verdict.succeeded
    assert verdict.text == "<b>KEY-1</b>"


def test_short_text_html_answer_without_a_document_is_accepted():
    # PHP labels every answer text/html; an echoed license key must still work.
    assert judge(_answer(body=b"KEY-1", content_type="text/html")).succeeded


def test_redirect_fails_and_names_the_target():
    verdict = judge(_answer(status=302, body=b"", Location="https://new.example/x"))

    assert verdict.error_kind == "redirect"
    assert verdict.message == (
        "Your server answered 302 and pointed to https://new.example/x; we do not "
        "follow redirects. Point the Webhook URL at the final address."
    )


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "without a login"),
        (403, "without a login"),
        (404, "check the Webhook URL"),
        (500, "error on your server"),
        (503, "error on your server"),
        (201, "we need 200"),
    ],
)
def test_other_status_fails_with_code_and_hint(status, hint):
    verdict = judge(_answer(status=status))

    assert verdict.error_kind == "status"
    assert f"answered {status}" in verdict.message
    assert hint in verdict.message
    assert verdict.retryable


def test_transport_error_passes_through_its_message():
    result = TransportResult(None, error_kind="timeout", message="Too slow.")

    verdict = judge(result)

    assert (verdict.error_kind, verdict.message, verdict.retryable) == (
        "timeout",
        "Too slow.",
        True,
    )


def test_refused_url_is_not_retryable():
    verdict = judge(TransportResult(None, error_kind="refused_url", message="No."))

    assert not verdict.retryable
    assert not verdict.succeeded


def test_410_gone_is_permanent_and_says_what_to_do():
    verdict = judge(_answer(status=410, body=b"gone"))

    assert not verdict.retryable
    assert verdict.error_kind == "status"
    assert verdict.message == (
        "Your server answered 410 Gone, so we stopped retrying. Fix the endpoint "
        "and retry the delivery from your dashboard."
    )


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_read_for_429_and_503(status):
    verdict = judge(_answer(status=status, **{"Retry-After": "120"}))

    assert verdict.retry_after == 120.0
    assert verdict.retryable


def test_retry_after_date_is_measured_against_the_servers_date_header():
    verdict = judge(
        _answer(
            status=503,
            **{
                "Retry-After": "Wed, 21 Oct 2026 07:30:00 GMT",
                "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
            },
        )
    )

    assert verdict.retry_after == 120.0


def test_retry_after_date_without_a_date_header_uses_the_time_received():
    received_at = datetime(2026, 10, 21, 7, 29, 30, tzinfo=UTC)

    verdict = judge(
        _answer(status=429, **{"Retry-After": "Wed, 21 Oct 2026 07:30:00 GMT"}),
        received_at=received_at,
    )

    assert verdict.retry_after == 30.0


def test_retry_after_date_in_the_past_means_now():
    verdict = judge(
        _answer(
            status=429,
            **{
                "Retry-After": "Wed, 21 Oct 2026 07:00:00 GMT",
                "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
            },
        )
    )

    assert verdict.retry_after == 0.0


@pytest.mark.parametrize("value", ["", "soon", "-5", "1.5", "Wed, 99 Foo 2026"])
def test_absent_or_invalid_retry_after_is_none(value):
    verdict = judge(
        _answer(status=429, **{"Retry-After": value}),
        received_at=datetime(2026, 10, 21, tzinfo=UTC),
    )

    assert verdict.retry_after is None
    assert verdict.retryable


def test_retry_after_is_ignored_on_other_statuses():
    assert judge(_answer(status=500, **{"Retry-After": "60"})).retry_after is None


# --- The list response formats: several licenses in one answer ---------------


def _lines(body: bytes, quantity: int):
    return judge(_answer(body=body), response_format="lines", quantity=quantity)


def _json(body: bytes, quantity: int):
    return judge(
        _answer(body=body, content_type="application/json"),
        response_format="json",
        quantity=quantity,
    )


def test_the_text_format_keeps_the_whole_answer_as_one_license():
    verdict = judge(_answer(body=b"line one\nline two"), quantity=3)

    assert verdict.succeeded
    assert verdict.licenses == ("line one\nline two",)


def test_per_line_ignores_blank_lines_and_trims_each_license():
    verdict = _lines(b"\n  KEY-1 \n\n\t\nKEY-2\r\nKEY-3  \n", quantity=3)

    assert verdict.succeeded
    assert verdict.licenses == ("KEY-1", "KEY-2", "KEY-3")


def test_per_line_with_too_few_licenses_fails_retryably_saying_the_counts():
    verdict = _lines(b"KEY-1\nKEY-2", quantity=3)

    assert not verdict.succeeded
    assert verdict.error_kind == "license_count"
    assert verdict.retryable
    assert verdict.message.startswith(
        "Your server sent 2 licenses for a quantity of 3:"
    )


def test_per_line_with_too_many_licenses_fails():
    verdict = _lines(b"KEY-1\nKEY-2", quantity=1)

    assert verdict.message.startswith("Your server sent 2 licenses for a quantity of 1")


def test_json_list_succeeds_with_trimmed_licenses():
    verdict = _json(b'{"licenses": [" KEY-1 ", "**KEY-2**"]}', quantity=2)

    assert verdict.succeeded
    assert verdict.licenses == ("KEY-1", "**KEY-2**")


def test_json_list_of_the_wrong_length_fails_saying_the_counts():
    verdict = _json(b'{"licenses": ["KEY-1"]}', quantity=2)

    assert verdict.error_kind == "license_count"
    assert "sent 1 license for a quantity of 2" in verdict.message


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"KEY-1\nKEY-2", "not valid JSON"),
        (b'["KEY-1", "KEY-2"]', 'no "licenses" list'),
        (b'{"licenses": "KEY-1"}', 'no "licenses" list'),
        (b'{"licenses": ["KEY-1", 2]}', "License 2 in your server's JSON is a number"),
        (b'{"licenses": [null, "K"]}', "License 1 in your server's JSON is a null"),
        (b'{"licenses": ["KEY-1", "  "]}', "License 2 in your server's JSON is empty"),
    ],
)
def test_an_unreadable_json_list_fails_with_a_reason(body, said):
    verdict = _json(body, quantity=2)

    assert not verdict.succeeded
    assert verdict.error_kind == "bad_list"
    assert said in verdict.message
    assert verdict.retryable
