"""The portfolio dashboard's figures, computed in the database.

``portfolio_report(filters)`` returns one JSON-ready dict that the page (``/dashboard/``)
and the API (``GET /api/v1/reports/portfolio/``) both show, so that they never differ.
Every figure is an aggregate query — ``Count``/``Sum`` with ``filter=``, ``TruncMonth``,
``values().annotate()``; Python only fills empty months and categories with zeros, divides
exact sums by exact counts, and interpolates percentiles from the one or two values the
database returns at the right positions. The number of queries does not grow with the data.

What each figure counts. Region, country, thematic area and GCM objective narrow every
figure: through the request itself for requests, through the action otherwise.

- **Requests.** *Received*: submitted in the period. Per month: submitted (by submission
  date) and decided — accepted or declined — (by decision date). *Acceptance rate*:
  accepted / decided, over the decisions taken in the period. *Time to first response*:
  over the requests first answered in the period; *time to decision*: over the decisions
  in the period — calendar days, median and 90th percentile (linear interpolation between
  the closest ranks, as PostgreSQL's ``percentile_cont``), and the share done by the due
  date fixed at submission (working days, requests_app/sla.py). *Waiting past target*:
  open requests whose current target has passed, now.
- **Actions** whose period overlaps the chosen one: by status, thematic area (an action
  with two areas counts under both), GCM objective (all 23) and region of the country;
  *running*: in implementation.
- **Deployments** confirmed or completed that start in the period, by start month, with
  their expert-days; *experts deployed* (each counted once) by administration type:
  partner-country administrations (South–South), EU member states, others.
- **Indicators** of the actions above, by progress status; *on track*: on track or target
  reached, out of those measured.
- **Final evaluations** submitted in the period: average rating of each DAC criterion.
- **Feedback** given in the period: average satisfaction (1–5), participants and partners.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import formats, timezone, translation
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from actions.models import Action, ActionStatus
from cbportal.accounts.models import Country, Region
from cbportal.core.models import GcmObjective, ThematicArea
from evaluations.models import (
    DAC_CRITERIA,
    EvaluationStatus,
    Feedback,
    FinalEvaluation,
    Indicator,
    Progress,
    RespondentKind,
)
from experts.models import BOOKED_STATUSES, AdministrationType, Deployment
from requests_app.models import DECIDED_STATUSES, AssistanceRequest, RequestStatus
from requests_app.sla import SlaState, pending_sla_filter

__all__ = [
    "MAX_MONTHS",
    "PortfolioFilterForm",
    "PortfolioFilters",
    "cached_portfolio_report",
    "default_period",
    "portfolio_report",
    "warm_portfolio_reports",
]

# The monthly charts show at most this many months.
MAX_MONTHS = 24
# Dates outside these bounds are refused (and cannot overflow the period's arithmetic).
EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)
# The percentiles of the timeliness figures.
MEDIAN, P90 = Decimal("0.5"), Decimal("0.9")
_MICROSECONDS_PER_DAY = Decimal(86_400_000_000)

# Deployed experts by origin: the South–South figure is the share of partner-country
# administrations; international organisations and academia are "other".
SOUTH_SOUTH, EU, OTHER_ORIGIN = "south_south", "eu_member_state", "other"
ORIGIN_OF: dict[str, str] = {
    AdministrationType.PARTNER_COUNTRY: SOUTH_SOUTH,
    AdministrationType.EU_MEMBER_STATE: EU,
}
ORIGIN_LABELS = {
    SOUTH_SOUTH: gettext_lazy("Partner-country administrations (South–South)"),
    EU: gettext_lazy("EU member-state administrations"),
    OTHER_ORIGIN: gettext_lazy("International organisations, academia and others"),
}
ON_TRACK_STATUSES = (Progress.ON_TRACK, Progress.ACHIEVED)


# --- filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioFilters:
    """What the dashboard shows: a period (both days included) and optional narrowing by
    region, country (ISO code), thematic area (slug) and GCM objective (number)."""

    date_from: date
    date_to: date
    region: str = ""
    country: str = ""
    thematic_area: str = ""
    gcm_objective: int | None = None

    @classmethod
    def default(cls, today: date | None = None) -> PortfolioFilters:
        """The whole portfolio over the last 12 months (see ``default_period``)."""
        start, end = default_period(today)
        return cls(date_from=start, date_to=end)

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "region": self.region or None,
            "country": self.country or None,
            "thematic_area": self.thematic_area or None,
            "gcm_objective": self.gcm_objective,
        }

    def query_params(self) -> dict[str, Any]:
        """The filters as the page's and the API's query parameters (empty ones left out)."""
        return {k: v for k, v in self.as_json().items() if v is not None}


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _months_between(start: date, end: date) -> int:
    """How many month buckets the period ``start``–``end`` touches."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last 12 months: from the first day of the month eleven months ago to today."""
    today = today or timezone.localdate()
    return _add_months(today, -11), today


