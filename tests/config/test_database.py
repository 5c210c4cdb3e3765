"""The PostgreSQL sessions Django opens need no statement before their first
query: a new connection costs the database nothing but the connection."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from tests.services import on_postgres


def test_a_new_postgresql_session_starts_in_utc():
    if not on_postgres():
        pytest.skip("SQLite: no session time zone to set")
    params = connection.get_connection_params()
    params.pop("context", None)  # Django's type adapters: not needed here

    with psycopg.connect(**params) as raw:
        zone = raw.info.parameter_status("TimeZone")

    # As the connection opens, before any statement: so Django sends no
    # `set_config('TimeZone', …)` (a statement, and in autocommit a commit).
    assert zone == connection.timezone_name == "UTC"
