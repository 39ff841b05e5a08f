"""Celery tasks of monitoring and evaluation (thin: each calls one service)."""

from __future__ import annotations

from celery import shared_task

from evaluations import services


@shared_task
def remind_measurements_due() -> int:
    return services.measurements_remind_due()
