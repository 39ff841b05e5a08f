"""Who may see and change experts and deployments (used by pages and API alike)."""

from __future__ import annotations

from typing import Any

from cbportal.accounts.permissions import is_staff
from experts.models import Deployment, DeploymentStatus, Expert


def is_own_profile(user: Any, expert: Expert) -> bool:
    return bool(user.is_authenticated and expert.user_id is not None and expert.user_id == user.pk)


def can_view_expert(user: Any, expert: Expert) -> bool:
    """Staff see the roster; an expert sees their own profile."""
    return is_staff(user) or is_own_profile(user, expert)


def can_edit_expert(user: Any, expert: Expert) -> bool:
    if expert.anonymised_at is not None:
        return False
    return is_staff(user) or is_own_profile(user, expert)


def can_view_cv(user: Any, expert: Expert) -> bool:
    """The CV is for staff and the expert only — never partners."""
    return can_view_expert(user, expert)


def can_view_deployment(user: Any, deployment: Deployment) -> bool:
    if not user.is_authenticated:
        return False
    if is_staff(user):
        return True
    if user.role == "expert":
        # A shortlist is internal: the expert never learns they were on one.
        was_shortlisted_only = deployment.status == DeploymentStatus.SHORTLISTED or (
            deployment.status == DeploymentStatus.CANCELLED
            and deployment.status_before_cancel == DeploymentStatus.SHORTLISTED
        )
        return deployment.expert.user_id == user.pk and not was_shortlisted_only
    if user.role == "partner":
        action = deployment.need.activity.action
        was_a_mission = deployment.status in (
            DeploymentStatus.CONFIRMED,
            DeploymentStatus.COMPLETED,
        ) or (
            deployment.status == DeploymentStatus.CANCELLED
            and deployment.status_before_cancel == DeploymentStatus.CONFIRMED
        )
        return (
            was_a_mission
            and action.organisation_id == user.organisation_id
            and action.approved_at is not None
        )
    return False


def can_file_report(user: Any, deployment: Deployment) -> bool:
    return (
        user.is_authenticated
        and deployment.expert.user_id == user.pk
        and deployment.status == DeploymentStatus.CONFIRMED
    )


def can_rate(user: Any, deployment: Deployment) -> bool:
    return is_staff(user) and deployment.status == DeploymentStatus.COMPLETED
