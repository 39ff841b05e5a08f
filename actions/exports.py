"""Columns of the action and activity downloads (pages and API share them). Actions come
from ``selectors.action_list`` (organisation, country, request, thematic areas and GCM
objectives loaded; open amendments and the submitted evaluation annotated); activities
from ``selectors.activities_for`` (action and country loaded)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from cbportal.core.exports import Column


def _areas(action: Any) -> list[str]:
    return [area.display_name for area in action.thematic_areas.all()]


def _gcm(action: Any) -> list[int]:
    return sorted(objective.number for objective in action.gcm_objectives.all())


def _evaluation_submitted(action: Any) -> bool:
    return bool(getattr(action, "evaluation_submitted", False))


ACTION_COLUMNS = (
    Column(_("Reference"), "reference"),
    Column(_("Title"), "title"),
    Column(_("Partner"), "organisation.name"),
    Column(_("Country"), "country.display_name"),
    Column(_("Region"), "country.get_region_display"),
    Column(_("Status"), "get_status_display"),
    Column(_("Start"), "start_date"),
    Column(_("End"), "end_date"),
    Column(_("Thematic areas"), _areas),
    Column(_("GCM objectives"), _gcm),
    Column(_("Request"), "request.reference"),
    Column(_("Partner agrees to publish"), "publish"),
    Column(_("Approved"), "approved_at"),
    Column(_("Co-signed"), "signed_at"),
    Column(_("Started"), "started_at"),
    Column(_("Completed"), "completed_at"),
    Column(_("Closed"), "closed_at"),
    Column(_("Open amendments"), lambda action: getattr(action, "open_amendments", None)),
    Column(_("Final evaluation submitted"), _evaluation_submitted),
)


def _participants_total(activity: Any) -> int:
    return int(
        activity.participants_women + activity.participants_men + activity.participants_other
    )


ACTIVITY_COLUMNS = (
    Column(_("Action reference"), "action.reference"),
    Column(_("Action title"), "action.title"),
    Column(_("Activity"), "title"),
    Column(_("Type"), "get_type_display"),
    Column(_("Status"), "get_status_display"),
    Column(_("Start"), "start_date"),
    Column(_("End"), "end_date"),
    Column(_("Modality"), "get_modality_display"),
    Column(_("Country"), "country.display_name"),
    Column(_("City"), "city"),
    Column(_("Expected participants"), "expected_participants"),
    Column(_("Participants: women"), "participants_women"),
    Column(_("Participants: men"), "participants_men"),
    Column(_("Participants: other or not stated"), "participants_other"),
    Column(_("Participants counted"), _participants_total),
)
