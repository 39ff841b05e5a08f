"""An action from design to implementation, then amended — through the services."""

import pytest

from actions import plan, services
from actions.models import Action, Activity, ExpertiseNeed, Objective
from cbportal.core.errors import TransitionForbidden, TransitionNotAllowed
from cbportal.core.models import Notification


def test_an_action_goes_from_design_to_implementation_and_is_amended(
    designed_action, staff, approver, partner, django_capture_on_commit_callbacks
):
    action = designed_action
    assert action.reference.startswith("ACT-") and action.organisation == partner.organisation
    assert (Objective.objects.count(), Activity.objects.count(), ExpertiseNeed.objects.count()) == (
        1,
        1,
        1,
    )

    services.action_propose(action_id=action.pk, by=staff)
    assert Notification.objects.filter(recipient=approver, event="action_proposed").count() == 1
    services.action_approve(action_id=action.pk, by=approver)
    with pytest.raises(TransitionNotAllowed, match="co-sign"):
        services.action_start(action_id=action.pk, by=staff)
    services.action_sign(action_id=action.pk, by=partner, name="Amira Ben Salah")
    services.action_start(action_id=action.pk, by=staff)
    action.refresh_from_db()
    assert action.status == "in_implementation" and action.signed_name == "Amira Ben Salah"

    with pytest.raises(TransitionNotAllowed, match="amendment"):
        services.action_plan_edit(action_id=action.pk, by=staff, edit=lambda p, a: p)

    amendment = services.amendment_create(
        action_id=action.pk,
        by=staff,
        reason_category="implementation_delay",
        reason="The training moves by a week.",
        requested_by="Director of the unit",
    )
    key = amendment.proposal["activities"][0]["key"]
    activity = dict(amendment.proposal["activities"][0])
    from datetime import date, timedelta

    moved = (date.fromisoformat(activity["start_date"]) + timedelta(days=7)).isoformat()
    services.amendment_plan_edit(
        amendment_id=amendment.pk,
        by=staff,
        edit=lambda p, a: plan.save_activity(
            p, key=key, data={**activity, "start_date": moved, "end_date": moved}
        ),
    )
    amendment.refresh_from_db()
    rows = plan.diff(amendment.before, amendment.proposal)
    assert [r["what"] for r in rows] == [
        "“Training of analysts”: start",
        "“Training of analysts”: end",
    ]
    services.amendment_transition(amendment_id=amendment.pk, name="propose", by=staff)
    with pytest.raises(TransitionForbidden):  # staff without the approver flag
        services.amendment_transition(amendment_id=amendment.pk, name="approve", by=staff)
    services.amendment_transition(amendment_id=amendment.pk, name="approve", by=approver)
    services.amendment_transition(
        amendment_id=amendment.pk, name="sign", by=partner, text="Amira Ben Salah"
    )
    assert Activity.objects.get().start_date.isoformat() == moved
    assert Action.objects.get().status == "in_implementation"


def test_the_proposer_cannot_approve_even_as_an_approver(designed_action, approver):
    services.action_propose(action_id=designed_action.pk, by=approver)
    with pytest.raises(TransitionNotAllowed, match="four-eyes"):
        services.action_approve(action_id=designed_action.pk, by=approver)
    assert Action.objects.get().status == "proposed"
