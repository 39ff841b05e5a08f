"""manage.py remind: the daily reminder jobs, now, with the once-a-day guarantee."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cbportal.core.management.commands.remind import reminder_jobs
from cbportal.core.models import Notification, ReminderLog
from requests_app.models import AssistanceRequest
from tests.requests_app.helpers import make_request


def run(*args: str) -> str:
    out = StringIO()
    call_command("remind", *args, stdout=out)
    return out.getvalue()


def test_every_daily_reminder_job_is_a_registered_task():
    from cbportal.celery import app

    app.loader.import_default_modules()
    jobs = reminder_jobs()
    assert len(jobs) >= 5
    for task in jobs.values():
        assert task in app.tasks, task


def test_it_runs_every_job_and_a_second_run_sends_nothing_new(partner, staff):
    overdue = make_request("submitted", partner)
    AssistanceRequest.objects.filter(pk=overdue.pk).update(
        first_response_due_at=timezone.now() - timedelta(days=1)
    )
    first = run()
    for name in reminder_jobs():
        assert f"{name}:" in first
    assert "reminders-request-sla: 1 reminded" in first
    reminders = Notification.objects.filter(category="reminders")
    count = reminders.count()
    assert count >= 1
    assert ReminderLog.objects.filter(object_id=overdue.pk).count() == 1

    second = run()
    assert "reminders-request-sla: 0 reminded" in second
    assert reminders.count() == count


def test_it_runs_only_the_jobs_named(partner):
    out = run("reminders-request-sla")
    assert out.startswith("reminders-request-sla:")
    assert out.count("reminded") == 1


def test_an_unknown_job_is_refused_with_the_known_ones():
    with pytest.raises(CommandError, match="reminders-request-sla"):
        run("reminders-everything")
