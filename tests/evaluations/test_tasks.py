"""The reminder jobs of monitoring and evaluation: services.measurements_remind_due (the
evaluators of running actions hear about indicators that are due; nothing for indicators not
yet due or actions that are not running) and the Celery tasks
evaluations.tasks.remind_measurements_due and remind_evaluations_due, scheduled by beat.
Cadence, recipients and emails of both reminders are in test_reminders.py. Time is
controlled with ``today=``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from actions import services as action_services
from actions.models import Action
from cbportal.core.models import Notification, ReminderLog
from evaluations import services, tasks
from evaluations.models import Indicator, add_months
from tests.actions.builders import REASON
from tests.evaluations.builders import make_indicator, measure, running_action
from tests.factories import UserFactory

TODAY = timezone.localdate


def fresh(obj: Any) -> Any:
    return type(obj).objects.get(pk=obj.pk)


def remind(today: Any) -> int:
    return services.measurements_remind_due(today=today)


def log_days(indicator: Any) -> list[Any]:
    """The days a measurement reminder went out about ``indicator``."""
    return list(
        ReminderLog.objects.filter(reason="measurement_due", object_id=indicator.pk)
        .order_by("day")
        .values_list("day", flat=True)
    )


def reminded(indicator: Any = None) -> list[tuple[str, str]]:
    """(recipient, due date) of every measurement_due notification (of ``indicator``)."""
    qs = Notification.objects.filter(event="measurement_due")
    if indicator is not None:
        qs = qs.filter(object_id=indicator.pk)
    return sorted(qs.values_list("recipient__username", "context__due"))


def test_the_evaluators_are_reminded_once_a_day_while_the_indicator_is_due(
    action, staff, evaluator, evaluator2
):
    action_services.action_update(
        action_id=action.pk, by=staff, data={"evaluators": [evaluator, evaluator2]}
    )
    indicator = make_indicator(action, evaluator)  # quarterly
    due = indicator.next_due()
    assert due == add_months(action.start_date, 3)

    assert remind(due - timedelta(days=1)) == 0
    assert reminded() == []
    assert remind(due) == 1
    assert reminded() == [("evaluator", due.isoformat()), ("evaluator2", due.isoformat())]
    assert log_days(indicator) == [due]
    # Run again the same day, and on the following days (7-day cadence): nothing new.
    assert remind(due) == 0
    assert remind(due + timedelta(days=3)) == 0
    assert len(reminded()) == 2


def test_the_reminder_names_the_action_and_links_to_the_indicator(action, evaluator):
    indicator = make_indicator(action, evaluator)
    remind(indicator.next_due())
    notification = Notification.objects.get(event="measurement_due")
    assert notification.context == {
        "due": indicator.next_due().isoformat(),
        "action_reference": action.reference,
    }
    assert notification.target == indicator
    assert notification.url == indicator.get_absolute_url()


def test_a_new_measurement_moves_the_next_reminder(action, evaluator):
    indicator = make_indicator(action, evaluator, frequency="monthly")
    first_due = indicator.next_due()
    assert remind(first_due) == 1
    measure(indicator, evaluator, "30", days_ago=10)
    indicator = fresh(indicator)
    next_due = add_months(indicator.latest_date, 1)
    assert indicator.next_due() == next_due
    assert remind(next_due - timedelta(days=1)) == 0
    assert remind(next_due) == 1
    assert remind(next_due) == 0
    assert [due for _who, due in reminded(indicator)] == [
        first_due.isoformat(),
        next_due.isoformat(),
    ]


def test_only_indicators_that_are_due_are_reminded(action, evaluator):
    monthly = make_indicator(action, evaluator, name="Monthly", frequency="monthly")
    quarterly = make_indicator(action, evaluator, name="Quarterly", frequency="quarterly")
    at_the_end = make_indicator(action, evaluator, name="At the end", frequency="end_only")
    day = monthly.next_due()
    assert remind(day) == 1
    assert [n.object_id for n in Notification.objects.filter(event="measurement_due")] == [
        monthly.pk
    ]
    # Never measured, the monthly indicator is still due (and reminded again) when the
    # quarterly one falls due; the end-only one is not due before the end.
    assert remind(quarterly.next_due()) == 2
    assert log_days(quarterly) == [quarterly.next_due()]
    assert log_days(at_the_end) == []
    assert remind(action.end_date) == 3
    assert log_days(at_the_end) == [action.end_date]
    assert log_days(monthly) == [day, quarterly.next_due(), action.end_date]


def test_an_indicator_measured_at_the_end_is_never_reminded_again(action, evaluator):
    indicator = make_indicator(action, evaluator, frequency="end_only")
    Indicator.objects.filter(pk=indicator.pk).update(latest_date=action.end_date)
    assert remind(action.end_date + timedelta(days=30)) == 0


@pytest.mark.parametrize("state", ["design", "approved", "suspended"])
def test_nothing_for_actions_that_are_not_running(partner, staff, approver, evaluator, state):
    action = running_action(partner, staff, approver, evaluator=evaluator, state=state)
    make_indicator(action, staff)
    assert remind(action.end_date) == 0
    assert reminded() == []


def test_a_completed_action_is_still_reminded(partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator, state="completed")
    indicator = make_indicator(action, staff)
    assert remind(indicator.next_due()) == 1
    assert reminded() == [("evaluator", indicator.next_due().isoformat())]


def test_nothing_once_suspended_closed_or_cancelled(partner, staff, approver, evaluator):
    from tests.evaluations.builders import submitted_evaluation

    running = running_action(partner, staff, approver, evaluator=evaluator)
    first = make_indicator(running, evaluator)
    action_services.action_transition(action_id=running.pk, name="suspend", by=staff, text=REASON)
    assert remind(running.end_date) == 0
    action_services.action_transition(action_id=running.pk, name="resume", by=staff, text=REASON)
    submitted_evaluation(fresh(running), evaluator, staff=staff, approver=approver, partner=partner)
    action_services.action_transition(action_id=running.pk, name="close", by=staff, text="")
    assert remind(running.end_date) == 0
    assert log_days(first) == []
    cancelled = running_action(partner, staff, approver, evaluator=evaluator, state="approved")
    make_indicator(cancelled, evaluator)
    action_services.action_transition(action_id=cancelled.pk, name="cancel", by=staff, text=REASON)
    assert remind(cancelled.end_date) == 0
    assert reminded() == []


def test_only_the_actions_own_evaluators_hear(action, partner, staff, approver, evaluator):
    other_evaluator = UserFactory(username="evaluator3", evaluator=True)
    other = running_action(partner, staff, approver, evaluator=other_evaluator, title="Other")
    mine = make_indicator(action, evaluator)
    theirs = make_indicator(other, other_evaluator)
    assert remind(max(mine.next_due(), theirs.next_due())) == 2
    assert reminded(mine) == [("evaluator", mine.next_due().isoformat())]
    assert reminded(theirs) == [(other_evaluator.username, theirs.next_due().isoformat())]
    assert not Notification.objects.filter(
        event="measurement_due", recipient__in=[staff, partner]
    ).exists()


def test_the_email_goes_out_once_even_when_the_job_runs_twice(
    action, evaluator, django_capture_on_commit_callbacks, mailoutbox
):
    indicator = make_indicator(action, evaluator)
    with django_capture_on_commit_callbacks(execute=True):
        remind(indicator.next_due())
        remind(indicator.next_due())
    (email,) = mailoutbox
    assert email.to == [evaluator.email]
    assert indicator.name in email.subject


# --- the Celery task ----------------------------------------------------------------------------


def test_the_task_reminds_what_is_due_today_once(action, evaluator):
    indicator = make_indicator(action, evaluator)
    # Move the action back so that the first quarterly measurement was due a month ago.
    start = TODAY() - timedelta(days=120)
    Action.objects.filter(pk=action.pk).update(start_date=start)
    due = add_months(start, 3)
    assert due < TODAY()
    assert tasks.remind_measurements_due.delay().get() == 1
    assert tasks.remind_measurements_due.delay().get() == 0
    assert log_days(indicator) == [TODAY()]
    assert reminded() == [("evaluator", due.isoformat())]


def test_the_task_does_nothing_before_anything_is_due(action, evaluator):
    make_indicator(action, evaluator, frequency="end_only")  # due in 90 days
    assert tasks.remind_measurements_due.delay().get() == 0
    assert reminded() == []


def test_the_evaluation_task_reminds_the_evaluators_of_a_completed_action_once(
    partner, staff, approver, evaluator
):
    action = running_action(partner, staff, approver, evaluator=evaluator, state="completed")
    assert tasks.remind_evaluations_due.delay().get() == 1
    assert tasks.remind_evaluations_due.delay().get() == 0
    (notification,) = Notification.objects.filter(event="evaluation_due")
    assert (notification.recipient, notification.object_id) == (evaluator, action.pk)
    assert ReminderLog.objects.filter(reason="evaluation_due").count() == 1


def test_the_evaluation_task_does_nothing_while_the_action_runs(action, evaluator):
    assert tasks.remind_evaluations_due.delay().get() == 0
    assert not Notification.objects.filter(event="evaluation_due").exists()


@pytest.mark.parametrize(
    ("entry", "task"),
    [
        ("reminders-measurements", tasks.remind_measurements_due),
        ("reminders-final-evaluations", tasks.remind_evaluations_due),
    ],
)
def test_the_tasks_are_scheduled_by_beat(entry, task):
    schedule = settings.CELERY_BEAT_SCHEDULE[entry]
    assert schedule["task"] == task.name
    assert schedule["task"].startswith("evaluations.tasks.remind_")
