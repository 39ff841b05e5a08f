"""The request and needs-assessment state machines, fired through the services: a role ×
transition matrix, every wrong state, the guards and the transition log."""

from __future__ import annotations

import pytest

from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.models import Notification
from requests_app import services
from requests_app.models import (
    AssessmentStatus,
    AssistanceRequest,
    NeedsAssessment,
    RequestMessage,
    RequestStatus,
)
from requests_app.workflow import ASSESSMENT_WORKFLOW, REQUEST_WORKFLOW
from tests.factories import UserFactory
from tests.requests_app.conftest import events_for, snapshot

OK = "ok"
TEXT = "Please send the organigramme of the unit."

# DESIGN.md §2, as a table: transition → (states it may start from, target state).
REQUEST_TABLE = {
    "submit": (["draft"], "submitted"),
    "start-review": (["submitted"], "under_review"),
    "request-info": (["submitted", "under_review"], "info_requested"),
    "respond": (["info_requested"], "under_review"),
    "accept": (["under_review"], "accepted"),
    "decline": (["under_review", "info_requested"], "declined"),
    "withdraw": (["draft", "submitted", "under_review", "info_requested"], "withdrawn"),
}
ASSESSMENT_TABLE = {
    "share": (["in_progress"], "shared"),
    "return": (["shared"], "in_progress"),
    "validate": (["shared"], "validated"),
}
# Transitions whose text ends up as the event's comment (the others ignore it).
TAKES_TEXT = {"request-info", "respond", "accept", "decline", "withdraw"}
PARTNER_TRANSITIONS = {"submit", "respond", "withdraw", "return", "validate"}

# The source state the matrix uses (the case officer is ``staff`` once review started).
REQUEST_SOURCE = {
    "submit": "draft",
    "start-review": "submitted",
    "request-info": "under_review",
    "respond": "info_requested",
    "accept": "under_review",
    "decline": "under_review",
    "withdraw": "submitted",
}
ASSESSMENT_SOURCE = {"share": "in_progress", "return": "shared", "validate": "shared"}

NF, FB, NA = NotFound, TransitionForbidden, TransitionNotAllowed
# persona → expected outcome; approvers are staff but not the case officer (guard → 409).
REQUEST_MATRIX = {
    "submit": {"partner": OK, "partner2": NF, "staff": FB, "approver": FB, "expert": NF, "evaluator": NF},
    "start-review": {"partner": FB, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF},
    "request-info": {"partner": FB, "partner2": NF, "staff": OK, "approver": NA, "expert": NF, "evaluator": NF},
    "respond": {"partner": OK, "partner2": NF, "staff": FB, "approver": FB, "expert": NF, "evaluator": NF},
    "accept": {"partner": FB, "partner2": NF, "staff": OK, "approver": NA, "expert": NF, "evaluator": NF},
    "decline": {"partner": FB, "partner2": NF, "staff": OK, "approver": NA, "expert": NF, "evaluator": NF},
    "withdraw": {"partner": OK, "partner2": NF, "staff": FB, "approver": FB, "expert": NF, "evaluator": NF},
}  # fmt: skip
ASSESSMENT_MATRIX = {
    "share": {"partner": FB, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF},
    "return": {"partner": OK, "partner2": NF, "staff": FB, "approver": FB, "expert": NF, "evaluator": NF},
    "validate": {"partner": OK, "partner2": NF, "staff": FB, "approver": FB, "expert": NF, "evaluator": NF},
}  # fmt: skip
STATUS_CODES = {NF: 404, FB: 403, NA: 409}


def _cases(matrix):
    for transition, row in matrix.items():
        for persona, expected in row.items():
            yield pytest.param(transition, persona, expected, id=f"{transition}-{persona}")


def _fire_request(request, name, user, text=TEXT):
    return services.request_transition(request_id=request.pk, name=name, by=user, text=text)


