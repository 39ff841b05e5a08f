"""actions/services.py beyond the state machines: creating an action from a validated
assessment, editing it, editing its plan, co-signing, cancelling with amendments open."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from actions import plan, services
from actions.models import Action, Activity, Amendment
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.models import GcmObjective, ThematicArea
from tests.actions.builders import (
    advance,
    events_for,
    make_amendment,
    make_assessment,
    move_first_activity,
)
from tests.factories import UserFactory


@pytest.fixture
def action_in(designed_action, staff, approver, partner):
    def make(state: str) -> Action:
        return advance(designed_action, state, staff=staff, approver=approver, partner=partner)

    return make


def _close(action: Action) -> Action:
    """``close`` needs a submitted final evaluation, which the evaluations app will bring;
    until then a closed action exists only in the database."""
    Action.objects.filter(pk=action.pk).update(status="closed", closed_at=timezone.now())
    return Action.objects.get(pk=action.pk)


# --- action_create ----------------------------------------------------------------------


def test_it_creates_the_action_prefilled_from_the_request(partner, staff):
    assessment = make_assessment(partner, staff, gcm=(11, 23), areas=("border-management", "data"))
    request = assessment.request

    action = services.action_create(assessment_id=assessment.pk, by=staff)

    action = Action.objects.get(pk=action.pk)
    assert (action.assessment, action.request) == (assessment, request)
    assert (action.organisation, action.country) == (partner.organisation, request.country)
    assert action.title == request.title
    assert (action.start_date, action.end_date) == (request.preferred_start, request.preferred_end)
    assert sorted(a.slug for a in action.thematic_areas.all()) == ["border-management", "data"]
    assert sorted(g.number for g in action.gcm_objectives.all()) == [11, 23]
    assert (action.status, action.drafted_by, action.publish, action.summary) == (
        "design",
        staff,
        False,
        "",
    )
    assert not action.objectives.exists() and not action.activities.exists()
    assert not events_for(action).exists()


def test_it_takes_what_staff_give_over_the_request(validated_assessment, staff):
    start = timezone.localdate() + timedelta(days=60)
    action = services.action_create(
        assessment_id=validated_assessment.pk,
        by=staff,
        data={
            "title": "Register of labour migrants",
            "summary": "One register for the ministry.",
            "start_date": start,
            "end_date": start + timedelta(days=90),
            "thematic_areas": [ThematicArea.objects.get(slug="data")],
            "gcm_objectives": [GcmObjective.objects.get(number=1)],
        },
    )
    action = Action.objects.get(pk=action.pk)
    assert (action.title, action.summary) == (
        "Register of labour migrants",
        "One register for the ministry.",
    )
    assert (action.start_date, action.end_date) == (start, start + timedelta(days=90))
    assert [a.slug for a in action.thematic_areas.all()] == ["data"]
    assert [g.number for g in action.gcm_objectives.all()] == [1]


def test_it_refuses_a_period_out_of_order(validated_assessment, staff):
    start = timezone.localdate() + timedelta(days=60)
    with pytest.raises(ApplicationError) as excinfo:
        services.action_create(
            assessment_id=validated_assessment.pk,
            by=staff,
            data={"start_date": start, "end_date": start - timedelta(days=1)},
        )
    assert excinfo.value.field == "end_date"
    assert not Action.objects.exists()


@pytest.mark.parametrize("state", ["in_progress", "shared"])
def test_it_designs_an_action_only_from_a_validated_assessment(partner, staff, state):
    assessment = make_assessment(partner, staff, state)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        services.action_create(assessment_id=assessment.pk, by=staff)
    assert excinfo.value.status_code == 409
    assert "validated" in excinfo.value.message
    assert not Action.objects.exists()


def test_it_creates_one_action_per_assessment(validated_assessment, staff, approver):
    services.action_create(assessment_id=validated_assessment.pk, by=staff)
    with pytest.raises(TransitionNotAllowed, match="already has its action"):
        services.action_create(assessment_id=validated_assessment.pk, by=approver)
    assert Action.objects.count() == 1


@pytest.mark.parametrize("persona", ["partner", "partner2", "expert", "evaluator"])
def test_it_lets_only_staff_create_an_action(validated_assessment, personas, persona):
    with pytest.raises(TransitionForbidden):
        services.action_create(assessment_id=validated_assessment.pk, by=personas[persona])
    assert not Action.objects.exists()


@pytest.mark.parametrize("persona", ["approver", "admin"])
def test_it_lets_approvers_and_admins_create_an_action(
    validated_assessment, personas, admin_user, persona
):
    user = admin_user if persona == "admin" else personas[persona]
    action = services.action_create(assessment_id=validated_assessment.pk, by=user)
    assert action.drafted_by == user


def test_it_answers_404_for_an_unknown_assessment(staff):
    with pytest.raises(NotFound):
        services.action_create(assessment_id=987654, by=staff)


def test_it_numbers_actions_in_sequence(partner, partner2, staff):
    year = timezone.localtime().year
    references = [
        services.action_create(
            assessment_id=make_assessment(user, staff, title=f"Request {n}").pk, by=staff
        ).reference
        for n, user in enumerate([partner, partner2, partner])
    ]
    assert references == [f"ACT-{year}-0001", f"ACT-{year}-0002", f"ACT-{year}-0003"]
    assert all(re.fullmatch(r"ACT-\d{4}-\d{4}", r) for r in references)


def test_it_does_not_spend_a_reference_on_a_refused_action(partner, staff):
    year = timezone.localtime().year
    first = make_assessment(partner, staff, title="First")
    services.action_create(assessment_id=first.pk, by=staff)
    with pytest.raises(TransitionNotAllowed):
        services.action_create(assessment_id=first.pk, by=staff)
    second = make_assessment(partner, staff, title="Second")
    assert services.action_create(assessment_id=second.pk, by=staff).reference == f"ACT-{year}-0002"


# --- action_update ----------------------------------------------------------------------


def test_it_lets_staff_edit_the_action(designed_action, staff, evaluator):
    second = UserFactory(username="evaluator2", evaluator=True)
    services.action_update(
        action_id=designed_action.pk,
        by=staff,
        data={
            "title": "Labour migration register",
            "summary": "A register of labour migrants.",
            "thematic_areas": ThematicArea.objects.filter(slug__in=["data", "governance"]),
            "gcm_objectives": GcmObjective.objects.filter(number__in=[1, 23]),
            "evaluators": [evaluator, second],
        },
    )
    action = Action.objects.get(pk=designed_action.pk)
    assert (action.title, action.summary) == (
        "Labour migration register",
        "A register of labour migrants.",
    )
    assert sorted(a.slug for a in action.thematic_areas.all()) == ["data", "governance"]
    assert sorted(g.number for g in action.gcm_objectives.all()) == [1, 23]
    assert sorted(u.username for u in action.evaluators.all()) == ["evaluator", "evaluator2"]


def test_it_leaves_out_what_staff_do_not_send(designed_action, staff):
    areas = sorted(designed_action.thematic_areas.values_list("slug", flat=True))
    services.action_update(action_id=designed_action.pk, by=staff, data={"summary": "Short."})
    action = Action.objects.get(pk=designed_action.pk)
    assert action.title == designed_action.title
    assert sorted(action.thematic_areas.values_list("slug", flat=True)) == areas


@pytest.mark.parametrize("persona", ["staff", "approver", "partner", "expert"])
def test_it_assigns_only_evaluators(designed_action, personas, evaluator, persona):
    with pytest.raises(ApplicationError) as excinfo:
        services.action_update(
            action_id=designed_action.pk,
            by=personas["staff"],
            data={"title": "Renamed", "evaluators": [evaluator, personas[persona]]},
        )
    assert excinfo.value.field == "evaluators"
    action = Action.objects.get(pk=designed_action.pk)
    assert action.title != "Renamed"  # nothing of the refused edit is kept
    assert not action.evaluators.exists()


@pytest.mark.parametrize("title", ["", "   "])
def test_it_requires_a_title(designed_action, staff, title):
    with pytest.raises(ApplicationError) as excinfo:
        services.action_update(action_id=designed_action.pk, by=staff, data={"title": title})
    assert excinfo.value.field == "title"
    assert Action.objects.get(pk=designed_action.pk).title == designed_action.title


@pytest.mark.parametrize("consent", [True, False])
def test_it_lets_the_partner_give_or_withdraw_consent_to_publish(action_in, partner, consent):
    action = action_in("approved")
    Action.objects.filter(pk=action.pk).update(publish=not consent)
    services.action_update(action_id=action.pk, by=partner, data={"publish": consent})
    assert Action.objects.get(pk=action.pk).publish is consent


@pytest.mark.parametrize(
    "data",
    [
        {"title": "Ours now"},
        {"publish": True, "summary": "Ours"},
        {"evaluators": []},
        {"thematic_areas": []},
    ],
)
def test_it_lets_the_partner_change_nothing_but_consent(action_in, partner, data):
    action = action_in("approved")
    with pytest.raises(TransitionForbidden):
        services.action_update(action_id=action.pk, by=partner, data=data)
    action = Action.objects.get(pk=action.pk)
    assert (action.title, action.summary, action.publish) == (
        "Labour migration information system",
        "",
        False,
    )


def test_it_leaves_the_consent_to_publish_to_the_partner(action_in, staff):
    action = action_in("approved")
    with pytest.raises(ApplicationError):
        services.action_update(action_id=action.pk, by=staff, data={"publish": True})
    assert Action.objects.get(pk=action.pk).publish is False


@pytest.mark.parametrize("persona", ["partner", "partner2", "expert", "evaluator"])
def test_it_answers_404_to_whoever_does_not_see_the_action(designed_action, personas, persona):
    with pytest.raises(NotFound):
        services.action_update(
            action_id=designed_action.pk, by=personas[persona], data={"publish": True}
        )


def test_it_refuses_edits_from_an_assigned_evaluator(designed_action, staff, evaluator):
    services.action_update(action_id=designed_action.pk, by=staff, data={"evaluators": [evaluator]})
    with pytest.raises(TransitionForbidden):
        services.action_update(action_id=designed_action.pk, by=evaluator, data={"summary": "X"})


@pytest.mark.parametrize(
    ("state", "persona"), [("cancelled", "staff"), ("cancelled", "partner"), ("closed", "staff")]
)
def test_it_changes_nothing_once_closed_or_cancelled(action_in, personas, state, persona):
    action = action_in("cancelled") if state == "cancelled" else _close(action_in("completed"))
    data = {"publish": True} if persona == "partner" else {"title": "Renamed", "publish": True}
    with pytest.raises(TransitionNotAllowed):
        services.action_update(action_id=action.pk, by=personas[persona], data=data)
    action = Action.objects.get(pk=action.pk)
    assert (action.title, action.publish) == ("Labour migration information system", False)


def test_the_partner_may_still_withdraw_consent_to_publish_a_closed_action(action_in, partner):
    action = _close(action_in("completed"))
    services.action_update(action_id=action.pk, by=partner, data={"publish": True})
    assert Action.objects.get(pk=action.pk).publish is True
    services.action_update(action_id=action.pk, by=partner, data={"publish": False})
    assert Action.objects.get(pk=action.pk).publish is False
    with pytest.raises(TransitionNotAllowed):  # nothing else
        services.action_update(
            action_id=action.pk, by=partner, data={"publish": True, "title": "Renamed"}
        )


# --- action_plan_edit -------------------------------------------------------------------


def test_it_edits_the_plan_in_design_and_returns_the_row_ids(designed_action, staff):
    before = plan.snapshot(designed_action)
    old_keys = {
        *(o["key"] for o in before["objectives"]),
        *(a["key"] for a in before["activities"]),
        *(n["key"] for a in before["activities"] for n in a["needs"]),
    }

    def edit(p, a):
        activity = p["activities"][0]
        return plan.save_activity(p, key=None, data={**activity, "title": "Follow-up training"})

    ids = services.action_plan_edit(action_id=designed_action.pk, by=staff, edit=edit)

    (new_key,) = set(ids) - old_keys
    assert new_key.startswith("new-")
    assert ids[new_key] == Activity.objects.get(title="Follow-up training").pk
    assert set(ids) == old_keys | {new_key}
    assert all(ids[k] == int(k[1:]) for k in old_keys)


def test_it_keeps_the_stored_plan_when_an_edit_is_refused(designed_action, staff):
    before = plan.snapshot(designed_action)

    def edit(p, a):
        p = plan.set_period(p, p["start_date"], (timezone.localdate() + timedelta(days=400)))
        return plan.save_activity(p, key=None, data={"title": ""})

    with pytest.raises(ApplicationError):
        services.action_plan_edit(action_id=designed_action.pk, by=staff, edit=edit)
    assert plan.snapshot(Action.objects.get(pk=designed_action.pk)) == before


@pytest.mark.parametrize("state", ["proposed", "completed", "cancelled"])
def test_it_edits_the_plan_only_in_design(action_in, staff, state):
    action = action_in(state)
    before = plan.snapshot(action)
    with pytest.raises(TransitionNotAllowed, match="only be edited while the action is in design"):
        services.action_plan_edit(action_id=action.pk, by=staff, edit=move_first_activity())
    assert plan.snapshot(Action.objects.get(pk=action.pk)) == before


@pytest.mark.parametrize("state", ["approved", "in_implementation", "suspended"])
def test_it_sends_plan_edits_of_an_agreed_plan_to_an_amendment(action_in, staff, state):
    action = action_in(state)
    with pytest.raises(TransitionNotAllowed, match="through an amendment"):
        services.action_plan_edit(action_id=action.pk, by=staff, edit=move_first_activity())


def test_it_lets_only_staff_edit_the_plan(action_in, personas, staff):
    action = action_in("design")
    for persona in ("partner", "partner2", "expert", "evaluator"):
        with pytest.raises(NotFound):
            services.action_plan_edit(
                action_id=action.pk, by=personas[persona], edit=move_first_activity()
            )
    services.action_update(
        action_id=action.pk, by=staff, data={"evaluators": [personas["evaluator"]]}
    )
    with pytest.raises(TransitionForbidden):
        services.action_plan_edit(
            action_id=action.pk, by=personas["evaluator"], edit=move_first_activity()
        )


def test_it_refuses_plan_edits_from_the_partner_of_an_approved_action(action_in, partner):
    action = action_in("approved")
    with pytest.raises(TransitionForbidden):
        services.action_plan_edit(action_id=action.pk, by=partner, edit=move_first_activity())


# --- co-signature -----------------------------------------------------------------------


def test_it_records_the_co_signature(action_in, partner):
    action = action_in("approved")
    before = timezone.now()
    services.action_sign(action_id=action.pk, by=partner, name="  Amira Ben Salah  ")
    action = Action.objects.get(pk=action.pk)
    assert (action.signed_by, action.signed_name, action.status) == (
        partner,
        "Amira Ben Salah",
        "approved",
    )
    assert before <= action.signed_at <= timezone.now()
    assert action.is_signed
    assert events_for(action).last().comment == "Signed by Amira Ben Salah"


@pytest.mark.parametrize("name", ["", "   "])
def test_it_signs_in_the_partners_name_by_default(action_in, partner, name):
    action = action_in("approved")
    services.action_sign(action_id=action.pk, by=partner, name=name)
    action = Action.objects.get(pk=action.pk)
    assert action.signed_name == partner.display_name == "Test " + partner.last_name


def test_it_lets_a_colleague_of_the_partner_sign(action_in, organisation):
    colleague = UserFactory(username="colleague", partner=True, organisation=organisation)
    action = action_in("approved")
    services.action_sign(action_id=action.pk, by=colleague)
    assert Action.objects.get(pk=action.pk).signed_by == colleague


# --- cancelling with amendments open --------------------------------------------------------


@pytest.mark.parametrize("state", ["draft", "proposed", "approved"])
def test_it_rejects_open_amendments_when_cancelling(action_in, staff, approver, partner, state):
    action = action_in("in_implementation")
    applied = make_amendment(action, "applied", staff=staff, approver=approver, partner=partner)
    open_one = make_amendment(
        action, state, staff=staff, approver=approver, partner=partner, edit=move_first_activity(2)
    )
    plan_before = plan.snapshot(action)

    services.action_cancel(action_id=action.pk, by=staff, reason="The ministry withdrew.")

    assert Amendment.objects.get(pk=open_one.pk).status == "rejected"
    assert Amendment.objects.get(pk=applied.pk).status == "applied"
    assert plan.snapshot(Action.objects.get(pk=action.pk)) == plan_before


def test_it_records_why_an_open_amendment_ended_with_the_action(
    action_in, staff, approver, partner
):
    action = action_in("in_implementation")
    amendment = make_amendment(action, "proposed", staff=staff, approver=approver, partner=partner)
    services.action_cancel(action_id=action.pk, by=staff, reason="The ministry withdrew.")
    event = events_for(amendment).last()
    assert (event.from_state, event.to_state, event.actor, event.comment) == (
        "proposed",
        "rejected",
        staff,
        "The ministry withdrew.",
    )


# --- amendments: creation and reasons -----------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"reason_category": "whim"}, {"reason_category"}),
        ({"reason": "  "}, {"reason"}),
        ({"requested_by": ""}, {"requested_by"}),
        (
            {"reason_category": "", "reason": "", "requested_by": ""},
            {"reason_category", "reason", "requested_by"},
        ),
    ],
)
def test_it_says_why_an_amendment_is_opened(action_in, staff, overrides, fields):
    action = action_in("in_implementation")
    values = {
        "reason_category": "political_change",
        "reason": "New minister.",
        "requested_by": "Secretary-general",
        **overrides,
    }
    with pytest.raises(ApplicationError) as excinfo:
        services.amendment_create(action_id=action.pk, by=staff, **values)
    assert set(excinfo.value.errors) == fields
    assert not Amendment.objects.exists()


@pytest.mark.parametrize("persona", ["partner", "approver"])
def test_it_lets_only_staff_open_an_amendment(action_in, personas, persona):
    action = action_in("in_implementation")
    call = lambda: services.amendment_create(  # noqa: E731
        action_id=action.pk,
        by=personas[persona],
        reason_category="other",
        reason="A change.",
        requested_by="Unit head",
    )
    if persona == "partner":
        with pytest.raises(TransitionForbidden):
            call()
        assert not Amendment.objects.exists()
    else:
        assert call().drafted_by == personas[persona]


@pytest.mark.parametrize("persona", ["partner2", "expert", "evaluator"])
def test_it_hides_amendments_from_outsiders(action_in, staff, approver, partner, personas, persona):
    action = action_in("in_implementation")
    amendment = make_amendment(action, "approved", staff=staff, approver=approver, partner=partner)
    with pytest.raises(NotFound):
        services.amendment_create(
            action_id=action.pk,
            by=personas[persona],
            reason_category="other",
            reason="A change.",
            requested_by="Unit head",
        )
    with pytest.raises(NotFound):
        services.amendment_transition(amendment_id=amendment.pk, name="sign", by=personas[persona])


def test_it_corrects_the_reason_of_a_draft_amendment(action_in, staff, approver, partner):
    action = action_in("in_implementation")
    amendment = make_amendment(action, "draft", staff=staff, approver=approver, partner=partner)
    services.amendment_update(
        amendment_id=amendment.pk,
        by=staff,
        data={"reason_category": "partner_request", "reason": "The partner asked."},
    )
    amendment.refresh_from_db()
    assert (amendment.reason_category, amendment.reason) == (
        "partner_request",
        "The partner asked.",
    )
    services.amendment_transition(amendment_id=amendment.pk, name="propose", by=staff)
    with pytest.raises(TransitionNotAllowed):
        services.amendment_update(amendment_id=amendment.pk, by=staff, data={"reason": "Late."})
    assert Amendment.objects.get(pk=amendment.pk).reason == "The partner asked."


def test_it_numbers_the_amendments_of_an_action(action_in, staff, approver, partner):
    action = action_in("in_implementation")
    first = make_amendment(action, "applied", staff=staff, approver=approver, partner=partner)
    second = make_amendment(action, "rejected", staff=staff, approver=approver, partner=partner)
    third = make_amendment(action, "draft", staff=staff, approver=approver, partner=partner)
    assert [first.number, second.number, third.number] == [1, 2, 3]
