"""The one page-specific Content-Security-Policy change: the email preview."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from csp.decorators import csp_update
from django.http import HttpResponseBase

View = TypeVar("View", bound=Callable[..., HttpResponseBase])

# The email preview is an iframe srcdoc: it inherits its page's policy, and an
# email's HTML is styled inline. Only the pages that show one allow inline styles.
EMAIL_PREVIEW_CSP = {"style-src": ["'self'", "'unsafe-inline'"]}


def email_preview_csp(view: View) -> View:
    """`csp_update(EMAIL_PREVIEW_CSP)`, typed for views that take URL arguments
    (django-csp types its decorators for views of the request alone)."""
    return cast(View, csp_update(EMAIL_PREVIEW_CSP)(view))
