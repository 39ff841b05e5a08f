"""Who may see and change actions (used by pages and API alike)."""

from __future__ import annotations

from typing import Any

from actions.models import Action, ActionStatus, Amendment
from cbportal.accounts.permissions import is_staff


def can_view_action(user: Any, action: Action) -> bool:
    if not user.is_authenticated:
        return False
    if is_staff(user):
        return True
    if user.role == "partner":
        # Partners see their organisation's actions once a plan was approved for them to
        # sign; a plan returned or cancelled before that stays internal.
        return user.organisation_id == action.organisation_id and action.approved_at is not None
    if user.role == "evaluator":
        return action.evaluators.filter(pk=user.pk).exists()
    return False


def can_edit_plan(user: Any, action: Action) -> bool:
    return is_staff(user) and action.status == ActionStatus.DESIGN


def can_amend(user: Any, action: Action) -> bool:
    return is_staff(user) and action.plan_is_locked


def can_view_amendment(user: Any, amendment: Amendment) -> bool:
    if not can_view_action(user, amendment.action):
        return False
    # Partners see an amendment once it is approved for their signature (and afterwards).
    return is_staff(user) or (
        amendment.status in ("approved", "applied", "rejected")
        and amendment.approved_at is not None
    )
