"""Columns of the request downloads (the request list, the triage queue and the API share
them). The rows come prefetched by ``selectors.request_list``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from cbportal.core.exports import Column
from requests_app import sla


def _areas(request: Any) -> list[str]:
    return [area.display_name for area in request.thematic_areas.all()]


def _gcm(request: Any) -> list[int]:
    return sorted(objective.number for objective in request.gcm_objectives.all())


def _languages(request: Any) -> list[str]:
    return [language.display_name for language in request.languages.all()]


def _case_officer(request: Any) -> str:
    officer = request.case_officer
    return officer.display_name if officer is not None else ""


REQUEST_COLUMNS = (
    Column(_("Reference"), "display_reference"),
    Column(_("Title"), "title"),
    Column(_("Organisation"), "organisation.name"),
    Column(_("Country"), "country.display_name"),
    Column(_("Region"), "country.get_region_display"),
    Column(_("Status"), "get_status_display"),
    Column(_("Thematic areas"), _areas),
    Column(_("GCM objectives"), _gcm),
    Column(_("Working languages"), _languages),
    Column(_("Preferred start"), "preferred_start"),
    Column(_("Preferred end"), "preferred_end"),
    Column(_("Problem statement"), "problem_statement"),
    Column(_("Expected outcomes"), "expected_outcomes"),
    Column(_("Target institutions"), "target_institutions"),
    Column(_("Case officer"), _case_officer),
    Column(_("Created"), "created_at"),
    Column(_("Submitted"), "submitted_at"),
    Column(_("First response"), "first_response_at"),
    Column(_("Decided"), "decided_at"),
    Column(_("Reason for the decision"), "decision_reason"),
)


def _sla_state(request: Any) -> str:
    target = sla.triage_sla(request)
    return target.label if target is not None else ""


def _sla_due(request: Any) -> Any:
    target = sla.triage_sla(request)
    return target.due if target is not None else None


# The triage queue adds the service-level target that matters now (as the page shows it).
TRIAGE_COLUMNS = (
    *REQUEST_COLUMNS,
    Column(_("Service level"), _sla_state),
    Column(_("Service level due"), _sla_due),
)
