"""/healthz: 200 when the database and the broker answer, 503 naming what failed."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.urls import reverse

from config import health
from config.celery import app

pytestmark = pytest.mark.django_db

BROKEN_BROKER = "redis://:hunter2-broker-secret@127.0.0.1:1/0"


@pytest.fixture
def broken_broker(monkeypatch):
    """The Celery app's broker (what the check reads, and the workers use) is a
    port nobody listens on. Celery reads CELERY_BROKER_URL from the environment
    before its configuration; the transport is restored by hand, as monkeypatch
    cannot restore Celery's lazy settings."""
    monkeypatch.setenv("CELERY_BROKER_URL", BROKEN_BROKER)
    conf = app.conf
    saved = conf.broker_url, conf.broker_transport
    conf.broker_url, conf.broker_transport = BROKEN_BROKER, None
    yield
    conf.broker_url, conf.broker_transport = saved


@pytest.fixture
def broken_database(monkeypatch):
    def fail():
        raise OperationalError(
            "connection to server at postgres://app:hunter2-db-secret@db:5432 failed"
        )

    monkeypatch.setattr(health, "database_ping", fail)


def test_healthy_stack_answers_200_ok(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_unreachable_broker_answers_503_naming_the_broker(client, broken_broker):
    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["broker"].startswith("unavailable (")


def test_database_error_answers_503_naming_the_database(client, broken_database):
    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "unavailable (OperationalError)",
        "broker": "ok",
    }


def test_answer_and_log_never_carry_a_password(
    client, broken_broker, broken_database, caplog
):
    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    for text in (response.content.decode(), caplog.text):
        assert "hunter2" not in text
    assert "Health check database failed" in caplog.text


def test_healthz_needs_no_login_and_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/healthz")

    assert response.status_code == 200
    # The control: any other page is sent to https.
    assert client.get(reverse("login")).status_code == 301


def test_healthz_answers_a_probe_by_address_not_in_allowed_hosts(client):
    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")

    assert response.status_code == 200
    # The control: the same host is refused for any other page.
    assert client.get(reverse("login"), HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_healthz_refuses_writes(client):
    assert client.post(reverse("healthz")).status_code == 405


def test_scrub_removes_url_credentials_and_configured_passwords(monkeypatch):
    monkeypatch.setattr(health, "_configured_passwords", lambda: ["brokerpw", "dbpw"])

    text = health.scrub("redis://:brokerpw@redis:6379/0 said brokerpw; dbpw\nmore")

    assert text == "redis://***@redis:6379/0 said ***; ***"


def test_the_broker_password_is_one_of_the_configured_ones(settings):
    settings.CELERY_BROKER_URL = "redis://:brokerpw@redis:6379/0"

    assert "brokerpw" in health._configured_passwords()
