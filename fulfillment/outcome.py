"""Was an attempt a success? Pure rules over a TransportResult.

The product promise: "your server should return a 200 response with a string
value in the response body", and "Responses cannot include HTML". Every other
answer is a failure with a reason the seller can act on.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from email.message import Message

from .transport import TransportResult

# A whole HTML page (an error page, a login form) rather than a license text.
_HTML_DOCUMENT = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>])", re.IGNORECASE)
_STATUS_HINTS = {
    401: "check that your server accepts our request without a login "
    "(verify our signature instead)",
    403: "check that your server accepts our request without a login "
    "(verify our signature instead)",
    404: "check the Webhook URL",
}


@dataclass(frozen=True)
class Verdict:
    succeeded: bool
    error_kind: str = ""
    message: str = ""
    text: str = ""
    retryable: bool = False


def _failure(kind: str, message: str) -> Verdict:
    # Only a refused URL is permanent: retrying cannot make the address public.
    return Verdict(False, kind, message, retryable=kind != "refused_url")


def judge(result: TransportResult) -> Verdict:
    """Success only for a 200 whose body decodes to non-empty text."""
    if result.error_kind:
        return _failure(result.error_kind, result.message)
    if result.status != 200:
        return _status_failure(result)
    return _judge_body(result)


def _header(result: TransportResult, name: str) -> str:
    return next((v for k, v in result.headers.items() if k.lower() == name), "")


def _status_failure(result: TransportResult) -> Verdict:
    status = result.status
    if status is not None and 300 <= status < 400:
        target = _header(result, "location") or "another address"
        return _failure(
            "redirect",
            f"Your server answered {status} and pointed to {target}; we do not "
            "follow redirects. Point the Webhook URL at the final address.",
        )
    return _failure("status", f"Your server answered {status}; {_hint(status)}.")


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
    if not text.strip():
        return _failure(
            "empty", "Your server answered 200 with an empty body; send the license."
        )
    return Verdict(True, text=text.strip())
