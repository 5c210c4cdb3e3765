"""Download links: `/d/<token>/`, the token signed with Django's `signing` over
the order's and the file's ids and the time it was made.

The order page makes fresh links on every visit (that is how a customer renews
them); the order email carries the links made when it was built. A link opens
the file until it is `DOWNLOAD_LINK_MAX_AGE` seconds old. Nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

# The states of any signed link we hand out: the purchases link's own.
from orders.purchases import LinkState

# A salt of its own: no other signed value of the project is a download link.
DOWNLOAD_LINK_SALT = "downloads.link"


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    order_id: int = 0
    file_id: int = 0


def download_link_lifetime() -> str:
    """The links' lifetime as the pages and the email say it: "24 hours"."""
    seconds = settings.DOWNLOAD_LINK_MAX_AGE
    if seconds >= 3600:
        count, unit = seconds // 3600, "hour"
    else:
        count, unit = max(seconds // 60, 1), "minute"
    return f"{count} {unit}{'' if count == 1 else 's'}"


def download_link_token(*, order_id: int, file_id: int) -> str:
    return signing.dumps([order_id, file_id], salt=DOWNLOAD_LINK_SALT)


def download_link_path(*, order_id: int, file_id: int) -> str:
    token = download_link_token(order_id=order_id, file_id=file_id)
    return reverse("downloads:download", args=[token])


def download_link_url(*, order_id: int, file_id: int) -> str:
    """The absolute link, for emails."""
    return settings.SITE_URL + download_link_path(order_id=order_id, file_id=file_id)


def download_link_check(*, token: str) -> LinkCheck:
    """Whether `token` is a link we made, still valid, and for what."""
    try:
        value = signing.loads(
            token, salt=DOWNLOAD_LINK_SALT, max_age=settings.DOWNLOAD_LINK_MAX_AGE
        )
    except signing.SignatureExpired:
        return LinkCheck(state=LinkState.EXPIRED)
    except signing.BadSignature:
        return LinkCheck(state=LinkState.INVALID)
    if not (
        isinstance(value, list)
        and len(value) == 2
        and all(type(part) is int for part in value)
    ):
        return LinkCheck(state=LinkState.INVALID)
    return LinkCheck(state=LinkState.VALID, order_id=value[0], file_id=value[1])
