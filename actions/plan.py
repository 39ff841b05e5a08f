"""An action's plan as plain data: period, objectives, activities and their expertise needs.

Both ways of changing a plan go through this module. While the action is in design, staff
edit the plan and it is written to the tables at once (``apply``); once it is agreed, an
amendment holds the edited plan (``Amendment.proposal``) next to the plan as it was
(``before``), ``diff`` says what changes, and ``apply`` writes it when the partner co-signs.

Items carry a ``key``: ``o12`` / ``a5`` / ``n7`` for rows that exist, ``new-…`` for rows an
amendment adds. Dates are ISO strings so a plan can be stored as JSON.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from actions.models import (
    Action,
    ActionStatus,
    Activity,
    ActivityStatus,
    ActivityType,
    ExpertiseNeed,
    Modality,
    Objective,
    OriginPreference,
    Skill,
)
from cbportal.accounts.models import Country
from cbportal.core.errors import ApplicationError
from cbportal.core.models import Language, ThematicArea

Plan = dict[str, Any]

ACTIVITY_FIELDS = (
    "type",
    "title",
    "description",
    "start_date",
    "end_date",
    "modality",
    "country",
    "city",
    "expected_participants",
    "participants_women",
    "participants_men",
    "participants_other",
    "status",
)
NEED_FIELDS = (
    "thematic_area",
    "skills",
    "languages",
    "experts_needed",
    "expert_days",
    "origin_preference",
    "notes",
)


def new_key() -> str:
    return f"new-{uuid.uuid4().hex[:10]}"


def row_id(key: str, prefix: str) -> int | None:
    """The id of an existing row named by ``key`` (``o12`` → 12), or None for a new item."""
    match = re.fullmatch(rf"{prefix}(\d+)", key or "")
    return int(match.group(1)) if match else None


# --- reading ---------------------------------------------------------------------------


def snapshot(action: Action) -> Plan:
    """The plan as stored, as data (uses prefetched relations when present)."""
    objectives = list(action.objectives.all())
    activities = list(action.activities.all())
    return {
        "start_date": action.start_date.isoformat(),
        "end_date": action.end_date.isoformat(),
        "objectives": [
            {"key": f"o{o.pk}", "text": o.text, "gaps": sorted(g.pk for g in o.gaps.all())}
            for o in objectives
        ],
        "activities": [
            {
                "key": f"a{a.pk}",
                "type": a.type,
                "title": a.title,
                "description": a.description,
                "start_date": a.start_date.isoformat(),
                "end_date": a.end_date.isoformat(),
                "modality": a.modality,
                "country": a.country_id or "",
                "city": a.city,
                "expected_participants": a.expected_participants,
                "participants_women": a.participants_women,
                "participants_men": a.participants_men,
                "participants_other": a.participants_other,
                "status": a.status,
                "objectives": sorted(f"o{o.pk}" for o in a.objectives.all()),
                "needs": [
                    {
                        "key": f"n{n.pk}",
                        "thematic_area": n.thematic_area.slug,
                        "skills": sorted(s.name for s in n.skills.all()),
                        "languages": sorted(lang.code for lang in n.languages.all()),
                        "experts_needed": n.experts_needed,
                        "expert_days": n.expert_days,
                        "origin_preference": n.origin_preference,
                        "notes": n.notes,
                    }
                    for n in a.needs.all()
                ],
            }
            for a in activities
        ],
    }


def _parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


# --- checking --------------------------------------------------------------------------

MAX_EXPERTS = 1000
MAX_EXPERT_DAYS = 10000
MAX_PARTICIPANTS = 1_000_000


class Refs:
    """Reference data one validation or diff pass needs, each loaded once (so that checking
    a plan costs a fixed number of queries, whatever its size)."""

    def __init__(self) -> None:
        self._countries: set[str] | None = None
        self._areas: dict[str, ThematicArea] | None = None
        self._languages: set[str] | None = None
        self._gaps: dict[int, Any] = {}

    @property
    def countries(self) -> set[str]:
        if self._countries is None:
            self._countries = set(Country.objects.values_list("code", flat=True))
        return self._countries

    @property
    def areas(self) -> dict[str, ThematicArea]:
        if self._areas is None:
            self._areas = {a.slug: a for a in ThematicArea.objects.all()}
        return self._areas

    @property
    def languages(self) -> set[str]:
        if self._languages is None:
            self._languages = set(Language.objects.values_list("code", flat=True))
        return self._languages

    def gaps(self, ids: list[int]) -> list[Any]:
        from requests_app.models import CapacityGap

        missing = [i for i in ids if i not in self._gaps]
        if missing:
            for gap in CapacityGap.objects.filter(pk__in=missing):
                self._gaps[gap.pk] = gap
        return sorted(
            (self._gaps[i] for i in ids if i in self._gaps),
            key=lambda g: (g.level, g.position, g.pk),
        )


def activity_errors(
    item: dict[str, Any], plan: Plan, prefix: str = "", refs: Refs | None = None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(f"{prefix}{field}", []).append(message)

    if item.get("type") not in ActivityType.values:
        add("type", _("Choose the type of activity."))
    if not str(item.get("title") or "").strip():
        add("title", _("Give the activity a title."))
    if item.get("modality") not in Modality.values:
        add("modality", _("Choose on-site, remote or hybrid."))
    if item.get("status", ActivityStatus.PLANNED) not in ActivityStatus.values:
        add("status", _("Unknown activity status."))
    start, end = _parse_date(item.get("start_date")), _parse_date(item.get("end_date"))
    period_start, period_end = (
        _parse_date(plan.get("start_date")),
        _parse_date(plan.get("end_date")),
    )
    if start is None:
        add("start_date", _("Give a start date."))
    if end is None:
        add("end_date", _("Give an end date."))
    if start and end and end < start:
        add("end_date", _("The end must not be before the start."))
    if period_start and start and start < period_start:
        add(
            "start_date",
            _("The activity starts before the action (%(date)s).") % {"date": period_start},
        )
    if period_end and end and end > period_end:
        add("end_date", _("The activity ends after the action (%(date)s).") % {"date": period_end})
    counts = (
        "expected_participants",
        "participants_women",
        "participants_men",
        "participants_other",
    )
    for field in counts:
        try:
            count = int(item.get(field) or 0)
        except (TypeError, ValueError):
            add(field, _("Enter a whole number."))
            continue
        if count < 0:
            add(field, _("Must not be negative."))
        elif count > MAX_PARTICIPANTS:
            add(field, _("At most %(most)s.") % {"most": MAX_PARTICIPANTS})
    if not errors:
        split = sum(int(item.get(f) or 0) for f in counts[1:])
        if split > int(item.get("expected_participants") or 0):
            add(
                "participants_women",
                _("Women, men and other add up to more than the expected participants."),
            )
    objective_keys = {o["key"] for o in plan.get("objectives", [])}
    unknown = [k for k in item.get("objectives", []) if k not in objective_keys]
    if unknown:
        add("objectives", _("Link only objectives of this action."))
    refs = refs or Refs()
    if item.get("country") and item["country"] not in refs.countries:
        add("country", _("Unknown country."))
    if len(str(item.get("city") or "")) > 100:
        add("city", _("At most 100 characters."))
    if len(str(item.get("title") or "")) > 200:
        add("title", _("At most 200 characters."))
    return errors


def need_errors(
    item: dict[str, Any], prefix: str = "", refs: Refs | None = None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(f"{prefix}{field}", []).append(message)

    refs = refs or Refs()
    if item.get("thematic_area") not in refs.areas:
        add("thematic_area", _("Choose a thematic area."))
    limits = (
        ("experts_needed", _("experts"), MAX_EXPERTS),
        ("expert_days", _("expert-days"), MAX_EXPERT_DAYS),
    )
    for field, label, most in limits:
        try:
            value = int(item.get(field) or 0)
        except (TypeError, ValueError):
            add(field, _("Enter a whole number."))
            continue
        if value < 1:
            add(field, _("At least one (%(what)s).") % {"what": label})
        elif value > most:
            add(field, _("At most %(most)s.") % {"most": most})
    if item.get("origin_preference", OriginPreference.ANY) not in OriginPreference.values:
        add("origin_preference", _("Choose an origin preference."))
    codes = list(item.get("languages") or [])
    if any(code not in refs.languages for code in codes):
        add("languages", _("Unknown language code."))
    return errors


def shape_errors(proposal: Any) -> list[str]:
    """What makes a plan sent by a client unreadable (before checking its content)."""
    problems: list[str] = []
    if not isinstance(proposal, dict):
        return [
            _("The plan must be an object with start_date, end_date, objectives and activities.")
        ]
    for field in ("start_date", "end_date"):
        if not isinstance(proposal.get(field), str):
            problems.append(_("%(field)s must be an ISO date.") % {"field": field})
    for field, children in (("objectives", ()), ("activities", ("needs",))):
        items = proposal.get(field)
        if not isinstance(items, list):
            problems.append(_("%(field)s must be a list.") % {"field": field})
            continue
        for item in items:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("key"), str)
                or not item["key"]
            ):
                problems.append(_("Every item of %(field)s needs a text key.") % {"field": field})
                break
            for child in children:
                nested = item.get(child, [])
                if not isinstance(nested, list) or any(
                    not isinstance(n, dict) or not isinstance(n.get("key"), str) for n in nested
                ):
                    problems.append(
                        _("%(field)s must be a list of items with a key.") % {"field": child}
                    )
            if field == "objectives" and (
                not isinstance(item.get("text"), str)
                or not isinstance(item.get("gaps"), list)
                or not all(isinstance(g, int) for g in item["gaps"])
            ):
                problems.append(_("An objective needs a text and a list of gap ids."))
            if field == "activities" and not isinstance(item.get("objectives", []), list):
                problems.append(_("An activity's objectives must be a list of objective keys."))
    return problems


def plan_problems(plan: Plan, action: Action) -> list[str]:
    """What stops the plan from being proposed, in words."""
    problems: list[str] = []
    start, end = _parse_date(plan.get("start_date")), _parse_date(plan.get("end_date"))
    if not start or not end or end < start:
        problems.append(_("Give the action a period in order."))
    if not plan.get("objectives"):
        problems.append(_("Add at least one objective."))
    gap_ids = set(action.assessment.gaps.values_list("pk", flat=True))
    for objective in plan.get("objectives", []):
        if not objective.get("gaps"):
            problems.append(
                _("Objective “%(text)s” closes no capacity gap.") % {"text": objective["text"][:60]}
            )
        elif not set(objective["gaps"]) <= gap_ids:
            problems.append(
                _("Objective “%(text)s” links a gap of another assessment.")
                % {"text": objective["text"][:60]}
            )
    if not plan.get("activities"):
        problems.append(_("Add at least one activity."))
    refs = Refs()
    for activity in plan.get("activities", []):
        if activity_errors(activity, plan, refs=refs):
            problems.append(
                _("Activity “%(title)s” needs correcting.")
                % {"title": activity.get("title", "")[:60]}
            )
        for need in activity.get("needs", []):
            if need_errors(need, refs=refs):
                problems.append(
                    _("An expertise need of “%(title)s” needs correcting.")
                    % {"title": activity.get("title", "")[:60]}
                )
    problems.extend(_deployed_needs_removed(plan, action))
    return problems


def _deployed_needs_removed(plan: Plan, action: Action) -> list[str]:
    """A need with an open invitation or a mission stays in the plan: its deployments are
    the record of who is asked and who went (cancel open ones first)."""
    from experts.models import Deployment, DeploymentStatus  # experts imports actions

    if action.status == ActionStatus.DESIGN:
        return []  # nobody is invited before the plan is approved
    kept = {
        row_id(n.get("key", ""), "n")
        for a in plan.get("activities", [])
        for n in a.get("needs", [])
    }
    engaged = (
        Deployment.objects.filter(need__activity__action=action)
        .filter(
            status__in=[
                DeploymentStatus.INVITED,
                DeploymentStatus.ACCEPTED,
                DeploymentStatus.CONFIRMED,
                DeploymentStatus.COMPLETED,
            ]
        )
        .exclude(need_id__in=[k for k in kept if k])
        .select_related("need__activity", "expert")
        .order_by("need_id", "id")
    )
    return [
        _(
            "“%(title)s” has an expert invited or deployed (%(expert)s): cancel that first or keep its need."
        )
        % {"title": d.need.activity.title[:60], "expert": d.expert.full_name}
        for d in engaged
    ]


# --- editing (pure: each returns a new plan or raises ApplicationError) --------------------


def _find(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    for item in items:
        if item["key"] == key:
            return item
    raise ApplicationError(_("This item is no longer part of the plan."), field="key")


def set_period(plan: Plan, start: Any, end: Any) -> Plan:
    s, e = _parse_date(start), _parse_date(end)
    errors: dict[str, list[str]] = {}
    if s is None:
        errors["start_date"] = [_("Give a start date.")]
    if e is None:
        errors["end_date"] = [_("Give an end date.")]
    if s and e and e < s:
        errors["end_date"] = [_("The end must not be before the start.")]
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    assert s is not None and e is not None
    new = {**plan, "start_date": s.isoformat(), "end_date": e.isoformat()}
    outside = [a["title"] for a in new["activities"] if activity_errors(a, new)]
    if outside:
        raise ApplicationError(
            _("These activities would fall outside the new period: %(titles)s. Move them first.")
            % {"titles": ", ".join(outside)},
            field="start_date",
        )
    return new


def save_objective(
    plan: Plan, action: Action, *, key: str | None, text: str, gaps: list[int]
) -> Plan:
    errors: dict[str, list[str]] = {}
    if not text.strip():
        errors["text"] = [_("Write the objective.")]
    gap_ids = set(action.assessment.gaps.values_list("pk", flat=True))
    if not gaps:
        errors["gaps"] = [_("Link the objective to at least one capacity gap it closes.")]
    elif not set(gaps) <= gap_ids:
        errors["gaps"] = [_("Link only gaps of this action's needs assessment.")]
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    objectives = [dict(o) for o in plan["objectives"]]
    if key:
        item = _find(objectives, key)
        item.update(text=text.strip(), gaps=sorted(set(gaps)))
    else:
        objectives.append({"key": new_key(), "text": text.strip(), "gaps": sorted(set(gaps))})
    return {**plan, "objectives": objectives}


def remove_objective(plan: Plan, key: str) -> Plan:
    _find(plan["objectives"], key)
    activities = [
        {**a, "objectives": [k for k in a.get("objectives", []) if k != key]}
        for a in plan["activities"]
    ]
    return {
        **plan,
        "objectives": [o for o in plan["objectives"] if o["key"] != key],
        "activities": activities,
    }


def save_activity(plan: Plan, *, key: str | None, data: dict[str, Any]) -> Plan:
    item = {field: data.get(field, "") for field in ACTIVITY_FIELDS}
    for field in ("start_date", "end_date"):
        parsed = _parse_date(item[field])
        item[field] = parsed.isoformat() if parsed else item[field]
    if isinstance(item.get("country"), Country):
        item["country"] = item["country"].code
    item["status"] = item.get("status") or ActivityStatus.PLANNED
    for field in (
        "expected_participants",
        "participants_women",
        "participants_men",
        "participants_other",
    ):
        item[field] = item[field] if item[field] not in (None, "") else 0
    item["objectives"] = sorted(data.get("objectives") or [])
    errors = activity_errors(item, plan)
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    activities = [dict(a) for a in plan["activities"]]
    if key:
        existing = _find(activities, key)
        existing.update(item)
    else:
        activities.append({"key": new_key(), "needs": [], **item})
    return {**plan, "activities": activities}


def remove_activity(plan: Plan, key: str) -> Plan:
    _find(plan["activities"], key)
    return {**plan, "activities": [a for a in plan["activities"] if a["key"] != key]}


def save_need(plan: Plan, *, activity_key: str, key: str | None, data: dict[str, Any]) -> Plan:
    item: dict[str, Any] = {field: data.get(field) for field in NEED_FIELDS}
    if isinstance(item["thematic_area"], ThematicArea):
        item["thematic_area"] = item["thematic_area"].slug
    item["skills"] = sorted({str(s).strip()[:80] for s in (item["skills"] or []) if str(s).strip()})
    item["languages"] = sorted(
        {
            (lang.code if isinstance(lang, Language) else str(lang))
            for lang in (item["languages"] or [])
        }
    )
    item["origin_preference"] = item["origin_preference"] or OriginPreference.ANY
    item["notes"] = item["notes"] or ""
    errors = need_errors(item)
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    item["experts_needed"] = int(str(item["experts_needed"]))
    item["expert_days"] = int(str(item["expert_days"]))
    activities = [dict(a) for a in plan["activities"]]
    activity = _find(activities, activity_key)
    needs = [dict(n) for n in activity.get("needs", [])]
    if key:
        _find(needs, key).update(item)
    else:
        needs.append({"key": new_key(), **item})
    activity["needs"] = needs
    return {**plan, "activities": activities}


def remove_need(plan: Plan, *, activity_key: str, key: str) -> Plan:
    activities = [dict(a) for a in plan["activities"]]
    activity = _find(activities, activity_key)
    _find(activity.get("needs", []), key)
    activity["needs"] = [n for n in activity["needs"] if n["key"] != key]
    return {**plan, "activities": activities}


# --- writing ---------------------------------------------------------------------------


@transaction.atomic
def apply(action: Action, plan: Plan) -> dict[str, int]:
    """Make the stored plan equal to ``plan``: update rows by key, add new ones, delete
    those that are gone. Returns each item's key → row id. The caller holds the action's
    row lock."""
    ids: dict[str, int] = {}
    action.start_date = _parse_date(plan["start_date"])  # type: ignore[assignment]
    action.end_date = _parse_date(plan["end_date"])  # type: ignore[assignment]
    action.save(update_fields=["start_date", "end_date", "updated_at"])

    objective_ids: dict[str, int] = {}
    keep_objectives = []
    for position, item in enumerate(plan["objectives"]):
        oid = row_id(item["key"], "o")
        if oid and Objective.objects.filter(pk=oid, action=action).exists():
            objective = Objective.objects.get(pk=oid)
            objective.text, objective.position = item["text"], position
            objective.save(update_fields=["text", "position"])
        else:
            objective = Objective.objects.create(
                action=action, text=item["text"], position=position
            )
        objective.gaps.set(item["gaps"])
        objective_ids[item["key"]] = objective.pk
        ids[item["key"]] = objective.pk
        keep_objectives.append(objective.pk)
    action.objectives.exclude(pk__in=keep_objectives).delete()

    keep_activities = []
    for position, item in enumerate(plan["activities"]):
        values = {field: item.get(field) for field in ACTIVITY_FIELDS if field != "country"}
        values["start_date"] = _parse_date(values["start_date"])
        values["end_date"] = _parse_date(values["end_date"])
        values["country_id"] = item.get("country") or None
        values["position"] = position
        key = item["key"]
        aid = row_id(key, "a")
        if aid and Activity.objects.filter(pk=aid, action=action).exists():
            activity = Activity.objects.get(pk=aid)
            for field, value in values.items():
                setattr(activity, field, value)
            activity.save()
        else:
            activity = Activity.objects.create(action=action, **values)
        activity.objectives.set(
            [objective_ids[k] for k in item.get("objectives", []) if k in objective_ids]
        )
        keep_activities.append(activity.pk)
        ids[key] = activity.pk
        keep_needs = []
        for need_item in item.get("needs", []):
            need_values = {
                "thematic_area": ThematicArea.objects.get(slug=need_item["thematic_area"]),
                "experts_needed": int(need_item["experts_needed"]),
                "expert_days": int(need_item["expert_days"]),
                "origin_preference": need_item.get("origin_preference") or OriginPreference.ANY,
                "notes": need_item.get("notes") or "",
            }
            nkey = need_item["key"]
            nid = row_id(nkey, "n")
            if nid and ExpertiseNeed.objects.filter(pk=nid, activity__action=action).exists():
                need = ExpertiseNeed.objects.get(pk=nid)
                for field, value in need_values.items():
                    setattr(need, field, value)
                need.activity = activity
                need.save()
            else:
                need = ExpertiseNeed.objects.create(activity=activity, **need_values)
            need.skills.set(
                [Skill.objects.get_or_create(name=name)[0] for name in need_item.get("skills", [])]
            )
            need.languages.set(
                list(Language.objects.filter(code__in=need_item.get("languages", [])))
            )
            keep_needs.append(need.pk)
            ids[nkey] = need.pk
        activity.needs.exclude(pk__in=keep_needs).delete()
    action.activities.exclude(pk__in=keep_activities).delete()
    return ids


# --- explaining ------------------------------------------------------------------------


def _label(choices: Any, value: Any) -> str:
    return str(dict(choices).get(value, value))


def _activity_line(a: dict[str, Any]) -> str:
    return f"{_label(ActivityType.choices, a.get('type'))} — {a.get('title')} ({a.get('start_date')} → {a.get('end_date')})"


def _need_line(n: dict[str, Any], refs: Refs) -> str:
    area = refs.areas.get(n.get("thematic_area") or "")
    line = _("%(area)s: %(experts)s expert(s), %(days)s expert-day(s)") % {
        "area": area.display_name if area else n.get("thematic_area"),
        "experts": n.get("experts_needed"),
        "days": n.get("expert_days"),
    }
    details = [
        str(_label(OriginPreference.choices, n.get("origin_preference"))),
        ", ".join(n.get("skills") or []),
        ", ".join(n.get("languages") or []),
        n.get("notes") or "",
    ]
    return "; ".join([line, *[d for d in details if d]])


def _objective_line(o: dict[str, Any], refs: Refs) -> str:
    gaps = refs.gaps(list(o.get("gaps", [])))
    closes = "; ".join(f"{g.get_level_display()}: {g.description[:60]}" for g in gaps)
    return f"{o['text']} ({closes})" if closes else o["text"]


ACTIVITY_LABELS = {
    "type": gettext_lazy("type"),
    "title": gettext_lazy("title"),
    "description": gettext_lazy("description"),
    "start_date": gettext_lazy("start"),
    "end_date": gettext_lazy("end"),
    "modality": gettext_lazy("modality"),
    "country": gettext_lazy("country"),
    "city": gettext_lazy("city"),
    "expected_participants": gettext_lazy("expected participants"),
    "participants_women": gettext_lazy("women"),
    "participants_men": gettext_lazy("men"),
    "participants_other": gettext_lazy("other"),
    "status": gettext_lazy("status"),
    "objectives": gettext_lazy("objectives"),
}


def diff(before: Plan, after: Plan, refs: Refs | None = None) -> list[dict[str, str]]:
    """What an amendment changes, as readable rows ``{what, before, after}``. Pass one
    ``Refs`` to several calls to share their lookups."""
    refs = refs or Refs()
    rows: list[dict[str, str]] = []
    if not before or not after:
        return rows
    if (before.get("start_date"), before.get("end_date")) != (
        after.get("start_date"),
        after.get("end_date"),
    ):
        rows.append(
            {
                "what": str(_("Period")),
                "before": f"{before.get('start_date')} → {before.get('end_date')}",
                "after": f"{after.get('start_date')} → {after.get('end_date')}",
            }
        )
    old_obj = {o["key"]: o for o in before.get("objectives", [])}
    new_obj = {o["key"]: o for o in after.get("objectives", [])}
    for key, o in new_obj.items():
        if key not in old_obj:
            rows.append(
                {"what": str(_("Objective added")), "before": "", "after": _objective_line(o, refs)}
            )
        elif old_obj[key] != o:
            rows.append(
                {
                    "what": str(_("Objective changed")),
                    "before": _objective_line(old_obj[key], refs),
                    "after": _objective_line(o, refs),
                }
            )
    for key, o in old_obj.items():
        if key not in new_obj:
            rows.append(
                {
                    "what": str(_("Objective removed")),
                    "before": _objective_line(o, refs),
                    "after": "",
                }
            )
    old_act = {a["key"]: a for a in before.get("activities", [])}
    new_act = {a["key"]: a for a in after.get("activities", [])}
    for key, a in new_act.items():
        if key not in old_act:
            rows.append(
                {"what": str(_("Activity added")), "before": "", "after": _activity_line(a)}
            )
            for n in a.get("needs", []):
                rows.append(
                    {
                        "what": str(_("Expertise need added")),
                        "before": "",
                        "after": _need_line(n, refs),
                    }
                )
            continue
        old = old_act[key]
        for field in (*ACTIVITY_FIELDS, "objectives"):
            if old.get(field) != a.get(field):
                rows.append(
                    {
                        "what": str(
                            _("“%(title)s”: %(field)s")
                            % {"title": a.get("title"), "field": ACTIVITY_LABELS[field]}
                        ),
                        "before": str(old.get(field, "")),
                        "after": str(a.get(field, "")),
                    }
                )
        old_needs = {n["key"]: n for n in old.get("needs", [])}
        new_needs = {n["key"]: n for n in a.get("needs", [])}
        for nkey, n in new_needs.items():
            if nkey not in old_needs:
                rows.append(
                    {
                        "what": str(_("Expertise need added")),
                        "before": "",
                        "after": _need_line(n, refs),
                    }
                )
            elif old_needs[nkey] != n:
                rows.append(
                    {
                        "what": str(_("Expertise need changed")),
                        "before": _need_line(old_needs[nkey], refs),
                        "after": _need_line(n, refs),
                    }
                )
        for nkey, n in old_needs.items():
            if nkey not in new_needs:
                rows.append(
                    {
                        "what": str(_("Expertise need removed")),
                        "before": _need_line(n, refs),
                        "after": "",
                    }
                )
    for key, a in old_act.items():
        if key not in new_act:
            rows.append(
                {"what": str(_("Activity removed")), "before": _activity_line(a), "after": ""}
            )
    return rows
