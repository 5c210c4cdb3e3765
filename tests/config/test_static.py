"""Static files: WhiteNoise serves collectstatic's hashed copies, cached for long."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.config.test_security import _manage

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.fixture
def collected(tmp_path, settings):
    """DEBUG off and the production storage, after `collectstatic` into tmp_path."""
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": MANIFEST_STORAGE},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((settings.STATIC_ROOT / "staticfiles.json").read_text())
    return manifest["paths"]


def test_hashed_stylesheet_is_served_with_a_long_cache(collected, db):
    hashed = collected["css/app.css"]
    assert re.fullmatch(r"css/app\.[0-9a-f]{12}\.css", hashed)

    # A new client: WhiteNoise indexes STATIC_ROOT when the middleware starts.
    response = Client().get(f"/static/{hashed}")

    assert response.status_code == 200
    assert "max-age=315360000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content)


def test_gzip_copy_is_served_to_browsers_that_accept_it(collected, db):
    response = Client().get(
        f"/static/{collected['css/app.css']}", HTTP_ACCEPT_ENCODING="gzip"
    )

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"


def test_pages_link_the_hashed_same_origin_files(collected, db):
    response = Client().get(reverse("login"))

    body = response.content.decode()
    # Same origin, so the Content-Security-Policy's 'self' covers it.
    assert f'href="/static/{collected["css/app.css"]}"' in body
    assert "style-src 'self'" in response["Content-Security-Policy"]


def test_production_uses_the_manifest_storage(tmp_path):
    code = (
        "from django.conf import settings; "
        "print(settings.STORAGES['staticfiles']['BACKEND'])"
    )

    result = _manage(tmp_path, "shell", "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == MANIFEST_STORAGE


def test_tests_and_development_keep_the_plain_storage(settings):
    backend = settings.STORAGES["staticfiles"]["BACKEND"]

    assert backend == "django.contrib.staticfiles.storage.StaticFilesStorage"
