"""Thin Celery tasks of the experts app: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from experts import services


@shared_task(acks_late=True)
def run_match(job_id: int) -> int:
    """Run one queued matching job (idempotent: a finished job is left alone)."""
    return services.match_run(job_id=job_id).pk


@shared_task
def expire_invitations() -> int:
    return services.deployments_expire_due()


@shared_task
def remind_expiring_invitations() -> int:
    """Daily (Celery beat): invitations that expire within INVITATION_EXPIRY_REMINDER_DAYS."""
    return services.invitations_remind_expiring()


@shared_task
def remind_mission_reports() -> int:
    """Daily (Celery beat): mission reports overdue."""
    return services.mission_reports_remind()
