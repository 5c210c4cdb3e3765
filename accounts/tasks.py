"""Thin Celery wrappers of the accounts services."""

from __future__ import annotations

from celery import shared_task

from .services import signups_unconfirmed_purge


@shared_task(name="accounts.tasks.signups_unconfirmed_purge_task")
def signups_unconfirmed_purge_task() -> int:
    return signups_unconfirmed_purge()