def _fire_assessment(assessment, name, user, text=TEXT):
    return services.assessment_transition(
        assessment_id=assessment.pk, name=name, by=user, text=text
    )


def _assert_refused(excinfo, expected):
    assert type(excinfo.value) is expected
    assert excinfo.value.status_code == STATUS_CODES[expected]


def test_it_has_the_designed_request_table():
    assert {
        name: (sorted(t.sources), t.target) for name, t in REQUEST_WORKFLOW.transitions.items()
    } == {name: (sorted(sources), target) for name, (sources, target) in REQUEST_TABLE.items()}
    assert {n for n, t in REQUEST_WORKFLOW.transitions.items() if t.requires_comment} == {
        "request-info",
        "respond",
        "decline",
    }


def test_it_has_the_designed_assessment_table():
    assert {
        name: (sorted(t.sources), t.target) for name, t in ASSESSMENT_WORKFLOW.transitions.items()
    } == {name: (sorted(sources), target) for name, (sources, target) in ASSESSMENT_TABLE.items()}
    assert {n for n, t in ASSESSMENT_WORKFLOW.transitions.items() if t.requires_comment} == {
        "return"
    }


# --- role × transition matrix ------------------------------------------------------------


@pytest.mark.parametrize(("transition", "persona", "expected"), list(_cases(REQUEST_MATRIX)))
def test_it_applies_the_request_matrix(request_in, personas, transition, persona, expected):
    source = REQUEST_SOURCE[transition]
    request = request_in(source)
    user = personas[persona]
    before, events_before = snapshot(request), events_for(request).count()
    notifications_before = Notification.objects.count()

    if expected == OK:
        _fire_request(request, transition, user)
        request.refresh_from_db()
        target = REQUEST_TABLE[transition][1]
        assert request.status == target
        event = events_for(request).last()
        assert events_for(request).count() == events_before + 1
        assert (event.transition, event.from_state, event.to_state) == (transition, source, target)
        assert event.actor == user
        assert event.actor_name == user.display_name
        assert event.comment == (TEXT if transition in TAKES_TEXT else "")
        return

    with pytest.raises(ApplicationError) as excinfo:
        _fire_request(request, transition, user)
    _assert_refused(excinfo, expected)
    assert snapshot(request) == before
    assert events_for(request).count() == events_before
    assert Notification.objects.count() == notifications_before


@pytest.mark.parametrize(("transition", "persona", "expected"), list(_cases(ASSESSMENT_MATRIX)))
def test_it_applies_the_assessment_matrix(assessment_in, personas, transition, persona, expected):
    source = ASSESSMENT_SOURCE[transition]
    assessment = assessment_in(source)
    user = personas[persona]
    before, events_before = snapshot(assessment), events_for(assessment).count()
    notifications_before = Notification.objects.count()

    if expected == OK:
        _fire_assessment(assessment, transition, user)
        assessment.refresh_from_db()
        target = ASSESSMENT_TABLE[transition][1]
        assert assessment.status == target
        assert events_for(assessment).count() == events_before + 1
        event = events_for(assessment).last()
        assert (event.transition, event.from_state, event.to_state) == (transition, source, target)
        assert (event.actor, event.comment) == (user, TEXT)
        return

    with pytest.raises(ApplicationError) as excinfo:
        _fire_assessment(assessment, transition, user)
    _assert_refused(excinfo, expected)
    assert snapshot(assessment) == before
    assert events_for(assessment).count() == events_before
    assert Notification.objects.count() == notifications_before


def test_it_forbids_staff_to_withdraw_a_draft(request_in, staff):
    request = request_in("draft")
    with pytest.raises(TransitionForbidden):
        _fire_request(request, "withdraw", staff)
    assert AssistanceRequest.objects.get(pk=request.pk).status == "draft"


# --- every transition from every allowed source ------------------------------------------


def _allowed_cases(table):
    for name, (sources, target) in table.items():
        for source in sources:
            yield pytest.param(name, source, target, id=f"{name}-from-{source}")


