"""Celery tasks of monitoring and evaluation (thin: each calls one service). Celery beat
runs both daily (``CELERY_BEAT_SCHEDULE``); reminders repeat as ``REMINDERS`` says."""

from __future__ import annotations

from celery import shared_task

from evaluations import services


@shared_task
def remind_measurements_due() -> int:
    return services.measurements_remind_due()


@shared_task
def remind_evaluations_due() -> int:
    return services.evaluations_remind_due()
