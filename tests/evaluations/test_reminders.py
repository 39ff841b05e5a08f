"""Reminders of monitoring and evaluation on top of cbportal.core.reminders.remind:
``measurement_due`` (services.measurements_remind_due) and ``evaluation_due``
(services.evaluations_remind_due) — who hears and who does not, what the email says, and that
each fires at most once a day however often the job runs, then again only when the
``settings.REMINDERS`` cadence has passed. Time is controlled with ``today=``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from actions import services as action_services
from actions.models import Action
from cbportal.core.models import Notification, NotificationCategory, ReminderLog
from evaluations import services
from evaluations.models import Indicator, add_months
from tests.actions.builders import REASON
from tests.evaluations.builders import (
    cancelled_action,
    closed_action,
    complete_evaluation,
    engaged_expert,
    make_indicator,
    measure,
    running_action,
    submitted_evaluation,
)
from tests.factories import UserFactory

TODAY = timezone.localdate


def remind_measurements(today: date) -> int:
    return services.measurements_remind_due(today=today)


def remind_evaluations(today: date) -> int:
    return services.evaluations_remind_due(today=today)


def every(settings: Any, reason: str, days: int) -> None:
    settings.REMINDERS = {**settings.REMINDERS, reason: {"every_days": days}}


def logs(reason: str, obj: Any) -> list[tuple[str, date]]:
    """(occurrence, day) of each reminder ``reason`` sent about ``obj``, oldest first."""
    return list(
        ReminderLog.objects.filter(
            reason=reason,
            content_type=ContentType.objects.get_for_model(obj),
            object_id=obj.pk,
        )
        .order_by("day")
        .values_list("occurrence", "day")
    )


def notified(event: str, obj: Any = None) -> list[str]:
    """The recipients' usernames of every ``event`` notification (about ``obj``), sorted;
    a name appears once per notification."""
    qs = Notification.objects.filter(event=event)
    if obj is not None:
        qs = qs.filter(object_id=obj.pk)
    return sorted(qs.values_list("recipient__username", flat=True))


def assign(action: Action, staff: Any, *evaluators: Any) -> Action:
    action_services.action_update(
        action_id=action.pk, by=staff, data={"evaluators": list(evaluators)}
    )
    return Action.objects.get(pk=action.pk)


def completed_action(partner: Any, staff: Any, approver: Any, *evaluators: Any, **kw: Any) -> Any:
    """A completed action with ``evaluators`` assigned, completed ``days_ago`` (default 10)
    days ago."""
    days_ago = kw.pop("days_ago", 10)
    action = running_action(partner, staff, approver, state="completed", **kw)
    if evaluators:
        action = assign(action, staff, *evaluators)
    Action.objects.filter(pk=action.pk).update(
        completed_at=timezone.now() - timedelta(days=days_ago)
    )
    return Action.objects.get(pk=action.pk)


def due_date(action: Action, settings: Any) -> date:
    assert action.completed_at is not None
    completed = timezone.localdate(action.completed_at)
    return completed + timedelta(days=settings.FINAL_EVALUATION_DUE_DAYS)


# --- measurement_due: when --------------------------------------------------------------------


@pytest.mark.parametrize("cadence", [7, 3])
def test_a_due_measurement_is_reminded_once_a_day_then_every_cadence_days(
    settings, action, staff, evaluator, evaluator2, cadence
):
    every(settings, "measurement_due", cadence)
    assign(action, staff, evaluator, evaluator2)
    indicator = make_indicator(action, evaluator)  # quarterly, never measured
    due = indicator.next_due()
    occurrence = due.isoformat()

    assert remind_measurements(due - timedelta(days=1)) == 0
    assert logs("measurement_due", indicator) == []
    # Twice the same day: one reminder, one notification per evaluator.
    assert remind_measurements(due) == 1
    assert remind_measurements(due) == 0
    assert logs("measurement_due", indicator) == [(occurrence, due)]
    assert notified("measurement_due") == ["evaluator", "evaluator2"]
    # The following days, until the cadence has passed: nothing.
    for n in range(1, cadence):
        assert remind_measurements(due + timedelta(days=n)) == 0
    assert notified("measurement_due") == ["evaluator", "evaluator2"]
    # Still due (never measured): reminded again, once.
    again = due + timedelta(days=cadence)
    assert remind_measurements(again) == 1
    assert remind_measurements(again) == 0
    assert logs("measurement_due", indicator) == [(occurrence, due), (occurrence, again)]
    assert notified("measurement_due") == ["evaluator", "evaluator", "evaluator2", "evaluator2"]
    assert ReminderLog.objects.get(day=again).recipients == 2


def test_with_cadence_zero_a_due_date_is_reminded_once(settings, action, evaluator):
    every(settings, "measurement_due", 0)
    indicator = make_indicator(action, evaluator, frequency="monthly")
    first_due = indicator.next_due()
    assert remind_measurements(first_due) == 1
    for n in (1, 7, 30):
        assert remind_measurements(first_due + timedelta(days=n)) == 0
    measure(indicator, evaluator, "30", days_ago=10)
    next_due = Indicator.objects.get(pk=indicator.pk).next_due()
    assert next_due == add_months(TODAY() - timedelta(days=10), 1)
    assert remind_measurements(next_due) == 1
    assert remind_measurements(next_due + timedelta(days=30)) == 0
    assert logs("measurement_due", indicator) == [
        (first_due.isoformat(), first_due),
        (next_due.isoformat(), next_due),
    ]


def test_a_new_due_date_is_reminded_when_it_arrives_whatever_the_cadence(action, evaluator):
    indicator = make_indicator(action, evaluator, frequency="monthly")
    old_due = indicator.next_due()  # never measured: due since the first month
    assert remind_measurements(TODAY() - timedelta(days=2)) == 1
    measure(indicator, evaluator, "30", days_ago=28)
    new_due = Indicator.objects.get(pk=indicator.pk).next_due()
    assert TODAY() <= new_due <= TODAY() + timedelta(days=3)  # within the 7-day cadence
    assert remind_measurements(new_due - timedelta(days=1)) == 0
    assert remind_measurements(new_due) == 1
    assert logs("measurement_due", indicator) == [
        (old_due.isoformat(), TODAY() - timedelta(days=2)),
        (new_due.isoformat(), new_due),
    ]


# --- measurement_due: who ---------------------------------------------------------------------


def test_only_the_assigned_active_evaluators_hear_about_a_measurement(
    action, staff, partner, evaluator, evaluator2
):
    gone = UserFactory(username="gone", evaluator=True)
    assign(action, staff, evaluator, gone)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    indicator = make_indicator(action, evaluator)
    assert remind_measurements(indicator.next_due()) == 1
    assert notified("measurement_due") == ["evaluator"]  # not evaluator2, gone, staff, partner
    assert ReminderLog.objects.get().recipients == 1


def test_nothing_is_logged_for_an_action_without_evaluators(partner, staff, approver):
    action = running_action(partner, staff, approver)
    indicator = make_indicator(action, staff)
    assert remind_measurements(indicator.next_due()) == 0
    assert ReminderLog.objects.count() == 0
    assert Notification.objects.filter(event="measurement_due").count() == 0


def test_not_yet_due_indicators_and_stopped_actions_are_not_reminded(
    partner, staff, approver, evaluator
):
    running = running_action(partner, staff, approver, evaluator=evaluator)
    not_yet = make_indicator(running, evaluator, frequency="end_only")  # due at the end
    closed = closed_action(partner, staff, approver, evaluator=evaluator)
    on_closed = Indicator.objects.create(
        action=closed,
        name="Closed one",
        level="organisational",
        unit="number",
        baseline=0,
        target=5,
        created_by=staff,
    )
    cancelled = cancelled_action(partner, staff, approver, evaluator=evaluator)
    Indicator.objects.create(
        action=cancelled,
        name="Cancelled one",
        level="organisational",
        unit="number",
        baseline=0,
        target=5,
        created_by=staff,
    )
    assert on_closed.next_due() is not None  # due, but the action is closed
    assert remind_measurements(running.end_date - timedelta(days=1)) == 0
    assert remind_measurements(running.end_date) == 1
    assert [n.object_id for n in Notification.objects.filter(event="measurement_due")] == [
        not_yet.pk
    ]


def test_measurement_due_is_a_reminder_with_its_context_and_link(action, evaluator):
    indicator = make_indicator(action, evaluator)
    remind_measurements(indicator.next_due())
    notification = Notification.objects.get(event="measurement_due")
    assert notification.category == NotificationCategory.REMINDERS
    assert notification.context == {
        "due": indicator.next_due().isoformat(),
        "action_reference": action.reference,
    }
    assert notification.target == indicator
    assert notification.url == indicator.get_absolute_url()


def test_the_measurement_email(
    settings, action, evaluator, django_capture_on_commit_callbacks, mailoutbox
):
    indicator = make_indicator(action, evaluator, name="Border posts using the SOPs")
    due = indicator.next_due()
    with django_capture_on_commit_callbacks(execute=True):
        remind_measurements(due + timedelta(days=2))
        remind_measurements(due + timedelta(days=2))
    (email,) = mailoutbox
    assert email.to == [evaluator.email]
    assert email.subject == "Measurement due: Border posts using the SOPs"
    with translation.override("en"):
        shown = date_format(due, "DATE_FORMAT")
    link = f"{settings.SITE_URL}{indicator.get_absolute_url()}"
    assert f"of action {action.reference} is due a new measurement." in email.body
    assert f"It was due on {shown}." in email.body
    assert link in email.body
    html = email.alternatives[0][0]
    assert f"It was due on {shown}." in html
    assert f'href="{link}"' in html


def test_measurement_reminders_cost_no_query_per_indicator_not_due(action, evaluator):
    def queries(today: date) -> int:
        with CaptureQueriesContext(connection) as ctx:
            remind_measurements(today)
        return len(ctx.captured_queries)

    first = make_indicator(action, evaluator, frequency="end_only")
    day = first.next_due() - timedelta(days=1)
    few = queries(day)
    for n in range(5):
        make_indicator(action, evaluator, name=f"Later {n}", frequency="end_only")
    assert queries(day) == few
    # Due and already reminded today: one look at the reminder log each, nothing more.
    assert remind_measurements(action.end_date) == 6
    assert queries(action.end_date) == few + 6


# --- evaluation_due: when ---------------------------------------------------------------------


@pytest.mark.parametrize("cadence", [7, 2])
def test_a_due_evaluation_is_reminded_once_a_day_then_every_cadence_days(
    settings, partner, staff, approver, evaluator, evaluator2, cadence
):
    every(settings, "evaluation_due", cadence)
    action = completed_action(partner, staff, approver, evaluator, evaluator2)
    today = TODAY()
    assert remind_evaluations(today) == 1
    assert remind_evaluations(today) == 0
    assert logs("evaluation_due", action) == [("", today)]
    assert notified("evaluation_due") == ["evaluator", "evaluator2"]
    for n in range(1, cadence):
        assert remind_evaluations(today + timedelta(days=n)) == 0
    assert notified("evaluation_due") == ["evaluator", "evaluator2"]
    again = today + timedelta(days=cadence)
    assert remind_evaluations(again) == 1
    assert remind_evaluations(again) == 0
    assert logs("evaluation_due", action) == [("", today), ("", again)]
    assert notified("evaluation_due") == ["evaluator", "evaluator", "evaluator2", "evaluator2"]


def test_no_more_evaluation_reminders_once_it_is_submitted(partner, staff, approver, evaluator):
    action = completed_action(partner, staff, approver, evaluator)
    complete_evaluation(action, evaluator)  # a draft does not stop the reminders
    assert remind_evaluations(TODAY()) == 1
    evaluation = action.evaluation
    services.evaluation_submit(evaluation_id=evaluation.pk, by=evaluator)
    assert remind_evaluations(TODAY() + timedelta(days=30)) == 0
    assert notified("evaluation_due") == ["evaluator"]


def test_the_due_date_and_whether_it_passed(settings, partner, staff, approver, evaluator):
    settings.FINAL_EVALUATION_DUE_DAYS = 30
    action = completed_action(partner, staff, approver, evaluator, days_ago=10)
    due = due_date(action, settings)
    assert due == TODAY() + timedelta(days=20)
    remind_evaluations(due)  # the due date itself: not yet overdue
    remind_evaluations(due + timedelta(days=7))
    contexts = list(
        Notification.objects.filter(event="evaluation_due")
        .order_by("pk")
        .values_list("context", flat=True)
    )
    expected = {"action_reference": action.reference, "due": due.isoformat()}
    assert contexts == [{**expected, "overdue": False}, {**expected, "overdue": True}]


# --- evaluation_due: who ----------------------------------------------------------------------


@pytest.mark.parametrize("state", ["design", "approved", "in_implementation", "suspended"])
def test_no_evaluation_reminder_before_the_action_is_completed(
    partner, staff, approver, evaluator, state
):
    running_action(partner, staff, approver, evaluator=evaluator, state=state)
    assert remind_evaluations(TODAY() + timedelta(days=400)) == 0
    assert notified("evaluation_due") == []


def test_no_evaluation_reminder_for_submitted_closed_or_cancelled_actions(
    partner, staff, approver, evaluator
):
    submitted = running_action(partner, staff, approver, evaluator=evaluator)
    submitted_evaluation(submitted, evaluator, staff=staff, approver=approver, partner=partner)
    assert Action.objects.get(pk=submitted.pk).status == "completed"
    closed_action(partner, staff, approver, evaluator=evaluator)
    cancelled_action(partner, staff, approver, evaluator=evaluator)
    assert remind_evaluations(TODAY() + timedelta(days=90)) == 0
    # Completing an action gave its first notice; the reminder wrote nothing more.
    assert not ReminderLog.objects.filter(day=TODAY() + timedelta(days=90)).exists()


def test_only_the_actions_assigned_active_evaluators_hear(
    partner, staff, approver, evaluator, evaluator2
):
    gone = UserFactory(username="gone", evaluator=True)
    action = completed_action(partner, staff, approver, evaluator, gone)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    other_evaluator = UserFactory(username="evaluator3", evaluator=True)
    other = completed_action(partner, staff, approver, other_evaluator, title="Other")
    completed_action(partner, staff, approver, title="Nobody assigned")
    assert remind_evaluations(TODAY()) == 2
    assert notified("evaluation_due", action) == ["evaluator"]
    assert notified("evaluation_due", other) == ["evaluator3"]
    # evaluator2 (assigned to nothing), staff, the partner: nothing.
    assert not Notification.objects.filter(
        event="evaluation_due", recipient__in=[evaluator2, staff, partner, gone]
    ).exists()


def test_an_evaluator_with_a_conflict_of_interest_is_left_out(
    partner, staff, approver, evaluator, evaluator2
):
    action = running_action(partner, staff, approver)
    action = assign(action, staff, evaluator, evaluator2)
    # evaluator2 was deployed on the action as an expert after being assigned.
    engaged_expert(action, staff, "accepted", user=evaluator2)
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    # Completing the action is the first notice; the day's reminder adds nothing.
    assert notified("evaluation_due") == ["evaluator"]
    assert ReminderLog.objects.get().recipients == 1
    assert remind_evaluations(TODAY()) == 0
    assert remind_evaluations(TODAY() + timedelta(days=7)) == 1
    assert notified("evaluation_due") == ["evaluator", "evaluator"]


def test_nothing_is_logged_when_every_evaluator_has_a_conflict(partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator)
    engaged_expert(action, staff, "confirmed", user=evaluator)
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    assert remind_evaluations(TODAY()) == 0
    assert ReminderLog.objects.count() == 0


def test_completing_an_action_tells_its_evaluators_at_once(
    partner, staff, approver, evaluator, evaluator2
):
    """The evaluators act next: they hear when staff complete the action, in the same
    transaction, through the same reminder log as the daily reminder (one email that day)."""
    action = running_action(partner, staff, approver)
    action = assign(action, staff, evaluator, evaluator2)
    assert notified("evaluation_due") == []
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    assert notified("evaluation_due", action) == ["evaluator", "evaluator2"]
    assert logs("evaluation_due", action) == [("", TODAY())]
    assert remind_evaluations(TODAY()) == 0
    assert notified("evaluation_due", action) == ["evaluator", "evaluator2"]


def test_a_resumed_then_completed_action_is_reminded(partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator)
    action_services.action_transition(action_id=action.pk, name="suspend", by=staff, text=REASON)
    assert remind_evaluations(TODAY()) == 0
    action_services.action_transition(action_id=action.pk, name="resume", by=staff, text=REASON)
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    assert notified("evaluation_due") == ["evaluator"]
    assert remind_evaluations(TODAY()) == 0


# --- evaluation_due: what ---------------------------------------------------------------------


def test_evaluation_due_is_a_reminder_linking_to_the_evaluation_page(
    partner, staff, approver, evaluator
):
    action = completed_action(partner, staff, approver, evaluator)
    remind_evaluations(TODAY())
    notification = Notification.objects.get(event="evaluation_due")
    assert notification.category == NotificationCategory.REMINDERS
    assert notification.target == action
    assert notification.url == reverse("evaluations:evaluation", args=[action.pk])
    assert notification.subject == f"Final evaluation due — {action.reference}"


@pytest.mark.parametrize("overdue", [False, True])
def test_the_evaluation_email(
    settings,
    partner,
    staff,
    approver,
    evaluator,
    overdue,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    action = completed_action(
        partner, staff, approver, evaluator, title="Border <SOPs> & training", days_ago=10
    )
    due = due_date(action, settings)
    today = due + timedelta(days=1) if overdue else TODAY()
    with django_capture_on_commit_callbacks(execute=True):
        remind_evaluations(today)
        remind_evaluations(today)
    (email,) = mailoutbox
    assert email.to == [evaluator.email]
    word = "overdue" if overdue else "due"
    assert email.subject == f"Final evaluation {word} — {action.reference}"
    with translation.override("en"):
        shown = date_format(due, "DATE_FORMAT")
    sentence = f"It was due on {shown}." if overdue else f"It is due by {shown}."
    link = f"{settings.SITE_URL}/evaluations/actions/{action.pk}/evaluation/"
    assert link == f"{settings.SITE_URL}{reverse('evaluations:evaluation', args=[action.pk])}"
    body = email.body
    assert f"Action {action.reference} “Border <SOPs> & training” is completed" in body
    assert sentence in body
    assert "OECD-DAC" in body
    assert link in body
    html = email.alternatives[0][0]
    assert "Border &lt;SOPs&gt; &amp; training" in html
    assert "<SOPs>" not in html
    assert sentence in html
    assert f'href="{link}"' in html


def test_evaluation_reminders_check_conflicts_only_when_they_send(
    partner, staff, approver, evaluator, evaluator2
):
    """Already reminded today: one look at the reminder log per action, no conflict
    checks; the evaluators come in one prefetch whatever the number of actions."""
    first = completed_action(partner, staff, approver, evaluator, evaluator2)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            remind_evaluations(TODAY())
        return len(ctx.captured_queries)

    remind_evaluations(TODAY())
    one = queries()
    for n in range(2):
        completed_action(partner, staff, approver, evaluator, evaluator2, title=f"Other {n}")
    assert remind_evaluations(TODAY()) == 2
    assert queries() == one + 2
    assert logs("evaluation_due", first) == [("", TODAY())]