class _CountryCode(forms.ModelChoiceField):
    """A country by ISO code, in any case."""

    def to_python(self, value: Any) -> Any:
        return super().to_python(value.strip().upper() if isinstance(value, str) else value)

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class _ThematicArea(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class _GcmObjective(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.number}. {obj.display_title}"


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class PortfolioFilterForm(forms.Form):
    """The dashboard's filters, as the page's GET form and the API's query parameters
    (``from``, ``to``, ``region``, ``country``, ``thematic_area``, ``gcm_objective``).
    Everything is optional; the period defaults to the last 12 months (see
    ``default_period``) and may cover at most ``MAX_MONTHS`` months."""

    # "from" is a Python keyword: the fields are declared below, under their query names.
    region = forms.ChoiceField(
        label=gettext_lazy("Region"),
        required=False,
        choices=[("", gettext_lazy("All regions")), *Region.choices],
    )
    country = _CountryCode(
        label=gettext_lazy("Country"),
        queryset=Country.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=gettext_lazy("All countries"),
    )
    thematic_area = _ThematicArea(
        label=gettext_lazy("Thematic area"),
        queryset=ThematicArea.objects.all(),
        required=False,
        to_field_name="slug",
        empty_label=gettext_lazy("All thematic areas"),
    )
    gcm_objective = _GcmObjective(
        label=gettext_lazy("GCM objective"),
        queryset=GcmObjective.objects.all(),
        required=False,
        empty_label=gettext_lazy("All GCM objectives"),
    )

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        start, end = default_period(self.today)
        period = {
            "from": forms.DateField(
                label=gettext_lazy("From"),
                required=False,
                widget=_DateInput(),
                help_text=_("Default: %(date)s.") % {"date": formats.date_format(start)},
            ),
            "to": forms.DateField(
                label=gettext_lazy("To"),
                required=False,
                widget=_DateInput(),
                help_text=_("Default: today (%(date)s).") % {"date": formats.date_format(end)},
            ),
        }
        self.fields = {**period, **self.fields}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("from", "to"):
            day = data.get(name)
            if day is not None and not EARLIEST <= day <= LATEST:
                self.add_error(
                    name,
                    forms.ValidationError(
                        _("Choose a date between %(earliest)s and %(latest)s.")
                        % {
                            "earliest": formats.date_format(EARLIEST),
                            "latest": formats.date_format(LATEST),
                        },
                        code="out_of_range",
                    ),
                )
        if self.errors.keys() & {"from", "to"}:
            return data
        start, end = data.get("from"), data.get("to")
        bound_field = "to" if end is not None else "from"
        if start is None and end is None:
            start, end = default_period(self.today)
        elif start is None:
            assert end is not None
            start = _add_months(end, -11)
        elif end is None:
            end = max(self.today, start)
        if end < start:
            self.add_error(
                "to",
                forms.ValidationError(
                    _("The end of the period must not be before its start."),
                    code="period_order",
                ),
            )
        elif _months_between(start, end) > MAX_MONTHS:
            self.add_error(
                bound_field,
                forms.ValidationError(
                    _("The period can cover at most %(n)d months.") % {"n": MAX_MONTHS},
                    code="period_too_long",
                ),
            )
        data["from"], data["to"] = start, end
        return data

    def filters(self) -> PortfolioFilters:
        """The checked filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        return PortfolioFilters(
            date_from=data["from"],
            date_to=data["to"],
            region=data.get("region") or "",
            country=data["country"].code if data.get("country") else "",
            thematic_area=data["thematic_area"].slug if data.get("thematic_area") else "",
            gcm_objective=data["gcm_objective"].number if data.get("gcm_objective") else None,
        )


# --- helpers ---------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> float | None:
    if not whole:
        return None
    value = (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return float(value)


def _average(total: int | None, count: int) -> float | None:
    """An exact mean of whole numbers (the database sums and counts; dividing here keeps
    the result the same on SQLite and PostgreSQL)."""
    if not count or total is None:
        return None
    return float((Decimal(total) / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _microseconds(value: timedelta) -> Decimal:
    return Decimal(value // timedelta(microseconds=1))


def _days(microseconds: Decimal) -> float:
    days = microseconds / _MICROSECONDS_PER_DAY
    return float(days.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _percentile(ordered: QuerySet[Any, Any], count: int, p: Decimal) -> float | None:
    """The ``p`` quantile of the ``count`` durations ``ordered`` lists (smallest first), in
    days, interpolated linearly between the closest ranks. One query: the one or two
    values around the position ``(count - 1) × p``."""
    if count == 0:
        return None
    position = (count - 1) * p
    k = int(position)
    fraction = position - k
    values = [_microseconds(v) for v in ordered[k : k + 2]]
    if not values:  # rows changed between the count and now
        return None
    low = values[0]
    high = values[1] if len(values) > 1 else low
    return _days(low + (high - low) * fraction)


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _timeliness(
    requests: QuerySet[AssistanceRequest],
    *,
    done: str,
    count: int,
    on_time: int,
    target_days: int,
) -> dict[str, Any]:
    ordered = (
        requests.annotate(elapsed=_duration(done, "submitted_at"))
        .order_by("elapsed")
        .values_list("elapsed", flat=True)
    )
    return {
        "count": count,
        "median_days": _percentile(ordered, count, MEDIAN),
        "p90_days": _percentile(ordered, count, P90),
        "target_working_days": target_days,
        "on_time": on_time,
        "on_time_percent": _percent(on_time, count),
    }


def _bounds(filters: PortfolioFilters) -> tuple[datetime, datetime]:
    """The period as aware datetimes: from the start of the first day to the start of the
    day after the last (in the site's time zone)."""
    start = timezone.make_aware(datetime.combine(filters.date_from, time.min))
    end = timezone.make_aware(datetime.combine(filters.date_to + timedelta(days=1), time.min))
    return start, end


def _in_period(field: str, start: Any, end: Any) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _month_keys(filters: PortfolioFilters) -> list[date]:
    first = _month_start(filters.date_from)
    return [_add_months(first, i) for i in range(_months_between(first, filters.date_to))]


def _month(key: date) -> dict[str, str]:
    return {
        "month": key.strftime("%Y-%m"),
        "label": formats.date_format(key, "YEAR_MONTH_FORMAT"),
    }


def _by_month(rows: Iterable[Any]) -> dict[date, dict[str, Any]]:
    found: dict[date, dict[str, Any]] = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, datetime):  # months of a datetime: aware, in the site's zone
            month = timezone.localtime(month).date() if timezone.is_aware(month) else month.date()
        found[month] = row
    return found


def _buckets(counts: dict[Any, int], choices: Sequence[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """One entry per choice (in the choices' order), zero where nothing was counted."""
    return [
        {"key": key, "label": str(label), "count": counts.get(key, 0)} for key, label in choices
    ]


# --- the dimensions ---------------------------------------------------------------------------


def _request_scope(filters: PortfolioFilters) -> Q:
    q = Q()
    if filters.country:
        q &= Q(country_id=filters.country)
    if filters.region:
        q &= Q(country__region=filters.region)
    if filters.thematic_area:
        areas = AssistanceRequest.thematic_areas.through.objects.filter(
            thematicarea__slug=filters.thematic_area
        )
        q &= Q(pk__in=areas.values("assistancerequest_id"))
    if filters.gcm_objective:
        objectives = AssistanceRequest.gcm_objectives.through.objects.filter(
            gcmobjective_id=filters.gcm_objective
        )
        q &= Q(pk__in=objectives.values("assistancerequest_id"))
    return q


def _action_scope(filters: PortfolioFilters) -> Q:
    q = Q()
    if filters.country:
        q &= Q(country_id=filters.country)
    if filters.region:
        q &= Q(country__region=filters.region)
    if filters.thematic_area:
        areas = Action.thematic_areas.through.objects.filter(
            thematicarea__slug=filters.thematic_area
        )
        q &= Q(pk__in=areas.values("action_id"))
    if filters.gcm_objective:
        objectives = Action.gcm_objectives.through.objects.filter(
            gcmobjective_id=filters.gcm_objective
        )
        q &= Q(pk__in=objectives.values("action_id"))
    return q


def _of_actions(path: str, filters: PortfolioFilters) -> Q:
    """Rows whose action (reached through ``path``) passes the dimension filters."""
    scope = _action_scope(filters)
    if not scope:
        return Q()
    return Q(**{f"{path}__in": Action.objects.filter(scope).values("pk")})


# --- the figures ------------------------------------------------------------------------------


def _requests(filters: PortfolioFilters, now: datetime) -> dict[str, Any]:
    start, end = _bounds(filters)
    scope = AssistanceRequest.objects.filter(_request_scope(filters))
    submitted = _in_period("submitted_at", start, end)
    decided = _in_period("decided_at", start, end) & Q(status__in=DECIDED_STATUSES)
    responded = _in_period("first_response_at", start, end)
    overdue = pending_sla_filter(SlaState.OVERDUE, now)
    totals = scope.filter(submitted | decided | responded | overdue).aggregate(
        received=Count("pk", filter=submitted),
        decided=Count("pk", filter=decided),
        accepted=Count("pk", filter=decided & Q(status=RequestStatus.ACCEPTED)),
        responded=Count("pk", filter=responded),
        responded_on_time=Count(
            "pk", filter=responded & Q(first_response_at__lte=F("first_response_due_at"))
        ),
        decided_on_time=Count("pk", filter=decided & Q(decided_at__lte=F("decision_due_at"))),
        overdue=Count("pk", filter=overdue),
    )
    submitted_rows = _by_month(
        scope.filter(submitted)
        .annotate(month=TruncMonth("submitted_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    decided_rows = _by_month(
        scope.filter(decided)
        .annotate(month=TruncMonth("decided_at"))
        .values("month")
        .annotate(
            n=Count("pk"),
            accepted=Count("pk", filter=Q(status=RequestStatus.ACCEPTED)),
        )
        .order_by("month")
    )
    per_month = []
    for key in _month_keys(filters):
        decided_row = decided_rows.get(key, {})
        accepted = decided_row.get("accepted", 0)
        per_month.append(
            {
                **_month(key),
                "submitted": submitted_rows.get(key, {}).get("n", 0),
                "decided": decided_row.get("n", 0),
                "accepted": accepted,
                "declined": decided_row.get("n", 0) - accepted,
            }
        )
    return {
        "received": totals["received"],
        "decided": totals["decided"],
        "accepted": totals["accepted"],
        "declined": totals["decided"] - totals["accepted"],
        "acceptance_rate_percent": _percent(totals["accepted"], totals["decided"]),
        "overdue_now": totals["overdue"],
        "per_month": per_month,
        "first_response": _timeliness(
            scope.filter(responded),
            done="first_response_at",
            count=totals["responded"],
            on_time=totals["responded_on_time"],
            target_days=settings.SLA_FIRST_RESPONSE_WORKING_DAYS,
        ),
        "decision": _timeliness(
            scope.filter(decided),
            done="decided_at",
            count=totals["decided"],
            on_time=totals["decided_on_time"],
            target_days=settings.SLA_DECISION_WORKING_DAYS,
        ),
    }


def _actions(filters: PortfolioFilters) -> tuple[dict[str, Any], QuerySet[Action]]:
    overlap = Q(start_date__lte=filters.date_to, end_date__gte=filters.date_from)
    actions = Action.objects.filter(_action_scope(filters) & overlap)
    in_scope = Q(actions__in=actions.values("pk"))
    by_status = {
        row["status"]: row["n"]
        for row in actions.values("status").annotate(n=Count("pk")).order_by()
    }
    by_region = {
        row["country__region"]: row["n"]
        for row in actions.values("country__region").annotate(n=Count("pk")).order_by()
    }
    areas = (
        ThematicArea.objects.annotate(n=Count("actions", filter=in_scope))
        .filter(Q(is_active=True) | Q(n__gt=0))
        .order_by("position", "name")
    )
    objectives = GcmObjective.objects.annotate(n=Count("actions", filter=in_scope)).order_by(
        "number"
    )
    report = {
        "total": sum(by_status.values()),
        "running": by_status.get(ActionStatus.IN_IMPLEMENTATION, 0),
        "by_status": _buckets(by_status, ActionStatus.choices),
        "by_thematic_area": [
            {"key": a.slug, "label": a.display_name, "count": a.n}  # type: ignore[attr-defined]
            for a in areas
        ],
        "by_gcm_objective": [
            {
                "key": o.number,
                "label": f"{o.number}. {o.display_title}",
                "count": o.n,  # type: ignore[attr-defined]
            }
            for o in objectives
        ],
        # Antarctica only when something is there.
        "by_region": _buckets(
            by_region,
            [c for c in Region.choices if c[0] != Region.ANTARCTICA or by_region.get(c[0])],
        ),
    }
    return report, actions


def _deployments(filters: PortfolioFilters) -> dict[str, Any]:
    deployments = Deployment.objects.filter(
        _of_actions("need__activity__action", filters),
        status__in=BOOKED_STATUSES,
        start_date__gte=filters.date_from,
        start_date__lte=filters.date_to,
    )
    rows = _by_month(
        deployments.annotate(month=TruncMonth("start_date"))
        .values("month")
        .annotate(n=Count("pk"), days=Sum("expert_days"))
        .order_by("month")
    )
    per_month = [
        {
            **_month(key),
            "deployments": rows.get(key, {}).get("n", 0),
            "expert_days": rows.get(key, {}).get("days") or 0,
        }
        for key in _month_keys(filters)
    ]
    origin_experts = dict.fromkeys((SOUTH_SOUTH, EU, OTHER_ORIGIN), 0)
    origin_deployments = dict.fromkeys((SOUTH_SOUTH, EU, OTHER_ORIGIN), 0)
    # An expert has one administration type, so experts counted once per type add up to
    # experts counted once overall.
    for row in (
        deployments.values("expert__administration_type")
        .annotate(n=Count("pk"), experts=Count("expert", distinct=True))
        .order_by()
    ):
        origin = ORIGIN_OF.get(row["expert__administration_type"], OTHER_ORIGIN)
        origin_experts[origin] += row["experts"]
        origin_deployments[origin] += row["n"]
    experts = sum(origin_experts.values())
    return {
        "total": sum(m["deployments"] for m in per_month),
        "expert_days": sum(m["expert_days"] for m in per_month),
        "experts": experts,
        "per_month": per_month,
        "by_origin": [
            {
                "key": origin,
                "label": str(ORIGIN_LABELS[origin]),
                "experts": origin_experts[origin],
                "deployments": origin_deployments[origin],
                "percent": _percent(origin_experts[origin], experts),
            }
            for origin in (SOUTH_SOUTH, EU, OTHER_ORIGIN)
        ],
        "south_south_percent": _percent(origin_experts[SOUTH_SOUTH], experts),
    }


def _indicators(actions: QuerySet[Action]) -> dict[str, Any]:
    counts = {
        row["progress_status"]: row["n"]
        for row in Indicator.objects.filter(action__in=actions.values("pk"))
        .values("progress_status")
        .annotate(n=Count("pk"))
        .order_by()
    }
    total = sum(counts.values())
    measured = total - counts.get(Progress.NOT_MEASURED, 0)
    on_track = sum(counts.get(s, 0) for s in ON_TRACK_STATUSES)
    return {
        "total": total,
        "measured": measured,
        "on_track": on_track,
        "on_track_percent": _percent(on_track, measured),
        "by_status": _buckets(counts, Progress.choices),
    }


def _evaluations(filters: PortfolioFilters) -> dict[str, Any]:
    start, end = _bounds(filters)
    sums = FinalEvaluation.objects.filter(
        _of_actions("action", filters),
        _in_period("submitted_at", start, end),
        status=EvaluationStatus.SUBMITTED,
    ).aggregate(
        n=Count("pk"),
        **{f"{name}_sum": Sum(name) for name, _label in DAC_CRITERIA},
        **{f"{name}_n": Count(name) for name, _label in DAC_CRITERIA},
    )
    return {
        "submitted": sums["n"],
        "criteria": [
            {
                "key": name,
                "label": str(label),
                "average": _average(sums[f"{name}_sum"], sums[f"{name}_n"]),
            }
            for name, label in DAC_CRITERIA
        ],
    }


def _feedback(filters: PortfolioFilters) -> dict[str, Any]:
    start, end = _bounds(filters)
    kinds = RespondentKind.values
    sums = Feedback.objects.filter(
        _of_actions("activity__action", filters), _in_period("submitted_at", start, end)
    ).aggregate(
        n=Count("pk"),
        total=Sum("satisfaction"),
        **{f"{k}_n": Count("pk", filter=Q(respondent=k)) for k in kinds},
        **{f"{k}_total": Sum("satisfaction", filter=Q(respondent=k)) for k in kinds},
    )
    return {
        "responses": sums["n"],
        "average_satisfaction": _average(sums["total"], sums["n"]),
        "by_respondent": [
            {
                "key": kind,
                "label": str(label),
                "responses": sums[f"{kind}_n"],
                "average_satisfaction": _average(sums[f"{kind}_total"], sums[f"{kind}_n"]),
            }
            for kind, label in RespondentKind.choices
        ],
    }


def _kpis(report: dict[str, Any]) -> list[dict[str, Any]]:
    requests, actions, deployments = report["requests"], report["actions"], report["deployments"]
    tiles = [
        ("requests_received", _("Requests received"), requests["received"], "count"),
        (
            "median_days_to_decision",
            _("Median days to decision"),
            requests["decision"]["median_days"],
            "days",
        ),
        ("acceptance_rate", _("Acceptance rate"), requests["acceptance_rate_percent"], "percent"),
        ("actions_running", _("Actions running"), actions["running"], "count"),
        ("experts_deployed", _("Experts deployed"), deployments["experts"], "count"),
        (
            "south_south_share",
            _("South–South share of experts"),
            deployments["south_south_percent"],
            "percent",
        ),
        (
            "indicators_on_track",
            _("Indicators on track"),
            report["indicators"]["on_track_percent"],
            "percent",
        ),
        (
            "average_satisfaction",
            _("Average satisfaction (1–5)"),
            report["feedback"]["average_satisfaction"],
            "score",
        ),
    ]
    return [
        {"key": key, "label": label, "value": value, "unit": unit}
        for key, label, value, unit in tiles
    ]


def portfolio_report(filters: PortfolioFilters, *, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the portfolio dashboard for ``filters`` (see the module's docstring
    for what each counts), as a JSON-ready dict with labels in the active language.
    Staff only: callers check that (the figures span every organisation)."""
    now = now or timezone.now()
    actions, scoped_actions = _actions(filters)
    report: dict[str, Any] = {
        "filters": filters.as_json(),
        "requests": _requests(filters, now),
        "actions": actions,
        "deployments": _deployments(filters),
        "indicators": _indicators(scoped_actions),
        "evaluations": _evaluations(filters),
        "feedback": _feedback(filters),
    }
    report["kpis"] = _kpis(report)
    return report


def _report_key(filters: PortfolioFilters) -> str:
    wanted = json.dumps([get_language(), filters.as_json()], sort_keys=True)
    return "dashboard:report:" + hashlib.sha256(wanted.encode()).hexdigest()


def _compute_and_keep(filters: PortfolioFilters, seconds: int) -> tuple[dict[str, Any], datetime]:
    now = timezone.now()
    report = portfolio_report(filters, now=now)
    cache.set(_report_key(filters), (report, now), seconds)
    return report, now


def cached_portfolio_report(filters: PortfolioFilters) -> tuple[dict[str, Any], datetime]:
    """``portfolio_report`` and when it was computed, kept ``DASHBOARD_CACHE_SECONDS`` in
    the cache for each set of filters and language (0, the embedded default, computes it
    every time). The figures run over the whole portfolio — half a second on a global
    programme's data — and the page and the API ask for the same few sets again and again;
    figures a few minutes old serve a portfolio overview, and the page says how old.
    ``warm_portfolio_reports`` keeps the unfiltered view computed ahead."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if not seconds:
        now = timezone.now()
        return portfolio_report(filters, now=now), now
    cached = cache.get(_report_key(filters))
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    return _compute_and_keep(filters, seconds)


def warm_portfolio_reports() -> int:
    """Compute the dashboard's first view — the whole portfolio over the last 12 months — in
    every language of the portal and keep it for ``DASHBOARD_CACHE_SECONDS``, so that nobody
    opening the dashboard waits for it (Celery beat runs this more often than the figures
    expire: ``DASHBOARD_WARM_SECONDS``). Returns how many reports were kept; none when the
    figures are not kept at all (``DASHBOARD_CACHE_SECONDS`` 0)."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if not seconds:
        return 0
    filters = PortfolioFilters.default()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            _compute_and_keep(filters, seconds)
    return len(settings.LANGUAGES)
