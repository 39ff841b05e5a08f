"""The demo monitoring and evaluation (evaluations/demo.py through ``seed_demo``):
indicators with measurement histories in every progress state, outcomes at each level,
feedback, participant counts, submitted evaluations, a closed action with a follow-up
request, a year of requests for the dashboard — and nothing new on a second run (issue 6
"Demo data")."""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from actions.models import Action, ActionStatus, Activity, ActivityStatus
from actions.workflow import ACTION_WORKFLOW
from cbportal.accounts.models import User
from cbportal.core.models import Notification, TransitionEvent
from evaluations import demo, progress
from evaluations.models import (
    EvaluationStatus,
    Feedback,
    FeedbackLink,
    FinalEvaluation,
    Indicator,
    Measurement,
    Outcome,
    Recommendation,
)
from evaluations.workflow import evaluation_problems
from experts.models import Deployment
from requests_app.models import AssistanceRequest, RequestStatus
from requests_app.sla import due_dates

MONITORED = ("approved", "in_implementation", "completed", "closed")


@pytest.fixture
def seeded(db: Any) -> None:
    call_command("seed_demo", "--quiet")


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def demo_actions() -> list[Action]:
    return list(Action.objects.filter(title__in=[m.action for m in demo.MONITORING]).order_by("id"))


def test_each_monitored_demo_action_has_indicators_at_every_level_and_unit(seeded: None) -> None:
    actions = demo_actions()
    assert {a.status for a in actions} == set(MONITORED)
    today = timezone.localdate()
    for action in actions:
        indicators = list(action.indicators.all())
        assert 2 <= len(indicators) <= 4, action.title
        assert len({i.level for i in indicators}) >= 2, action.title
        assert all(i.objective is not None for i in indicators)
        measurements = Measurement.objects.filter(indicator__action=action)
        if action.start_date > today:
            # The period has not begun: indicators defined, nothing measured yet.
            assert not measurements.exists(), action.title
        else:
            assert measurements.count() >= 3, action.title
        for m in measurements:
            assert action.start_date <= m.date <= min(action.end_date, today), action.title
            assert m.recorded_at <= timezone.now()
    indicators = Indicator.objects.filter(action__in=actions)
    assert set(indicators.values_list("unit", flat=True)) == {
        "number",
        "percentage",
        "yes_no",
        "scale",
    }
    assert set(indicators.values_list("level", flat=True)) == {
        "individual",
        "organisational",
        "enabling_environment",
    }
    assert indicators.filter(direction="decrease").exists()


def test_measurement_histories_give_every_progress_state(seeded: None) -> None:
    statuses = Counter(Indicator.objects.values_list("progress_status", flat=True))
    for state in ("on_track", "at_risk", "off_track", "achieved", "not_measured"):
        assert statuses[state] >= 1, state
    # What is stored is what the progress rules give for the latest measurement.
    for indicator in Indicator.objects.select_related("action").exclude(
        progress_status="not_measured"
    ):
        latest = indicator.measurements.order_by("-date", "-id").first()
        assert latest is not None
        assessed = progress.assess(
            baseline=indicator.baseline,
            target=indicator.target,
            value=latest.value,
            measured_on=latest.date,
            start=indicator.action.start_date,
            end=indicator.action.end_date,
        )
        assert (indicator.progress_status, indicator.latest_date) == (assessed.status, latest.date)
    # Histories, not single readings.
    histories = Counter(Measurement.objects.values_list("indicator_id", flat=True))
    assert sum(1 for n in histories.values() if n >= 3) >= 3


def test_outcomes_feedback_and_participation(seeded: None) -> None:
    actions = demo_actions()
    outcomes = Outcome.objects.filter(action__in=actions)
    assert set(outcomes.values_list("level", flat=True)) == {
        "individual",
        "organisational",
        "enabling_environment",
    }
    for outcome in outcomes.select_related("action"):
        assert outcome.action.start_date <= outcome.date <= timezone.localdate()
        assert outcome.description and outcome.evidence

    links = FeedbackLink.objects.filter(activity__action__in=actions)
    used, unused = links.filter(used_at__isnull=False), links.filter(used_at__isnull=True)
    assert used.count() >= 10 and unused.count() >= 3
    for link in used:
        assert Feedback.objects.filter(link=link, respondent=link.respondent).count() == 1
    feedback = Feedback.objects.filter(activity__action__in=actions)
    assert set(feedback.values_list("respondent", flat=True)) == {"participant", "partner"}
    assert feedback.filter(respondent="partner", submitted_by__username="partner").exists()
    assert feedback.filter(respondent="partner", submitted_by__username="partner2").exists()
    assert len(set(feedback.values_list("satisfaction", flat=True))) >= 3
    assert all(f.submitted_at <= timezone.now() for f in feedback)

    done = Activity.objects.filter(action__in=actions, status=ActivityStatus.DONE)
    assert done.count() >= 4
    for activity in done:
        counted = activity.participants_women + activity.participants_men
        assert counted > 0, activity.title
        assert counted + activity.participants_other <= activity.expected_participants
        assert activity.end_date < timezone.localdate()
        assert activity.action.status in ("in_implementation", "completed", "closed")
    # The sex-disaggregated counts differ from one activity to the next (recorded, not
    # the plan's defaults).
    assert len({(a.participants_women, a.participants_men) for a in done}) == done.count()


