"""Rapid reaction, measured: working-day service-level targets for triage.

A request must get a first response (start of review or a question) within
``SLA_FIRST_RESPONSE_WORKING_DAYS`` working days of submission and a decision within
``SLA_DECISION_WORKING_DAYS``. Working days are Monday to Friday, minus ``SLA_HOLIDAYS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SlaState(models.TextChoices):
    ON_TIME = "on_time", _("On time")
    DUE_SOON = "due_soon", _("Due soon")
    OVERDUE = "overdue", _("Overdue")
    MET = "met", _("Met")
    MISSED = "missed", _("Missed")


def _holidays() -> set[date]:
    return {date.fromisoformat(d) for d in getattr(settings, "SLA_HOLIDAYS", [])}


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays()


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment ``days`` working days after ``start`` (same time of day). A start on a
    weekend or holiday counts from the next working day's start."""
    local = timezone.localtime(start)
    current = local
    if not is_working_day(current.date()):
        while not is_working_day(current.date()):
            current += timedelta(days=1)
        current = current.replace(hour=0, minute=0, second=0, microsecond=0)
    added = 0
    while added < days:
        current += timedelta(days=1)
        if is_working_day(current.date()):
            added += 1
    return current


def working_days_between(start: datetime, end: datetime) -> int:
    """Whole working days from ``start`` to ``end`` (0 on the same day)."""
    first, last = timezone.localtime(start).date(), timezone.localtime(end).date()
    if last <= first:
        return 0
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


@dataclass(frozen=True)
class Sla:
    state: str
    due: datetime
    label: str

    @property
    def is_late(self) -> bool:
        return self.state in (SlaState.OVERDUE, SlaState.MISSED)


def _assess(due: datetime, done: datetime | None, now: datetime) -> Sla:
    if done is not None:
        state = SlaState.MET if done <= due else SlaState.MISSED
    elif now > due:
        state = SlaState.OVERDUE
    elif now > due - timedelta(hours=settings.SLA_DUE_SOON_HOURS):
        state = SlaState.DUE_SOON
    else:
        state = SlaState.ON_TIME
    return Sla(state=state, due=due, label=str(SlaState(state).label))


def due_dates(submitted_at: datetime) -> tuple[datetime, datetime]:
    """(first response due, decision due) for a request submitted at ``submitted_at``."""
    return (
        add_working_days(submitted_at, settings.SLA_FIRST_RESPONSE_WORKING_DAYS),
        add_working_days(submitted_at, settings.SLA_DECISION_WORKING_DAYS),
    )


def first_response_sla(request: Any, now: datetime | None = None) -> Sla | None:
    if request.submitted_at is None or request.first_response_due_at is None:
        return None
    if request.status == "withdrawn" and request.first_response_at is None:
        return None
    return _assess(request.first_response_due_at, request.first_response_at, now or timezone.now())


def decision_sla(request: Any, now: datetime | None = None) -> Sla | None:
    if request.decision_due_at is None or request.status == "withdrawn":
        return None
    return _assess(request.decision_due_at, request.decided_at, now or timezone.now())


def triage_sla(request: Any, now: datetime | None = None) -> Sla | None:
    """The target that matters now in the triage queue: the first response until it
    happens, then the decision."""
    if request.first_response_at is None:
        return first_response_sla(request, now)
    return decision_sla(request, now)


def pending_sla_filter(state: str, now: datetime | None = None) -> Q:
    """A queryset filter for open requests whose current target is in ``state``
    (``on_time``, ``due_soon`` or ``overdue``), evaluated in the database."""
    now = now or timezone.now()
    soon = now + timedelta(hours=settings.SLA_DUE_SOON_HOURS)
    is_open = Q(status__in=["submitted", "under_review", "info_requested"])
    awaiting_first = is_open & Q(first_response_at__isnull=True)
    awaiting_decision = is_open & Q(first_response_at__isnull=False, decided_at__isnull=True)
    if state == SlaState.OVERDUE:
        return (awaiting_first & Q(first_response_due_at__lt=now)) | (
            awaiting_decision & Q(decision_due_at__lt=now)
        )
    if state == SlaState.DUE_SOON:
        return (
            awaiting_first & Q(first_response_due_at__gte=now, first_response_due_at__lt=soon)
        ) | (awaiting_decision & Q(decision_due_at__gte=now, decision_due_at__lt=soon))
    if state == SlaState.ON_TIME:
        return (awaiting_first & Q(first_response_due_at__gte=soon)) | (
            awaiting_decision & Q(decision_due_at__gte=soon)
        )
    raise ValueError(f"unknown SLA state {state!r}")
