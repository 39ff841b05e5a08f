"""Reminders of the roster (issue 7): invitations about to expire and mission reports
overdue — who hears, what they read, and that each reminder goes out once per day (and no
more often than its cadence) however often the daily job runs. Time is controlled by
passing ``now=`` to the jobs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import formats, timezone

from cbportal.core.models import DeliveryStatus, Notification, ReminderLog
from experts import services
from experts.models import Deployment
from experts.tasks import remind_expiring_invitations, remind_mission_reports
from tests.experts.builders import approved_action, deployment_in, first_need, make_expert
from tests.factories import UserFactory

EXPIRING = "invitation_expiring"
REPORT = "mission_report_due"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _reminder_settings(settings):
    settings.DEPLOYMENT_INVITATION_DAYS = 7
    settings.INVITATION_EXPIRY_REMINDER_DAYS = 2
    settings.MISSION_REPORT_DUE_DAYS = 2
    settings.REMINDERS = {
        **settings.REMINDERS,
        EXPIRING: {"every_days": 0},
        REPORT: {"every_days": 7},
    }


@pytest.fixture
def audience(personas, expert2):
    """Everyone who could wrongly be told: the personas and a second expert."""
    return {**personas, "expert2": expert2}


@pytest.fixture
def invited(need, expert_profile, staff):
    return deployment_in("invited", need, expert_profile, staff=staff)


def told(event: str) -> list[str]:
    rows = Notification.objects.filter(event=event)
    return sorted(rows.values_list("recipient__username", flat=True))


def logs(reason: str) -> list[tuple[int, str, str]]:
    rows = ReminderLog.objects.filter(reason=reason)
    return sorted((r.object_id, r.occurrence, r.day.isoformat()) for r in rows)


def fresh(deployment: Deployment) -> Deployment:
    return Deployment.objects.get(pk=deployment.pk)


def expiry(deployment: Deployment) -> datetime:
    assert deployment.expires_at is not None
    return deployment.expires_at


def expiring(now: datetime) -> int:
    return services.invitations_remind_expiring(now=now)


def reports(now: datetime) -> int:
    return services.mission_reports_remind(now=now)


# --- invitations about to expire ------------------------------------------------------------


def test_the_expert_is_reminded_of_an_invitation_about_to_expire(audience, invited):
    expires = expiry(invited)
    assert expiring(expires - DAY) == 1
    assert told(EXPIRING) == ["expert"]
    notification = Notification.objects.get(event=EXPIRING)
    assert (notification.target, notification.url) == (invited, invited.get_absolute_url())
    assert notification.category == "reminders"
    assert logs(EXPIRING) == [
        (
            invited.pk,
            timezone.localdate(expires).isoformat(),
            timezone.localdate(expires - DAY).isoformat(),
        )
    ]


def test_the_reminder_window_is_the_configured_number_of_days(audience, invited, settings):
    expires = expiry(invited)
    assert expiring(expires - 2 * DAY - HOUR) == 0  # not yet within two days
    assert expiring(expires - 2 * DAY + HOUR) == 1
    settings.INVITATION_EXPIRY_REMINDER_DAYS = 5
    other = deployment_in(
        "invited",
        first_need(approved_action(audience["partner"], audience["staff"], audience["approver"])),
        make_expert(audience["expert2"], name="Jan Novak"),
        staff=audience["staff"],
    )
    assert expiring(expiry(other) - 5 * DAY + HOUR) == 1
    assert told(EXPIRING) == ["expert", "expert2"]


def test_an_invitation_past_its_expiry_is_not_reminded(audience, invited):
    # Not expired by the expiry job yet, but its time is up: nothing to answer any more.
    assert expiring(expiry(invited) + timedelta(minutes=1)) == 0
    assert told(EXPIRING) == []


@pytest.mark.parametrize("state", ["shortlisted", "accepted", "declined", "expired", "confirmed"])
def test_only_invitations_waiting_for_an_answer_are_reminded(
    audience, need, expert_profile, staff, state
):
    deployment = deployment_in(state, need, expert_profile, staff=staff)
    moment = timezone.now() + timedelta(days=settings.DEPLOYMENT_INVITATION_DAYS) - HOUR
    if deployment.expires_at is not None:
        moment = min(moment, expiry(deployment) - HOUR)
    assert expiring(moment) == 0
    assert told(EXPIRING) == []
    assert logs(EXPIRING) == []


def test_an_expert_without_an_active_account_is_not_reminded(audience, invited, expert):
    expert.is_active = False
    expert.save(update_fields=["is_active"])
    assert expiring(expiry(invited) - DAY) == 0
    assert Notification.objects.filter(event=EXPIRING).count() == 0


def test_an_invitation_is_reminded_once_per_expiry_date(audience, invited):
    expires = expiry(invited)
    assert expiring(expires - 2 * DAY + HOUR) == 1
    assert expiring(expires - 2 * DAY + 2 * HOUR) == 0  # same day
    assert expiring(expires - DAY) == 0  # next day, same expiry date
    assert expiring(expires - HOUR) == 0
    assert len(logs(EXPIRING)) == 1
    assert told(EXPIRING) == ["expert"]


def test_an_extended_invitation_is_reminded_again(audience, invited):
    expires = expiry(invited)
    assert expiring(expires - DAY) == 1
    later = expires + 3 * DAY
    Deployment.objects.filter(pk=invited.pk).update(expires_at=later)
    assert expiring(expires - DAY + HOUR) == 0  # no longer expiring within two days
    assert expiring(later - DAY) == 1
    assert expiring(later - DAY + HOUR) == 0
    assert [occurrence for _pk, occurrence, _day in logs(EXPIRING)] == sorted(
        [timezone.localdate(expires).isoformat(), timezone.localdate(later).isoformat()]
    )
    assert told(EXPIRING) == ["expert", "expert"]


def test_the_expiring_email_carries_a_working_answer_link(
    audience, invited, expert, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        expiring(expiry(invited) - DAY)
    assert Notification.objects.get(event=EXPIRING).email_status == DeliveryStatus.SENT
    (email,) = [m for m in mailoutbox if "expires soon" in m.subject]
    assert email.to == ["expert@example.org"]
    action = invited.need.activity.action
    assert email.subject == f"Your invitation to a mission expires soon — {action.reference}"
    when = formats.date_format(timezone.localtime(invited.expires_at), "DATETIME_FORMAT")
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    for body in (email.body, html):
        assert invited.need.activity.title in body
        assert action.reference in body
        assert f"The invitation expires on {when}" in body
        assert f"{settings.SITE_URL}{invited.get_absolute_url()}" in body
    match = re.search(
        re.escape(settings.SITE_URL) + r"/experts/invitations/answer/([^/\s]+)/", email.body
    )
    assert match, email.body
    assert match.group(1) in html
    deployment, nonce = services.deployment_from_token(match.group(1), expert)
    assert (deployment.pk, nonce) == (invited.pk, fresh(invited).invitation_nonce)
    # The link is made at delivery and never stored.
    notification = Notification.objects.get(event=EXPIRING)
    assert match.group(1) not in str(notification.context)
    assert match.group(1) not in notification.subject


def test_the_link_is_left_out_once_the_invitation_is_answered(
    audience, invited, expert, django_capture_on_commit_callbacks, mailoutbox
):
    expiring(expiry(invited) - DAY)  # recorded; its email is sent after the answer
    services.deployment_decline(deployment_id=invited.pk, by=expert, reason="Busy.")
    notification = Notification.objects.get(event=EXPIRING)
    from cbportal.core.notifications import build_email

    email = build_email(notification)
    assert "/experts/invitations/answer/" not in email.body
    assert f"{settings.SITE_URL}{invited.get_absolute_url()}" in email.body


def test_the_invitation_task_runs_the_job(audience, invited):
    Deployment.objects.filter(pk=invited.pk).update(expires_at=timezone.now() + HOUR)
    assert remind_expiring_invitations.delay().get() == 1
    assert told(EXPIRING) == ["expert"]


def test_the_invitation_job_reads_in_batches(
    audience, staff, partner, approver, expert, expert_profile, monkeypatch
):
    monkeypatch.setattr(services, "REMINDER_BATCH", 2)
    experts = [expert_profile] + [make_expert(name=f"Expert {n}", by=staff) for n in range(4)]
    need = first_need(approved_action(partner, staff, approver))
    invitations = [deployment_in("invited", need, e, staff=staff) for e in experts]
    assert expiring(max(expiry(d) for d in invitations) - HOUR) == 5
    assert {pk for pk, _o, _d in logs(EXPIRING)} == {d.pk for d in invitations}


# --- mission reports overdue ----------------------------------------------------------------


@pytest.fixture
def mission(need, expert_profile, staff):
    """A confirmed mission of the ``expert`` persona that ended ten days ago."""
    deployment = deployment_in("confirmed", need, expert_profile, staff=staff)
    end = timezone.localdate() - timedelta(days=10)
    Deployment.objects.filter(pk=deployment.pk).update(
        start_date=end - timedelta(days=2), end_date=end
    )
    return fresh(deployment)


def day_after_end(mission: Deployment, days: int) -> datetime:
    """Noon, ``days`` days after the mission's last day (local time)."""
    assert mission.end_date is not None
    return timezone.make_aware(
        datetime.combine(mission.end_date + timedelta(days=days), datetime.min.time())
    ) + timedelta(hours=12)


