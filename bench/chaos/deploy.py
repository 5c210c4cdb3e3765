"""The production deployment a chaos run drives: its environment, its release
steps, its processes (the Procfile's) and the sellers' server.

Every process gets the environment a deployment sets (docs/deploy.md) and
nothing else from the caller's shell, so the shipped settings are what runs:
`PRODUCTION=true`, `config.settings`, PostgreSQL, Redis for broker and cache, a
fresh `SECRET_KEY` and Fernet key, JSON logs. The deviations, each needed to run
on one machine's loopback, are listed in `DEVIATIONS` and in the report.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from bench.chaos.tls import TlsFiles
from bench.stack import (
    ROOT,
    Proc,
    Stack,
    StackError,
    free_port,
    gunicorn_start,
    json_line_start,
    procfile_command,
    procfile_worker_start,
    workers_wait,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fulfillment_chaos"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
# What a deployment would not set, and why we do.
DEVIATIONS = {
    "FULFILLMENT_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8: the sellers listen on "
    "loopback (production allows no private network)",
    "API_RATE_LIMIT": "1200/60: one token places 300 orders in 45 s (400 a "
    "minute, above the default 120/60); a provider of that volume gets a "
    "higher limit",
    "gunicorn --bind": "127.0.0.1:<port> instead of the config's 0.0.0.0:$PORT: "
    "nothing of the run listens beyond loopback",
    "X-Forwarded-Proto": "the load clients send `https` as the https proxy "
    "in front of gunicorn would (SECURE_SSL_REDIRECT is on)",
}
# The caller's variables that reach the processes: none that the settings read.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER")


def database_url() -> str:
    return os.environ.get("CHAOS_DATABASE_URL") or DEFAULT_DATABASE_URL


def redis_url() -> str:
    return os.environ.get("CHAOS_REDIS_URL") or DEFAULT_REDIS_URL


def deployment_keys() -> dict[str, str]:
    """A fresh SECRET_KEY and Fernet key, as an operator generates them; one
    pair per invocation, since the driver's Django keeps the first it reads."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECRET_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }


def production_env(
    *, folder: Path, tls: TlsFiles, keys: dict[str, str]
) -> dict[str, str]:
    """The environment of every process of a run (and of the driver)."""
    env = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
    return {
        **env,
        **keys,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "PRODUCTION": "true",
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": "https://localhost",
        "SITE_URL": "https://localhost",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": redis_url(),
        "CACHE_URL": redis_url(),
        # Django's own file backend: one file per connection, every message
        # kept, read back by the harness.
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(folder / "mail"),
        "DEFAULT_FROM_EMAIL": "Orders <orders@localhost>",
        "EMAIL_MESSAGE_ID_DOMAIN": "localhost",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "VAR_DIR": str(folder / "var"),
        # The workers trust the run's CA instead of the public ones.
        "SSL_CERT_FILE": str(tls.ca_cert),
        "FULFILLMENT_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
        "API_RATE_LIMIT": "1200/60",
    }


def dotenv_refuse() -> None:
    """A .env in the checkout would add settings to every process."""
    if (ROOT / ".env").exists():
        raise StackError(
            "A .env file in the checkout would change the shipped settings of "
            "the run; move it away first."
        )


def release(env: dict[str, str], logs: Path) -> list[str]:
    """The build and release steps of docs/deploy.md: collectstatic, the
    Procfile's `release` (migrate), and `check --deploy`, whose warnings are
    returned."""
    python = [sys.executable, "manage.py"]
    _step(env, logs, "collectstatic", [*python, "collectstatic", "--noinput"])
    _step(env, logs, "release", procfile_command("release", env))
    checked = _step(env, logs, "check-deploy", [*python, "check", "--deploy"])
    return [line for line in checked.splitlines() if "?: (" in line]


def _step(env: dict[str, str], logs: Path, name: str, cmd: list[str]) -> str:
    done = subprocess.run(  # noqa: S603 - our own commands, no shell
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    output = done.stdout + done.stderr
    (logs / f"{name}.log").write_text(output)
    if done.returncode:
        raise StackError(f"{name} failed:\n{output[-3000:]}")
    return output


# Seconds a seller's server takes to answer: a license server across the internet.
SELLER_LATENCY = 0.1


class Seller:
    """One sellers' server process (bench/chaos/seller.py) and its control paths."""

    def __init__(self, stack: Stack, tls: TlsFiles, *, name: str = "seller") -> None:
        cmd = [sys.executable, "-m", "bench.chaos.seller"]
        cmd += ["--cert", str(tls.server_cert), "--key", str(tls.server_key)]
        cmd += ["--latency", str(SELLER_LATENCY)]
        self.proc = json_line_start(stack, name, cmd)
        self.port: int = self.proc.info["port"]
        self.ca = str(tls.ca_cert)

    def url(self, path: str) -> str:
        return f"https://localhost:{self.port}{path}"

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        answer = requests.request(
            method, self.url(path), verify=self.ca, timeout=10, **kwargs
        )
        answer.raise_for_status()
        return answer

    def products_learn(self, products: dict[str, dict]) -> None:
        self._call("POST", "/_chaos/products", json=products)

    def hang(self, seconds: float) -> dict:
        return self._call("POST", "/_chaos/hang", json={"seconds": seconds}).json()

    def records(self) -> list[dict]:
        return self._call("GET", "/_chaos/records").json()


@dataclass
class Deployment:
    """The Procfile's processes: web (gunicorn), two fulfillment workers, one
    email worker, beat. Restarted processes replace their entry in `procs`."""

    stack: Stack
    web_port: int = field(default_factory=free_port)
    procs: dict[str, Proc] = field(default_factory=dict)

    # The Procfile process each of our processes runs.
    ROLES = {
        "fulfillment1": "fulfillment",
        "fulfillment2": "fulfillment",
        "email": "email",
        "beat": "beat",
    }

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> None:
        self.web_start()
        for name in self.ROLES:
            self.procs[name] = procfile_worker_start(
                self.stack, self.ROLES[name], name=name
            )
        self.workers_wait([self.procs[name] for name in self.ROLES if name != "beat"])
        # Beat answers no ping; alive after the workers' start is good enough.
        if not self.procs["beat"].alive():
            raise StackError(f"celery beat exited:\n{self.procs['beat'].log_tail()}")

    def web_start(self) -> Proc:
        command = procfile_command("web", self.stack.env)
        command += ["--bind", f"127.0.0.1:{self.web_port}"]
        self.procs["web"] = gunicorn_start(
            self.stack,
            port=self.web_port,
            command=command,
            ready_path="/healthz",
            name="web",
        )
        return self.procs["web"]

    def worker_restart(self, name: str) -> Proc:
        proc = procfile_worker_start(self.stack, self.ROLES[name], name=name)
        self.procs[name] = proc
        self.workers_wait([proc])
        return proc

    @staticmethod
    def workers_wait(procs: list[Proc]) -> None:
        from config.celery import app

        workers_wait(procs, app)

    def died(self) -> list[str]:
        """Processes that exited without being killed by the run."""
        return [name for name, proc in self.procs.items() if not proc.alive()]
