from __future__ import annotations

import pytest
from django.core import signing

from downloads.links import (
    DOWNLOAD_LINK_SALT,
    LinkState,
    download_link_check,
    download_link_lifetime,
    download_link_token,
)


def test_a_token_names_its_order_and_file():
    check = download_link_check(token=download_link_token(order_id=7, file_id=9))

    assert (check.state, check.order_id, check.file_id) == (LinkState.VALID, 7, 9)


@pytest.mark.parametrize(
    "value", [[7], [7, "9"], {"o": 7}, "7:9", [7, 9, 1], [True, 9]]
)
def test_a_signed_value_of_another_shape_is_invalid(value):
    token = signing.dumps(value, salt=DOWNLOAD_LINK_SALT)

    assert download_link_check(token=token).state is LinkState.INVALID


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(86400, "24 hours"), (3600, "1 hour"), (5400, "1 hour"), (1800, "30 minutes"),
     (60, "1 minute"), (3, "1 minute")],
)  # fmt: skip
def test_the_lifetime_is_said_in_hours_or_minutes(settings, seconds, said):
    settings.DOWNLOAD_LINK_MAX_AGE = seconds

    assert download_link_lifetime() == said
