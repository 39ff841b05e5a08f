"""Columns of the roster and deployment downloads (pages and API share them).

The roster download never carries the CV (nor its file name) and shows contact details
exactly as the roster API shows them to staff (email and phone); only staff export the
roster (an expert's own export holds their own profile). A deployment download hides the
match score from everyone but staff and the mission rating from the partner, as the
deployment API does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from cbportal.accounts.permissions import is_staff
from cbportal.core.exports import Column


def _languages(expert: Any) -> list[str]:
    return [f"{spoken.language.display_name} {spoken.level}" for spoken in expert.languages.all()]


def _areas(expert: Any) -> list[str]:
    return [area.display_name for area in expert.thematic_areas.all()]


def _skills(expert: Any) -> list[str]:
    return [skill.name for skill in expert.skills.all()]


def _countries(expert: Any) -> list[str]:
    return [country.display_name for country in expert.countries_of_experience.all()]


EXPERT_COLUMNS = (
    Column(_("Name"), "full_name"),
    Column(_("Contact email"), "email"),
    Column(_("Phone"), "phone"),
    Column(_("Home institution"), "home_institution"),
    Column(_("Administration type"), "get_administration_type_display"),
    Column(_("Nationality"), "nationality.display_name"),
    Column(_("Languages"), _languages),
    Column(_("Thematic areas"), _areas),
    Column(_("Skills"), _skills),
    Column(_("Countries of experience"), _countries),
    Column(_("Years of experience"), "years_experience"),
    Column(_("Vetting"), "get_vetting_status_display"),
    Column(_("Active"), "is_active"),
    Column(_("Agrees to be contacted"), "consent_contact"),
    Column(_("Average rating"), "average_rating"),
    Column(_("Ratings"), "rating_count"),
    Column(_("Created"), "created_at"),
)


def _has_report(deployment: Any) -> bool:
    return hasattr(deployment, "report")


DEPLOYMENT_COLUMNS = (
    Column(_("Action reference"), "need.activity.action.reference"),
    Column(_("Action title"), "need.activity.action.title"),
    Column(_("Partner"), "need.activity.action.organisation.name"),
    Column(_("Activity"), "need.activity.title"),
    Column(_("Activity country"), "need.activity.country.display_name"),
    Column(_("Thematic area"), "need.thematic_area.display_name"),
    Column(_("Expert"), "expert.full_name"),
    Column(_("Administration type"), "expert.get_administration_type_display"),
    Column(_("Nationality"), "expert.nationality.display_name"),
    Column(_("Status"), "get_status_display"),
    Column(_("Invited"), "invited_at"),
    Column(_("Invitation expires"), "expires_at"),
    Column(_("Answered"), "responded_at"),
    Column(_("Mission start"), "start_date"),
    Column(_("Mission end"), "end_date"),
    Column(_("Expert-days"), "expert_days"),
    Column(_("Mission report filed"), _has_report),
    Column(_("Reason for declining"), "decline_reason"),
    Column(_("Reason for cancelling"), "cancel_reason"),
)
# Staff's working data: the match score and their rating of the mission.
DEPLOYMENT_STAFF_COLUMNS = (
    *DEPLOYMENT_COLUMNS,
    Column(_("Match score"), "score"),
    Column(_("Rating"), "rating"),
)
# The expert may read the rating of their own missions (it is their data).
DEPLOYMENT_EXPERT_COLUMNS = (*DEPLOYMENT_COLUMNS, Column(_("Rating"), "rating"))


def deployment_columns(user: Any) -> Sequence[Column]:
    if is_staff(user):
        return DEPLOYMENT_STAFF_COLUMNS
    if getattr(user, "role", "") == "expert":
        return DEPLOYMENT_EXPERT_COLUMNS
    return DEPLOYMENT_COLUMNS