@pytest.mark.parametrize(("transition", "source", "target"), list(_allowed_cases(REQUEST_TABLE)))
def test_it_fires_each_request_transition_from_each_source(
    request_in, partner, staff, transition, source, target
):
    request = request_in(source)
    actor = partner if transition in PARTNER_TRANSITIONS else staff
    _fire_request(request, transition, actor)
    request.refresh_from_db()
    assert request.status == target
    event = events_for(request).last()
    assert (event.transition, event.from_state, event.to_state, event.actor) == (
        transition,
        source,
        target,
        actor,
    )


# --- every transition from every wrong state ---------------------------------------------


def _wrong_cases(table, states):
    for name, (sources, _target) in table.items():
        for state in states:
            if state not in sources:
                yield pytest.param(name, state, id=f"{name}-from-{state}")


@pytest.mark.parametrize(
    ("transition", "state"), list(_wrong_cases(REQUEST_TABLE, RequestStatus.values))
)
def test_it_refuses_each_request_transition_from_a_wrong_state(
    request_in, partner, staff, transition, state
):
    request = request_in(state)
    actor = partner if transition in PARTNER_TRANSITIONS else staff
    before, events_before = snapshot(request), events_for(request).count()
    notifications_before = Notification.objects.count()
    messages_before = RequestMessage.objects.count()
    assessments_before = NeedsAssessment.objects.count()

    with pytest.raises(TransitionNotAllowed) as excinfo:
        _fire_request(request, transition, actor)

    assert excinfo.value.status_code == 409
    label = str(RequestStatus(state).label).lower()
    assert excinfo.value.message.endswith(f"is not possible: this assistance request is {label}.")
    assert snapshot(request) == before
    assert events_for(request).count() == events_before
    assert Notification.objects.count() == notifications_before
    assert RequestMessage.objects.count() == messages_before
    assert NeedsAssessment.objects.count() == assessments_before


@pytest.mark.parametrize(
    ("transition", "state"), list(_wrong_cases(ASSESSMENT_TABLE, AssessmentStatus.values))
)
def test_it_refuses_each_assessment_transition_from_a_wrong_state(
    assessment_in, partner, staff, transition, state
):
    assessment = assessment_in(state)
    actor = partner if transition in PARTNER_TRANSITIONS else staff
    before, events_before = snapshot(assessment), events_for(assessment).count()
    notifications_before = Notification.objects.count()

    with pytest.raises(TransitionNotAllowed) as excinfo:
        _fire_assessment(assessment, transition, actor)

    label = str(AssessmentStatus(state).label).lower()
    assert excinfo.value.message.endswith(f"this needs assessment is {label}.")
    assert snapshot(assessment) == before
    assert events_for(assessment).count() == events_before
    assert Notification.objects.count() == notifications_before


# --- guards ------------------------------------------------------------------------------


@pytest.mark.parametrize("transition", ["request-info", "accept", "decline"])
def test_it_keeps_the_decision_with_the_case_officer(request_in, staff, transition):
    request = request_in("under_review")
    colleague = UserFactory(username="colleague")
    before, events_before = snapshot(request), events_for(request).count()

    with pytest.raises(TransitionNotAllowed) as excinfo:
        _fire_request(request, transition, colleague)

    assert excinfo.value.message == f"Only the case officer, {staff.display_name}, can do this."
    assert snapshot(request) == before
    assert events_for(request).count() == events_before


def test_it_lets_any_staff_member_ask_before_a_case_officer_is_assigned(request_in, approver):
    request = request_in("submitted")
    _fire_request(request, "request-info", approver)
    request.refresh_from_db()
    assert (request.status, request.case_officer) == ("info_requested", approver)


def test_it_does_not_share_an_assessment_without_gaps(assessment_in, staff):
    assessment = assessment_in("in_progress", gaps=0)
    before = snapshot(assessment)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        _fire_assessment(assessment, "share", staff)
    assert "Add at least one capacity gap" in excinfo.value.message
    assert snapshot(assessment) == before
    assert not events_for(assessment).exists()


