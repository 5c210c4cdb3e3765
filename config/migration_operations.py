"""Migration operations shared by the apps."""

from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations import AddIndex


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, so that building an index on a
    large table never blocks its writes during a deploy (docs/deploy.md,
    Upgrades); a plain CREATE INDEX on SQLite, which has no such thing. The
    migration must say `atomic = False`."""

    def database_forwards(self, app_label, schema_editor, *states):
        self._apply("database_forwards", app_label, schema_editor, *states)

    def database_backwards(self, app_label, schema_editor, *states):
        self._apply("database_backwards", app_label, schema_editor, *states)

    def _apply(self, method: str, app_label, schema_editor, *states) -> None:
        on_postgres = schema_editor.connection.vendor == "postgresql"
        operation = AddIndexConcurrently if on_postgres else AddIndex
        getattr(operation, method)(self, app_label, schema_editor, *states)
