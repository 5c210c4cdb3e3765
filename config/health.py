"""Is this process able to work? The database and the broker, each checked now.

`/healthz` (config/views.py) answers with `health_check()`: a load balancer
takes a web process out of rotation on a 503 (docs/deploy.md, "Health checks").

The answer is public, so a failure is named by its exception class only; the
details (which may name hosts) go to the log, with any `user:password@` of a
URL and the configured passwords removed.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

# Seconds to connect to the broker; a probe must answer well within the load
# balancer's own timeout (typically 5 s).
BROKER_TIMEOUT = 2.0

OK = "ok"
_URL_CREDENTIALS = re.compile(r"(?<=://)[^@/\s]*@")


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, str] = field(default_factory=dict)  # name -> "ok" or reason

    @property
    def healthy(self) -> bool:
        return all(value == OK for value in self.checks.values())

    def as_dict(self) -> dict[str, str]:
        return {"status": OK if self.healthy else "unavailable", **self.checks}


def database_ping() -> None:
    """One round trip: `SELECT 1` on the default database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def broker_ping() -> None:
    """Open a connection to the broker the workers use, once, within
    BROKER_TIMEOUT. Read from the Celery app's configuration, not from settings:
    that is what the workers and the enqueueing code connect to."""
    from config.celery import app

    with app.connection_for_write(
        connect_timeout=BROKER_TIMEOUT,
        # Redis: also bound the answer to the connection's first command.
        transport_options={"socket_timeout": BROKER_TIMEOUT},
    ) as conn:
        conn.ensure_connection(max_retries=0, interval_start=0, timeout=BROKER_TIMEOUT)


def health_check() -> HealthReport:
    """Run every check; a failing one is reported by name and reason, never raised."""
    return HealthReport(
        checks={
            "database": _run("database", database_ping),
            "broker": _run("broker", broker_ping),
        }
    )


def _run(name: str, check: Callable[[], None]) -> str:
    try:
        check()
    except Exception as exc:
        logger.warning(
            "Health check %s failed: %s: %s",
            name,
            type(exc).__name__,
            scrub(str(exc)),
        )
        return f"unavailable ({type(exc).__name__})"
    return OK


def scrub(text: str) -> str:
    """`text` without URL credentials or the passwords of the configured
    database and broker, cut to one short line."""
    text = _URL_CREDENTIALS.sub("***@", text)
    for secret in _configured_passwords():
        text = text.replace(secret, "***")
    return text.splitlines()[0][:300] if text else ""


def _configured_passwords() -> list[str]:
    passwords = [settings.DATABASES["default"].get("PASSWORD") or ""]
    with contextlib.suppress(ValueError):  # an unparsable URL has no password
        passwords.append(urlsplit(settings.CELERY_BROKER_URL).password or "")
    return [password for password in passwords if password]
