"""The response that hands a customer a file: never a page of this site.

Local storage: the file streamed from disk as an attachment. S3-compatible
storage: a redirect to a presigned URL that lives DOWNLOAD_PRESIGNED_SECONDS,
asking the bucket for the same attachment headers. Either way the browser saves
the bytes and never renders them: `application/octet-stream`, `nosniff`, and a
sandboxing Content-Security-Policy in case anything does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.http import FileResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.http import content_disposition_header

from orders.aftersale import order_is_closed
from orders.purchases import LinkState

from .links import download_link_check
from .models import ProductFile
from .selectors import download_target
from .services import download_count
from .storage import downloads_storage, storage_streams_itself

OCTET_STREAM = "application/octet-stream"
# Nothing in a response of ours may run, even if a browser renders it.
SANDBOX = "sandbox"


@dataclass(frozen=True)
class Refusal:
    """Why a link gives no file, for its page: "expired" (410), "invalid"
    (404), "closed" or "used_up" (403)."""

    reason: str
    status: int


@dataclass(frozen=True)
class Grant:
    file: ProductFile
    stream: IO[bytes] | None  # None: the storage hands out URLs instead


def download_grant(*, token: str) -> Grant | Refusal:
    """A customer's link: the file to send, counted, or why not. The link must
    be ours and unexpired, its order not cancelled, refunded in full or charged
    back, its file still there, and the order's downloads of it not used up."""
    check = download_link_check(token=token)
    if check.state is LinkState.EXPIRED:
        return Refusal("expired", 410)
    target = None
    if check.state is LinkState.VALID:
        target = download_target(order_id=check.order_id, file_id=check.file_id)
    if target is None:
        return Refusal("invalid", 404)
    order, file = target
    if order_is_closed(order):
        return Refusal("closed", 403)
    try:
        stream = download_open(file=file)
    except OSError:
        return Refusal("invalid", 404)
    if not download_count(order_id=order.pk, file_id=file.pk):
        if stream is not None:
            stream.close()
        return Refusal("used_up", 403)
    return Grant(file=file, stream=stream)


def download_open(*, file: ProductFile) -> IO[bytes] | None:
    """The file's bytes to stream, or None when the storage hands out URLs
    instead. Raises FileNotFoundError (OSError) if the bytes are gone."""
    storage = downloads_storage()
    if not storage_streams_itself(storage):
        return None
    return storage.open(file.storage_name, "rb")


def download_response(
    *, file: ProductFile, stream: IO[bytes] | None
) -> HttpResponseBase:
    response: HttpResponseBase
    if stream is not None:
        response = FileResponse(
            stream,
            as_attachment=True,
            filename=file.filename,
            content_type=OCTET_STREAM,
        )
    else:
        response = HttpResponseRedirect(_presigned_url(file))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _presigned_url(file: ProductFile) -> str:
    parameters = {
        "ResponseContentDisposition": content_disposition_header(
            as_attachment=True, filename=file.filename
        ),
        "ResponseContentType": OCTET_STREAM,
        "ResponseCacheControl": "private, no-store",
    }
    storage = downloads_storage()
    return storage.url(  # type: ignore[call-arg]
        file.storage_name,
        parameters=parameters,
        expire=settings.DOWNLOAD_PRESIGNED_SECONDS,
    )
