"""/metrics: open in development, a bearer token in production, never open there.

Operators only: no seller or staff login opens it, only METRICS_TOKEN. The
figures themselves are tested in tests/fulfillment/test_metrics.py.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from tests.config.test_security import _manage

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789abcdef"


@pytest.fixture
def production(settings):
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = TOKEN


def get(client, **headers):
    return client.get(reverse("metrics"), headers=headers)


def test_development_without_a_token_is_open(client):
    response = get(client)

    assert response.status_code == 200
    families = text_string_to_metric_families(response.content.decode())
    assert "fulfillment_oldest_due_delivery_age_seconds" in {f.name for f in families}


def test_production_without_a_token_does_not_exist(
    client, settings, django_assert_num_queries
):
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = ""

    with django_assert_num_queries(0):
        response = get(client, Authorization="Bearer ")

    assert response.status_code == 404


def test_production_refuses_a_request_without_the_token(client, production):
    response = get(client)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", "Bearer ", TOKEN],
)
def test_production_refuses_a_wrong_token(
    client, production, authorization, django_assert_num_queries
):
    with django_assert_num_queries(0):  # a refused scrape costs no query
        response = get(client, Authorization=authorization)

    assert response.status_code == 401


def test_production_answers_the_right_token_uncached(client, production):
    response = get(client, Authorization=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-store" in response["Cache-Control"]
    families = list(text_string_to_metric_families(response.content.decode()))
    assert len(families) == 7


def test_a_staff_session_is_no_credential(client, production, charlie):
    client.force_login(charlie)

    assert get(client).status_code == 401


def test_a_token_set_in_development_is_required_too(client, settings):
    settings.METRICS_TOKEN = TOKEN

    assert get(client).status_code == 401
    assert get(client, Authorization=f"bearer {TOKEN}").status_code == 200


def test_scrapers_go_through_host_validation(client, production):
    # Unlike /healthz: a scraper names the site, over https, with its token.
    response = client.get(
        reverse("metrics"),
        headers={"Authorization": f"Bearer {TOKEN}"},
        HTTP_HOST="10.0.3.7:8000",
    )

    assert response.status_code == 400


def test_only_get_and_head(client):
    assert client.post(reverse("metrics")).status_code == 405
    assert client.head(reverse("metrics")).status_code == 200


def test_a_short_token_fails_at_startup_saying_what_to_set(tmp_path):
    result = _manage(tmp_path, "check", METRICS_TOKEN="too-short")

    assert result.returncode != 0
    assert "METRICS_TOKEN must be at least 32 characters" in result.stderr
