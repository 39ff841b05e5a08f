"""Reminders about requests past their triage targets (issue 7): who hears, what they read,
and that each reminder goes out once per day however often the daily job runs. Time is
controlled by passing ``now=`` to the job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone

from cbportal.core.models import DeliveryStatus, Notification, ReminderLog
from requests_app import services
from requests_app.models import AssistanceRequest
from requests_app.tasks import remind_overdue_requests
from tests.factories import UserFactory

FIRST = "request_first_response_overdue"
DECISION = "request_decision_overdue"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def lead(db: Any) -> Any:
    return UserFactory(username="lead")


@pytest.fixture
def officer(staff: Any, lead: Any) -> Any:
    """``staff``, the case officer, with ``lead`` as their team lead."""
    staff.lead = lead
    staff.save(update_fields=["lead"])
    return staff


@pytest.fixture
def audience(personas: Any, lead: Any) -> dict[str, Any]:
    """Everyone who could wrongly be told: the personas, another staff member (not the
    lead), an inactive staff account."""
    UserFactory(username="colleague")
    UserFactory(username="gone-staff", is_active=False)
    return personas


def run(now: datetime) -> int:
    return services.requests_remind_overdue(now=now)


def told(event: str | None = None) -> list[str]:
    rows = Notification.objects.filter(event__in=[event] if event else [FIRST, DECISION])
    return sorted(rows.values_list("recipient__username", flat=True))


def logs(request: AssistanceRequest | None = None) -> list[tuple[str, str]]:
    rows = ReminderLog.objects.filter(reason__in=[FIRST, DECISION])
    if request is not None:
        rows = rows.filter(object_id=request.pk)
    return sorted((r.reason, r.day.isoformat()) for r in rows)


def late_for_decision(request: AssistanceRequest) -> datetime:
    assert request.decision_due_at is not None
    return request.decision_due_at + HOUR


def late_for_first_response(request: AssistanceRequest) -> datetime:
    assert request.first_response_due_at is not None
    return request.first_response_due_at + HOUR


def email_to(mailoutbox: list[Any], username: str) -> Any:
    (message,) = [m for m in mailoutbox if m.to == [f"{username}@example.org"]]
    return message


# --- who is reminded ------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["under_review", "info_requested"])
def test_it_reminds_the_case_officer_and_their_lead_of_a_late_decision(
    audience, officer, request_in, state
):
    request = request_in(state)
    assert run(late_for_decision(request)) == 1
    assert told(DECISION) == ["lead", "staff"]
    assert told(FIRST) == []
    notification = Notification.objects.get(event=DECISION, recipient=officer)
    assert (notification.target, notification.url) == (request, request.get_absolute_url())
    assert notification.category == "reminders"


def test_a_request_nobody_took_reminds_every_active_staff_member(audience, lead, request_in):
    request = request_in("submitted")
    assert request.case_officer_id is None
    assert run(late_for_first_response(request)) == 1
    assert told(FIRST) == ["approver", "colleague", "lead", "staff"]
    assert logs() == [(FIRST, timezone.localdate(late_for_first_response(request)).isoformat())]


def test_a_case_officer_without_a_lead_is_reminded_alone(audience, staff, request_in):
    request = request_in("under_review")
    run(late_for_decision(request))
    assert told() == ["staff"]


def test_an_inactive_lead_is_left_out(audience, officer, lead, request_in):
    lead.is_active = False
    lead.save(update_fields=["is_active"])
    request = request_in("under_review")
    run(late_for_decision(request))
    assert told() == ["staff"]


def test_the_lead_is_reminded_when_the_case_officer_left(audience, officer, request_in):
    request = request_in("under_review")
    officer.is_active = False
    officer.save(update_fields=["is_active"])
    run(late_for_decision(request))
    assert told() == ["lead"]


def test_staff_are_reminded_when_the_case_officer_left_without_a_lead(audience, staff, request_in):
    request = request_in("under_review")
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    run(late_for_decision(request))
    assert told() == ["approver", "colleague", "lead"]


def test_the_first_response_is_late_even_before_the_decision(audience, officer, request_in):
    request = request_in("submitted")
    assert request.decision_due_at is not None
    assert request.first_response_due_at is not None
    assert request.first_response_due_at < request.decision_due_at
    run(late_for_first_response(request))
    assert told(DECISION) == []
    assert len(told(FIRST)) == 4


# --- who is not -----------------------------------------------------------------------------


def test_requests_on_time_are_not_reminded(audience, officer, request_in):
    submitted = request_in("submitted")
    under_review = request_in("under_review")
    assert submitted.first_response_due_at is not None
    # Just before the first response is due: nothing yet.
    assert run(submitted.first_response_due_at - timedelta(minutes=1)) == 0
    # The first response is late for ``submitted``; ``under_review`` had one in time and
    # its decision is not due yet.
    assert run(late_for_first_response(submitted)) == 1
    assert logs(under_review) == []
    assert told(DECISION) == []


@pytest.mark.parametrize("state", ["draft", "accepted", "declined", "withdrawn"])
def test_closed_requests_and_drafts_are_never_reminded(audience, officer, request_in, state):
    request = request_in(state)
    far = timezone.now() + timedelta(days=90)
    assert run(far) == 0
    assert logs() == []
    assert told() == []
    assert AssistanceRequest.objects.get(pk=request.pk).status == state


# --- once per day ---------------------------------------------------------------------------


def test_each_reminder_goes_out_once_per_day_and_again_the_next_day(audience, officer, request_in):
    request = request_in("under_review")
    first_run = late_for_decision(request)
    assert run(first_run) == 1
    assert run(first_run + timedelta(minutes=5)) == 0
    assert run(first_run + HOUR) == 0
    day = timezone.localdate(first_run)
    assert logs() == [(DECISION, day.isoformat())]
    assert told() == ["lead", "staff"]
    # The next day (cadence 1 by default), again — once.
    assert settings.REMINDERS[DECISION]["every_days"] == 1
    assert run(first_run + DAY) == 1
    assert run(first_run + DAY + HOUR) == 0
    assert logs() == [(DECISION, day.isoformat()), (DECISION, (day + DAY).isoformat())]
    assert told() == ["lead", "lead", "staff", "staff"]


def test_a_longer_cadence_waits_that_many_days(audience, officer, request_in, settings):
    settings.REMINDERS = {**settings.REMINDERS, DECISION: {"every_days": 3}}
    request = request_in("under_review")
    start = late_for_decision(request)
    sent = [run(start + n * DAY) for n in range(7)]
    assert sent == [1, 0, 0, 1, 0, 0, 1]
    assert len(logs()) == 3
    assert told().count("staff") == 3


def test_a_request_reminded_stops_once_decided(audience, officer, request_in):
    request = request_in("under_review")
    assert run(late_for_decision(request)) == 1
    services.request_accept(request_id=request.pk, by=officer)
    assert run(late_for_decision(request) + DAY) == 0
    assert len(logs()) == 1


def test_the_day_is_the_programmes_local_day(audience, officer, request_in, settings):
    settings.TIME_ZONE = "Europe/Paris"  # UTC+1 in March
    request = request_in("under_review")
    AssistanceRequest.objects.filter(pk=request.pk).update(
        decision_due_at=datetime(2026, 3, 9, 12, tzinfo=UTC)
    )
    # 23:30 UTC on the 10th and 00:30 UTC on the 11th are both the 11th in Paris.
    assert run(datetime(2026, 3, 10, 23, 30, tzinfo=UTC)) == 1
    assert run(datetime(2026, 3, 11, 0, 30, tzinfo=UTC)) == 0
    assert logs() == [(DECISION, "2026-03-11")]
    assert run(datetime(2026, 3, 11, 23, 30, tzinfo=UTC)) == 1


# --- what they read -------------------------------------------------------------------------


def test_the_email_says_which_request_which_target_and_since_when(
    audience, officer, request_in, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in("under_review")
    with django_capture_on_commit_callbacks(execute=True):
        run(late_for_decision(request))
    statuses = Notification.objects.filter(event=DECISION).values_list("email_status", flat=True)
    assert set(statuses) == {DeliveryStatus.SENT}
    due = formats.date_format(timezone.localtime(request.decision_due_at), "DATETIME_FORMAT")
    url = f"{settings.SITE_URL}{request.get_absolute_url()}"
    for username in ("staff", "lead"):
        message = email_to(mailoutbox, username)
        assert message.subject == f"Overdue: decision on request {request.reference}"
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html"
        for body in (message.body, html):
            assert request.reference in body
            assert request.title in body
            assert str(request.organisation) in body
            assert due in body
            assert "was due a decision" in body
            assert url in body
    assert "You are its case officer." in email_to(mailoutbox, "staff").body
    assert (
        f"as the team lead of {officer.display_name}, its case officer"
        in email_to(mailoutbox, "lead").body
    )


def test_the_email_about_a_first_response_asks_staff_to_take_it(
    audience, request_in, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in("submitted")
    with django_capture_on_commit_callbacks(execute=True):
        run(late_for_first_response(request))
    message = email_to(mailoutbox, "colleague")
    assert message.subject == f"Overdue: first response to request {request.reference}"
    due = formats.date_format(timezone.localtime(request.first_response_due_at), "DATETIME_FORMAT")
    assert f"was due a first response by {due}" in message.body
    assert "Nobody has taken this request yet" in message.body
    assert f"{settings.SITE_URL}{request.get_absolute_url()}" in message.alternatives[0][0]


# --- the scheduled job --------------------------------------------------------------------


def test_the_job_loads_the_people_with_the_requests(audience, officer, request_in):
    """However many requests are late, the users are read once (with the requests), plus
    the programme staff once when some request has no case officer."""
    late = [request_in("under_review") for _ in range(3)] + [
        request_in("submitted") for _ in range(2)
    ]
    AssistanceRequest.objects.filter(pk__in=[r.pk for r in late]).update(
        first_response_due_at=timezone.now() - DAY, decision_due_at=timezone.now() - HOUR
    )
    with CaptureQueriesContext(connection) as ctx:
        assert run(timezone.now()) == 5
    user_reads = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "accounts_user"' in q["sql"]
    ]
    assert len(user_reads) == 1, user_reads  # programme_staff(), once
    request_reads = [
        q for q in ctx.captured_queries if 'FROM "requests_app_assistancerequest"' in q["sql"]
    ]
    assert len(request_reads) == 2  # one batch, then the empty one that ends the loop


def test_the_job_reads_in_batches(audience, officer, request_in, monkeypatch):
    monkeypatch.setattr(services, "REMINDER_BATCH", 2)
    late = [request_in("under_review") for _ in range(5)]
    AssistanceRequest.objects.filter(pk__in=[r.pk for r in late]).update(
        decision_due_at=timezone.now() - HOUR
    )
    assert run(timezone.now()) == 5
    assert {log.object_id for log in ReminderLog.objects.all()} == {r.pk for r in late}


def test_the_task_runs_the_job(audience, officer, request_in):
    request = request_in("under_review")
    AssistanceRequest.objects.filter(pk=request.pk).update(decision_due_at=timezone.now() - HOUR)
    assert remind_overdue_requests.delay().get() == 1
    assert told() == ["lead", "staff"]


def test_every_scheduled_task_is_a_registered_celery_task():
    from cbportal.celery import app

    app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "requests_app.tasks.remind_overdue_requests" in names
    assert "experts.tasks.remind_expiring_invitations" in names
    missing = sorted(name for name in names if name not in app.tasks)
    assert missing == []


def test_every_reminder_reason_is_configured():
    for reason in (FIRST, DECISION):
        assert int(settings.REMINDERS[reason]["every_days"]) >= 1
