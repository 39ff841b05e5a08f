"""Working-day service levels for triage (requests_app/sla.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from types import SimpleNamespace

import pytest
from django.utils import timezone

from requests_app.models import AssistanceRequest
from requests_app.sla import (
    SlaState,
    add_working_days,
    decision_sla,
    due_dates,
    first_response_sla,
    is_working_day,
    pending_sla_filter,
    triage_sla,
    working_days_between,
)

# March 2026: Friday 6, Saturday 7, Sunday 8, Monday 9, Tuesday 10, Wednesday 11.


def at(day, hour=10, minute=0):
    """An aware datetime on ``day`` of March 2026, in the current time zone."""
    return timezone.make_aware(datetime(2026, 3, day, hour, minute))


@pytest.fixture(autouse=True)
def _sla_settings(settings):
    settings.SLA_FIRST_RESPONSE_WORKING_DAYS = 2
    settings.SLA_DECISION_WORKING_DAYS = 10
    settings.SLA_DUE_SOON_HOURS = 24
    settings.SLA_HOLIDAYS = []


# --- working days ------------------------------------------------------------------------


def test_it_knows_working_days(settings):
    assert is_working_day(at(6).date())
    assert not is_working_day(at(7).date())
    assert not is_working_day(at(8).date())
    settings.SLA_HOLIDAYS = ["2026-03-09"]
    assert not is_working_day(at(9).date())


def test_it_adds_working_days_within_a_week():
    assert add_working_days(at(9, 14, 30), 2) == at(11, 14, 30)
    assert add_working_days(at(9), 0) == at(9)


def test_it_skips_the_weekend():
    assert add_working_days(at(6, 10), 2) == at(10, 10)  # Friday → Tuesday
    assert add_working_days(at(6, 10), 1) == at(9, 10)  # Friday → Monday
    assert add_working_days(at(6, 10), 10) == at(20, 10)  # two whole weeks


@pytest.mark.parametrize("weekend", [at(7, 10), at(7, 23, 59), at(8, 0, 1)])
def test_it_counts_a_weekend_submission_from_monday_midnight(weekend):
    assert add_working_days(weekend, 1) == at(10, 0)
    assert add_working_days(weekend, 2) == at(11, 0)


def test_it_skips_holidays(settings):
    settings.SLA_HOLIDAYS = ["2026-03-09"]
    assert add_working_days(at(6, 10), 2) == at(11, 10)  # Friday → (Monday off) → Wednesday
    assert add_working_days(at(9, 10), 1) == at(11, 0)  # a holiday counts like a Sunday


def test_it_counts_in_the_local_time_zone(settings):
    settings.TIME_ZONE = "Europe/Brussels"
    # Friday 23:30 UTC is already Saturday in Brussels: the clock starts on Monday.
    friday_late_utc = datetime(2026, 3, 6, 23, 30, tzinfo=UTC)
    due = add_working_days(friday_late_utc, 2)
    assert timezone.localtime(due).replace(tzinfo=None) == datetime(2026, 3, 11, 0, 0)


def test_it_counts_working_days_between():
    assert working_days_between(at(9), at(9, 18)) == 0
    assert working_days_between(at(9), at(13)) == 4  # Monday → Friday
    assert working_days_between(at(6), at(9)) == 1  # Friday → Monday
    assert working_days_between(at(7), at(9)) == 1  # Saturday → Monday
    assert working_days_between(at(6), at(8)) == 0  # Friday → Sunday
    assert working_days_between(at(13), at(9)) == 0  # backwards


def test_it_leaves_holidays_out_of_working_days_between(settings):
    settings.SLA_HOLIDAYS = ["2026-03-10"]
    assert working_days_between(at(9), at(13)) == 3


def test_it_computes_both_due_dates(settings):
    assert due_dates(at(6, 10)) == (at(10, 10), at(20, 10))
    settings.SLA_FIRST_RESPONSE_WORKING_DAYS = 1
    settings.SLA_DECISION_WORKING_DAYS = 3
    assert due_dates(at(6, 10)) == (at(9, 10), at(11, 10))


# --- states ------------------------------------------------------------------------------


def fake(**fields):
    values = {
        "status": "submitted",
        "submitted_at": at(6, 10),
        "first_response_due_at": at(10, 10),
        "first_response_at": None,
        "decision_due_at": at(20, 10),
        "decided_at": None,
    }
    values.update(fields)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (at(9, 9), SlaState.ON_TIME),
        (at(9, 10), SlaState.ON_TIME),  # exactly 24 h before: not yet due soon
        (at(9, 10, 1), SlaState.DUE_SOON),
        (at(10, 10), SlaState.DUE_SOON),  # exactly on the target
        (at(10, 10, 1), SlaState.OVERDUE),
    ],
)
def test_it_assesses_a_pending_first_response(now, state):
    result = first_response_sla(fake(), now=now)
    assert (result.state, result.due) == (state, at(10, 10))
    assert result.is_late == (state == SlaState.OVERDUE)


def test_it_honours_the_due_soon_window(settings):
    settings.SLA_DUE_SOON_HOURS = 48
    assert first_response_sla(fake(), now=at(8, 11)).state == SlaState.DUE_SOON


@pytest.mark.parametrize(
    ("done", "state"),
    [(at(9, 8), SlaState.MET), (at(10, 10), SlaState.MET), (at(10, 10, 1), SlaState.MISSED)],
)
def test_it_assesses_a_first_response_that_happened(done, state):
    result = first_response_sla(fake(first_response_at=done), now=at(30))
    assert result.state == state
    assert result.is_late == (state == SlaState.MISSED)


def test_it_has_no_first_response_target_before_submission():
    draft = fake(status="draft", submitted_at=None, first_response_due_at=None)
    assert first_response_sla(draft, now=at(9)) is None
    assert decision_sla(fake(decision_due_at=None), now=at(9)) is None
    assert triage_sla(draft, now=at(9)) is None


@pytest.mark.parametrize(
    ("fields", "now", "state"),
    [
        ({}, at(18), SlaState.ON_TIME),
        ({}, at(19, 12), SlaState.DUE_SOON),
        ({}, at(23), SlaState.OVERDUE),
        ({"decided_at": at(20, 10)}, at(30), SlaState.MET),
        ({"decided_at": at(20, 11)}, at(30), SlaState.MISSED),
    ],
)
def test_it_assesses_the_decision(fields, now, state):
    request = fake(status="under_review", first_response_at=at(9), **fields)
    assert decision_sla(request, now=now).state == state


def test_it_has_no_decision_target_once_withdrawn():
    assert decision_sla(fake(status="withdrawn", first_response_at=at(9)), now=at(30)) is None


def test_it_shows_the_first_response_target_until_it_is_met():
    waiting = fake()
    assert triage_sla(waiting, now=at(11)).state == SlaState.OVERDUE
    assert triage_sla(waiting, now=at(11)).due == at(10, 10)
    answered = fake(status="under_review", first_response_at=at(11))
    result = triage_sla(answered, now=at(12))
    assert (result.state, result.due) == (SlaState.ON_TIME, at(20, 10))


def test_it_labels_the_states():
    assert first_response_sla(fake(), now=at(11)).label == "Overdue"
    assert first_response_sla(fake(), now=at(9, 11)).label == "Due soon"


def test_it_has_no_triage_target_once_withdrawn():
    withdrawn = fake(status="withdrawn")
    assert triage_sla(withdrawn, now=at(30)) is None


# --- pending_sla_filter ------------------------------------------------------------------

NOW = (2026, 3, 10, 12, 0)


@pytest.fixture
def now():
    return timezone.make_aware(datetime(*NOW))


@pytest.fixture
def make_request(partner):
    numbers = count(1)

    def make(name, status, **fields):
        return AssistanceRequest.objects.create(
            organisation=partner.organisation,
            created_by=partner,
            country=partner.organisation.country,
            title=name,
            status=status,
            reference=None if status == "draft" else f"REQ-2026-{next(numbers):04d}",
            **fields,
        )

    return make


@pytest.fixture
def triage_set(make_request, now, staff):
    """Requests with explicit targets around ``now`` (due soon = within 24 h)."""
    h = timedelta(hours=1)
    long_ago = now - 300 * h

    def waiting(name, first_due, status="submitted"):
        return make_request(
            name,
            status,
            submitted_at=long_ago,
            first_response_due_at=first_due,
            decision_due_at=now + 200 * h,
        )

    def answered(name, decision_due, status="under_review", **fields):
        return make_request(
            name,
            status,
            submitted_at=long_ago,
            first_response_at=long_ago + h,
            case_officer=staff,
            first_response_due_at=long_ago + 48 * h,
            decision_due_at=decision_due,
            **fields,
        )

    return {
        "first-overdue": waiting("first-overdue", now - h),
        "first-due-now": waiting("first-due-now", now),
        "first-due-soon": waiting("first-due-soon", now + 23 * h),
        "first-on-time-edge": waiting("first-on-time-edge", now + 24 * h),
        "first-on-time": waiting("first-on-time", now + 72 * h),
        "decision-overdue": answered("decision-overdue", now - 24 * h),
        "decision-due-soon": answered("decision-due-soon", now + 2 * h, "info_requested"),
        "decision-on-time": answered("decision-on-time", now + 120 * h),
        "accepted-late": answered("accepted-late", now - 48 * h, "accepted", decided_at=now - h),
        "declined": answered("declined", now + 48 * h, "declined", decided_at=now - h),
        "draft": make_request("draft", "draft"),
    }


EXPECTED = {
    SlaState.OVERDUE: {"first-overdue", "decision-overdue"},
    SlaState.DUE_SOON: {"first-due-now", "first-due-soon", "decision-due-soon"},
    SlaState.ON_TIME: {"first-on-time-edge", "first-on-time", "decision-on-time"},
}


@pytest.mark.parametrize("state", list(EXPECTED))
def test_it_filters_pending_requests_by_sla_state(triage_set, now, state):
    found = AssistanceRequest.objects.filter(pending_sla_filter(state, now=now))
    assert {r.title for r in found} == EXPECTED[state]


def test_it_agrees_with_triage_sla(triage_set, now):
    for request in triage_set.values():
        current = triage_sla(request, now=now)
        expected = current.state if current else None
        matching = [
            state
            for state in EXPECTED
            if AssistanceRequest.objects.filter(pending_sla_filter(state, now=now))
            .filter(pk=request.pk)
            .exists()
        ]
        if expected in EXPECTED:
            assert matching == [expected], request.title
        else:
            assert matching == [], request.title


def test_it_refuses_an_unknown_sla_state(now):
    with pytest.raises(ValueError, match="unknown SLA state"):
        pending_sla_filter("met", now=now)


def test_it_leaves_withdrawn_requests_out_of_the_pending_ones(make_request, now, staff):
    make_request(
        "withdrawn-before-response",
        "withdrawn",
        submitted_at=now - timedelta(days=10),
        first_response_due_at=now - timedelta(days=8),
        decision_due_at=now + timedelta(days=1),
    )
    make_request(
        "withdrawn-under-review",
        "withdrawn",
        submitted_at=now - timedelta(days=10),
        first_response_at=now - timedelta(days=9),
        case_officer=staff,
        first_response_due_at=now - timedelta(days=8),
        decision_due_at=now - timedelta(days=1),
    )
    for state in EXPECTED:
        assert not AssistanceRequest.objects.filter(pending_sla_filter(state, now=now)).exists()
