"""Celery tasks of monitoring and evaluation (thin: each calls one service). Celery beat
runs the reminders daily (``CELERY_BEAT_SCHEDULE``; they repeat as ``REMINDERS`` says) and
keeps the dashboard's first view computed ahead."""

from __future__ import annotations

from celery import shared_task

from evaluations import dashboard, services


@shared_task
def remind_measurements_due() -> int:
    return services.measurements_remind_due()


@shared_task
def remind_evaluations_due() -> int:
    return services.evaluations_remind_due()


@shared_task
def warm_dashboard() -> int:
    return dashboard.warm_portfolio_reports()
