"""Was an attempt a success? Pure rules over a TransportResult.

The product promise: "your server should return a 200 response with a string
value in the response body", and "Responses cannot include HTML". Every other
answer is a failure with a reason the seller can act on.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from lib.transport import TransportResult

# A whole HTML page (an error page, a login form) rather than a license text.
_HTML_DOCUMENT = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>])", re.IGNORECASE)
_STATUS_HINTS = {
    401: "check that your server accepts our request without a login "
    "(verify our signature instead)",
    403: "check that your server accepts our request without a login "
    "(verify our signature instead)",
    404: "check the {url_name}",
    429: "it asked us to slow down",
}
# Only these answers tell us when to come back (RFC 9110, Retry-After).
_RETRY_AFTER_STATUSES = (429, 503)
_GONE_MESSAGE = (
    "Your server answered 410 Gone, so we stopped retrying. Fix the endpoint and "
    "retry the delivery from your dashboard."
)
_ALERT_GONE_MESSAGE = (
    "Your server answered 410 Gone, so we stopped retrying this alert. Later "
    "alerts are still sent to your Alerts URL."
)


@dataclass(frozen=True)
class Verdict:
    succeeded: bool
    error_kind: str = ""
    message: str = ""
    text: str = ""
    retryable: bool = False
    # Seconds the server asked us to wait (429 and 503 only); None if it did not.
    retry_after: float | None = None
    # The licenses read from `text` by the response format, one per unit; for
    # the "text" format the whole text is the one license.
    licenses: tuple[str, ...] = ()


def _failure(kind: str, message: str) -> Verdict:
    # Only a refused URL is permanent: retrying cannot make the address public.
    return Verdict(False, kind, message, retryable=kind != "refused_url")


def judge(
    result: TransportResult,
    *,
    received_at: datetime | None = None,
    response_format: str = "text",
    quantity: int = 1,
) -> Verdict:
    """Success only for a 200 whose body decodes to non-empty text and, for the
    list formats ("lines", "json"), holds exactly `quantity` licenses.

    `received_at` is the clock an HTTP-date Retry-After is measured against when
    the answer has no Date header (the server's own clock is preferred: it makes
    clock skew between us and the seller irrelevant).
    """
    if result.error_kind:
        return _failure(result.error_kind, result.message)
    if result.status != 200:
        return _answer_failure(result, received_at, url_name="Webhook URL")
    verdict = _judge_body(result)
    if not verdict.succeeded:
        return verdict
    return licenses_read(
        verdict.text, response_format=response_format, quantity=quantity
    )


def licenses_read(text: str, *, response_format: str, quantity: int) -> Verdict:
    """The licenses of a decoded, non-empty answer, by the response format.

    A list that does not hold exactly `quantity` licenses fails, retryably: the
    seller can fix their server, and the next attempt asks again
    (docs/decisions.md, "Several licenses in one answer").
    """
    if response_format == "lines":
        licenses = [line.strip() for line in text.splitlines() if line.strip()]
    elif response_format == "json":
        parsed = _json_licenses(text)
        if isinstance(parsed, Verdict):
            return parsed
        licenses = parsed
    else:
        return Verdict(True, text=text, licenses=(text,))
    if len(licenses) != quantity:
        return _failure(
            "license_count",
            f"Your server sent {_licenses_said(len(licenses))} for a quantity of "
            f"{quantity}: send exactly one license per unit.",
        )
    return Verdict(True, text=text, licenses=tuple(licenses))


def _licenses_said(count: int) -> str:
    return "1 license" if count == 1 else f"{count} licenses"


_JSON_TYPES = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    list: "list",
    dict: "object",
}
_JSON_SHAPE = 'answer {"licenses": ["first license", "second license", …]}'


def _json_licenses(text: str) -> list[str] | Verdict:
    """The trimmed licenses of a JSON answer, or the failure saying what is wrong."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        return _failure("bad_list", f"Your server's answer is not valid JSON ({exc}).")
    items = document.get("licenses") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return _failure(
            "bad_list", f'Your server\'s JSON has no "licenses" list; {_JSON_SHAPE}.'
        )
    licenses = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, str):
            kind = _JSON_TYPES.get(type(item), "value")
            return _failure(
                "bad_list",
                f"License {number} in your server's JSON is a {kind}, not a "
                f"string; {_JSON_SHAPE}.",
            )
        if not item.strip():
            return _failure(
                "bad_list", f"License {number} in your server's JSON is empty."
            )
        licenses.append(item.strip())
    return licenses


