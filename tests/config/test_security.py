"""Security headers, the deploy check, and templates free of inline script."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    # Only what a real deployment sets; nothing from the test process leaks in
    # (VAR_DIR, DATABASE_URL, FULFILLMENT_* of the developer's shell).
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PRODUCTION": "true",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECRET_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "FULFILLMENT_ALLOWED_PRIVATE_NETWORKS": "",
        "VAR_DIR": str(tmp_path / "var"),
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=_production_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_without_secret_key_fails_saying_what_to_set(tmp_path):
    env = _production_env(tmp_path)
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set when PRODUCTION=true" in result.stderr


def test_production_with_an_empty_secret_key_fails_too(tmp_path):
    result = _manage(tmp_path, "check", SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when PRODUCTION=true" in result.stderr


def _assert_security_headers(response):
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "base-uri 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_dashboard_carries_the_security_headers(alice_client):
    response = alice_client.get(reverse("products:list"))

    assert response.status_code == 200
    _assert_security_headers(response)
    assert response["Referrer-Policy"] == "same-origin"


def test_public_product_page_carries_the_security_headers(client, product):
    product.status = "live"
    product.save(update_fields=["status"])

    response = client.get(reverse("orders:product", kwargs={"slug": product.slug}))

    assert response.status_code == 200
    _assert_security_headers(response)


def test_login_page_carries_the_security_headers(client, db):
    response = client.get(reverse("login"))

    _assert_security_headers(response)


def test_admin_carries_the_security_headers(client, charlie):
    client.force_login(charlie)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    _assert_security_headers(response)


def test_no_template_has_an_inline_script():
    inline = [
        f"{path.relative_to(BASE_DIR)}: {tag}"
        for path in sorted((BASE_DIR / "templates").rglob("*"))
        if path.is_file()
        for tag in SCRIPT_TAG.findall(path.read_text(encoding="utf-8"))
        if not re.search(r"\bsrc\s*=", tag, re.IGNORECASE)
    ]

    assert inline == []


def test_secure_cookies_and_hsts_follow_production(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_HTTPONLY)"
    )
    result = _manage(tmp_path, "shell", "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "True",
        "True",
        "True",
        "31536000",
        "True",
        "False",
        "True",
    ]


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        # The proxy appended the address it saw; the left one is the client's own
        # claim and is ignored.
        ("6.6.6.6, 203.0.113.5", "203.0.113.5"),
        ("203.0.113.5", "203.0.113.5"),
        # No header at all: the connection's address.
        ("", "10.0.0.1"),
    ],
)
def test_client_ip_behind_one_trusted_proxy_is_the_one_it_saw(
    rf, monkeypatch, forwarded, expected
):
    from config import settings as config_settings

    monkeypatch.setattr(config_settings, "TRUSTED_PROXY", 1)
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.1")

    assert config_settings._client_ip_behind_trusted_proxies(request) == expected


def test_without_trusted_proxy_forwarded_for_is_not_trusted():
    assert settings.TRUSTED_PROXY == 0
    assert settings.AXES_CLIENT_IP_CALLABLE is None


def test_production_without_encryption_keys_fails_saying_what_to_set(tmp_path):
    result = _manage(tmp_path, "check", SECRET_ENCRYPTION_KEYS=None)

    assert result.returncode != 0
    assert "SECRET_ENCRYPTION_KEYS must be set when PRODUCTION=true" in result.stderr
