"""The transition mechanism: the table, check, allowed, the event record."""

from types import SimpleNamespace

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from cbportal.core.errors import TransitionForbidden, TransitionNotAllowed, UnknownTransition
from cbportal.core.models import TransitionEvent
from cbportal.core.services import record_transition
from cbportal.core.workflow import Transition, Workflow


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"


def not_on_friday(obj, user):
    """Nothing is accepted while the object is frozen."""
    return "The request is frozen." if getattr(obj, "frozen", False) else None


MACHINE = Workflow(
    model="tests.Thing",
    states=State,
    transitions=[
        Transition("submit", ["draft"], "submitted", roles=["partner"]),
        Transition("accept", ["submitted"], "accepted", roles=["staff"], guards=[not_on_friday]),
        Transition("approve", ["submitted"], "accepted", roles=["approver"]),
    ],
)


def who(*roles):
    return SimpleNamespace(workflow_roles=frozenset(roles))


def test_it_allows_a_listed_transition_for_a_listed_role():
    assert (
        MACHINE.check(SimpleNamespace(status="draft"), "submit", who("partner")).target
        == "submitted"
    )


def test_it_refuses_a_wrong_state_with_409_error():
    with pytest.raises(TransitionNotAllowed) as exc:
        MACHINE.check(SimpleNamespace(status="accepted"), "submit", who("partner"))
    assert exc.value.status_code == 409
    assert "accepted" in exc.value.message


def test_it_refuses_a_role_not_in_the_table_with_403_error():
    with pytest.raises(TransitionForbidden) as exc:
        MACHINE.check(SimpleNamespace(status="submitted"), "accept", who("partner"))
    assert exc.value.status_code == 403


def test_it_checks_the_role_before_the_state():
    # A partner must not learn from the error which state the object is in.
    with pytest.raises(TransitionForbidden):
        MACHINE.check(SimpleNamespace(status="draft"), "accept", who("partner"))


def test_it_runs_guards_and_reports_their_reason():
    with pytest.raises(TransitionNotAllowed, match="frozen"):
        MACHINE.check(SimpleNamespace(status="submitted", frozen=True), "accept", who("staff"))


def test_it_says_which_transitions_a_user_may_fire_now():
    obj = SimpleNamespace(status="submitted")
    assert MACHINE.allowed(obj, who("staff")) == ["accept"]
    assert MACHINE.allowed(obj, who("staff", "approver")) == ["accept", "approve"]
    assert MACHINE.allowed(obj, who("partner")) == []
    assert MACHINE.allowed(SimpleNamespace(status="submitted", frozen=True), who("staff")) == []


def test_it_rejects_unknown_transitions():
    with pytest.raises(UnknownTransition):
        MACHINE.check(SimpleNamespace(status="draft"), "explode", who("staff"))


def test_it_rejects_a_table_with_unknown_states_or_duplicates():
    with pytest.raises(ValueError, match="unknown states"):
        Workflow(
            model="x.Y",
            states=State,
            transitions=[Transition("go", ["nowhere"], "draft", roles=["staff"])],
        )
    with pytest.raises(ValueError, match="twice"):
        Workflow(
            model="x.Y",
            states=State,
            transitions=[
                Transition("go", ["draft"], "submitted", roles=["staff"]),
                Transition("go", ["submitted"], "accepted", roles=["staff"]),
            ],
        )


def test_it_renders_the_table_for_the_docs():
    rows = {row["transition"]: row for row in MACHINE.table()}
    assert rows["accept"]["guards"] == ["Nothing is accepted while the object is frozen."]
    assert rows["submit"]["from"] == ["draft"]


def test_staff_with_the_flag_carry_the_approver_role(approver, staff, partner):
    assert approver.workflow_roles == {"staff", "approver"}
    assert staff.workflow_roles == {"staff"}
    assert partner.workflow_roles == {"partner"}


def test_it_records_an_immutable_transition_event(organisation, staff):
    event = record_transition(
        organisation,
        "accept",
        by=staff,
        from_state="submitted",
        to_state="accepted",
        comment="Fits the mandate.",
    )
    stored = TransitionEvent.objects.get(pk=event.pk)
    assert stored.content_type == ContentType.objects.get_for_model(organisation)
    assert (stored.object_id, stored.actor, stored.actor_name) == (
        organisation.pk,
        staff,
        staff.display_name,
    )
    assert (stored.from_state, stored.to_state, stored.comment) == (
        "submitted",
        "accepted",
        "Fits the mandate.",
    )
    stored.comment = "rewritten"
    with pytest.raises(ValidationError):
        stored.save()
    with pytest.raises(ValidationError):
        stored.delete()
    assert TransitionEvent.objects.get(pk=event.pk).comment == "Fits the mandate."


def test_the_timeline_lists_an_objects_events_in_order(organisation, other_organisation, staff):
    from cbportal.core.selectors import timeline_for

    record_transition(organisation, "submit", by=staff, from_state="draft", to_state="submitted")
    record_transition(
        other_organisation, "submit", by=staff, from_state="draft", to_state="submitted"
    )
    record_transition(organisation, "accept", by=staff, from_state="submitted", to_state="accepted")
    assert [e.transition for e in timeline_for(organisation)] == ["submit", "accept"]


def test_the_timeline_include_renders_the_events(organisation, staff):
    from django.template.loader import render_to_string

    from cbportal.core.selectors import timeline_for

    record_transition(
        organisation,
        "decline",
        by=staff,
        from_state="submitted",
        to_state="declined",
        comment="Out of scope",
    )
    html = render_to_string("includes/timeline.html", {"events": timeline_for(organisation)})
    assert staff.display_name in html and "Out of scope" in html and "decline" in html


def test_docs_workflow_md_shows_the_current_tables():
    from pathlib import Path

    from cbportal.core.management.commands.workflow_docs import render
    from cbportal.core.workflow import REGISTRY

    doc = (Path(__file__).resolve().parents[2] / "docs" / "workflow.md").read_text(encoding="utf-8")
    assert render(REGISTRY) in doc, "docs/workflow.md is stale: run `make docs`"