@pytest.mark.parametrize("text", ["", "   \n\t "])
@pytest.mark.parametrize(
    ("transition", "source"),
    [
        ("request-info", "under_review"),
        ("request-info", "submitted"),
        ("respond", "info_requested"),
        ("decline", "under_review"),
        ("decline", "info_requested"),
    ],
)
def test_it_requires_a_message_on_request_transitions(
    request_in, partner, staff, transition, source, text
):
    request = request_in(source)
    actor = partner if transition in PARTNER_TRANSITIONS else staff
    before, events_before = snapshot(request), events_for(request).count()
    messages_before = RequestMessage.objects.count()

    with pytest.raises(ApplicationError) as excinfo:
        _fire_request(request, transition, actor, text=text)

    assert type(excinfo.value) is ApplicationError
    assert list(excinfo.value.errors) == ["comment"]
    assert snapshot(request) == before
    assert events_for(request).count() == events_before
    assert RequestMessage.objects.count() == messages_before


@pytest.mark.parametrize("text", ["", "  "])
def test_it_requires_a_comment_to_return_an_assessment(assessment_in, partner, text):
    assessment = assessment_in("shared")
    before, events_before = snapshot(assessment), events_for(assessment).count()
    with pytest.raises(ApplicationError) as excinfo:
        _fire_assessment(assessment, "return", partner, text=text)
    assert excinfo.value.field == "comment"
    assert snapshot(assessment) == before
    assert events_for(assessment).count() == events_before


def test_it_strips_the_comment_it_records(request_in, staff):
    request = request_in("under_review")
    _fire_request(request, "decline", staff, text="  Outside the mandate.  ")
    assert events_for(request).last().comment == "Outside the mandate."
    assert AssistanceRequest.objects.get(pk=request.pk).decision_reason == "Outside the mandate."


def test_it_answers_404_for_an_unknown_transition(request_in, staff):
    request = request_in("submitted")
    with pytest.raises(ApplicationError) as excinfo:
        _fire_request(request, "approve", staff)
    assert excinfo.value.status_code == 404


def test_it_lists_the_allowed_transitions_per_persona(request_in, assessment_in, personas):
    under_review = request_in("under_review")
    assert REQUEST_WORKFLOW.allowed(under_review, personas["staff"]) == [
        "request-info",
        "accept",
        "decline",
    ]
    assert REQUEST_WORKFLOW.allowed(under_review, personas["approver"]) == []
    assert REQUEST_WORKFLOW.allowed(under_review, personas["partner"]) == ["withdraw"]
    shared = assessment_in("shared")
    assert ASSESSMENT_WORKFLOW.allowed(shared, personas["partner"]) == ["return", "validate"]
    assert ASSESSMENT_WORKFLOW.allowed(shared, personas["staff"]) == []


def test_it_records_the_whole_timeline_of_a_case(request_in, partner, staff):
    request = request_in("draft")
    pk = request.pk
    services.request_submit(request_id=pk, by=partner)
    services.request_start_review(request_id=pk, by=staff)
    services.request_request_info(request_id=pk, by=staff, message="Which units?")
    services.request_respond(request_id=pk, by=partner, message="The registration unit.")
    services.request_accept(request_id=pk, by=staff, comment="A clear need.")
    rows = [
        (e.transition, e.from_state, e.to_state, e.actor_id, e.comment) for e in events_for(request)
    ]
    assert rows == [
        ("submit", "draft", "submitted", partner.pk, ""),
        ("start-review", "submitted", "under_review", staff.pk, ""),
        ("request-info", "under_review", "info_requested", staff.pk, "Which units?"),
        ("respond", "info_requested", "under_review", partner.pk, "The registration unit."),
        ("accept", "under_review", "accepted", staff.pk, "A clear need."),
    ]
