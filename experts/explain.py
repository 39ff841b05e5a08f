"""Matching's stored facts put into words, in the reader's language.

``experts.matching`` stores, with each line of a shortlist, every component's score and the
facts behind it (``{"skills": {"matched": [12, 40], "asked": 3}}``). Staff must be able to
say why an expert ranks where they do: these functions turn those facts into sentences.
They read nothing from the database; skill names, when wanted, are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from experts.matching import COMPONENTS, EXCLUSION_REASONS

COMPONENT_LABELS = {
    "thematic": gettext_lazy("Thematic fit"),
    "skills": gettext_lazy("Skill coverage"),
    "experience": gettext_lazy("Experience in the country or region"),
    "origin": gettext_lazy("Origin preference"),
    "track_record": gettext_lazy("Track record"),
    "workload": gettext_lazy("Workload balance"),
}

EXCLUSION_LABELS = {
    "inactive_or_unvetted": gettext_lazy("Inactive or not vetted"),
    "language": gettext_lazy("Missing a required language at B2 or above"),
    "unavailable": gettext_lazy("Unavailable during the activity"),
    "conflict_of_interest": gettext_lazy(
        "Conflict of interest (employed by the requesting organisation)"
    ),
    "already_invited": gettext_lazy("Already invited or answered for this need"),
}

assert set(COMPONENT_LABELS) == set(COMPONENTS)
assert set(EXCLUSION_LABELS) == set(EXCLUSION_REASONS)


def component_label(name: str) -> str:
    return str(COMPONENT_LABELS.get(name, name))


def exclusion_label(reason: str) -> str:
    return str(EXCLUSION_LABELS.get(reason, reason))


def _thematic(facts: Mapping[str, Any], **_kw: Any) -> str:
    if facts.get("fit"):
        return _("Works in the thematic area of the need.")
    return _("Does not work in the thematic area of the need.")


def _skills(facts: Mapping[str, Any], *, skill_names: Mapping[int, str] | None = None) -> str:
    asked = int(facts.get("asked") or 0)
    matched = list(facts.get("matched") or [])
    if asked == 0:
        return _("The need asks for no particular skill.")
    if not matched:
        return ngettext(
            "Does not have the skill asked for.",
            "Has none of the %(asked)s skills asked for.",
            asked,
        ) % {"asked": asked}
    names = sorted(skill_names[s] for s in matched if skill_names and s in skill_names)
    values = {"count": len(matched), "asked": asked, "names": ", ".join(names)}
    if names:
        return (
            ngettext(
                "Has %(count)s of the %(asked)s skill asked for: %(names)s.",
                "Has %(count)s of the %(asked)s skills asked for: %(names)s.",
                asked,
            )
            % values
        )
    return (
        ngettext(
            "Has %(count)s of the %(asked)s skill asked for.",
            "Has %(count)s of the %(asked)s skills asked for.",
            asked,
        )
        % values
    )


def _experience(facts: Mapping[str, Any], **_kw: Any) -> str:
    where = facts.get("where") or ""
    if where == "country":
        return _("Has worked in the partner country.")
    if where == "subregion":
        return _("Has worked in the partner country's sub-region.")
    if where == "region":
        return _("Has worked in the partner country's region.")
    return _("No recorded experience in the partner country's region.")


def _origin(facts: Mapping[str, Any], **_kw: Any) -> str:
    preference = facts.get("preference")
    admin = facts.get("administration_type")
    if preference == "eu_member_state":
        if admin == "eu_member_state":
            return _("From an EU member-state administration, as the need prefers.")
        return _("Not from an EU member-state administration, which the need prefers.")
    if preference == "partner_region_peer":
        if admin != "partner_country":
            return _(
                "Not from a partner-country administration; the need prefers a peer "
                "from the partner's region."
            )
        if facts.get("same_region"):
            return _("A peer from a partner-country administration of the partner's region.")
        return _(
            "A peer from a partner-country administration of another region "
            "(still South–South cooperation)."
        )
    return _("The need has no origin preference.")


def _track_record(facts: Mapping[str, Any], **_kw: Any) -> str:
    missions = int(facts.get("missions") or 0)
    if missions == 0:
        return _("No rated mission yet: a neutral score.")
    return ngettext(
        "%(missions)s rated mission, %(average)s out of 5 on average.",
        "%(missions)s rated missions, %(average)s out of 5 on average.",
        missions,
    ) % {"missions": missions, "average": facts.get("average")}


def _workload(facts: Mapping[str, Any], **_kw: Any) -> str:
    recent = int(facts.get("recent") or 0)
    days = settings.MATCH_WORKLOAD_DAYS
    if recent == 0:
        return _("No mission in the last %(days)s days or ahead.") % {"days": days}
    return ngettext(
        "%(recent)s mission in the last %(days)s days or ahead.",
        "%(recent)s missions in the last %(days)s days or ahead.",
        recent,
    ) % {"recent": recent, "days": days}


_DESCRIBERS: dict[str, Callable[..., str]] = {
    "thematic": _thematic,
    "skills": _skills,
    "experience": _experience,
    "origin": _origin,
    "track_record": _track_record,
    "workload": _workload,
}


def describe(
    component: str, facts: Mapping[str, Any] | None, *, skill_names: Mapping[int, str] | None = None
) -> str:
    """One sentence saying why ``component`` scored what it did. ``skill_names`` (skill id →
    name) lets the skills sentence name the skills the expert has."""
    describer = _DESCRIBERS.get(component)
    if describer is None:
        return ""
    return describer(facts or {}, skill_names=skill_names)


def describe_exclusions(exclusions: Mapping[str, int] | None) -> list[tuple[str, str, int]]:
    """``(reason, label, count)`` for each reason of the funnel, in its order."""
    exclusions = exclusions or {}
    return [
        (reason, exclusion_label(reason), int(exclusions.get(reason) or 0))
        for reason in EXCLUSION_REASONS
    ]
