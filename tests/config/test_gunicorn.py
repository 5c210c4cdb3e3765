"""gunicorn: the settings config/gunicorn.conf.py reads from the environment, and a
real production process serving pages, static files and JSON access lines."""

from __future__ import annotations

import json
import os
import re
import runpy
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.config.test_security import _production_env

BASE_DIR = Path(settings.BASE_DIR)
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONF = BASE_DIR / "config" / "gunicorn.conf.py"


def _print_config(tmp_path: Path, **env: str) -> dict[str, str]:
    """The settings gunicorn would run with (`--print-config`), by name."""
    result = subprocess.run(
        [GUNICORN, "--print-config", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=BASE_DIR,
        env={"PATH": os.environ.get("PATH", ""), "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Lines of "name<padding>= value".
    pairs = (
        re.split(r"\s+= ", line, maxsplit=1) for line in result.stdout.splitlines()
    )
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def test_defaults_bind_port_8000_with_threads_and_recycled_workers(tmp_path):
    config = _print_config(tmp_path)

    assert config["bind"] == "['0.0.0.0:8000']"
    assert config["worker_class"] == "gthread"
    assert 1 <= int(config["workers"]) <= 8
    assert int(config["threads"]) == 4
    assert int(config["timeout"]) == 60
    assert int(config["graceful_timeout"]) == 30
    assert int(config["max_requests"]) == 10000
    assert int(config["max_requests_jitter"]) == 1000
    assert config["accesslog"] == "-"


def test_environment_sets_port_workers_threads_and_trusted_proxies(tmp_path):
    config = _print_config(
        tmp_path,
        PORT="9123",
        WEB_CONCURRENCY="3",
        WEB_THREADS="6",
        WEB_TIMEOUT="90",
        FORWARDED_ALLOW_IPS="10.0.0.0/8",
    )

    assert config["bind"] == "['0.0.0.0:9123']"
    assert (config["workers"], config["threads"], config["timeout"]) == (
        "3",
        "6",
        "90",
    )
    assert "10.0.0.0/8" in config["forwarded_allow_ips"]


def test_default_workers_follow_the_cores_but_stay_bounded():
    default_workers = runpy.run_path(str(CONF))["default_workers"]

    assert default_workers(1) == 3
    assert default_workers(2) == 5
    assert default_workers(64) == 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def production_server(tmp_path):
    """gunicorn as the Procfile runs it, PRODUCTION on, JSON logs, after the
    release steps (migrate, collectstatic)."""
    port = _free_port()
    env = _production_env(
        tmp_path,
        PORT=str(port),
        WEB_CONCURRENCY="1",
        WEB_THREADS="2",
        LOG_FORMAT="json",
        EMAIL_TRACKING_ESP="",
    )
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *step, "-v", "0"],
            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    log = (tmp_path / "gunicorn.log").open("w+")
    process = subprocess.Popen(
        [GUNICORN, "config.wsgi", "-c", "config/gunicorn.conf.py"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, tmp_path / "gunicorn.log"
    finally:
        process.terminate()
        process.wait(timeout=40)
        log.close()


def _wait_until_up(base: str, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            _get(f"{base}/healthz")
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer within 60 s")


# The proxy in front says the client used https (SECURE_PROXY_SSL_HEADER).
HTTPS = {"X-Forwarded-Proto": "https", "Host": "shop.example.com"}


@pytest.mark.integration
def test_production_server_serves_health_static_and_json_access_lines(
    production_server,
):
    base, log_path = production_server

    # A load balancer probes by address, over http.
    health = _get(f"{base}/healthz")
    page = _get(f"{base}/accounts/login/", **HTTPS)
    stylesheet = re.search(rb'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page[2])
    static = _get(base + stylesheet.group(1).decode(), **HTTPS)
    _get(f"{base}/orders/secret-order-token/", **HTTPS)
    time.sleep(0.5)  # the access lines are written after each answer

    assert health[0] == 200, health
    assert json.loads(health[2]) == {"status": "ok", "database": "ok", "broker": "ok"}
    assert page[0] == 200
    assert static[0] == 200 and "immutable" in static[1]["Cache-Control"]
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    probe = access[-4]  # the four requests above, in order
    assert {"method": "GET", "path": "/healthz", "status": 200}.items() <= probe.items()
    assert isinstance(probe["duration_ms"], int)
    assert any(line["path"] == "/orders/<token>/" for line in access)
    assert "secret-order-token" not in log_path.read_text()