def judge_alert(
    result: TransportResult, *, received_at: datetime | None = None
) -> Verdict:
    """An alert is accepted by any 2xx answer. Its body is not read: nobody waits
    for a license, and nothing of it reaches a customer. Every other answer is
    judged as for a delivery (redirects, 410, Retry-After)."""
    if result.error_kind:
        return _failure(result.error_kind, result.message)
    if result.status is not None and 200 <= result.status < 300:
        return Verdict(True)
    if result.status == 410:
        return Verdict(False, "status", _ALERT_GONE_MESSAGE, retryable=False)
    return _answer_failure(result, received_at, url_name="Alerts URL")


def _answer_failure(
    result: TransportResult, received_at: datetime | None, *, url_name: str
) -> Verdict:
    verdict = _status_failure(result, url_name=url_name)
    return replace(verdict, retry_after=_retry_after(result, received_at))


def _header(result: TransportResult, name: str) -> str:
    return next((v for k, v in result.headers.items() if k.lower() == name), "")


def _status_failure(result: TransportResult, *, url_name: str) -> Verdict:
    status = result.status
    if status is not None and 300 <= status < 400:
        target = _header(result, "location") or "another address"
        return _failure(
            "redirect",
            f"Your server answered {status} and pointed to {target}; we do not "
            f"follow redirects. Point the {url_name} at the final address.",
        )
    if status == 410:
        # "Gone" is the server saying it will never take this request.
        return Verdict(False, "status", _GONE_MESSAGE, retryable=False)
    hint = _hint(status).format(url_name=url_name)
    return _failure("status", f"Your server answered {status}; {hint}.")


def _retry_after(result: TransportResult, received_at: datetime | None) -> float | None:
    """Delta-seconds or an HTTP-date; None when absent, invalid or not allowed."""
    raw = _header(result, "retry-after").strip()
    if result.status not in _RETRY_AFTER_STATUSES or not raw:
        return None
    if raw.isascii() and raw.isdigit():
        return float(raw)
    when = _http_date(raw)
    now = _http_date(_header(result, "date")) or received_at
    if when is None or now is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # HTTP dates are always GMT; a "-0000" zone parses as naive.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _hint(status: int | None) -> str:
    if status in _STATUS_HINTS:
        return _STATUS_HINTS[status]
    if status is not None and status >= 500:
        return "that is an error on your server, see its logs"
    return "we need 200 with the license text in the body"


def _content_type(result: TransportResult) -> tuple[str, str]:
    """The media type (lowercase, "" when absent) and the charset (default UTF-8)."""
    raw = _header(result, "content-type")
    if not raw:
        return "", "utf-8"
    message = Message()
    message["content-type"] = raw
    return message.get_content_type(), message.get_content_charset() or "utf-8"


def _judge_body(result: TransportResult) -> Verdict:
    media_type, charset = _content_type(result)
    if media_type == "text/html" and _HTML_DOCUMENT.match(result.body):
        return _failure(
            "html",
            "Your server answered with an HTML page; answer with plain text "
            "(Markdown is fine), e.g. the license code.",
        )
    if media_type and not _is_text(media_type):
        return _failure(
            "not_text",
            f"Your server answered with {media_type}; answer with plain text "
            "(text/plain or text/markdown).",
        )
    return _decoded(result.body, charset)


def _is_text(media_type: str) -> bool:
    # Some frameworks label every answer JSON; a JSON string body is still text.
    return media_type.startswith("text/") or media_type == "application/json"


def _decoded(body: bytes, charset: str) -> Verdict:
    try:
        text = body.decode(codecs.lookup(charset).name)
    except (LookupError, UnicodeDecodeError):
        return _failure(
            "not_text",
            f"Your server's answer is not valid {charset} text; answer with "
            "UTF-8 text or name the charset in the Content-Type header.",
        )
    if "\x00" in text:
        # Binary, not text (and PostgreSQL cannot store it in a text column).
        return _failure(
            "not_text",
            "Your server's answer contains a NUL byte, so it is not text; answer "
            "with plain text (Markdown is fine).",
        )
    if not text.strip():
        return _failure(
            "empty", "Your server answered 200 with an empty body; send the license."
        )
    return Verdict(True, text=text.strip())
