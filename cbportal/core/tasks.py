"""Thin Celery tasks: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from cbportal.core import notifications


@shared_task(acks_late=True, ignore_result=True)
def deliver_notification(notification_id: int) -> str:
    # Failures are recorded on the row with its next attempt time; the sweep re-queues it,
    # so a failed send is retried with backoff without holding a worker slot.
    return notifications.deliver(notification_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_digest(digest_id: int) -> str:
    return notifications.deliver_digest(digest_id)


@shared_task(ignore_result=True)
def sweep_notifications() -> int:
    return notifications.sweep()


@shared_task(ignore_result=True)
def send_daily_digests() -> int:
    return notifications.digests_build()
