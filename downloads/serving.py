"""The response that hands a customer a file: never a page of this site.

Local storage: the file streamed from disk as an attachment. S3-compatible
storage: a redirect to a presigned URL that lives DOWNLOAD_PRESIGNED_SECONDS,
asking the bucket for the same attachment headers. Either way the browser saves
the bytes and never renders them: `application/octet-stream`, `nosniff`, and a
sandboxing Content-Security-Policy in case anything does.
"""

from __future__ import annotations

from typing import IO

from django.conf import settings
from django.http import FileResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.http import content_disposition_header

from .models import ProductFile
from .storage import downloads_storage, storage_streams_itself

OCTET_STREAM = "application/octet-stream"
# Nothing in a response of ours may run, even if a browser renders it.
SANDBOX = "sandbox"


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
