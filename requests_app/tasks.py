"""Thin Celery tasks of the requests app: each calls one service."""

from __future__ import annotations

from celery import shared_task

from requests_app import services


@shared_task
def remind_overdue_requests() -> int:
    """Daily (Celery beat): requests past their first-response or decision target."""
    return services.requests_remind_overdue()
