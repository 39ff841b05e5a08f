"""The deployment and vetting state machines (experts/workflow.py), fired through the
services: the role × transition matrices, every wrong state, the guards, the transition log
— and docs/workflow.md kept in step with the tables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from actions import services as actions
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
    UnknownTransition,
)
from cbportal.core.models import Notification
from experts import services
from experts.models import Deployment, DeploymentStatus, Expert, VettingStatus
from experts.workflow import DEPLOYMENT_WORKFLOW, SYSTEM, VETTING_WORKFLOW
from tests.actions.builders import events_for
from tests.experts.builders import DEPLOYMENT_STATES, deployment_in, make_expert

OK = "ok"
NF, FB, NA = NotFound, TransitionForbidden, TransitionNotAllowed
STATUS_CODES = {NF: 404, FB: 403, NA: 409}
TEXT = "Dates agreed with the ministry."

# DESIGN.md §2, as a table: transition → (sources, target).
DEPLOYMENT_TABLE = {
    "invite": (["shortlisted"], "invited"),
    "accept": (["invited"], "accepted"),
    "decline": (["invited"], "declined"),
    "expire": (["invited"], "expired"),
    "confirm": (["accepted"], "confirmed"),
    "complete": (["confirmed"], "completed"),
    "cancel": (["shortlisted", "invited", "accepted", "confirmed"], "cancelled"),
}
VETTING_TABLE = {
    "approve": (["pending", "rejected"], "approved"),
    "reject": (["pending", "approved"], "rejected"),
}

PERSONAS = ("partner", "partner2", "staff", "approver", "expert", "expert2", "evaluator")

# The state each transition of the matrix starts from ("reported": confirmed, with the
# mission report filed, so that ``complete`` may go ahead).
DEPLOYMENT_SOURCE = {
    "invite": "shortlisted",
    "accept": "invited",
    "decline": "invited",
    "confirm": "accepted",
    "complete": "reported",
    "cancel@shortlisted": "shortlisted",
    "cancel@invited": "invited",
    "cancel@accepted": "accepted",
    "cancel@confirmed": "confirmed",
}

# persona → outcome. ``expert`` is the invited one, ``expert2`` another roster member.
# An expert does not see a deployment while it is only a shortlist line; a partner sees a
# deployment of its own action once it is confirmed; nobody else outside staff sees it.
DEPLOYMENT_MATRIX = {
    "invite":             {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "expert2": NF, "evaluator": NF},
    "accept":             {"partner": NF, "partner2": NF, "staff": FB, "approver": FB, "expert": OK, "expert2": NF, "evaluator": NF},
    "decline":            {"partner": NF, "partner2": NF, "staff": FB, "approver": FB, "expert": OK, "expert2": NF, "evaluator": NF},
    "confirm":            {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": FB, "expert2": NF, "evaluator": NF},
    "complete":           {"partner": FB, "partner2": NF, "staff": OK, "approver": OK, "expert": FB, "expert2": NF, "evaluator": NF},
    "cancel@shortlisted": {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": NF, "expert2": NF, "evaluator": NF},
    "cancel@invited":     {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": FB, "expert2": NF, "evaluator": NF},
    "cancel@accepted":    {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": FB, "expert2": NF, "evaluator": NF},
    "cancel@confirmed":   {"partner": FB, "partner2": NF, "staff": OK, "approver": OK, "expert": FB, "expert2": NF, "evaluator": NF},
}  # fmt: skip

# persona → outcome for vetting the ``expert`` persona's own profile.
VETTING_MATRIX = {
    "approve@pending":  {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": FB, "expert2": NF, "evaluator": NF},
    "approve@rejected": {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": FB, "expert2": NF, "evaluator": NF},
    "reject@pending":   {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": FB, "expert2": NF, "evaluator": NF},
    "reject@approved":  {"partner": NF, "partner2": NF, "staff": OK, "approver": OK, "expert": FB, "expert2": NF, "evaluator": NF},
}  # fmt: skip

DEPLOYMENT_FIELDS = (
    "status",
    "invited_by_id",
    "invited_at",
    "expires_at",
    "invitation_nonce",
    "responded_at",
    "decline_reason",
    "confirmed_by_id",
    "confirmed_at",
    "start_date",
    "end_date",
    "expert_days",
    "completed_at",
    "cancelled_at",
    "cancel_reason",
    "status_before_cancel",
    "updated_at",
)
EXPERT_FIELDS = ("vetting_status", "vetting_note", "vetted_by_id", "vetted_at", "updated_at")


def stored(obj: Any) -> dict[str, Any]:
    fresh = type(obj).objects.get(pk=obj.pk)
    fields = DEPLOYMENT_FIELDS if isinstance(obj, Deployment) else EXPERT_FIELDS
    return {name: getattr(fresh, name) for name in fields}


def _cases(matrix: dict[str, dict[str, Any]]) -> Any:
    for transition, row in matrix.items():
        for persona, expected in row.items():
            yield pytest.param(transition, persona, expected, id=f"{transition}-{persona}")


def fire(deployment: Deployment, name: str, user: Any, text: str = TEXT) -> Deployment:
    """Each transition through its own service."""
    pk = deployment.pk
    if name == "invite":
        return services.deployment_invite(deployment_id=pk, by=user, comment=text)
    if name == "accept":
        return services.deployment_accept(deployment_id=pk, by=user, comment=text)
    if name == "decline":
        return services.deployment_decline(deployment_id=pk, by=user, reason=text)
    if name == "confirm":
        return services.deployment_confirm(deployment_id=pk, by=user, expert_days=1, comment=text)
    if name == "complete":
        return services.deployment_complete(deployment_id=pk, by=user, comment=text)
    if name == "cancel":
        return services.deployment_cancel(deployment_id=pk, by=user, reason=text)
    raise AssertionError(name)


@pytest.fixture
def cast(personas, expert2, expert2_profile) -> dict[str, Any]:
    """The personas of the matrix: the six of tests/conftest.py and another expert with a
    roster profile of their own."""
    return {**personas, "expert2": expert2}


@pytest.fixture
def deployment_at(need, expert_profile, staff):
    """``deployment_at(state)``: the ``expert`` persona's deployment on ``need`` (an
    approved action of ``partner``) brought to ``state`` (builders.deployment_in)."""

    def make(state: str) -> Deployment:
        return deployment_in(state, need, expert_profile, staff=staff)

    return make


# --- the tables --------------------------------------------------------------------------


def test_it_has_the_designed_deployment_table():
    assert {
        name: (sorted(t.sources), t.target) for name, t in DEPLOYMENT_WORKFLOW.transitions.items()
    } == {name: (sorted(s), target) for name, (s, target) in DEPLOYMENT_TABLE.items()}
    assert {n for n, t in DEPLOYMENT_WORKFLOW.transitions.items() if t.requires_comment} == {
        "decline",
        "cancel",
    }
    assert {n: list(t.roles) for n, t in DEPLOYMENT_WORKFLOW.transitions.items()} == {
        "invite": ["staff"],
        "accept": ["expert"],
        "decline": ["expert"],
        "expire": ["system"],
        "confirm": ["staff"],
        "complete": ["staff"],
        "cancel": ["staff"],
    }
    assert set(DEPLOYMENT_STATES) == set(DeploymentStatus.values)


def test_it_has_the_designed_vetting_table():
    assert {
        name: (sorted(t.sources), t.target) for name, t in VETTING_WORKFLOW.transitions.items()
    } == {name: (sorted(s), target) for name, (s, target) in VETTING_TABLE.items()}
    assert {n for n, t in VETTING_WORKFLOW.transitions.items() if t.requires_comment} == {"reject"}
    assert {r for t in VETTING_WORKFLOW.transitions.values() for r in t.roles} == {"staff"}


# --- role × transition matrix: deployments ---------------------------------------------------


@pytest.mark.parametrize(("case", "persona", "expected"), list(_cases(DEPLOYMENT_MATRIX)))
def test_it_applies_the_deployment_matrix(deployment_at, cast, case, persona, expected):
    transition = case.split("@")[0]
    deployment = deployment_at(DEPLOYMENT_SOURCE[case])
    user = cast[persona]
    before, events_before = stored(deployment), events_for(deployment).count()
    notifications_before = Notification.objects.count()

    if expected == OK:
        fire(deployment, transition, user)
        deployment.refresh_from_db()
        target = DEPLOYMENT_TABLE[transition][1]
        assert deployment.status == target
        assert events_for(deployment).count() == events_before + 1
        event = events_for(deployment).last()
        assert (event.transition, event.from_state, event.to_state) == (
            transition,
            before["status"],
            target,
        )
        assert (event.actor, event.actor_name, event.comment) == (user, user.display_name, TEXT)
        return

    with pytest.raises(ApplicationError) as excinfo:
        fire(deployment, transition, user)
    assert type(excinfo.value) is expected
    assert excinfo.value.status_code == STATUS_CODES[expected]
    assert stored(deployment) == before
    assert events_for(deployment).count() == events_before
    assert Notification.objects.count() == notifications_before


@pytest.mark.parametrize("persona", PERSONAS)
def test_nobody_but_the_system_expires_an_invitation(deployment_at, cast, persona):
    deployment = deployment_at("invited")
    Deployment.objects.filter(pk=deployment.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    deployment.refresh_from_db()
    with pytest.raises(TransitionForbidden):
        DEPLOYMENT_WORKFLOW.check(deployment, "expire", cast[persona])
    assert DEPLOYMENT_WORKFLOW.check(deployment, "expire", SYSTEM).target == "expired"
    assert "expire" not in DEPLOYMENT_WORKFLOW.allowed(deployment, cast[persona])


def test_the_system_expires_only_a_past_due_invitation(deployment_at):
    deployment = deployment_at("invited")
    with pytest.raises(TransitionNotAllowed, match="has not expired yet"):
        DEPLOYMENT_WORKFLOW.check(deployment, "expire", SYSTEM)


def test_the_transition_entry_point_refuses_expire_and_unknown_names(deployment_at, staff):
    deployment = deployment_at("invited")
    with pytest.raises(TransitionForbidden, match="fired by the system"):
        services.deployment_transition(deployment_id=deployment.pk, name="expire", by=staff)
    with pytest.raises(UnknownTransition):
        services.deployment_transition(deployment_id=deployment.pk, name="teleport", by=staff)
    assert stored(deployment)["status"] == "invited"


@pytest.mark.parametrize(
    ("state", "persona", "allowed"),
    [
        ("shortlisted", "staff", ["invite", "cancel"]),
        ("invited", "staff", ["cancel"]),
        ("invited", "expert", ["accept", "decline"]),
        ("invited", "expert2", []),
        ("accepted", "approver", ["confirm", "cancel"]),
        ("accepted", "expert", []),
        ("confirmed", "staff", ["cancel"]),  # no report yet: not ``complete``
        ("reported", "staff", ["complete", "cancel"]),
        ("completed", "staff", []),
        ("confirmed", "partner", []),
    ],
)
def test_it_lists_what_each_persona_may_do_now(deployment_at, cast, state, persona, allowed):
    deployment = deployment_at(state)
    assert DEPLOYMENT_WORKFLOW.allowed(deployment, cast[persona]) == allowed


# --- every transition from every wrong state -------------------------------------------------

ACTOR = {"accept": "expert", "decline": "expert"}
SERVICE_TRANSITIONS = ("invite", "accept", "decline", "confirm", "complete", "cancel")


def _outcome(call: Any) -> str:
    try:
        call()
    except ApplicationError as exc:
        return f"{type(exc).__name__}: {exc.message}"
    return OK


@pytest.mark.parametrize("state", DEPLOYMENT_STATES)
def test_it_refuses_each_deployment_transition_from_a_wrong_state(deployment_at, cast, state):
    """One deployment per state; every transition its state does not allow is tried on it
    by the role that may fire it (a refusal changes nothing)."""
    deployment = deployment_at(state)
    before, events_before = stored(deployment), events_for(deployment).count()
    notifications_before = Notification.objects.count()
    label = str(DeploymentStatus(state).label).lower()
    wrong = [n for n in SERVICE_TRANSITIONS if state not in DEPLOYMENT_TABLE[n][0]]
    assert wrong

    outcomes = {
        name: _outcome(lambda name=name: fire(deployment, name, cast[ACTOR.get(name, "staff")]))
        for name in wrong
    }

    expected = {
        name: (
            "NotFound: "  # the expert does not see a mere shortlist line
            if ACTOR.get(name) == "expert" and state == "shortlisted"
            else "TransitionNotAllowed: "
            f"“{DEPLOYMENT_WORKFLOW.get(name).display_label}” is not possible: "
            f"this deployment is {label}."
        )
        for name in wrong
    }
    assert outcomes == expected
    assert stored(deployment) == before
    assert events_for(deployment).count() == events_before
    assert Notification.objects.count() == notifications_before


# --- guards ------------------------------------------------------------------------------


def test_it_completes_only_once_the_report_is_filed(deployment_at, staff):
    deployment = deployment_at("confirmed")
    with pytest.raises(TransitionNotAllowed, match="mission report") as excinfo:
        fire(deployment, "complete", staff)
    assert excinfo.value.status_code == 409
    assert stored(deployment)["status"] == "confirmed"


@pytest.mark.parametrize(("name", "source"), [("invite", "shortlisted"), ("confirm", "accepted")])
def test_it_invites_and_confirms_only_on_a_running_action(
    deployment_at, action, staff, name, source
):
    deployment = deployment_at(source)
    actions.action_transition(action_id=action.pk, name="suspend", by=staff, text="Elections.")
    before = stored(deployment)
    with pytest.raises(TransitionNotAllowed, match="approved action") as excinfo:
        fire(deployment, name, staff)
    assert "suspended" in excinfo.value.message
    assert stored(deployment) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"is_active": False}, "active, vetted"),
        ({"vetting_status": VettingStatus.PENDING}, "active, vetted"),
        ({"user": None}, "no CB Portal account"),
        ({"consent_contact": False}, "not agreed to be contacted"),
    ],
    ids=["inactive", "unvetted", "no-account", "no-consent"],
)
def test_it_invites_only_an_eligible_expert(deployment_at, expert_profile, staff, change, message):
    deployment = deployment_at("shortlisted")
    Expert.objects.filter(pk=expert_profile.pk).update(**change)
    with pytest.raises(TransitionNotAllowed, match=message):
        fire(deployment, "invite", staff)
    assert stored(deployment)["status"] == "shortlisted"


@pytest.mark.parametrize("name", ["accept", "decline"])
def test_it_refuses_an_answer_after_the_expiry_date(deployment_at, expert, name):
    deployment = deployment_at("invited")
    Deployment.objects.filter(pk=deployment.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    before = stored(deployment)
    with pytest.raises(TransitionNotAllowed, match="expired on") as excinfo:
        fire(deployment, name, expert)
    assert excinfo.value.status_code == 409
    assert stored(deployment) == before


@pytest.mark.parametrize("name", ["decline", "cancel"])
def test_it_needs_a_reason(deployment_at, cast, name):
    deployment = deployment_at("invited")
    user = cast["expert" if name == "decline" else "staff"]
    with pytest.raises(ApplicationError) as excinfo:
        fire(deployment, name, user, text="   ")
    assert type(excinfo.value) is ApplicationError
    assert excinfo.value.field == "comment"
    assert stored(deployment)["status"] == "invited"
    assert not events_for(deployment).filter(transition=name).exists()


def test_it_logs_the_whole_way_of_a_deployment(deployment_at, staff, expert):
    deployment = deployment_at("completed")
    rows = [(e.transition, e.from_state, e.to_state, e.actor) for e in events_for(deployment)]
    assert rows == [
        ("invite", "shortlisted", "invited", staff),
        ("accept", "invited", "accepted", expert),
        ("confirm", "accepted", "confirmed", staff),
        ("complete", "confirmed", "completed", staff),
    ]


def test_it_logs_an_expiry_as_the_system(deployment_at):
    deployment = deployment_at("expired")
    event = events_for(deployment).last()
    assert (event.transition, event.from_state, event.to_state) == ("expire", "invited", "expired")
    assert (event.actor, event.actor_name) == (None, "system")


# --- role × transition matrix: vetting ----------------------------------------------------------


@pytest.fixture
def profile_at(expert, staff):
    """``profile_at(state)``: the ``expert`` persona's own roster profile, vetted to
    ``state`` by another staff member."""

    def make(state: str) -> Expert:
        profile = make_expert(expert, by=staff, vetted=False)
        if state == "approved":
            services.expert_vet(expert_id=profile.pk, by=staff, decision="approve")
        elif state == "rejected":
            services.expert_vet(
                expert_id=profile.pk, by=staff, decision="reject", note="References missing."
            )
        return Expert.objects.get(pk=profile.pk)

    return make


@pytest.mark.parametrize(("case", "persona", "expected"), list(_cases(VETTING_MATRIX)))
def test_it_applies_the_vetting_matrix(profile_at, cast, case, persona, expected):
    decision, source = case.split("@")
    profile = profile_at(source)
    user = cast[persona]
    before, events_before = stored(profile), events_for(profile).count()

    if expected == OK:
        services.expert_vet(expert_id=profile.pk, by=user, decision=decision, note=TEXT)
        profile.refresh_from_db()
        target = VETTING_TABLE[decision][1]
        assert (profile.vetting_status, profile.vetted_by, profile.vetting_note) == (
            target,
            user,
            TEXT,
        )
        event = events_for(profile).last()
        assert events_for(profile).count() == events_before + 1
        assert (event.transition, event.from_state, event.to_state, event.actor) == (
            decision,
            source,
            target,
            user,
        )
        return

    with pytest.raises(ApplicationError) as excinfo:
        services.expert_vet(expert_id=profile.pk, by=user, decision=decision, note=TEXT)
    assert type(excinfo.value) is expected
    assert stored(profile) == before
    assert events_for(profile).count() == events_before


@pytest.mark.parametrize(("decision", "state"), [("approve", "approved"), ("reject", "rejected")])
def test_it_refuses_a_vetting_decision_from_a_wrong_state(profile_at, staff, decision, state):
    profile = profile_at(state)
    before = stored(profile)
    with pytest.raises(TransitionNotAllowed, match="is not possible") as excinfo:
        services.expert_vet(expert_id=profile.pk, by=staff, decision=decision, note=TEXT)
    assert excinfo.value.status_code == 409
    assert stored(profile) == before


def test_it_needs_a_note_to_reject(profile_at, staff):
    profile = profile_at("pending")
    with pytest.raises(ApplicationError) as excinfo:
        services.expert_vet(expert_id=profile.pk, by=staff, decision="reject", note=" ")
    assert excinfo.value.field == "comment"
    assert stored(profile)["vetting_status"] == "pending"
    assert not events_for(profile).exists()


def test_it_vets_no_anonymised_profile(profile_at, staff):
    profile = profile_at("pending")
    services.expert_anonymise(expert_id=profile.pk, by=staff)
    with pytest.raises(TransitionNotAllowed, match="anonymised"):
        services.expert_vet(expert_id=profile.pk, by=staff, decision="approve")
    assert Expert.objects.get(pk=profile.pk).vetting_status == "pending"


def test_it_refuses_an_unknown_vetting_decision(profile_at, staff):
    profile = profile_at("pending")
    with pytest.raises(UnknownTransition):
        services.expert_vet(expert_id=profile.pk, by=staff, decision="promote")


# --- docs ----------------------------------------------------------------------------------------


def test_docs_workflow_md_describes_the_experts_tables():
    from cbportal.core.management.commands.workflow_docs import render
    from cbportal.core.workflow import REGISTRY

    doc = (Path(__file__).resolve().parents[2] / "docs" / "workflow.md").read_text(encoding="utf-8")
    assert render(REGISTRY) in doc, "docs/workflow.md is stale: run `make docs`"
    assert "### experts.Deployment" in doc and "### experts.Expert" in doc
    for name, (sources, target) in DEPLOYMENT_TABLE.items():
        sources_md = ", ".join(f"`{s}`" for s in sources)
        assert f"| `{name}` | {sources_md} | `{target}` |" in doc, name
