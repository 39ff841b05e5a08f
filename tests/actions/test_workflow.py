"""The action and amendment state machines, fired through the services: the role ×
transition matrices, every wrong state, the guards (four eyes, co-signature, complete plan,
final evaluation, amendment in progress), the transition log and concurrent approvals."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from django.db import connection

from actions import plan, services
from actions.models import Action, ActionStatus, Activity, Amendment, AmendmentStatus
from actions.workflow import ACTION_WORKFLOW, AMENDMENT_WORKFLOW
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.models import Notification, TransitionEvent
from tests.actions.builders import (
    advance,
    events_for,
    make_amendment,
    move_first_activity,
)
from tests.factories import UserFactory

OK = "ok"
NF, FB, NA = NotFound, TransitionForbidden, TransitionNotAllowed
STATUS_CODES = {NF: 404, FB: 403, NA: 409}
TEXT = "Agreed with the ministry on 3 March."

# DESIGN.md §2 and the issue, as a table: transition → (sources, target).
ACTION_TABLE = {
    "propose": (["design"], "proposed"),
    "return": (["proposed"], "design"),
    "approve": (["proposed"], "approved"),
    "sign": (["approved"], "approved"),
    "start": (["approved"], "in_implementation"),
    "complete": (["in_implementation"], "completed"),
    "close": (["completed"], "closed"),
    "suspend": (["approved", "in_implementation"], "suspended"),
    "resume": (["suspended"], "in_implementation"),
    "cancel": (["design", "proposed", "approved", "in_implementation", "suspended"], "cancelled"),
}
AMENDMENT_TABLE = {
    "propose": (["draft"], "proposed"),
    "approve": (["proposed"], "approved"),
    "reject": (["proposed"], "rejected"),
    "sign": (["approved"], "applied"),
    "decline": (["approved"], "rejected"),
    "discard": (["draft", "proposed"], "rejected"),
}

# The state (tests/actions/builders.py PATHS) each transition of the matrix starts from:
# ``staff`` drafted and proposed, ``approver`` approved, ``partner`` co-signed.
ACTION_SOURCE = {
    "propose": "design",
    "return": "proposed",
    "approve": "proposed",
    "sign": "approved",
    "start": "signed",
    "complete": "in_implementation",
    "close": "completed",
    "suspend": "in_implementation",
    "resume": "suspended",
    "cancel": "approved",
}

# persona → outcome. Partners see their actions only once approved (design and proposed
# answer 404); the evaluator sees only actions assigned to them.
ACTION_MATRIX = {
    "propose":  {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "return":   {"partner": NF, "partner2": NF, "staff": FB, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "approve":  {"partner": NF, "partner2": NF, "staff": FB, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "sign":     {"partner": OK, "partner2": NF, "staff": FB, "approver": FB, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "start":    {"partner": FB, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "complete": {"partner": FB, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "close":    {"partner": FB, "partner2": NF, "staff": NA, "approver": NA, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "suspend":  {"partner": FB, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "resume":   {"partner": FB, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "cancel":   {"partner": FB, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
}  # fmt: skip

AMENDMENT_SOURCE = {
    "propose": "draft",
    "approve": "proposed",
    "reject": "proposed",
    "sign": "approved",
    "decline": "approved",
    "discard": "draft",
}
# Partners (and assigned evaluators) see an amendment once it is approved.
AMENDMENT_MATRIX = {
    "propose": {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": NF},
    "approve": {"partner": NF, "partner2": NF, "staff": FB, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": NF},
    "reject":  {"partner": NF, "partner2": NF, "staff": FB, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": NF},
    "sign":    {"partner": OK, "partner2": NF, "staff": FB, "approver": FB, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "decline": {"partner": OK, "partner2": NF, "staff": FB, "approver": FB, "expert": NF, "evaluator": NF, "assigned_evaluator": FB},
    "discard": {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "evaluator": NF, "assigned_evaluator": NF},
}  # fmt: skip

ACTION_FIELDS = (
    "status",
    "status_before_suspension",
    "proposed_by_id",
    "approved_by_id",
    "approved_at",
    "signed_by_id",
    "signed_name",
    "signed_at",
    "started_at",
    "completed_at",
    "closed_at",
    "start_date",
    "end_date",
    "updated_at",
)
AMENDMENT_FIELDS = (
    "status",
    "before",
    "proposal",
    "proposed_by_id",
    "approved_by_id",
    "approved_at",
    "signed_by_id",
    "signed_name",
    "applied_at",
    "updated_at",
)


def stored(obj: Any) -> dict[str, Any]:
    """The stored values a refused use-case must leave alone."""
    fresh = type(obj).objects.get(pk=obj.pk)
    fields = ACTION_FIELDS if isinstance(obj, Action) else AMENDMENT_FIELDS
    values = {name: getattr(fresh, name) for name in fields}
    if isinstance(obj, Action):
        values["plan"] = plan.snapshot(fresh)
    return values


def _cases(matrix: dict[str, dict[str, Any]]) -> Any:
    for transition, row in matrix.items():
        for persona, expected in row.items():
            yield pytest.param(transition, persona, expected, id=f"{transition}-{persona}")


def fire(action: Any, name: str, user: Any, text: str = TEXT) -> Action:
    return services.action_transition(action_id=action.pk, name=name, by=user, text=text)


def fire_amendment(amendment: Any, name: str, user: Any, text: str = TEXT) -> Amendment:
    return services.amendment_transition(amendment_id=amendment.pk, name=name, by=user, text=text)


@pytest.fixture
def action_in(designed_action, staff, approver, partner):
    """``action_in(state)``: the designed action brought to ``state`` (builders.PATHS)."""

    def make(state: str) -> Action:
        return advance(designed_action, state, staff=staff, approver=approver, partner=partner)

    return make


@pytest.fixture
def amendment_in(action_in, staff, approver, partner):
    """``amendment_in(state)``: an amendment (first activity a week later) of the running
    action, drafted and proposed by ``staff``, brought to ``state``."""

    def make(state: str, *, action_state: str = "in_implementation") -> Amendment:
        action = action_in(action_state)
        return make_amendment(action, state, staff=staff, approver=approver, partner=partner)

    return make


def _user_for(persona: str, personas: dict[str, Any], action: Action, staff: Any) -> Any:
    if persona == "assigned_evaluator":
        services.action_update(
            action_id=action.pk, by=staff, data={"evaluators": [personas["evaluator"]]}
        )
        return personas["evaluator"]
    return personas[persona]


# --- the tables -------------------------------------------------------------------------


def test_it_has_the_designed_action_table():
    assert {
        name: (sorted(t.sources), t.target) for name, t in ACTION_WORKFLOW.transitions.items()
    } == {name: (sorted(s), target) for name, (s, target) in ACTION_TABLE.items()}
    assert {n for n, t in ACTION_WORKFLOW.transitions.items() if t.requires_comment} == {
        "return",
        "suspend",
        "resume",
        "cancel",
    }


def test_it_has_the_designed_amendment_table():
    assert {
        name: (sorted(t.sources), t.target) for name, t in AMENDMENT_WORKFLOW.transitions.items()
    } == {name: (sorted(s), target) for name, (s, target) in AMENDMENT_TABLE.items()}
    assert {n for n, t in AMENDMENT_WORKFLOW.transitions.items() if t.requires_comment} == {
        "reject",
        "decline",
        "discard",
    }


# --- role × transition matrix: actions ------------------------------------------------------


@pytest.mark.parametrize(("transition", "persona", "expected"), list(_cases(ACTION_MATRIX)))
def test_it_applies_the_action_matrix(action_in, personas, staff, transition, persona, expected):
    source = ACTION_SOURCE[transition]
    action = action_in(source)
    user = _user_for(persona, personas, action, staff)
    before, events_before = stored(action), events_for(action).count()
    notifications_before = Notification.objects.count()

    if expected == OK:
        fire(action, transition, user)
        action.refresh_from_db()
        target = ACTION_TABLE[transition][1]
        assert action.status == target
        assert events_for(action).count() == events_before + 1
        event = events_for(action).last()
        assert (event.transition, event.from_state, event.to_state) == (
            transition,
            before["status"],
            target,
        )
        assert (event.actor, event.actor_name) == (user, user.display_name)
        assert event.comment == (f"Signed by {TEXT}" if transition == "sign" else TEXT)
        return

    with pytest.raises(ApplicationError) as excinfo:
        fire(action, transition, user)
    assert type(excinfo.value) is expected
    assert excinfo.value.status_code == STATUS_CODES[expected]
    if expected is NA:  # the only 409 of the matrix: closing before the final evaluation
        assert "final evaluation" in excinfo.value.message
    assert stored(action) == before
    assert events_for(action).count() == events_before
    assert Notification.objects.count() == notifications_before


# --- every transition from every allowed and every wrong state -----------------------------

ACTOR = {"return": "approver", "approve": "approver", "sign": "partner"}
REACHABLE = ["design", "proposed", "approved", "in_implementation", "completed", "suspended", "cancelled"]  # fmt: skip


def _outcome(call: Any) -> str:
    try:
        call()
    except ApplicationError as exc:
        return f"{type(exc).__name__}: {exc.message}"
    return OK


@pytest.mark.parametrize("state", REACHABLE)
def test_it_refuses_each_action_transition_from_a_wrong_state(action_in, personas, state):
    """One action per state; every transition its state does not allow is tried on it (a
    refusal changes nothing, so the next attempt sees the same action)."""
    action = action_in(state)
    before, events_before = stored(action), events_for(action).count()
    notifications_before = Notification.objects.count()
    label = str(ActionStatus(state).label).lower()
    wrong = [name for name, (sources, _) in ACTION_TABLE.items() if state not in sources]
    assert wrong

    outcomes = {
        name: _outcome(lambda name=name: fire(action, name, personas[ACTOR.get(name, "staff")]))
        for name in wrong
    }

    expected = {
        name: (
            "NotFound: "  # the partner does not see the action before approval
            if name == "sign" and state in ("design", "proposed")
            else "TransitionNotAllowed: "
            f"“{ACTION_WORKFLOW.get(name).display_label}” is not possible: "
            f"this action is {label}."
        )
        for name in wrong
    }
    assert outcomes == expected
    assert stored(action) == before
    assert events_for(action).count() == events_before
    assert Notification.objects.count() == notifications_before


@pytest.mark.parametrize(
    "state", ["design", "proposed", "approved", "in_implementation", "suspended"]
)
def test_it_cancels_from_each_state_before_completion(action_in, staff, state):
    action = action_in("signed" if state == "approved" else state)
    fire(action, "cancel", staff, text="The ministry withdrew its support.")
    action.refresh_from_db()
    assert action.status == "cancelled"
    event = events_for(action).last()
    assert (event.transition, event.from_state, event.to_state, event.comment) == (
        "cancel",
        state,
        "cancelled",
        "The ministry withdrew its support.",
    )


@pytest.mark.parametrize(
    ("path", "suspended_from"),
    [("suspended_from_approved", "approved"), ("suspended", "in_implementation")],
)
def test_it_resumes_where_the_action_was_suspended(action_in, staff, path, suspended_from):
    action = action_in(path)
    assert (action.status, action.status_before_suspension) == ("suspended", suspended_from)
    fire(action, "resume", staff, text="The unit is back.")
    action.refresh_from_db()
    assert (action.status, action.status_before_suspension) == (suspended_from, "")
    event = events_for(action).last()
    assert (event.transition, event.from_state, event.to_state) == (
        "resume",
        "suspended",
        suspended_from,
    )


def test_it_lets_the_partner_sign_after_a_suspension_before_signature(action_in, staff, partner):
    action = action_in("suspended_from_approved")
    fire(action, "resume", staff)
    fire(action, "sign", partner)
    fire(action, "start", staff)
    assert Action.objects.get(pk=action.pk).status == "in_implementation"


# --- guards ------------------------------------------------------------------------------


def test_it_refuses_to_propose_an_incomplete_plan(validated_assessment, staff):
    action = services.action_create(assessment_id=validated_assessment.pk, by=staff)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        fire(action, "propose", staff)
    assert excinfo.value.status_code == 409
    assert "Add at least one objective." in excinfo.value.message
    assert "Add at least one activity." in excinfo.value.message
    assert Action.objects.get(pk=action.pk).status == "design"
    assert not events_for(action).exists()


def test_it_refuses_to_propose_a_plan_without_objectives(designed_action, staff):
    services.action_plan_edit(
        action_id=designed_action.pk,
        by=staff,
        edit=lambda p, a: plan.remove_objective(p, p["objectives"][0]["key"]),
    )
    with pytest.raises(TransitionNotAllowed) as excinfo:
        fire(designed_action, "propose", staff)
    assert excinfo.value.message == "The plan is not ready: Add at least one objective."


def test_it_keeps_four_eyes_on_the_proposer(designed_action, approver, staff):
    second = UserFactory(username="approver2", approver=True)
    fire(designed_action, "propose", approver)
    with pytest.raises(TransitionNotAllowed, match="four-eyes"):
        fire(designed_action, "approve", approver)
    with pytest.raises(TransitionForbidden):  # staff without the approver flag
        fire(designed_action, "approve", staff)
    assert Action.objects.get(pk=designed_action.pk).status == "proposed"
    assert events_for(designed_action).filter(transition="approve").count() == 0
    assert ACTION_WORKFLOW.allowed(Action.objects.get(pk=designed_action.pk), approver) == [
        "return",
        "cancel",
    ]
    fire(designed_action, "approve", second)
    action = Action.objects.get(pk=designed_action.pk)
    assert (action.status, action.approved_by, action.proposed_by) == ("approved", second, approver)
    assert action.approved_at is not None


@pytest.mark.parametrize("what", ["action", "amendment"])
def test_it_keeps_four_eyes_on_the_drafter(validated_assessment, staff, approver, partner, what):
    from tests.actions.conftest import complete_plan

    action = services.action_create(assessment_id=validated_assessment.pk, by=approver)
    complete_plan(action, approver)
    if what == "action":
        fire(action, "propose", staff)
        with pytest.raises(TransitionNotAllowed):
            fire(action, "approve", approver)
        return
    second = UserFactory(username="approver2", approver=True)
    advance(action, "in_implementation", staff=staff, approver=second, partner=partner)
    amendment = services.amendment_create(
        action_id=action.pk,
        by=approver,
        reason_category="other",
        reason="Moves.",
        requested_by="Unit head",
    )
    services.amendment_plan_edit(amendment_id=amendment.pk, by=approver, edit=move_first_activity())
    fire_amendment(amendment, "propose", staff)
    with pytest.raises(TransitionNotAllowed):
        fire_amendment(amendment, "approve", approver)


def test_it_needs_the_co_signature_before_start(action_in, staff, partner):
    action = action_in("approved")
    before = stored(action)
    with pytest.raises(TransitionNotAllowed, match="co-sign") as excinfo:
        fire(action, "start", staff)
    assert excinfo.value.status_code == 409
    assert stored(action) == before
    fire(action, "sign", partner)
    fire(action, "start", staff)
    assert Action.objects.get(pk=action.pk).status == "in_implementation"


def test_it_lets_the_partner_sign_only_once(action_in, partner, organisation):
    action = action_in("signed")
    colleague = UserFactory(username="colleague", partner=True, organisation=organisation)
    before = stored(action)
    for user in (partner, colleague):
        with pytest.raises(TransitionNotAllowed, match="already co-signed"):
            fire(action, "sign", user)
    assert stored(action) == before
    assert events_for(action).filter(transition="sign").count() == 1


def test_it_refuses_to_close_before_the_final_evaluation(action_in, staff, admin_user):
    action = action_in("completed")
    for user in (staff, admin_user):
        with pytest.raises(TransitionNotAllowed, match="final evaluation"):
            fire(action, "close", user)
    assert Action.objects.get(pk=action.pk).status == "completed"


@pytest.mark.parametrize("state", ["draft", "proposed", "approved"])
def test_it_does_not_complete_with_an_amendment_in_progress(amendment_in, staff, state):
    amendment = amendment_in(state)
    action = amendment.action
    before = stored(action)
    with pytest.raises(TransitionNotAllowed, match="amendment") as excinfo:
        fire(action, "complete", staff)
    assert excinfo.value.status_code == 409
    assert stored(action) == before


@pytest.mark.parametrize("state", ["applied", "rejected"])
def test_it_completes_once_the_amendment_is_settled(amendment_in, staff, state):
    amendment = amendment_in(state)
    fire(amendment.action, "complete", staff)
    assert Action.objects.get(pk=amendment.action_id).status == "completed"


@pytest.mark.parametrize("text", ["", "   \n"])
@pytest.mark.parametrize(
    ("transition", "source", "persona"),
    [
        ("return", "proposed", "approver"),
        ("suspend", "approved", "staff"),
        ("suspend", "in_implementation", "staff"),
        ("resume", "suspended", "staff"),
        ("cancel", "design", "staff"),
        ("cancel", "in_implementation", "staff"),
    ],
)
def test_it_requires_a_reason(action_in, personas, transition, source, persona, text):
    action = action_in(source)
    before, events_before = stored(action), events_for(action).count()
    notifications_before = Notification.objects.count()
    with pytest.raises(ApplicationError) as excinfo:
        fire(action, transition, personas[persona], text=text)
    assert type(excinfo.value) is ApplicationError
    assert list(excinfo.value.errors) == ["comment"]
    assert stored(action) == before
    assert events_for(action).count() == events_before
    assert Notification.objects.count() == notifications_before


def test_it_answers_404_for_an_unknown_transition(action_in, staff):
    action = action_in("approved")
    with pytest.raises(ApplicationError) as excinfo:
        fire(action, "reopen", staff)
    assert excinfo.value.status_code == 404


def test_it_answers_404_for_an_action_that_does_not_exist(staff):
    with pytest.raises(NotFound):
        services.action_transition(action_id=987654, name="propose", by=staff)


def test_it_lists_the_allowed_transitions_per_persona(action_in, personas):
    action = action_in("approved")
    assert ACTION_WORKFLOW.allowed(action, personas["partner"]) == ["sign"]
    assert ACTION_WORKFLOW.allowed(action, personas["staff"]) == ["suspend", "cancel"]
    fire(action, "sign", personas["partner"])
    action.refresh_from_db()
    assert ACTION_WORKFLOW.allowed(action, personas["approver"]) == ["start", "suspend", "cancel"]
    assert ACTION_WORKFLOW.allowed(action, personas["partner"]) == []


def test_it_records_the_whole_timeline_of_an_action(designed_action, staff, approver, partner):
    action = designed_action
    steps = [
        ("propose", staff, ""),
        ("return", approver, "Add a study visit."),
        ("propose", staff, ""),
        ("approve", approver, "Good plan."),
        ("sign", partner, "Amira Ben Salah"),
        ("suspend", staff, "Elections."),
        ("resume", staff, "Elections over."),
        ("start", staff, ""),
        ("suspend", staff, "Floods."),
        ("resume", staff, "Roads open."),
        ("complete", staff, ""),
    ]
    for name, user, text in steps:
        fire(action, name, user, text=text)
    rows = [(e.transition, e.from_state, e.to_state, e.actor_id) for e in events_for(action)]
    assert rows == [
        ("propose", "design", "proposed", staff.pk),
        ("return", "proposed", "design", approver.pk),
        ("propose", "design", "proposed", staff.pk),
        ("approve", "proposed", "approved", approver.pk),
        ("sign", "approved", "approved", partner.pk),
        ("suspend", "approved", "suspended", staff.pk),
        ("resume", "suspended", "approved", staff.pk),
        ("start", "approved", "in_implementation", staff.pk),
        ("suspend", "in_implementation", "suspended", staff.pk),
        ("resume", "suspended", "in_implementation", staff.pk),
        ("complete", "in_implementation", "completed", staff.pk),
    ]
    assert [e.comment for e in events_for(action)][4] == "Signed by Amira Ben Salah"
    action.refresh_from_db()
    assert action.completed_at is not None and action.started_at is not None


# --- role × transition matrix: amendments ---------------------------------------------------


@pytest.mark.parametrize(("transition", "persona", "expected"), list(_cases(AMENDMENT_MATRIX)))
def test_it_applies_the_amendment_matrix(
    amendment_in, personas, staff, transition, persona, expected
):
    amendment = amendment_in(AMENDMENT_SOURCE[transition])
    user = _user_for(persona, personas, amendment.action, staff)
    before, action_before = stored(amendment), stored(amendment.action)
    events_before = TransitionEvent.objects.count()
    notifications_before = Notification.objects.count()

    if expected == OK:
        fire_amendment(amendment, transition, user)
        amendment.refresh_from_db()
        target = AMENDMENT_TABLE[transition][1]
        assert amendment.status == target
        assert TransitionEvent.objects.count() == events_before + 1
        event = events_for(amendment).last()
        assert (event.transition, event.from_state, event.to_state, event.actor) == (
            transition,
            before["status"],
            target,
            user,
        )
        assert event.comment == TEXT
        moved = (
            Activity.objects.get().start_date.isoformat()
            != action_before["plan"]["activities"][0]["start_date"]
        )
        assert moved == (transition == "sign")
        return

    with pytest.raises(ApplicationError) as excinfo:
        fire_amendment(amendment, transition, user)
    assert type(excinfo.value) is expected
    assert stored(amendment) == before
    assert stored(amendment.action) == action_before
    assert TransitionEvent.objects.count() == events_before
    assert Notification.objects.count() == notifications_before


AMENDMENT_ACTOR = {"approve": "approver", "reject": "approver", "sign": "partner", "decline": "partner"}  # fmt: skip


@pytest.mark.parametrize("state", AmendmentStatus.values)
def test_it_refuses_each_amendment_transition_from_a_wrong_state(amendment_in, personas, state):
    amendment = amendment_in(state)
    before, events_before = stored(amendment), TransitionEvent.objects.count()
    label = str(AmendmentStatus(state).label).lower()
    wrong = [name for name, (sources, _) in AMENDMENT_TABLE.items() if state not in sources]
    assert wrong

    outcomes = {
        name: _outcome(
            lambda name=name: fire_amendment(
                amendment, name, personas[AMENDMENT_ACTOR.get(name, "staff")]
            )
        )
        for name in wrong
    }

    # Partners see an amendment only once it was approved for their signature.
    hidden = state in ("draft", "proposed", "rejected")
    expected = {
        name: (
            "NotFound: "
            if hidden and AMENDMENT_ACTOR.get(name) == "partner"
            else "TransitionNotAllowed: "
            f"“{AMENDMENT_WORKFLOW.get(name).display_label}” is not possible: "
            f"this amendment is {label}."
        )
        for name in wrong
    }
    assert outcomes == expected
    assert stored(amendment) == before
    assert TransitionEvent.objects.count() == events_before


def test_it_refuses_to_propose_an_amendment_that_changes_nothing(action_in, staff):
    action = action_in("in_implementation")
    amendment = services.amendment_create(
        action_id=action.pk, by=staff, reason_category="other", reason="X", requested_by="Y"
    )
    with pytest.raises(TransitionNotAllowed, match="changes nothing"):
        fire_amendment(amendment, "propose", staff)
    assert Amendment.objects.get(pk=amendment.pk).status == "draft"


def test_it_refuses_to_propose_an_amended_plan_that_is_not_valid(action_in, staff):
    action = action_in("in_implementation")
    amendment = services.amendment_create(
        action_id=action.pk, by=staff, reason_category="other", reason="X", requested_by="Y"
    )
    services.amendment_plan_edit(
        amendment_id=amendment.pk,
        by=staff,
        edit=lambda p, a: plan.remove_activity(p, p["activities"][0]["key"]),
    )
    with pytest.raises(TransitionNotAllowed, match="amended plan is not ready") as excinfo:
        fire_amendment(amendment, "propose", staff)
    assert "Add at least one activity." in excinfo.value.message


def test_it_keeps_four_eyes_on_amendments(action_in, staff, approver, partner):
    action = action_in("in_implementation")
    amendment = make_amendment(action, "draft", staff=staff, approver=approver, partner=partner)
    fire_amendment(amendment, "propose", approver)
    with pytest.raises(TransitionNotAllowed, match="four-eyes"):
        fire_amendment(amendment, "approve", approver)
    with pytest.raises(TransitionForbidden):
        fire_amendment(amendment, "approve", staff)
    second = UserFactory(username="approver2", approver=True)
    fire_amendment(amendment, "approve", second)
    amendment.refresh_from_db()
    assert (amendment.status, amendment.approved_by) == ("approved", second)


def test_it_applies_the_amended_plan_when_the_partner_signs(amendment_in, partner):
    amendment = amendment_in("approved")
    fire_amendment(amendment, "sign", partner, text="  Amira Ben Salah ")
    amendment.refresh_from_db()
    assert (amendment.status, amendment.signed_by, amendment.signed_name) == (
        "applied",
        partner,
        "Amira Ben Salah",
    )
    assert amendment.applied_at is not None
    action = Action.objects.get(pk=amendment.action_id)
    assert action.status == "in_implementation"
    assert plan.diff(plan.snapshot(action), amendment.proposal) == []


def test_it_signs_an_amendment_in_the_partners_name_by_default(amendment_in, partner):
    amendment = amendment_in("approved")
    fire_amendment(amendment, "sign", partner, text="")
    assert Amendment.objects.get(pk=amendment.pk).signed_name == partner.display_name


def test_it_refuses_to_sign_an_amendment_when_the_plan_moved(amendment_in, partner):
    amendment = amendment_in("approved")
    Activity.objects.update(city="Sfax")  # the stored plan changed after the proposal
    with pytest.raises(TransitionNotAllowed, match="changed since"):
        fire_amendment(amendment, "sign", partner)
    assert Amendment.objects.get(pk=amendment.pk).status == "approved"
    assert Activity.objects.get().city == "Sfax"


def test_it_applies_an_amendment_of_a_suspended_action(action_in, staff, approver, partner):
    action = action_in("suspended")
    amendment = make_amendment(action, "applied", staff=staff, approver=approver, partner=partner)
    assert amendment.status == "applied"
    assert Action.objects.get(pk=action.pk).status == "suspended"
    assert plan.diff(plan.snapshot(action), amendment.proposal) == []


@pytest.mark.parametrize(
    ("transition", "source", "persona"),
    [
        ("reject", "proposed", "approver"),
        ("decline", "approved", "partner"),
        ("discard", "draft", "staff"),
        ("discard", "proposed", "staff"),
    ],
)
@pytest.mark.parametrize("text", ["", "  "])
def test_it_requires_a_reason_to_turn_an_amendment_down(
    amendment_in, personas, transition, source, persona, text
):
    amendment = amendment_in(source)
    before = stored(amendment)
    with pytest.raises(ApplicationError) as excinfo:
        fire_amendment(amendment, transition, personas[persona], text=text)
    assert type(excinfo.value) is ApplicationError
    assert list(excinfo.value.errors) == ["comment"]
    assert stored(amendment) == before


@pytest.mark.parametrize(
    ("transition", "source", "persona"),
    [
        ("reject", "proposed", "approver"),
        ("decline", "approved", "partner"),
        ("discard", "draft", "staff"),
    ],
)
def test_it_leaves_the_plan_alone_when_an_amendment_is_turned_down(
    amendment_in, personas, transition, source, persona
):
    amendment = amendment_in(source)
    plan_before = plan.snapshot(amendment.action)
    fire_amendment(amendment, transition, personas[persona], text="Not this year.")
    assert Amendment.objects.get(pk=amendment.pk).status == "rejected"
    assert plan.snapshot(Action.objects.get(pk=amendment.action_id)) == plan_before
    assert events_for(amendment).last().comment == "Not this year."


def test_it_allows_one_open_amendment_per_action(amendment_in, staff):
    amendment = amendment_in("proposed")
    with pytest.raises(TransitionNotAllowed, match="in progress"):
        services.amendment_create(
            action_id=amendment.action_id,
            by=staff,
            reason_category="other",
            reason="Another change.",
            requested_by="Unit head",
        )
    fire_amendment(amendment, "discard", staff, text="Superseded.")
    second = services.amendment_create(
        action_id=amendment.action_id,
        by=staff,
        reason_category="other",
        reason="Another change.",
        requested_by="Unit head",
    )
    assert (second.number, second.status) == (2, "draft")


@pytest.mark.parametrize("state", ["design", "proposed", "completed", "cancelled"])
def test_it_amends_only_an_agreed_plan(action_in, staff, state):
    action = action_in(state)
    with pytest.raises(TransitionNotAllowed):
        services.amendment_create(
            action_id=action.pk,
            by=staff,
            reason_category="other",
            reason="A change.",
            requested_by="Unit head",
        )
    assert not Amendment.objects.exists()


@pytest.mark.parametrize("state", ["approved", "in_implementation", "suspended"])
def test_it_opens_an_amendment_of_an_agreed_plan(action_in, staff, state):
    action = action_in(state)
    amendment = services.amendment_create(
        action_id=action.pk,
        by=staff,
        reason_category="partner_request",
        reason="  The partner asks for a second training. ",
        requested_by=" Director of the unit ",
    )
    assert (amendment.number, amendment.status, amendment.drafted_by) == (1, "draft", staff)
    assert amendment.before == amendment.proposal == plan.snapshot(action)
    assert (amendment.reason, amendment.requested_by) == (
        "The partner asks for a second training.",
        "Director of the unit",
    )


@pytest.mark.parametrize("state", ["approved", "in_implementation", "suspended"])
def test_it_refuses_plan_edits_on_an_agreed_plan(action_in, staff, state):
    action = action_in(state)
    before = stored(action)
    with pytest.raises(TransitionNotAllowed, match="amendment"):
        services.action_plan_edit(action_id=action.pk, by=staff, edit=move_first_activity())
    assert stored(action) == before


@pytest.mark.parametrize("state", ["proposed", "approved", "applied", "rejected"])
def test_it_edits_only_a_draft_amendment(amendment_in, staff, state):
    amendment = amendment_in(state)
    before = stored(amendment)
    with pytest.raises(TransitionNotAllowed, match="draft"):
        services.amendment_plan_edit(
            amendment_id=amendment.pk, by=staff, edit=move_first_activity(14)
        )
    assert stored(amendment) == before


def test_it_records_the_timeline_of_an_amendment(amendment_in, staff, approver, partner):
    amendment = amendment_in("applied")
    rows = [(e.transition, e.from_state, e.to_state, e.actor) for e in events_for(amendment)]
    assert rows == [
        ("propose", "draft", "proposed", staff),
        ("approve", "proposed", "approved", approver),
        ("sign", "approved", "applied", partner),
    ]


# --- concurrency (PostgreSQL) ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_lets_one_of_two_approvers_approving_at_once_win(
    designed_action, staff, approver, partner, mailoutbox
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks (select_for_update)")
    second = UserFactory(username="approver2", approver=True)
    fire(designed_action, "propose", staff)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def approve(user: Any) -> None:
        try:
            barrier.wait(timeout=10)
            services.action_approve(action_id=designed_action.pk, by=user)
            outcomes[user.username] = OK
        except Exception as exc:
            outcomes[user.username] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (approver, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["approver", "approver2"]
    winners = [name for name, outcome in outcomes.items() if outcome == OK]
    losers = [o for o in outcomes.values() if o != OK]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and isinstance(losers[0], TransitionNotAllowed), losers
    action = Action.objects.get(pk=designed_action.pk)
    assert (action.status, action.approved_by.username) == ("approved", winners[0])
    assert events_for(action).filter(transition="approve").count() == 1
    approved = Notification.objects.filter(event="action_approved")
    assert sorted(approved.values_list("recipient__username", flat=True)) == ["partner", "staff"]
    sent = [m for m in mailoutbox if m.subject == f"Plan {action.reference} approved"]
    assert sorted(address for m in sent for address in m.to) == [
        "partner@example.org",
        "staff@example.org",
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_settles_a_signature_racing_a_cancellation(
    designed_action, staff, approver, partner, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks (select_for_update)")
    from actions import permissions

    action = advance(
        designed_action, "in_implementation", staff=staff, approver=approver, partner=partner
    )
    amendment = make_amendment(action, "approved", staff=staff, approver=approver, partner=partner)
    # Each service checks visibility right after taking its first row lock: hold both
    # threads there so that each holds its first lock when it asks for the second.
    barrier = threading.Barrier(2)
    seen = threading.local()
    real = permissions.can_view_action

    def can_view_action(user: Any, obj: Any) -> bool:
        if not getattr(seen, "done", False):
            seen.done = True
            # With a consistent lock order the other thread waits on our lock instead.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=3)
        return real(user, obj)

    monkeypatch.setattr(permissions, "can_view_action", can_view_action)
    outcomes: dict[str, object] = {}

    def run(name: str, call: Any) -> None:
        try:
            call()
            outcomes[name] = OK
        except Exception as exc:
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=run,
            args=("sign", lambda: fire_amendment(amendment, "sign", partner, text="")),
        ),
        threading.Thread(
            target=run,
            args=("cancel", lambda: fire(action, "cancel", staff, text="Funding ended.")),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["cancel", "sign"]
    assert all(o == OK or isinstance(o, ApplicationError) for o in outcomes.values()), outcomes
    assert Action.objects.get(pk=action.pk).status == "cancelled"
