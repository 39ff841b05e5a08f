"""An amendment may not drop an expertise need on which an expert is invited or deployed
(actions/plan.py ``_deployed_needs_removed``): the deployment is the record of who was
asked and who went."""

from __future__ import annotations

from typing import Any

import pytest

from actions import plan
from actions import services as actions
from cbportal.core.errors import TransitionNotAllowed
from experts.models import Deployment
from tests.actions.builders import make_amendment
from tests.experts.builders import deployment_in, make_expert


def drop_need(need: Any) -> Any:
    def edit(p: plan.Plan, a: Any) -> plan.Plan:
        return plan.remove_need(p, activity_key=f"a{need.activity_id}", key=f"n{need.pk}")

    return edit


def test_it_refuses_an_amendment_that_drops_a_need_with_a_confirmed_expert(
    action, need, staff, approver, partner, expert_profile
):
    deployment_in("confirmed", need, expert_profile, staff=staff)
    with pytest.raises(TransitionNotAllowed) as refused:
        make_amendment(
            action,
            "proposed",
            staff=staff,
            approver=approver,
            partner=partner,
            edit=drop_need(need),
        )
    assert "Amina Diallo" in refused.value.message
    assert Deployment.objects.filter(need=need).count() == 1


def test_it_lets_an_amendment_drop_a_need_whose_experts_were_only_shortlisted(
    action, need, staff, approver, partner, expert_profile
):
    deployment_in("shortlisted", need, expert_profile, staff=staff)
    amendment = make_amendment(
        action, "applied", staff=staff, approver=approver, partner=partner, edit=drop_need(need)
    )
    assert amendment.status == "applied"
    assert not Deployment.objects.filter(expert=expert_profile).exists()


def test_it_checks_nothing_while_the_action_is_in_design(staff, partner):
    from tests.actions.builders import make_action

    action = make_action(partner, staff)
    need = action.activities.first().needs.first()
    other = make_expert(by=staff)
    Deployment.objects.create(expert=other, need=need, shortlisted_by=staff)
    actions.action_plan_edit(action_id=action.pk, by=staff, edit=drop_need(need))
    assert not Deployment.objects.filter(expert=other).exists()
