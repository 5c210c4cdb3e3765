"""Building and sending the platform's short emails (a template, a deterministic
Message-ID), and sending a batch of them without one bad address blocking the rest.

One bad address must not block everybody else: a run goes on past a send error,
stops after `MAX_SEND_ERRORS_PER_RUN` (the ESP is probably down) and then re-raises
the first error.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

MAX_SEND_ERRORS_PER_RUN = 3


def message_id(kind: str, key: str) -> str:
    """Deterministic, so a repeat of the same email is recognisable as one."""
    digest = hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()[:24]
    return f"<{kind}-{digest}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"


def message_build(
    *, template: str, context: dict, to: str, message_id: str
) -> EmailMultiAlternatives:
    """A text + HTML email from `emails/<template>{.txt,.html,_subject.txt}`."""
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    text = render_to_string(f"emails/{template}.txt", context)
    message = AnymailMessage(
        subject=" ".join(subject.split()),
        # A plain str: the text part is unescaped, it must not pass as safe HTML.
        body=str.__str__(text),
        to=[to],
        headers={"Message-ID": message_id},
    )
    message.attach_alternative(
        render_to_string(f"emails/{template}.html", context), "text/html"
    )
    message.tags = [template.replace("_", "-")]
    return message


def message_send(message: EmailMultiAlternatives) -> None:
    get_connection().send_messages([message])


def send_each(keys: Iterable[Any], send_one: Callable[[Any], int]) -> int:
    """Call `send_one` per key; go on past errors, re-raise the first at the end."""
    sent, errors = 0, []
    for key in keys:
        try:
            sent += send_one(key)
        except Exception as exc:
            logger.exception("Sending %s for %s failed", send_one.__name__, key)
            errors.append(exc)
            if len(errors) >= MAX_SEND_ERRORS_PER_RUN:
                break
    if errors:
        raise errors[0]
    return sent
