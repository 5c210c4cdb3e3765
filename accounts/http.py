"""The request of a signed-in seller, for views behind `login_required`."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class SellerRequest(HttpRequest):
    """What `login_required` guarantees: the user is an account, not anonymous.
    (A type only: Django builds the request; type checkers read the user as one
    of ours.)"""

    user: User
