"""A product's files in the seller dashboard, and the customers' download links.

Seller pages answer 404 for any product that is not the signed-in seller's
(`product_of_seller`) and for any file not of that product (`_get_file`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.http import SellerRequest
from downloads.links import download_link_lifetime
from downloads.models import ProductFile
from downloads.selectors import (
    product_file_of_product,
    product_files_with_totals,
)
from downloads.services import (
    FileRefused,
    product_file_add,
    product_file_delete,
)
from downloads.serving import Refusal, download_grant, download_response
from products.models import Product
from web.products.selectors import product_of_seller

from .forms import ProductFileForm

# Room for the multipart envelope around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


def _get_file(product: Product, pk: int) -> ProductFile:
    file = product_file_of_product(product_id=product.pk, pk=pk)
    if file is None:
        raise Http404("No such file.")
    return file


def _body_too_large(request: HttpRequest) -> bool:
    """Whether the upload is over the limit by its declared length alone, so
    that it is refused before its body is read to disk."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.DOWNLOAD_MAX_FILE_BYTES + MULTIPART_OVERHEAD


@login_required
def product_files(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    form = ProductFileForm()
    status = 200
    if request.method == "POST":
        form, added = _upload(request, product)
        if added is not None:
            messages.success(request, f"“{added.filename}” added.")
            return redirect("downloads:files", pk=product.pk)
        status = 400
    files = product_files_with_totals(product_id=product.pk)
    context = {
        "product": product,
        "form": form,
        "files": files,
        "link_lifetime": download_link_lifetime(),
    }
    return render(request, "dashboard/downloads/files.html", context, status=status)


def _upload(
    request: SellerRequest, product: Product
) -> tuple[ProductFileForm, ProductFile | None]:
    if _body_too_large(request):
        return ProductFileForm(data={}, too_large=True), None
    form = ProductFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return form, None
    upload = form.cleaned_data["file"]
    try:
        added = product_file_add(
            product=product,
            upload=upload,
            filename=upload.name,
            content_type=upload.content_type or "",
        )
    except FileRefused as exc:
        form.add_error("file", exc.message)
        return form, None
    return form, added


@login_required
@require_POST
def product_file_delete_view(request: SellerRequest, pk: int, file_pk: int):
    product = product_of_seller(seller=request.user, pk=pk)
    file = _get_file(product, file_pk)
    product_file_delete(file=file)
    messages.success(request, f"“{file.filename}” deleted.")
    return redirect("downloads:files", pk=product.pk)


@require_GET
def download(request: HttpRequest, token: str) -> HttpResponseBase:
    """A customer's link: the file, or a page that says why not."""
    grant = download_grant(token=token)
    if isinstance(grant, Refusal):
        return _refused(request, grant.reason, status=grant.status)
    return download_response(file=grant.file, stream=grant.stream)


def _refused(request: HttpRequest, reason: str, *, status: int) -> HttpResponse:
    context = {
        "reason": reason,
        "lifetime": download_link_lifetime(),
        "limit": settings.DOWNLOADS_PER_FILE_PER_ORDER,
    }
    response = render(request, "public/download_refused.html", context, status=status)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
