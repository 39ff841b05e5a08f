"""cbportal.core.reminders.remind: at most once per object, reason and day, with a cadence.

The apps' reminder jobs are tested in their own packages; these tests pin the guarantee they
all rely on, with time passed in explicitly."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from cbportal.core.models import Notification, ReminderLog
from cbportal.core.reminders import every_days, remind
from tests.factories import UserFactory
from tests.requests_app.helpers import make_request

DAY = date(2026, 12, 1)
REASON = "request_first_response_overdue"


@pytest.fixture
def request_obj(partner):
    return make_request("submitted", partner)


def send(obj, people, day, **kwargs):
    kwargs.setdefault("event", "request_received")  # any registered event renders
    return remind(REASON, obj, people, today=day, **kwargs)


def reminders(obj):
    return Notification.objects.filter(object_id=obj.pk, idempotency_key__contains=f":{REASON}:")


def test_a_second_run_the_same_day_sends_nothing(request_obj, staff, approver, settings):
    settings.REMINDERS = {REASON: {"every_days": 1}}
    assert send(request_obj, [staff, approver], DAY) is True
    assert send(request_obj, [staff, approver], DAY) is False
    assert reminders(request_obj).count() == 2  # one per recipient
    log = ReminderLog.objects.get()
    assert (log.reason, log.object_id, log.day, log.recipients) == (
        REASON,
        request_obj.pk,
        DAY,
        2,
    )


def test_it_repeats_after_its_cadence(request_obj, staff, settings):
    settings.REMINDERS = {REASON: {"every_days": 3}}
    sent_on = [d for d in range(8) if send(request_obj, [staff], DAY + timedelta(days=d))]
    assert sent_on == [0, 3, 6]
    assert reminders(request_obj).count() == 3


def test_once_per_occurrence_when_the_cadence_is_zero(request_obj, staff, settings):
    settings.REMINDERS = {REASON: {"every_days": 0}}
    assert send(request_obj, [staff], DAY, occurrence="2026-12-03")
    assert not send(request_obj, [staff], DAY + timedelta(days=1), occurrence="2026-12-03")
    # A new occurrence (the invitation was extended, a new due date) is reminded again.
    assert send(request_obj, [staff], DAY + timedelta(days=1), occurrence="2026-12-10")
    assert reminders(request_obj).count() == 2


def test_the_database_refuses_a_second_reminder_the_same_day(request_obj, staff, settings):
    """Two runs racing past the cadence check: the unique constraint stops the second."""
    settings.REMINDERS = {REASON: {"every_days": 1}}
    ReminderLog.objects.create(
        reason=REASON,
        content_type=ContentType.objects.get_for_model(request_obj),
        object_id=request_obj.pk,
        occurrence="another run's occurrence",  # the cadence check does not see it
        day=DAY,
    )
    assert send(request_obj, [staff], DAY) is False
    assert reminders(request_obj).count() == 0


def test_nobody_to_tell_sends_and_records_nothing(request_obj, settings):
    settings.REMINDERS = {REASON: {"every_days": 1}}
    gone = UserFactory(is_active=False)
    assert send(request_obj, [gone, None], DAY) is False
    assert not ReminderLog.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_run_leaves_nothing_so_the_next_run_sends_it(partner, staff, settings):
    settings.REMINDERS = {REASON: {"every_days": 1}}
    request_obj = make_request("submitted", partner)
    with pytest.raises(RuntimeError), transaction.atomic():
        send(request_obj, [staff], DAY)
        raise RuntimeError("the job crashed")
    assert not ReminderLog.objects.exists()
    assert send(request_obj, [staff], DAY) is True


def test_an_unconfigured_reason_is_a_programming_error(settings):
    settings.REMINDERS = {}
    with pytest.raises(LookupError):
        every_days(REASON)