def test_the_expert_is_reminded_once_the_report_is_due(audience, mission):
    assert reports(day_after_end(mission, 1)) == 0  # due two days after the end
    assert reports(day_after_end(mission, 2)) == 1
    assert told(REPORT) == ["expert"]
    notification = Notification.objects.get(event=REPORT)
    assert (notification.target, notification.url) == (mission, mission.get_absolute_url())
    assert notification.category == "reminders"


def test_the_report_reminder_repeats_every_seven_days_once_a_day(audience, mission):
    due = day_after_end(mission, 2)
    sent = [reports(due + n * DAY) for n in range(15)]
    assert sent == [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    # Running again the same day changes nothing.
    assert reports(due + 14 * DAY + HOUR) == 0
    days = [day for _pk, _occurrence, day in logs(REPORT)]
    assert days == [timezone.localdate(due + n * DAY).isoformat() for n in (0, 7, 14)]
    assert told(REPORT) == ["expert"] * 3


def test_a_daily_cadence_reminds_every_day_once(audience, mission, settings):
    settings.REMINDERS = {**settings.REMINDERS, REPORT: {"every_days": 1}}
    due = day_after_end(mission, 2)
    assert [reports(due + n * DAY) for n in range(3)] == [1, 1, 1]
    assert [reports(due + n * DAY + HOUR) for n in range(3)] == [0, 0, 0]
    assert told(REPORT) == ["expert"] * 3


def test_cadence_zero_reminds_once_only(audience, mission, settings):
    settings.REMINDERS = {**settings.REMINDERS, REPORT: {"every_days": 0}}
    due = day_after_end(mission, 2)
    assert [reports(due + n * DAY) for n in range(30)] == [1] + [0] * 29


def test_the_reminders_stop_once_the_report_is_filed(audience, mission, expert):
    due = day_after_end(mission, 2)
    assert reports(due) == 1
    services.deployment_report_submit(
        deployment_id=mission.pk,
        by=expert,
        summary="Trained 15 analysts.",
        outputs="A handbook.",
        recommendations="Repeat next year.",
        days_worked=2,
    )
    assert reports(due + 7 * DAY) == 0
    assert len(logs(REPORT)) == 1


@pytest.mark.parametrize("state", ["reported", "completed", "cancelled"])
def test_missions_with_a_report_or_cancelled_are_not_reminded(
    audience, need, expert_profile, staff, state
):
    deployment = deployment_in(state, need, expert_profile, staff=staff)
    Deployment.objects.filter(pk=deployment.pk).update(
        start_date=timezone.localdate() - timedelta(days=30),
        end_date=timezone.localdate() - timedelta(days=29),
    )
    assert reports(timezone.now()) == 0
    assert reports(timezone.now() + 30 * DAY) == 0
    assert told(REPORT) == []


def test_the_report_email_names_the_mission(
    audience, mission, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        reports(day_after_end(mission, 2))
    (email,) = [m for m in mailoutbox if "report is due" in m.subject]
    assert email.to == ["expert@example.org"]
    action = mission.need.activity.action
    assert email.subject == f"Your mission report is due — {action.reference}"
    end = formats.date_format(mission.end_date, "DATE_FORMAT")
    html, _mimetype = email.alternatives[0]
    for body in (email.body, html):
        assert mission.need.activity.title in body
        assert f"ended on {end}" in body
        assert f"{settings.SITE_URL}{mission.get_absolute_url()}" in body


def test_the_report_task_runs_the_job(audience, mission):
    assert remind_mission_reports.delay().get() == 1
    assert told(REPORT) == ["expert"]


def test_another_experts_mission_reminds_that_expert_only(audience, mission, staff):
    other_user = UserFactory(username="expert3", expert=True)
    other = deployment_in(
        "confirmed",
        first_need(approved_action(audience["partner"], staff, audience["approver"])),
        make_expert(other_user, name="Ana Ruiz", by=staff),
        staff=staff,
    )
    Deployment.objects.filter(pk=other.pk).update(
        start_date=mission.start_date, end_date=mission.end_date
    )
    assert reports(day_after_end(mission, 2)) == 2
    assert told(REPORT) == ["expert", "expert3"]