def test_completed_and_closed_actions_carry_submitted_evaluations_and_one_can_be_closed(
    seeded: None,
) -> None:
    staff = User.objects.get(username="staff")
    evaluator = User.objects.get(username="evaluator")
    completed = Action.objects.get(title=demo.REFERRAL)
    closed = Action.objects.get(title=demo.CLOSED)
    assert (completed.status, closed.status) == (ActionStatus.COMPLETED, ActionStatus.CLOSED)
    for action in (completed, closed):
        evaluation = FinalEvaluation.objects.get(action=action)
        assert evaluation.status == EvaluationStatus.SUBMITTED
        assert evaluation.submitted_by == evaluator
        assert evaluation_problems(evaluation) == []
        assert len(evaluation.findings) > 100 and len(evaluation.lessons) > 80
        assert evaluation.recommendations.count() == 3
        assert len({r for _n, _l, r, _j in evaluation.ratings()}) >= 3
        assert TransitionEvent.objects.filter(
            content_type__model="finalevaluation", object_id=evaluation.pk, transition="submit"
        ).exists()
    # Staff may close the completed one now that its evaluation is submitted.
    assert "close" in ACTION_WORKFLOW.allowed(completed, staff)
    assert closed.closed_at is not None
    assert closed.closed_at > closed.evaluation.submitted_at  # type: ignore[operator]
    assert closed.end_date < timezone.localdate() - dt.timedelta(days=30)
    assert (
        Deployment.objects.filter(
            need__activity__action=closed, status="completed", rating__isnull=False
        ).count()
        >= 2
    )
    # The running action's evaluation is a draft.
    running = Action.objects.get(title=demo.BORDER)
    assert running.evaluation.status == EvaluationStatus.DRAFT

    # A recommendation became the partner's draft follow-up request (the loop closes).
    followed = Recommendation.objects.get(follow_up_request__isnull=False)
    request = followed.follow_up_request
    assert request is not None and followed.evaluation.action == closed
    assert request.status == RequestStatus.DRAFT
    assert request.organisation == closed.organisation
    assert closed.reference in request.problem_statement
    assert Recommendation.objects.filter(follow_up_request__isnull=False).count() == 1


def test_requests_span_the_last_twelve_months_with_consistent_timelines(seeded: None) -> None:
    now = timezone.now()
    submitted = AssistanceRequest.objects.filter(submitted_at__isnull=False)
    assert all(now - dt.timedelta(days=366) <= r.submitted_at <= now for r in submitted)
    # Requests were submitted in (at least) 11 of the last 12 calendar months — all 12
    # unless today is the first days of a month — and decided over most of them.
    this_month = now.year * 12 + now.month - 1
    months = {r.submitted_at.year * 12 + r.submitted_at.month - 1 for r in submitted}
    assert len(months & set(range(this_month - 11, this_month + 1))) >= 11
    decided = submitted.filter(status__in=["accepted", "declined"])
    assert len({(r.decided_at.year, r.decided_at.month) for r in decided}) >= 9
    for r in submitted:
        assert (r.first_response_due_at, r.decision_due_at) == due_dates(r.submitted_at)
        assert r.created_at <= r.submitted_at
        if r.first_response_at:
            assert r.submitted_at <= r.first_response_at
        if r.decided_at:
            assert r.first_response_at is not None
            assert r.first_response_at <= r.decided_at <= now
    # Service levels met and missed, so that the dashboard's medians mean something.
    missed = [r for r in decided if r.decided_at > r.decision_due_at]
    met = [r for r in decided if r.decided_at <= r.decision_due_at]
    assert missed and met
    # Open requests keep their ages (the triage queue shows every service level).
    for r in submitted.filter(status__in=["submitted", "under_review", "info_requested"]):
        assert r.submitted_at >= now - dt.timedelta(days=30)

    # Every timeline still reads in the order things happened, and nothing is in the future.
    events: dict[tuple[int, int], list[TransitionEvent]] = defaultdict(list)
    for event in TransitionEvent.objects.order_by("id"):
        events[(event.content_type_id, event.object_id)].append(event)
        assert event.created_at <= now
    for timeline in events.values():
        times = [e.created_at for e in timeline]
        assert times == sorted(times), [(e.transition, e.created_at) for e in timeline]
    for action in Action.objects.select_related("request", "assessment"):
        assert action.request.decided_at is not None
        assert action.request.decided_at <= action.created_at <= now
        if action.started_at is not None and action.start_date <= timezone.localdate():
            assert action.started_at.date() <= action.start_date


def test_the_evaluator_and_the_partner_see_it_on_their_pages(seeded: None, client: Any) -> None:
    closed = Action.objects.get(title=demo.CLOSED)
    client.force_login(User.objects.get(username="evaluator"))
    page = client.get(reverse("evaluations:action", args=[closed.pk]))
    assert page.status_code == 200
    body = text(page)
    for indicator in closed.indicators.all():
        assert indicator.name in body
    assert "joint circular" in body

    client.force_login(User.objects.get(username="partner2"))
    page = client.get(reverse("evaluations:evaluation", args=[closed.pk]))
    assert page.status_code == 200
    assert "study visit to a peer inspectorate convinced" in text(page)


def test_a_second_run_creates_nothing(seeded: None) -> None:
    models = (
        Action,
        AssistanceRequest,
        Indicator,
        Measurement,
        Outcome,
        FeedbackLink,
        Feedback,
        FinalEvaluation,
        Recommendation,
        Deployment,
        TransitionEvent,
        Notification,
        User,
    )
    before = {m.__name__: m.objects.count() for m in models}
    times = sorted(AssistanceRequest.objects.values_list("pk", "submitted_at", "decided_at"))
    call_command("seed_demo", "--quiet")
    assert {m.__name__: m.objects.count() for m in models} == before
    assert sorted(AssistanceRequest.objects.values_list("pk", "submitted_at", "decided_at")) == (
        times
    )
